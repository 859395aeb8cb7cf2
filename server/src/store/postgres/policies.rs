//! The published versions of the bank's field policy, in the PostgreSQL store.

use chrono::{DateTime, Utc};
use doorstep_core::policy::{Policy, PublishedPolicy};

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::StoreError;

/// Migration to schema version 8: the policy's versions. Idempotent, like
/// every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS policies (
    version bigint PRIMARY KEY, body text NOT NULL, published_at timestamptz NOT NULL
);
";

const TABLE: &str = "policies";

fn read(version: i64, body: &str) -> Result<PublishedPolicy, StoreError> {
    Ok(PublishedPolicy {
        version: u32::try_from(version).map_err(|_| StoreError::Corrupt(TABLE))?,
        policy: serde_json::from_str::<Policy>(body).map_err(|_| StoreError::Corrupt(TABLE))?,
    })
}

impl PgTx<'_> {
    pub(super) fn policy_insert(
        &self,
        published: &PublishedPolicy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let body =
            serde_json::to_string(&published.policy).map_err(|_| StoreError::Corrupt(TABLE))?;
        let inserted = self
            .exec(
                "INSERT INTO policies (version, body, published_at) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                &[&i64::from(published.version), &body, &at],
            )
            .map_err(db)?;
        Ok(inserted == 1)
    }

    pub(super) fn policy_of(&self, version: u32) -> Result<Option<PublishedPolicy>, StoreError> {
        self.query(
            "SELECT body FROM policies WHERE version = $1",
            &[&i64::from(version)],
        )
        .map_err(db)?
        .first()
        .map(|row| read(i64::from(version), col(row, 0, TABLE)?))
        .transpose()
    }

    pub(super) fn policies_newest(
        &self,
        limit: u32,
    ) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, StoreError> {
        self.query(
            "SELECT version, body, published_at FROM policies ORDER BY version DESC LIMIT $1",
            &[&i64::from(limit)],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let at: DateTime<Utc> = col(row, 2, TABLE)?;
            Ok((read(col(row, 0, TABLE)?, col(row, 1, TABLE)?)?, at))
        })
        .collect()
    }
}
