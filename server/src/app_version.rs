//! The app version a phone names (`Doorstep-App-Version`), remembered on its
//! device for the admin's phones page. Checked with the core's rule
//! ([`check_app_version`]); a phone built before it names none.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use doorstep_core::sync::app_version::{APP_VERSION_HEADER, check_app_version};

use crate::error::ServiceError;

/// The app version a request names, if it names one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppVersion(pub Option<String>);

impl AppVersion {
    /// The version named by a header value (`None`: no header);
    /// [`ServiceError::InvalidAppVersion`] when it breaks the core's rule.
    pub fn from_header(value: Option<&[u8]>) -> Result<AppVersion, ServiceError> {
        let Some(bytes) = value else {
            return Ok(AppVersion(None));
        };
        let text = std::str::from_utf8(bytes).map_err(|_| ServiceError::InvalidAppVersion)?;
        check_app_version(text).map_err(|_| ServiceError::InvalidAppVersion)?;
        Ok(AppVersion(Some(text.to_owned())))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AppVersion {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ServiceError> {
        AppVersion::from_header(
            parts
                .headers
                .get(APP_VERSION_HEADER)
                .map(|value| value.as_bytes()),
        )
    }
}
