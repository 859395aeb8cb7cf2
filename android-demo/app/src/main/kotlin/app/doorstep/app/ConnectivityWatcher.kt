package app.doorstep.app

import android.content.Context
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities

/**
 * Tells [onChange] when the device gains or loses a network that reaches the
 * internet (ConnectivityManager's default-network callback). The callback runs
 * on a ConnectivityManager thread; [onChange] must hand work off to a
 * background dispatcher.
 */
class ConnectivityWatcher(context: Context, private val onChange: (online: Boolean) -> Unit) {
    private val manager = context.getSystemService(ConnectivityManager::class.java)

    private val callback = object : ConnectivityManager.NetworkCallback() {
        override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
            onChange(capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED))
        }

        override fun onLost(network: Network) {
            onChange(false)
        }
    }

    /** Whether the device is online now. */
    fun isOnline(): Boolean {
        val capabilities = manager.getNetworkCapabilities(manager.activeNetwork) ?: return false
        return capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED)
    }

    /** Starts watching. */
    fun start() {
        manager.registerDefaultNetworkCallback(callback)
    }
}
