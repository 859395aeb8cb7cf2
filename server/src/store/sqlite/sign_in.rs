//! The sign-in attempts the login limit counts ([`crate::login_limit`]), in
//! the SQLite store. Times are milliseconds since the Unix epoch, so the
//! window is one indexed range.

use chrono::{DateTime, Utc};
use rusqlite::params;

use super::rows::db;
use super::tx::SqliteTx;
use crate::store::{SignInAttempt, StoreError};

/// Migration to schema version 4: the sign-in attempts counted per limit key
/// (a user name's SHA-256 or a client address), failed or in progress.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS sign_in_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, limit_key TEXT NOT NULL, at_ms INTEGER NOT NULL,
    in_progress INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_key ON sign_in_attempts (limit_key, at_ms);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_time ON sign_in_attempts (at_ms);
";

const TABLE: &str = "sign_in_attempts";

fn id_param(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::Corrupt(TABLE))
}

impl SqliteTx<'_> {
    pub(super) fn sign_in_attempts_of(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SignInAttempt>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT id, at_ms, in_progress FROM sign_in_attempts
                     WHERE limit_key = ?1 AND at_ms > ?2 ORDER BY at_ms, id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(params![key, since.timestamp_millis()], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, bool>(2)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at_ms, in_progress) = row.map_err(db)?;
            out.push(SignInAttempt {
                id: u64::try_from(id).map_err(|_| StoreError::Corrupt(TABLE))?,
                at: DateTime::from_timestamp_millis(at_ms).ok_or(StoreError::Corrupt(TABLE))?,
                in_progress,
            });
        }
        Ok(out)
    }

    pub(super) fn sign_in_attempt_insert(
        &self,
        key: &str,
        name_key: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.exec(
            "INSERT INTO sign_in_attempts (limit_key, at_ms, in_progress, name_key)
                 VALUES (?1, ?2, 1, ?3)",
            params![key, at.timestamp_millis(), name_key],
        )
        .map_err(db)?;
        u64::try_from(self.0.last_insert_rowid()).map_err(|_| StoreError::Corrupt(TABLE))
    }

    pub(super) fn sign_in_attempt_fail(&self, id: u64) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE sign_in_attempts SET in_progress = 0 WHERE id = ?1",
                [id_param(id)?],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn sign_in_attempt_delete(&self, id: u64) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM sign_in_attempts WHERE id = ?1",
                [id_param(id)?],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn sign_in_attempts_clear(
        &self,
        key: &str,
        in_progress_too: bool,
    ) -> Result<u64, StoreError> {
        let n = self
            .exec(
                "DELETE FROM sign_in_attempts WHERE limit_key = ?1 AND (in_progress = 0 OR ?2)",
                params![key, in_progress_too],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    pub(super) fn sign_in_attempts_forgive(&self, name_key: &str) -> Result<u64, StoreError> {
        let n = self
            .exec(
                "DELETE FROM sign_in_attempts WHERE limit_key = ?1 OR name_key = ?1",
                [name_key],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    pub(super) fn sign_in_attempts_forget(
        &self,
        before: DateTime<Utc>,
        keep: u64,
    ) -> Result<u64, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let n = self
            .exec(
                "DELETE FROM sign_in_attempts WHERE at_ms <= ?1
                     OR id <= (SELECT coalesce(max(id), 0) FROM sign_in_attempts) - ?2",
                params![before.timestamp_millis(), keep],
            )
            .map_err(db)?;
        Ok(n as u64)
    }
}
