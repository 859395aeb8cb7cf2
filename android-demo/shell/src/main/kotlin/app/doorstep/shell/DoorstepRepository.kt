package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.AttachmentKind
import app.doorstep.core.AttachmentLink
import app.doorstep.core.CaseDetail
import app.doorstep.core.CaseQuery
import app.doorstep.core.CaseStatus
import app.doorstep.core.CaseSummary
import app.doorstep.core.ChecklistItem
import app.doorstep.core.ChecklistTemplate
import app.doorstep.core.Doorstep
import app.doorstep.core.GpsFix
import app.doorstep.core.HttpTransport
import app.doorstep.core.Notice
import app.doorstep.core.NoticeChannel
import app.doorstep.core.OverdueBucket
import app.doorstep.core.Outcome
import app.doorstep.core.RejectedOp
import app.doorstep.core.ReviewDecision
import app.doorstep.core.SiteCheck
import app.doorstep.core.SyncObserver
import app.doorstep.core.SyncPlan
import app.doorstep.core.SyncPhase
import app.doorstep.core.SyncReport
import app.doorstep.core.SyncStatus
import app.doorstep.core.Visit
import app.doorstep.core.VisitAction
import app.doorstep.core.VisitReport
import java.io.File
import java.time.Clock
import java.time.Instant
import java.util.concurrent.CopyOnWriteArrayList

/** The case list's filters; `null` means any. */
data class CaseFilter(
    val status: CaseStatus? = null,
    val bucket: OverdueBucket? = null,
    /** Text in the customer's name, the reference, a phone or an address. */
    val text: String? = null,
)

/** Receives sync progress, for the sync status bar. Called on the syncing thread. */
fun interface SyncProgressListener {
    /** `done` of `total` units of `phase` are finished. */
    fun onProgress(phase: SyncPhase, done: Long, total: Long)
}

/**
 * What the screens call: one object per signed-in device, over the core's
 * [Doorstep]. It adds no rule: every check (state machine, policy, checklist
 * validation) happens in the core and comes back as a `DoorstepException` with a
 * stable `code()`. It only fills in what the platform knows: the current time
 * ([clock]), the device's UTC offset, and the transport for sync. It holds no
 * password: [signIn] hands the typed one to the core once, and the core keeps
 * a refresh credential in the encrypted database; when the server refuses it,
 * calls that reach the server throw `DoorstepException.SignInRequired` and the
 * app shows its sign-in screen (nothing on the device is lost).
 *
 * Every call blocks on the encrypted database (sync also on the network): call
 * from a background thread or dispatcher, never the main thread.
 */
class DoorstepRepository(
    private val doorstep: Doorstep,
    private val transport: HttpTransport,
    private val clock: Clock = Clock.systemDefaultZone(),
) : SyncTarget, AutoCloseable {
    private val listeners = CopyOnWriteArrayList<SyncProgressListener>()
    private val observer = object : SyncObserver {
        override fun progress(phase: SyncPhase, done: ULong, total: ULong) {
            for (listener in listeners) {
                // A listener's failure must not reach the core (it would abort the sync).
                runCatching { listener.onProgress(phase, done.toLong(), total.toLong()) }
            }
        }
    }

    init {
        refreshUtcOffset()
    }

    companion object {
        /**
         * Opens (or creates) the device database [file] with [key], the 32-byte
         * key the app keeps in Android Keystore. Throws `DoorstepException.WrongKey`
         * if the key does not open it.
         */
        fun open(
            file: File,
            key: ByteArray,
            transport: HttpTransport,
            clock: Clock = Clock.systemDefaultZone(),
        ): DoorstepRepository = DoorstepRepository(Doorstep.open(file.path, key), transport, clock)
    }

    /** This device's id: the server registers it before its first sync. */
    val deviceId: String get() = doorstep.deviceId()

    /** The agent signed in on this device, once they have signed in. */
    fun signedInAgent(): String? = doorstep.signedInAgent()

    /**
     * Signs the agent in with what they typed on the sign-in screen,
     * registering this phone to them the first time; returns their id. Keep
     * neither argument: the core keeps what the next syncs need. Fails with
     * `DoorstepException.SyncFailed` (`unauthorized` for a wrong name or
     * password, `wrong_user` when the phone holds another agent's work,
     * `offline`, ...).
     */
    fun signIn(username: String, password: String): String = doorstep.signIn(transport, username, password)

    /** Whether the device holds a sign-in; without one the app shows its sign-in screen. */
    fun isSignedIn(): Boolean = doorstep.isSignedIn()

    /**
     * Tells the core this app's build (e.g. `1.4.2 (142)`), named to the
     * server on every request so the bank's admin sees which phones run an old
     * build. Call once at start. Throws `DoorstepException.InvalidInput` for a
     * version that is not 1 to 40 printable ASCII characters.
     */
    fun nameAppVersion(version: String) = doorstep.setAppVersion(version)

    /** Tells the core the device's UTC offset now; call again when the time zone changes. */
    fun refreshUtcOffset() {
        val offset = clock.zone.rules.getOffset(clock.instant())
        doorstep.setDeviceUtcOffset(offset.totalSeconds / 60)
    }

    // ---- case list and case detail ----

    /** One page of the case list, most urgent first. [pageSize] is 1 to 200. */
    fun cases(filter: CaseFilter = CaseFilter(), page: Int = 0, pageSize: Int = 50): List<CaseSummary> =
        doorstep.listCases(
            CaseQuery(filter.status, filter.bucket, filter.text, pageSize.toUInt(), (page * pageSize).toUInt()),
        )

    /** A case and its visits on this device. */
    fun caseDetail(caseId: String): CaseDetail = doorstep.caseDetail(caseId)

    // ---- the visit flow ----

    /** Plans a visit to a case; returns the visit id. */
    fun planVisit(caseId: String, plannedFor: Instant): String = doorstep.planVisit(caseId, plannedFor)

    /**
     * Records a notice given to the customer, by default just now; an agent who
     * phoned earlier records when ([givenAt]).
     */
    fun recordNotice(
        visitId: String,
        channel: NoticeChannel,
        plannedVisitAt: Instant,
        purpose: String,
        acknowledged: Boolean,
        givenAt: Instant = clock.instant(),
    ) = doorstep.recordNotice(visitId, Notice(channel, givenAt, plannedVisitAt, purpose, acknowledged))

    /** Checks in with the phone's position fix; the result carries distance and flags. */
    fun checkIn(visitId: String, fix: GpsFix): SiteCheck = doorstep.checkIn(visitId, fix)

    /** The checklist template the visit uses, to render its items. */
    fun checklist(visitId: String): ChecklistTemplate = doorstep.checklist(visitId)

    /** Answers (or changes the answer to) a checklist item. */
    fun answer(visitId: String, itemId: String, value: AnswerValue) = doorstep.answer(visitId, itemId, value)

    /** Withdraws the answer to a checklist item. */
    fun clearAnswer(visitId: String, itemId: String) = doorstep.clearAnswer(visitId, itemId)

    /** Adds an interview note; returns its id. */
    fun addNote(visitId: String, text: String): String = doorstep.addNote(visitId, text)

    /**
     * Attaches a JPEG photo taken now, to a photo item of the checklist when
     * [itemId] is given, else to the visit; returns the attachment id.
     */
    fun attachPhoto(visitId: String, jpeg: ByteArray, itemId: String? = null): String =
        doorstep.attach(
            visitId,
            AttachmentKind.PHOTO,
            "image/jpeg",
            jpeg,
            if (itemId != null) AttachmentLink.ChecklistItem(itemId) else AttachmentLink.Visit,
        )

    /** Records (or changes) the visit's outcome. */
    fun setOutcome(visitId: String, outcome: Outcome) = doorstep.setOutcome(visitId, outcome)

    /** Checks out with the phone's position fix. */
    fun checkOut(visitId: String, fix: GpsFix): SiteCheck = doorstep.checkOut(visitId, fix)

    /** Submits the visit; `DoorstepException.IncompleteChecklist` lists what is missing. */
    fun submit(visitId: String) = doorstep.submit(visitId)

    /** Calls off a visit before check-in. */
    fun cancel(visitId: String, reason: String) = doorstep.cancel(visitId, reason)

    /** The visit report (also the review screen's content). */
    fun report(visitId: String): VisitReport = doorstep.visitReport(visitId)

    /** An attachment's bytes, by the SHA-256 in its description. */
    fun attachmentBytes(sha256: String): ByteArray = doorstep.attachmentBytes(sha256)

    // ---- sync ----

    /** Registers a listener for sync progress. */
    fun addSyncListener(listener: SyncProgressListener) {
        listeners.add(listener)
    }

    /** Removes a listener. */
    fun removeSyncListener(listener: SyncProgressListener) {
        listeners.remove(listener)
    }

    /** Syncs unless the core's backoff says to wait; for the [SyncScheduler]. */
    override fun sync(): SyncReport = doorstep.sync(transport, observer)

    /** Syncs now, whatever the backoff (the agent pressed "sync"). */
    override fun syncNow(): SyncReport = doorstep.syncNow(transport, observer)

    /** The sync state for the status bar. */
    override fun syncStatus(): SyncStatus = doorstep.syncStatus()

    /** When to sync next, as the core plans it; for the [SyncScheduler]. */
    override fun syncPlan(online: Boolean, reconnected: Boolean): SyncPlan = doorstep.syncPlan(online, reconnected)

    /**
     * Operations the server refused, kept on the device for the agent, each
     * with what it did (`change`: the note's text, the answer) to show and redo.
     */
    fun rejectedOps(): List<RejectedOp> = doorstep.rejectedOps()

    /** The actions the visit allows now: the screen offers only these. */
    fun allowedActions(visitId: String): List<VisitAction> = doorstep.allowedActions(visitId)

    /** The checklist items shown for the visit's answers so far (conditions evaluated by the core). */
    fun visibleItems(visitId: String): List<ChecklistItem> = doorstep.visibleItems(visitId)

    /** On a supervisor's device: the team's visits waiting for a decision, oldest first. */
    fun reviewQueue(): List<Visit> = doorstep.reviewQueue()

    /**
     * On a supervisor's device: approves or returns a visit, signed in as the
     * sync signs in. Fails with `DoorstepException.SyncFailed` (`refused` with
     * the server's code, `offline`, ...), `SignInRequired`, or `InvalidInput`
     * for an incomplete return.
     */
    fun review(visitId: String, decision: ReviewDecision) = doorstep.review(transport, visitId, decision)

    /** Removes the data of visits approved longer ago than the retention period. */
    fun purgeExpiredVisits(): Long = doorstep.purgeExpiredVisits().toLong()

    /** Releases the native store. The repository cannot be used afterwards. */
    override fun close() = doorstep.close()
}
