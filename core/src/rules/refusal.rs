//! Why a change is refused, with what the agent needs to put it right, and
//! the stable code the server answers for it.

use crate::checklist::ItemProblem;
use crate::domain::visit::IllegalTransition;
use crate::policy::PolicyViolation;
use crate::sync::protocol::RejectCode;

/// Why [`super::check`] refuses a change. Carries ids, codes and item
/// problems only, never the refused content.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Refusal {
    /// The visit's state does not allow the change.
    #[error(transparent)]
    IllegalTransition(IllegalTransition),
    /// The visit is not known (only a `planned` change may start one).
    #[error("the visit is not known")]
    UnknownVisit,
    /// The checklist template version the visit uses is not known.
    #[error("the checklist template version is not known")]
    UnknownTemplate,
    /// The change names another user as its author (a note's author, the
    /// planning agent) than the one making it.
    #[error("the change names another user as its author")]
    WrongAuthor,
    /// The bank's field policy refuses the check-in or check-out.
    #[error(transparent)]
    Policy(PolicyViolation),
    /// A check's stated distance or flags are not the ones the policy gives
    /// its GPS fix.
    #[error("the check's distance or flags do not match its GPS fix")]
    InvalidSiteCheck,
    /// A notice without a purpose, with one too long, or announcing a visit
    /// before the notice itself.
    #[error("the notice is incomplete or inconsistent")]
    InvalidNotice,
    /// An answer does not fit its checklist item (or an attachment does not
    /// fit the item it is linked to).
    #[error("checklist answer refused: {}", .0.reason.code())]
    InvalidAnswer(ItemProblem),
    /// A note empty, too long, or with an id the visit already has.
    #[error("the note is empty, too long or repeated")]
    InvalidNote,
    /// An attachment empty, too large, of a MIME type its kind does not take,
    /// with a malformed hash, repeated, or linked to a note the visit lacks.
    #[error("the attachment is invalid")]
    InvalidAttachment,
    /// An outcome incomplete or inconsistent (promise, plan, ratings, dates).
    #[error("the outcome is incomplete or inconsistent")]
    InvalidOutcome,
    /// A submission without an outcome.
    #[error("record the outcome before submitting")]
    MissingOutcome,
    /// A submission of a visit where the customer was met, whose checklist
    /// has these problems.
    #[error("checklist incomplete: {} problem(s)", .0.len())]
    IncompleteChecklist(Vec<ItemProblem>),
    /// A cancellation without a reason, or with one too long.
    #[error(
        "give a cancellation reason of at most {} characters",
        super::MAX_CANCEL_REASON_CHARS
    )]
    InvalidReason,
    /// Feedback to the customer without a summary, or with one too long.
    #[error("the feedback needs a summary of bounded length")]
    InvalidFeedback,
}

impl Refusal {
    /// The stable code the server answers for this refusal, and the phone
    /// lists with a refused op.
    pub fn code(&self) -> RejectCode {
        match self {
            Refusal::IllegalTransition(_) => RejectCode::IllegalTransition,
            Refusal::UnknownVisit => RejectCode::UnknownVisit,
            Refusal::UnknownTemplate => RejectCode::UnknownTemplate,
            Refusal::WrongAuthor => RejectCode::WrongAuthor,
            Refusal::Policy(_) => RejectCode::PolicyViolation,
            Refusal::InvalidSiteCheck => RejectCode::InvalidSiteCheck,
            Refusal::InvalidNotice => RejectCode::InvalidNotice,
            Refusal::InvalidAnswer(_) => RejectCode::InvalidAnswer,
            Refusal::InvalidNote => RejectCode::InvalidNote,
            Refusal::InvalidAttachment => RejectCode::InvalidAttachment,
            Refusal::InvalidOutcome => RejectCode::InvalidOutcome,
            Refusal::MissingOutcome => RejectCode::MissingOutcome,
            Refusal::IncompleteChecklist(_) => RejectCode::IncompleteChecklist,
            Refusal::InvalidReason => RejectCode::InvalidReason,
            Refusal::InvalidFeedback => RejectCode::InvalidFeedback,
        }
    }
}
