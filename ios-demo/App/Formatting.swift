import DoorstepCore
import Foundation

extension DoorstepCore.Label {
    /// The label in the phone's language (Chinese or, otherwise, English).
    var text: String { Locale.current.language.languageCode?.identifier == "zh" ? zhCn : en }
}

extension Money {
    /// The amount in major units, e.g. `CNY 1200.50`.
    var text: String {
        let digits = Self.fractionDigits(currency)
        let major = Decimal(minorUnits) / pow(10, digits)
        return "\(currency) \(major)"
    }

    /// The currency's decimals (2 unless the platform knows otherwise).
    static func fractionDigits(_ currency: String) -> Int {
        let formatter = NumberFormatter()
        formatter.numberStyle = .currency
        formatter.currencyCode = currency
        return formatter.maximumFractionDigits
    }

    /// Typed major units (`1200.50`) in minor units, or nil if not an amount.
    /// Limits and the currency itself are checked by the core.
    static func minorUnits(_ text: String, currency: String) -> Int64? {
        guard let major = Decimal(string: text.trimmingCharacters(in: .whitespaces)) else { return nil }
        var minor = major * pow(10, fractionDigits(currency))
        var rounded = Decimal()
        NSDecimalRound(&rounded, &minor, 0, .plain)
        guard rounded == minor else { return nil }
        return Int64(exactly: NSDecimalNumber(decimal: rounded).int64Value)
    }
}

extension Date {
    /// Short date and time on the phone's clock.
    var text: String { formatted(date: .abbreviated, time: .shortened) }
}

/// An enum case as words: `promiseToPay` -> `promise to pay`.
func words<T>(_ value: T) -> String {
    String(describing: value).replacingOccurrences(of: "([a-z])([A-Z])", with: "$1 $2", options: .regularExpression).lowercased()
}
