//! The admin's pages of the console (role admin only): checklist
//! [`templates`] and the field [`policy`]. A supervisor who opens one gets
//! the 403 page, like any console URL that is not theirs.

pub mod policy;
pub mod templates;

use axum::http::StatusCode;
use axum::response::Response;
use doorstep_core::sync::protocol::Role;

use super::{Signed, failure};

/// `None` for an admin; the 403 page for anyone else.
pub fn admin_only(signed: &Signed) -> Option<Response> {
    (signed.user.role != Role::Admin).then(|| {
        failure(
            signed.lang,
            StatusCode::FORBIDDEN,
            signed.lang.text().forbidden,
        )
    })
}
