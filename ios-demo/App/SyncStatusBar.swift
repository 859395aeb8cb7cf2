import SwiftUI

/// The sync bar above every screen: what waits to be sent, the last success,
/// the last error, the advised retry time and, while a sync runs, its phase
/// and progress. "Sync now" ignores the backoff.
struct SyncStatusBar: View {
    @EnvironmentObject var model: AppModel

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            HStack {
                Text(summary).font(.caption).lineLimit(2)
                Spacer()
                Button("Sync now") { model.syncNow() }.font(.caption)
            }
            if let progress = model.progress {
                if progress.total > 0 {
                    ProgressView(value: Double(progress.done), total: Double(progress.total))
                } else {
                    ProgressView()
                }
                Text("\(words(progress.phase)): \(progress.done) of \(progress.total)").font(.caption2)
            }
        }
        .padding(.horizontal, 12)
        .padding(.vertical, 6)
        .background(.bar)
    }

    private var summary: String {
        guard let status = model.status else { return model.message ?? "…" }
        var parts = ["\(status.pendingOps) to send"]
        if let last = status.lastSuccess { parts.append("synced \(last.text)") }
        if status.rejectedCount > 0 { parts.append("\(status.rejectedCount) refused") }
        if status.deactivated { parts.append("device deactivated") }
        if let error = status.lastError { parts.append("last error: \(error)") }
        if let next = status.nextAttemptAfter { parts.append("retry after \(next.text)") }
        if model.needsSignIn { parts.append("sign in to sync") }
        if let message = model.message { parts.append(message) }
        return parts.joined(separator: " · ")
    }
}
