//! `doorstep-ffi`: the Doorstep core for the phone shells, through uniffi.
//!
//! Thin, synchronous wrappers and no rules: [`Doorstep`] forwards each call to
//! the core's facade; [`HttpTransport`] and [`SyncObserver`] are implemented by
//! the shell (Kotlin, Swift) and handed to the core's sync engine; the core's
//! plain values cross as they are ([`types`]); every failure is one
//! [`DoorstepError`] with a stable code.
//!
//! `scripts/bindings` builds this library and regenerates the Kotlin and Swift
//! bindings from it with this crate's `uniffi-bindgen` binary.

pub mod doorstep;
pub mod error;
pub mod sync;
pub mod types;

pub use doorstep::{CaseDetail, ChecklistTemplate, Doorstep, VisitOfCase};
pub use error::{DoorstepError, TransportError};
pub use sync::{HttpHeader, HttpRequest, HttpResponse, HttpTransport, SyncObserver};

uniffi::setup_scaffolding!();
