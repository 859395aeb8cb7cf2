import DoorstepShell
import SwiftUI

/// The Doorstep iOS app: the sync bar above a navigation stack of the case
/// list, case detail, visit flow and supervisor review, and the sign-in sheet
/// whenever the device must sign in. Thin: every rule is in the core; screens
/// show what it answers.
@main
struct DoorstepApp: App {
    @StateObject private var model = AppModel()

    init() {
        // Before launch ends, as BGTaskScheduler requires.
        BackgroundSync.register { AppModel.openSession.value }
    }

    var body: some Scene {
        WindowGroup {
            VStack(spacing: 0) {
                SyncStatusBar()
                NavigationStack {
                    CaseListView()
                }
            }
            .sheet(isPresented: $model.needsSignIn) {
                NavigationStack { SignInView() }.environmentObject(model)
            }
            .environmentObject(model)
            .task { await model.start() }
        }
    }
}
