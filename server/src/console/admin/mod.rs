//! The admin pages of the console: [`users`], [`devices`] (phones) and
//! [`teams`]. Only an admin opens them: a supervisor gets the console's
//! refusal (403), audited as `page_refused` with the page's path and
//! `not_admin`. Every form carries the session's CSRF token and every act
//! goes through the same service functions as the server's commands
//! ([`crate::service::users`], [`crate::service::devices`],
//! [`crate::service::teams`]), audited with the admin who did it.

pub mod devices;
pub mod teams;
pub mod users;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Response;
use doorstep_core::sync::protocol::Role;

use super::{ConsoleState, Signed, app_failure, blocking};
use crate::error::ServiceError;
use crate::service::users::Actor;
use crate::store::{self, AuditRecord};

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
        Err(refused(state, &signed).await)
    }
}

/// The page refusing a console user who is not an admin, audited as
/// `page_refused` with the page's path (no query) and `not_admin`.
async fn refused(state: &ConsoleState, signed: &Signed) -> Response {
    let store = state.store.clone();
    let record = AuditRecord {
        at: state.clock.now(),
        user: Some(signed.user.id),
        device: None,
        action: "page_refused".into(),
        target_kind: "console_page".into(),
        target_id: signed.here.split('?').next().unwrap_or_default().to_owned(),
        code: Some(ServiceError::NotAdmin.code().into()),
    };
    let audited =
        blocking(move || Ok(store::write(store.as_ref(), |tx| tx.append_audit(&record))?)).await;
    match audited {
        Ok(()) => app_failure(signed.lang, &ServiceError::NotAdmin),
        Err(err) => app_failure(signed.lang, &err),
    }
}

/// A time as the admin pages show it, in UTC (a phone or a user has no
/// offset of its own), e.g. `2026-03-02 09:00 UTC`.
pub fn utc(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}
