//! Entries kept apart because their device may not push to their visit, in
//! the PostgreSQL store.

use chrono::{DateTime, Utc};
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::RejectCode;

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::sqlite::reject_from;
use crate::store::{QuarantinedEntry, StoreError};

/// Migration to schema version 7: the quarantine, and the code of each
/// refused attempt in the audit log. Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS quarantine (
    op_id uuid PRIMARY KEY, visit_id uuid NOT NULL, case_id uuid, user_id uuid NOT NULL,
    device_id uuid NOT NULL, code text NOT NULL, at timestamptz NOT NULL, body text NOT NULL
);
CREATE INDEX IF NOT EXISTS quarantine_by_time ON quarantine (at);
ALTER TABLE audit ADD COLUMN IF NOT EXISTS code text;
";

const TABLE: &str = "quarantine";

impl PgTx<'_> {
    pub(super) fn quarantine_insert(&self, kept: &QuarantinedEntry) -> Result<(), StoreError> {
        let body = serde_json::to_string(&kept.entry).map_err(|_| StoreError::Corrupt(TABLE))?;
        self.exec(
            "INSERT INTO quarantine (op_id, visit_id, case_id, user_id, device_id, code, at, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[
                &kept.entry.op_id,
                &kept.entry.visit_id,
                &kept.case_id,
                &kept.user,
                &kept.device,
                &kept.code.code(),
                &kept.at,
                &body,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn quarantine_newest(
        &self,
        limit: u32,
    ) -> Result<Vec<QuarantinedEntry>, StoreError> {
        self.query(
            "SELECT case_id, user_id, device_id, code, at, body FROM quarantine
                 ORDER BY at DESC, op_id DESC LIMIT $1",
            &[&i64::from(limit)],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let code: &str = col(row, 3, TABLE)?;
            let at: DateTime<Utc> = col(row, 4, TABLE)?;
            let body: &str = col(row, 5, TABLE)?;
            Ok(QuarantinedEntry {
                entry: serde_json::from_str::<LogEntry>(body)
                    .map_err(|_| StoreError::Corrupt(TABLE))?,
                case_id: col(row, 0, TABLE)?,
                user: col(row, 1, TABLE)?,
                device: col(row, 2, TABLE)?,
                code: reject_from(code).unwrap_or(RejectCode::Unrecognized),
                at,
            })
        })
        .collect()
    }
}
