import DoorstepCore
import SwiftUI

/// Records the notice given to the customer: how, when it was given, when the
/// visit is planned, the purpose, and whether the customer acknowledged it.
/// Whether the notice is timely enough is the core's policy, checked at check-in.
struct NoticeForm: View {
    let record: (Notice) -> Void
    @State var channel: NoticeChannel = .phoneCall
    @State var givenAt = Date()
    @State var plannedAt = Date()
    @State var purpose = ""
    @State var acknowledged = false

    /// The channels, in the order the agent sees them.
    private static let channels: [NoticeChannel] = [.phoneCall, .sms, .letter, .inPerson]

    var body: some View {
        Picker("Channel", selection: $channel) {
            ForEach(Self.channels, id: \.self) { Text(words($0)).tag($0) }
        }
        DatePicker("Given at", selection: $givenAt)
        DatePicker("Visit planned at", selection: $plannedAt)
        TextField("Purpose", text: $purpose)
        Toggle("Customer acknowledged", isOn: $acknowledged)
        Button("Record notice") {
            record(Notice(channel: channel, givenAt: givenAt, plannedVisitAt: plannedAt, purpose: purpose,
                          acknowledged: acknowledged))
        }
    }
}
