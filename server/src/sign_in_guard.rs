//! One sign-in attempt under guard, the same for `POST /v1/login`,
//! `POST /v1/devices` and the console's sign-in form:
//!
//! 1. the attempt is counted against the user name and the client address
//!    **before** its password is checked, or refused with
//!    `429 too_many_attempts` ([`crate::login_limit`]);
//! 2. it waits for its turn to check a password, or is turned away with
//!    `503 sign_in_busy` ([`crate::password_gate`]);
//! 3. the check runs on the blocking pool;
//! 4. the attempt is settled: a wrong user name or password stays counted as a
//!    failure, anything else is forgotten, and a success clears the user
//!    name's failures.
//!
//! Every refusal leaves one audit row, `sign_in_refused`, with ids and codes
//! only: the user id when the typed name is a user's, the device id the
//! request named, the channel as target kind and the refusal's code as target
//! id (`wrong_credentials`, `too_many_attempts`, `sign_in_busy`,
//! `csrf_refused`, or the service's code, e.g. `device_not_registered`). Never
//! the typed name, never a password.
//!
//! The attempt runs as a task of its own, so a client that hangs up does not
//! leave it half settled.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use doorstep_core::clock::WallClock;
use doorstep_core::domain::DeviceId;

use crate::error::{ServiceError, Unauthenticated};
use crate::login_limit::{Counted, Ending, LoginLimiter};
use crate::password_gate::PasswordGate;
use crate::store::{self, AuditRecord, Store, StoreTx};

/// The audit action of a refused sign-in.
pub const REFUSED: &str = "sign_in_refused";

/// What a guarded sign-in needs of the server.
#[derive(Clone)]
pub struct SignInGuard {
    /// The store, which keeps the counts and the audit log.
    pub store: Arc<dyn Store>,
    /// The clock of the counts and the audit rows.
    pub clock: Arc<dyn WallClock>,
    /// The limits.
    pub limiter: Arc<LoginLimiter>,
    /// The bound on password checks running at once.
    pub gate: Arc<PasswordGate>,
}

/// Who is signing in, and where.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// What is being signed in to: `login`, `register_device` or
    /// `console_sign_in` (the audit row's target kind).
    pub channel: &'static str,
    /// The user name as typed (counted as its SHA-256, never stored).
    pub username: String,
    /// The client's address, when known.
    pub address: Option<IpAddr>,
    /// The device the request named, if any.
    pub device: Option<DeviceId>,
}

/// How the check of an attempt ended: for the limit, and the code to audit
/// when it was a refusal.
pub type Judged = (Ending, Option<&'static str>);

/// Runs `check` for `attempt` under the limits and the gate (see the module
/// documentation); `judge` says how its result counts. The check's own
/// result comes back untouched; an attempt that never got to check its
/// password is [`ServiceError::TooManyAttempts`] or
/// [`ServiceError::SignInBusy`], and one that could not be counted
/// [`ServiceError::Internal`].
pub async fn guarded<R, E>(
    guard: SignInGuard,
    attempt: Attempt,
    check: impl FnOnce(DateTime<Utc>) -> Result<R, E> + Send + 'static,
    judge: impl FnOnce(&Result<R, E>) -> Judged + Send + 'static,
) -> Result<Result<R, E>, ServiceError>
where
    R: Send + 'static,
    E: Send + 'static,
{
    tokio::spawn(run(guard, attempt, check, judge))
        .await
        .map_err(ServiceError::from)?
}

async fn run<R, E>(
    guard: SignInGuard,
    attempt: Attempt,
    check: impl FnOnce(DateTime<Utc>) -> Result<R, E> + Send + 'static,
    judge: impl FnOnce(&Result<R, E>) -> Judged + Send + 'static,
) -> Result<Result<R, E>, ServiceError>
where
    R: Send + 'static,
    E: Send + 'static,
{
    let now = guard.clock.now();
    let attempt = Arc::new(attempt);
    let begun = {
        let (store, limiter, attempt) =
            (guard.store.clone(), guard.limiter.clone(), attempt.clone());
        blocking(move || {
            store::write(store.as_ref(), |tx| {
                match limiter.begin(tx, &attempt.username, attempt.address, now)? {
                    Ok(counted) => Ok(Ok(counted)),
                    Err(refused) => {
                        audit(tx, &attempt, now, "too_many_attempts")?;
                        Ok(Err(refused))
                    }
                }
            })
        })
        .await?
    };
    let counted = begun.map_err(ServiceError::TooManyAttempts)?;
    let pass = match guard.gate.enter().await {
        Ok(pass) => pass,
        Err(busy) => {
            settle(
                &guard,
                &attempt,
                counted,
                Ending::NotCounted,
                Some("sign_in_busy"),
                now,
            )
            .await;
            return Err(ServiceError::SignInBusy(busy));
        }
    };
    let checked = blocking(move || {
        let _turn = pass;
        Ok(check(now))
    })
    .await;
    let outcome = match checked {
        Ok(outcome) => outcome,
        Err(err) => {
            settle(&guard, &attempt, counted, Ending::NotCounted, None, now).await;
            return Err(err);
        }
    };
    let (ending, refusal) = judge(&outcome);
    settle(&guard, &attempt, counted, ending, refusal, now).await;
    Ok(outcome)
}

/// Settles a counted attempt and audits its refusal. A failure here is
/// logged, not answered: the sign-in itself is decided, and an attempt left
/// in progress counts as a failure once stale.
async fn settle(
    guard: &SignInGuard,
    attempt: &Arc<Attempt>,
    counted: Counted,
    ending: Ending,
    refusal: Option<&'static str>,
    now: DateTime<Utc>,
) {
    let (store, limiter, attempt) = (guard.store.clone(), guard.limiter.clone(), attempt.clone());
    let settled = blocking(move || {
        store::write(store.as_ref(), |tx| {
            limiter.finish(tx, &counted, ending)?;
            if let Some(code) = refusal {
                audit(tx, &attempt, now, code)?;
            }
            Ok::<_, ServiceError>(())
        })
    })
    .await;
    if let Err(err) = settled {
        tracing::error!(detail = %err, "a sign-in attempt could not be settled");
    }
}

/// Appends the audit row of a refused sign-in (see the module documentation).
pub fn audit(
    tx: &dyn StoreTx,
    attempt: &Attempt,
    now: DateTime<Utc>,
    code: &'static str,
) -> Result<(), ServiceError> {
    let user = tx.user_by_name(&attempt.username)?.map(|user| user.id);
    tx.append_audit(&AuditRecord {
        at: now,
        user,
        device: attempt.device,
        action: REFUSED.into(),
        target_kind: attempt.channel.into(),
        target_id: code.into(),
        code: None,
    })?;
    Ok(())
}

/// Appends the audit row of a sign-in refused before it was counted (the
/// console's form without its token).
pub async fn audit_refused(
    store: Arc<dyn Store>,
    attempt: Attempt,
    now: DateTime<Utc>,
    code: &'static str,
) -> Result<(), ServiceError> {
    blocking(move || store::write(store.as_ref(), |tx| audit(tx, &attempt, now, code))).await
}

async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ServiceError> + Send + 'static,
) -> Result<R, ServiceError> {
    tokio::task::spawn_blocking(f).await?
}

/// How an API sign-in's result counts: a wrong user name or password is a
/// failure, a server failure is nothing, any other refusal (a device, a
/// reserved id) is audited with its code.
pub fn judge_api<R>(result: &Result<R, ServiceError>) -> Judged {
    match result {
        Ok(_) => (Ending::Succeeded, None),
        Err(ServiceError::Unauthenticated(Unauthenticated::WrongCredentials)) => {
            (Ending::WrongCredentials, Some("wrong_credentials"))
        }
        Err(ServiceError::Internal(_)) => (Ending::NotCounted, None),
        Err(err) => (Ending::NotCounted, Some(err.code())),
    }
}
