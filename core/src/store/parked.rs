//! Visit entries received before they can be placed (see `sql/v6.sql`): the
//! pull parks them and places them once their case, their visit's first entry
//! or the entry before them has arrived.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use crate::error::Result;
use crate::event_log::LogEntry;

/// Most entries kept parked; beyond it the oldest are dropped (an entry the
/// device would never be able to place must not grow the database forever).
pub const MAX_PARKED: i64 = 50_000;

/// Parks an entry (a second copy of the same position replaces the first).
pub fn park(
    tx: &Transaction<'_>,
    entry: &LogEntry,
    refused: bool,
    at: DateTime<Utc>,
) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO parked_entries (visit_id, author, seq, refused, entry, parked_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (visit_id, author, seq)
         DO UPDATE SET refused = excluded.refused, entry = excluded.entry",
    )?
    .execute(params![
        entry.visit_id.as_bytes(),
        entry.author.as_bytes(),
        i64::try_from(entry.seq).unwrap_or(i64::MAX),
        refused,
        serde_json::to_string(entry)?,
        at.to_rfc3339(),
    ])?;
    Ok(())
}

/// Every parked entry, each chain in order, with whether the server refused it.
pub fn all(conn: &Connection) -> Result<Vec<(LogEntry, bool)>> {
    let mut statement = conn.prepare_cached(
        "SELECT entry, refused FROM parked_entries ORDER BY visit_id, author, seq",
    )?;
    let rows = statement.query_map([], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, bool>(1)?))
    })?;
    let mut entries = Vec::new();
    for row in rows {
        let (text, refused) = row?;
        entries.push((serde_json::from_str::<LogEntry>(&text)?, refused));
    }
    Ok(entries)
}

/// Removes a parked entry (placed, or found unusable).
pub fn unpark(tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM parked_entries WHERE visit_id = ?1 AND author = ?2 AND seq = ?3",
    )?
    .execute(params![
        entry.visit_id.as_bytes(),
        entry.author.as_bytes(),
        i64::try_from(entry.seq).unwrap_or(i64::MAX),
    ])?;
    Ok(())
}

/// Drops the oldest parked entries beyond [`MAX_PARKED`]; returns how many
/// were dropped.
pub fn trim(tx: &Transaction<'_>) -> Result<u64> {
    let dropped = tx
        .prepare_cached(
            "DELETE FROM parked_entries WHERE (visit_id, author, seq) IN (
                 SELECT visit_id, author, seq FROM parked_entries
                 ORDER BY parked_at DESC LIMIT -1 OFFSET ?1)",
        )?
        .execute([MAX_PARKED])?;
    Ok(u64::try_from(dropped).unwrap_or(0))
}

/// How many entries wait to be placed.
pub fn count(conn: &Connection) -> Result<u64> {
    let n: i64 = conn
        .prepare_cached("SELECT count(*) FROM parked_entries")?
        .query_row([], |row| row.get(0))?;
    Ok(n.unsigned_abs())
}
