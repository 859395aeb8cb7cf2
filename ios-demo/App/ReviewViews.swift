import DoorstepCore
import DoorstepShell
import SwiftUI
import UIKit

/// A submitted visit waiting for the supervisor, with its case.
struct PendingReview {
    let caseFile: Case
    let visitId: String
}

/// The supervisor's queue: the visits of the team's cases this device pulled
/// that wait for review, as the core lists them (oldest submission first).
struct ReviewQueueView: View {
    @EnvironmentObject var model: AppModel
    @State var pending: [PendingReview] = []
    @State var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            if pending.isEmpty { Text("Nothing submitted. Sync to fetch the team's visits.") }
            ForEach(pending, id: \.visitId) { item in
                NavigationLink {
                    ReviewDetailView(visitId: item.visitId)
                } label: {
                    VStack(alignment: .leading) {
                        Text(item.caseFile.customer.name).font(.headline)
                        Text("\(item.caseFile.externalRef) · \(item.caseFile.overdueAmount.text)")
                    }
                }
            }
        }
        .navigationTitle("Review")
        .task { await load() }
        .refreshable { await load() }
    }

    private func load() async {
        guard let session = model.session else { return }
        do {
            pending = try await background {
                try session.doorstep.reviewQueue().map { visit in
                    PendingReview(caseFile: try session.doorstep.caseDetail(caseId: visit.caseId).case, visitId: visit.id)
                }
            }
            error = nil
        } catch {
            self.error = describe(error)
        }
    }
}

/// One submitted visit as the supervisor reviews it: the core's visit report
/// (check-in flags, answers, problems, notes, photos, outcome, timeline, and
/// whether the visit's event log verified), then approve, or return with a
/// reason code and comment. The server checks and records the decision.
struct ReviewDetailView: View {
    @EnvironmentObject var model: AppModel
    let visitId: String
    @State var report: VisitReport?
    @State var reasonCode = ""
    @State var comment = ""
    @State var busy = false
    @State var error: String?
    @State var done: String?

    var body: some View {
        Form {
            if let error { Text(error).foregroundStyle(.red) }
            if let done { Text(done).foregroundStyle(.green) }
            if let report {
                let visit = report.visit
                Section {
                    Text(report.`case`.customer.name).font(.title2)
                    Text("\(report.`case`.externalRef) · \(words(visit.state)) · submission \(visit.submissions)")
                    switch report.log {
                    case .intact(let chains): Text("Event log verified (\(chains.count) device chain(s))")
                    case .broken(let index, let reason):
                        Text("Event log BROKEN at entry \(index): \(words(reason))").foregroundStyle(.red)
                    }
                    if let check = visit.checkIn { SiteCheckLine(title: "Check-in", check: check) }
                }
                Section("Answers") {
                    ForEach(report.answers, id: \.itemId) { answer in Text("\(answer.label.text): \(show(answer.value))") }
                    ForEach(report.checklistProblems, id: \.self) { problem in
                        Text("\(problem.itemId): \(words(problem.reason))").foregroundStyle(.red)
                    }
                }
                Section("Notes") {
                    ForEach(report.notes, id: \.id) { note in Text("\(note.writtenAt.text): \(note.text)") }
                }
                Section("Photos and signatures") {
                    ForEach(report.attachments, id: \.id) { attachment in AttachmentImage(attachment: attachment) }
                }
                if let outcome = visit.outcome {
                    Section("Outcome") {
                        Text("\(words(outcome.code)) — \(outcome.summary)")
                        if let promise = outcome.promise { Text("Promise \(promise.amount.text) by \(promise.dueOn)") }
                        if let plan = outcome.plan {
                            Text("Plan \(plan.instalments) × \(plan.instalmentAmount.text) from \(plan.firstDueOn)")
                        }
                    }
                }
                Section("Timeline") {
                    ForEach(Array(report.timeline.enumerated()), id: \.offset) { _, entry in
                        Text("\(entry.at.text) \(entry.kind)").font(.caption)
                    }
                }
                Section("Decision") {
                    Button("Approve") { decide(.approve) }.disabled(busy)
                    TextField("Reason code, e.g. missing_photos", text: $reasonCode).textInputAutocapitalization(.never)
                    TextField("Comment for the agent", text: $comment, axis: .vertical)
                    Button("Return to agent") { decide(.return(reasonCode: reasonCode, comment: comment)) }.disabled(busy)
                }
            }
        }
        .navigationTitle("Review")
        .task { await load() }
    }

    private func load() async {
        guard let session = model.session else { return }
        do {
            report = try await background { try session.doorstep.visitReport(visitId: visitId) }
        } catch {
            self.error = describe(error)
        }
    }

    private func decide(_ decision: ReviewDecision) {
        guard let session = model.session else { return }
        busy = true
        let visitId = visitId
        Task {
            do {
                // Through the core: the decision is in the visit at once.
                try await background { try session.review(visitId: visitId, decision: decision) }
                done = "sent"
                error = nil
                await load()
            } catch {
                self.error = describe(error)
                done = nil
            }
            busy = false
            await model.refreshStatus()
        }
    }

    private func show(_ value: AnswerValue) -> String {
        switch value {
        case .yesNo(let yes): return yes ? "yes" : "no"
        case .choice(let id): return id
        case .choices(let ids): return ids.joined(separator: ", ")
        case .integer(let number): return String(number)
        case .money(let money): return money.text
        case .text(let text): return text
        case .date(let date): return date
        }
    }
}

/// A photo or signature, read from the encrypted store off the main actor.
struct AttachmentImage: View {
    @EnvironmentObject var model: AppModel
    let attachment: Attachment
    @State var image: UIImage?

    var body: some View {
        VStack(alignment: .leading) {
            Text("\(attachment.kind == .signature ? "signature" : "photo") · \(attachment.takenAt.text) · \(attachment.sizeBytes / 1024) KB")
            if let image { Image(uiImage: image).resizable().scaledToFit().frame(maxHeight: 200) }
        }
        .task {
            guard let session = model.session else { return }
            let sha256 = attachment.sha256
            if let bytes = try? await background({ try session.doorstep.attachmentBytes(sha256: sha256) }) {
                image = UIImage(data: bytes)
            }
        }
    }
}
