package app.doorstep.app.model

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.describe
import app.doorstep.core.CaseStatus
import app.doorstep.core.CaseSummary
import app.doorstep.core.ReviewDecision
import app.doorstep.core.VisitReport
import app.doorstep.core.VisitState
import app.doorstep.shell.CaseFilter
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** A submitted visit waiting for the supervisor. */
data class PendingReview(val case: CaseSummary, val visitId: String)

/** The supervisor review screens. */
data class ReviewState(
    val pending: List<PendingReview> = emptyList(),
    val report: VisitReport? = null,
    val busy: Boolean = false,
    val error: String? = null,
    val done: String? = null,
)

/**
 * The supervisor's queue and decisions. The queue is what this device pulled
 * of the team's cases (a supervisor's pull sees the team's visits); decisions
 * go to the server, which checks role, team and state, and come back to every
 * device on its next pull, so after a decision the device syncs.
 */
class ReviewViewModel(private val app: DoorstepApplication) : ViewModel() {
    private val state = MutableStateFlow(ReviewState())

    /** What the screens show. */
    val ui: StateFlow<ReviewState> = state.asStateFlow()

    /** Lists the submitted visits this device holds. */
    fun loadQueue() {
        viewModelScope.launch {
            app.background {
                repository.cases(CaseFilter(status = CaseStatus.SUBMITTED), 0, 200).flatMap { case ->
                    repository.caseDetail(case.id).visits
                        .filter { it.state == VisitState.SUBMITTED }
                        .map { PendingReview(case, it.visitId) }
                }
            }
                .onSuccess { pending -> state.update { it.copy(pending = pending, error = null) } }
                .onFailure { e -> state.update { it.copy(error = describe(e)) } }
        }
    }

    /** Opens one visit's report. */
    fun open(visitId: String) {
        state.update { it.copy(report = null, done = null, error = null) }
        viewModelScope.launch {
            app.background { repository.report(visitId) }
                .onSuccess { report -> state.update { it.copy(report = report) } }
                .onFailure { e -> state.update { it.copy(error = describe(e)) } }
        }
    }

    /** Approves the visit, or returns it with [ReviewDecision.Return]'s reason code and comment. */
    fun decide(visitId: String, decision: ReviewDecision) {
        state.update { it.copy(busy = true) }
        viewModelScope.launch {
            app.background {
                val (username, password) = secrets.signIn() ?: error("not signed in")
                reviews.review(username, password, repository.deviceId, visitId, decision)
                // Pull the review back, so this device shows the new state.
                sync.syncNow()
                repository.report(visitId)
            }
                .onSuccess { report -> state.update { it.copy(report = report, busy = false, done = "sent", error = null) } }
                .onFailure { e -> state.update { it.copy(busy = false, error = describe(e), done = null) } }
        }
        loadQueue()
    }
}
