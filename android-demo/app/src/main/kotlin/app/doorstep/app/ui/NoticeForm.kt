package app.doorstep.app.ui

import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.FilterChip
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import app.doorstep.core.NoticeChannel
import java.time.Instant
import java.time.LocalDateTime
import java.time.ZoneId
import java.time.format.DateTimeFormatter

/**
 * Records the notice given to the customer: how, when it was given, when the
 * visit is planned, the purpose and whether the customer acknowledged it.
 * Times are typed on the phone's clock (`yyyy-MM-dd HH:mm`); whether the notice
 * is timely enough is the core's policy, checked at check-in.
 */
@Composable
fun NoticeForm(record: (NoticeChannel, plannedVisitAt: Instant, purpose: String, acknowledged: Boolean, givenAt: Instant) -> Unit, fail: (String) -> Unit) {
    var channel by remember { mutableStateOf(NoticeChannel.PHONE_CALL) }
    var givenAt by remember { mutableStateOf(LocalDateTime.now().format(FORMAT)) }
    var plannedAt by remember { mutableStateOf(LocalDateTime.now().format(FORMAT)) }
    var purpose by remember { mutableStateOf("") }
    var acknowledged by remember { mutableStateOf(false) }
    Column {
        Row {
            for (option in NoticeChannel.entries) {
                FilterChip(selected = channel == option, onClick = { channel = option }, label = { Text(option.words()) })
            }
        }
        OutlinedTextField(givenAt, { givenAt = it }, label = { Text("Given at (yyyy-MM-dd HH:mm)") })
        OutlinedTextField(plannedAt, { plannedAt = it }, label = { Text("Visit planned at (yyyy-MM-dd HH:mm)") })
        OutlinedTextField(purpose, { purpose = it }, label = { Text("Purpose") })
        Row(verticalAlignment = Alignment.CenterVertically) {
            Checkbox(acknowledged, { acknowledged = it })
            Text("Customer acknowledged")
        }
        Button(onClick = {
            val given = parse(givenAt)
            val planned = parse(plannedAt)
            if (given == null || planned == null) fail("a time is yyyy-MM-dd HH:mm") else record(channel, planned, purpose, acknowledged, given)
        }) { Text("Record notice") }
    }
}

private val FORMAT: DateTimeFormatter = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm")

private fun parse(text: String): Instant? =
    runCatching { LocalDateTime.parse(text.trim(), FORMAT).atZone(ZoneId.systemDefault()).toInstant() }.getOrNull()
