//! The sign-in attempts the login limit counts ([`crate::login_limit`]), in
//! the PostgreSQL store: one table for every replica, so the limit holds for
//! all of them together and survives restarts.

use chrono::{DateTime, Utc};

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{SignInAttempt, StoreError};

/// Migration to schema version 5: the sign-in attempts counted per limit key
/// (a user name's SHA-256 or a client address), failed or in progress.
/// Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS sign_in_attempts (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, limit_key text NOT NULL,
    at timestamptz NOT NULL, in_progress boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_key ON sign_in_attempts (limit_key, at);
CREATE INDEX IF NOT EXISTS sign_in_attempts_by_time ON sign_in_attempts (at);
";

const TABLE: &str = "sign_in_attempts";

fn id_param(id: u64) -> Result<i64, StoreError> {
    i64::try_from(id).map_err(|_| StoreError::Corrupt(TABLE))
}

impl PgTx<'_> {
    pub(super) fn sign_in_attempts_of(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SignInAttempt>, StoreError> {
        self.query(
            "SELECT id, at, in_progress FROM sign_in_attempts
                 WHERE limit_key = $1 AND at > $2 ORDER BY at, id",
            &[&key, &since],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let id: i64 = col(row, 0, TABLE)?;
            Ok(SignInAttempt {
                id: u64::try_from(id).map_err(|_| StoreError::Corrupt(TABLE))?,
                at: col(row, 1, TABLE)?,
                in_progress: col(row, 2, TABLE)?,
            })
        })
        .collect()
    }

    pub(super) fn sign_in_attempt_insert(
        &self,
        key: &str,
        name_key: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let row = self
            .query_opt(
                "INSERT INTO sign_in_attempts (limit_key, at, in_progress, name_key)
                     VALUES ($1, $2, true, $3) RETURNING id",
                &[&key, &at, &name_key],
            )
            .map_err(db)?
            .ok_or(StoreError::NoResult)?;
        let id: i64 = col(&row, 0, TABLE)?;
        u64::try_from(id).map_err(|_| StoreError::Corrupt(TABLE))
    }

    pub(super) fn sign_in_attempt_fail(&self, id: u64) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE sign_in_attempts SET in_progress = false WHERE id = $1",
                &[&id_param(id)?],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn sign_in_attempt_delete(&self, id: u64) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "DELETE FROM sign_in_attempts WHERE id = $1",
                &[&id_param(id)?],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn sign_in_attempts_clear(
        &self,
        key: &str,
        in_progress_too: bool,
    ) -> Result<u64, StoreError> {
        self.exec(
            "DELETE FROM sign_in_attempts WHERE limit_key = $1 AND (NOT in_progress OR $2)",
            &[&key, &in_progress_too],
        )
        .map_err(db)
    }

    pub(super) fn sign_in_attempts_forgive(&self, name_key: &str) -> Result<u64, StoreError> {
        self.exec(
            "DELETE FROM sign_in_attempts WHERE limit_key = $1 OR name_key = $1",
            &[&name_key],
        )
        .map_err(db)
    }

    pub(super) fn sign_in_attempts_forget(
        &self,
        before: DateTime<Utc>,
        keep: u64,
    ) -> Result<u64, StoreError> {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        self.exec(
            "DELETE FROM sign_in_attempts WHERE at <= $1
                 OR id <= (SELECT coalesce(max(id), 0) FROM sign_in_attempts) - $2",
            &[&before, &keep],
        )
        .map_err(db)
    }
}
