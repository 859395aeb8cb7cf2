package app.doorstep.app.model

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.app.AppContainer
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.describe
import app.doorstep.core.AnswerValue
import app.doorstep.core.ChecklistItem
import app.doorstep.core.ChecklistTemplate
import app.doorstep.core.GpsFix
import app.doorstep.core.NoticeChannel
import app.doorstep.core.Outcome
import app.doorstep.core.SiteCheck
import app.doorstep.core.VisitAction
import app.doorstep.core.VisitReport
import java.time.Instant
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The visit flow's state: the core's report of the visit and its checklist. */
data class VisitFlowState(
    val report: VisitReport? = null,
    val checklist: ChecklistTemplate? = null,
    /** The checklist items shown for the answers so far (the core evaluates the conditions). */
    val visibleItems: List<ChecklistItem> = emptyList(),
    /** What the visit's state allows now (the core's state machine): the screen offers only these. */
    val allowed: List<VisitAction> = emptyList(),
    /** The last check-in or check-out as the core assessed it (distance, flags). */
    val siteCheck: SiteCheck? = null,
    val busy: Boolean = false,
    /** The last refusal, as the core worded it. */
    val error: String? = null,
    /** A short confirmation of the last action. */
    val done: String? = null,
)

/**
 * The visit flow: each action is one repository call on Dispatchers.IO,
 * followed by a fresh read of the visit report, so the screen always shows
 * what the core holds. Whether an action is allowed (state machine, notice
 * and contact-hour policy, answer limits, completeness) is the core's answer.
 */
class VisitViewModel(private val app: DoorstepApplication, private val visitId: String) : ViewModel() {
    private val state = MutableStateFlow(VisitFlowState())

    /** What the screen shows. */
    val ui: StateFlow<VisitFlowState> = state.asStateFlow()

    init {
        reload()
    }

    /** Reads the visit report and its checklist again. */
    fun reload() = act(null) { }

    /** Records a notice given to the customer. */
    fun recordNotice(channel: NoticeChannel, plannedVisitAt: Instant, purpose: String, acknowledged: Boolean, givenAt: Instant) =
        act("notice recorded") { repository.recordNotice(visitId, channel, plannedVisitAt, purpose, acknowledged, givenAt) }

    /** Checks in with [fix]. */
    fun checkIn(fix: GpsFix) = act("checked in") { state.update { it.copy(siteCheck = repository.checkIn(visitId, fix)) } }

    /** Answers a checklist item. */
    fun answer(itemId: String, value: AnswerValue) = act("saved") { repository.answer(visitId, itemId, value) }

    /** Withdraws an answer. */
    fun clearAnswer(itemId: String) = act("cleared") { repository.clearAnswer(visitId, itemId) }

    /** Adds an interview note. */
    fun addNote(text: String) = act("note added") { repository.addNote(visitId, text) }

    /** Attaches a JPEG, to a photo item when [itemId] is given. */
    fun attachPhoto(jpeg: ByteArray, itemId: String?) = act("photo attached") { repository.attachPhoto(visitId, jpeg, itemId) }

    /** Attaches a signature (PNG) to a signature item. */
    fun attachSignature(itemId: String, png: ByteArray) = act("signature attached") { attachSignature(visitId, itemId, png) }

    /** Records the outcome. */
    fun setOutcome(outcome: Outcome) = act("outcome saved") { repository.setOutcome(visitId, outcome) }

    /** Checks out with [fix]. */
    fun checkOut(fix: GpsFix) = act("checked out") { state.update { it.copy(siteCheck = repository.checkOut(visitId, fix)) } }

    /** Submits the visit for review. */
    fun submit() = act("submitted") { repository.submit(visitId) }

    /** Shows a failure that happened outside the core (no location, camera). */
    fun fail(message: String) = state.update { it.copy(error = message, done = null) }

    private fun act(confirmation: String?, action: AppContainer.() -> Unit) {
        state.update { it.copy(busy = true) }
        viewModelScope.launch {
            val result = app.background {
                action()
                read()
            }
            result.onSuccess { read ->
                state.update { read.into(it).copy(busy = false, error = null, done = confirmation) }
            }
            result.onFailure { e ->
                state.update { it.copy(busy = false, error = describe(e), done = null) }
                // The action was refused; still show what the core holds.
                app.background { read() }.onSuccess { read -> state.update { read.into(it) } }
            }
        }
    }

    /** What the screen shows, read from the core in one go. */
    private class Read(
        val report: VisitReport,
        val checklist: ChecklistTemplate,
        val visibleItems: List<ChecklistItem>,
        val allowed: List<VisitAction>,
    ) {
        fun into(state: VisitFlowState) =
            state.copy(report = report, checklist = checklist, visibleItems = visibleItems, allowed = allowed)
    }

    private fun AppContainer.read() = Read(
        repository.report(visitId),
        repository.checklist(visitId),
        repository.visibleItems(visitId),
        repository.allowedActions(visitId),
    )
}
