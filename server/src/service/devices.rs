//! Device registration over HTTP: a user registers a new phone with their own
//! user name and password and gets an active device bound to them. Lost or
//! retired phones are deactivated by an admin (`deactivate-device`), which
//! wipes them on their next sync.

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{RegisterDeviceRequest, RegisterDeviceResponse};
use uuid::Uuid;

use crate::error::AppError;
use crate::service::check_password;
use crate::store::{self, AuditRecord, DeviceRecord, Store};

/// Registers a new device to the user whose credentials the request carries.
pub fn register_device(
    store: &dyn Store,
    request: &RegisterDeviceRequest,
    now: DateTime<Utc>,
) -> Result<RegisterDeviceResponse, AppError> {
    let user = check_password(store, &request.username, &request.password)?;
    let device_id = Uuid::now_v7();
    store::write(store, |tx| {
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
        Ok::<_, AppError>(())
    })?;
    Ok(RegisterDeviceResponse {
        device_id,
        user_id: user.id,
    })
}
