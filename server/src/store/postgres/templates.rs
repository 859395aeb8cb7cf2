//! The published checklist templates as the admin's templates page lists
//! them, in the PostgreSQL store.

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{StoreError, TemplateVersion};

impl PgTx<'_> {
    pub(super) fn template_list(&self) -> Result<Vec<TemplateVersion>, StoreError> {
        self.query(
            "SELECT t.key, t.version, (SELECT count(*) FROM visit_summaries s
                 WHERE (s.body::jsonb ->> 'template_key') = t.key
                   AND (s.body::jsonb ->> 'template_version')::bigint = t.version)
             FROM templates t ORDER BY t.key, t.version",
            &[],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let version: i64 = col(row, 1, "templates")?;
            let visits: i64 = col(row, 2, "templates")?;
            Ok(TemplateVersion {
                key: col::<String>(row, 0, "templates")?,
                version: u32::try_from(version).map_err(|_| StoreError::Corrupt("templates"))?,
                visits: u64::try_from(visits).unwrap_or_default(),
            })
        })
        .collect()
    }
}
