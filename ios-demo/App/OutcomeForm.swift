import DoorstepCore
import SwiftUI

/// The visit's outcome: a code, a promise to pay or a repayment plan when the
/// agent fills them in, the two 1–5 ratings and a summary. Which parts a code
/// needs is the core's rule: it refuses an incomplete outcome with a reason.
struct OutcomeForm: View {
    let currency: String
    let save: (Outcome) -> Void
    @State var code: OutcomeCode = .promiseToPay
    @State var promiseAmount = ""
    @State var promiseDue = ""
    @State var instalments = ""
    @State var instalmentAmount = ""
    @State var firstDue = ""
    @State var ability: Rating?
    @State var willingness: Rating?
    @State var summary = ""
    @State var problem: String?

    /// The codes, in the order the agent sees them.
    private static let codes: [OutcomeCode] = [.promiseToPay, .repaymentPlan, .hardshipDeferral, .dispute, .refused, .notHome, .moved]

    var body: some View {
        Picker("Outcome", selection: $code) {
            ForEach(Self.codes, id: \.self) { Text(words($0)).tag($0) }
        }
        TextField("Promise: amount (\(currency))", text: $promiseAmount).keyboardType(.decimalPad)
        TextField("Promise: due on (YYYY-MM-DD)", text: $promiseDue)
        TextField("Plan: instalments", text: $instalments).keyboardType(.numberPad)
        TextField("Plan: instalment amount (\(currency))", text: $instalmentAmount).keyboardType(.decimalPad)
        TextField("Plan: first due on (YYYY-MM-DD)", text: $firstDue)
        ratingPicker("Ability to repay", $ability)
        ratingPicker("Willingness to repay", $willingness)
        TextField("Summary", text: $summary, axis: .vertical)
        if let problem { Text(problem).foregroundStyle(.red) }
        Button("Save outcome") {
            var promise: PromiseToPay?
            if !promiseAmount.isEmpty {
                guard let minor = Money.minorUnits(promiseAmount, currency: currency) else { problem = "the amount is not a number"; return }
                promise = PromiseToPay(amount: Money(minorUnits: minor, currency: currency), dueOn: promiseDue)
            }
            var plan: RepaymentPlan?
            if !instalments.isEmpty {
                guard let count = UInt32(instalments), let minor = Money.minorUnits(instalmentAmount, currency: currency) else {
                    problem = "the plan's count or amount is not a number"
                    return
                }
                plan = RepaymentPlan(instalments: count, instalmentAmount: Money(minorUnits: minor, currency: currency), firstDueOn: firstDue)
            }
            problem = nil
            save(Outcome(code: code, promise: promise, plan: plan, abilityToRepay: ability,
                         willingnessToRepay: willingness, summary: summary))
        }
    }

    private func ratingPicker(_ title: String, _ value: Binding<Rating?>) -> some View {
        Picker(title, selection: value) {
            Text("–").tag(Rating?.none)
            ForEach(1...5, id: \.self) { rating in Text("\(rating)").tag(Rating?.some(Rating(rating))) }
        }
        .pickerStyle(.segmented)
    }
}
