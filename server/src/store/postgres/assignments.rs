//! Who each case was assigned to, and when, in the PostgreSQL store.

use doorstep_core::domain::CaseId;

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{AssignmentRecord, StoreError};

/// Migration to schema version 13: the history of each case's assignment
/// (append-only, like the audit log). A case stored before it gets one row,
/// its assignment then, at the last time the audit log shows it stored.
/// Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS case_assignments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, case_id uuid NOT NULL,
    assigned_at timestamptz NOT NULL, primary_agent uuid NOT NULL, partner uuid,
    supervisor_id uuid, assigned_by uuid
);
CREATE INDEX IF NOT EXISTS case_assignments_by_case ON case_assignments (case_id, id);
CREATE OR REPLACE FUNCTION case_assignments_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case assignments are append-only';
END
$$;
DROP TRIGGER IF EXISTS case_assignments_no_update_delete ON case_assignments;
CREATE TRIGGER case_assignments_no_update_delete BEFORE UPDATE OR DELETE ON case_assignments
    FOR EACH ROW EXECUTE FUNCTION case_assignments_append_only();
INSERT INTO case_assignments (case_id, assigned_at, primary_agent, partner, supervisor_id)
SELECT c.id,
    COALESCE(
        (SELECT MAX(a.at) FROM audit a WHERE a.target_kind = 'case' AND a.target_id = c.id::text),
        'epoch'::timestamptz),
    c.primary_agent, c.partner, c.supervisor_id
FROM cases c
WHERE NOT EXISTS (SELECT 1 FROM case_assignments x WHERE x.case_id = c.id);
";

const TABLE: &str = "case_assignments";

impl PgTx<'_> {
    pub(super) fn assignment_insert(&self, record: &AssignmentRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO case_assignments
                 (case_id, assigned_at, primary_agent, partner, supervisor_id, assigned_by)
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &record.case_id,
                &record.at,
                &record.primary,
                &record.partner,
                &record.supervisor,
                &record.by,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn assignments_of(&self, case: CaseId) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.query(
            "SELECT assigned_at, primary_agent, partner, supervisor_id, assigned_by
             FROM case_assignments WHERE case_id = $1 ORDER BY id",
            &[&case],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(AssignmentRecord {
                case_id: case,
                at: col(row, 0, TABLE)?,
                primary: col(row, 1, TABLE)?,
                partner: col(row, 2, TABLE)?,
                supervisor: col(row, 3, TABLE)?,
                by: col(row, 4, TABLE)?,
            })
        })
        .collect()
    }
}
