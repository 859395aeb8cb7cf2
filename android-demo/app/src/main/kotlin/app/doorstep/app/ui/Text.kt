package app.doorstep.app.ui

import app.doorstep.core.Label
import app.doorstep.core.Money
import java.math.BigDecimal
import java.time.Instant
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle
import java.util.Currency
import java.util.Locale

/** A template label in the phone's language (Chinese or, otherwise, English). */
fun Label.text(): String = if (Locale.getDefault().language == "zh") zhCn else en

/** An amount in the currency's major units, e.g. `CNY 1,200.50`. */
fun Money.text(): String {
    val digits = runCatching { Currency.getInstance(currency).defaultFractionDigits }.getOrDefault(2).coerceAtLeast(0)
    return "$currency ${BigDecimal.valueOf(minorUnits, digits).toPlainString()}"
}

/**
 * Typed major units (`1200.50`) in minor units for [currency], or null when
 * the text is not an amount with at most the currency's decimals. Limits and
 * the currency itself are checked by the core.
 */
fun minorUnits(text: String, currency: String): Long? {
    val digits = runCatching { Currency.getInstance(currency).defaultFractionDigits }.getOrDefault(2).coerceAtLeast(0)
    return runCatching { BigDecimal(text.trim()).movePointRight(digits).longValueExact() }.getOrNull()
}

/** An instant on the phone's clock, for display. */
fun Instant.text(): String =
    DateTimeFormatter.ofLocalizedDateTime(FormatStyle.SHORT).withZone(ZoneId.systemDefault()).format(this)

/** An enum constant as words: `PROMISE_TO_PAY` -> `promise to pay`. */
fun Enum<*>.words(): String = name.lowercase().replace('_', ' ')
