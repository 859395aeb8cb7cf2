//! The server's own entries in a visit's log: a supervisor's review and the
//! feedback given to the customer are appended to the server's chain of the
//! visit, so they reach the agents' devices on their next pull like any
//! entry, and the visit's chain check and summary follow.

use chrono::{DateTime, Utc};
use doorstep_core::clock::HybridClock;
use doorstep_core::domain::{CaseId, VisitChange, VisitHistory, VisitId};
use doorstep_core::event_log::{EntryDraft, LogEntry, append};
use uuid::Uuid;

use super::{SERVER_NODE, chain_check, summaries};
use crate::error::{Missing, ServiceError};
use crate::store::{FeedItem, Lock, StoreTx, StoredEntry};

/// A visit as the server holds it, read under its lock.
pub struct HeldVisit {
    /// Its case.
    pub case_id: CaseId,
    /// Every stored entry, refused ones included.
    pub stored: Vec<LogEntry>,
    /// The latest stamp of the admitted entries (a refused entry's stamp,
    /// from a clock far ahead say, counts for nothing).
    pub latest: Option<doorstep_core::clock::Hlc>,
    /// The admitted entries, folded.
    pub history: VisitHistory,
}

/// Locks the visit until the transaction ends (a push to it waits) and reads
/// it as it stands.
pub fn hold(tx: &dyn StoreTx, visit_id: VisitId) -> Result<HeldVisit, ServiceError> {
    tx.lock(Lock::Visit(visit_id))?;
    let visit = tx
        .visit(visit_id)?
        .ok_or(ServiceError::NotFound(Missing::Visit))?;
    let mut stored = Vec::new();
    let mut admitted: Vec<LogEntry> = Vec::new();
    for row in tx.visit_entries(visit_id)? {
        if row.rejected.is_none() {
            admitted.push(row.entry.clone());
        }
        stored.push(row.entry);
    }
    let history =
        VisitHistory::fold(visit_id, &admitted).map_err(|e| ServiceError::internal(&e))?;
    Ok(HeldVisit {
        case_id: visit.case_id,
        latest: admitted.iter().map(|entry| entry.hlc).max(),
        stored,
        history,
    })
}

/// Appends `change` to the server's chain of the held visit, stamped after
/// every admitted entry (so it folds last), feeds it, checks the
/// visit's whole log again and refreshes its summary. The caller has checked
/// the change is allowed.
pub fn append_change(
    tx: &dyn StoreTx,
    held: &mut HeldVisit,
    change: &VisitChange,
    now: DateTime<Utc>,
) -> Result<LogEntry, ServiceError> {
    let visit_id = held.history.visit.id;
    let hlc = HybridClock::new(SERVER_NODE, held.latest).tick(now);
    let payload = serde_json::to_string(change).map_err(|e| ServiceError::internal(&e))?;
    let head = tx.chain_head(visit_id, SERVER_NODE)?;
    let entry = append(
        head.as_ref(),
        EntryDraft {
            visit_id,
            author: SERVER_NODE,
            op_id: Uuid::now_v7(),
            kind: change.kind().to_owned(),
            payload,
            hlc,
            device_time: now,
            utc_offset_minutes: 0,
        },
    )
    .map_err(|e| ServiceError::internal(&e))?;
    tx.insert_entry(&StoredEntry {
        entry: entry.clone(),
        rejected: None,
        reassigned: false,
    })?;
    tx.record_op(entry.op_id, SERVER_NODE, None)?;
    tx.append_feed(&FeedItem::VisitEntry {
        case_id: held.case_id,
        visit_id,
        author: SERVER_NODE,
        seq: entry.seq,
    })?;
    held.stored.push(entry.clone());
    held.latest = held.latest.max(Some(entry.hlc));
    chain_check::record(tx, visit_id, &held.stored, now)?;
    summaries::refresh(tx, visit_id)?;
    Ok(entry)
}
