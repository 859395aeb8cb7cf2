//! Doorstep core: the offline-first heart of the field app for home verification
//! visits on overdue credit-card accounts.
//!
//! It holds the domain model (cases, visits, notices, check-ins, checklist answers,
//! interview notes, attachments, outcomes, reviews), the checklist engine, the field
//! policy, the tamper-evident visit event log, the hybrid logical clock and the
//! encrypted device store with its outbox. The [`Doorstep`] facade is what the
//! platform bindings wrap.

pub mod checklist;
pub mod money;

pub use money::{Money, MoneyError};
