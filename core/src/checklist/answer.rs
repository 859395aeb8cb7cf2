//! Answers to checklist items, and the problems validation reports about them.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// The answer to one non-attachment item.
///
/// JSON is adjacently tagged: `{"type": "yes_no", "value": true}`,
/// `{"type": "choice", "value": "rented"}`, `{"type": "choices", "value": ["a", "b"]}`,
/// `{"type": "integer", "value": 4}`,
/// `{"type": "money", "value": {"minor_units": 650000, "currency": "CNY"}}`,
/// `{"type": "text", "value": "..."}`, `{"type": "date", "value": "2025-03-01"}`.
///
/// Photos and signatures are not answer values: they are attachments linked to
/// their item, counted in [`AnswerSheet::attachments`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum AnswerValue {
    /// Answer to a yes/no item.
    YesNo(bool),
    /// The option id chosen for a single-choice item.
    Choice(String),
    /// The option ids chosen for a multiple-choice item.
    Choices(Vec<String>),
    /// Answer to an integer item.
    Integer(i64),
    /// Answer to a money item.
    Money(Money),
    /// Answer to a text item.
    Text(String),
    /// Answer to a date item.
    Date(NaiveDate),
}

/// All answers of one visit's checklist, keyed by item id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnswerSheet {
    /// Item id → answer, for items answered with a value.
    #[serde(default)]
    pub values: BTreeMap<String, AnswerValue>,
    /// Item id → number of attachments (photos, signature) linked to that item.
    /// A count of zero is the same as no entry.
    #[serde(default)]
    pub attachments: BTreeMap<String, u32>,
}

impl AnswerSheet {
    /// An empty sheet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) the answer to an item.
    pub fn set(&mut self, item_id: impl Into<String>, value: AnswerValue) -> &mut Self {
        self.values.insert(item_id.into(), value);
        self
    }

    /// Sets how many attachments are linked to an item.
    pub fn set_attachments(&mut self, item_id: impl Into<String>, count: u32) -> &mut Self {
        self.attachments.insert(item_id.into(), count);
        self
    }
}

/// Why an item's answer is not acceptable. Serializes as its [`code`](Self::code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemReason {
    /// A required, shown item has no answer (or blank text, or an empty selection).
    Missing,
    /// The item id is not in the template.
    UnknownItem,
    /// The answer is of another kind than the item (a value for a photo or
    /// signature item, attachments for any other item).
    WrongKind,
    /// A number, amount or date outside the item's limits.
    OutOfRange,
    /// Text longer than the item allows, counted in characters.
    TooLong,
    /// A chosen option id the item does not offer.
    UnknownOption,
    /// Fewer options selected than the item requires.
    TooFewSelected,
    /// More options selected than the item allows.
    TooManySelected,
    /// The same option selected more than once.
    DuplicateOption,
    /// Fewer attachments than the item requires.
    TooFewAttachments,
    /// More attachments than the item allows.
    TooManyAttachments,
    /// A money answer whose currency code is malformed.
    InvalidCurrency,
    /// A money answer in another currency than the item's.
    CurrencyMismatch,
}

impl ProblemReason {
    /// Every reason, in declaration order.
    pub const ALL: [ProblemReason; 13] = [
        ProblemReason::Missing,
        ProblemReason::UnknownItem,
        ProblemReason::WrongKind,
        ProblemReason::OutOfRange,
        ProblemReason::TooLong,
        ProblemReason::UnknownOption,
        ProblemReason::TooFewSelected,
        ProblemReason::TooManySelected,
        ProblemReason::DuplicateOption,
        ProblemReason::TooFewAttachments,
        ProblemReason::TooManyAttachments,
        ProblemReason::InvalidCurrency,
        ProblemReason::CurrencyMismatch,
    ];

    /// Stable snake_case code for clients, logs and the wire.
    pub fn code(self) -> &'static str {
        match self {
            ProblemReason::Missing => "missing",
            ProblemReason::UnknownItem => "unknown_item",
            ProblemReason::WrongKind => "wrong_kind",
            ProblemReason::OutOfRange => "out_of_range",
            ProblemReason::TooLong => "too_long",
            ProblemReason::UnknownOption => "unknown_option",
            ProblemReason::TooFewSelected => "too_few_selected",
            ProblemReason::TooManySelected => "too_many_selected",
            ProblemReason::DuplicateOption => "duplicate_option",
            ProblemReason::TooFewAttachments => "too_few_attachments",
            ProblemReason::TooManyAttachments => "too_many_attachments",
            ProblemReason::InvalidCurrency => "invalid_currency",
            ProblemReason::CurrencyMismatch => "currency_mismatch",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|reason| reason.code() == code)
    }
}

impl fmt::Display for ProblemReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One problem with one item of an answer sheet. Carries the item id and a reason,
/// never the answer itself, so it is safe to log and to send.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, thiserror::Error)]
#[error("checklist item {item_id}: {reason}")]
pub struct ItemProblem {
    /// The item concerned (for `unknown_item`, the id as given).
    pub item_id: String,
    /// What is wrong.
    pub reason: ProblemReason,
}

impl ItemProblem {
    /// Builds a problem.
    pub fn new(item_id: impl Into<String>, reason: ProblemReason) -> Self {
        ItemProblem {
            item_id: item_id.into(),
            reason,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answer_values_use_type_and_value() {
        let cases = [
            (
                AnswerValue::YesNo(true),
                json!({"type": "yes_no", "value": true}),
            ),
            (
                AnswerValue::Choice("rented".into()),
                json!({"type": "choice", "value": "rented"}),
            ),
            (
                AnswerValue::Choices(vec!["a".into(), "b".into()]),
                json!({"type": "choices", "value": ["a", "b"]}),
            ),
            (
                AnswerValue::Integer(i64::MIN),
                json!({"type": "integer", "value": i64::MIN}),
            ),
            (
                AnswerValue::Money(Money::new(650_000, "CNY").unwrap()),
                json!({"type": "money", "value": {"minor_units": 650_000, "currency": "CNY"}}),
            ),
            (
                AnswerValue::Text("'; DROP TABLE visits; -- 你好 👋".into()),
                json!({"type": "text", "value": "'; DROP TABLE visits; -- 你好 👋"}),
            ),
            (
                AnswerValue::Date(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap()),
                json!({"type": "date", "value": "2025-03-01"}),
            ),
        ];
        for (value, expected) in cases {
            assert_eq!(serde_json::to_value(&value).unwrap(), expected);
            assert_eq!(
                serde_json::from_value::<AnswerValue>(expected).unwrap(),
                value
            );
        }
    }

    #[test]
    fn malformed_answer_values_are_refused_by_serde() {
        for bad in [
            json!({"type": "photo", "value": 1}),
            json!({"type": "integer", "value": "4"}),
            json!({"type": "integer", "value": 1.5}),
            json!({"type": "date", "value": "2025-02-30"}),
            json!({"YesNo": true}),
        ] {
            assert!(
                serde_json::from_value::<AnswerValue>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn sheet_round_trips_and_defaults_missing_maps() {
        let mut sheet = AnswerSheet::new();
        sheet
            .set("identity_confirmed", AnswerValue::YesNo(true))
            .set_attachments("premises_photos", 3);
        let json = serde_json::to_string(&sheet).unwrap();
        assert_eq!(serde_json::from_str::<AnswerSheet>(&json).unwrap(), sheet);
        assert_eq!(
            serde_json::from_str::<AnswerSheet>("{}").unwrap(),
            AnswerSheet::default()
        );
    }

    #[test]
    fn reason_codes_are_stable_and_match_serde() {
        for reason in ProblemReason::ALL {
            let code = reason.code();
            assert_eq!(serde_json::to_value(reason).unwrap(), json!(code));
            assert_eq!(ProblemReason::from_code(code), Some(reason));
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        assert_eq!(ProblemReason::from_code("nope"), None);
        let problem = ItemProblem::new("ability_to_repay", ProblemReason::OutOfRange);
        assert_eq!(
            problem.to_string(),
            "checklist item ability_to_repay: out_of_range"
        );
    }
}
