//! Sync between a device and the Doorstep server: the wire protocol both sides
//! speak, the merge rules both sides apply, and (on the device) the engine that
//! drains the outbox and applies pulled changes.

pub mod app_version;
pub mod backoff;
pub mod chunk_size;
pub(crate) mod engine;
pub mod merge;
pub mod plan;
pub mod protocol;
mod pull;
mod push;
pub mod repair;
mod review;
mod sign_in;
pub mod status;
pub mod transport;
mod upload;
#[cfg(feature = "ureq-transport")]
pub mod ureq_transport;
