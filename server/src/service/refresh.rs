//! Refresh credentials: how a phone of protocol version 4 on stays signed in
//! without keeping its agent's password.
//!
//! A sign-in with the password ([`super::login`]) gives the phone a bearer
//! token and a refresh credential bound to its device; when the token
//! expires the phone exchanges the credential for a new token and a new
//! credential ([`refresh`]): each credential is used once. The server keeps
//! only their SHA-256, and which credential replaced which.
//!
//! A rotation whose answer was lost leaves the phone with the credential it
//! sent: presenting it again while the one that replaced it has never been
//! used is that retry, and is answered with a fresh pair (the unused one is
//! revoked). Presenting a replaced credential whose successor *was* used, a
//! revoked one, or one from another device, means two holders: it is taken
//! as theft, and every credential and token of the device is revoked, so
//! the phone asks its agent to sign in again. An admin revokes a device's
//! sign-in ([`revoke_device_sign_in`]); deactivating the device, and
//! [`revoke_user_sign_ins`] for a user (a password reset or a deactivated
//! user), revoke its credentials too.

use crate::service::users::Actor;
use chrono::{DateTime, Duration, Utc};
use doorstep_core::domain::{DeviceId, UserId};
use doorstep_core::sync::protocol::{LoginResponse, RefreshRequest};

use crate::auth;
use crate::error::{ServiceError, Unauthenticated};
use crate::store::{self, AuditRecord, Lock, RefreshRecord, Store, StoreTx, TokenRecord};

/// The refusal of a credential: the same `401` whatever the reason.
fn refused() -> ServiceError {
    ServiceError::Unauthenticated(Unauthenticated::RefreshRefused)
}

/// Issues a new refresh credential for `device` and `user`; returns its text.
pub(crate) fn issue(
    tx: &dyn StoreTx,
    device: DeviceId,
    user: UserId,
    now: DateTime<Utc>,
) -> Result<String, ServiceError> {
    let credential = auth::new_token()?;
    tx.insert_refresh(&RefreshRecord {
        credential_sha256: auth::token_digest(&credential),
        device,
        user,
        issued_at: now,
        expires_at: now + Duration::days(auth::REFRESH_DAYS),
        replaced_by: None,
        revoked: false,
    })?;
    Ok(credential)
}

/// Appends an audit row about a device's sign-in (ids and a code only).
fn audit(
    tx: &dyn StoreTx,
    now: DateTime<Utc>,
    who: (Option<UserId>, DeviceId),
    action: &str,
    code: Option<&str>,
) -> Result<(), ServiceError> {
    let (user, device) = who;
    tx.append_audit(&AuditRecord {
        at: now,
        user,
        device: Some(device),
        action: action.to_owned(),
        target_kind: "device".into(),
        target_id: device.to_string(),
        code: code.map(str::to_owned),
    })?;
    Ok(())
}

/// What a presented credential turned out to be.
enum Presented {
    /// Valid: a new pair is issued.
    Good,
    /// Refused without further consequence (unknown, expired).
    Refused(&'static str),
    /// A second holder: the device's sign-in is revoked.
    Theft(&'static str),
}

/// Judges a credential presented by `device` (inside the write
/// transaction, with the device locked).
fn judge(
    tx: &dyn StoreTx,
    record: &RefreshRecord,
    device: DeviceId,
    now: DateTime<Utc>,
) -> Result<Presented, ServiceError> {
    if record.device != device {
        return Ok(Presented::Theft("refresh_other_device"));
    }
    if record.revoked {
        return Ok(Presented::Theft("refresh_revoked"));
    }
    if record.expires_at <= now {
        return Ok(Presented::Refused("refresh_expired"));
    }
    let Some(successor) = &record.replaced_by else {
        return Ok(Presented::Good);
    };
    // Used before: a retry after a lost answer if what replaced it was
    // never used; a replay otherwise.
    match tx.refresh(successor)? {
        Some(next) if next.replaced_by.is_none() && !next.revoked => {
            tx.revoke_refresh(successor)?;
            Ok(Presented::Good)
        }
        _ => Ok(Presented::Theft("refresh_replayed")),
    }
}

/// `POST /v1/refresh`: a new token and a new refresh credential for the
/// device, in exchange for its current credential (see the module's doc).
/// Every refusal is `401`, and audited as `sign_in_refused` with its code.
pub fn refresh(
    store: &dyn Store,
    request: &RefreshRequest,
    now: DateTime<Utc>,
) -> Result<LoginResponse, ServiceError> {
    let digest = auth::token_digest(&request.refresh_token);
    let device_id = request.device_id;
    let token = auth::new_token()?;
    let expires_at = now + Duration::hours(auth::TOKEN_HOURS);
    // The refusals are answered after the transaction commits, so that
    // their audit rows and revocations are kept.
    store::write(store, |tx| -> Result<_, ServiceError> {
        tx.lock(Lock::Device(device_id))?;
        let Some(record) = tx.refresh(&digest)? else {
            audit(
                tx,
                now,
                (None, device_id),
                "sign_in_refused",
                Some("refresh_unknown"),
            )?;
            return Ok(Err(refused()));
        };
        let who = (Some(record.user), device_id);
        let (user, device) = (tx.user(record.user)?, tx.device(record.device)?);
        if user.as_ref().is_some_and(|user| !user.active) {
            // Deactivating the user revokes their credentials; this one is
            // refused whatever the store says of it.
            audit(tx, now, who, "sign_in_refused", Some("user_deactivated"))?;
            return Ok(Err(refused()));
        }
        let owner = match (user, device) {
            (Some(user), Some(device)) if device.user == user.id && device.active => Some(user),
            _ => None,
        };
        let Some(user) = owner else {
            // A deactivated device signs in no more; it keeps its token
            // until it expires, to push what it holds before it wipes.
            audit(tx, now, who, "sign_in_refused", Some("device_deactivated"))?;
            return Ok(Err(refused()));
        };
        match judge(tx, &record, device_id, now)? {
            Presented::Good => {}
            Presented::Refused(code) => {
                audit(tx, now, who, "sign_in_refused", Some(code))?;
                return Ok(Err(refused()));
            }
            Presented::Theft(code) => {
                tx.revoke_device_refresh(record.device)?;
                tx.revoke_device_tokens(record.device)?;
                audit(tx, now, who, "sign_in_refused", Some(code))?;
                return Ok(Err(refused()));
            }
        }
        let next = issue(tx, device_id, user.id, now)?;
        tx.replace_refresh(&digest, &auth::token_digest(&next))?;
        tx.insert_token(&TokenRecord {
            token_sha256: auth::token_digest(&token),
            device: device_id,
            user: user.id,
            expires_at,
            revoked: false,
        })?;
        audit(tx, now, who, "refresh", None)?;
        Ok(Ok(LoginResponse {
            token: token.clone(),
            expires_at,
            user_id: user.id,
            role: user.role,
            refresh_token: Some(next),
        }))
    })?
}

/// Revokes a device's sign-in: its refresh credentials and its tokens, so
/// that the phone asks its agent for the password on its next sync (its
/// queue is kept, and syncs once the agent has signed in again). Audited
/// as `revoke_sign_in` with who did it (an admin in the console, or the
/// command line); returns how many credentials and tokens were in force.
/// [`ServiceError::NotFound`] for an unknown device.
pub fn revoke_device_sign_in(
    store: &dyn Store,
    actor: Actor<'_>,
    device_id: DeviceId,
    now: DateTime<Utc>,
) -> Result<u64, ServiceError> {
    actor.check()?;
    store::write(store, |tx| {
        tx.lock(Lock::Device(device_id))?;
        let device =
            tx.device(device_id)?
                .ok_or(ServiceError::NotFound(crate::error::Missing::Device(
                    device_id,
                )))?;
        let revoked = tx.revoke_device_refresh(device_id)? + tx.revoke_device_tokens(device_id)?;
        actor.audit(tx, now, "revoke_sign_in", "device", device.id)?;
        Ok(revoked)
    })
}

/// Revokes every refresh credential of a user, inside the caller's
/// transaction: for a password reset or a deactivated user, so that each of
/// their phones asks for the (new) password once its token expires.
pub fn revoke_user_sign_ins(tx: &dyn StoreTx, user: UserId) -> Result<u64, ServiceError> {
    Ok(tx.revoke_user_refresh(user)?)
}
