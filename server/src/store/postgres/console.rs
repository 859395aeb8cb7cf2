//! What the supervisor console needs of the PostgreSQL store: its sessions and
//! the lists of a team.

use chrono::{DateTime, Utc};
use doorstep_core::domain::{CaseId, UserId};

use super::rows::{col, user_from};
use super::tx::PgTx;
use super::{conflict, db};
use crate::store::{CaseRecord, ConsoleSessionRecord, StoreError, UserRecord, VisitRecord};
use doorstep_core::sync::protocol::Role;

/// Migration to schema version 3: console sessions, and indexes for a team's lists
/// (idempotent, like every migration here, so a partly migrated schema finishes).
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 text PRIMARY KEY, user_id uuid NOT NULL REFERENCES users(id),
    csrf_token text NOT NULL, created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, ended boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_supervisor ON cases (supervisor_id);
CREATE INDEX IF NOT EXISTS visits_by_case ON visits (case_id);
CREATE INDEX IF NOT EXISTS users_by_supervisor ON users (supervisor_id);
";

impl PgTx<'_> {
    pub(super) fn console_session_insert(
        &self,
        session: &ConsoleSessionRecord,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO console_sessions
                 (id_sha256, user_id, csrf_token, created_at, expires_at, ended)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &session.id_sha256,
                &session.user,
                &session.csrf_token,
                &session.created_at,
                &session.expires_at,
                &session.ended,
            ],
        )
        .map_err(|e| conflict(e, "console session"))?;
        Ok(())
    }

    pub(super) fn console_session_get(
        &self,
        id_sha256: &str,
    ) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        self.query_opt(
            "SELECT user_id, csrf_token, created_at, expires_at, ended
                 FROM console_sessions WHERE id_sha256 = $1",
            &[&id_sha256],
        )
        .map_err(db)?
        .map(|row| {
            let created_at: DateTime<Utc> = col(&row, 2, "console_sessions")?;
            let expires_at: DateTime<Utc> = col(&row, 3, "console_sessions")?;
            Ok(ConsoleSessionRecord {
                id_sha256: id_sha256.to_owned(),
                user: col(&row, 0, "console_sessions")?,
                csrf_token: col(&row, 1, "console_sessions")?,
                created_at,
                expires_at,
                ended: col(&row, 4, "console_sessions")?,
            })
        })
        .transpose()
    }

    pub(super) fn console_session_end(&self, id_sha256: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE console_sessions SET ended = true WHERE id_sha256 = $1",
                &[&id_sha256],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn team_members_of(
        &self,
        supervisor: UserId,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.query(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 WHERE supervisor_id = $1 ORDER BY username",
            &[&supervisor],
        )
        .map_err(db)?
        .iter()
        .map(user_from)
        .collect()
    }

    pub(super) fn case_visits_of(&self, case: CaseId) -> Result<Vec<VisitRecord>, StoreError> {
        self.query(
            "SELECT id FROM visits WHERE case_id = $1 ORDER BY id",
            &[&case],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(VisitRecord {
                id: col(row, 0, "visits")?,
                case_id: case,
            })
        })
        .collect()
    }

    pub(super) fn team_visits_of(
        &self,
        supervisor: UserId,
    ) -> Result<Vec<VisitRecord>, StoreError> {
        self.query(
            "SELECT visits.id, visits.case_id FROM visits
                 JOIN cases ON cases.id = visits.case_id
                 WHERE cases.supervisor_id = $1",
            &[&supervisor],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(VisitRecord {
                id: col(row, 0, "visits")?,
                case_id: col(row, 1, "visits")?,
            })
        })
        .collect()
    }

    pub(super) fn team_cases_of(&self, supervisor: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        self.query(
            "SELECT body FROM cases WHERE supervisor_id = $1 ORDER BY id",
            &[&supervisor],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let body: &str = col(row, 0, "cases")?;
            Ok(CaseRecord {
                case: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: Some(supervisor),
            })
        })
        .collect()
    }

    pub(super) fn supervisors_all(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.query(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 WHERE role = $1 ORDER BY username",
            &[&Role::Supervisor.code()],
        )
        .map_err(db)?
        .iter()
        .map(user_from)
        .collect()
    }
}
