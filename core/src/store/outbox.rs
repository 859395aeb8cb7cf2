//! The outbox: the device's own log entries that the server has not acknowledged
//! yet, in the order they were made. An entry is queued in the same transaction
//! that records the action, so an action is never stored without its operation.

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::clock::Hlc;
use crate::domain::{VisitChange, VisitId};
use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::{uuid_at, visits};

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

/// Queues a log entry of this device for pushing.
pub fn enqueue(tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox (op_id, visit_id, log_seq, hlc) VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![
        entry.op_id.as_bytes(),
        entry.visit_id.as_bytes(),
        entry.seq as i64,
        entry.hlc.to_string(),
    ])?;
    Ok(())
}

/// How many operations wait to be pushed.
pub fn pending_count(conn: &Connection) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM outbox")?
        .query_row([], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// The first `limit` operations waiting to be pushed, oldest first.
pub fn pending(conn: &Connection, author: uuid::Uuid, limit: u32) -> Result<Vec<OutboxOp>> {
    let mut statement =
        conn.prepare_cached("SELECT seq, visit_id, log_seq FROM outbox ORDER BY seq LIMIT ?1")?;
    let rows = statement.query_map([limit], |row| {
        Ok((
            row.get::<_, i64>(0)?,
            uuid_at(row, 1)?,
            row.get::<_, i64>(2)?,
        ))
    })?;
    let mut ops = Vec::new();
    for row in rows {
        let (position, visit_id, log_seq): (i64, VisitId, i64) = row?;
        let entry = visits::entry(conn, visit_id, author, log_seq.unsigned_abs())?;
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
        .prepare_cached("SELECT hlc FROM outbox ORDER BY seq DESC LIMIT 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    Ok(text.and_then(|t| t.parse().ok()))
}

/// Removes acknowledged operations up to `position` and remembers the newest clock
/// stamp among them, so the clock never goes back below a stamp it handed out.
pub fn acknowledge(tx: &Transaction<'_>, position: i64) -> Result<()> {
    let newest: Option<String> = tx
        .prepare_cached("SELECT max(hlc) FROM outbox WHERE seq <= ?1")?
        .query_row([position], |row| row.get(0))?;
    if let Some(stamp) = newest {
        crate::store::meta::raise_clock_floor(tx, &stamp)?;
    }
    tx.prepare_cached("DELETE FROM outbox WHERE seq <= ?1")?
        .execute([position])?;
    Ok(())
}

/// How many operations of one visit wait to be pushed.
pub fn pending_for_visit(conn: &Connection, visit_id: VisitId) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM outbox WHERE visit_id = ?1")?
        .query_row([visit_id.as_bytes()], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// The furthest position in this device's chain of a visit that the outbox still
/// has to push. The chain must reach at least this far: if it does not, entries
/// were removed from the log after they were queued.
pub fn furthest_queued_seq(conn: &Connection, visit_id: VisitId) -> Result<Option<u64>> {
    let seq: Option<i64> = conn
        .prepare_cached("SELECT max(log_seq) FROM outbox WHERE visit_id = ?1")?
        .query_row([visit_id.as_bytes()], |row| row.get(0))?;
    Ok(seq.map(i64::unsigned_abs))
}
