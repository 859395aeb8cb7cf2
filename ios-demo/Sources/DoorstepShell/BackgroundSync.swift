import BackgroundTasks
import DoorstepCore
import Foundation

/// Sync while the app is suspended: a `BGAppRefreshTask` that iOS runs no
/// earlier than the time the core's sync plan gives (`Doorstep.syncPlan`).
/// The app lists `BackgroundSync.identifier` under
/// `BGTaskSchedulerPermittedIdentifiers` in its Info.plist, calls `register`
/// before it finishes launching, and `schedule` once its session is open and
/// after every sync.
public enum BackgroundSync {
    /// The task's identifier.
    public static let identifier = "app.doorstep.sync"

    /// Registers the task's handler. `session` gives the open session when
    /// iOS wakes the app (nil if it has none yet: the task then ends).
    public static func register(session: @escaping @Sendable () -> DoorstepSession?) {
        BGTaskScheduler.shared.register(forTaskWithIdentifier: identifier, using: nil) { task in
            guard let task = task as? BGAppRefreshTask else {
                task.setTaskCompleted(success: false)
                return
            }
            run(task, session: session())
        }
    }

    /// Asks iOS to wake the app at the time the core plans the next sync
    /// (as soon as it can, when the plan says now).
    public static func schedule(session: DoorstepSession) {
        let request = BGAppRefreshTaskRequest(identifier: identifier)
        if case .at(let at)? = try? session.syncPlan(online: true, reconnected: false) {
            request.earliestBeginDate = at
        }
        try? BGTaskScheduler.shared.submit(request)
    }

    private static func run(_ task: BGAppRefreshTask, session: DoorstepSession?) {
        guard let session, session.isSignedIn else {
            task.setTaskCompleted(success: false)
            return
        }
        let work = Task.detached(priority: TaskPriority.background) {
            // The core's own backoff still applies: a deferred sync is a success.
            let synced = (try? session.sync()) != nil
            schedule(session: session)
            task.setTaskCompleted(success: synced)
        }
        task.expirationHandler = { work.cancel() }
    }
}
