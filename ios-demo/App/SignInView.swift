import SwiftUI

/// Sign-in: the user name and password go to the core once, which signs in
/// (registering this phone to the agent the first time) and keeps a refresh
/// credential in the encrypted database; the password is kept nowhere, not
/// even in this view once it is done. Shown at first start and whenever the
/// server refused the device's sign-in; the queue waits and syncs right after.
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
                let name = username.trimmingCharacters(in: .whitespaces)
                let typed = password
                password = ""
                Task {
                    do {
                        try await background { try session.signIn(username: name, password: typed) }
                        model.signedIn()
                        dismiss()
                    } catch {
                        self.error = describe(error)
                    }
                }
            }
            .disabled(username.isEmpty || password.isEmpty)
        }
        .navigationTitle("Sign in")
    }
}
