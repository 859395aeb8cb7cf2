import DoorstepCore
import DoorstepShell
import Foundation

/// Runs `work` on a background task: every core call blocks on the encrypted
/// database (sync also on the network) and must stay off the main actor.
func background<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await Task.detached(priority: .userInitiated) { try work() }.value
}

/// Holds the open session for code that runs outside the main actor (the
/// background sync task).
final class SessionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var session: DoorstepSession?

    var value: DoorstepSession? {
        get { lock.withLock { session } }
        set { lock.withLock { session = newValue } }
    }
}

/// The app's state shared by the screens: the session, the scheduler, and
/// what the sync bar shows.
@MainActor
final class AppModel: ObservableObject {
    /// The open session, once the database is open.
    @Published private(set) var session: DoorstepSession?
    @Published private(set) var status: SyncStatus?
    @Published private(set) var progress: SyncProgress?
    @Published private(set) var message: String?
    /// The device holds no sign-in the server accepts: the sign-in sheet is up.
    @Published var needsSignIn = false
    private var scheduler: SyncScheduler?
    /// The open session, for the background task iOS may run without the UI.
    nonisolated static let openSession = SessionBox()

    /// The server; set `DoorstepServerURL` in the app's Info.plist.
    private let serverURL = Bundle.main.object(forInfoDictionaryKey: "DoorstepServerURL") as? String
        ?? "http://localhost:8080"

    /// Opens the database (key from the Keychain) and starts the scheduler.
    func start() async {
        guard session == nil else { return }
        let folder = FileManager.default.urls(for: .applicationSupportDirectory, in: .userDomainMask)[0]
        let path = folder.appendingPathComponent("doorstep.db").path
        let server = serverURL
        do {
            let opened = try await background {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                return try DoorstepSession(path: path, serverURL: server) { progress in
                    Task { @MainActor [weak self] in self?.progress = progress }
                }
            }
            session = opened
            AppModel.openSession.value = opened
            BackgroundSync.schedule(session: opened)
            let scheduler = SyncScheduler(session: opened) { attempt in
                Task { @MainActor [weak self] in await self?.finished(attempt) }
            }
            scheduler.start()
            self.scheduler = scheduler
            await refreshStatus()
        } catch {
            message = describe(error)
        }
    }

    /// The agent signed in: the queue syncs at once.
    func signedIn() {
        needsSignIn = false
        syncNow()
    }

    /// "Sync now": whatever the backoff says.
    func syncNow() {
        progress = nil
        scheduler?.syncNow()
    }

    /// Reads the sync status for the bar.
    func refreshStatus() async {
        guard let session else { return }
        status = try? await background { try session.doorstep.syncStatus() }
        needsSignIn = !session.isSignedIn
    }

    private func finished(_ attempt: SyncAttempt) async {
        progress = nil
        switch attempt {
        case .synced: message = "synced"
        case .deferred(let until): message = "waiting until \(until.formatted(date: .omitted, time: .shortened))"
        case .failed(let error): message = describe(error)
        }
        await refreshStatus()
    }
}

/// What the agent sees for a failed call: the core's stable code and its
/// explanation (never customer data).
func describe(_ error: Error) -> String {
    switch error {
    case let error as DoorstepError:
        if case .IncompleteChecklist(let problems) = error {
            return "\(error.code()): " + problems.map { "\($0.itemId) (\($0.reason))" }.joined(separator: ", ")
        }
        return "\(error.code()): \(error.localizedDescription)"
    default:
        return error.localizedDescription
    }
}
