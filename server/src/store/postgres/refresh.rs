//! Refresh credentials in the PostgreSQL store
//! ([`crate::store::RefreshRecord`]): kept as SHA-256, bound to a device,
//! each pointing at the one that replaced it; and revoking a device's bearer
//! tokens.

use doorstep_core::domain::{DeviceId, UserId};

use super::rows::col;
use super::tx::PgTx;
use super::{conflict, db};
use crate::store::{RefreshRecord, StoreError};

/// Migration to schema version 14: refresh credentials, found by their
/// digest, by device (revoking a device's sign-in) and by user (revoking a
/// user's). Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS refresh_credentials (
    credential_sha256 text PRIMARY KEY, device_id uuid NOT NULL REFERENCES devices(id),
    user_id uuid NOT NULL REFERENCES users(id), issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, replaced_by text, revoked boolean NOT NULL
);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_device ON refresh_credentials (device_id);
CREATE INDEX IF NOT EXISTS refresh_credentials_by_user ON refresh_credentials (user_id);
CREATE INDEX IF NOT EXISTS tokens_by_device ON tokens (device_id);
";

const TABLE: &str = "refresh_credentials";

impl PgTx<'_> {
    pub(super) fn refresh_insert(&self, credential: &RefreshRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO refresh_credentials
                 (credential_sha256, device_id, user_id, issued_at, expires_at, replaced_by, revoked)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &credential.credential_sha256,
                &credential.device,
                &credential.user,
                &credential.issued_at,
                &credential.expires_at,
                &credential.replaced_by,
                &credential.revoked,
            ],
        )
        .map_err(|e| conflict(e, "refresh credential"))?;
        Ok(())
    }

    pub(super) fn refresh_get(&self, digest: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.query_opt(
            "SELECT device_id, user_id, issued_at, expires_at, replaced_by, revoked
                 FROM refresh_credentials WHERE credential_sha256 = $1",
            &[&digest],
        )
        .map_err(db)?
        .map(|row| {
            Ok(RefreshRecord {
                credential_sha256: digest.to_owned(),
                device: col(&row, 0, TABLE)?,
                user: col(&row, 1, TABLE)?,
                issued_at: col(&row, 2, TABLE)?,
                expires_at: col(&row, 3, TABLE)?,
                replaced_by: col(&row, 4, TABLE)?,
                revoked: col(&row, 5, TABLE)?,
            })
        })
        .transpose()
    }

    pub(super) fn refresh_replace(&self, digest: &str, by: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE refresh_credentials SET replaced_by = $2 WHERE credential_sha256 = $1",
                &[&digest, &by],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn refresh_revoke(&self, digest: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE refresh_credentials SET revoked = true WHERE credential_sha256 = $1",
                &[&digest],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn refresh_revoke_device(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE refresh_credentials SET revoked = true WHERE device_id = $1 AND NOT revoked",
            &[&device],
        )
        .map_err(db)
    }

    pub(super) fn refresh_revoke_user(&self, user: UserId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE refresh_credentials SET revoked = true WHERE user_id = $1 AND NOT revoked",
            &[&user],
        )
        .map_err(db)
    }

    pub(super) fn tokens_revoke_device(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE tokens SET revoked = true WHERE device_id = $1 AND NOT revoked",
            &[&device],
        )
        .map_err(db)
    }
}
