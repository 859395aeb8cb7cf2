package app.doorstep.app

import android.annotation.SuppressLint
import android.content.Context
import android.location.Location
import android.location.LocationManager
import android.os.Build
import android.os.CancellationSignal
import androidx.core.location.LocationManagerCompat
import app.doorstep.core.GeoPoint
import app.doorstep.core.GpsFix
import java.time.Instant
import java.util.concurrent.Executors
import kotlin.coroutines.resume
import kotlinx.coroutines.suspendCancellableCoroutine

/** The phone could not give a position (no permission, location off, no fix). */
class NoLocation(reason: String) : Exception(reason)

/**
 * One current position fix from the platform's LocationManager (no Play
 * services needed), as the core's [GpsFix]: position, accuracy, whether a
 * mock provider made it, and when. Distance to the address and the flags are
 * the core's business (`checkIn` answers them).
 */
class LocationReader(context: Context) {
    private val manager = context.getSystemService(LocationManager::class.java)
    private val executor = Executors.newSingleThreadExecutor()

    /** Asks for a fresh fix; the caller holds ACCESS_FINE_LOCATION. */
    @SuppressLint("MissingPermission")
    suspend fun currentFix(): GpsFix {
        val provider = when {
            manager.isProviderEnabled(LocationManager.GPS_PROVIDER) -> LocationManager.GPS_PROVIDER
            manager.isProviderEnabled(LocationManager.NETWORK_PROVIDER) -> LocationManager.NETWORK_PROVIDER
            else -> throw NoLocation("location is turned off")
        }
        val location = suspendCancellableCoroutine<Location?> { continuation ->
            val cancel = CancellationSignal()
            continuation.invokeOnCancellation { cancel.cancel() }
            LocationManagerCompat.getCurrentLocation(manager, provider, cancel, executor) { continuation.resume(it) }
        } ?: throw NoLocation("no position fix")
        return GpsFix(
            GeoPoint(location.latitude, location.longitude),
            location.accuracy.toDouble(),
            isMock(location),
            Instant.ofEpochMilli(location.time),
        )
    }

    @Suppress("DEPRECATION")
    private fun isMock(location: Location): Boolean =
        if (Build.VERSION.SDK_INT >= 31) location.isMock else location.isFromMockProvider
}
