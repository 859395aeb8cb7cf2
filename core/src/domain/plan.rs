//! The bank's decision for a customer after a visit (the seed's last step):
//! what the bank will do (an instalment plan, a promise to follow up, a
//! hardship deferral, legal escalation, closing the case as not contactable,
//! or another visit), decided by the supervisor on the case, and what it does
//! to the case the agents' phones see.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::case::{Case, CaseStatus};
use super::outcome::{MAX_INSTALMENTS, PromiseToPay, RepaymentPlan};
use super::{CaseId, UserId, VisitId};
use crate::money::Money;

/// Longest a decision's note may be, in characters.
pub const MAX_DECISION_NOTE_CHARS: usize = 2_000;

/// Furthest ahead a decision's date may be, in days (a deferral, a promise's
/// due date, the next visit).
pub const MAX_DECISION_DAYS_AHEAD: i64 = 366;

/// What the bank decided for the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanDecision {
    /// Repay in instalments.
    InstalmentPlan {
        /// The instalments agreed.
        plan: RepaymentPlan,
    },
    /// Follow up a promise to pay an amount by a date.
    PromiseFollowUp {
        /// The promise followed up.
        promise: PromiseToPay,
    },
    /// Defer collection because of hardship until a date.
    HardshipDeferral {
        /// The day collection resumes.
        until: NaiveDate,
    },
    /// Hand the account to the legal department: no more field visits.
    EscalateToLegal,
    /// Close the case: the customer cannot be contacted.
    CloseNotContactable,
    /// Visit the customer again on a day: the case goes back on the agent's
    /// list of cases to visit, due that day.
    ScheduleVisit {
        /// The day of the next visit.
        on: NaiveDate,
    },
}

impl PlanDecision {
    /// Stable code, as stored and shown.
    pub fn code(&self) -> &'static str {
        match self {
            PlanDecision::InstalmentPlan { .. } => "instalment_plan",
            PlanDecision::PromiseFollowUp { .. } => "promise_follow_up",
            PlanDecision::HardshipDeferral { .. } => "hardship_deferral",
            PlanDecision::EscalateToLegal => "escalate_to_legal",
            PlanDecision::CloseNotContactable => "close_not_contactable",
            PlanDecision::ScheduleVisit { .. } => "schedule_visit",
        }
    }

    /// Every decision code, in the order a supervisor is offered them.
    pub const CODES: [&'static str; 6] = [
        "instalment_plan",
        "promise_follow_up",
        "hardship_deferral",
        "escalate_to_legal",
        "close_not_contactable",
        "schedule_visit",
    ];

    /// The case as the agents' phones should see it after this decision, if
    /// the decision changes it: another visit puts the case back on the
    /// agent's list, due that day (new while `latest`, the case's latest visit
    /// not cancelled, is still its latest: [`Case::status_after`]); legal
    /// escalation and closing end the field work; a deferral moves the case's
    /// due date to the day it ends. A plan or a promise leaves the case as it is.
    pub fn applied_to(&self, case: &Case, latest: Option<VisitId>) -> Option<Case> {
        let mut changed = case.clone();
        match self {
            PlanDecision::ScheduleVisit { on } => {
                changed.status = CaseStatus::New;
                changed.due_date = *on;
                changed.revisit_after = latest;
            }
            PlanDecision::EscalateToLegal | PlanDecision::CloseNotContactable => {
                changed.status = CaseStatus::Closed;
            }
            PlanDecision::HardshipDeferral { until } => changed.due_date = *until,
            PlanDecision::InstalmentPlan { .. } | PlanDecision::PromiseFollowUp { .. } => {
                return None;
            }
        }
        (changed != *case).then_some(changed)
    }
}

/// A decision recorded on a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDecision {
    /// The decision's id.
    pub id: uuid::Uuid,
    /// The case decided on.
    pub case_id: CaseId,
    /// The visit it follows, if any.
    pub after_visit: Option<VisitId>,
    /// What was decided.
    pub decision: PlanDecision,
    /// The supervisor's note (may be empty).
    pub note: String,
    /// Who decided.
    pub decided_by: UserId,
    /// When.
    pub decided_at: DateTime<Utc>,
}

/// Why a decision was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    /// An amount is zero, negative or has a malformed currency.
    #[error("amounts must be positive with a valid currency")]
    BadAmount,
    /// Instalments outside 2 to [`MAX_INSTALMENTS`].
    #[error("a plan must have from 2 to {MAX_INSTALMENTS} instalments")]
    BadInstalments,
    /// A date before the decision's day or too far after it.
    #[error("the date must be from the decision's day to {MAX_DECISION_DAYS_AHEAD} days after")]
    DateOutOfRange,
    /// The note is too long or holds control characters other than line breaks.
    #[error("the note can be at most {MAX_DECISION_NOTE_CHARS} characters of text")]
    BadNote,
    /// A field the decision needs is missing or unreadable (as typed in a form).
    #[error("the decision is missing a field it needs")]
    Incomplete,
    /// The case is closed: nothing more can be decided on it.
    #[error("the case is closed")]
    CaseClosed,
}

impl DecisionError {
    /// Stable code, for refusals and the audit log.
    pub fn code(self) -> &'static str {
        match self {
            DecisionError::BadAmount => "bad_amount",
            DecisionError::BadInstalments => "bad_instalments",
            DecisionError::DateOutOfRange => "date_out_of_range",
            DecisionError::BadNote => "bad_note",
            DecisionError::Incomplete => "incomplete",
            DecisionError::CaseClosed => "case_closed",
        }
    }
}

impl CaseDecision {
    /// Checks the decision may be recorded on `case` on `today` (the
    /// decision's day in the case's time zone).
    pub fn check(&self, case: &Case, today: NaiveDate) -> Result<(), DecisionError> {
        if case.status == CaseStatus::Closed {
            return Err(DecisionError::CaseClosed);
        }
        let in_window =
            |date: NaiveDate| (0..=MAX_DECISION_DAYS_AHEAD).contains(&(date - today).num_days());
        let positive = |amount: &Money| amount.check().is_ok() && amount.minor_units > 0;
        match &self.decision {
            PlanDecision::InstalmentPlan { plan } => {
                if !positive(&plan.instalment_amount) {
                    return Err(DecisionError::BadAmount);
                }
                if !(2..=MAX_INSTALMENTS).contains(&plan.instalments) {
                    return Err(DecisionError::BadInstalments);
                }
                if !in_window(plan.first_due_on) {
                    return Err(DecisionError::DateOutOfRange);
                }
            }
            PlanDecision::PromiseFollowUp { promise } => {
                if !positive(&promise.amount) {
                    return Err(DecisionError::BadAmount);
                }
                if !in_window(promise.due_on) {
                    return Err(DecisionError::DateOutOfRange);
                }
            }
            PlanDecision::HardshipDeferral { until: day }
            | PlanDecision::ScheduleVisit { on: day } => {
                if !in_window(*day) {
                    return Err(DecisionError::DateOutOfRange);
                }
            }
            PlanDecision::EscalateToLegal | PlanDecision::CloseNotContactable => {}
        }
        let bad_char = |c: char| c.is_control() && c != '\n';
        if self.note.chars().count() > MAX_DECISION_NOTE_CHARS || self.note.chars().any(bad_char) {
            return Err(DecisionError::BadNote);
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
