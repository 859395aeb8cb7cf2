package app.doorstep.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.horizontalScroll
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.material3.FilterChip
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import app.doorstep.app.model.CaseListViewModel
import app.doorstep.core.CaseSummary

/**
 * The case list: the core's order (most urgent first), filtered by status and
 * by text in the customer's name, the reference, a phone or an address.
 */
@Composable
fun CaseListScreen(model: CaseListViewModel, openCase: (String) -> Unit, openReviews: () -> Unit, signIn: () -> Unit) {
    val state by model.ui.collectAsState()
    Column(Modifier.padding(8.dp)) {
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            TextButton(onClick = signIn) { Text("Sign in") }
            TextButton(onClick = openReviews) { Text("Review (supervisor)") }
            TextButton(onClick = model::reload) { Text("Refresh") }
        }
        OutlinedTextField(
            value = state.filter.text.orEmpty(),
            onValueChange = { model.filter(state.filter.copy(text = it.ifBlank { null })) },
            label = { Text("Search name, reference, phone, address") },
            modifier = Modifier.fillMaxWidth(),
        )
        Row(Modifier.horizontalScroll(rememberScrollState()), horizontalArrangement = Arrangement.spacedBy(4.dp)) {
            FilterChip(selected = state.filter.status == null, onClick = { model.filter(state.filter.copy(status = null)) }, label = { Text("all") })
            for (status in state.statuses) {
                FilterChip(
                    selected = state.filter.status == status,
                    onClick = { model.filter(state.filter.copy(status = status)) },
                    label = { Text(status.words()) },
                )
            }
        }
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        LazyColumn {
            items(state.cases, key = { it.id }) { case ->
                CaseRow(case, Modifier.clickable { openCase(case.id) })
                HorizontalDivider()
            }
            if (state.more) {
                item { TextButton(onClick = model::loadMore) { Text("More") } }
            }
        }
    }
}

@Composable
private fun CaseRow(case: CaseSummary, modifier: Modifier) {
    Column(modifier.fillMaxWidth().padding(vertical = 8.dp)) {
        Text(case.customerName, style = MaterialTheme.typography.titleMedium)
        Text("${case.externalRef} · ${case.overdueAmount.text()} · ${case.daysPastDue} days (${case.bucket.words()})")
        Text("due ${case.dueDate} · priority ${case.priority} · ${case.status.words()}", style = MaterialTheme.typography.bodySmall)
    }
}
