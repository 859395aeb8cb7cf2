//! The published checklist templates as the admin's templates page lists
//! them, and their retirement, in the PostgreSQL store.

use chrono::{DateTime, Utc};

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{StoreError, TemplateVersion};

/// Migration 13: when a template version was retired. Idempotent, like
/// every migration here.
pub(super) const MIGRATION: &str =
    "ALTER TABLE templates ADD COLUMN IF NOT EXISTS retired_at timestamptz;";

const TABLE: &str = "templates";

impl PgTx<'_> {
    pub(super) fn template_list(&self) -> Result<Vec<TemplateVersion>, StoreError> {
        self.query(
            "SELECT t.key, t.version, (SELECT count(*) FROM visit_summaries s
                 WHERE (s.body::jsonb ->> 'template_key') = t.key
                   AND (s.body::jsonb ->> 'template_version')::bigint = t.version),
                 t.retired_at
             FROM templates t ORDER BY t.key, t.version",
            &[],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let version: i64 = col(row, 1, TABLE)?;
            let visits: i64 = col(row, 2, TABLE)?;
            Ok(TemplateVersion {
                key: col::<String>(row, 0, TABLE)?,
                version: u32::try_from(version).map_err(|_| StoreError::Corrupt(TABLE))?,
                visits: u64::try_from(visits).unwrap_or_default(),
                retired_at: col(row, 3, TABLE)?,
            })
        })
        .collect()
    }

    pub(super) fn template_retire(
        &self,
        key: &str,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if key.contains('\0') {
            return Ok(false);
        }
        let n = self
            .exec(
                "UPDATE templates SET retired_at = $3
                     WHERE key = $1 AND version = $2 AND retired_at IS NULL",
                &[&key, &i64::from(version), &at],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    pub(super) fn template_retirement(
        &self,
        key: &str,
        version: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if key.contains('\0') {
            return Ok(None);
        }
        match self
            .query_opt(
                "SELECT retired_at FROM templates WHERE key = $1 AND version = $2",
                &[&key, &i64::from(version)],
            )
            .map_err(db)?
        {
            Some(row) => col(&row, 0, TABLE),
            None => Ok(None),
        }
    }
}
