//! Devices: registration over HTTP (a user registers their new phone's
//! device id with their own user name and password, and the device becomes
//! active and bound to them), registration by an admin (`create-device`),
//! what the server knows of each device for the console's devices page, and
//! deactivation: a lost or retired phone deactivated by an admin (from the
//! command line or the console, one implementation) pushes what it holds on
//! its next sync, wipes its customer data, and says so
//! ([`confirm_wipe`]).

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{RegisterDeviceRequest, RegisterDeviceResponse};

use doorstep_core::domain::{DeviceId, UserId};

use crate::error::{Missing, ServiceError};
use crate::service::users::{Actor, user_named};
use crate::service::{SERVER_NODE, Session, audit, check_password};
use crate::store::{
    self, AuditRecord, DeviceActivity, DeviceMark, DeviceRecord, DeviceSync, Lock, Store, StoreTx,
};

/// Refuses the ids no device may have (`422 invalid_device_id`): the nil and
/// max UUIDs, and [`SERVER_NODE`], the author of the server's own log entries
/// (a device with that id could write entries that read as the server's,
/// such as a supervisor's approval).
pub fn check_device_id(device_id: DeviceId) -> Result<(), ServiceError> {
    if device_id.is_nil() || device_id.is_max() || device_id == SERVER_NODE {
        return Err(ServiceError::InvalidDeviceId);
    }
    Ok(())
}

/// Registers the request's device to the user whose credentials it carries.
/// Registering a device that is already this user's and active again
/// succeeds (a retry after a lost answer); a device of another user is a
/// conflict, and a deactivated one stays deactivated. Reserved ids are
/// refused ([`check_device_id`]).
pub fn register_device(
    store: &dyn Store,
    request: &RegisterDeviceRequest,
    now: DateTime<Utc>,
) -> Result<RegisterDeviceResponse, ServiceError> {
    let user = check_password(store, &request.username, &request.password)?;
    let device_id = request.device_id;
    check_device_id(device_id)?;
    store::write(store, |tx| {
        tx.lock(Lock::Device(device_id))?;
        match tx.device(device_id)? {
            None => {}
            Some(device) if device.user != user.id => {
                return Err(ServiceError::DeviceTaken);
            }
            Some(device) if !device.active => {
                return Err(ServiceError::DeviceDeactivated);
            }
            Some(_) => return Ok(()),
        }
        tx.insert_device(&DeviceRecord {
            id: device_id,
            user: user.id,
            active: true,
        })?;
        tx.mark_device(device_id, DeviceMark::Registered, now)?;
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(user.id),
            device: Some(device_id),
            action: "register_device".into(),
            target_kind: "device".into(),
            target_id: device_id.to_string(),
            code: None,
        })?;
        Ok(())
    })?;
    Ok(RegisterDeviceResponse {
        device_id,
        user_id: user.id,
    })
}

/// Registers a device to a user as `actor`. The server's own author id and
/// the nil and max UUIDs are refused (`422 invalid_device_id`). Audited as
/// `create_device`.
pub fn create_device_as(
    store: &dyn Store,
    actor: Actor<'_>,
    username: &str,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    actor.check()?;
    check_device_id(device)?;
    store::write(store, |tx| {
        let user = user_named(tx, username)?;
        tx.insert_device(&DeviceRecord {
            id: device,
            user: user.id,
            active: true,
        })?;
        tx.mark_device(device, DeviceMark::Registered, now)?;
        actor.audit(tx, now, "create_device", "device", device)
    })
}

/// Registers a device from the command line ([`create_device_as`]).
pub fn create_device(
    store: &dyn Store,
    username: &str,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    create_device_as(store, Actor::CommandLine, username, device, now)
}

/// Deactivates a device as `actor`: its next pull tells it it is
/// deactivated, and it pushes what it still holds, uploads its photos, wipes
/// its customer data and confirms the wipe ([`confirm_wipe`]). Its token
/// keeps working for that last push. Deactivating it again changes nothing
/// (the first time is kept). Audited as `deactivate_device`.
pub fn deactivate_device_as(
    store: &dyn Store,
    actor: Actor<'_>,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    actor.check()?;
    store::write(store, |tx| {
        tx.lock(Lock::Device(device))?;
        if tx.device(device)?.is_none() {
            return Err(ServiceError::NotFound(Missing::Device(device)));
        }
        tx.set_device_active(device, false)?;
        // Its token works until it expires, for the last push; no new one.
        tx.revoke_device_refresh(device)?;
        tx.mark_device(device, DeviceMark::Deactivated, now)?;
        actor.audit(tx, now, "deactivate_device", "device", device)
    })
}

/// Deactivates a device from the command line ([`deactivate_device_as`]).
pub fn deactivate_device(
    store: &dyn Store,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    deactivate_device_as(store, Actor::CommandLine, device, now)
}

/// `POST /v1/devices/wiped`: a deactivated device says it wiped its
/// customer data. The time of the first confirmation is kept, and each is
/// audited as `confirm_wipe`; an active device has nothing to confirm
/// (`409 device_active`).
pub fn confirm_wipe(
    store: &dyn Store,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        tx.lock(Lock::Device(session.device.id))?;
        let device = tx
            .device(session.device.id)?
            .ok_or(ServiceError::DeviceNotRegistered)?;
        if device.active {
            return Err(ServiceError::DeviceActive);
        }
        tx.mark_device(device.id, DeviceMark::WipeConfirmed, now)?;
        audit(tx, now, Some(session), "confirm_wipe", "device", device.id)
    })
}

/// Remembers, in the transaction of a push or a pull, that the session's
/// device synced at `now`, with the protocol and app versions it named.
pub fn note_sync(
    tx: &dyn StoreTx,
    session: &Session,
    sync: DeviceSync,
    protocol: Option<u32>,
    app_version: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    tx.note_device_sync(session.device.id, sync, now, protocol, app_version)?;
    Ok(())
}

/// A device as the devices page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedDevice {
    /// What the server knows of it.
    pub activity: DeviceActivity,
    /// Its user's name.
    pub username: String,
    /// How many feed rows were added after its last pull reached (a measure
    /// of what it has yet to receive, counting rows it will not be shown);
    /// `None` before its first pull.
    pub feed_behind: Option<u64>,
}

/// Every device of `user` (every device when `None`), by user name then
/// device id, as `actor` may list them.
pub fn list_devices(
    store: &dyn Store,
    actor: Actor<'_>,
    user: Option<UserId>,
) -> Result<Vec<ListedDevice>, ServiceError> {
    actor.check()?;
    store::read(store, |tx| {
        let last = tx.feed_last()?;
        let names: std::collections::HashMap<UserId, String> = tx
            .users()?
            .into_iter()
            .map(|u| (u.id, u.username))
            .collect();
        let mut listed: Vec<ListedDevice> = tx
            .device_activities(user)?
            .into_iter()
            .map(|activity| ListedDevice {
                username: names
                    .get(&activity.device.user)
                    .cloned()
                    .unwrap_or_default(),
                feed_behind: activity.pull_cursor.map(|c| last.saturating_sub(c)),
                activity,
            })
            .collect();
        listed.sort_by(|a, b| {
            (a.username.as_str(), a.activity.device.id)
                .cmp(&(b.username.as_str(), b.activity.device.id))
        });
        Ok(listed)
    })
}
