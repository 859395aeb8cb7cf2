package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncReport
import app.doorstep.core.SyncPlan
import app.doorstep.core.SyncStatus
import java.time.Clock
import java.time.Instant

/** What the scheduler syncs: in the app, the [DoorstepRepository]. */
interface SyncTarget {
    /** Syncs unless the core's backoff says to wait (then the report is deferred). */
    fun sync(): SyncReport

    /** Syncs whatever the backoff says. */
    fun syncNow(): SyncReport

    /** The sync state, including when the core advises the next attempt. */
    fun syncStatus(): SyncStatus

    /**
     * When to sync next, as the core decides it (`sync::plan`): from whether
     * the device is [online], whether connectivity came back since the last
     * attempt ([reconnected]), the backoff and the work waiting.
     */
    fun syncPlan(online: Boolean, reconnected: Boolean): SyncPlan
}

/** What one scheduled attempt did. */
sealed class SyncAttempt {
    /** The sync ran to the end. */
    data class Synced(val report: SyncReport) : SyncAttempt()

    /** The core declined: its backoff after earlier failures runs until [until]. */
    data class Deferred(val until: Instant) : SyncAttempt()

    /** The sync failed; the core recorded when to try again. */
    data class Failed(val error: DoorstepException) : SyncAttempt()
}

/**
 * Carries out the core's sync plan (`Doorstep.syncPlan`): the rule of when to
 * sync (at once when connectivity returns, whatever the backoff; not before
 * the backoff after a failure; sooner while work waits to go out; never
 * offline) lives in the core, once, for Android and iOS. The scheduler only
 * remembers what the platform tells it (online, and whether connectivity came
 * back since the last attempt) and runs the sync the plan asks for.
 *
 * It owns no thread and never sleeps: the platform drives it. Connectivity
 * callbacks call [onConnectivityChanged]; a timer (WorkManager on Android, a
 * `ScheduledExecutorService` on the JVM) calls [runIfDue] at [nextSyncAt].
 * Time comes from the injected [clock]. Calls are serialized; [runIfDue]
 * blocks for the duration of a sync, so call it off the main thread.
 */
class SyncScheduler(
    private val target: SyncTarget,
    private val clock: Clock,
    online: Boolean = false,
) {
    private var online = online
    /** Connectivity came back since the last attempt: the core lets the next one ignore the backoff. */
    private var reconnected = false

    /** What the last attempt did, if any. */
    var lastAttempt: SyncAttempt? = null
        @Synchronized get
        private set

    /** Whether the device is online, as last reported. */
    @Synchronized
    fun isOnline(): Boolean = online

    /** The platform reports connectivity; coming back online is remembered for the plan. */
    @Synchronized
    fun onConnectivityChanged(online: Boolean) {
        if (online && !this.online) reconnected = true
        this.online = online
    }

    /** When the next sync should run, as the core plans it; `null` while offline or signed out. */
    @Synchronized
    fun nextSyncAt(): Instant? = when (val plan = target.syncPlan(online, reconnected)) {
        is SyncPlan.Now -> clock.instant()
        is SyncPlan.At -> plan.at
        is SyncPlan.WhenOnline -> null
        is SyncPlan.WhenSignedIn -> null
    }

    /** Syncs if the plan says it is due; returns what happened, or `null` if it did not run. */
    @Synchronized
    fun runIfDue(): SyncAttempt? {
        val plan = target.syncPlan(online, reconnected)
        val ignoreBackoff = when (plan) {
            is SyncPlan.Now -> plan.ignoreBackoff
            is SyncPlan.At -> if (clock.instant().isBefore(plan.at)) return null else false
            is SyncPlan.WhenOnline -> return null
            is SyncPlan.WhenSignedIn -> return null
        }
        val attempt = try {
            val report = if (ignoreBackoff) target.syncNow() else target.sync()
            val deferredUntil = report.deferredUntil
            if (deferredUntil != null) SyncAttempt.Deferred(deferredUntil) else SyncAttempt.Synced(report)
        } catch (e: DoorstepException) {
            SyncAttempt.Failed(e)
        }
        reconnected = false
        lastAttempt = attempt
        return attempt
    }
}
