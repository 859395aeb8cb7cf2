import DoorstepCore
import Foundation

/// Progress of a running sync, for the sync status bar.
public struct SyncProgress: Equatable, Sendable {
    public let phase: SyncPhase
    public let done: UInt64
    public let total: UInt64
}

/// One device: the core's `Doorstep` (the screens call it directly; every
/// rule is in it), the transport for sync and reviews, and a progress
/// observer. It holds no password: `signIn` hands the typed one to the core
/// once, and the core keeps a refresh credential in the encrypted database;
/// when the server refuses it, calls that reach the server throw
/// `DoorstepError.SignInRequired` and the app shows its sign-in screen. Every call blocks on the encrypted database (sync also
/// on the network): call from a background queue or task, never the main actor.
public final class DoorstepSession: @unchecked Sendable {
    /// The device's store and every action an agent takes.
    public let doorstep: Doorstep
    /// The transport, shared by sync and reviews.
    public let transport: HttpTransport
    private let observer: ProgressRelay

    /// Opens (or creates) the database at `path` with the Keychain's key.
    public init(path: String, serverURL: String, secrets: KeychainSecrets = KeychainSecrets(),
                onProgress: @escaping @Sendable (SyncProgress) -> Void) throws {
        doorstep = try Doorstep.open(path: path, key: secrets.databaseKey())
        secrets.forgetLegacySignIn()
        transport = URLSessionTransport(baseURL: serverURL)
        observer = ProgressRelay(onProgress)
        try doorstep.setDeviceUtcOffset(minutes: Int32(TimeZone.current.secondsFromGMT() / 60))
        // This build, for the admin's phones page, e.g. "1.4.2 (142)".
        let info = Bundle.main.infoDictionary ?? [:]
        if let version = info["CFBundleShortVersionString"] as? String {
            let build = info["CFBundleVersion"] as? String
            try doorstep.setAppVersion(version: build.map { "\(version) (\($0))" } ?? version)
        }
    }

    /// Whether the device holds a sign-in (without one, the app shows its
    /// sign-in screen and nothing is synced).
    public var isSignedIn: Bool { (try? doorstep.isSignedIn()) ?? false }

    /// Signs the agent in with what they typed (registering this phone to
    /// them the first time); returns their id. Keep neither argument.
    @discardableResult
    public func signIn(username: String, password: String) throws -> String {
        try doorstep.signIn(transport: transport, username: username, password: password)
    }

    /// Approves or returns a visit on this (a supervisor's) device, through the
    /// core: signed in as the sync signs in, and in the visit at once.
    public func review(visitId: String, decision: ReviewDecision) throws {
        try doorstep.review(transport: transport, visitId: visitId, decision: decision)
    }

    /// When to sync next, as the core plans it (`sync::plan`).
    public func syncPlan(online: Bool, reconnected: Bool) throws -> SyncPlan {
        try doorstep.syncPlan(online: online, reconnected: reconnected)
    }

    /// Syncs unless the core's backoff says to wait (`deferredUntil` is then set).
    public func sync() throws -> SyncReport {
        try doorstep.sync(transport: transport, observer: observer)
    }

    /// Syncs whatever the backoff says (the agent pressed "Sync now").
    public func syncNow() throws -> SyncReport {
        try doorstep.syncNow(transport: transport, observer: observer)
    }
}

/// Hands the core's progress to a closure; must not throw (the core's contract).
private final class ProgressRelay: SyncObserver, @unchecked Sendable {
    private let relay: @Sendable (SyncProgress) -> Void

    init(_ relay: @escaping @Sendable (SyncProgress) -> Void) {
        self.relay = relay
    }

    func progress(phase: SyncPhase, done: UInt64, total: UInt64) {
        relay(SyncProgress(phase: phase, done: done, total: total))
    }
}
