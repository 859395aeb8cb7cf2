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

/// Decides when the device syncs, like the Kotlin shell's scheduler: at once
/// when NWPathMonitor reports the network is back (whatever the backoff: the
/// failures it answered were most likely the missing network), then every
/// `period` while online, and after a failure not before the time the core
/// advises (`SyncStatus.nextAttemptAfter`, its backoff). Offline, never.
/// Everything runs on one serial queue, off the main thread; a one-shot
/// timer is armed for the next due time after every attempt.
public final class SyncScheduler: @unchecked Sendable {
    private let session: DoorstepSession
    private let period: TimeInterval
    private let queue = DispatchQueue(label: "app.doorstep.sync")
    private let monitor = NWPathMonitor()
    private var timer: DispatchSourceTimer?
    private var online = false
    private var reconnected = false
    private var dueAt = Date()
    private let onAttempt: @Sendable (SyncAttempt) -> Void

    /// A scheduler for `session`; `onAttempt` hears every attempt (on the sync queue).
    public init(session: DoorstepSession, period: TimeInterval = 15 * 60,
                onAttempt: @escaping @Sendable (SyncAttempt) -> Void) {
        self.session = session
        self.period = period
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
            self.dueAt = Date()
            self.runIfDue()
        }
    }

    /// Called on `queue` by the path monitor.
    private func connectivityChanged(online: Bool) {
        if online && !self.online {
            dueAt = Date()
            reconnected = true
        }
        self.online = online
        runIfDue()
    }

    /// When the next sync should run; nil while offline. On `queue`.
    private func nextSyncAt() -> Date? {
        guard online else { return nil }
        if reconnected { return dueAt }
        guard let advised = try? session.doorstep.syncStatus().nextAttemptAfter else { return dueAt }
        return max(advised, dueAt)
    }

    /// Syncs if online, signed in and due, then arms the timer. On `queue`.
    private func runIfDue() {
        guard session.isSignedIn, let next = nextSyncAt() else { return }
        if Date() >= next {
            let attempt: SyncAttempt
            do {
                let report = reconnected ? try session.syncNow() : try session.sync()
                if let until = report.deferredUntil {
                    attempt = .deferred(until: until)
                } else {
                    attempt = .synced(report)
                }
            } catch {
                attempt = .failed(error)
            }
            reconnected = false
            switch attempt {
            case .synced: dueAt = Date().addingTimeInterval(period)
            case .deferred(let until): dueAt = until
            case .failed: dueAt = Date()
            }
            onAttempt(attempt)
        }
        arm()
    }

    /// A one-shot timer at the next due time (the core's backoff included).
    private func arm() {
        timer?.cancel()
        guard let next = nextSyncAt() else { return }
        let source = DispatchSource.makeTimerSource(queue: queue)
        source.schedule(deadline: .now() + max(1, next.timeIntervalSinceNow))
        source.setEventHandler { [weak self] in self?.runIfDue() }
        source.resume()
        timer = source
    }
}
