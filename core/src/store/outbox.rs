//! The outbox: this device's log entries that the server has not acknowledged
//! yet, in the order they were made.
//!
//! An action's log entry is written straight into the outbox, so recording the
//! change and queueing its operation is one row in one transaction: an action is
//! never stored without its operation, and costs one append. When the server
//! acknowledges an operation, its entry moves to `visit_log`, where it stays as
//! part of the visit's history.
//!
//! Operations go out in the order they were made, so every chain (one visit, one
//! device) arrives in the order the server needs to verify it.
//!
//! An operation the server rejects stays in the outbox (it is part of the visit as
//! the agent made it) and is recorded in `outbox_rejections`; it no longer counts
//! as pending, so it never blocks the operations behind it.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use chrono::{DateTime, Utc};

use crate::clock::Hlc;
use crate::domain::{CaseId, DeviceId, VisitChange, VisitId};
use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::visits::{ENTRY_COLUMNS, entry_from_row, insert_entry};

/// One operation waiting to be pushed: which entity it touches, what it sets,
/// and the log entry that carries it (with its op id and clock stamp).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxOp {
    /// Position in the outbox; operations are sent in this order.
    pub position: i64,
    /// Entity touched: "visit", "answer", "note" or "attachment".
    pub entity: String,
    /// Which one: a checklist item id, a note id, or the visit field.
    pub entity_id: String,
    /// The change itself (the fields it sets).
    pub change: VisitChange,
    /// The log entry: op id (the idempotency key), clock stamp, chain hashes.
    pub entry: LogEntry,
}

/// Records a log entry of this device and queues it for pushing.
pub fn enqueue(tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
    insert_entry(tx, "outbox", entry)
}

/// The condition that an outbox row has not been rejected.
const NOT_REJECTED: &str =
    "NOT EXISTS (SELECT 1 FROM outbox_rejections r WHERE r.op_id = outbox.op_id)";

/// How many operations wait to be pushed (rejected ones do not wait).
pub fn pending_count(conn: &Connection) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(&format!("SELECT count(*) FROM outbox WHERE {NOT_REJECTED}"))?
        .query_row([], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// How many outbox rows (pending or rejected) belong to visits of a case.
pub fn held_for_case(conn: &Connection, case_id: CaseId) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM outbox
             WHERE visit_id IN (SELECT id FROM visits WHERE case_id = ?1)",
        )?
        .query_row([case_id.as_bytes()], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// The device time of the oldest operation waiting to be pushed.
pub fn oldest_pending_time(conn: &Connection) -> Result<Option<DateTime<Utc>>> {
    let millis: Option<i64> = conn
        .prepare_cached(&format!(
            "SELECT device_time_ms FROM outbox WHERE {NOT_REJECTED} ORDER BY position LIMIT 1"
        ))?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(millis.and_then(DateTime::<Utc>::from_timestamp_millis))
}

/// How many operations of one visit wait to be pushed.
pub fn pending_for_visit(conn: &Connection, visit_id: VisitId) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM outbox WHERE visit_id = ?1")?
        .query_row([visit_id.as_bytes()], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// The first `limit` operations waiting to be pushed, oldest first, with their
/// outbox positions.
pub fn pending_entries(conn: &Connection, limit: u32) -> Result<Vec<(i64, LogEntry)>> {
    pending_entries_after(conn, 0, limit)
}

/// The first `limit` operations waiting to be pushed whose outbox position is
/// after `after`, oldest first, with their positions.
pub fn pending_entries_after(
    conn: &Connection,
    after: i64,
    limit: u32,
) -> Result<Vec<(i64, LogEntry)>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS}, position FROM outbox WHERE position > ?1 AND {NOT_REJECTED}
         ORDER BY position LIMIT ?2"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![after, limit], |row| {
        Ok((entry_from_row(row)?, row.get::<_, i64>(11)?))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (entry, position) = row?;
        entries.push((position, entry?));
    }
    Ok(entries)
}

/// The first `limit` operations waiting to be pushed, oldest first.
pub fn pending(conn: &Connection, limit: u32) -> Result<Vec<OutboxOp>> {
    let mut ops = Vec::new();
    for (position, entry) in pending_entries(conn, limit)? {
        let change: VisitChange = serde_json::from_str(&entry.payload)?;
        let (entity, entity_id) = change.target();
        ops.push(OutboxOp {
            position,
            entity: entity.to_owned(),
            entity_id,
            change,
            entry,
        });
    }
    Ok(ops)
}

/// The newest clock stamp in the outbox, so the clock resumes above it.
pub fn newest_stamp(conn: &Connection) -> Result<Option<Hlc>> {
    let text: Option<String> = conn
        .prepare_cached("SELECT hlc FROM outbox ORDER BY position DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(text.and_then(|t| t.parse().ok()))
}

/// Moves the operations of one chain up to `through_seq`, which the server has
/// acknowledged, into the visit's log, and remembers the newest clock stamp among
/// them so the clock never goes back below a stamp it handed out.
pub fn acknowledge(
    tx: &Transaction<'_>,
    visit_id: VisitId,
    author: DeviceId,
    through_seq: u64,
) -> Result<()> {
    let chain = params![
        visit_id.as_bytes(),
        author.as_bytes(),
        i64::try_from(through_seq).unwrap_or(i64::MAX)
    ];
    let acknowledged = "FROM outbox WHERE visit_id = ?1 AND author = ?2 AND seq <= ?3";
    let newest: Option<String> = tx
        .prepare_cached(&format!("SELECT max(hlc) {acknowledged}"))?
        .query_row(chain, |row| row.get(0))?;
    if let Some(stamp) = newest {
        crate::store::meta::raise_clock_floor(tx, &stamp)?;
    }
    let sql =
        format!("INSERT INTO visit_log ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} {acknowledged}");
    tx.prepare_cached(&sql)?.execute(chain)?;
    tx.prepare_cached(&format!("DELETE {acknowledged}"))?
        .execute(chain)?;
    Ok(())
}

/// Moves every pending (not rejected) operation whose outbox position is in
/// `first..=last`, which the server has all acknowledged, into the visits'
/// logs, and raises the clock floor to `newest`, the newest of their stamps,
/// which the caller has in hand.
pub fn acknowledge_positions(
    tx: &Transaction<'_>,
    first: i64,
    last: i64,
    newest: Option<Hlc>,
) -> Result<()> {
    let acknowledged = format!("FROM outbox WHERE position BETWEEN ?1 AND ?2 AND {NOT_REJECTED}");
    if let Some(stamp) = newest {
        crate::store::meta::raise_clock_floor(tx, &stamp.to_string())?;
    }
    tx.prepare_cached(&format!(
        "INSERT INTO visit_log ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} {acknowledged}"
    ))?
    .execute([first, last])?;
    tx.prepare_cached(&format!("DELETE {acknowledged}"))?
        .execute([first, last])?;
    Ok(())
}

/// Moves one acknowledged operation, by its outbox position, into the visit's
/// log, and raises the clock floor to its stamp. An operation acknowledged
/// before (no longer in the outbox) is left alone.
pub fn acknowledge_op(tx: &Transaction<'_>, position: i64) -> Result<()> {
    let stamp: Option<String> = tx
        .prepare_cached("SELECT hlc FROM outbox WHERE position = ?1")?
        .query_row([position], |row| row.get(0))
        .optional()?;
    let Some(stamp) = stamp else {
        return Ok(());
    };
    crate::store::meta::raise_clock_floor(tx, &stamp)?;
    tx.prepare_cached(&format!(
        "INSERT INTO visit_log ({ENTRY_COLUMNS}) SELECT {ENTRY_COLUMNS} FROM outbox WHERE position = ?1"
    ))?
    .execute([position])?;
    tx.prepare_cached("DELETE FROM outbox WHERE position = ?1")?
        .execute([position])?;
    Ok(())
}
