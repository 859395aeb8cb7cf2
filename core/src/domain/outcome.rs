//! The result of a visit: what happened, what the customer promised or proposed,
//! and the agent's assessment of ability and willingness to repay.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::money::Money;

/// Longest outcome summary accepted, in characters.
pub const MAX_SUMMARY_CHARS: usize = 2_000;
/// Furthest a promised payment may lie after the visit, in days.
pub const MAX_PROMISE_DAYS_AHEAD: i64 = 180;
/// Most instalments a proposed plan may have.
pub const MAX_INSTALMENTS: u32 = 60;

/// What came of a visit attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeCode {
    /// The customer promised to pay an amount by a date (承诺还款).
    PromiseToPay,
    /// An instalment plan was proposed (分期还款).
    RepaymentPlan,
    /// A hardship deferral was requested (困难延期).
    HardshipDeferral,
    /// The customer disputes the debt.
    Dispute,
    /// The customer was met but refused to engage or pay.
    Refused,
    /// Nobody was home.
    NotHome,
    /// The customer no longer lives at the address.
    Moved,
}

impl OutcomeCode {
    /// Whether the customer was met, so the interview and checklist apply.
    pub fn customer_met(self) -> bool {
        !matches!(self, OutcomeCode::NotHome | OutcomeCode::Moved)
    }

    /// Stable code, as stored and exported.
    pub fn code(self) -> &'static str {
        match self {
            OutcomeCode::PromiseToPay => "promise_to_pay",
            OutcomeCode::RepaymentPlan => "repayment_plan",
            OutcomeCode::HardshipDeferral => "hardship_deferral",
            OutcomeCode::Dispute => "dispute",
            OutcomeCode::Refused => "refused",
            OutcomeCode::NotHome => "not_home",
            OutcomeCode::Moved => "moved",
        }
    }
}

/// An assessment on a 1 (none) to 5 (full) scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Rating(u8);

impl Rating {
    /// A rating from 1 to 5; `None` outside that range.
    pub fn new(value: u8) -> Option<Rating> {
        (1..=5).contains(&value).then_some(Rating(value))
    }

    /// The value, 1 to 5.
    pub fn value(self) -> u8 {
        self.0
    }
}

impl TryFrom<u8> for Rating {
    type Error = OutcomeError;
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        Rating::new(value).ok_or(OutcomeError::RatingOutOfRange)
    }
}

impl From<Rating> for u8 {
    fn from(rating: Rating) -> u8 {
        rating.0
    }
}

/// A promise to pay an amount by a date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseToPay {
    /// Amount promised.
    pub amount: Money,
    /// Date by which it will be paid.
    pub due_on: NaiveDate,
}

/// An instalment or hardship plan proposed by the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepaymentPlan {
    /// Number of instalments.
    pub instalments: u32,
    /// Amount of each instalment.
    pub instalment_amount: Money,
    /// Date of the first instalment.
    pub first_due_on: NaiveDate,
}

/// The recorded result of a visit (结果).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// What happened.
    pub code: OutcomeCode,
    /// Required for [`OutcomeCode::PromiseToPay`], otherwise absent.
    pub promise: Option<PromiseToPay>,
    /// Required for [`OutcomeCode::RepaymentPlan`], optional for a hardship deferral.
    pub plan: Option<RepaymentPlan>,
    /// Ability to repay (还款能力), required when the customer was met.
    pub ability_to_repay: Option<Rating>,
    /// Willingness to repay (还款意愿), required when the customer was met.
    pub willingness_to_repay: Option<Rating>,
    /// The agent's short summary.
    pub summary: String,
}

/// Why an outcome was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OutcomeError {
    /// A promise to pay needs its amount and date; other codes must not carry one.
    #[error("a promise to pay is required exactly for the promise_to_pay outcome")]
    PromiseMismatch,
    /// A repayment plan needs its plan; only plan and hardship outcomes may carry one.
    #[error(
        "a repayment plan is required for repayment_plan and allowed for hardship_deferral only"
    )]
    PlanMismatch,
    /// The amount is zero, negative or has a malformed currency.
    #[error("amounts must be positive with a valid currency")]
    BadAmount,
    /// The date is before the visit or too far after it.
    #[error("the date must be from the visit day to {MAX_PROMISE_DAYS_AHEAD} days after")]
    DateOutOfRange,
    /// Instalments outside 2 to [`MAX_INSTALMENTS`].
    #[error("a plan must have from 2 to {MAX_INSTALMENTS} instalments")]
    BadInstalments,
    /// A rating outside 1 to 5.
    #[error("ratings are from 1 to 5")]
    RatingOutOfRange,
    /// Ability and willingness must be assessed when the customer was met.
    #[error("ability and willingness to repay must be assessed when the customer was met")]
    MissingAssessment,
    /// The summary is longer than allowed.
    #[error("the summary can be at most {MAX_SUMMARY_CHARS} characters")]
    SummaryTooLong,
}

impl Outcome {
    /// Checks the outcome is complete and consistent for a visit on `visit_day`.
    pub fn check(&self, visit_day: NaiveDate) -> Result<(), OutcomeError> {
        let in_window = |date: NaiveDate| {
            let ahead = (date - visit_day).num_days();
            (0..=MAX_PROMISE_DAYS_AHEAD).contains(&ahead)
        };
        match (self.code, &self.promise) {
            (OutcomeCode::PromiseToPay, Some(promise)) => {
                check_positive(&promise.amount)?;
                if !in_window(promise.due_on) {
                    return Err(OutcomeError::DateOutOfRange);
                }
            }
            (OutcomeCode::PromiseToPay, None) | (_, Some(_)) => {
                return Err(OutcomeError::PromiseMismatch);
            }
            _ => {}
        }
        match (self.code, &self.plan) {
            (OutcomeCode::RepaymentPlan | OutcomeCode::HardshipDeferral, Some(plan)) => {
                check_positive(&plan.instalment_amount)?;
                if !(2..=MAX_INSTALMENTS).contains(&plan.instalments) {
                    return Err(OutcomeError::BadInstalments);
                }
                if !in_window(plan.first_due_on) {
                    return Err(OutcomeError::DateOutOfRange);
                }
            }
            (OutcomeCode::RepaymentPlan, None) => return Err(OutcomeError::PlanMismatch),
            (OutcomeCode::HardshipDeferral, None) => {}
            (_, Some(_)) => return Err(OutcomeError::PlanMismatch),
            (_, None) => {}
        }
        let assessed = self.ability_to_repay.is_some() && self.willingness_to_repay.is_some();
        if self.code.customer_met() && !assessed {
            return Err(OutcomeError::MissingAssessment);
        }
        if self.summary.chars().count() > MAX_SUMMARY_CHARS {
            return Err(OutcomeError::SummaryTooLong);
        }
        Ok(())
    }
}

fn check_positive(amount: &Money) -> Result<(), OutcomeError> {
    if amount.check().is_err() || amount.minor_units <= 0 {
        return Err(OutcomeError::BadAmount);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
    }

    fn promise(amount: i64, due_on: NaiveDate) -> Outcome {
        Outcome {
            code: OutcomeCode::PromiseToPay,
            promise: Some(PromiseToPay {
                amount: Money::new(amount, "CNY").unwrap(),
                due_on,
            }),
            plan: None,
            ability_to_repay: Rating::new(3),
            willingness_to_repay: Rating::new(4),
            summary: "客户承诺月底前还款".into(),
        }
    }

    #[test]
    fn a_promise_needs_a_positive_amount_and_a_date_in_the_window() {
        assert_eq!(promise(500_000, day(10)).check(day(1)), Ok(()));
        assert_eq!(
            promise(0, day(10)).check(day(1)),
            Err(OutcomeError::BadAmount)
        );
        assert_eq!(
            promise(-1, day(10)).check(day(1)),
            Err(OutcomeError::BadAmount)
        );
        assert_eq!(
            promise(5, day(1)).check(day(2)),
            Err(OutcomeError::DateOutOfRange)
        );
        let far = day(1) + chrono::Duration::days(MAX_PROMISE_DAYS_AHEAD + 1);
        assert_eq!(
            promise(5, far).check(day(1)),
            Err(OutcomeError::DateOutOfRange)
        );
    }

    #[test]
    fn codes_and_their_details_must_match() {
        let mut o = promise(5, day(3));
        o.code = OutcomeCode::Dispute;
        assert_eq!(o.check(day(1)), Err(OutcomeError::PromiseMismatch));
        o.promise = None;
        assert_eq!(o.check(day(1)), Ok(()));
        o.code = OutcomeCode::RepaymentPlan;
        assert_eq!(o.check(day(1)), Err(OutcomeError::PlanMismatch));
        o.plan = Some(RepaymentPlan {
            instalments: 1,
            instalment_amount: Money::new(10_000, "CNY").unwrap(),
            first_due_on: day(15),
        });
        assert_eq!(o.check(day(1)), Err(OutcomeError::BadInstalments));
        o.plan.as_mut().unwrap().instalments = 12;
        assert_eq!(o.check(day(1)), Ok(()));
    }

    #[test]
    fn assessment_is_required_only_when_the_customer_was_met() {
        let mut o = promise(5, day(3));
        o.willingness_to_repay = None;
        assert_eq!(o.check(day(1)), Err(OutcomeError::MissingAssessment));
        let not_home = Outcome {
            code: OutcomeCode::NotHome,
            promise: None,
            plan: None,
            ability_to_repay: None,
            willingness_to_repay: None,
            summary: String::new(),
        };
        assert_eq!(not_home.check(day(1)), Ok(()));
    }

    #[test]
    fn ratings_are_one_to_five_also_when_deserialized() {
        assert!(Rating::new(0).is_none() && Rating::new(6).is_none());
        assert_eq!(Rating::new(5).map(Rating::value), Some(5));
        assert!(serde_json::from_str::<Rating>("9").is_err());
        assert_eq!(serde_json::from_str::<Rating>("2").unwrap().value(), 2);
    }
}
