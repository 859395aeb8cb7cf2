import SwiftUI

/// Sign-in: kept in the Keychain (this device only) for the sync, which
/// checks it against the server. Shows the device id an administrator
/// registers to the user before the first sync.
struct SignInView: View {
    @EnvironmentObject var model: AppModel
    @Environment(\.dismiss) var dismiss
    @State var username = ""
    @State var password = ""
    @State var error: String?

    var body: some View {
        Form {
            if let session = model.session {
                Text("This device: \(session.doorstep.deviceId())").font(.caption)
            }
            TextField("User name", text: $username).textInputAutocapitalization(.never)
            SecureField("Password", text: $password)
            if let error { Text(error).foregroundStyle(.red) }
            Button("Sign in and sync") {
                guard let session = model.session else { return }
                do {
                    try session.signIn(username: username.trimmingCharacters(in: .whitespaces), password: password)
                    model.syncNow()
                    dismiss()
                } catch {
                    self.error = describe(error)
                }
            }
            .disabled(username.isEmpty || password.isEmpty)
        }
        .navigationTitle("Sign in")
    }
}
