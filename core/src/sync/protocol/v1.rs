//! The bodies of protocol version 1, as phones built before 2026-11-28 still
//! send them: a push is the list of whole log entries (`{"ops": [...]}`,
//! random op ids), and its answer names the outcome of every one of them, in
//! order. The server translates them to and from today's model in one place
//! (`server/src/protocol_version.rs`); the golden fixtures under
//! `tests/fixtures/protocol/v1/` hold them as such a phone sends and reads
//! them.

use serde::{Deserialize, Serialize};

use super::OpResult;
use crate::event_log::LogEntry;

/// `POST /v1/push` of protocol 1: this device's log entries, in outbox order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// The entries, each with its op id (the idempotency key) and hashes.
    pub ops: Vec<LogEntry>,
}

/// The answer to a protocol 1 push: one result per pushed entry, in order,
/// `applied` included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushResponse {
    /// The outcomes, one per entry sent.
    pub results: Vec<OpResult>,
}
