package app.doorstep.app.ui

import android.graphics.BitmapFactory
import androidx.compose.foundation.Image
import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.height
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.asImageBitmap
import androidx.compose.ui.unit.dp
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.model.ReviewViewModel
import app.doorstep.app.model.background
import app.doorstep.core.AnswerValue
import app.doorstep.core.Attachment
import app.doorstep.core.AttachmentKind
import app.doorstep.core.LogVerification
import app.doorstep.core.ReviewDecision

/** The supervisor's queue: submitted visits of the team's cases this device pulled. */
@Composable
fun ReviewQueueScreen(model: ReviewViewModel, openVisit: (String) -> Unit) {
    val state by model.ui.collectAsState()
    LaunchedEffect(Unit) { model.loadQueue() }
    Column(Modifier.padding(12.dp)) {
        Text("Waiting for review", style = MaterialTheme.typography.titleLarge)
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        if (state.pending.isEmpty()) Text("Nothing submitted. Sync to fetch the team's visits.")
        LazyColumn {
            items(state.pending, key = { it.visitId }) { pending ->
                Column(Modifier.fillMaxWidth().clickable { openVisit(pending.visitId) }.padding(vertical = 8.dp)) {
                    Text(pending.case.customer.name, style = MaterialTheme.typography.titleMedium)
                    Text("${pending.case.externalRef} · ${pending.case.overdueAmount.text()}")
                }
                HorizontalDivider()
            }
        }
    }
}

/**
 * One submitted visit as the supervisor reviews it: the core's visit report
 * (check-in flags, answers, problems, notes, photos, outcome, timeline, and
 * whether the visit's event log verified), then approve, or return with a
 * reason code and a comment. The server checks and records the decision.
 */
@Composable
fun ReviewDetailScreen(model: ReviewViewModel, visitId: String, app: DoorstepApplication) {
    val state by model.ui.collectAsState()
    LaunchedEffect(visitId) { model.open(visitId) }
    var reasonCode by remember { mutableStateOf("") }
    var comment by remember { mutableStateOf("") }
    Column(Modifier.padding(12.dp).verticalScroll(rememberScrollState()), verticalArrangement = Arrangement.spacedBy(6.dp)) {
        state.error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
        state.done?.let { Text(it, color = MaterialTheme.colorScheme.primary) }
        val report = state.report ?: return@Column
        val visit = report.visit
        Text(report.case.customer.name, style = MaterialTheme.typography.headlineSmall)
        Text("${report.case.externalRef} · ${visit.state.words()} · submission ${visit.submissions}")
        when (val log = report.log) {
            is LogVerification.Intact -> Text("Event log verified (${log.chains.size} device chain(s))")
            is LogVerification.Broken -> Text("Event log BROKEN at entry ${log.index}: ${log.reason.words()}", color = MaterialTheme.colorScheme.error)
        }
        visit.checkIn?.let { check ->
            val flags = if (check.flags.isEmpty()) "no flags" else check.flags.joinToString { it.words() }
            Text("Check-in ${check.at.text()} · ${check.distanceM?.toInt()?.let { "$it m" } ?: "no registered position"} · $flags")
        }
        Text("Answers", style = MaterialTheme.typography.titleMedium)
        for (answer in report.answers) Text("${answer.label.text()}: ${show(answer.value)}")
        for (problem in report.checklistProblems) Text("${problem.itemId}: ${problem.reason.words()}", color = MaterialTheme.colorScheme.error)
        Text("Notes", style = MaterialTheme.typography.titleMedium)
        for (note in report.notes) Text("${note.writtenAt.text()}: ${note.text}")
        Text("Photos and signatures", style = MaterialTheme.typography.titleMedium)
        for (attachment in report.attachments) AttachmentImage(app, attachment)
        visit.outcome?.let { outcome ->
            Text("Outcome", style = MaterialTheme.typography.titleMedium)
            Text("${outcome.code.words()} — ${outcome.summary}")
            outcome.promise?.let { Text("Promise ${it.amount.text()} by ${it.dueOn}") }
            outcome.plan?.let { Text("Plan ${it.instalments} × ${it.instalmentAmount.text()} from ${it.firstDueOn}") }
        }
        Text("Timeline", style = MaterialTheme.typography.titleMedium)
        for (entry in report.timeline) Text("${entry.at.text()} ${entry.kind}", style = MaterialTheme.typography.bodySmall)

        HorizontalDivider()
        Button(enabled = !state.busy, onClick = { model.decide(visitId, ReviewDecision.Approve) }) { Text("Approve") }
        OutlinedTextField(reasonCode, { reasonCode = it }, label = { Text("Reason code, e.g. missing_photos") })
        OutlinedTextField(comment, { comment = it }, label = { Text("Comment for the agent") }, modifier = Modifier.fillMaxWidth())
        Row {
            OutlinedButton(enabled = !state.busy, onClick = { model.decide(visitId, ReviewDecision.Return(reasonCode.trim(), comment)) }) {
                Text("Return to agent")
            }
        }
    }
}

/** A photo or signature, read from the encrypted store off the main thread. */
@Composable
private fun AttachmentImage(app: DoorstepApplication, attachment: Attachment) {
    val image by produceState<ImageBitmap?>(null, attachment.sha256) {
        value = app.background { repository.attachmentBytes(attachment.sha256) }.getOrNull()
            ?.let { BitmapFactory.decodeByteArray(it, 0, it.size)?.asImageBitmap() }
    }
    val kind = if (attachment.kind == AttachmentKind.SIGNATURE) "signature" else "photo"
    Text("$kind · ${attachment.takenAt.text()} · ${attachment.sizeBytes / 1024u} KB")
    image?.let { Image(it, contentDescription = kind, modifier = Modifier.fillMaxWidth().height(200.dp)) }
}

private fun show(value: AnswerValue): String = when (value) {
    is AnswerValue.YesNo -> if (value.v1) "yes" else "no"
    is AnswerValue.Choice -> value.v1
    is AnswerValue.Choices -> value.v1.joinToString()
    is AnswerValue.Integer -> value.v1.toString()
    is AnswerValue.Money -> value.v1.text()
    is AnswerValue.Text -> value.v1
    is AnswerValue.Date -> value.v1
}
