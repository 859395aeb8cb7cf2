package app.doorstep.app.ui

import android.Manifest
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.unit.dp
import app.doorstep.app.LocationReader
import app.doorstep.app.model.VisitViewModel
import app.doorstep.core.AnswerValue
import app.doorstep.core.AttachmentLink
import app.doorstep.core.VisitAction
import app.doorstep.core.GpsFix
import app.doorstep.core.ReviewDecision
import app.doorstep.core.SiteCheck
import kotlinx.coroutines.launch

/**
 * The visit flow on one scrolling screen, in the order an agent works:
 * notice, check-in (with the phone's position), the checklist, notes,
 * photos, the outcome, check-out and submit. Every section calls the core
 * and shows what it answered; a refused step shows the core's code and reason.
 */
@Composable
fun VisitScreen(model: VisitViewModel) {
    val state by model.ui.collectAsState()
    val context = LocalContext.current
    val scope = rememberCoroutineScope()
    val location = remember { LocationReader(context) }
    var pendingFix by remember { mutableStateOf<((GpsFix) -> Unit)?>(null) }
    val locate: (suspend () -> Unit) = {
        runCatching { location.currentFix() }
            .onSuccess { fix -> pendingFix?.invoke(fix) }
            .onFailure { model.fail(it.message ?: "no position") }
    }
    val permission = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) scope.launch { locate() } else model.fail("location permission refused")
    }
    val withFix: ((GpsFix) -> Unit) -> Unit = { then ->
        pendingFix = then
        permission.launch(Manifest.permission.ACCESS_FINE_LOCATION)
    }
    val camera = rememberPhotoCapture(onPhoto = model::attachPhoto, onFailure = model::fail)
    val actions = remember(model) {
        object : ChecklistActions {
            override fun answer(itemId: String, value: AnswerValue) = model.answer(itemId, value)
            override fun clear(itemId: String) = model.clearAnswer(itemId)
            override fun photo(itemId: String) = camera.take(itemId)
            override fun signature(itemId: String, png: ByteArray) = model.attachSignature(itemId, png)
        }
    }

    Column(Modifier.padding(12.dp).verticalScroll(rememberScrollState()), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        if (state.busy) LinearProgressIndicator(Modifier.fillMaxWidth())
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        state.done?.let { Text(it, color = MaterialTheme.colorScheme.primary) }
        val report = state.report ?: return@Column
        val visit = report.visit
        Text(report.case.customer.name, style = MaterialTheme.typography.headlineSmall)
        Text("Visit · ${visit.state.words()} · submitted ${visit.submissions} time(s)")
        visit.reviews.lastOrNull()?.let { review ->
            val decision = review.decision
            if (decision is ReviewDecision.Return) {
                Text("Returned: ${decision.reasonCode} — ${decision.comment}", color = MaterialTheme.colorScheme.error)
            }
        }

        Section("Notice")
        for (notice in visit.notices) {
            Text("${notice.channel.words()} at ${notice.givenAt.text()} for ${notice.plannedVisitAt.text()}" + if (notice.acknowledged) " (acknowledged)" else "")
        }
        val allowed = state.allowed
        if (VisitAction.RECORD_NOTICE in allowed) NoticeForm(record = model::recordNotice, fail = model::fail)

        Section("Check-in")
        visit.checkIn?.let { SiteCheckLine("Checked in", it) }
        state.siteCheck?.let { SiteCheckLine("Last check", it) }
        if (VisitAction.CHECK_IN in allowed) Button(onClick = { withFix(model::checkIn) }) { Text("Check in here") }

        Section("Checklist")
        val checklist = state.checklist
        if (checklist != null) {
            Text(checklist.title.text() + " (v${checklist.version})")
            for (problem in report.checklistProblems) {
                Text("${problem.itemId}: ${problem.reason.words()}", color = MaterialTheme.colorScheme.error)
            }
            // Only the items the core shows for the answers so far.
            for (item in state.visibleItems) {
                val answer = report.answers.firstOrNull { it.itemId == item.id }?.value
                val attached = report.attachments.count { (it.link as? AttachmentLink.ChecklistItem)?.itemId == item.id }
                ChecklistItemField(item, answer, attached, actions)
                HorizontalDivider()
            }
        }

        Section("Notes")
        for (note in report.notes) Text("${note.writtenAt.text()}: ${note.text}")
        var note by remember { mutableStateOf("") }
        OutlinedTextField(note, { note = it }, label = { Text("Interview note") }, modifier = Modifier.fillMaxWidth())
        val editable = VisitAction.EDIT in allowed
        Button(enabled = editable && note.isNotBlank(), onClick = { model.addNote(note); note = "" }) { Text("Add note") }

        Section("Photos")
        Text("${report.attachments.count { it.link is AttachmentLink.Visit }} photo(s) of the visit")
        OutlinedButton(enabled = editable, onClick = { camera.take(null) }) { Text("Take photo") }

        Section("Outcome")
        visit.outcome?.let { Text("Saved: ${it.code.words()} — ${it.summary}") }
        OutcomeForm(visit.outcome, report.case.overdueAmount.currency, save = model::setOutcome, fail = model::fail)

        Section("Finish")
        visit.checkOut?.let { SiteCheckLine("Checked out", it) }
        Row(horizontalArrangement = Arrangement.spacedBy(8.dp)) {
            OutlinedButton(enabled = VisitAction.CHECK_OUT in allowed, onClick = { withFix(model::checkOut) }) { Text("Check out") }
            Button(enabled = VisitAction.SUBMIT in allowed, onClick = model::submit) { Text("Submit") }
        }
        if (report.unsyncedEntries > 0uL) Text("${report.unsyncedEntries} change(s) not yet sent", style = MaterialTheme.typography.bodySmall)
    }
}

@Composable
private fun Section(title: String) {
    HorizontalDivider()
    Text(title, style = MaterialTheme.typography.titleMedium)
}

/** A check-in or -out as the core assessed it: distance to the address and flags. */
@Composable
private fun SiteCheckLine(title: String, check: SiteCheck) {
    val distance = check.distanceM?.let { "${it.toInt()} m from the address" } ?: "no registered position"
    val flags = if (check.flags.isEmpty()) "" else " · flagged: " + check.flags.joinToString { it.words() }
    Text("$title ${check.at.text()} · $distance · accuracy ${check.fix.accuracyM.toInt()} m$flags")
}
