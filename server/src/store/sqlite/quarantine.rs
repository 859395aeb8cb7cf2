//! Entries kept apart because their device may not push to their visit, in
//! the SQLite store.

use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::RejectCode;
use rusqlite::params;

use super::rows::{db, opt_uuid, reject_from, time_col, uuid_col};
use super::tx::SqliteTx;
use crate::store::{QuarantinedEntry, StoreError};

/// Migration to schema version 6: the quarantine, and the code of each
/// refused attempt in the audit log.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS quarantine (
    op_id TEXT PRIMARY KEY, visit_id TEXT NOT NULL, case_id TEXT, user_id TEXT NOT NULL,
    device_id TEXT NOT NULL, code TEXT NOT NULL, at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (at);
ALTER TABLE audit ADD COLUMN code TEXT;
";

const TABLE: &str = "quarantine";

impl SqliteTx<'_> {
    pub(super) fn quarantine_insert(&self, kept: &QuarantinedEntry) -> Result<(), StoreError> {
        let body = serde_json::to_string(&kept.entry).map_err(|_| StoreError::Corrupt(TABLE))?;
        self.exec(
            "INSERT OR IGNORE INTO quarantine
                 (op_id, visit_id, case_id, user_id, device_id, code, at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                kept.entry.op_id.to_string(),
                kept.entry.visit_id.to_string(),
                kept.case_id.map(|c| c.to_string()),
                kept.user.to_string(),
                kept.device.to_string(),
                kept.code.code(),
                kept.at.to_rfc3339(),
                body
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn quarantine_newest(
        &self,
        limit: u32,
    ) -> Result<Vec<QuarantinedEntry>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT case_id, user_id, device_id, code, at, body FROM quarantine
                     ORDER BY at DESC, op_id DESC LIMIT ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (case_id, user, device, code, at, body) = row.map_err(db)?;
            out.push(QuarantinedEntry {
                entry: serde_json::from_str::<LogEntry>(&body)
                    .map_err(|_| StoreError::Corrupt(TABLE))?,
                user: uuid_col(&user, TABLE)?,
                device: uuid_col(&device, TABLE)?,
                case_id: opt_uuid(case_id, TABLE)?,
                code: reject_from(&code).unwrap_or(RejectCode::Unrecognized),
                at: time_col(&at, TABLE)?,
            });
        }
        Ok(out)
    }
}
