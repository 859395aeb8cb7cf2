package app.doorstep.shell

import app.doorstep.core.NoticeChannel
import app.doorstep.core.VisitChange
import app.doorstep.core.VisitState
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.io.File
import java.time.Duration
import java.time.Instant
import java.util.UUID

/**
 * Nothing typed is lost from the agent's view: an operation the server
 * refuses comes back through the bindings with what the agent did (the
 * note's text), for the app to show and the agent to redo.
 */
class RefusedWorkTest {
    private val device = AgentDevice.signUp(cases = 1)
    private val phone = device.repository
    private val tablet = DoorstepRepository.open(
        File(device.folder, "tablet.db"),
        Fixtures.randomKey(),
        HttpUrlConnectionTransport(TestServer.shared.url),
    )

    @AfterEach
    fun close() {
        tablet.close()
        device.close()
    }

    @Test
    fun `a note refused after the visit was approved comes back with its text`() {
        val server = TestServer.shared
        server.registerDevice(device.username, tablet.deviceId)
        tablet.signIn(device.username, TestServer.PASSWORD)
        tablet.syncNow()

        // The phone checks in and works the visit; the tablet, the agent's
        // second device, receives it.
        val visit = phone.planVisit(device.caseIds[0], Instant.now())
        phone.recordNotice(
            visit, NoticeChannel.PHONE_CALL, Instant.now(), "核实逾期情况", true,
            Instant.now().minus(Duration.ofHours(2)),
        )
        phone.checkIn(visit, Fixtures.fixAtHome())
        for ((item, value) in Fixtures.completeAnswers()) phone.answer(visit, item, value)
        phone.attachPhoto(visit, Fixtures.PHOTO, itemId = "premises_photos")
        phone.setOutcome(visit, Fixtures.promiseOutcome(device.offsetMinutes))
        device.transport.online = true
        phone.syncNow()
        tablet.syncNow()
        assertEquals(VisitState.CHECKED_IN, tablet.report(visit).visit.state)

        // On the tablet, a note; meanwhile the phone submits and the
        // supervisor approves.
        val text = "补充：客户配偶在场，确认家庭月收入约六千五百元。"
        val note = tablet.addNote(visit, text)
        phone.checkOut(visit, Fixtures.fixAtHome())
        phone.submit(visit)
        phone.syncNow()
        val supervisorDevice = UUID.randomUUID().toString()
        server.registerDevice(TestServer.SUPERVISOR, supervisorDevice)
        val api = SupervisorApi(server.url, TestServer.SUPERVISOR, TestServer.PASSWORD, supervisorDevice)
        assertEquals(200, api.approve(visit))

        // The tablet's note is refused; its text is still in the agent's hands.
        val synced = tablet.syncNow()
        assertEquals(1uL, synced.rejected)
        val refused = tablet.rejectedOps().single()
        assertEquals(visit, refused.visitId)
        assertEquals("illegal_transition", refused.code)
        val change = refused.change
        assertTrue(change is VisitChange.NoteAdded, "$change")
        change as VisitChange.NoteAdded
        assertEquals(note, change.note.id)
        assertEquals(text, change.note.text)
        assertEquals(VisitState.APPROVED, tablet.report(visit).visit.state)
    }
}
