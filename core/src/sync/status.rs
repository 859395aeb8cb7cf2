//! What the sync tells the app: progress while it runs, a report when it ends,
//! and a status for the sync screen at any time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A step of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncPhase {
    /// Signing in to the server.
    Login,
    /// Sending queued operations.
    Push,
    /// Receiving cases, templates and visit changes.
    Pull,
    /// Removing customer data the device no longer needs.
    Purge,
    /// Sending attachment bytes (progress in bytes).
    Upload,
}

/// Receives progress while a sync runs (a callback interface for the shells).
pub trait SyncObserver: Send + Sync {
    /// `done` of `total` units of `phase` are finished. For a pull the total is
    /// not known in advance: it is what has been received so far, plus one while
    /// more pages wait.
    fn progress(&self, phase: SyncPhase, done: u64, total: u64);
}

/// An observer that ignores progress.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl SyncObserver for NoProgress {
    fn progress(&self, _phase: SyncPhase, _done: u64, _total: u64) {}
}

/// What one sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncReport {
    /// Set when the sync did not run because the backoff after earlier failures
    /// has not elapsed; nothing else was done.
    pub deferred_until: Option<DateTime<Utc>>,
    /// Operations the server applied now.
    pub applied: u64,
    /// Operations the server had applied before (a retry after a lost response).
    pub duplicates: u64,
    /// Operations the server refused this time; kept and listed for the agent.
    pub rejected: u64,
    /// Changes received and applied.
    pub pulled: u64,
    /// Attachments whose bytes the server now holds, verified.
    pub uploaded: u64,
    /// Attachments whose upload the server refused this time (kept on the
    /// device, tried again on the next sync).
    pub upload_refused: u64,
    /// Received visit entries that could not be used (unknown visit or case,
    /// broken chain) and were skipped.
    pub skipped_entries: u64,
    /// Cases whose customer data was removed (reassigned away or retention).
    pub purged_cases: u64,
    /// Visits whose customer data was removed after approval and retention.
    pub purged_visits: u64,
    /// Visits whose chain on this device was repaired from the server's copy
    /// (lost entries restored, later ones re-based): see `sync::repair`.
    pub repaired_visits: u64,
    /// Visits whose chain could not be repaired: their refused entries stay
    /// listed for the agent, and the other visits synced.
    pub unrepaired_visits: u64,
    /// The device was deactivated and its customer data wiped.
    pub wiped: bool,
}

/// The sync state for the app's sync screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// Operations waiting to be pushed (rejected ones not included).
    pub pending_ops: u64,
    /// Age of the oldest waiting operation, in seconds.
    pub oldest_pending_age_seconds: Option<u64>,
    /// When a sync last completed.
    pub last_success: Option<DateTime<Utc>>,
    /// Why the last sync failed, if it did (a code and a reason, no data).
    pub last_error: Option<String>,
    /// Operations the server refused, kept on the device for the agent.
    pub rejected_count: u64,
    /// Do not sync automatically before this instant (backoff after failures).
    pub next_attempt_after: Option<DateTime<Utc>>,
    /// Failures in a row since the last success.
    pub consecutive_failures: u32,
    /// Whether the server has deactivated this device (its data is wiped).
    pub deactivated: bool,
    /// Attachments whose bytes wait to be uploaded (their `attached` entry is
    /// acknowledged; the bytes are not confirmed by the server yet).
    pub pending_uploads: u64,
}

/// An operation the server refused, as listed for the agent, with what the
/// agent did, so that nothing typed is lost from their view.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RejectedOp {
    /// The operation id.
    pub op_id: uuid::Uuid,
    /// The visit it belongs to.
    pub visit_id: uuid::Uuid,
    /// Its position in this device's chain of the visit.
    pub log_seq: u64,
    /// What it was, e.g. "note_added" (empty if the entry is no longer on the device).
    pub kind: String,
    /// Why the server refused it, e.g. "illegal_transition".
    pub code: String,
    /// When the refusal was received.
    pub rejected_at: DateTime<Utc>,
    /// The change as the agent made it (the note's text, the answer, the
    /// outcome...), for the app to show and the agent to redo; `None` if the
    /// entry is no longer on the device or cannot be read.
    pub change: Option<crate::domain::VisitChange>,
}
