package app.doorstep.app.model

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.describe
import app.doorstep.core.CaseDetail
import java.time.Instant
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.launch

/** The case detail screen: the case and its visits. */
data class CaseDetailState(val detail: CaseDetail? = null, val error: String? = null)

/** Loads a case and plans visits to it. */
class CaseDetailViewModel(private val app: DoorstepApplication, private val caseId: String) : ViewModel() {
    private val state = MutableStateFlow(CaseDetailState())

    /** What the screen shows. */
    val ui: StateFlow<CaseDetailState> = state.asStateFlow()

    init {
        reload()
    }

    /** Reads the case again. */
    fun reload() {
        viewModelScope.launch {
            app.background { repository.caseDetail(caseId) }
                .onSuccess { state.value = CaseDetailState(it) }
                .onFailure { state.value = state.value.copy(error = describe(it)) }
        }
    }

    /** Plans a visit for now; [opened] gets the new visit's id. */
    fun planVisit(opened: (String) -> Unit) {
        viewModelScope.launch {
            app.background { repository.planVisit(caseId, Instant.now()) }
                .onSuccess { visitId ->
                    reload()
                    opened(visitId)
                }
                .onFailure { state.value = state.value.copy(error = describe(it)) }
        }
    }
}
