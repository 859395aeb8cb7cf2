//! Device registration over HTTP: a user registers their new phone's device
//! id with their own user name and password, and the device becomes active
//! and bound to them. Lost or retired phones are deactivated by an admin
//! (`deactivate-device`), which wipes them on their next sync.

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{RegisterDeviceRequest, RegisterDeviceResponse};

use doorstep_core::domain::DeviceId;

use crate::error::ServiceError;
use crate::service::{SERVER_NODE, check_password};
use crate::store::{self, AuditRecord, DeviceRecord, Lock, Store};

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
