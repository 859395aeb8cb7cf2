package app.doorstep.app

import android.app.Application
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch

/**
 * The process: makes the [AppContainer] on first use (off the main thread),
 * queues the periodic sync and watches connectivity.
 */
class DoorstepApplication : Application() {
    /** Background work that outlives a screen (connectivity-triggered sync). */
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    private var made: AppContainer? = null

    /** The app's objects; opens the database on first call, so never call it on the main thread. */
    @Synchronized
    fun container(): AppContainer = made ?: AppContainer(this, BuildConfig.SERVER_URL).also { made = it }

    override fun onCreate() {
        super.onCreate()
        SyncWorker.schedulePeriodic(this)
        val watcher = ConnectivityWatcher(this) { online ->
            scope.launch { container().sync.onConnectivity(online) }
        }
        scope.launch { container().sync.onConnectivity(watcher.isOnline()) }
        watcher.start()
    }
}
