package app.doorstep.app

import android.content.Context
import androidx.work.ExistingWorkPolicy
import androidx.work.OneTimeWorkRequestBuilder
import androidx.work.WorkManager
import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncStatus
import app.doorstep.shell.DoorstepRepository
import app.doorstep.shell.SyncAttempt
import app.doorstep.shell.SyncProgressListener
import app.doorstep.shell.SyncScheduler
import java.time.Clock
import java.time.Duration
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update

/** What the sync status bar shows. */
data class SyncUiState(
    val status: SyncStatus? = null,
    val running: Boolean = false,
    val phase: SyncPhase? = null,
    val done: Long = 0,
    val total: Long = 0,
    val message: String? = null,
    /** The device holds no sign-in the server accepts: the bar offers "Sign in". */
    val signInRequired: Boolean = false,
)

/**
 * The app's side of the shell's [SyncScheduler]: connectivity callbacks and
 * WorkManager call [onConnectivity] and [runIfDue]; the sync button calls
 * [syncNow]. When the core advises a later attempt (backoff), a one-time work
 * request is queued for then. When the agent must sign in (never signed in,
 * or the server refused the device's sign-in), the core's plan tries nothing
 * until they have, and the bar offers the sign-in screen; the queue waits.
 * All calls block: call them off the main thread.
 */
class SyncRunner(
    private val context: Context,
    private val repository: DoorstepRepository,
) {
    private val clock = Clock.systemUTC()
    private val scheduler = SyncScheduler(repository, clock, online = false)
    private val state = MutableStateFlow(SyncUiState())

    /** The sync bar's state. */
    val ui: StateFlow<SyncUiState> = state.asStateFlow()

    init {
        repository.addSyncListener(
            SyncProgressListener { phase, done, total ->
                state.update { it.copy(running = true, phase = phase, done = done, total = total) }
            },
        )
    }

    /** Connectivity changed; coming back online syncs at once. */
    fun onConnectivity(online: Boolean) {
        scheduler.onConnectivityChanged(online)
        if (online) runIfDue()
    }

    /** Syncs if the core's plan says so (online, signed in, due after the backoff). */
    fun runIfDue() {
        state.update { it.copy(running = true, phase = null, done = 0, total = 0) }
        val attempt = scheduler.runIfDue()
        finish(
            when (attempt) {
                null -> state.value.message // not due: keep what the bar said
                is SyncAttempt.Synced -> "synced"
                is SyncAttempt.Deferred -> "waiting until ${attempt.until}"
                is SyncAttempt.Failed -> describe(attempt.error)
            },
        )
        scheduleNext()
    }

    /** The agent pressed "sync": sync whatever the backoff says. */
    fun syncNow() {
        state.update { it.copy(running = true, phase = null, done = 0, total = 0) }
        val message = try {
            repository.syncNow()
            "synced"
        } catch (e: DoorstepException) {
            describe(e)
        }
        finish(message)
        scheduleNext()
    }

    /** Reads the status without syncing (for the bar on screen changes). */
    fun refresh() {
        finish(state.value.message)
    }

    /** Signs in with what the agent typed (kept nowhere), then syncs the queue. */
    fun signIn(username: String, password: String) {
        repository.signIn(username, password)
        syncNow()
    }

    private fun finish(message: String?) {
        val status = runCatching { repository.syncStatus() }.getOrNull()
        val signInRequired = runCatching { !repository.isSignedIn() }.getOrDefault(false)
        state.update {
            SyncUiState(status = status, running = false, message = message, signInRequired = signInRequired)
        }
    }

    /** A one-time work request at the time the scheduler wants the next sync. */
    private fun scheduleNext() {
        val next = scheduler.nextSyncAt() ?: return
        val delay = Duration.between(clock.instant(), next).coerceAtLeast(Duration.ZERO)
        val request = OneTimeWorkRequestBuilder<SyncWorker>()
            .setInitialDelay(delay.toMillis(), TimeUnit.MILLISECONDS)
            .build()
        WorkManager.getInstance(context).enqueueUniqueWork(SyncWorker.NEXT, ExistingWorkPolicy.REPLACE, request)
    }
}
