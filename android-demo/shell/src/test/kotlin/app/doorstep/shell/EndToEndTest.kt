package app.doorstep.shell

import app.doorstep.core.AnswerValue
import app.doorstep.core.AttachmentLink
import app.doorstep.core.DoorstepException
import app.doorstep.core.LogVerification
import app.doorstep.core.Money
import app.doorstep.core.NoticeChannel
import app.doorstep.core.OutcomeCode
import app.doorstep.core.ReviewDecision
import app.doorstep.core.VisitReport
import app.doorstep.core.VisitState
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertFalse
import org.junit.jupiter.api.Assertions.assertThrows
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.awt.image.BufferedImage
import java.io.ByteArrayOutputStream
import java.io.File
import java.security.MessageDigest
import java.time.Duration
import java.time.Instant
import java.util.UUID
import javax.imageio.ImageIO

/**
 * Issue 4 §4, end to end: the real `doorstep-server` binary on a fresh SQLite
 * store; cases imported from CSV with the admin command; two Kotlin agents
 * (the real native library through the shell's [DoorstepRepository] and
 * [HttpUrlConnectionTransport]) and one Rust agent (`field_agent`, the core
 * with its ureq transport) register their phones over HTTP, work a visit each
 * offline and sync when the network returns; the supervisor approves one visit
 * and returns another through the API; the agents pull, the returned visit is
 * edited, resubmitted and approved; the server's final state is checked field
 * by field (folded by the supervisor's own device from what the API serves)
 * and every photo byte for byte (`GET /v1/attachments/{sha256}`).
 */
class EndToEndTest {
    private val server = TestServer.start()
    private val folder = Fixtures.tempDir()
    /** The cases' UTC offset: midday there now, so every check-in is within contact hours. */
    private val offset = Fixtures.middayOffsetMinutes()
    private val repositories = mutableListOf<DoorstepRepository>()
    /** Where nothing listens: a phone without coverage. */
    private val nowhere = "http://127.0.0.1:${SwitchableTransport.deadPort()}"

    @AfterEach
    fun stop() {
        repositories.forEach { runCatching { it.close() } }
        server.close()
        folder.deleteRecursively()
    }

    @Test
    fun `three agents work offline, sync, and the supervisor's approval and return round-trip`() {
        val anna = "agent.anna"
        val bo = "agent.bo"
        val rust = "agent.rust"
        val agentIds = listOf(anna, bo, rust).associateWith { server.createAgent(it) }
        val caseIds = listOf(anna, bo, rust).associateWith { UUID.randomUUID().toString() }
        importCasesCsv(caseIds)

        // 1. Each phone registers itself over HTTP and syncs its case in the morning.
        val (annaRepo, annaNet) = kotlinPhone(anna)
        val (boRepo, boNet) = kotlinPhone(bo)
        assertEquals(listOf(caseIds[anna]), annaRepo.cases().map { it.id })
        assertEquals(listOf(caseIds[bo]), boRepo.cases().map { it.id })
        assertEquals(agentIds[anna], annaRepo.signedInAgent())
        val rustAgent = RustFieldAgent(File(folder, "rust.db"), hex(Fixtures.randomKey()), rust, TestServer.PASSWORD)
        val registered = rustAgent.ok(server.url, "register")
        assertEquals(agentIds[rust], registered["user_id"])

        // 2. Out of coverage, each works a whole visit and submits it.
        val annaPhoto = image("jpg", seed = 1)
        val boPhoto = image("jpg", seed = 2)
        val rustPhoto = image("png", seed = 3)
        val annaNote = "客户本人开门，出示身份证，与档案一致。"
        val boNote = "客户经营的小饭馆疫情后亏损，目前在朋友店里帮工。"
        val rustNote = "客户母亲住院，医药费开销大，工资按时发放。"
        val annaVisit = workOffline(annaRepo, caseIds.getValue(anna), annaPhoto, annaNote)
        val boVisit = workOffline(boRepo, caseIds.getValue(bo), boPhoto, boNote)
        val photoFile = File(folder, "rust-photo.png").also { it.writeBytes(rustPhoto) }
        val worked = rustAgent.ok(
            nowhere, "work",
            "case" to caseIds.getValue(rust), "offset" to "$offset", "photo" to photoFile.path, "note" to rustNote,
        )
        val rustVisit = worked["visit"]
        assertEquals("submitted", worked["state"])
        assertEquals(sha256(rustPhoto), worked["sha256"])
        for (repo in listOf(annaRepo, boRepo)) {
            val offline = assertThrows(DoorstepException.SyncFailed::class.java) { repo.syncNow() }
            assertEquals("offline", offline.failure)
        }
        val offline = rustAgent.run(nowhere, "sync")
        assertFalse(offline.ok)
        assertEquals("offline", offline["error"])

        // 3. Connectivity returns: everything is pushed once, photos uploaded.
        annaNet.online = true
        boNet.online = true
        for (repo in listOf(annaRepo, boRepo)) {
            val pending = repo.syncStatus().pendingOps
            assertTrue(pending > 0uL)
            val synced = repo.syncNow()
            assertEquals(pending, synced.applied)
            assertEquals(0uL, synced.rejected)
            assertEquals(1uL, synced.uploaded)
            assertEquals(0uL, repo.syncStatus().pendingOps)
            assertEquals(0uL, repo.syncStatus().pendingUploads)
        }
        val rustSynced = rustAgent.ok(server.url, "sync")
        assertEquals(worked["pending"], rustSynced["applied"])
        assertEquals("0", rustSynced["rejected"])
        assertEquals("1", rustSynced["uploaded"])
        assertEquals("0", rustSynced["pending"])

        // 4. The supervisor, on a device of their own, sees the three submitted
        //    visits, approves Anna's and returns the Rust agent's with a comment.
        val supervisor = DoorstepRepository.open(
            File(folder, "supervisor.db"),
            Fixtures.randomKey(),
            HttpUrlConnectionTransport(server.url),
        ).also { repositories += it }
        supervisor.signIn(TestServer.SUPERVISOR, TestServer.PASSWORD)
        supervisor.syncNow()
        for (visit in listOf(annaVisit, boVisit, rustVisit)) {
            assertEquals(VisitState.SUBMITTED, supervisor.report(visit).visit.state)
        }
        val supervisorId = supervisor.signedInAgent()!!
        assertEquals(setOf(annaVisit, boVisit, rustVisit), supervisor.reviewQueue().map { it.id }.toSet())
        val api = SupervisorApi(server.url, TestServer.SUPERVISOR, TestServer.PASSWORD, supervisor.deviceId)
        val comment = "还款能力评估与收入情况不符，请核实后重新评分。"
        // Decisions through the core, from the supervisor's own device.
        supervisor.review(annaVisit, ReviewDecision.Approve)
        supervisor.review(rustVisit, ReviewDecision.Return("inconsistent_outcome", comment))
        assertEquals(VisitState.APPROVED, supervisor.report(annaVisit).visit.state, "in the visit at once")
        assertEquals(listOf(boVisit), supervisor.reviewQueue().map { it.id })
        val twice = assertThrows(DoorstepException.SyncFailed::class.java) {
            supervisor.review(annaVisit, ReviewDecision.Approve)
        }
        assertTrue(twice.reason.contains("visit_not_submitted"), "an approved visit is not reviewed twice: ${twice.reason}")

        // 5. The agents pull the decisions; the returned visit is edited offline,
        //    resubmitted, synced, and approved with Bo's.
        assertTrue(annaRepo.syncNow().pulled >= 1uL)
        assertEquals(VisitState.APPROVED, annaRepo.report(annaVisit).visit.state)
        boRepo.syncNow()
        assertEquals(VisitState.SUBMITTED, boRepo.report(boVisit).visit.state)
        val returned = rustAgent.ok(server.url, "sync", "visit" to rustVisit)
        assertEquals("returned", returned["state"])
        assertEquals("return", returned["review"])
        assertEquals("inconsistent_outcome", returned["reason_code"])
        assertEquals(comment, returned["comment"])
        val rustResubmitNote = "已核实：客户月收入八千二百元，还款能力改为 3 分。"
        val resubmitted = rustAgent.ok(nowhere, "resubmit", "visit" to rustVisit, "note" to rustResubmitNote)
        assertEquals("submitted", resubmitted["state"])
        val pushed = rustAgent.ok(server.url, "sync", "visit" to rustVisit)
        assertEquals(resubmitted["pending"], pushed["applied"])
        assertEquals("0", pushed["rejected"])
        assertEquals("2", pushed["submissions"])
        supervisor.review(rustVisit, ReviewDecision.Approve)
        assertEquals(200, api.approve(boVisit), "the API is the same server: a decision by hand still works")
        assertEquals("approved", rustAgent.ok(server.url, "sync", "visit" to rustVisit)["state"])
        for (repo in listOf(annaRepo, boRepo)) repo.syncNow()
        assertEquals(VisitState.APPROVED, boRepo.report(boVisit).visit.state)

        // 6. The server's final state, as the supervisor's device folds it from
        //    the API, field by field; the photos byte for byte.
        supervisor.syncNow()
        for ((agent, repo, visit) in listOf(Triple(anna, annaRepo, annaVisit), Triple(bo, boRepo, boVisit))) {
            val onServer = supervisor.report(visit)
            val onPhone = repo.report(visit)
            assertEquals(onPhone.visit, onServer.visit)
            assertEquals(onPhone.answers, onServer.answers)
            assertEquals(onPhone.notes, onServer.notes)
            assertEquals(onPhone.attachments, onServer.attachments)
            assertEquals(onPhone.timeline, onServer.timeline)
            assertEquals(agentIds[agent], onServer.visit.agent)
            assertEquals(caseIds[agent], onServer.visit.caseId)
            assertEquals(1u, onServer.visit.submissions)
            assertEquals(listOf<ReviewDecision>(ReviewDecision.Approve), onServer.visit.reviews.map { it.decision })
            assertEquals(Fixtures.completeAnswers().toMap(), answers(onServer))
            assertEquals(OutcomeCode.PROMISE_TO_PAY, onServer.visit.outcome!!.code)
            assertEquals(Money(500_000, "CNY"), onServer.visit.outcome!!.promise!!.amount)
        }
        assertEquals(listOf(annaNote), supervisor.report(annaVisit).notes.map { it.text })
        assertEquals(listOf(boNote), supervisor.report(boVisit).notes.map { it.text })

        val rustOnServer = supervisor.report(rustVisit)
        assertEquals(VisitState.APPROVED, rustOnServer.visit.state)
        assertEquals(agentIds[rust], rustOnServer.visit.agent)
        assertEquals(caseIds[rust], rustOnServer.visit.caseId)
        assertEquals(2u, rustOnServer.visit.submissions)
        assertEquals(
            listOf(ReviewDecision.Return("inconsistent_outcome", comment), ReviewDecision.Approve),
            rustOnServer.visit.reviews.map { it.decision },
        )
        assertEquals(NoticeChannel.SMS, rustOnServer.visit.notices.single().channel)
        assertTrue(rustOnServer.visit.checkIn!!.flags.isEmpty())
        val rustAnswers = answers(rustOnServer)
        assertEquals(Fixtures.completeAnswers().map { it.first }.toSet(), rustAnswers.keys)
        assertEquals(AnswerValue.Integer(3), rustAnswers["ability_to_repay"], "the edit after the return")
        assertEquals(AnswerValue.Integer(5), rustAnswers["willingness_to_repay"])
        assertEquals(AnswerValue.Money(Money(820_000, "CNY")), rustAnswers["monthly_income"])
        assertEquals(AnswerValue.Choice("illness"), rustAnswers["overdue_reason"])
        assertEquals(listOf(rustNote, rustResubmitNote), rustOnServer.notes.map { it.text })
        assertEquals(Money(300_000, "CNY"), rustOnServer.visit.outcome!!.promise!!.amount)

        for (report in listOf(supervisor.report(annaVisit), supervisor.report(boVisit), rustOnServer)) {
            assertEquals(VisitState.APPROVED, report.visit.state)
            assertTrue(report.visit.reviews.all { it.reviewer == supervisorId })
            assertTrue(report.log is LogVerification.Intact, "${report.log}")
            assertTrue(report.checklistProblems.isEmpty())
        }

        val photos = mapOf(annaVisit to (annaPhoto to "image/jpeg"), boVisit to (boPhoto to "image/jpeg"), rustVisit to (rustPhoto to "image/png"))
        for ((visit, photo) in photos) {
            val (bytes, mime) = photo
            val attachment = supervisor.report(visit).attachments.single()
            assertEquals(sha256(bytes), attachment.sha256)
            assertEquals(bytes.size.toULong(), attachment.sizeBytes)
            assertEquals(mime, attachment.mimeType)
            assertEquals(AttachmentLink.ChecklistItem("premises_photos"), attachment.link)
            val download = api.attachment(attachment.sha256)
            assertEquals(200, download.status.toInt())
            assertArrayEquals(bytes, download.body)
        }
        assertArrayEquals(annaPhoto, annaRepo.attachmentBytes(sha256(annaPhoto)))
    }

    /** Imports one case per agent from CSV with the admin command. */
    private fun importCasesCsv(caseIds: Map<String, String>) {
        val header = "case_id,external_ref,customer_name,national_id_masked,phone,address,latitude,longitude," +
            "product,overdue_amount,currency,days_past_due,agent,partner,priority,due_date,utc_offset_minutes"
        val rows = caseIds.entries.mapIndexed { i, (agent, caseId) ->
            "$caseId,CC-E2E-$i,王小明,**************123$i,+86 138 0000 000$i,北京市朝阳区建国路 88 号 3 单元 502," +
                "${Fixtures.HOME.latitude},${Fixtures.HOME.longitude},白金信用卡,12500.00,CNY,45,$agent,,3,2026-12-05,$offset"
        }
        val file = File(folder, "cases.csv")
        file.writeText((listOf(header) + rows).joinToString("\n", postfix = "\n"))
        server.admin("import-cases", "--file", file.path)
    }

    /** A Kotlin agent's phone: signed in once (which registers it over HTTP), synced, then out of coverage. */
    private fun kotlinPhone(username: String): Pair<DoorstepRepository, SwitchableTransport> {
        val transport = SwitchableTransport(server.url)
        val repo = DoorstepRepository.open(
            File(folder, "$username.db"),
            Fixtures.randomKey(),
            transport,
        ).also { repositories += it }
        transport.online = true
        repo.signIn(username, TestServer.PASSWORD)
        repo.syncNow()
        transport.online = false
        return repo to transport
    }

    /** Notice, check-in, the whole checklist, a photo, a note, the outcome, check-out, submit. */
    private fun workOffline(repo: DoorstepRepository, caseId: String, photo: ByteArray, note: String): String {
        val now = Instant.now()
        val visit = repo.planVisit(caseId, now)
        repo.recordNotice(visit, NoticeChannel.PHONE_CALL, now, "核实逾期情况", true, now.minus(Duration.ofHours(2)))
        assertTrue(repo.checkIn(visit, Fixtures.fixAtHome()).flags.isEmpty())
        for ((item, value) in Fixtures.completeAnswers()) repo.answer(visit, item, value)
        repo.attachPhoto(visit, photo, itemId = "premises_photos")
        repo.addNote(visit, note)
        repo.setOutcome(visit, Fixtures.promiseOutcome(offset))
        repo.checkOut(visit, Fixtures.fixAtHome())
        repo.submit(visit)
        assertEquals(VisitState.SUBMITTED, repo.report(visit).visit.state)
        return visit
    }

    private fun answers(report: VisitReport): Map<String, AnswerValue> = report.answers.associate { it.itemId to it.value }

    /** A small real image (`jpg` or `png`), different for each [seed]. */
    private fun image(format: String, seed: Int): ByteArray {
        val picture = BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB)
        for (x in 0 until 64) for (y in 0 until 48) {
            picture.setRGB(x, y, ((x * 4 + seed * 50) and 0xff shl 16) or ((y * 5) and 0xff shl 8) or (seed * 70 and 0xff))
        }
        val out = ByteArrayOutputStream()
        check(ImageIO.write(picture, format, out)) { "no $format writer" }
        return out.toByteArray()
    }

    private fun sha256(bytes: ByteArray): String = hex(MessageDigest.getInstance("SHA-256").digest(bytes))

    private fun hex(bytes: ByteArray): String = bytes.joinToString("") { "%02x".format(it) }
}
