package app.doorstep.shell

import app.doorstep.core.DoorstepException
import app.doorstep.core.SyncPlan
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

    /**
     * A target whose plan is scripted: it records what the scheduler told it
     * (online, reconnected) and which sync it ran.
     */
    private inner class ScriptedTarget(var plan: SyncPlan) : SyncTarget {
        val asked = mutableListOf<Pair<Boolean, Boolean>>()
        val syncs = mutableListOf<Instant>()
        val forced = mutableListOf<Instant>()
        var failNext = false
        var deferUntil: Instant? = null

        override fun syncPlan(online: Boolean, reconnected: Boolean): SyncPlan {
            asked.add(online to reconnected)
            return plan
        }

        override fun sync(): SyncReport {
            syncs.add(clock.instant())
            if (failNext) {
                failNext = false
                throw DoorstepException.SyncFailed("offline", "server unreachable")
            }
            return report(deferUntil)
        }

        override fun syncNow(): SyncReport {
            forced.add(clock.instant())
            return report()
        }

        override fun syncStatus() = SyncStatus(0u, null, null, null, 0u, null, 0u, false, 0u)
    }

    @Test
    fun `it syncs only when the core's plan says, the way the plan says`() {
        val target = ScriptedTarget(SyncPlan.WhenOnline)
        val scheduler = SyncScheduler(target, clock, online = false)
        assertNull(scheduler.nextSyncAt())
        assertNull(scheduler.runIfDue())

        target.plan = SyncPlan.At(start.plusSeconds(40))
        assertEquals(start.plusSeconds(40), scheduler.nextSyncAt())
        clock.advance(Duration.ofSeconds(39))
        assertNull(scheduler.runIfDue(), "ran before the planned time")
        clock.advance(Duration.ofSeconds(1))
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(listOf(clock.instant()), target.syncs)
        assertTrue(target.forced.isEmpty(), "a planned sync respects the backoff")

        target.plan = SyncPlan.Now(ignoreBackoff = true)
        assertEquals(clock.instant(), scheduler.nextSyncAt())
        assertTrue(scheduler.runIfDue() is SyncAttempt.Synced)
        assertEquals(listOf(clock.instant()), target.forced)
    }

    @Test
    fun `the plan hears of connectivity coming back once, until the next attempt`() {
        val target = ScriptedTarget(SyncPlan.Now(ignoreBackoff = false))
        val scheduler = SyncScheduler(target, clock, online = false)
        scheduler.onConnectivityChanged(true)
        scheduler.runIfDue()
        scheduler.runIfDue()
        scheduler.onConnectivityChanged(true) // still online: not a return
        scheduler.runIfDue()
        scheduler.onConnectivityChanged(false)
        scheduler.onConnectivityChanged(true)
        scheduler.runIfDue()
        assertEquals(listOf(true to true, true to false, true to false, true to true), target.asked)
    }

    @Test
    fun `a failed or deferred sync is reported as such`() {
        val target = ScriptedTarget(SyncPlan.Now(ignoreBackoff = false))
        val scheduler = SyncScheduler(target, clock, online = true)
        target.failNext = true
        val failed = scheduler.runIfDue()
        assertTrue(failed is SyncAttempt.Failed)
        assertEquals("sync_failed", (failed as SyncAttempt.Failed).error.code())
        target.deferUntil = start.plusSeconds(90)
        assertEquals(SyncAttempt.Deferred(start.plusSeconds(90)), scheduler.runIfDue())
        assertEquals(scheduler.lastAttempt, SyncAttempt.Deferred(start.plusSeconds(90)))
    }

    /** The scheduler carrying out the real core's plan against the real server. */
    @Nested
    inner class WithTheRealCore {
        private val device = AgentDevice.signUp(cases = 1)

        @AfterEach
        fun close() = device.close()

        @Test
        fun `a failed sync waits for the backoff, and returning connectivity syncs the outbox`() {
            val realClock = ManualClock(Instant.now())
            val repo = device.repository
            val scheduler = SyncScheduler(repo, realClock, online = false)
            repo.planVisit(device.caseIds[0], Instant.now())
            // It synced a moment ago (sign-up): with work waiting, the next one
            // is planned a little later, not now.
            assertTrue(repo.syncPlan(true, false) is SyncPlan.At)

            // The platform says the network is back, but the server is not
            // reachable: the sync the plan asks for fails.
            scheduler.onConnectivityChanged(true)
            val failed = scheduler.runIfDue()
            assertTrue(failed is SyncAttempt.Failed, "$failed")
            val advised = repo.syncStatus().nextAttemptAfter!!
            assertEquals(SyncPlan.At(advised), repo.syncPlan(true, false))
            assertEquals(advised, scheduler.nextSyncAt())

            realClock.now = advised.minusMillis(1)
            assertNull(scheduler.runIfDue(), "retried before the core's backoff elapsed")

            scheduler.onConnectivityChanged(false)
            assertEquals(SyncPlan.WhenOnline, repo.syncPlan(false, false))
            device.transport.online = true
            scheduler.onConnectivityChanged(true)
            val synced = scheduler.runIfDue()
            assertTrue(synced is SyncAttempt.Synced, "$synced")
            assertEquals(1uL, (synced as SyncAttempt.Synced).report.applied)
            assertEquals(0uL, repo.syncStatus().pendingOps)
            // Nothing waits any more: the next check is the idle one.
            val next = repo.syncPlan(true, false)
            assertTrue(next is SyncPlan.At, "$next")
        }
    }
}
