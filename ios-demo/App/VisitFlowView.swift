import DoorstepCore
import SwiftUI

/// The visit flow on one scrolling form, in the order an agent works:
/// notice, check-in (with the phone's position), the checklist, notes,
/// photos, the outcome, check-out and submit. Each step is one core call off
/// the main actor, then a fresh read of the visit report; a refused step
/// shows the core's code and reason.
struct VisitFlowView: View {
    @EnvironmentObject var model: AppModel
    let visitId: String
    @State var report: VisitReport?
    @State var checklist: ChecklistTemplate?
    /// The checklist items shown for the answers so far (the core evaluates the conditions).
    @State var visibleItems: [ChecklistItem] = []
    /// What the visit's state allows now (the core's state machine).
    @State var allowed: [VisitAction] = []
    @State var siteCheck: SiteCheck?
    @State var error: String?
    @State var done: String?
    @State var note = ""
    @State var photoFor: PhotoTarget?
    @State var location: LocationReader?

    /// What a photo belongs to: a photo item, or the visit.
    struct PhotoTarget: Identifiable {
        let itemId: String?
        var id: String { itemId ?? "visit" }
    }

    var body: some View {
        Form {
            if let error { Text(error).foregroundStyle(.red) }
            if let done { Text(done).foregroundStyle(.green) }
            if let report {
                let visit = report.visit
                Section {
                    Text(report.`case`.customer.name).font(.title2)
                    Text("Visit · \(words(visit.state)) · submitted \(visit.submissions) time(s)")
                    if let review = visit.reviews.last, case .return(let reasonCode, let comment) = review.decision {
                        Text("Returned: \(reasonCode) — \(comment)").foregroundStyle(.red)
                    }
                }
                Section("Notice") {
                    ForEach(visit.notices, id: \.self) { notice in
                        Text("\(words(notice.channel)) at \(notice.givenAt.text) for \(notice.plannedVisitAt.text)"
                             + (notice.acknowledged ? " (acknowledged)" : ""))
                    }
                    if allowed.contains(.recordNotice) {
                        NoticeForm { notice in act("notice recorded") { doorstep in try doorstep.recordNotice(visitId: visitId, notice: notice) } }
                    }
                }
                Section("Check-in") {
                    if let check = visit.checkIn { SiteCheckLine(title: "Checked in", check: check) }
                    if let siteCheck { SiteCheckLine(title: "Last check", check: siteCheck) }
                    if allowed.contains(.checkIn) {
                        Button("Check in here") { withFix { fix in act("checked in") { doorstep in siteCheckDone(try doorstep.checkIn(visitId: visitId, fix: fix)) } } }
                    }
                }
                if let checklist {
                    Section("Checklist: \(checklist.title.text) (v\(checklist.version))") {
                        ForEach(report.checklistProblems, id: \.self) { problem in
                            Text("\(problem.itemId): \(words(problem.reason))").foregroundStyle(.red)
                        }
                        ForEach(visibleItems, id: \.id) { item in
                            ChecklistItemView(
                                item: item,
                                current: report.answers.first { $0.itemId == item.id }?.value,
                                attached: report.attachments.filter { $0.link == .checklistItem(itemId: item.id) }.count,
                                answer: { value in act("saved") { doorstep in try doorstep.answer(visitId: visitId, itemId: item.id, value: value) } },
                                clear: { act("cleared") { doorstep in try doorstep.clearAnswer(visitId: visitId, itemId: item.id) } },
                                takePhoto: { photoFor = PhotoTarget(itemId: item.id) },
                                sign: { png in
                                    act("signature attached") { doorstep in
                                        _ = try doorstep.attach(visitId: visitId, kind: .signature, mimeType: "image/png", bytes: png,
                                                          link: .checklistItem(itemId: item.id))
                                    }
                                }
                            )
                        }
                    }
                }
                Section("Notes") {
                    ForEach(report.notes, id: \.id) { note in Text("\(note.writtenAt.text): \(note.text)") }
                    TextField("Interview note", text: $note, axis: .vertical)
                    Button("Add note") {
                        let text = note
                        note = ""
                        act("note added") { doorstep in _ = try doorstep.addNote(visitId: visitId, text: text) }
                    }
                    .disabled(!allowed.contains(.edit) || note.trimmingCharacters(in: .whitespaces).isEmpty)
                }
                Section("Photos") {
                    Text("\(report.attachments.filter { $0.link == .visit }.count) photo(s) of the visit")
                    Button("Take photo") { photoFor = PhotoTarget(itemId: nil) }
                        .disabled(!allowed.contains(.edit))
                }
                Section("Outcome") {
                    if let outcome = visit.outcome { Text("Saved: \(words(outcome.code)) — \(outcome.summary)") }
                    OutcomeForm(currency: report.`case`.overdueAmount.currency) { outcome in
                        act("outcome saved") { doorstep in try doorstep.setOutcome(visitId: visitId, outcome: outcome) }
                    }
                }
                Section("Finish") {
                    if let check = visit.checkOut { SiteCheckLine(title: "Checked out", check: check) }
                    Button("Check out") { withFix { fix in act("checked out") { doorstep in siteCheckDone(try doorstep.checkOut(visitId: visitId, fix: fix)) } } }
                        .disabled(!allowed.contains(.checkOut))
                    Button("Submit") { act("submitted") { doorstep in try doorstep.submit(visitId: visitId) } }
                        .disabled(!allowed.contains(.submit))
                    if report.unsyncedEntries > 0 { Text("\(report.unsyncedEntries) change(s) not yet sent").font(.caption) }
                }
            }
        }
        .navigationTitle("Visit")
        .sheet(item: $photoFor) { target in
            CameraPicker { jpeg in
                act("photo attached") { doorstep in
                    _ = try doorstep.attach(visitId: visitId, kind: .photo, mimeType: "image/jpeg", bytes: jpeg,
                                      link: target.itemId.map { .checklistItem(itemId: $0) } ?? .visit)
                }
            }
        }
        .task { act(nil) { _ in } }
    }

    /// What the form shows, read from the core in one go.
    private struct Read: Sendable {
        let report: VisitReport
        let checklist: ChecklistTemplate
        let visibleItems: [ChecklistItem]
        let allowed: [VisitAction]
    }

    /// One core call off the main actor, then a fresh read of the report,
    /// the checklist, the items shown and the actions allowed.
    private func act(_ confirmation: String?, _ action: @escaping @Sendable (Doorstep) throws -> Void) {
        guard let session = model.session else { return }
        let visitId = visitId
        Task {
            do {
                let read = try await background {
                    try action(session.doorstep)
                    let doorstep = session.doorstep
                    return Read(report: try doorstep.visitReport(visitId: visitId),
                                checklist: try doorstep.checklist(visitId: visitId),
                                visibleItems: try doorstep.visibleItems(visitId: visitId),
                                allowed: try doorstep.allowedActions(visitId: visitId))
                }
                report = read.report
                checklist = read.checklist
                visibleItems = read.visibleItems
                allowed = read.allowed
                error = nil
                done = confirmation
            } catch {
                self.error = describe(error)
                done = nil
                if let fresh = try? await background({ try session.doorstep.visitReport(visitId: visitId) }) { report = fresh }
            }
            await model.refreshStatus()
        }
    }

    /// Keeps the core's assessment of a check-in or check-out to show it.
    private func siteCheckDone(_ check: SiteCheck) {
        Task { @MainActor in siteCheck = check }
    }

    /// Gets a position fix, then runs `then` with it.
    private func withFix(_ then: @escaping (GpsFix) -> Void) {
        Task { @MainActor in
            let reader = location ?? LocationReader()
            location = reader
            do {
                then(try await reader.currentFix())
            } catch {
                self.error = "no position: \(error.localizedDescription)"
            }
        }
    }
}

/// A check-in or -out as the core assessed it: distance to the address and flags.
struct SiteCheckLine: View {
    let title: String
    let check: SiteCheck

    var body: some View {
        let distance = check.distanceM.map { "\(Int($0)) m from the address" } ?? "no registered position"
        let flags = check.flags.isEmpty ? "" : " · flagged: " + check.flags.map { words($0) }.joined(separator: ", ")
        Text("\(title) \(check.at.text) · \(distance) · accuracy \(Int(check.fix.accuracyM)) m\(flags)")
    }
}
