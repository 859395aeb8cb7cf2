//! Doorstep core: the offline-first heart of the field app for home verification
//! visits on overdue credit-card accounts.
//!
//! It holds the domain model (cases, visits, notices, check-ins, checklist answers,
//! interview notes, attachments, outcomes, reviews), the checklist engine, the field
//! policy, the tamper-evident visit event log, the hybrid logical clock and the
//! encrypted device store with its outbox. The [`Doorstep`] facade is what the
//! platform bindings wrap.
//!
//! Layers, from the bottom: [`money`], [`clock`], [`policy`], [`checklist`] and
//! [`domain`] are pure values and rules; [`rules`] is the one check every change
//! to a visit must pass, on the phone and on the server; [`event_log`] makes a visit's history
//! tamper-evident; [`store`] keeps it all in the encrypted database; [`Doorstep`]
//! turns an agent's action into one transaction, and [`Doorstep::sync`] exchanges
//! the outbox and the server's changes through a [`Transport`] the shell supplies.

pub mod checklist;
pub mod clock;
pub mod domain;
mod doorstep;
pub mod error;
pub mod event_log;
pub mod money;
pub mod policy;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod store;
pub mod sync;

pub use doorstep::{CaseDetail, Doorstep, MAX_CANCEL_REASON_CHARS};
pub use error::DoorstepError;
pub use money::{Money, MoneyError};
pub use report::VisitReport;
pub use snapshot::ServerSnapshot;
pub use store::DatabaseKey;
pub use store::cases::{CaseQuery, CaseSummary};
pub use sync::status::{NoProgress, RejectedOp, SyncObserver, SyncPhase, SyncReport, SyncStatus};
pub use sync::transport::{HttpRequest, HttpResponse, Transport, TransportError};
