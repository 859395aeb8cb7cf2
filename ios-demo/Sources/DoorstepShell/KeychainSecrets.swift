import Foundation
import Security

/// A Keychain call failed; `status` is the `OSStatus` (no secret in it).
public struct KeychainError: Error, Equatable {
    public let status: OSStatus
}

/// The one secret the app keeps, in the iOS Keychain as a generic password,
/// readable after the first unlock and never leaving this device (no iCloud
/// Keychain, no backup restore to another phone): the database key (32 random
/// bytes made on first start, passed to the core as a raw SQLCipher key). The
/// agent's password is kept nowhere: the core keeps a refresh credential in
/// the encrypted database instead.
public struct KeychainSecrets: Sendable {
    private let service: String

    /// Secrets under the Keychain service `service`.
    public init(service: String = "app.doorstep") {
        self.service = service
    }

    /// The database key, made and stored on first use.
    public func databaseKey() throws -> Data {
        if let key = try read(account: "database-key") { return key }
        var key = Data(count: 32)
        let status = key.withUnsafeMutableBytes { SecRandomCopyBytes(kSecRandomDefault, 32, $0.baseAddress!) }
        guard status == errSecSuccess else { throw KeychainError(status: status) }
        try write(account: "database-key", secret: key)
        return key
    }

    /// Deletes the user name and password builds before the refresh
    /// credential saved (nothing to do when there are none).
    public func forgetLegacySignIn() {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: "sign-in",
        ]
        SecItemDelete(query as CFDictionary)
    }

    private func read(account: String) throws -> Data? {
        let query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
            kSecReturnData as String: true,
            kSecMatchLimit as String: kSecMatchLimitOne,
        ]
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = item as? Data else { throw KeychainError(status: status) }
        return data
    }

    private func write(account: String, secret: Data) throws {
        let match: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
        let update: [String: Any] = [
            kSecValueData as String: secret,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        var status = SecItemUpdate(match as CFDictionary, update as CFDictionary)
        if status == errSecItemNotFound {
            status = SecItemAdd(match.merging(update) { $1 } as CFDictionary, nil)
        }
        guard status == errSecSuccess else { throw KeychainError(status: status) }
    }
}
