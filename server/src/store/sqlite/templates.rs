//! The published checklist templates as the admin's templates page lists
//! them, in the SQLite store.

use super::rows::db;
use super::tx::SqliteTx;
use crate::store::{StoreError, TemplateVersion};

impl SqliteTx<'_> {
    pub(super) fn template_list(&self) -> Result<Vec<TemplateVersion>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT t.key, t.version, (SELECT count(*) FROM visit_summaries s
                     WHERE json_extract(s.body, '$.template_key') = t.key
                       AND json_extract(s.body, '$.template_version') = t.version)
                 FROM templates t ORDER BY t.key, t.version",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (key, version, visits) = row.map_err(db)?;
            out.push(TemplateVersion {
                key,
                version: u32::try_from(version).map_err(|_| StoreError::Corrupt("templates"))?,
                visits: u64::try_from(visits).unwrap_or_default(),
            });
        }
        Ok(out)
    }
}
