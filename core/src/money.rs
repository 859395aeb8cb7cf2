//! Money as integer minor units plus an ISO 4217 currency code. Never floating point.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of money: integer minor units (fen, cents) and a currency code.
///
/// `Money { minor_units: 123_45, currency: "CNY".into() }` is ¥123.45.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in the currency's minor unit (for CNY: fen).
    pub minor_units: i64,
    /// ISO 4217 alphabetic code, three upper-case ASCII letters.
    pub currency: String,
}

/// Why a [`Money`] value was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The currency is not three upper-case ASCII letters.
    #[error("currency code must be three upper-case letters")]
    InvalidCurrency,
    /// The amount is negative where only amounts of zero or more make sense.
    #[error("amount must not be negative")]
    Negative,
}

impl Money {
    /// Builds a money value after checking the currency code.
    pub fn new(minor_units: i64, currency: &str) -> Result<Self, MoneyError> {
        let money = Money {
            minor_units,
            currency: currency.to_owned(),
        };
        money.check()?;
        Ok(money)
    }

    /// Checks the currency code is well formed.
    pub fn check(&self) -> Result<(), MoneyError> {
        let code = self.currency.as_bytes();
        if code.len() == 3 && code.iter().all(u8::is_ascii_uppercase) {
            Ok(())
        } else {
            Err(MoneyError::InvalidCurrency)
        }
    }

    /// Checks the currency code and that the amount is zero or more.
    pub fn check_non_negative(&self) -> Result<(), MoneyError> {
        self.check()?;
        if self.minor_units < 0 {
            return Err(MoneyError::Negative);
        }
        Ok(())
    }
}

impl fmt::Display for Money {
    /// Shows the amount with two decimal places, which holds for every currency
    /// Doorstep is deployed with (CNY, HKD, USD, EUR).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.minor_units < 0 { "-" } else { "" };
        let abs = self.minor_units.unsigned_abs();
        write!(f, "{sign}{}.{:02} {}", abs / 100, abs % 100, self.currency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_must_be_three_upper_case_letters() {
        assert!(Money::new(100, "CNY").is_ok());
        for bad in ["cny", "CN", "CNYY", "", "C1Y", "人民币"] {
            assert_eq!(
                Money::new(1, bad),
                Err(MoneyError::InvalidCurrency),
                "{bad}"
            );
        }
    }

    #[test]
    fn negative_amounts_are_refused_where_asked() {
        let owed = Money::new(-5, "CNY").unwrap();
        assert_eq!(owed.check_non_negative(), Err(MoneyError::Negative));
    }

    #[test]
    fn displays_minor_units_without_rounding() {
        assert_eq!(
            Money::new(1_234_567, "CNY").unwrap().to_string(),
            "12345.67 CNY"
        );
        assert_eq!(Money::new(-5, "USD").unwrap().to_string(), "-0.05 USD");
        assert_eq!(
            Money::new(i64::MIN, "USD").unwrap().to_string(),
            "-92233720368547758.08 USD"
        );
    }
}
