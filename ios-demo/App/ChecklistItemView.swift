import DoorstepCore
import SwiftUI

/// One checklist item, drawn from its template kind: yes/no, single and
/// multiple choice, integer, money, text, date, photo and signature. The
/// limits shown come from the template; whether an answer fits them is the
/// core's answer (`invalid_answer` with a reason).
struct ChecklistItemView: View {
    let item: ChecklistItem
    let current: AnswerValue?
    /// How many attachments the visit has for this item.
    let attached: Int
    let answer: (AnswerValue) -> Void
    let clear: () -> Void
    let takePhoto: () -> Void
    let sign: (Data) -> Void
    @State var typed = ""

    var body: some View {
        VStack(alignment: .leading, spacing: 6) {
            Text(item.label.text + (item.required ? " *" : "")).font(.subheadline.bold())
            if let help = item.help { Text(help.text).font(.caption) }
            if let condition = item.visibleWhen { Text("Asked only when \(describe(condition))").font(.caption2) }
            field
            if current != nil { Button("Clear answer", role: .destructive, action: clear).font(.caption) }
        }
        .onAppear { typed = shown }
    }

    @ViewBuilder private var field: some View {
        switch item.kind {
        case .yesNo:
            Picker("", selection: Binding<Bool?>(
                get: { if case .yesNo(let value) = current { return value } else { return Bool?.none } },
                set: { if let value = $0 { answer(.yesNo(value)) } }
            )) {
                Text("Yes").tag(Bool?.some(true))
                Text("No").tag(Bool?.some(false))
            }
            .pickerStyle(.segmented)
        case .singleChoice(let options):
            ForEach(options, id: \.id) { option in
                let chosen: Bool = { if case .choice(let id) = current { return id == option.id } else { return false } }()
                Button { answer(.choice(option.id)) } label: {
                    SwiftUI.Label(option.label.text, systemImage: chosen ? "largecircle.fill.circle" : "circle")
                }
            }
        case .multipleChoice(let options, let minSelected, let maxSelected):
            let chosen: [String] = { if case .choices(let ids) = current { return ids } else { return [] } }()
            Text("Choose \(minSelected) to \(maxSelected)").font(.caption2)
            ForEach(options, id: \.id) { option in
                Button {
                    answer(.choices(chosen.contains(option.id) ? chosen.filter { $0 != option.id } : chosen + [option.id]))
                } label: {
                    SwiftUI.Label(option.label.text, systemImage: chosen.contains(option.id) ? "checkmark.square" : "square")
                }
            }
        case .integer(let min, let max):
            typedField(hint: "\(min) to \(max)") { Int64($0.trimmingCharacters(in: .whitespaces)).map(AnswerValue.integer) }
        case .money(let currency, _, _):
            typedField(hint: currency) { text in
                Money.minorUnits(text, currency: currency).map { .money(Money(minorUnits: $0, currency: currency)) }
            }
        case .text(let maxChars):
            typedField(hint: "at most \(maxChars) characters") { .text($0) }
        case .date(let notBefore, let notAfter):
            typedField(hint: [notBefore.map { "from \($0)" }, notAfter.map { "until \($0)" }].compactMap { $0 }.joined(separator: " ")
                .ifEmpty("YYYY-MM-DD")) { .date($0.trimmingCharacters(in: .whitespaces)) }
        case .photo(let minCount, let maxCount):
            HStack {
                Text("\(attached) photo(s); \(minCount) to \(maxCount)")
                Button("Take photo", action: takePhoto)
            }
        case .signature:
            if attached > 0 { Text("Signed (\(attached))") }
            SignaturePad(onSigned: sign)
        }
    }

    private func typedField(hint: String, parse: @escaping (String) -> AnswerValue?) -> some View {
        HStack {
            TextField(hint, text: $typed)
            Button("Save") { if let value = parse(typed) { answer(value) } }
        }
    }

    /// The current answer as typed text, for the text-like kinds.
    private var shown: String {
        switch current {
        case .integer(let value): return String(value)
        case .money(let money): return String(money.text.split(separator: " ").last ?? "")
        case .text(let text): return text
        case .date(let date): return date
        default: return ""
        }
    }

    private func describe(_ condition: Condition) -> String {
        switch condition {
        case .answered(let item): return "\"\(item)\" is answered"
        case .yesNoEquals(let item, let value): return "\"\(item)\" is \(value ? "yes" : "no")"
        case .choiceIn(let item, let options): return "\"\(item)\" is one of \(options.joined(separator: ", "))"
        case .choicesContain(let item, let option): return "\"\(item)\" includes \(option)"
        }
    }
}

private extension String {
    func ifEmpty(_ fallback: String) -> String { isEmpty ? fallback : self }
}
