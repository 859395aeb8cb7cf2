//! The newest entry of each of this device's visit chains, kept in memory so an
//! action links to it without looking it up.
//!
//! Only this device appends to its own chains, and every append reads its
//! head and writes its entry inside one write transaction, so the cache is
//! right as long as it is only read inside a write and only changed while the
//! writer is still held after that write commits ([`DeviceStore::write_then`]).
//! Two actions on one visit from two threads then take turns: the second reads
//! the head the first committed. A visit not yet in the cache is looked up
//! once in the store; a sync that purges or repairs chains forgets the heads
//! the same way.
//!
//! [`DeviceStore::write_then`]: crate::store::DeviceStore::write_then

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::Connection;

use crate::domain::{DeviceId, VisitId};
use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::visits;

/// Chain heads of this device, by visit.
#[derive(Debug, Default)]
pub(crate) struct ChainHeads {
    heads: Mutex<HashMap<VisitId, LogEntry>>,
}

impl ChainHeads {
    /// The newest entry of this device's chain for `visit`, if it has one.
    pub(crate) fn get(
        &self,
        conn: &Connection,
        visit: VisitId,
        device: DeviceId,
    ) -> Result<Option<LogEntry>> {
        if let Some(head) = self.lock().get(&visit) {
            return Ok(Some(head.clone()));
        }
        visits::chain_head(conn, visit, device)
    }

    /// Records a committed entry as its chain's head.
    pub(crate) fn committed(&self, entry: LogEntry) {
        self.lock().insert(entry.visit_id, entry);
    }

    /// Forgets the head of one visit (its chain was repaired); it is looked up
    /// again.
    pub(crate) fn forget(&self, visit: VisitId) {
        self.lock().remove(&visit);
    }

    /// Forgets every head (after visits were purged); they are looked up again.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<VisitId, LogEntry>> {
        self.heads.lock().unwrap_or_else(|p| p.into_inner())
    }
}
