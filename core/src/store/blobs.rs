//! Attachment bytes, addressed by SHA-256 and stored inside the encrypted database,
//! so a photo is never readable off a lost phone. Each is uploaded to the server
//! once its `attached` entry is acknowledged (see `sync::upload`), and marked
//! uploaded when the server confirms it holds the bytes.

use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::domain::{CaseId, VisitId};
use crate::error::Result;

/// Stores bytes under their hash; storing the same bytes twice keeps one copy.
pub fn put(tx: &Transaction<'_>, sha256: &str, bytes: &[u8]) -> Result<()> {
    tx.prepare_cached("INSERT OR IGNORE INTO attachment_blobs (sha256, bytes) VALUES (?1, ?2)")?
        .execute(params![sha256, bytes])?;
    Ok(())
}

/// The bytes stored under a hash.
pub fn get(conn: &Connection, sha256: &str) -> Result<Option<Vec<u8>>> {
    let bytes = conn
        .prepare_cached("SELECT bytes FROM attachment_blobs WHERE sha256 = ?1")?
        .query_row([sha256], |row| row.get(0))
        .optional()?;
    Ok(bytes)
}

/// An attachment whose bytes the server has not confirmed yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// Their size.
    pub size: u64,
}

/// Bytes not confirmed by the server that an acknowledged `attached` entry of
/// this device's visits refers to (the server accepts them only then).
const WAITING: &str = "uploaded_at IS NULL AND EXISTS (
    SELECT 1 FROM visit_log l
    WHERE l.kind = 'attached' AND l.refused = 0
      AND json_extract(l.payload, '$.attachment.sha256') = attachment_blobs.sha256)";

/// The attachments to upload now, oldest hash order.
pub fn pending_uploads(conn: &Connection) -> Result<Vec<PendingUpload>> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT sha256, length(bytes) FROM attachment_blobs WHERE {WAITING} ORDER BY sha256"
    ))?;
    let rows = statement.query_map([], |row| {
        Ok(PendingUpload {
            sha256: row.get(0)?,
            size: row.get::<_, i64>(1)?.unsigned_abs(),
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// How many attachments wait to be uploaded (for the sync status).
pub fn pending_upload_count(conn: &Connection) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(&format!(
            "SELECT count(*) FROM attachment_blobs WHERE {WAITING}"
        ))?
        .query_row([], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// `len` bytes of an attachment from `offset` (fewer at its end), read without
/// loading the whole attachment.
pub fn chunk(conn: &Connection, sha256: &str, offset: u64, len: usize) -> Result<Vec<u8>> {
    let start = i64::try_from(offset).unwrap_or(i64::MAX).saturating_add(1);
    let len = i64::try_from(len).unwrap_or(i64::MAX);
    let bytes: Option<Vec<u8>> = conn
        .prepare_cached("SELECT substr(bytes, ?2, ?3) FROM attachment_blobs WHERE sha256 = ?1")?
        .query_row(params![sha256, start, len], |row| row.get(0))
        .optional()?;
    Ok(bytes.unwrap_or_default())
}

/// Records that the server holds all the bytes of an attachment, verified.
pub fn mark_uploaded(tx: &Transaction<'_>, sha256: &str, at: DateTime<Utc>) -> Result<()> {
    tx.prepare_cached(
        "UPDATE attachment_blobs SET uploaded_at = ?2 WHERE sha256 = ?1 AND uploaded_at IS NULL",
    )?
    .execute(params![sha256, at.to_rfc3339()])?;
    Ok(())
}

/// How many attachments of a visit's acknowledged entries still wait to be
/// uploaded: its customer data stays on the device until they are.
pub fn waiting_for_visit(conn: &Connection, visit_id: VisitId) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM attachment_blobs b WHERE b.uploaded_at IS NULL AND EXISTS (
                 SELECT 1 FROM visit_log l
                 WHERE l.visit_id = ?1 AND l.kind = 'attached'
                   AND json_extract(l.payload, '$.attachment.sha256') = b.sha256)",
        )?
        .query_row([visit_id.as_bytes()], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}

/// How many attachments of the visits of a case still wait to be uploaded.
pub fn waiting_for_case(conn: &Connection, case_id: CaseId) -> Result<u64> {
    let count: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM attachment_blobs b WHERE b.uploaded_at IS NULL AND EXISTS (
                 SELECT 1 FROM visit_log l
                 WHERE l.visit_id IN (SELECT id FROM visits WHERE case_id = ?1)
                   AND l.kind = 'attached'
                   AND json_extract(l.payload, '$.attachment.sha256') = b.sha256)",
        )?
        .query_row([case_id.as_bytes()], |row| row.get(0))?;
    Ok(count.unsigned_abs())
}
