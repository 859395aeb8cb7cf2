//! Device registration over HTTP: a user registers their new phone's device
//! id with their own user name and password, and the device becomes active
//! and bound to them. Lost or retired phones are deactivated by an admin
//! (`deactivate-device`), which wipes them on their next sync.

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{RegisterDeviceRequest, RegisterDeviceResponse};

use crate::error::AppError;
use crate::service::check_password;
use crate::store::{self, AuditRecord, DeviceRecord, Store};

/// Registers the request's device to the user whose credentials it carries.
/// Registering a device that is already this user's and active again
/// succeeds (a retry after a lost answer); a device of another user is a
/// conflict, and a deactivated one stays deactivated.
pub fn register_device(
    store: &dyn Store,
    request: &RegisterDeviceRequest,
    now: DateTime<Utc>,
) -> Result<RegisterDeviceResponse, AppError> {
    let user = check_password(store, &request.username, &request.password)?;
    let device_id = request.device_id;
    if device_id.is_nil() || device_id.is_max() {
        return Err(AppError::unprocessable(
            "invalid_device_id",
            "the device id must be a real UUID",
        ));
    }
    store::write(store, |tx| {
        match tx.device(device_id)? {
            None => {}
            Some(device) if device.user != user.id => {
                return Err(AppError::conflict(
                    "device_taken",
                    "this device is registered to another user",
                ));
            }
            Some(device) if !device.active => {
                return Err(AppError::forbidden(
                    "device_deactivated",
                    "this device has been deactivated",
                ));
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
        })?;
        Ok(())
    })?;
    Ok(RegisterDeviceResponse {
        device_id,
        user_id: user.id,
    })
}
