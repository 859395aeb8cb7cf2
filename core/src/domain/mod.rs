//! The domain model of a home verification visit, following its four steps:
//! information collection ([`Case`]), advance notice ([`Notice`]), on-site
//! verification ([`SiteCheck`], checklist answers, [`InterviewNote`],
//! [`Attachment`]) and result and feedback ([`Outcome`], [`Review`], [`Feedback`]).
//!
//! These are plain values. How a visit moves between states is in [`visit`];
//! what an agent did, as recorded in the event log and sent to the server, is in
//! [`change`].

pub mod attachment;
pub mod case;
pub mod change;
pub mod history;
pub mod note;
pub mod notice;
pub mod outcome;
pub mod plan;
pub mod promise;
pub mod review;
pub mod site;
pub mod visit;

pub use attachment::{Attachment, AttachmentKind, AttachmentLink};
pub use case::{
    Address, AddressKind, AssignedAgents, Case, CaseStatus, Customer, OverdueBucket, PhoneNumber,
};
pub use change::VisitChange;
pub use history::{LateChange, StampedAnswer, VisitHistory};
pub use note::InterviewNote;
pub use notice::{Notice, NoticeChannel};
pub use outcome::{Outcome, OutcomeCode, PromiseToPay, Rating, RepaymentPlan};
pub use plan::{CaseDecision, DecisionError, PlanDecision};
pub use promise::{PromiseKeeping, Repayment};
pub use review::{Feedback, Review, ReviewDecision};
pub use site::SiteCheck;
pub use visit::{Applied, Visit, VisitAction, VisitState};

/// Identifies a case (one overdue account assigned for a visit).
pub type CaseId = uuid::Uuid;
/// Identifies one visit to a case.
pub type VisitId = uuid::Uuid;
/// Identifies an interview note.
pub type NoteId = uuid::Uuid;
/// Identifies an attachment (photo, signature, audio).
pub type AttachmentId = uuid::Uuid;
/// Identifies a user of the server: an agent, supervisor or admin.
pub type UserId = uuid::Uuid;
/// Identifies a registered device; it is also the node id of its clock.
pub type DeviceId = uuid::Uuid;
