package app.doorstep.app.model

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.describe
import app.doorstep.core.Case
import app.doorstep.core.ReviewDecision
import app.doorstep.core.VisitReport
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** A submitted visit waiting for the supervisor, with its case. */
data class PendingReview(val case: Case, val visitId: String)

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
 * of the team's cases (a supervisor's pull sees the team's visits), as the
 * core lists it; decisions go to the server through the core, which checks
 * role, team and state, and are in the visit on this device at once.
 */
class ReviewViewModel(private val app: DoorstepApplication) : ViewModel() {
    private val state = MutableStateFlow(ReviewState())

    /** What the screens show. */
    val ui: StateFlow<ReviewState> = state.asStateFlow()

    /** Lists the visits this device holds that wait for review (the core's queue). */
    fun loadQueue() {
        viewModelScope.launch {
            app.background {
                repository.reviewQueue().map { visit ->
                    PendingReview(repository.caseDetail(visit.caseId).case, visit.id)
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
                // Through the core: signed in as the sync signs in, and the
                // decision is in the visit at once.
                repository.review(visitId, decision)
                repository.report(visitId)
            }
                .onSuccess { report -> state.update { it.copy(report = report, busy = false, done = "sent", error = null) } }
                .onFailure { e -> state.update { it.copy(busy = false, error = describe(e), done = null) } }
        }
        loadQueue()
    }
}
