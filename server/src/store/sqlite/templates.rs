//! The published checklist templates as the admin's templates page lists
//! them, and their retirement, in the SQLite store.

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

use super::rows::{db, time_col};
use super::tx::SqliteTx;
use crate::store::{StoreError, TemplateVersion};

/// Migration 13: when a template version was retired.
pub(super) const MIGRATION: &str = "ALTER TABLE templates ADD COLUMN retired_at TEXT;";

const TABLE: &str = "templates";

impl SqliteTx<'_> {
    pub(super) fn template_list(&self) -> Result<Vec<TemplateVersion>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT t.key, t.version, (SELECT count(*) FROM visit_summaries s
                     WHERE json_extract(s.body, '$.template_key') = t.key
                       AND json_extract(s.body, '$.template_version') = t.version),
                     t.retired_at
                 FROM templates t ORDER BY t.key, t.version",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, version, visits, retired_at) = row.map_err(db)?;
            out.push(TemplateVersion {
                key,
                version: u32::try_from(version).map_err(|_| StoreError::Corrupt(TABLE))?,
                visits: u64::try_from(visits).unwrap_or_default(),
                retired_at: retired_at.map(|at| time_col(&at, TABLE)).transpose()?,
            });
        }
        Ok(out)
    }

    pub(super) fn template_retire(
        &self,
        key: &str,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE templates SET retired_at = ?3
                     WHERE key = ?1 AND version = ?2 AND retired_at IS NULL",
                params![key, version, at.to_rfc3339()],
            )
            .map_err(db)?;
        Ok(n == 1)
    }

    pub(super) fn template_retirement(
        &self,
        key: &str,
        version: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<Option<String>> = self
            .row(
                "SELECT retired_at FROM templates WHERE key = ?1 AND version = ?2",
                params![key, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        at.flatten().map(|at| time_col(&at, TABLE)).transpose()
    }
}
