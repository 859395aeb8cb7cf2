package app.doorstep.shell

import app.doorstep.core.Doorstep
import app.doorstep.core.DoorstepException
import app.doorstep.core.HttpRequest
import app.doorstep.core.HttpResponse
import app.doorstep.core.HttpTransport
import app.doorstep.core.SyncObserver
import app.doorstep.core.SyncPhase
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Test
import java.io.File

/** A shell transport that fails in an unplanned way does not crash the app. */
class CallbackFailureTest {
    private val folder = Fixtures.tempDir()

    @AfterEach
    fun removeFolder() {
        folder.deleteRecursively()
    }

    @Test
    fun `an unexpected exception in the transport becomes a failed sync with code io`() {
        val broken = object : HttpTransport {
            override fun send(request: HttpRequest): HttpResponse = throw IllegalStateException("bug in the shell")
        }
        val quiet = object : SyncObserver {
            override fun progress(phase: SyncPhase, done: ULong, total: ULong) {}
        }
        Doorstep.open(File(folder, "device.db").path, Fixtures.randomKey()).use { doorstep ->
            val error = assertThrows(DoorstepException.SyncFailed::class.java) {
                doorstep.signIn(broken, "anyone", TestServer.PASSWORD)
            }
            assertEquals("io", error.failure)
            assertFalse(doorstep.isSignedIn())
            // Not signed in, a sync asks for the sign-in and never reaches the transport.
            assertThrows(DoorstepException.SignInRequired::class.java) { doorstep.syncNow(broken, quiet) }
            assertEquals(1u, doorstep.syncStatus().consecutiveFailures)
        }
    }
}
