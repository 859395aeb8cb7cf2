//! Who each case was assigned to, and when, in the SQLite store.

use doorstep_core::domain::CaseId;
use rusqlite::params;

use super::rows::{db, opt_uuid, time_col, uuid_col};
use super::tx::SqliteTx;
use crate::store::{AssignmentRecord, StoreError};

/// Migration to schema version 13: the history of each case's assignment
/// (append-only, like the audit log). A case stored before it gets one row,
/// its assignment then, at the last time the audit log shows it stored.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS case_assignments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL, assigned_at TEXT NOT NULL,
    primary_agent TEXT NOT NULL, partner TEXT, supervisor_id TEXT, assigned_by TEXT
);
CREATE INDEX IF NOT EXISTS case_assignments_by_case ON case_assignments (case_id, id);
CREATE TRIGGER IF NOT EXISTS case_assignments_append_only_update
    BEFORE UPDATE ON case_assignments
    BEGIN SELECT RAISE(ABORT, 'case assignments are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_assignments_append_only_delete
    BEFORE DELETE ON case_assignments
    BEGIN SELECT RAISE(ABORT, 'case assignments are append-only'); END;
INSERT INTO case_assignments (case_id, assigned_at, primary_agent, partner, supervisor_id)
SELECT c.id,
    COALESCE(
        (SELECT MAX(a.at) FROM audit a WHERE a.target_kind = 'case' AND a.target_id = c.id),
        '1970-01-01T00:00:00+00:00'),
    c.primary_agent, c.partner, c.supervisor_id
FROM cases c
WHERE NOT EXISTS (SELECT 1 FROM case_assignments x WHERE x.case_id = c.id);
";

const TABLE: &str = "case_assignments";

impl SqliteTx<'_> {
    pub(super) fn assignment_insert(&self, record: &AssignmentRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO case_assignments
                 (case_id, assigned_at, primary_agent, partner, supervisor_id, assigned_by)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                record.case_id.to_string(),
                record.at.to_rfc3339(),
                record.primary.to_string(),
                record.partner.map(|p| p.to_string()),
                record.supervisor.map(|s| s.to_string()),
                record.by.map(|b| b.to_string()),
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn assignments_of(&self, case: CaseId) -> Result<Vec<AssignmentRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT assigned_at, primary_agent, partner, supervisor_id, assigned_by
                 FROM case_assignments WHERE case_id = ?1 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([case.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                    r.get::<_, Option<String>>(3)?,
                    r.get::<_, Option<String>>(4)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (at, primary, partner, supervisor, by) = row.map_err(db)?;
            out.push(AssignmentRecord {
                case_id: case,
                at: time_col(&at, TABLE)?,
                primary: uuid_col(&primary, TABLE)?,
                partner: opt_uuid(partner, TABLE)?,
                supervisor: opt_uuid(supervisor, TABLE)?,
                by: opt_uuid(by, TABLE)?,
            });
        }
        Ok(out)
    }
}
