//! The admin pages of the console: [`users`], [`devices`] (phones),
//! [`teams`], checklist [`templates`] (with the XLSForm upload) and the
//! field [`policy`]. Only an admin opens them: a supervisor gets the console's
//! refusal (403), audited as `page_refused` with the page's path and
//! `not_admin`. Every form carries the session's CSRF token and every act
//! goes through the same service functions as the server's commands
//! ([`crate::service::users`], [`crate::service::devices`],
//! [`crate::service::teams`]), audited with the admin who did it.

pub mod devices;
pub mod policy;
pub mod teams;
pub mod templates;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::Role;

use super::{ConsoleState, Signed, app_failure, blocking};
use crate::error::ServiceError;
use crate::service::users::Actor;
use crate::store::Store;

/// A signed-in admin: any other console user is refused (see the module
/// documentation).
pub struct AdminSigned(pub Signed);

impl AdminSigned {
    /// The admin, as the actor of the service functions.
    pub fn actor(&self) -> Actor<'_> {
        Actor::User(&self.0.user)
    }
}

impl FromRequestParts<ConsoleState> for AdminSigned {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let signed = Signed::from_request_parts(parts, state).await?;
        if signed.user.role == Role::Admin {
            return Ok(AdminSigned(signed));
        }
        Err(signed.page_refused(state, ServiceError::NotAdmin).await)
    }
}

/// Runs an admin's act from a form: the form's CSRF token is checked first
/// (a refusal is audited and answered), then `act` runs off the async
/// workers with the store, the admin as the actor and the time. Its result;
/// the caller answers a refusal as it sees fit.
pub async fn try_act<R: Send + 'static>(
    state: &ConsoleState,
    admin: &AdminSigned,
    csrf: &str,
    act: impl FnOnce(&dyn Store, Actor<'_>, DateTime<Utc>) -> Result<R, ServiceError> + Send + 'static,
) -> Result<Result<R, ServiceError>, Response> {
    let signed = &admin.0;
    if !signed.csrf_matches(csrf) {
        return Err(signed.csrf_refused(state).await);
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let done = blocking(move || Ok(act(store.as_ref(), Actor::User(&user), now))).await;
    done.map_err(|err| app_failure(signed.lang, &err))
}

/// [`try_act`], a refusal answered with the console's error page.
pub async fn act<R: Send + 'static>(
    state: &ConsoleState,
    admin: &AdminSigned,
    csrf: &str,
    act: impl FnOnce(&dyn Store, Actor<'_>, DateTime<Utc>) -> Result<R, ServiceError> + Send + 'static,
) -> Result<R, Response> {
    try_act(state, admin, csrf, act)
        .await?
        .map_err(|err| app_failure(admin.0.lang, &err))
}

/// A time as the admin pages show it, in UTC (a phone or a user has no
/// offset of its own), e.g. `2026-03-02 09:00 UTC`.
pub fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
