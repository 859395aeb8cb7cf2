//! What the server does, written once against [`StoreTx`] so every storage
//! backend behaves the same: login and sessions here, then [`push`], [`pull`]
//! and [`review`], and attachment bytes in [`attachments`].

pub mod attachments;
pub mod chain;
pub mod chain_check;
pub mod devices;
pub mod plans;
pub mod policy;
pub mod promises;
pub mod pull;
pub mod push;
pub mod refresh;
pub mod repayments;
pub mod review;
pub mod server_entry;
pub mod summaries;
pub mod teams;
pub mod templates;
pub mod users;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::sync::protocol::{LoginRequest, LoginResponse};
use uuid::Uuid;

use crate::auth;
use crate::error::{ServiceError, Unauthenticated};
use crate::store::{self, AuditRecord, DeviceRecord, Store, StoreTx, TokenRecord, UserRecord};

/// The node id of the server's own clock and the author of its log entries
/// (supervisor reviews). Fixed, so every replica of the server writes one chain.
pub const SERVER_NODE: Uuid = Uuid::from_u128(0x0000_0000_0000_7000_8000_d00d_5e7e_0001);

/// An authenticated request: the user and the device its token is bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user.
    pub user: UserRecord,
    /// The device.
    pub device: DeviceRecord,
    /// SHA-256 of the bearer token the request came with.
    pub token_sha256: String,
}

/// Appends an audit row (ids only).
pub fn audit(
    tx: &dyn StoreTx,
    at: DateTime<Utc>,
    session: Option<&Session>,
    action: &str,
    target_kind: &str,
    target_id: impl ToString,
) -> Result<(), ServiceError> {
    tx.append_audit(&AuditRecord {
        at,
        user: session.map(|s| s.user.id),
        device: session.map(|s| s.device.id),
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id: target_id.to_string(),
        code: None,
    })?;
    Ok(())
}

/// Appends the audit row of a refused attempt: ids and the refusal's code.
pub fn audit_refused(
    tx: &dyn StoreTx,
    at: DateTime<Utc>,
    session: &Session,
    action: &str,
    target: (&str, String),
    code: &str,
) -> Result<(), ServiceError> {
    let (target_kind, target_id) = target;
    tx.append_audit(&AuditRecord {
        at,
        user: Some(session.user.id),
        device: Some(session.device.id),
        action: action.to_owned(),
        target_kind: target_kind.to_owned(),
        target_id,
        code: Some(code.to_owned()),
    })?;
    Ok(())
}

/// Checks a user's password and issues a token bound to one of their active
/// registered devices. With `with_refresh` (a phone of protocol version 4
/// on), also a refresh credential for the device ([`refresh`]), replacing
/// any it had.
pub fn login(
    store: &dyn Store,
    request: &LoginRequest,
    with_refresh: bool,
    now: DateTime<Utc>,
) -> Result<LoginResponse, ServiceError> {
    let user = check_password(store, &request.username, &request.password)?;
    // A reserved id registered before registration refused it signs in no more.
    devices::check_device_id(request.device_id)?;
    let token = auth::new_token()?;
    let expires_at = now + Duration::hours(auth::TOKEN_HOURS);
    let refresh_token = store::write(store, |tx| {
        tx.lock(store::Lock::Device(request.device_id))?;
        let device = tx.device(request.device_id)?;
        match device {
            Some(device) if device.user == user.id && device.active => {}
            Some(device) if device.user == user.id => {
                return Err(ServiceError::DeviceDeactivated);
            }
            _ => return Err(ServiceError::DeviceNotRegistered),
        }
        tx.insert_token(&TokenRecord {
            token_sha256: auth::token_digest(&token),
            device: request.device_id,
            user: user.id,
            expires_at,
            revoked: false,
        })?;
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(user.id),
            device: Some(request.device_id),
            action: "login".into(),
            target_kind: "device".into(),
            target_id: request.device_id.to_string(),
            code: None,
        })?;
        if !with_refresh {
            return Ok(None);
        }
        tx.revoke_device_refresh(request.device_id)?;
        refresh::issue(tx, request.device_id, user.id, now).map(Some)
    })?;
    Ok(LoginResponse {
        token,
        expires_at,
        user_id: user.id,
        role: user.role,
        refresh_token,
    })
}

/// The user with this name and password; any mismatch is the same `401`,
/// answered as slowly for an unknown name as for a wrong password. A user
/// an admin deactivated is refused after the right password (`403
/// user_deactivated`).
pub fn check_password(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<UserRecord, ServiceError> {
    let user = store::read(store, |tx| tx.user_by_name(username))?;
    let Some(user) = user else {
        auth::verify_nothing(password);
        return Err(ServiceError::Unauthenticated(
            Unauthenticated::WrongCredentials,
        ));
    };
    if !auth::verify_password(password, &user.password_hash) {
        return Err(ServiceError::Unauthenticated(
            Unauthenticated::WrongCredentials,
        ));
    }
    if !user.active {
        return Err(ServiceError::UserDeactivated);
    }
    Ok(user)
}

/// The session of a bearer token: unknown, expired and revoked tokens are
/// refused, and so are the tokens of a user an admin deactivated. A deactivated device still authenticates, so it can push what it
/// holds before it wipes; pulls tell it that it is deactivated.
pub fn authenticate(
    store: &dyn Store,
    token: &str,
    now: DateTime<Utc>,
) -> Result<Session, ServiceError> {
    let digest = auth::token_digest(token);
    store::read(store, |tx| {
        let refused = || ServiceError::Unauthenticated(Unauthenticated::InvalidToken);
        let record = tx.token(&digest)?.ok_or_else(refused)?;
        if record.revoked || record.expires_at <= now {
            return Err(refused());
        }
        let user = tx
            .user(record.user)?
            .filter(|user| user.active)
            .ok_or_else(refused)?;
        let device = tx.device(record.device)?.ok_or_else(refused)?;
        if device.user != user.id {
            return Err(refused());
        }
        Ok(Session {
            user,
            device,
            token_sha256: digest.clone(),
        })
    })
}

/// Revokes the token of `session` (logout).
pub fn logout(
    store: &dyn Store,
    session: &Session,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        tx.revoke_token(&session.token_sha256)?;
        audit(
            tx,
            now,
            Some(session),
            "logout",
            "device",
            session.device.id,
        )
    })
}
