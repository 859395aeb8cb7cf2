package app.doorstep.shell

import app.doorstep.core.LogVerification
import app.doorstep.core.NoticeChannel
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.async
import kotlinx.coroutines.awaitAll
import kotlinx.coroutines.launch
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import java.time.Duration
import java.time.Instant
import java.util.concurrent.atomic.AtomicBoolean

/**
 * Two taps at once, as the app makes them: every core call runs on
 * `Dispatchers.IO`, so notes on one visit, notes on another visit and syncs
 * reach the native library from many threads together. Every note the core
 * acknowledged is on the phone once, each visit's log verifies, and the
 * server acknowledged everything.
 */
class ConcurrentActionsTest {
    private val device = AgentDevice.signUp(cases = 2)
    private val repo = device.repository

    @AfterEach
    fun close() = device.close()

    @Test
    fun `notes from many coroutines on one visit while syncing are all kept once`() = runBlocking {
        val visits = device.caseIds.map { caseId ->
            val visit = repo.planVisit(caseId, Instant.now())
            repo.recordNotice(
                visit, NoticeChannel.PHONE_CALL, Instant.now(), "核实逾期情况", true,
                Instant.now().minus(Duration.ofHours(2)),
            )
            repo.checkIn(visit, Fixtures.fixAtHome())
            visit
        }
        device.transport.online = true
        val acting = AtomicBoolean(true)
        val syncFailures = mutableListOf<String>()
        val syncing = launch(Dispatchers.IO) {
            var syncs = 0
            while (syncs == 0 || acting.get()) {
                try {
                    repo.syncNow()
                } catch (e: Exception) {
                    synchronized(syncFailures) { syncFailures.add(e.toString()) }
                }
                syncs++
            }
        }
        // Six coroutines on the first visit, two on the second.
        val written = (0 until 8).map { worker ->
            async(Dispatchers.IO) {
                val visit = visits[if (worker < 6) 0 else 1]
                (0 until ROUNDS).map { round ->
                    val text = "协程${worker}第${round}条：客户称下月还款"
                    Triple(visit, repo.addNote(visit, text), text)
                }
            }
        }.awaitAll().flatten()
        acting.set(false)
        syncing.join()
        assertTrue(syncFailures.isEmpty(), "syncs failed while the agent worked: $syncFailures")

        repo.syncNow()
        assertEquals(0uL, repo.syncStatus().pendingOps)
        assertTrue(repo.rejectedOps().isEmpty(), "${repo.rejectedOps()}")
        for (visit in visits) {
            val report = repo.report(visit)
            assertTrue(report.log is LogVerification.Intact, "${report.log}")
            assertEquals(0uL, report.unsyncedEntries)
            val mine = written.filter { it.first == visit }
            assertEquals(mine.size, report.notes.size)
            for ((_, id, text) in mine) {
                assertEquals(listOf(text), report.notes.filter { it.id == id }.map { it.text })
            }
        }
    }

    private companion object {
        const val ROUNDS = 25
    }
}
