//! Which visits refer to which attachment bytes, who declared them and who
//! sent them, in the PostgreSQL store.

use doorstep_core::domain::DeviceId;

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{AttachmentRef, StoreError};

/// Migration to schema version 6: each reference names the device whose
/// entry declared it (rebuilt from the admitted `attached` entries), and the
/// devices that sent an attachment's bytes are kept. References made before
/// count their authors as having sent the bytes. Idempotent, like every
/// migration here.
pub(super) const MIGRATION: &str = "
ALTER TABLE attachment_refs ADD COLUMN IF NOT EXISTS author uuid;
DELETE FROM attachment_refs WHERE author IS NULL;
ALTER TABLE attachment_refs ALTER COLUMN author SET NOT NULL;
ALTER TABLE attachment_refs DROP CONSTRAINT IF EXISTS attachment_refs_pkey;
ALTER TABLE attachment_refs ADD PRIMARY KEY (sha256, visit_id, author);
INSERT INTO attachment_refs (sha256, visit_id, author, size_bytes)
    SELECT (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256', visit_id, author,
           ((body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes')::bigint
    FROM visit_entries
    WHERE rejected IS NULL AND body::jsonb ->> 'kind' = 'attached'
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'sha256' IS NOT NULL
      AND (body::jsonb ->> 'payload')::jsonb -> 'attachment' ->> 'size_bytes' IS NOT NULL
    ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS attachment_uploads (
    sha256 text NOT NULL, device_id uuid NOT NULL, PRIMARY KEY (sha256, device_id)
);
INSERT INTO attachment_uploads (sha256, device_id)
    SELECT sha256, author FROM attachment_refs
    ON CONFLICT DO NOTHING;
";

const REFS: &str = "attachment_refs";
const UPLOADS: &str = "attachment_uploads";

impl PgTx<'_> {
    pub(super) fn attachment_record(&self, reference: &AttachmentRef) -> Result<(), StoreError> {
        let size = i64::try_from(reference.size_bytes).map_err(|_| StoreError::Corrupt(REFS))?;
        self.exec(
            "INSERT INTO attachment_refs (sha256, visit_id, author, size_bytes)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            &[
                &reference.sha256,
                &reference.visit_id,
                &reference.author,
                &size,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn attachment_refs_of(
        &self,
        sha256: &str,
    ) -> Result<Vec<AttachmentRef>, StoreError> {
        self.query(
            "SELECT visit_id, author, size_bytes FROM attachment_refs WHERE sha256 = $1
                 ORDER BY visit_id, author",
            &[&sha256],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let size: i64 = col(row, 2, REFS)?;
            Ok(AttachmentRef {
                sha256: sha256.to_owned(),
                visit_id: col(row, 0, REFS)?,
                author: col(row, 1, REFS)?,
                size_bytes: u64::try_from(size).map_err(|_| StoreError::Corrupt(REFS))?,
            })
        })
        .collect()
    }

    pub(super) fn upload_record(&self, sha256: &str, device: DeviceId) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO attachment_uploads (sha256, device_id) VALUES ($1, $2)
                 ON CONFLICT DO NOTHING",
            &[&sha256, &device],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn uploaders_of(&self, sha256: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.query(
            "SELECT device_id FROM attachment_uploads WHERE sha256 = $1 ORDER BY device_id",
            &[&sha256],
        )
        .map_err(db)?
        .iter()
        .map(|row| col(row, 0, UPLOADS))
        .collect()
    }
}
