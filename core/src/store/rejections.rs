//! Operations the server refused. The entry stays in the outbox (it is what the
//! agent did) and a row here records why; the outbox no longer counts it as
//! pending, so it never blocks the operations behind it, and the app lists it.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use crate::error::{Error, Result};
use crate::event_log::LogEntry;
use crate::store::uuid_at;
use crate::sync::status::RejectedOp;

/// Records that the server refused `entry` with `code` at `at`.
pub fn record(tx: &Transaction<'_>, entry: &LogEntry, code: &str, at: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO outbox_rejections (op_id, visit_id, log_seq, code, rejected_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (op_id) DO UPDATE SET code = excluded.code, rejected_at = excluded.rejected_at",
    )?
    .execute(params![
        entry.op_id.as_bytes(),
        entry.visit_id.as_bytes(),
        i64::try_from(entry.seq).unwrap_or(i64::MAX),
        code,
        at.to_rfc3339(),
    ])?;
    Ok(())
}

/// How many operations the server refused.
pub fn count(conn: &Connection) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached("SELECT count(*) FROM outbox_rejections")?
        .query_row([], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// Every refused operation, oldest refusal first.
pub fn list(conn: &Connection) -> Result<Vec<RejectedOp>> {
    let mut statement = conn.prepare_cached(
        "SELECT r.op_id, r.visit_id, r.log_seq, coalesce(o.kind, ''), r.code, r.rejected_at,
                o.payload
         FROM outbox_rejections r LEFT JOIN outbox o ON o.op_id = r.op_id
         ORDER BY r.rejected_at, r.visit_id, r.log_seq",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((
            uuid_at(row, 0)?,
            uuid_at(row, 1)?,
            row.get::<_, i64>(2)?,
            row.get::<_, String>(3)?,
            row.get::<_, String>(4)?,
            row.get::<_, String>(5)?,
            row.get::<_, Option<String>>(6)?,
        ))
    })?;
    let mut ops = Vec::new();
    for row in rows {
        let (op_id, visit_id, seq, kind, code, at, payload) = row?;
        let rejected_at = DateTime::parse_from_rfc3339(&at)
            .map_err(|_| Error::Invalid {
                field: "outbox_rejections",
                reason: "stored time is unreadable".into(),
            })?
            .with_timezone(&Utc);
        ops.push(RejectedOp {
            op_id,
            visit_id,
            log_seq: u64::try_from(seq).unwrap_or(0),
            kind,
            code,
            rejected_at,
            change: payload.and_then(|p| serde_json::from_str(&p).ok()),
        });
    }
    Ok(ops)
}
