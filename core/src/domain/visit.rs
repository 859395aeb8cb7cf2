//! A visit and its state machine.
//!
//! ```text
//! planned ─notice─▶ notified ─check in─▶ checked_in ─check out─▶ checked_out ─submit─▶ submitted
//!    │                 │                                                                │
//!    └────cancel───────┴─▶ cancelled                      approved ◀─approve─┬──return──┘
//!                                                                             ▼
//!                         submitted ◀─submit─ reopened ◀─edit─ returned
//! ```
//! Answers, notes, attachments and the outcome are edits: allowed while checked in
//! or checked out, and on a returned visit, which they reopen. An approved visit
//! is frozen; only the feedback given to the customer is recorded after approval.
//!
//! **Late changes.** Two partners work one visit, often offline, each phone
//! doing only what its own view allows. When one device's step moved the
//! visit on (a notice, check-in, check-out, submission or cancellation), a
//! change from the *other* device that the state no longer allows is
//! *late*: kept, never refused or skipped, but it moves nothing
//! ([`Applied::Late`]). The history keeps late notes and attachments as
//! addenda the supervisor sees marked late, and every late change in its
//! list ([`crate::domain::VisitHistory::late`]). So the visit ends the same
//! whichever partner's phone reaches the server first: both checking out,
//! one submitting while the other adds a note and changes an answer, one
//! cancelling while the other checks in. A change the state refuses after
//! the *same* device moved it on is refused, as before: that device knew.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::change::VisitChange;
use super::{
    CaseId, DeviceId, Feedback, Notice, Outcome, Review, ReviewDecision, SiteCheck, UserId, VisitId,
};

/// Where a visit is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitState {
    /// Decided, customer not yet told.
    Planned,
    /// The customer has been given notice.
    Notified,
    /// The agent is on site.
    CheckedIn,
    /// The agent has left; the report can still be completed.
    CheckedOut,
    /// Sent for review.
    Submitted,
    /// Accepted by the supervisor; frozen.
    Approved,
    /// Sent back by the supervisor for changes.
    Returned,
    /// A returned visit that the agent has edited; it can be submitted again.
    Reopened,
    /// Called off before check-in.
    Cancelled,
}

impl VisitState {
    /// Every state, for iteration in tests and UIs.
    pub const ALL: [VisitState; 9] = [
        VisitState::Planned,
        VisitState::Notified,
        VisitState::CheckedIn,
        VisitState::CheckedOut,
        VisitState::Submitted,
        VisitState::Approved,
        VisitState::Returned,
        VisitState::Reopened,
        VisitState::Cancelled,
    ];

    /// Stable code, as stored and sent over the wire.
    pub fn code(self) -> &'static str {
        match self {
            VisitState::Planned => "planned",
            VisitState::Notified => "notified",
            VisitState::CheckedIn => "checked_in",
            VisitState::CheckedOut => "checked_out",
            VisitState::Submitted => "submitted",
            VisitState::Approved => "approved",
            VisitState::Returned => "returned",
            VisitState::Reopened => "reopened",
            VisitState::Cancelled => "cancelled",
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<VisitState> {
        VisitState::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Whether the visit is over and no new visit is blocked by it.
    pub fn is_closed(self) -> bool {
        matches!(self, VisitState::Approved | VisitState::Cancelled)
    }

    /// Whether the visit is in the agent's hands (not yet submitted, or returned);
    /// a case has at most one such visit at a time.
    pub fn is_with_agent(self) -> bool {
        !matches!(
            self,
            VisitState::Submitted | VisitState::Approved | VisitState::Cancelled
        )
    }

    /// Whether the visit's report can be edited in this state.
    pub fn is_editable(self) -> bool {
        matches!(
            self,
            VisitState::CheckedIn
                | VisitState::CheckedOut
                | VisitState::Returned
                | VisitState::Reopened
        )
    }
}

/// Something done to a visit, as far as its state is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VisitAction {
    /// Record a notice given to the customer.
    RecordNotice,
    /// Check in on site.
    CheckIn,
    /// Answer, note, attach or set the outcome.
    Edit,
    /// Check out.
    CheckOut,
    /// Submit for review.
    Submit,
    /// Supervisor approves.
    Approve,
    /// Supervisor returns for changes.
    Return,
    /// Call the visit off.
    Cancel,
    /// Record the feedback given to the customer.
    RecordFeedback,
}

impl VisitAction {
    /// Stable code, as used in errors.
    pub fn code(self) -> &'static str {
        match self {
            VisitAction::RecordNotice => "record_notice",
            VisitAction::CheckIn => "check_in",
            VisitAction::Edit => "edit",
            VisitAction::CheckOut => "check_out",
            VisitAction::Submit => "submit",
            VisitAction::Approve => "approve",
            VisitAction::Return => "return",
            VisitAction::Cancel => "cancel",
            VisitAction::RecordFeedback => "record_feedback",
        }
    }
}

/// An action that the visit's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {} a visit that is {}", action.code(), from.code())]
pub struct IllegalTransition {
    /// The visit's state.
    pub from: VisitState,
    /// What was attempted.
    pub action: VisitAction,
}

/// The state a visit moves to when `action` is done in state `from`.
pub fn transition(from: VisitState, action: VisitAction) -> Result<VisitState, IllegalTransition> {
    use VisitAction as A;
    use VisitState as S;
    let to = match (from, action) {
        (S::Planned | S::Notified, A::RecordNotice) => S::Notified,
        (S::Planned | S::Notified, A::CheckIn) => S::CheckedIn,
        (S::Planned | S::Notified, A::Cancel) => S::Cancelled,
        (S::CheckedIn, A::Edit) => S::CheckedIn,
        (S::CheckedOut, A::Edit) => S::CheckedOut,
        (S::Returned | S::Reopened, A::Edit) => S::Reopened,
        (S::CheckedIn, A::CheckOut) => S::CheckedOut,
        (S::CheckedOut | S::Reopened, A::Submit) => S::Submitted,
        (S::Submitted, A::Approve) => S::Approved,
        (S::Submitted, A::Return) => S::Returned,
        (S::Approved, A::RecordFeedback) => S::Approved,
        _ => return Err(IllegalTransition { from, action }),
    };
    Ok(to)
}

/// A visit's header: everything but the answers, notes and attachments, which
/// are sets kept in the visit's event log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    /// Visit id.
    pub id: VisitId,
    /// The case visited.
    pub case_id: CaseId,
    /// The agent who planned the visit.
    pub agent: UserId,
    /// The second agent of a two-person visit.
    pub partner: Option<UserId>,
    /// Checklist template key used by this visit.
    pub template_key: String,
    /// Checklist template version used by this visit.
    pub template_version: u32,
    /// When the visit is planned for.
    pub planned_for: DateTime<Utc>,
    /// Where the visit is in its life.
    pub state: VisitState,
    /// Notices given, oldest first.
    pub notices: Vec<Notice>,
    /// The check-in, once done.
    pub check_in: Option<SiteCheck>,
    /// The check-out, once done.
    pub check_out: Option<SiteCheck>,
    /// The recorded outcome.
    pub outcome: Option<Outcome>,
    /// When it was last submitted.
    pub submitted_at: Option<DateTime<Utc>>,
    /// How many times it has been submitted.
    pub submissions: u32,
    /// Review rounds, oldest first.
    pub reviews: Vec<Review>,
    /// Feedback given to the customer after approval.
    pub feedback: Vec<Feedback>,
    /// Why it was cancelled, if it was.
    pub cancel_reason: Option<String>,
    /// The device whose step last moved the visit on (notice, check-in,
    /// check-out, submission, cancellation; a review does not count): a
    /// change from another device that the state no longer allows is late
    /// ([`Applied::Late`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_by: Option<DeviceId>,
}

/// How a change took effect on a visit ([`Visit::apply`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// It moved the state machine and set what it records.
    InPlace,
    /// The state no longer allowed it, and another device moved the visit
    /// on: kept as late, the header unchanged.
    Late,
}

impl Visit {
    /// Starts a visit from its `Planned` change; `None` for any other change.
    pub fn planned(id: VisitId, change: &VisitChange) -> Option<Visit> {
        let VisitChange::Planned {
            case_id,
            agent,
            partner,
            template_key,
            template_version,
            planned_for,
        } = change
        else {
            return None;
        };
        Some(Visit {
            id,
            case_id: *case_id,
            agent: *agent,
            partner: *partner,
            template_key: template_key.clone(),
            template_version: *template_version,
            planned_for: *planned_for,
            state: VisitState::Planned,
            notices: Vec::new(),
            check_in: None,
            check_out: None,
            outcome: None,
            submitted_at: None,
            submissions: 0,
            reviews: Vec::new(),
            feedback: Vec::new(),
            cancel_reason: None,
            moved_by: None,
        })
    }

    /// Whether `change` by `device` is late here: another device moved the
    /// visit on last, past the customer's door (checked in or beyond, or
    /// cancelled, but not approved), and the change is one a phone makes
    /// (never the server's review, never a second `planned`) that the state
    /// machine does not take in this state. Before the check-in nothing is
    /// late: a phone that has not checked in may only give notice, check in
    /// or cancel. After an approval nothing is either: the supervisor
    /// approved what the visit held, and it stays as approved.
    pub fn takes_late(&self, change: &VisitChange, device: DeviceId) -> bool {
        let on_site_or_beyond = !matches!(
            self.state,
            VisitState::Planned | VisitState::Notified | VisitState::Approved
        );
        let by_another = on_site_or_beyond && self.moved_by.is_some_and(|mover| mover != device);
        let phone_change = !matches!(
            change,
            VisitChange::Planned { .. } | VisitChange::Reviewed { .. }
        );
        let in_place = change
            .action()
            .is_some_and(|action| transition(self.state, action).is_ok());
        by_another && phone_change && !in_place
    }

    /// Applies a change made on `device` to the header, moving the state
    /// machine; a late change ([`Visit::takes_late`]) leaves it as it is. On
    /// error the visit is unchanged.
    pub fn apply(
        &mut self,
        change: &VisitChange,
        device: DeviceId,
    ) -> Result<Applied, IllegalTransition> {
        if self.takes_late(change, device) {
            return Ok(Applied::Late);
        }
        let action = change.action().ok_or(IllegalTransition {
            from: self.state,
            action: VisitAction::Edit,
        })?;
        self.state = transition(self.state, action)?;
        if matches!(
            action,
            VisitAction::RecordNotice
                | VisitAction::CheckIn
                | VisitAction::CheckOut
                | VisitAction::Submit
                | VisitAction::Cancel
        ) {
            self.moved_by = Some(device);
        }
        match change {
            VisitChange::NoticeRecorded { notice } => self.notices.push(notice.clone()),
            VisitChange::CheckedIn { check } => self.check_in = Some(check.clone()),
            VisitChange::CheckedOut { check } => self.check_out = Some(check.clone()),
            VisitChange::OutcomeSet { outcome } => self.outcome = Some(outcome.clone()),
            VisitChange::Submitted { at } => {
                self.submitted_at = Some(*at);
                self.submissions += 1;
            }
            VisitChange::Reviewed { review } => self.reviews.push(review.clone()),
            VisitChange::FeedbackRecorded { feedback } => self.feedback.push(feedback.clone()),
            VisitChange::Cancelled { reason } => self.cancel_reason = Some(reason.clone()),
            VisitChange::Planned { .. }
            | VisitChange::Answered { .. }
            | VisitChange::AnswerCleared { .. }
            | VisitChange::NoteAdded { .. }
            | VisitChange::Attached { .. } => {}
        }
        Ok(Applied::InPlace)
    }

    /// The latest review, if any.
    pub fn latest_review(&self) -> Option<&Review> {
        self.reviews.last()
    }

    /// Whether the latest review returned the visit.
    pub fn is_returned(&self) -> bool {
        matches!(
            self.latest_review().map(|r| &r.decision),
            Some(ReviewDecision::Return { .. })
        ) && self.state == VisitState::Returned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ACTIONS: [VisitAction; 9] = [
        VisitAction::RecordNotice,
        VisitAction::CheckIn,
        VisitAction::Edit,
        VisitAction::CheckOut,
        VisitAction::Submit,
        VisitAction::Approve,
        VisitAction::Return,
        VisitAction::Cancel,
        VisitAction::RecordFeedback,
    ];

    #[test]
    fn the_happy_path_reaches_approval() {
        use VisitAction as A;
        let path = [
            A::RecordNotice,
            A::CheckIn,
            A::Edit,
            A::CheckOut,
            A::Edit,
            A::Submit,
            A::Approve,
        ];
        let end = path
            .iter()
            .try_fold(VisitState::Planned, |s, a| transition(s, *a))
            .unwrap();
        assert_eq!(end, VisitState::Approved);
    }

    #[test]
    fn a_returned_visit_must_be_edited_before_it_is_submitted_again() {
        use VisitAction as A;
        let returned = transition(VisitState::Submitted, A::Return).unwrap();
        assert_eq!(
            transition(returned, A::Submit),
            Err(IllegalTransition {
                from: VisitState::Returned,
                action: A::Submit
            })
        );
        let reopened = transition(returned, A::Edit).unwrap();
        assert_eq!(reopened, VisitState::Reopened);
        assert_eq!(transition(reopened, A::Submit), Ok(VisitState::Submitted));
    }

    #[test]
    fn approved_and_cancelled_visits_are_frozen() {
        for action in ACTIONS {
            let allowed = action == VisitAction::RecordFeedback;
            assert_eq!(
                transition(VisitState::Approved, action).is_ok(),
                allowed,
                "{action:?}"
            );
            assert!(
                transition(VisitState::Cancelled, action).is_err(),
                "{action:?}"
            );
        }
    }

    #[test]
    fn state_codes_round_trip() {
        for state in VisitState::ALL {
            assert_eq!(VisitState::from_code(state.code()), Some(state));
        }
    }

    #[test]
    fn editable_states_are_exactly_those_that_accept_edits() {
        for state in VisitState::ALL {
            assert_eq!(
                state.is_editable(),
                transition(state, VisitAction::Edit).is_ok(),
                "{state:?}"
            );
        }
    }
}
