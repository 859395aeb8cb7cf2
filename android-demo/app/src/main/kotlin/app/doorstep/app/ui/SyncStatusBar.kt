package app.doorstep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.collectAsState
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.unit.dp
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.SyncRunner
import app.doorstep.app.SyncUiState
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext

/**
 * The sync bar above every screen: what waits to be sent, when the last sync
 * succeeded, the last error and, while a sync runs, its phase and progress.
 * "Sync now" ignores the backoff (the agent asked). When the agent must sign
 * in again, "Sign in" opens the sign-in screen ([signIn]).
 */
@Composable
fun SyncStatusBar(app: DoorstepApplication, signIn: () -> Unit) {
    val runner by produceState<SyncRunner?>(null) {
        value = withContext(Dispatchers.IO) { app.container().sync.also { it.refresh() } }
    }
    val current = runner ?: return
    val state by current.ui.collectAsState()
    Surface(tonalElevation = 2.dp) {
        Column(Modifier.fillMaxWidth().padding(horizontal = 12.dp, vertical = 6.dp)) {
            Row(verticalAlignment = Alignment.CenterVertically, horizontalArrangement = Arrangement.SpaceBetween, modifier = Modifier.fillMaxWidth()) {
                Text(summary(state), style = MaterialTheme.typography.bodySmall, modifier = Modifier.weight(1f))
                if (state.signInRequired) {
                    TextButton(onClick = signIn) { Text("Sign in") }
                } else {
                    TextButton(enabled = !state.running, onClick = { app.scope.launch { current.syncNow() } }) {
                        Text("Sync now")
                    }
                }
            }
            if (state.running) {
                val total = state.total
                if (total > 0) {
                    LinearProgressIndicator(progress = { state.done.toFloat() / total }, modifier = Modifier.fillMaxWidth())
                } else {
                    LinearProgressIndicator(modifier = Modifier.fillMaxWidth())
                }
                state.phase?.let { Text("${it.words()}: ${state.done} of ${state.total}", style = MaterialTheme.typography.labelSmall) }
            }
        }
    }
}

private fun summary(state: SyncUiState): String {
    val status = state.status ?: return state.message ?: "…"
    val parts = mutableListOf("${status.pendingOps} to send")
    status.lastSuccess?.let { parts += "synced ${it.text()}" }
    if (status.rejectedCount > 0uL) parts += "${status.rejectedCount} refused"
    if (status.deactivated) parts += "device deactivated"
    status.lastError?.let { parts += "last error: $it" }
    status.nextAttemptAfter?.let { parts += "retry after ${it.text()}" }
    if (state.signInRequired) parts += "sign in to sync"
    state.message?.let { parts += it }
    return parts.joinToString(" · ")
}
