import DoorstepCore
import SwiftUI

/// The case list: the core's order (most urgent first), filtered by status and
/// by text in the customer's name, the reference, a phone or an address.
struct CaseListView: View {
    @EnvironmentObject var model: AppModel
    @State var status: CaseStatus?
    @State var text = ""
    @State var cases: [CaseSummary] = []
    @State var more = false
    @State var error: String?
    private static let page: UInt32 = 50
    /// Every case status, in the core's order (the generated enum is not CaseIterable).
    private static let statuses: [CaseStatus] = [.new, .inProgress, .submitted, .returned, .completed, .closed]

    var body: some View {
        List {
            Picker("Status", selection: $status) {
                Text("all").tag(CaseStatus?.none)
                ForEach(Self.statuses, id: \.self) { status in
                    Text(words(status)).tag(CaseStatus?.some(status))
                }
            }
            if let error { Text(error).foregroundStyle(.red) }
            ForEach(cases, id: \.id) { summary in
                NavigationLink(value: summary.id) {
                    VStack(alignment: .leading) {
                        Text(summary.customerName).font(.headline)
                        Text("\(summary.externalRef) · \(summary.overdueAmount.text) · \(summary.daysPastDue) days (\(words(summary.bucket)))")
                        Text("due \(summary.dueDate) · priority \(summary.priority) · \(words(summary.status))").font(.caption)
                    }
                }
            }
            if more { Button("More") { Task { await load(append: true) } } }
        }
        .searchable(text: $text, prompt: "Name, reference, phone, address")
        .navigationTitle("Cases")
        .navigationDestination(for: String.self) { caseId in CaseDetailView(caseId: caseId) }
        .toolbar {
            NavigationLink("Sign in") { SignInView() }
            NavigationLink("Review") { ReviewQueueView() }
        }
        .task(id: "\(String(describing: status))|\(text)|\(model.session != nil)") { await load(append: false) }
        .refreshable { await load(append: false) }
    }

    private func load(append: Bool) async {
        guard let session = model.session else { return }
        let query = CaseQuery(status: status, bucket: nil, text: text.isEmpty ? nil : text,
                              limit: Self.page, offset: append ? UInt32(cases.count) : 0)
        do {
            let found = try await background { try session.doorstep.listCases(query: query) }
            cases = append ? cases + found : found
            more = found.count == Int(Self.page)
            error = nil
        } catch {
            self.error = describe(error)
        }
    }
}
