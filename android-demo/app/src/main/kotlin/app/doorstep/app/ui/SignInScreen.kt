package app.doorstep.app.ui

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.padding
import androidx.compose.material3.Button
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import app.doorstep.app.DoorstepApplication
import app.doorstep.app.model.background
import kotlinx.coroutines.launch

/**
 * Sign-in: the user name and password are kept encrypted under the Keystore
 * key (the sync signs in with them, in the background too); the first sync
 * checks them against the server. Shows this device's id, which an
 * administrator registers to the user before the first sync.
 */
@Composable
fun SignInScreen(app: DoorstepApplication, onSignedIn: () -> Unit) {
    var username by remember { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    var deviceId by remember { mutableStateOf("") }
    val scope = rememberCoroutineScope()
    LaunchedEffect(Unit) { app.background { repository.deviceId }.onSuccess { deviceId = it } }
    Column(Modifier.padding(16.dp), verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text("This device: $deviceId")
        OutlinedTextField(username, { username = it }, label = { Text("User name") })
        OutlinedTextField(
            password,
            { password = it },
            label = { Text("Password") },
            visualTransformation = PasswordVisualTransformation(),
        )
        Button(enabled = username.isNotBlank() && password.isNotEmpty(), onClick = {
            scope.launch {
                app.background {
                    secrets.saveSignIn(username.trim(), password)
                    sync.syncNow()
                }
                onSignedIn()
            }
        }) { Text("Sign in and sync") }
    }
}
