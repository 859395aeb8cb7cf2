//! Whether a customer kept a promise to pay, judged against the repayments the
//! bank received for the account.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::outcome::PromiseToPay;
use crate::money::Money;

/// A repayment the bank received for an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repayment {
    /// The account's reference (the case's `external_ref`).
    pub account_ref: String,
    /// The day it was paid.
    pub paid_on: NaiveDate,
    /// How much.
    pub amount: Money,
}

/// How a promise to pay stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PromiseKeeping {
    /// Not yet due, and not yet paid in full.
    Pending,
    /// Paid in full by the due date.
    Kept,
    /// Due, and paid only in part by the due date.
    PartlyKept,
    /// Due, and nothing paid by the due date.
    Broken,
}

impl PromiseKeeping {
    /// Stable code, as shown and exported.
    pub fn code(self) -> &'static str {
        match self {
            PromiseKeeping::Pending => "pending",
            PromiseKeeping::Kept => "kept",
            PromiseKeeping::PartlyKept => "partly_kept",
            PromiseKeeping::Broken => "broken",
        }
    }

    /// Whether the promise has been judged (no longer pending).
    pub fn is_decided(self) -> bool {
        self != PromiseKeeping::Pending
    }

    /// How a promise made on `made_on` stands on `today`, given the account's
    /// repayments: what was paid in the promise's currency from the day it
    /// was made through its due date counts; paid in full is kept even
    /// before the due date.
    pub fn of(
        promise: &PromiseToPay,
        made_on: NaiveDate,
        repayments: &[Repayment],
        today: NaiveDate,
    ) -> PromiseKeeping {
        let paid: i64 = repayments
            .iter()
            .filter(|r| r.amount.currency == promise.amount.currency)
            .filter(|r| r.paid_on >= made_on && r.paid_on <= promise.due_on)
            .map(|r| r.amount.minor_units.max(0))
            .fold(0_i64, i64::saturating_add);
        if paid >= promise.amount.minor_units {
            PromiseKeeping::Kept
        } else if today <= promise.due_on {
            PromiseKeeping::Pending
        } else if paid > 0 {
            PromiseKeeping::PartlyKept
        } else {
            PromiseKeeping::Broken
        }
    }
}

/// The share of decided promises that were kept, in percent, if any was
/// decided: partly kept ones count as not kept.
pub fn kept_rate(keepings: impl IntoIterator<Item = PromiseKeeping>) -> Option<u32> {
    let (mut decided, mut kept) = (0_u64, 0_u64);
    for keeping in keepings {
        if keeping.is_decided() {
            decided += 1;
            kept += u64::from(keeping == PromiseKeeping::Kept);
        }
    }
    (decided > 0).then(|| u32::try_from(kept * 100 / decided).unwrap_or(100))
}

#[cfg(test)]
#[path = "promise_tests.rs"]
mod tests;
