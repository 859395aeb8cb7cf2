//! Removing customer data the device no longer needs: a case reassigned away
//! (once nothing of it is left to push), a visit past its retention after
//! approval, and everything on remote wipe. Visits, their logs and their outbox
//! rows go with their case through foreign keys; attachment bytes that nothing
//! references any more are removed after them.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, Transaction, params};

use crate::domain::{CaseId, ReviewDecision, VisitId};
use crate::error::Result;
use crate::store::{cases, uuid_at};

/// Remembers that the server no longer shows this case, to purge it once its
/// operations are pushed.
pub fn mark_case(tx: &Transaction<'_>, case_id: CaseId, at: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "INSERT INTO case_purges (case_id, marked_at) VALUES (?1, ?2)
         ON CONFLICT (case_id) DO NOTHING",
    )?
    .execute(params![case_id.as_bytes(), at.to_rfc3339()])?;
    Ok(())
}

/// Forgets a purge mark (the case was assigned back).
pub fn unmark_case(tx: &Transaction<'_>, case_id: CaseId) -> Result<()> {
    tx.prepare_cached("DELETE FROM case_purges WHERE case_id = ?1")?
        .execute([case_id.as_bytes()])?;
    Ok(())
}

/// Cases marked for purge.
pub fn marked_cases(conn: &Connection) -> Result<Vec<CaseId>> {
    let mut statement = conn.prepare_cached("SELECT case_id FROM case_purges")?;
    let ids = statement.query_map([], |row| uuid_at(row, 0))?;
    Ok(ids.collect::<rusqlite::Result<_>>()?)
}

/// Removes a case with its visits, logs, refusals and unreferenced attachment
/// bytes, and its purge mark.
pub fn purge_case(tx: &Transaction<'_>, case_id: CaseId) -> Result<()> {
    for table in ["outbox_rejections", "parked_entries"] {
        tx.prepare_cached(&format!(
            "DELETE FROM {table} WHERE visit_id IN (SELECT id FROM visits WHERE case_id = ?1)"
        ))?
        .execute([case_id.as_bytes()])?;
    }
    cases::remove(tx, case_id)?;
    unmark_case(tx, case_id)?;
    remove_unreferenced_blobs(tx)
}

/// Removes one visit with its log, refusals, parked entries and unreferenced
/// attachment bytes.
pub fn purge_visit(tx: &Transaction<'_>, visit_id: VisitId) -> Result<()> {
    tx.prepare_cached("DELETE FROM outbox_rejections WHERE visit_id = ?1")?
        .execute([visit_id.as_bytes()])?;
    tx.prepare_cached("DELETE FROM parked_entries WHERE visit_id = ?1")?
        .execute([visit_id.as_bytes()])?;
    tx.prepare_cached("DELETE FROM visits WHERE id = ?1")?
        .execute([visit_id.as_bytes()])?;
    remove_unreferenced_blobs(tx)
}

/// Removes every case, visit, log entry, queued and refused operation and
/// attachment: the remote wipe of a deactivated device.
pub fn wipe_customer_data(tx: &Transaction<'_>) -> Result<()> {
    tx.execute_batch(
        "DELETE FROM outbox;
         DELETE FROM visit_log;
         DELETE FROM visits;
         DELETE FROM cases;
         DELETE FROM outbox_rejections;
         DELETE FROM case_purges;
         DELETE FROM parked_entries;
         DELETE FROM attachment_blobs;",
    )?;
    Ok(())
}

/// Approved visits whose latest approval is at or before `approved_before`, with
/// their cases.
pub fn approved_before(
    conn: &Connection,
    approved_before: DateTime<Utc>,
) -> Result<Vec<(VisitId, CaseId)>> {
    let mut statement =
        conn.prepare_cached("SELECT id, case_id, body FROM visits WHERE state = 'approved'")?;
    let rows = statement.query_map([], |row| {
        Ok((uuid_at(row, 0)?, uuid_at(row, 1)?, row.get::<_, String>(2)?))
    })?;
    let mut expired = Vec::new();
    for row in rows {
        let (visit_id, case_id, body) = row?;
        let visit: crate::domain::Visit = serde_json::from_str(&body)?;
        let approved_at = visit
            .reviews
            .iter()
            .rev()
            .find(|r| r.decision == ReviewDecision::Approve)
            .map(|r| r.decided_at);
        if approved_at.is_some_and(|at| at <= approved_before) {
            expired.push((visit_id, case_id));
        }
    }
    Ok(expired)
}

/// Removes attachment bytes that no log entry of any visit on the device
/// references any more.
fn remove_unreferenced_blobs(tx: &Transaction<'_>) -> Result<()> {
    tx.prepare_cached(
        "DELETE FROM attachment_blobs WHERE sha256 NOT IN (
             SELECT json_extract(payload, '$.attachment.sha256') FROM visit_log
             WHERE kind = 'attached' AND json_extract(payload, '$.attachment.sha256') IS NOT NULL
             UNION
             SELECT json_extract(payload, '$.attachment.sha256') FROM outbox
             WHERE kind = 'attached' AND json_extract(payload, '$.attachment.sha256') IS NOT NULL)",
    )?
    .execute([])?;
    Ok(())
}
