//! Refresh credentials in the SQLite store ([`crate::store::RefreshRecord`]):
//! kept as SHA-256, bound to a device, each pointing at the one that replaced
//! it; and revoking a device's bearer tokens.

use rusqlite::{OptionalExtension, params};

use super::rows::{conflict, db, time_col, uuid_col};
use super::tx::SqliteTx;
use crate::store::{RefreshRecord, StoreError};
use doorstep_core::domain::{DeviceId, UserId};

/// Schema version 14: refresh credentials, found by their digest, by device
/// (revoking a device's sign-in) and by user (revoking a user's).
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS refresh_credentials (
    credential_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id),
    user_id TEXT NOT NULL REFERENCES users(id), issued_at TEXT NOT NULL,
    expires_at TEXT NOT NULL, replaced_by TEXT, revoked INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_device ON refresh_credentials (device_id);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_user ON refresh_credentials (user_id);
CREATE INDEX IF NOT EXISTS tokens_by_device ON tokens (device_id);
";

const TABLE: &str = "refresh_credentials";

/// A count of changed rows.
fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl SqliteTx<'_> {
    pub(super) fn refresh_insert(&self, credential: &RefreshRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO refresh_credentials
                 (credential_sha256, device_id, user_id, issued_at, expires_at, replaced_by, revoked)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                credential.credential_sha256,
                credential.device.to_string(),
                credential.user.to_string(),
                credential.issued_at.to_rfc3339(),
                credential.expires_at.to_rfc3339(),
                credential.replaced_by,
                credential.revoked
            ],
        )
        .map_err(|e| conflict(e, "refresh credential"))?;
        Ok(())
    }

    pub(super) fn refresh_get(&self, digest: &str) -> Result<Option<RefreshRecord>, StoreError> {
        type Row = (String, String, String, String, Option<String>, bool);
        let row: Option<Row> = self
            .row(
                "SELECT device_id, user_id, issued_at, expires_at, replaced_by, revoked
                     FROM refresh_credentials WHERE credential_sha256 = ?1",
                [digest],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                    ))
                },
            )
            .optional()
            .map_err(db)?;
        row.map(|(device, user, issued, expires, replaced_by, revoked)| {
            Ok(RefreshRecord {
                credential_sha256: digest.to_owned(),
                device: uuid_col(&device, TABLE)?,
                user: uuid_col(&user, TABLE)?,
                issued_at: time_col(&issued, TABLE)?,
                expires_at: time_col(&expires, TABLE)?,
                replaced_by,
                revoked,
            })
        })
        .transpose()
    }

    pub(super) fn refresh_replace(&self, digest: &str, by: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE refresh_credentials SET replaced_by = ?2 WHERE credential_sha256 = ?1",
                params![digest, by],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn refresh_revoke(&self, digest: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE refresh_credentials SET revoked = 1 WHERE credential_sha256 = ?1",
                [digest],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn refresh_revoke_device(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE refresh_credentials SET revoked = 1 WHERE device_id = ?1 AND revoked = 0",
            [device.to_string()],
        )
        .map(count)
        .map_err(db)
    }

    pub(super) fn refresh_revoke_user(&self, user: UserId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE refresh_credentials SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
            [user.to_string()],
        )
        .map(count)
        .map_err(db)
    }

    pub(super) fn tokens_revoke_device(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE tokens SET revoked = 1 WHERE device_id = ?1 AND revoked = 0",
            [device.to_string()],
        )
        .map(count)
        .map_err(db)
    }
}
