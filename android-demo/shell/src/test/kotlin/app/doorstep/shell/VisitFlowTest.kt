package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.CaseStatus
import app.doorstep.core.DoorstepException
import app.doorstep.core.LogVerification
import app.doorstep.core.NoticeChannel
import app.doorstep.core.ProblemReason
import app.doorstep.core.SyncPhase
import app.doorstep.core.VisitAction
import app.doorstep.core.VisitState
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.time.Duration
import java.time.Instant

/**
 * An agent's visit played offline through the repository and the real native
 * library, then synced to the real server over [HttpUrlConnectionTransport].
 */
class VisitFlowTest {
    private val device = AgentDevice.signUp(cases = 2)
    private val repo = device.repository

    @AfterEach
    fun close() = device.close()

    @Test
    fun `a whole visit offline, then it syncs when the network returns`() {
        val cases = repo.cases()
        assertEquals(device.caseIds.toSet(), cases.map { it.id }.toSet())
        val caseId = device.caseIds[0]
        val now = Instant.now()

        val visit = repo.planVisit(caseId, now)
        repo.recordNotice(visit, NoticeChannel.PHONE_CALL, now.plusSeconds(3600), "核实逾期情况", acknowledged = true)
        // The notice was recorded just now: policy wants 30 minutes of lead time.
        val tooSoon = assertThrows(DoorstepException.PolicyViolation::class.java) {
            repo.checkIn(visit, Fixtures.fixAtHome())
        }
        assertEquals("notice_too_late", tooSoon.policy)
        assertEquals("policy_violation", tooSoon.code())
        repo.cancel(visit, "客户改约")

        val visit2 = repo.planVisit(caseId, now)
        // The screens offer what the core's state machine allows, nothing else.
        assertEquals(listOf(VisitAction.RECORD_NOTICE, VisitAction.CHECK_IN, VisitAction.CANCEL), repo.allowedActions(visit2))
        repo.recordNoticeGivenAt(visit2, now.minus(Duration.ofHours(2)))
        val check = repo.checkIn(visit2, Fixtures.fixAtHome())
        assertEquals(listOf(VisitAction.EDIT, VisitAction.CHECK_OUT), repo.allowedActions(visit2))
        // The checklist's conditions are evaluated by the core: an item shown
        // only for some answer appears once that answer is given.
        val shownBefore = repo.visibleItems(visit2).map { it.id }
        repo.answer(visit2, "contact_details_updated", AnswerValue.YesNo(true))
        val shownAfter = repo.visibleItems(visit2).map { it.id }
        assertTrue(shownAfter.containsAll(shownBefore) && shownAfter.size > shownBefore.size, "$shownBefore -> $shownAfter")
        assertTrue(check.flags.isEmpty(), "a good fix at home is not flagged: ${check.flags}")
        assertTrue(check.distanceM!! < 50.0)

        val template = repo.checklist(visit2)
        assertEquals("home-verification", template.key)
        for ((item, value) in Fixtures.completeAnswers()) repo.answer(visit2, item, value)
        val photo = repo.attachPhoto(visit2, Fixtures.PHOTO, itemId = "premises_photos")
        repo.addNote(visit2, "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。")
        repo.setOutcome(visit2, Fixtures.promiseOutcome(device.offsetMinutes))
        repo.checkOut(visit2, Fixtures.fixAtHome())
        repo.submit(visit2)
        assertTrue(repo.allowedActions(visit2).isEmpty(), "a submitted visit waits for the supervisor")

        val report = repo.report(visit2)
        assertEquals(VisitState.SUBMITTED, report.visit.state)
        assertTrue(report.checklistProblems.isEmpty())
        assertEquals(Fixtures.completeAnswers().size, report.answers.size)
        assertEquals(1, report.notes.size)
        assertEquals(photo, report.attachments.single().id)
        assertArrayEquals(Fixtures.PHOTO, repo.attachmentBytes(report.attachments.single().sha256))
        assertTrue(report.log is LogVerification.Intact)
        assertTrue(report.unsyncedEntries > 0uL)
        assertEquals(CaseStatus.SUBMITTED, repo.caseDetail(caseId).case.status)

        // Offline: the sync fails with a typed error and the core advises a retry time.
        val offline = assertThrows(DoorstepException.SyncFailed::class.java) { repo.syncNow() }
        assertEquals("offline", offline.failure)
        val status = repo.syncStatus()
        assertEquals(1u, status.consecutiveFailures)
        assertNotNull(status.nextAttemptAfter)
        assertTrue(status.pendingOps > 0uL)

        // The network returns: everything is pushed, with progress reported.
        val phases = mutableListOf<SyncPhase>()
        repo.addSyncListener { phase, _, _ -> phases.add(phase) }
        device.transport.online = true
        val synced = repo.syncNow()
        assertEquals(status.pendingOps, synced.applied)
        assertEquals(0uL, synced.rejected)
        // The token from the first sync is still valid, so there is no login phase.
        assertTrue(phases.containsAll(listOf(SyncPhase.PUSH, SyncPhase.PULL)), "$phases")
        val after = repo.syncStatus()
        assertEquals(0uL, after.pendingOps)
        assertEquals(0u, after.consecutiveFailures)
        assertEquals(0uL, repo.report(visit2).unsyncedEntries)
    }

    @Test
    fun `the core's refusals cross the boundary as typed errors with stable codes`() {
        val caseId = device.caseIds[1]
        val visit = repo.planVisit(caseId, Instant.now())

        // Answering before check-in: the state machine refuses.
        val early = assertThrows(DoorstepException.IllegalTransition::class.java) {
            repo.answer(visit, "identity_confirmed", AnswerValue.YesNo(true))
        }
        assertEquals("illegal_transition", early.code())
        assertEquals("planned", early.state)
        assertEquals("edit", early.action)

        // A second open visit for the same case is not allowed.
        assertEquals("not_allowed", assertThrows(DoorstepException.NotAllowed::class.java) {
            repo.planVisit(caseId, Instant.now())
        }.code())

        repo.recordNoticeGivenAt(visit, Instant.now().minus(Duration.ofHours(1)))
        repo.checkIn(visit, Fixtures.fixAtHome())

        val outOfRange = assertThrows(DoorstepException.InvalidAnswer::class.java) {
            repo.answer(visit, "ability_to_repay", AnswerValue.Integer(9))
        }
        assertEquals("ability_to_repay", outOfRange.itemId)
        assertEquals("out_of_range", outOfRange.reason)

        repo.setOutcome(visit, Fixtures.promiseOutcome(device.offsetMinutes))
        repo.checkOut(visit, Fixtures.fixAtHome())
        val incomplete = assertThrows(DoorstepException.IncompleteChecklist::class.java) { repo.submit(visit) }
        assertEquals("incomplete_checklist", incomplete.code())
        assertTrue(incomplete.problems.any { it.itemId == "identity_confirmed" && it.reason == ProblemReason.MISSING })

        val gone = assertThrows(DoorstepException.NotFound::class.java) {
            repo.report("01890000-0000-7000-8000-000000000000")
        }
        assertEquals("not_found", gone.code())

        // Nothing refused was recorded: the visit is still checked out, unsubmitted.
        assertEquals(VisitState.CHECKED_OUT, repo.report(visit).visit.state)
        assertTrue(repo.report(visit).answers.isEmpty())
    }

    /** A phone notice given at [givenAt] for a visit now. */
    private fun DoorstepRepository.recordNoticeGivenAt(visit: String, givenAt: Instant) =
        recordNotice(visit, NoticeChannel.PHONE_CALL, Instant.now(), "核实逾期情况", true, givenAt)
}
