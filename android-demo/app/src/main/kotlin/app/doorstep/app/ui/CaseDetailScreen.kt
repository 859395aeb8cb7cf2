package app.doorstep.app.ui

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import app.doorstep.app.model.CaseDetailViewModel

/** A case: the customer, how to reach them, the debt, and the visits on this device. */
@Composable
fun CaseDetailScreen(model: CaseDetailViewModel, openVisit: (String) -> Unit) {
    val state by model.ui.collectAsState()
    Column(Modifier.padding(12.dp).verticalScroll(rememberScrollState()), verticalArrangement = Arrangement.spacedBy(6.dp)) {
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        val detail = state.detail ?: return@Column
        val case = detail.case
        Text(case.customer.name, style = MaterialTheme.typography.headlineSmall)
        Text("${case.externalRef} · ${case.product} · id ${case.customer.nationalIdMasked}")
        Text("Overdue ${case.overdueAmount.text()}, ${case.daysPastDue} days · due ${case.dueDate} · ${case.status.words()}")
        Text("Phones", style = MaterialTheme.typography.titleSmall)
        for (phone in case.customer.phones) Text("${phone.label}: ${phone.number}")
        Text("Addresses", style = MaterialTheme.typography.titleSmall)
        for (address in case.customer.addresses) {
            val located = if (address.location != null) "" else " (no registered position)"
            Text("${address.kind.words()}: ${address.text}$located")
        }
        Text("Visits", style = MaterialTheme.typography.titleSmall)
        for (visit in detail.visits) {
            Text(
                "Visit ${visit.visitId.take(8)} · ${visit.state.words()}",
                modifier = Modifier.fillMaxWidth().clickable { openVisit(visit.visitId) }.padding(vertical = 8.dp),
            )
        }
        Button(onClick = { model.planVisit(openVisit) }) { Text("Plan a visit") }
    }
}
