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
import app.doorstep.app.describe
import app.doorstep.app.model.background
import kotlinx.coroutines.launch

/**
 * Sign-in: the user name and password go to the core once, which signs in
 * (registering this phone to the agent the first time) and keeps a refresh
 * credential in the encrypted database; the password is kept nowhere, not
 * even in this screen once it is done. Shown at first start and whenever the
 * server refused the device's sign-in; the queue waits meanwhile and syncs
 * right after. Shows this device's id.
 */
@Composable
fun SignInScreen(app: DoorstepApplication, onSignedIn: () -> Unit) {
    var username by remember { mutableStateOf("") }
    var password by remember { mutableStateOf("") }
    var deviceId by remember { mutableStateOf("") }
    var error by remember { mutableStateOf<String?>(null) }
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
        error?.let { Text(it) }
        Button(enabled = username.isNotBlank() && password.isNotEmpty(), onClick = {
            val typed = password
            password = ""
            scope.launch {
                app.background { sync.signIn(username.trim(), typed) }
                    .onSuccess { onSignedIn() }
                    .onFailure { error = describe(it) }
            }
        }) { Text("Sign in and sync") }
    }
}
