//! Users and devices as an admin manages them, in the SQLite store: who is
//! active, the password, the team, and what the server knows of each device
//! (when it was registered, last synced, deactivated and confirmed its wipe).

use chrono::{DateTime, Utc};
use doorstep_core::domain::{DeviceId, UserId};
use rusqlite::params;

use super::rows::{UserRow, db, time_col, user_from, uuid_col};
use super::tx::SqliteTx;
use crate::store::{
    CaseRecord, DeviceActivity, DeviceMark, DeviceRecord, DeviceSync, StoreError, UserRecord,
};

/// Migration to schema version 15: whether each user is active, what the
/// server knows of each device (its registration time filled from the audit
/// log where it has one), and the user name each sign-in attempt was made
/// under (so an admin's unlock forgives the name's failures counted against
/// an address too).
pub(super) const MIGRATION: &str = "
ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
ALTER TABLE devices ADD COLUMN registered_at TEXT;
ALTER TABLE devices ADD COLUMN last_push_at TEXT;
ALTER TABLE devices ADD COLUMN last_pull_at TEXT;
ALTER TABLE devices ADD COLUMN pull_cursor INTEGER;
ALTER TABLE devices ADD COLUMN protocol_version INTEGER;
ALTER TABLE devices ADD COLUMN deactivated_at TEXT;
ALTER TABLE devices ADD COLUMN wipe_confirmed_at TEXT;
ALTER TABLE sign_in_attempts ADD COLUMN name_key TEXT;
UPDATE devices SET registered_at = (
    SELECT min(at) FROM audit WHERE target_kind = 'device' AND target_id = devices.id
        AND action IN ('register_device', 'create_device'));
";

/// Migration to schema version 17: the app version each device last named
/// (`Doorstep-App-Version`; none before its phone named one).
pub(super) const APP_VERSION_MIGRATION: &str = "
ALTER TABLE devices ADD COLUMN app_version TEXT;
";

const DEVICES: &str = "devices";

fn time(text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| time_col(&t, DEVICES)).transpose()
}

fn number<T: TryFrom<i64>>(value: Option<i64>) -> Result<Option<T>, StoreError> {
    value
        .map(|v| T::try_from(v).map_err(|_| StoreError::Corrupt(DEVICES)))
        .transpose()
}

impl SqliteTx<'_> {
    pub(super) fn device_mark(
        &self,
        id: DeviceId,
        mark: DeviceMark,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let sql = match mark {
            DeviceMark::Registered => {
                "UPDATE devices SET registered_at = coalesce(registered_at, ?2) WHERE id = ?1"
            }
            DeviceMark::Deactivated => {
                "UPDATE devices SET deactivated_at = coalesce(deactivated_at, ?2) WHERE id = ?1"
            }
            DeviceMark::WipeConfirmed => {
                "UPDATE devices SET wipe_confirmed_at = coalesce(wipe_confirmed_at, ?2) WHERE id = ?1"
            }
        };
        let n = self
            .exec(sql, params![id.to_string(), at.to_rfc3339()])
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn device_sync(
        &self,
        id: DeviceId,
        sync: DeviceSync,
        at: DateTime<Utc>,
        protocol: Option<u32>,
        app_version: Option<&str>,
    ) -> Result<(), StoreError> {
        match sync {
            DeviceSync::Push => self.exec(
                "UPDATE devices SET last_push_at = ?2,
                     protocol_version = coalesce(?3, protocol_version),
                     app_version = coalesce(?4, app_version) WHERE id = ?1",
                params![id.to_string(), at.to_rfc3339(), protocol, app_version],
            ),
            DeviceSync::Pull { cursor } => self.exec(
                "UPDATE devices SET last_pull_at = ?2, pull_cursor = ?4,
                     protocol_version = coalesce(?3, protocol_version),
                     app_version = coalesce(?5, app_version) WHERE id = ?1",
                params![
                    id.to_string(),
                    at.to_rfc3339(),
                    protocol,
                    i64::try_from(cursor).unwrap_or(i64::MAX),
                    app_version
                ],
            ),
        }
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn device_activities_of(
        &self,
        user: Option<UserId>,
    ) -> Result<Vec<DeviceActivity>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT id, user_id, active, registered_at, last_push_at, last_pull_at,
                     pull_cursor, protocol_version, deactivated_at, wipe_confirmed_at, app_version
                 FROM devices WHERE ?1 IS NULL OR user_id = ?1 ORDER BY user_id, id",
            )
            .map_err(db)?;
        type Row = (
            String,
            String,
            bool,
            Option<String>,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let rows = stmt
            .query_map([user.map(|u| u.to_string())], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let row: Row = row.map_err(db)?;
            out.push(DeviceActivity {
                device: DeviceRecord {
                    id: uuid_col(&row.0, DEVICES)?,
                    user: uuid_col(&row.1, DEVICES)?,
                    active: row.2,
                },
                registered_at: time(row.3)?,
                last_push_at: time(row.4)?,
                last_pull_at: time(row.5)?,
                pull_cursor: number(row.6)?,
                protocol_version: number(row.7)?,
                deactivated_at: time(row.8)?,
                wipe_confirmed_at: time(row.9)?,
                app_version: row.10,
            });
        }
        Ok(out)
    }

    pub(super) fn users_all(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.users_where(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users
                 ORDER BY username",
            [],
        )
    }

    /// The users a query of the six user columns reads, in its order.
    pub(super) fn users_where(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<UserRecord>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql).map_err(db)?;
        let rows = stmt
            .query_map(params, |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let row: UserRow = row.map_err(db)?;
            out.push(user_from(row)?);
        }
        Ok(out)
    }

    pub(super) fn user_active_set(&self, id: UserId, active: bool) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET active = ?2 WHERE id = ?1",
                params![id.to_string(), active],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn user_password_set(&self, id: UserId, hash: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE users SET password_hash = ?2 WHERE id = ?1",
                params![id.to_string(), hash],
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
                "UPDATE users SET supervisor_id = ?2 WHERE id = ?1",
                params![id.to_string(), supervisor.map(|s| s.to_string())],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    pub(super) fn user_tokens_revoke(&self, user: UserId) -> Result<u64, StoreError> {
        let n = self
            .exec(
                "UPDATE tokens SET revoked = 1 WHERE user_id = ?1 AND revoked = 0",
                [user.to_string()],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    pub(super) fn user_sessions_end(&self, user: UserId) -> Result<u64, StoreError> {
        let n = self
            .exec(
                "UPDATE console_sessions SET ended = 1 WHERE user_id = ?1 AND ended = 0",
                [user.to_string()],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    pub(super) fn primary_cases_of(&self, agent: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT body, supervisor_id FROM cases WHERE primary_agent = ?1 ORDER BY id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([agent.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (body, supervisor) = row.map_err(db)?;
            out.push(CaseRecord {
                case: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: super::rows::opt_uuid(supervisor, "cases")?,
            });
        }
        Ok(out)
    }
}
