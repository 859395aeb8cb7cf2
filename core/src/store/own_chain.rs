//! This device's chain of one visit taken as a whole, for the chain repair
//! (`sync::repair`): read everything the device holds of it, and replace it
//! with the chain restored from the server and the entries re-based on top.
//!
//! The device's own entries live in two tables: `visit_log` (acknowledged by
//! the server) and `outbox` (not yet acknowledged, or refused and recorded in
//! `outbox_rejections`). Only this device's entries are ever in the outbox.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use crate::domain::{DeviceId, VisitId};
use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::visits::{ENTRY_COLUMNS, entry_from_row, insert_entry};
use crate::store::{outbox, rejections};
use crate::sync::protocol::RejectCode;

/// One of the device's own entries, where the device holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldEntry {
    /// The entry.
    pub entry: LogEntry,
    /// Acknowledged by the server (it sits in the visit log).
    pub acknowledged: bool,
    /// The code the server refused it with, if it did.
    pub refused: Option<String>,
}

/// Everything the device holds of `author`'s chain of `visit`, in the order
/// it was done: the acknowledged entries by chain position, then the queued
/// ones in outbox order.
pub fn held(conn: &Connection, visit: VisitId, author: DeviceId) -> Result<Vec<HeldEntry>> {
    let mut held = Vec::new();
    let logged = format!(
        "SELECT {ENTRY_COLUMNS}, NULL FROM visit_log WHERE visit_id = ?1 AND author = ?2
         ORDER BY seq"
    );
    let queued = format!(
        "SELECT {ENTRY_COLUMNS},
                (SELECT code FROM outbox_rejections r WHERE r.op_id = outbox.op_id)
         FROM outbox WHERE visit_id = ?1 AND author = ?2 ORDER BY position"
    );
    for (sql, acknowledged) in [(logged, true), (queued, false)] {
        let mut statement = conn.prepare_cached(&sql)?;
        let rows = statement.query_map(params![visit.as_bytes(), author.as_bytes()], |row| {
            Ok((entry_from_row(row)?, row.get::<_, Option<String>>(11)?))
        })?;
        for row in rows {
            let (entry, refused) = row?;
            held.push(HeldEntry {
                entry: entry?,
                acknowledged,
                refused,
            });
        }
    }
    Ok(held)
}

/// The chain that replaces what the device holds of one of its chains.
#[derive(Debug, Default)]
pub struct Replacement<'a> {
    /// Entries the server holds and admitted: into the visit log.
    pub acknowledged: &'a [LogEntry],
    /// Entries the server holds but refused, with its code: queued, refused.
    pub refused: &'a [(LogEntry, String)],
    /// Entries to push: queued, in this order.
    pub queued: &'a [LogEntry],
}

/// Replaces everything the device holds of `author`'s chain of `visit` (and
/// every refusal recorded for the visit) with `replacement`.
pub fn replace(
    tx: &Transaction<'_>,
    visit: VisitId,
    author: DeviceId,
    replacement: &Replacement<'_>,
    at: DateTime<Utc>,
) -> Result<()> {
    let chain = params![visit.as_bytes(), author.as_bytes()];
    tx.prepare_cached("DELETE FROM outbox_rejections WHERE visit_id = ?1")?
        .execute([visit.as_bytes()])?;
    tx.prepare_cached("DELETE FROM outbox WHERE visit_id = ?1 AND author = ?2")?
        .execute(chain)?;
    tx.prepare_cached("DELETE FROM visit_log WHERE visit_id = ?1 AND author = ?2")?
        .execute(chain)?;
    for entry in replacement.acknowledged {
        insert_entry(tx, "visit_log", entry)?;
    }
    for (entry, code) in replacement.refused {
        outbox::enqueue(tx, entry)?;
        rejections::record(tx, entry, code, at)?;
    }
    for entry in replacement.queued {
        outbox::enqueue(tx, entry)?;
    }
    Ok(())
}

/// The visits with an entry of this device that the server refused as not
/// continuing its chain (`chain_broken`): the chains to repair.
pub fn broken(conn: &Connection) -> Result<Vec<VisitId>> {
    let mut statement =
        conn.prepare_cached("SELECT DISTINCT visit_id FROM outbox_rejections WHERE code = ?1")?;
    let rows = statement.query_map([RejectCode::ChainBroken.code()], |row| {
        crate::store::uuid_at(row, 0)
    })?;
    let mut visits = Vec::new();
    for row in rows {
        visits.push(row?);
    }
    Ok(visits)
}
