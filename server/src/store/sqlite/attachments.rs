//! Which visits refer to which attachment bytes, who declared them and who
//! sent them, in the SQLite store.

use doorstep_core::domain::DeviceId;
use rusqlite::params;

use super::rows::{db, uuid_col};
use super::tx::SqliteTx;
use crate::store::{AttachmentRef, StoreError};

/// Migration to schema version 5: each reference names the device whose
/// entry declared it (rebuilt from the admitted `attached` entries), and the
/// devices that sent an attachment's bytes are kept. References made before
/// count their authors as having sent the bytes.
pub(super) const MIGRATION: &str = "
CREATE TABLE attachment_refs_by_author (
    sha256 TEXT NOT NULL, visit_id TEXT NOT NULL, author TEXT NOT NULL,
    size_bytes INTEGER NOT NULL, PRIMARY KEY (sha256, visit_id, author)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_refs_by_author (sha256, visit_id, author, size_bytes)
    SELECT json_extract(json_extract(body, '$.payload'), '$.attachment.sha256'), visit_id,
           author, json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes')
    FROM visit_entries
    WHERE rejected IS NULL AND json_extract(body, '$.kind') = 'attached'
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.sha256') IS NOT NULL
      AND json_extract(json_extract(body, '$.payload'), '$.attachment.size_bytes') IS NOT NULL;
DROP TABLE attachment_refs;
ALTER TABLE attachment_refs_by_author RENAME TO attachment_refs;
CREATE TABLE IF NOT EXISTS attachment_uploads (
    sha256 TEXT NOT NULL, device_id TEXT NOT NULL, PRIMARY KEY (sha256, device_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO attachment_uploads (sha256, device_id)
    SELECT sha256, author FROM attachment_refs;
";

const REFS: &str = "attachment_refs";
const UPLOADS: &str = "attachment_uploads";

impl SqliteTx<'_> {
    pub(super) fn attachment_record(&self, reference: &AttachmentRef) -> Result<(), StoreError> {
        let size = i64::try_from(reference.size_bytes).map_err(|_| StoreError::Corrupt(REFS))?;
        self.exec(
            "INSERT OR IGNORE INTO attachment_refs (sha256, visit_id, author, size_bytes)
                 VALUES (?1, ?2, ?3, ?4)",
            params![
                reference.sha256,
                reference.visit_id.to_string(),
                reference.author.to_string(),
                size
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn attachment_refs_of(
        &self,
        sha256: &str,
    ) -> Result<Vec<AttachmentRef>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT visit_id, author, size_bytes FROM attachment_refs WHERE sha256 = ?1
                 ORDER BY visit_id, author",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([sha256], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (visit, author, size) = row.map_err(db)?;
            out.push(AttachmentRef {
                sha256: sha256.to_owned(),
                visit_id: uuid_col(&visit, REFS)?,
                size_bytes: u64::try_from(size).map_err(|_| StoreError::Corrupt(REFS))?,
                author: uuid_col(&author, REFS)?,
            });
        }
        Ok(out)
    }

    pub(super) fn upload_record(&self, sha256: &str, device: DeviceId) -> Result<(), StoreError> {
        self.exec(
            "INSERT OR IGNORE INTO attachment_uploads (sha256, device_id) VALUES (?1, ?2)",
            params![sha256, device.to_string()],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn uploaders_of(&self, sha256: &str) -> Result<Vec<DeviceId>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT device_id FROM attachment_uploads WHERE sha256 = ?1 ORDER BY device_id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([sha256], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(uuid_col(&row.map_err(db)?, UPLOADS)?);
        }
        Ok(out)
    }
}
