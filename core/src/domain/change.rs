//! What an agent (or a supervisor, on the server) did to a visit, as one value.
//!
//! A change is what the visit's event log records, what the outbox sends and what
//! a pull brings back from the partner's phone or the supervisor. The device keeps
//! a visit as the set of its changes; its header and report are folds over them
//! in hybrid-logical-clock order, so every replica that holds the same changes
//! shows the same visit.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::visit::VisitAction;
use super::{
    Attachment, CaseId, Feedback, InterviewNote, Notice, Outcome, Review, SiteCheck, UserId,
};
use crate::checklist::AnswerValue;

/// One change to a visit. Serialized with a `kind` tag in snake case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum VisitChange {
    /// The visit was planned. Always the first change of a visit.
    Planned {
        /// The case visited.
        case_id: CaseId,
        /// The agent who planned it.
        agent: UserId,
        /// The second agent of a two-person visit.
        partner: Option<UserId>,
        /// Checklist template key.
        template_key: String,
        /// Checklist template version.
        template_version: u32,
        /// When the visit is planned for.
        planned_for: DateTime<Utc>,
    },
    /// A notice was given to the customer.
    NoticeRecorded {
        /// The notice.
        notice: Notice,
    },
    /// The agent checked in on site.
    CheckedIn {
        /// Where and when.
        check: SiteCheck,
    },
    /// A checklist item was answered (or its answer changed).
    Answered {
        /// Template item id.
        item_id: String,
        /// The answer.
        value: AnswerValue,
    },
    /// A checklist answer was withdrawn.
    AnswerCleared {
        /// Template item id.
        item_id: String,
    },
    /// An interview note was added.
    NoteAdded {
        /// The note.
        note: InterviewNote,
    },
    /// A photo, signature or recording was attached.
    Attached {
        /// Its description; the bytes travel separately.
        attachment: Attachment,
    },
    /// The outcome was recorded (or changed).
    OutcomeSet {
        /// The outcome.
        outcome: Outcome,
    },
    /// The agent checked out.
    CheckedOut {
        /// Where and when.
        check: SiteCheck,
    },
    /// The visit was submitted for review.
    Submitted {
        /// When.
        at: DateTime<Utc>,
    },
    /// The visit was called off before check-in.
    Cancelled {
        /// Why.
        reason: String,
    },
    /// A supervisor reviewed the visit (server-authoritative).
    Reviewed {
        /// The review.
        review: Review,
    },
    /// Feedback was given to the customer after approval.
    FeedbackRecorded {
        /// The feedback.
        feedback: Feedback,
    },
}

impl VisitChange {
    /// The state-machine action this change is, or `None` for [`VisitChange::Planned`],
    /// which creates the visit.
    pub fn action(&self) -> Option<VisitAction> {
        Some(match self {
            VisitChange::Planned { .. } => return None,
            VisitChange::NoticeRecorded { .. } => VisitAction::RecordNotice,
            VisitChange::CheckedIn { .. } => VisitAction::CheckIn,
            VisitChange::Answered { .. }
            | VisitChange::AnswerCleared { .. }
            | VisitChange::NoteAdded { .. }
            | VisitChange::Attached { .. }
            | VisitChange::OutcomeSet { .. } => VisitAction::Edit,
            VisitChange::CheckedOut { .. } => VisitAction::CheckOut,
            VisitChange::Submitted { .. } => VisitAction::Submit,
            VisitChange::Cancelled { .. } => VisitAction::Cancel,
            VisitChange::Reviewed { review } => match review.decision {
                super::ReviewDecision::Approve => VisitAction::Approve,
                super::ReviewDecision::Return { .. } => VisitAction::Return,
            },
            VisitChange::FeedbackRecorded { .. } => VisitAction::RecordFeedback,
        })
    }

    /// Stable kind, as in the serialized `kind` tag and the event log.
    pub fn kind(&self) -> &'static str {
        match self {
            VisitChange::Planned { .. } => "planned",
            VisitChange::NoticeRecorded { .. } => "notice_recorded",
            VisitChange::CheckedIn { .. } => "checked_in",
            VisitChange::Answered { .. } => "answered",
            VisitChange::AnswerCleared { .. } => "answer_cleared",
            VisitChange::NoteAdded { .. } => "note_added",
            VisitChange::Attached { .. } => "attached",
            VisitChange::OutcomeSet { .. } => "outcome_set",
            VisitChange::CheckedOut { .. } => "checked_out",
            VisitChange::Submitted { .. } => "submitted",
            VisitChange::Cancelled { .. } => "cancelled",
            VisitChange::Reviewed { .. } => "reviewed",
            VisitChange::FeedbackRecorded { .. } => "feedback_recorded",
        }
    }

    /// The entity a change touches and the fields it sets, for the outbox:
    /// `("answer", "identity_confirmed")`, `("visit", "check_in")`, `("note", "<id>")`.
    pub fn target(&self) -> (&'static str, String) {
        match self {
            VisitChange::Answered { item_id, .. } | VisitChange::AnswerCleared { item_id } => {
                ("answer", item_id.clone())
            }
            VisitChange::NoteAdded { note } => ("note", note.id.to_string()),
            VisitChange::Attached { attachment } => ("attachment", attachment.id.to_string()),
            other => ("visit", other.kind().to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Visit, VisitState};
    use uuid::Uuid;

    #[test]
    fn changes_serialize_with_a_stable_kind_tag() {
        let change = VisitChange::Answered {
            item_id: "identity_confirmed".into(),
            value: AnswerValue::YesNo(true),
        };
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(json["kind"], change.kind());
        let back: VisitChange = serde_json::from_value(json).unwrap();
        assert_eq!(back, change);
    }

    #[test]
    fn a_visit_starts_only_from_its_planned_change() {
        let planned = VisitChange::Planned {
            case_id: Uuid::now_v7(),
            agent: Uuid::now_v7(),
            partner: None,
            template_key: "home-verification".into(),
            template_version: 1,
            planned_for: Utc::now(),
        };
        let visit = Visit::planned(Uuid::now_v7(), &planned).unwrap();
        assert_eq!(visit.state, VisitState::Planned);
        let mut again = visit.clone();
        assert!(again.apply(&planned, uuid::Uuid::nil()).is_err());
        assert_eq!(again, visit);
        assert!(
            Visit::planned(Uuid::now_v7(), &VisitChange::Submitted { at: Utc::now() }).is_none()
        );
    }
}
