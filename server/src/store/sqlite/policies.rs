//! The published versions of the bank's field policy, in the SQLite store.

use chrono::{DateTime, Utc};
use doorstep_core::policy::{Policy, PublishedPolicy};
use rusqlite::{OptionalExtension, params};

use super::rows::{db, time_col};
use super::tx::SqliteTx;
use crate::store::StoreError;

/// Migration to schema version 7: the policy's versions.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS policies (
    version INTEGER PRIMARY KEY, body TEXT NOT NULL, published_at TEXT NOT NULL
);
";

const TABLE: &str = "policies";

fn read(version: i64, body: &str) -> Result<PublishedPolicy, StoreError> {
    Ok(PublishedPolicy {
        version: u32::try_from(version).map_err(|_| StoreError::Corrupt(TABLE))?,
        policy: serde_json::from_str::<Policy>(body).map_err(|_| StoreError::Corrupt(TABLE))?,
    })
}

impl SqliteTx<'_> {
    pub(super) fn policy_insert(
        &self,
        published: &PublishedPolicy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let body =
            serde_json::to_string(&published.policy).map_err(|_| StoreError::Corrupt(TABLE))?;
        let inserted = self
            .exec(
                "INSERT OR IGNORE INTO policies (version, body, published_at) VALUES (?1, ?2, ?3)",
                params![published.version, body, at.to_rfc3339()],
            )
            .map_err(db)?;
        Ok(inserted == 1)
    }

    pub(super) fn policy_of(&self, version: u32) -> Result<Option<PublishedPolicy>, StoreError> {
        let body: Option<String> = self
            .row(
                "SELECT body FROM policies WHERE version = ?1",
                [version],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        body.map(|body| read(i64::from(version), &body)).transpose()
    }

    pub(super) fn policies_newest(
        &self,
        limit: u32,
    ) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT version, body, published_at FROM policies ORDER BY version DESC LIMIT ?1",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (version, body, at) = row.map_err(db)?;
            out.push((read(version, &body)?, time_col(&at, TABLE)?));
        }
        Ok(out)
    }
}
