//! Visits on the device: the header row (folded state, for listing and state
//! checks) and the visit event log, which holds everything done to the visit.
//!
//! A visit's log lives in two tables: `visit_log` holds the entries the server
//! has acknowledged and those received from other devices; `outbox` holds this
//! device's entries not yet acknowledged (see [`super::outbox`]).

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params};

use crate::clock::Hlc;
use crate::domain::{CaseId, DeviceId, Visit, VisitId, VisitState};
use crate::error::{Error, Result};
use crate::event_log::LogEntry;
use crate::store::uuid_at;

/// Inserts or replaces a visit's header.
pub fn save_header(tx: &Transaction<'_>, visit: &Visit) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO visits (id, case_id, state, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, body = excluded.body",
    )?
    .execute(params![
        visit.id.as_bytes(),
        visit.case_id.as_bytes(),
        visit.state.code(),
        serde_json::to_string(visit)?,
    ])?;
    Ok(())
}

/// A visit's header.
pub fn header(conn: &Connection, id: VisitId) -> Result<Visit> {
    let body: String = conn
        .prepare_cached("SELECT body FROM visits WHERE id = ?1")?
        .query_row([id.as_bytes()], |row| row.get(0))
        .optional()?
        .ok_or(Error::NotFound("visit"))?;
    Ok(serde_json::from_str(&body)?)
}

/// The visits of a case with their states, oldest first.
pub fn of_case(conn: &Connection, case_id: CaseId) -> Result<Vec<(VisitId, VisitState)>> {
    let mut statement =
        conn.prepare_cached("SELECT id, state FROM visits WHERE case_id = ?1 ORDER BY id")?;
    let rows = statement.query_map([case_id.as_bytes()], |row| {
        Ok((uuid_at(row, 0)?, row.get::<_, String>(1)?))
    })?;
    let mut visits = Vec::new();
    for row in rows {
        let (id, code) = row?;
        let state = VisitState::from_code(&code).ok_or(Error::NotFound("visit state"))?;
        visits.push((id, state));
    }
    Ok(visits)
}

/// The headers of every visit in `state` on this device, oldest visit first.
pub fn in_state(conn: &Connection, state: VisitState) -> Result<Vec<Visit>> {
    let mut statement =
        conn.prepare_cached("SELECT body FROM visits WHERE state = ?1 ORDER BY id")?;
    let rows = statement.query_map([state.code()], |row| row.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        out.push(serde_json::from_str(&row?)?);
    }
    Ok(out)
}

/// The columns of a log entry, in the order [`entry_from_row`] reads them; the
/// same in `visit_log` and `outbox`.
pub(crate) const ENTRY_COLUMNS: &str = "visit_id, author, seq, op_id, kind, payload, hlc, \
                                        device_time_ms, utc_offset_minutes, prev_hash, hash";

/// Stores an entry in `visit_log` (acknowledged, or received from another device).
pub fn store_entry(tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
    insert_entry(tx, "visit_log", entry)
}

/// Inserts an entry into `table`: `visit_log` or `outbox`.
pub(crate) fn insert_entry(conn: &Connection, table: &str, entry: &LogEntry) -> Result<()> {
    let sql = format!(
        "INSERT INTO {table} ({ENTRY_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    );
    conn.prepare_cached(&sql)?.execute(params![
        entry.visit_id.as_bytes(),
        entry.author.as_bytes(),
        i64::try_from(entry.seq).unwrap_or(i64::MAX),
        entry.op_id.as_bytes(),
        entry.kind,
        entry.payload,
        entry.hlc.to_string(),
        entry.device_time.timestamp_millis(),
        entry.utc_offset_minutes,
        entry.prev_hash,
        entry.hash,
    ])?;
    Ok(())
}

/// The newest entry of one author's chain for a visit: the last one still in the
/// outbox, else the last acknowledged one.
///
/// The outbox is read from its newest row back, which finds the visit being
/// worked on at once; a visit last touched long ago in a large outbox costs a
/// scan, which the facade pays once per visit (it keeps heads in memory).
pub fn chain_head(conn: &Connection, visit: VisitId, author: DeviceId) -> Result<Option<LogEntry>> {
    // A refused op stays in the outbox while the ops after it are acknowledged
    // into visit_log, so the head is whichever of the two is further along.
    let newest_first = [
        format!(
            "SELECT {ENTRY_COLUMNS} FROM outbox WHERE visit_id = ?1 AND author = ?2
             ORDER BY position DESC LIMIT 1"
        ),
        format!(
            "SELECT {ENTRY_COLUMNS} FROM visit_log WHERE visit_id = ?1 AND author = ?2
             ORDER BY seq DESC LIMIT 1"
        ),
    ];
    let mut head: Option<LogEntry> = None;
    for sql in &newest_first {
        let entry = conn
            .prepare_cached(sql)?
            .query_row(params![visit.as_bytes(), author.as_bytes()], entry_from_row)
            .optional()?
            .transpose()?;
        if let Some(entry) = entry
            && head.as_ref().is_none_or(|h| entry.seq > h.seq)
        {
            head = Some(entry);
        }
    }
    Ok(head)
}

/// A visit's whole log, each author's chain in order: what verification reads.
pub fn log(conn: &Connection, visit: VisitId) -> Result<Vec<LogEntry>> {
    read_log(conn, visit, "", "")
}

/// A visit's log without the entries the server refused (this device's, listed
/// for the agent in `store::rejections`, and other devices', flagged when pulled):
/// what the visit is folded from, so the device shows what the server holds.
/// [`log`] keeps them all, for verification.
pub fn admitted_log(conn: &Connection, visit: VisitId) -> Result<Vec<LogEntry>> {
    read_log(
        conn,
        visit,
        "AND refused = 0",
        "AND op_id NOT IN (SELECT op_id FROM outbox_rejections)",
    )
}

/// Marks a stored entry of another device as refused by the server.
pub fn mark_refused(tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
    tx.prepare_cached(
        "UPDATE visit_log SET refused = 1 WHERE visit_id = ?1 AND author = ?2 AND seq = ?3",
    )?
    .execute(params![
        entry.visit_id.as_bytes(),
        entry.author.as_bytes(),
        i64::try_from(entry.seq).unwrap_or(i64::MAX)
    ])?;
    Ok(())
}

fn read_log(
    conn: &Connection,
    visit: VisitId,
    log_filter: &str,
    outbox_filter: &str,
) -> Result<Vec<LogEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM visit_log WHERE visit_id = ?1 {log_filter}
         UNION ALL
         SELECT {ENTRY_COLUMNS} FROM outbox WHERE visit_id = ?1 {outbox_filter}
         ORDER BY author, seq"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map([visit.as_bytes()], entry_from_row)?;
    let mut entries = Vec::new();
    for row in rows {
        entries.push(row??);
    }
    Ok(entries)
}

/// Reads a log entry from [`ENTRY_COLUMNS`]. The outer result is SQLite's; the
/// inner one reports a stored value that does not parse (a damaged or tampered row).
pub(crate) fn entry_from_row(row: &Row<'_>) -> rusqlite::Result<Result<LogEntry>> {
    let hlc_text: String = row.get(6)?;
    let millis: i64 = row.get(7)?;
    let seq: i64 = row.get(2)?;
    let damaged = |what: &'static str| Error::Invalid {
        field: "visit_log",
        reason: format!("stored {what} is unreadable"),
    };
    let Ok(hlc) = hlc_text.parse::<Hlc>() else {
        return Ok(Err(damaged("clock stamp")));
    };
    let Some(device_time) = DateTime::<Utc>::from_timestamp_millis(millis) else {
        return Ok(Err(damaged("device time")));
    };
    Ok(Ok(LogEntry {
        visit_id: uuid_at(row, 0)?,
        author: uuid_at(row, 1)?,
        seq: u64::try_from(seq).unwrap_or(u64::MAX),
        op_id: uuid_at(row, 3)?,
        kind: row.get(4)?,
        payload: row.get(5)?,
        hlc,
        device_time,
        utc_offset_minutes: row.get(8)?,
        prev_hash: row.get(9)?,
        hash: row.get(10)?,
    }))
}

/// The newest acknowledged or received entry of one author's chain for a visit
/// (`visit_log` only: right for chains of other devices, which never sit in
/// this device's outbox).
pub fn logged_head(
    conn: &Connection,
    visit: VisitId,
    author: DeviceId,
) -> Result<Option<LogEntry>> {
    let sql = format!(
        "SELECT {ENTRY_COLUMNS} FROM visit_log WHERE visit_id = ?1 AND author = ?2
         ORDER BY seq DESC LIMIT 1"
    );
    conn.prepare_cached(&sql)?
        .query_row(params![visit.as_bytes(), author.as_bytes()], entry_from_row)
        .optional()?
        .transpose()
}

/// The newest clock stamp of any entry on the device that the server did not
/// refuse (this device's and others'), or `None` when there is none.
pub fn newest_admitted_stamp(conn: &Connection) -> Result<Option<Hlc>> {
    let text: Option<String> = conn
        .prepare_cached(
            "SELECT max(hlc) FROM (
                 SELECT hlc FROM visit_log WHERE refused = 0
                 UNION ALL
                 SELECT hlc FROM outbox
                 WHERE op_id NOT IN (SELECT op_id FROM outbox_rejections))",
        )?
        .query_row([], |row| row.get(0))?;
    Ok(text.and_then(|t| t.parse().ok()))
}

/// Whether a visit has a header on this device.
pub fn exists(conn: &Connection, id: VisitId) -> Result<bool> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM visits WHERE id = ?1")?
        .query_row([id.as_bytes()], |_| Ok(()))
        .optional()?
        .is_some())
}
