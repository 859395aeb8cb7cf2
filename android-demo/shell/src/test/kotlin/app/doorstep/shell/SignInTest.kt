package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.NoticeChannel
import app.doorstep.core.SyncPlan
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.time.Duration
import java.time.Instant

/**
 * The password is asked once: through the bindings, against the real server,
 * the agent signs in on the sign-in screen, and every later sync renews the
 * sign-in with the refresh credential the core keeps in the encrypted
 * database. An admin's revocation makes the app ask again, and the queue
 * waits for it untouched.
 */
class SignInTest {
    private val device = AgentDevice.signUp(cases = 3)
    private val repo = device.repository

    @AfterEach
    fun close() = device.close()

    /** Plans a visit to case [case] and records a notice: two actions waiting to be sent. */
    private fun queueWork(case: Int = 0): String {
        val visit = repo.planVisit(device.caseIds[case], Instant.now())
        repo.recordNotice(
            visit, NoticeChannel.PHONE_CALL, Instant.now(), "核实逾期情况", true,
            Instant.now().minus(Duration.ofHours(2)),
        )
        return visit
    }

    @Test
    fun `signed in once, the phone syncs again and again without the password`() {
        assertTrue(repo.isSignedIn())
        device.transport.online = true
        for (round in 0..2) {
            queueWork(round)
            val report = repo.syncNow()
            assertEquals(2uL, report.applied, "round $round")
            assertEquals(0uL, repo.syncStatus().pendingOps)
        }
        // No password is anywhere in the device's files in clear, nor in the
        // encrypted database's place on disk.
        val password = TestServer.PASSWORD.toByteArray(Charsets.UTF_8)
        for (file in device.folder.walk().filter(File::isFile)) {
            val bytes = file.readBytes()
            val found = (0..bytes.size - password.size).any { i ->
                password.indices.all { bytes[i + it] == password[it] }
            }
            assertFalse(found, "the password is in ${file.name}")
        }
    }

    @Test
    fun `a revoked sign-in asks for the password again and the queue waits for it`() {
        device.transport.online = true
        queueWork()
        val pending = repo.syncStatus().pendingOps
        assertEquals(2uL, pending)
        TestServer.shared.admin("revoke-sign-in", "--device-id", repo.deviceId)

        val refused = assertThrows(DoorstepException.SignInRequired::class.java) { repo.syncNow() }
        assertEquals("sign_in_required", refused.code())
        assertFalse(repo.isSignedIn())
        assertEquals(pending, repo.syncStatus().pendingOps)
        // The schedulers try nothing until the agent signs in.
        assertEquals(SyncPlan.WhenSignedIn, repo.syncPlan(true, true))
        // The agent keeps working meanwhile.
        repo.planVisit(device.caseIds[1], Instant.now())
        assertEquals(pending + 1uL, repo.syncStatus().pendingOps)

        // A wrong password changes nothing.
        val wrong = assertThrows(DoorstepException.SyncFailed::class.java) {
            repo.signIn(device.username, "not the password")
        }
        assertEquals("unauthorized", wrong.failure)
        assertFalse(repo.isSignedIn())

        // Signed in again, the queue drains.
        repo.signIn(device.username, TestServer.PASSWORD)
        assertTrue(repo.isSignedIn())
        assertTrue(repo.syncPlan(true, false) !is SyncPlan.WhenSignedIn)
        val report = repo.sync()
        assertEquals(pending + 1uL, report.applied)
        assertEquals(0uL, repo.syncStatus().pendingOps)
    }

    @Test
    fun `another agent cannot sign in on a phone holding this agent's work`() {
        val other = AgentDevice.signUp(cases = 1)
        try {
            queueWork()
            device.transport.online = true
            // This phone is registered to its agent and holds their queue.
            val refused = assertThrows(DoorstepException.SyncFailed::class.java) {
                repo.signIn(other.username, TestServer.PASSWORD)
            }
            assertTrue(refused.failure in setOf("refused", "wrong_user"), refused.failure)
            assertEquals(device.agentId, repo.signedInAgent())
            assertEquals(2uL, repo.syncStatus().pendingOps)
        } finally {
            other.close()
        }
    }

    @Test
    fun `the app names its build on every request once told, and a malformed one is refused`() {
        assertThrows(DoorstepException.InvalidInput::class.java) { repo.nameAppVersion("1.0\n") }
        repo.nameAppVersion("2.3.0 (230)")
        assertThrows(DoorstepException.InvalidInput::class.java) { repo.nameAppVersion("") }
        device.transport.online = true
        device.transport.appVersions.clear()
        queueWork()
        repo.syncNow()
        val named = device.transport.appVersions
        assertTrue(named.isNotEmpty())
        assertTrue(named.all { it == "2.3.0 (230)" }, "$named")
    }
}
