package app.doorstep.app

import android.content.Context
import androidx.work.Constraints
import androidx.work.CoroutineWorker
import androidx.work.ExistingPeriodicWorkPolicy
import androidx.work.NetworkType
import androidx.work.PeriodicWorkRequestBuilder
import androidx.work.WorkManager
import androidx.work.WorkerParameters
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Background sync: WorkManager runs it every 15 minutes while there is a
 * network (and once at the time the core's backoff advises, see [SyncRunner]).
 * It asks the scheduler, which syncs only when due.
 */
class SyncWorker(context: Context, parameters: WorkerParameters) : CoroutineWorker(context, parameters) {
    override suspend fun doWork(): Result = withContext(Dispatchers.IO) {
        val app = applicationContext as DoorstepApplication
        app.container().sync.runIfDue()
        Result.success()
    }

    companion object {
        /** The periodic work's unique name. */
        const val PERIODIC = "doorstep-sync"

        /** The one-time work at the next advised time. */
        const val NEXT = "doorstep-sync-next"

        /** Queues the periodic sync (kept if already queued). */
        fun schedulePeriodic(context: Context) {
            val request = PeriodicWorkRequestBuilder<SyncWorker>(15, TimeUnit.MINUTES)
                .setConstraints(Constraints.Builder().setRequiredNetworkType(NetworkType.CONNECTED).build())
                .build()
            WorkManager.getInstance(context)
                .enqueueUniquePeriodicWork(PERIODIC, ExistingPeriodicWorkPolicy.KEEP, request)
        }
    }
}
