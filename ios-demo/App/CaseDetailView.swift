import DoorstepCore
import SwiftUI

/// A case: the customer, how to reach them, the debt, and the visits on this device.
struct CaseDetailView: View {
    @EnvironmentObject var model: AppModel
    let caseId: String
    @State var detail: CaseDetail?
    @State var openedVisit: String?
    @State var error: String?

    var body: some View {
        List {
            if let error { Text(error).foregroundStyle(.red) }
            if let detail {
                let debt = detail.`case`
                Section {
                    Text(debt.customer.name).font(.title2)
                    Text("\(debt.externalRef) · \(debt.product) · id \(debt.customer.nationalIdMasked)")
                    Text("Overdue \(debt.overdueAmount.text), \(debt.daysPastDue) days · due \(debt.dueDate) · \(words(debt.status))")
                }
                Section("Phones") {
                    ForEach(debt.customer.phones, id: \.self) { phone in Text("\(phone.label): \(phone.number)") }
                }
                Section("Addresses") {
                    ForEach(debt.customer.addresses, id: \.self) { address in
                        Text("\(words(address.kind)): \(address.text)" + (address.location == nil ? " (no registered position)" : ""))
                    }
                }
                Section("Visits") {
                    ForEach(detail.visits, id: \.visitId) { visit in
                        NavigationLink("Visit \(visit.visitId.prefix(8)) · \(words(visit.state))") {
                            VisitFlowView(visitId: visit.visitId)
                        }
                    }
                    Button("Plan a visit") { Task { await planVisit() } }
                }
            }
        }
        .navigationTitle("Case")
        .navigationDestination(item: $openedVisit) { visitId in VisitFlowView(visitId: visitId) }
        .task { await load() }
    }

    private func load() async {
        guard let session = model.session else { return }
        do {
            detail = try await background { try session.doorstep.caseDetail(caseId: caseId) }
        } catch {
            self.error = describe(error)
        }
    }

    private func planVisit() async {
        guard let session = model.session else { return }
        do {
            let visitId = try await background { try session.doorstep.planVisit(caseId: caseId, plannedFor: Date()) }
            await load()
            openedVisit = visitId
        } catch {
            self.error = describe(error)
        }
    }
}
