package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncReport
import app.doorstep.core.SyncStatus
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Nested
import org.junit.jupiter.api.Test
import java.time.Clock
import java.time.Duration
import java.time.Instant
import java.time.ZoneId
import java.time.ZoneOffset

/** A clock the test moves by hand. */
class ManualClock(var now: Instant) : Clock() {
    override fun instant(): Instant = now
    override fun getZone(): ZoneId = ZoneOffset.UTC
    override fun withZone(zone: ZoneId?): Clock = this
    fun advance(by: Duration) {
        now = now.plus(by)
    }
}

class SyncSchedulerTest {
    private val start = Instant.parse("2026-12-01T02:00:00Z")
    private val clock = ManualClock(start)

    private fun report(deferredUntil: Instant? = null) = SyncReport(deferredUntil, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, 0u, false)

    /** A target that records each sync and answers as told; status as the core would give it. */
    private inner class ScriptedTarget : SyncTarget {
        val syncs = mutableListOf<Instant>()
        var failNext = false
        var advised: Instant? = null

        override fun sync(): SyncReport {
            syncs.add(clock.instant())
            if (failNext) {
                failNext = false
                advised = clock.instant().plusSeconds(40)
                throw DoorstepException.SyncFailed("offline", "server unreachable")
            }
            advised = null
            return report()
        }

        override fun syncNow(): SyncReport {
            forced.add(clock.instant())
            return sync()
        }

        val forced = mutableListOf<Instant>()

        override fun syncStatus() = SyncStatus(0u, null, null, null, 0u, advised, 0u, false, 0u)
    }

    @Test
    fun `offline it never syncs, and connectivity returning syncs at once`() {
        val target = ScriptedTarget()
        val scheduler = SyncScheduler(target, clock, Duration.ofMinutes(15), online = false)
        assertNull(scheduler.nextSyncAt())
        clock.advance(Duration.ofHours(3))
        assertNull(scheduler.runIfDue())
        assertTrue(target.syncs.isEmpty())

        scheduler.onConnectivityChanged(true)
        assertEquals(clock.instant(), scheduler.nextSyncAt())
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(listOf(clock.instant()), target.syncs)
    }

    @Test
    fun `online it syncs every period and not in between`() {
        val target = ScriptedTarget()
        val scheduler = SyncScheduler(target, clock, Duration.ofMinutes(15), online = true)
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(start.plus(Duration.ofMinutes(15)), scheduler.nextSyncAt())
        clock.advance(Duration.ofMinutes(14))
        assertNull(scheduler.runIfDue())
        clock.advance(Duration.ofMinutes(1))
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(listOf(start, start.plus(Duration.ofMinutes(15))), target.syncs)
    }

    @Test
    fun `after a failure it waits for the time the core advises`() {
        val target = ScriptedTarget()
        val scheduler = SyncScheduler(target, clock, Duration.ofMinutes(15), online = true)
        target.failNext = true
        val failed = scheduler.runIfDue()
        assertTrue(failed is SyncAttempt.Failed)
        assertEquals("sync_failed", (failed as SyncAttempt.Failed).error.code())
        assertEquals(start.plusSeconds(40), scheduler.nextSyncAt())

        clock.advance(Duration.ofSeconds(39))
        assertNull(scheduler.runIfDue(), "retried before the core's backoff elapsed")
        clock.advance(Duration.ofSeconds(1))
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(2, target.syncs.size)
        assertTrue(target.forced.isEmpty(), "a timer-driven sync must respect the backoff")
    }

    @Test
    fun `connectivity returning retries at once, whatever the backoff`() {
        val target = ScriptedTarget()
        val scheduler = SyncScheduler(target, clock, Duration.ofMinutes(15), online = true)
        target.failNext = true
        assertTrue(scheduler.runIfDue() is SyncAttempt.Failed)
        scheduler.onConnectivityChanged(false)
        clock.advance(Duration.ofSeconds(5))
        scheduler.onConnectivityChanged(true)
        assertEquals(clock.instant(), scheduler.nextSyncAt())
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(listOf(clock.instant()), target.forced)
        // Back to the normal rhythm afterwards.
        assertEquals(clock.instant().plus(Duration.ofMinutes(15)), scheduler.nextSyncAt())
    }

    @Test
    fun `a sync the core defers moves the next attempt to the core's time`() {
        val until = start.plusSeconds(90)
        val target = object : SyncTarget {
            override fun sync() = report(deferredUntil = until)
            override fun syncNow() = report()
            override fun syncStatus() = SyncStatus(0u, null, null, null, 0u, null, 0u, false, 0u)
        }
        val scheduler = SyncScheduler(target, clock, Duration.ofMinutes(15), online = true)
        assertEquals(SyncAttempt.Deferred(until), scheduler.runIfDue())
        assertEquals(until, scheduler.nextSyncAt())
    }

    /** The scheduler driving the real library against the real server. */
    @Nested
    inner class WithTheRealCore {
        private val device = AgentDevice.signUp(cases = 1)

        @AfterEach
        fun close() = device.close()

        @Test
        fun `a failed sync backs off as the core advises, and returning connectivity syncs the outbox`() {
            val realClock = ManualClock(Instant.now())
            val repo = device.repository
            val scheduler = SyncScheduler(repo, realClock, Duration.ofMinutes(15), online = true)
            repo.planVisit(device.caseIds[0], Instant.now())

            val failed = scheduler.runIfDue()
            assertTrue(failed is SyncAttempt.Failed, "$failed")
            val advised = repo.syncStatus().nextAttemptAfter!!
            assertEquals(maxOf(advised, realClock.now), scheduler.nextSyncAt())

            realClock.now = advised.minusMillis(1)
            assertNull(scheduler.runIfDue(), "retried before the core's backoff elapsed")

            scheduler.onConnectivityChanged(false)
            device.transport.online = true
            scheduler.onConnectivityChanged(true)
            val synced = scheduler.runIfDue()
            assertTrue(synced is SyncAttempt.Synced, "$synced")
            assertEquals(1uL, (synced as SyncAttempt.Synced).report.applied)
            assertEquals(0uL, repo.syncStatus().pendingOps)
        }
    }
}
