package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncReport
import app.doorstep.core.SyncStatus
import java.time.Clock
import java.time.Duration
import java.time.Instant

/** What the scheduler syncs: in the app, the [DoorstepRepository]. */
interface SyncTarget {
    /** Syncs unless the core's backoff says to wait (then the report is deferred). */
    fun sync(): SyncReport

    /** Syncs whatever the backoff says. */
    fun syncNow(): SyncReport

    /** The sync state, including when the core advises the next attempt. */
    fun syncStatus(): SyncStatus
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
 * Decides when the device syncs: as soon as connectivity returns (whatever the
 * backoff: the failures it answered were most likely the missing network), then
 * every [period] while online, and after a failure not before the time the core
 * advises (its backoff, `SyncStatus.nextAttemptAfter`). Offline, it never syncs.
 *
 * It owns no thread and never sleeps: the platform drives it. Connectivity
 * callbacks call [onConnectivityChanged]; a timer (WorkManager on Android, a
 * `ScheduledExecutorService` on the JVM) calls [runIfDue] at [nextSyncAt].
 * Time comes from the injected [clock], so tests are deterministic.
 * Calls are serialized; [runIfDue] blocks for the duration of a sync, so call it
 * off the main thread.
 */
class SyncScheduler(
    private val target: SyncTarget,
    private val clock: Clock,
    val period: Duration = Duration.ofMinutes(15),
    online: Boolean = false,
) {
    private var online = online
    /** Connectivity came back since the last attempt: the next one ignores the backoff. */
    private var reconnected = false
    /** The earliest instant the scheduler itself wants the next sync. */
    private var dueAt: Instant = clock.instant()

    /** What the last attempt did, if any. */
    var lastAttempt: SyncAttempt? = null
        @Synchronized get
        private set

    /** Whether the device is online, as last reported. */
    @Synchronized
    fun isOnline(): Boolean = online

    /**
     * The platform reports connectivity. Coming back online makes a sync due at
     * once (still within the core's backoff); going offline stops syncing.
     */
    @Synchronized
    fun onConnectivityChanged(online: Boolean) {
        if (online && !this.online) {
            dueAt = clock.instant()
            reconnected = true
        }
        this.online = online
    }

    /**
     * When the next sync should run: the later of the scheduler's own due time
     * and the core's advised next attempt (at once after reconnecting); `null`
     * while offline.
     */
    @Synchronized
    fun nextSyncAt(): Instant? {
        if (!online) return null
        if (reconnected) return dueAt
        val advised = target.syncStatus().nextAttemptAfter
        return if (advised != null && advised.isAfter(dueAt)) advised else dueAt
    }

    /** Syncs if online and due; returns what happened, or `null` if it did not run. */
    @Synchronized
    fun runIfDue(): SyncAttempt? {
        val next = nextSyncAt() ?: return null
        val now = clock.instant()
        if (now.isBefore(next)) return null
        val attempt = try {
            val report = if (reconnected) target.syncNow() else target.sync()
            val deferredUntil = report.deferredUntil
            if (deferredUntil != null) SyncAttempt.Deferred(deferredUntil) else SyncAttempt.Synced(report)
        } catch (e: DoorstepException) {
            SyncAttempt.Failed(e)
        }
        reconnected = false
        dueAt = when (attempt) {
            is SyncAttempt.Synced -> clock.instant().plus(period)
            is SyncAttempt.Deferred -> attempt.until
            // The core's advised time (read by nextSyncAt) decides when to retry.
            is SyncAttempt.Failed -> clock.instant()
        }
        lastAttempt = attempt
        return attempt
    }
}
