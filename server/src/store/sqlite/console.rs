//! What the supervisor console needs of the SQLite store: its sessions and the
//! lists of a team.

use rusqlite::{OptionalExtension, params};

use super::rows::{conflict, db, time_col, uuid_col};
use super::tx::SqliteTx;
use crate::store::{CaseRecord, ConsoleSessionRecord, StoreError, UserRecord, VisitRecord};
use doorstep_core::domain::{CaseId, UserId};
use doorstep_core::sync::protocol::Role;

/// The console's tables, created on open (schema version 2).
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS console_sessions (
    id_sha256 TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL,
    ended INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cases_by_supervisor ON cases (supervisor_id);
CREATE INDEX IF NOT EXISTS visits_by_case ON visits (case_id);
CREATE INDEX IF NOT EXISTS users_by_supervisor ON users (supervisor_id);
";

impl SqliteTx<'_> {
    pub(super) fn console_session_insert(
        &self,
        session: &ConsoleSessionRecord,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO console_sessions
                 (id_sha256, user_id, csrf_token, created_at, expires_at, ended)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                session.id_sha256,
                session.user.to_string(),
                session.csrf_token,
                session.created_at.to_rfc3339(),
                session.expires_at.to_rfc3339(),
                session.ended
            ],
        )
        .map_err(|e| conflict(e, "console session"))?;
        Ok(())
    }

    pub(super) fn console_session_get(
        &self,
        id_sha256: &str,
    ) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        type Row = (String, String, String, String, bool);
        let row: Option<Row> = self
            .row(
                "SELECT user_id, csrf_token, created_at, expires_at, ended
                     FROM console_sessions WHERE id_sha256 = ?1",
                [id_sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(user, csrf_token, created, expires, ended)| {
            Ok(ConsoleSessionRecord {
                id_sha256: id_sha256.to_owned(),
                user: uuid_col(&user, "console_sessions")?,
                csrf_token,
                created_at: time_col(&created, "console_sessions")?,
                expires_at: time_col(&expires, "console_sessions")?,
                ended,
            })
        })
        .transpose()
    }

    pub(super) fn console_session_end(&self, id_sha256: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE console_sessions SET ended = 1 WHERE id_sha256 = ?1",
                [id_sha256],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn team_members_of(
        &self,
        supervisor: UserId,
    ) -> Result<Vec<UserRecord>, StoreError> {
        self.users_where(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 WHERE supervisor_id = ?1 ORDER BY username",
            [supervisor.to_string()],
        )
    }

    pub(super) fn case_visits_of(&self, case: CaseId) -> Result<Vec<VisitRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT id FROM visits WHERE case_id = ?1 ORDER BY id")
            .map_err(db)?;
        let rows = stmt
            .query_map([case.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(VisitRecord {
                id: uuid_col(&row.map_err(db)?, "visits")?,
                case_id: case,
            });
        }
        Ok(out)
    }

    pub(super) fn team_visits_of(
        &self,
        supervisor: UserId,
    ) -> Result<Vec<VisitRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT visits.id, visits.case_id FROM visits
                     JOIN cases ON cases.id = visits.case_id
                     WHERE cases.supervisor_id = ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([supervisor.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, case_id) = row.map_err(db)?;
            out.push(VisitRecord {
                id: uuid_col(&id, "visits")?,
                case_id: uuid_col(&case_id, "visits")?,
            });
        }
        Ok(out)
    }

    pub(super) fn team_cases_of(&self, supervisor: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached("SELECT body FROM cases WHERE supervisor_id = ?1 ORDER BY id")
            .map_err(db)?;
        let rows = stmt
            .query_map([supervisor.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let body = row.map_err(db)?;
            out.push(CaseRecord {
                case: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: Some(supervisor),
            });
        }
        Ok(out)
    }

    pub(super) fn supervisors_all(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.users_where(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 WHERE role = ?1 ORDER BY username",
            [Role::Supervisor.code()],
        )
    }
}
