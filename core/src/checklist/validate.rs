//! Validating answers against a template: one answer as the agent gives it
//! ([`ChecklistTemplate::check_answer`]), and a whole sheet at submit
//! ([`ChecklistTemplate::validate`]). The phone and the server both call these.
//!
//! Rules:
//! - An item is shown when it has no condition, or when the item its condition
//!   tests is shown and the condition holds on that item's answer. Answers and
//!   attachments of hidden items are ignored; hidden items are never required.
//! - Blank text (empty after trimming) and an empty selection count as no answer.
//! - Photo and signature items are answered with attachments: a value for them, or
//!   attachments on any other item, is `wrong_kind`. A signature is one attachment.

use std::collections::BTreeSet;

use super::answer::{AnswerSheet, AnswerValue, ItemProblem, ProblemReason};
use super::template::{ChecklistItem, ChecklistTemplate, Condition, ItemKind};

impl ChecklistTemplate {
    /// Checks one answer as the agent gives it, without looking at other answers.
    ///
    /// Blank text and an empty selection are accepted here (the agent clearing the
    /// item); [`validate`](Self::validate) reports them as missing where required.
    pub fn check_answer(&self, item_id: &str, value: &AnswerValue) -> Result<(), ItemProblem> {
        let item = self
            .item(item_id)
            .ok_or_else(|| ItemProblem::new(item_id, ProblemReason::UnknownItem))?;
        check_value(&item.kind, value).map_err(|reason| ItemProblem::new(item_id, reason))
    }

    /// Checks the number of attachments linked to one item. Zero is always accepted.
    pub fn check_attachments(&self, item_id: &str, count: u32) -> Result<(), ItemProblem> {
        let item = self
            .item(item_id)
            .ok_or_else(|| ItemProblem::new(item_id, ProblemReason::UnknownItem))?;
        check_count(&item.kind, count).map_err(|reason| ItemProblem::new(item_id, reason))
    }

    /// Whether the item is shown given these answers; `false` for unknown ids.
    pub fn is_visible(&self, item_id: &str, sheet: &AnswerSheet) -> bool {
        self.position(item_id)
            .is_some_and(|at| self.visibility(sheet).get(at) == Some(&true))
    }

    /// The items shown given these answers, in template order.
    pub fn visible_items(&self, sheet: &AnswerSheet) -> Vec<&ChecklistItem> {
        self.items()
            .iter()
            .zip(self.visibility(sheet))
            .filter_map(|(item, shown)| shown.then_some(item))
            .collect()
    }

    /// Validates a sheet for submission and returns every problem: shown items in
    /// template order (a value problem before an attachment problem), then answers
    /// and attachments for unknown item ids, sorted by id. Empty means valid.
    pub fn validate(&self, sheet: &AnswerSheet) -> Vec<ItemProblem> {
        let mut problems = Vec::new();
        for (item, shown) in self.items().iter().zip(self.visibility(sheet)) {
            if !shown {
                continue;
            }
            let mut report = |reason| {
                let problem = ItemProblem::new(item.id.as_str(), reason);
                if problems.last() != Some(&problem) {
                    problems.push(problem);
                }
            };
            let value = sheet.values.get(&item.id);
            let count = attachment_count(sheet, &item.id);
            if item.kind.takes_attachments() {
                if value.is_some() {
                    report(ProblemReason::WrongKind);
                }
                if count == 0 {
                    if item.required {
                        report(ProblemReason::Missing);
                    }
                } else if let Err(reason) = check_count(&item.kind, count) {
                    report(reason);
                }
            } else {
                match value {
                    Some(value) if !is_blank(&item.kind, value) => {
                        if let Err(reason) = check_value(&item.kind, value) {
                            report(reason);
                        }
                    }
                    _ => {
                        if item.required {
                            report(ProblemReason::Missing);
                        }
                    }
                }
                if count > 0 {
                    report(ProblemReason::WrongKind);
                }
            }
        }
        let unknown: BTreeSet<&String> = sheet
            .values
            .keys()
            .chain(
                sheet
                    .attachments
                    .iter()
                    .filter(|(_, count)| **count > 0)
                    .map(|(id, _)| id),
            )
            .filter(|id| self.position(id).is_none())
            .collect();
        problems.extend(
            unknown
                .into_iter()
                .map(|id| ItemProblem::new(id.as_str(), ProblemReason::UnknownItem)),
        );
        problems
    }

    /// Shown or hidden, per item in template order. Conditions only test earlier
    /// items (the template guarantees it), so one pass decides every item.
    fn visibility(&self, sheet: &AnswerSheet) -> Vec<bool> {
        let items = self.items();
        let mut shown: Vec<bool> = Vec::with_capacity(items.len());
        for item in items {
            let visible = match &item.visible_when {
                None => true,
                Some(condition) => self
                    .position(condition.item())
                    .filter(|at| shown.get(*at) == Some(&true))
                    .and_then(|at| items.get(at))
                    .is_some_and(|target| condition_holds(condition, target, sheet)),
            };
            shown.push(visible);
        }
        shown
    }
}

fn attachment_count(sheet: &AnswerSheet, item_id: &str) -> u32 {
    sheet.attachments.get(item_id).copied().unwrap_or(0)
}

fn condition_holds(condition: &Condition, target: &ChecklistItem, sheet: &AnswerSheet) -> bool {
    let value = sheet.values.get(&target.id);
    match condition {
        Condition::Answered { .. } => is_answered(target, sheet),
        Condition::YesNoEquals { value: wanted, .. } => {
            matches!(value, Some(AnswerValue::YesNo(given)) if given == wanted)
        }
        Condition::ChoiceIn { options, .. } => {
            matches!(value, Some(AnswerValue::Choice(given)) if options.contains(given))
        }
        Condition::ChoicesContain { option, .. } => {
            matches!(value, Some(AnswerValue::Choices(given)) if given.contains(option))
        }
    }
}

/// A non-blank answer of the item's kind (valid or not), or at least one attachment.
fn is_answered(item: &ChecklistItem, sheet: &AnswerSheet) -> bool {
    if item.kind.takes_attachments() {
        return attachment_count(sheet, &item.id) > 0;
    }
    sheet
        .values
        .get(&item.id)
        .is_some_and(|value| matches_kind(&item.kind, value) && !is_blank(&item.kind, value))
}

fn matches_kind(kind: &ItemKind, value: &AnswerValue) -> bool {
    matches!(
        (kind, value),
        (ItemKind::YesNo, AnswerValue::YesNo(_))
            | (ItemKind::SingleChoice { .. }, AnswerValue::Choice(_))
            | (ItemKind::MultipleChoice { .. }, AnswerValue::Choices(_))
            | (ItemKind::Integer { .. }, AnswerValue::Integer(_))
            | (ItemKind::Money { .. }, AnswerValue::Money(_))
            | (ItemKind::Text { .. }, AnswerValue::Text(_))
            | (ItemKind::Date { .. }, AnswerValue::Date(_))
    )
}

/// Blank text for a text item, or an empty selection for a multiple-choice item.
fn is_blank(kind: &ItemKind, value: &AnswerValue) -> bool {
    match (kind, value) {
        (ItemKind::Text { .. }, AnswerValue::Text(text)) => text.trim().is_empty(),
        (ItemKind::MultipleChoice { .. }, AnswerValue::Choices(chosen)) => chosen.is_empty(),
        _ => false,
    }
}

fn check_value(kind: &ItemKind, value: &AnswerValue) -> Result<(), ProblemReason> {
    let in_range = |ok: bool| {
        if ok {
            Ok(())
        } else {
            Err(ProblemReason::OutOfRange)
        }
    };
    match (kind, value) {
        (ItemKind::YesNo, AnswerValue::YesNo(_)) => Ok(()),
        (ItemKind::SingleChoice { .. }, AnswerValue::Choice(chosen)) => {
            if kind.has_option(chosen) {
                Ok(())
            } else {
                Err(ProblemReason::UnknownOption)
            }
        }
        (
            ItemKind::MultipleChoice {
                min_selected,
                max_selected,
                ..
            },
            AnswerValue::Choices(chosen),
        ) => {
            if chosen.is_empty() {
                return Ok(());
            }
            if !chosen.iter().all(|option| kind.has_option(option)) {
                return Err(ProblemReason::UnknownOption);
            }
            let distinct: BTreeSet<&String> = chosen.iter().collect();
            if distinct.len() != chosen.len() {
                return Err(ProblemReason::DuplicateOption);
            }
            // Lengths beyond u32 are certainly too many.
            let selected = u32::try_from(chosen.len()).unwrap_or(u32::MAX);
            if selected < *min_selected {
                Err(ProblemReason::TooFewSelected)
            } else if selected > *max_selected {
                Err(ProblemReason::TooManySelected)
            } else {
                Ok(())
            }
        }
        (ItemKind::Integer { min, max }, AnswerValue::Integer(given)) => {
            in_range((min..=max).contains(&given))
        }
        (
            ItemKind::Money {
                currency,
                min_minor_units,
                max_minor_units,
            },
            AnswerValue::Money(money),
        ) => {
            if money.check().is_err() {
                return Err(ProblemReason::InvalidCurrency);
            }
            if &money.currency != currency {
                return Err(ProblemReason::CurrencyMismatch);
            }
            in_range(
                min_minor_units.is_none_or(|min| money.minor_units >= min)
                    && max_minor_units.is_none_or(|max| money.minor_units <= max),
            )
        }
        (ItemKind::Text { max_chars }, AnswerValue::Text(text)) => {
            // Stop counting one past the limit: a huge text costs no more than that.
            let limit = *max_chars as usize;
            if text.chars().nth(limit).is_some() {
                Err(ProblemReason::TooLong)
            } else {
                Ok(())
            }
        }
        (
            ItemKind::Date {
                not_before,
                not_after,
            },
            AnswerValue::Date(date),
        ) => in_range(
            not_before.is_none_or(|first| *date >= first)
                && not_after.is_none_or(|last| *date <= last),
        ),
        _ => Err(ProblemReason::WrongKind),
    }
}

fn check_count(kind: &ItemKind, count: u32) -> Result<(), ProblemReason> {
    if count == 0 {
        return Ok(());
    }
    match kind {
        ItemKind::Photo {
            min_count,
            max_count,
        } => {
            if count < *min_count {
                Err(ProblemReason::TooFewAttachments)
            } else if count > *max_count {
                Err(ProblemReason::TooManyAttachments)
            } else {
                Ok(())
            }
        }
        ItemKind::Signature if count > 1 => Err(ProblemReason::TooManyAttachments),
        ItemKind::Signature => Ok(()),
        _ => Err(ProblemReason::WrongKind),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use crate::checklist::structure::tests::{base, parse};
    use crate::money::Money;
    use AnswerValue as V;
    use ProblemReason as R;
    use chrono::NaiveDate;

    fn fixture() -> ChecklistTemplate {
        parse(&base()).unwrap()
    }

    fn reason(template: &ChecklistTemplate, id: &str, value: AnswerValue) -> Option<R> {
        template.check_answer(id, &value).err().map(|p| p.reason)
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    fn cny(minor_units: i64) -> V {
        V::Money(Money {
            minor_units,
            currency: "CNY".into(),
        })
    }

    fn codes(problems: &[ItemProblem]) -> Vec<(String, &'static str)> {
        problems
            .iter()
            .map(|p| (p.item_id.clone(), p.reason.code()))
            .collect()
    }

    #[test]
    fn check_answer_catches_every_kind_of_bad_value() {
        let t = fixture();
        let strings = |ids: &[&str]| V::Choices(ids.iter().map(|s| s.to_string()).collect());
        let cases: Vec<(&str, AnswerValue, Option<R>)> = vec![
            ("ghost", V::YesNo(true), Some(R::UnknownItem)),
            ("seen", V::Integer(1), Some(R::WrongKind)),
            ("photos", V::Integer(1), Some(R::WrongKind)),
            ("sign", V::Text("me".into()), Some(R::WrongKind)),
            ("pick", V::Choice("other".into()), None),
            ("pick", V::Choice("OTHER".into()), Some(R::UnknownOption)),
            ("many", strings(&["x", "z"]), None),
            ("many", strings(&[]), None),
            ("many", strings(&["x", "q"]), Some(R::UnknownOption)),
            ("many", strings(&["x", "x"]), Some(R::DuplicateOption)),
            ("many", strings(&["x", "y", "z"]), Some(R::TooManySelected)),
            ("score", V::Integer(1), None),
            ("score", V::Integer(5), None),
            ("score", V::Integer(0), Some(R::OutOfRange)),
            ("score", V::Integer(i64::MIN), Some(R::OutOfRange)),
            ("score", V::Integer(i64::MAX), Some(R::OutOfRange)),
            ("income", cny(0), None),
            ("income", cny(i64::MAX), None),
            ("income", cny(-1), Some(R::OutOfRange)),
            ("income", cny(i64::MIN), Some(R::OutOfRange)),
            (
                "income",
                V::Money(Money {
                    minor_units: 1,
                    currency: "USD".into(),
                }),
                Some(R::CurrencyMismatch),
            ),
            (
                "income",
                V::Money(Money {
                    minor_units: 1,
                    currency: "cny".into(),
                }),
                Some(R::InvalidCurrency),
            ),
            (
                "income",
                V::Money(Money {
                    minor_units: 1,
                    currency: "人民币".into(),
                }),
                Some(R::InvalidCurrency),
            ),
            ("when", V::Date(date(2020, 1, 1)), None),
            ("when", V::Date(date(2030, 12, 31)), None),
            ("when", V::Date(date(2019, 12, 31)), Some(R::OutOfRange)),
            ("when", V::Date(date(2031, 1, 1)), Some(R::OutOfRange)),
            ("when", V::Date(NaiveDate::MIN), Some(R::OutOfRange)),
            ("when", V::Date(NaiveDate::MAX), Some(R::OutOfRange)),
        ];
        for (id, value, expected) in cases {
            assert_eq!(reason(&t, id, value.clone()), expected, "{id}: {value:?}");
        }
        let mut two_needed = base();
        two_needed["items"][2]["kind"]["min_selected"] = 2.into();
        let t = parse(&two_needed).unwrap();
        assert_eq!(reason(&t, "many", strings(&["y"])), Some(R::TooFewSelected));
    }

    #[test]
    fn text_length_counts_characters_and_treats_everything_as_text() {
        let t = fixture(); // "note" allows 10 characters
        for ok in [
            "逾期原因逾期原因逾期",
            "😀😀😀😀😀😀😀😀😀😀",
            "'; DROP --",
            "a\u{0}b\n\t%_\\\"",
            "",
        ] {
            assert_eq!(reason(&t, "note", V::Text(ok.into())), None, "{ok:?}");
        }
        for long in [
            "逾期原因逾期原因逾期因",
            "😀😀😀😀😀😀😀😀😀😀😀",
            "12345678901",
        ] {
            assert_eq!(
                reason(&t, "note", V::Text(long.into())),
                Some(R::TooLong),
                "{long:?}"
            );
        }
        let shipped = crate::checklist::home_verification();
        let at_max = "还".repeat(2000);
        assert_eq!(
            reason(&shipped, "customer_statement", V::Text(at_max.clone())),
            None
        );
        let over = format!("{at_max}😀");
        assert_eq!(
            reason(&shipped, "customer_statement", V::Text(over)),
            Some(R::TooLong)
        );
        let huge = "x".repeat(10_000_000);
        assert_eq!(
            reason(&shipped, "customer_statement", V::Text(huge)),
            Some(R::TooLong)
        );
    }

    #[test]
    fn full_integer_range_accepts_the_extremes() {
        let mut value = base();
        value["items"][3]["kind"] =
            serde_json::json!({"type": "integer", "min": i64::MIN, "max": i64::MAX});
        let t = parse(&value).unwrap();
        assert_eq!(reason(&t, "score", V::Integer(i64::MIN)), None);
        assert_eq!(reason(&t, "score", V::Integer(i64::MAX)), None);
    }

    #[test]
    fn attachment_counts() {
        let t = fixture();
        let count = |id, n| t.check_attachments(id, n).err().map(|p| p.reason);
        assert_eq!(count("photos", 0), None);
        assert_eq!(count("photos", 3), None);
        assert_eq!(count("photos", 4), Some(R::TooManyAttachments));
        assert_eq!(count("photos", u32::MAX), Some(R::TooManyAttachments));
        assert_eq!(count("sign", 1), None);
        assert_eq!(count("sign", 2), Some(R::TooManyAttachments));
        assert_eq!(count("seen", 1), Some(R::WrongKind));
        assert_eq!(count("ghost", 1), Some(R::UnknownItem));
        let mut value = base();
        value["items"][7]["kind"]["min_count"] = 2.into();
        let t = parse(&value).unwrap();
        assert_eq!(
            t.check_attachments("photos", 1).unwrap_err().reason,
            R::TooFewAttachments
        );
    }

    #[test]
    fn visibility_follows_conditions_in_chains() {
        let t = fixture();
        let mut sheet = AnswerSheet::new();
        let shown = |sheet: &AnswerSheet| -> Vec<String> {
            t.visible_items(sheet)
                .iter()
                .map(|item| item.id.clone())
                .collect()
        };
        assert_eq!(shown(&sheet), ["seen", "pick", "many", "income", "sign"]);
        assert!(!t.is_visible("score", &sheet));
        assert!(!t.is_visible("ghost", &sheet));
        sheet
            .set("seen", V::YesNo(true))
            .set("many", V::Choices(vec!["z".into()]));
        assert!(t.is_visible("score", &sheet) && t.is_visible("when", &sheet));
        // "photos" depends on "note" being answered, and "note" on pick = other.
        sheet.set("note", V::Text("hello".into()));
        assert!(
            !t.is_visible("photos", &sheet),
            "answer to a hidden item must not count"
        );
        sheet.set("pick", V::Choice("other".into()));
        assert!(t.is_visible("note", &sheet) && t.is_visible("photos", &sheet));
        sheet.set("note", V::Text("   ".into()));
        assert!(
            !t.is_visible("photos", &sheet),
            "blank text is not an answer"
        );
        sheet.set("note", V::Integer(3));
        assert!(
            !t.is_visible("photos", &sheet),
            "a wrong-kind value is not an answer"
        );
    }

    #[test]
    fn validate_reports_everything_in_template_order_then_unknown_ids() {
        let t = fixture();
        assert_eq!(
            codes(&t.validate(&AnswerSheet::new())),
            [("seen".into(), "missing"), ("pick".into(), "missing")]
        );
        let mut sheet = AnswerSheet::new();
        sheet
            .set("seen", V::YesNo(true))
            .set("pick", V::Choice("other".into()))
            .set("note", V::Text(" \n ".into()))
            .set("photos", V::YesNo(true))
            .set("zz", V::YesNo(true))
            .set("aa", V::Integer(1))
            .set_attachments("photos", 9)
            .set_attachments("seen", 1)
            .set_attachments("sign", 2)
            .set_attachments("mm", 1)
            .set_attachments("zero", 0);
        assert_eq!(
            codes(&t.validate(&sheet)),
            [
                ("seen".into(), "wrong_kind"),
                ("score".into(), "missing"),
                ("note".into(), "missing"),
                ("sign".into(), "too_many_attachments"),
                ("aa".into(), "unknown_item"),
                ("mm".into(), "unknown_item"),
                ("zz".into(), "unknown_item"),
            ]
        );
        // "photos" is hidden (blank note), so its bad value and count are ignored.
        sheet.set("note", V::Text("ok".into()));
        let problems = codes(&t.validate(&sheet));
        assert!(problems.contains(&("photos".into(), "wrong_kind")));
        assert!(problems.contains(&("photos".into(), "too_many_attachments")));
    }
}
