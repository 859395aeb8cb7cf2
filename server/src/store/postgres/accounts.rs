//! Users and devices as an admin manages them, in the PostgreSQL store: who
//! is active, the password, the team, and what the server knows of each
//! device (when it was registered, last synced, deactivated and confirmed
//! its wipe).

use chrono::{DateTime, Utc};
use doorstep_core::domain::{DeviceId, UserId};

use super::db;
use super::rows::{col, user_from};
use super::tx::PgTx;
use crate::store::{
    CaseRecord, DeviceActivity, DeviceMark, DeviceRecord, DeviceSync, StoreError, UserRecord,
};

/// Migration to schema version 15: whether each user is active, what the
/// server knows of each device (its registration time filled from the audit
/// log where it has one), and the user name each sign-in attempt was made
/// under (so an admin's unlock forgives the name's failures counted against
/// an address too). Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
ALTER TABLE users ADD COLUMN IF NOT EXISTS active boolean NOT NULL DEFAULT true;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS registered_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS last_push_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS last_pull_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS pull_cursor bigint;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS protocol_version integer;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS deactivated_at timestamptz;
ALTER TABLE devices ADD COLUMN IF NOT EXISTS wipe_confirmed_at timestamptz;
ALTER TABLE sign_in_attempts ADD COLUMN IF NOT EXISTS name_key text;
UPDATE devices SET registered_at = (
    SELECT min(at) FROM audit WHERE target_kind = 'device' AND target_id = devices.id::text
        AND action IN ('register_device', 'create_device'))
    WHERE registered_at IS NULL;
";

/// Migration to schema version 17: the app version each device last named
/// (`Doorstep-App-Version`; none before its phone named one).
pub(super) const APP_VERSION_MIGRATION: &str = "
ALTER TABLE devices ADD COLUMN IF NOT EXISTS app_version text;
";

const DEVICES: &str = "devices";

fn number<T: TryFrom<i64>>(value: Option<i64>) -> Result<Option<T>, StoreError> {
    value
        .map(|v| T::try_from(v).map_err(|_| StoreError::Corrupt(DEVICES)))
        .transpose()
}

impl PgTx<'_> {
    pub(super) fn device_mark(
        &self,
        id: DeviceId,
        mark: DeviceMark,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = match mark {
            DeviceMark::Registered => {
                "UPDATE devices SET registered_at = coalesce(registered_at, $2) WHERE id = $1"
            }
            DeviceMark::Deactivated => {
                "UPDATE devices SET deactivated_at = coalesce(deactivated_at, $2) WHERE id = $1"
            }
            DeviceMark::WipeConfirmed => {
                "UPDATE devices SET wipe_confirmed_at = coalesce(wipe_confirmed_at, $2) WHERE id = $1"
            }
        };
        Ok(self.exec(sql, &[&id, &at]).map_err(db)? > 0)
    }

    pub(super) fn device_sync(
        &self,
        id: DeviceId,
        sync: DeviceSync,
        at: DateTime<Utc>,
        protocol: Option<u32>,
        app_version: Option<&str>,
    ) -> Result<(), StoreError> {
        let protocol = protocol.map(|p| i32::try_from(p).unwrap_or(i32::MAX));
        match sync {
            DeviceSync::Push => self.exec(
                "UPDATE devices SET last_push_at = $2,
                     protocol_version = coalesce($3, protocol_version),
                     app_version = coalesce($4, app_version) WHERE id = $1",
                &[&id, &at, &protocol, &app_version],
            ),
            DeviceSync::Pull { cursor } => {
                let cursor = i64::try_from(cursor).unwrap_or(i64::MAX);
                self.exec(
                    "UPDATE devices SET last_pull_at = $2, pull_cursor = $4,
                         protocol_version = coalesce($3, protocol_version),
                         app_version = coalesce($5, app_version) WHERE id = $1",
                    &[&id, &at, &protocol, &cursor, &app_version],
                )
            }
        }
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn device_activities_of(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<DeviceActivity>, StoreError> {
        self.query(
            "SELECT id, user_id, active, registered_at, last_push_at, last_pull_at,
                 pull_cursor, protocol_version, deactivated_at, wipe_confirmed_at, app_version
             FROM devices WHERE $1::uuid IS NULL OR user_id = $1 ORDER BY user_id, id",
            &[&user],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let protocol: Option<i32> = col(row, 7, DEVICES)?;
            Ok(DeviceActivity {
                device: DeviceRecord {
                    id: col(row, 0, DEVICES)?,
                    user: col(row, 1, DEVICES)?,
                    active: col(row, 2, DEVICES)?,
                },
                registered_at: col(row, 3, DEVICES)?,
                last_push_at: col(row, 4, DEVICES)?,
                last_pull_at: col(row, 5, DEVICES)?,
                pull_cursor: number(col(row, 6, DEVICES)?)?,
                protocol_version: number(protocol.map(i64::from))?,
                deactivated_at: col(row, 8, DEVICES)?,
                wipe_confirmed_at: col(row, 9, DEVICES)?,
                app_version: col(row, 10, DEVICES)?,
            })
        })
        .collect()
    }

    pub(super) fn users_all(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.query(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 ORDER BY username",
            &[],
        )
        .map_err(db)?
        .iter()
        .map(user_from)
        .collect()
    }

    pub(super) fn user_active_set(&self, id: UserId, active: bool) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET active = $2 WHERE id = $1",
                &[&id, &active],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn user_password_set(&self, id: UserId, hash: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET password_hash = $2 WHERE id = $1",
                &[&id, &hash],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn user_supervisor_set(
        &self,
        id: UserId,
        supervisor: Option<UserId>,
    ) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET supervisor_id = $2 WHERE id = $1",
                &[&id, &supervisor],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn user_tokens_revoke(&self, user: UserId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE tokens SET revoked = true WHERE user_id = $1 AND NOT revoked",
            &[&user],
        )
        .map_err(db)
    }

    pub(super) fn user_sessions_end(&self, user: UserId) -> Result<u64, StoreError> {
        self.exec(
            "UPDATE console_sessions SET ended = true WHERE user_id = $1 AND NOT ended",
            &[&user],
        )
        .map_err(db)
    }

    pub(super) fn primary_cases_of(&self, agent: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        self.query(
            "SELECT body, supervisor_id FROM cases WHERE primary_agent = $1 ORDER BY id",
            &[&agent],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let body: &str = col(row, 0, "cases")?;
            Ok(CaseRecord {
                case: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: col(row, 1, "cases")?,
            })
        })
        .collect()
    }
}
