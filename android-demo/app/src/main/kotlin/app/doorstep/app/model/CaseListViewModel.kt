package app.doorstep.app.model

import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.describe
import app.doorstep.core.CaseStatus
import app.doorstep.core.CaseSummary
import app.doorstep.shell.CaseFilter
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch

/** The case list: what is shown and with which filter. */
data class CaseListState(
    val filter: CaseFilter = CaseFilter(),
    val statuses: List<CaseStatus> = CaseStatus.entries,
    val cases: List<CaseSummary> = emptyList(),
    val pages: Int = 0,
    val more: Boolean = false,
    val error: String? = null,
)

/** The case list screen's state: pages of the core's ordering (most urgent first). */
class CaseListViewModel(private val app: DoorstepApplication) : ViewModel() {
    private val state = MutableStateFlow(CaseListState())

    /** What the screen shows. */
    val ui: StateFlow<CaseListState> = state.asStateFlow()

    init {
        reload()
    }

    /** Shows the first page for [filter]. */
    fun filter(filter: CaseFilter) {
        state.update { it.copy(filter = filter) }
        reload()
    }

    /** Shows the first page again (after a sync, or coming back to the screen). */
    fun reload() {
        val filter = state.value.filter
        viewModelScope.launch {
            app.background { repository.cases(filter, 0, PAGE) }
                .onSuccess { page -> state.update { it.copy(cases = page, pages = 1, more = page.size == PAGE, error = null) } }
                .onFailure { e -> state.update { it.copy(error = describe(e)) } }
        }
    }

    /** Appends the next page. */
    fun loadMore() {
        val current = state.value
        viewModelScope.launch {
            app.background { repository.cases(current.filter, current.pages, PAGE) }
                .onSuccess { page ->
                    state.update {
                        it.copy(cases = it.cases + page, pages = it.pages + 1, more = page.size == PAGE, error = null)
                    }
                }
                .onFailure { e -> state.update { it.copy(error = describe(e)) } }
        }
    }

    private companion object {
        const val PAGE = 50
    }
}
