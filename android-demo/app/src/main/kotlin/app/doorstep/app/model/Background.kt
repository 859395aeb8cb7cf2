package app.doorstep.app.model

import app.doorstep.app.AppContainer
import app.doorstep.app.DoorstepApplication
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.withContext

/**
 * Runs [block] on Dispatchers.IO with the app's objects: every repository call
 * blocks on the encrypted database (sync also on the network), so none may run
 * on the main thread. Failures come back as the [Result], never thrown at the UI.
 */
suspend fun <T> DoorstepApplication.background(block: AppContainer.() -> T): Result<T> =
    withContext(Dispatchers.IO) { runCatching { container().block() } }
