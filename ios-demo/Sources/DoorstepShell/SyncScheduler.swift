import DoorstepCore
import Foundation
import Network

/// What one scheduled attempt did.
public enum SyncAttempt {
    /// The sync ran to the end.
    case synced(SyncReport)
    /// The core declined: its backoff after earlier failures runs until then.
    case deferred(until: Date)
    /// The sync failed; the core recorded when to try again.
    case failed(Error)
}

/// Carries out the core's sync plan (`Doorstep.syncPlan`), like the Kotlin
/// shell's scheduler: the rule of when to sync (at once when NWPathMonitor
/// reports the network is back, whatever the backoff; not before the backoff
/// after a failure; sooner while work waits; never offline) lives in the
/// core. The scheduler remembers what the platform reports and runs the sync
/// the plan asks for. Everything runs on one serial queue, off the main
/// thread; a one-shot timer is armed for the planned time after every attempt.
public final class SyncScheduler: @unchecked Sendable {
    private let session: DoorstepSession
    private let queue = DispatchQueue(label: "app.doorstep.sync")
    private let monitor = NWPathMonitor()
    private var timer: DispatchSourceTimer?
    private var online = false
    /// Connectivity came back since the last attempt.
    private var reconnected = false
    private let onAttempt: @Sendable (SyncAttempt) -> Void

    /// A scheduler for `session`; `onAttempt` hears every attempt (on the sync queue).
    public init(session: DoorstepSession, onAttempt: @escaping @Sendable (SyncAttempt) -> Void) {
        self.session = session
        self.onAttempt = onAttempt
    }

    /// Starts watching the network.
    public func start() {
        monitor.pathUpdateHandler = { [weak self] path in
            self?.connectivityChanged(online: path.status == .satisfied)
        }
        monitor.start(queue: queue)
    }

    /// Stops watching and cancels the timer.
    public func stop() {
        monitor.cancel()
        queue.async { self.timer?.cancel() }
    }

    /// Runs a sync now whatever the backoff (the agent pressed "Sync now").
    public func syncNow() {
        queue.async {
            self.reconnected = true
            self.runIfDue()
        }
    }

    /// Called on `queue` by the path monitor.
    private func connectivityChanged(online: Bool) {
        if online && !self.online { reconnected = true }
        self.online = online
        runIfDue()
    }

    /// Syncs if the plan says so, then arms the timer. On `queue`.
    private func runIfDue() {
        guard let plan = try? session.syncPlan(online: online, reconnected: reconnected) else { return }
        let ignoreBackoff: Bool
        switch plan {
        case .now(let ignore):
            ignoreBackoff = ignore
        case .at(let at):
            if Date() < at { arm(at); return }
            ignoreBackoff = false
        case .whenOnline, .whenSignedIn:
            timer?.cancel()
            return
        }
        let attempt: SyncAttempt
        do {
            let report = ignoreBackoff ? try session.syncNow() : try session.sync()
            if let until = report.deferredUntil {
                attempt = .deferred(until: until)
            } else {
                attempt = .synced(report)
            }
        } catch {
            attempt = .failed(error)
        }
        reconnected = false
        onAttempt(attempt)
        if case .at(let at)? = try? session.syncPlan(online: online, reconnected: false) { arm(at) }
    }

    /// A one-shot timer at the planned time.
    private func arm(_ at: Date) {
        timer?.cancel()
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now() + max(1, at.timeIntervalSinceNow))
        source.setEventHandler { [weak self] in self?.runIfDue() }
        source.resume()
        timer = source
    }
}
