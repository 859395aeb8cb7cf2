//! Registering this phone with the server (`POST /v1/devices`): the agent's
//! user name and password bind the phone's device id to them, once, before
//! the first sync.

use super::Doorstep;
use crate::error::{DoorstepError, Error};
use crate::sync::protocol::{ErrorBody, RegisterDeviceRequest, RegisterDeviceResponse};
use crate::sync::transport::{ACCEPT_ENCODING, HttpRequest, Transport, decode_response};

fn failure(code: &'static str, reason: impl Into<String>) -> DoorstepError {
    Error::Sync {
        code,
        reason: reason.into(),
    }
    .into()
}

impl Doorstep {
    /// Registers this phone's device id to the user with this name and
    /// password, so that it can sign in ([`Doorstep::sign_in`] does it when
    /// the server says the device is not registered). Harmless to repeat.
    /// The password is not kept. Fails with a sync failure: `offline`,
    /// `timeout`, `io` on the way; `unauthorized` for a wrong user name or
    /// password; `too_many_attempts` after too many failures; `refused` with
    /// the server's code (`device_taken`, `device_deactivated`) otherwise.
    pub fn register_device(
        &self,
        transport: &dyn Transport,
        username: &str,
        password: &str,
    ) -> Result<RegisterDeviceResponse, DoorstepError> {
        let labelled = self.labelled(transport);
        let transport: &dyn Transport = &labelled;
        let body = serde_json::to_vec(&RegisterDeviceRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device_id(),
        })
        .map_err(|_| failure("protocol", "request could not be written"))?;
        let (accept_encoding, zstd) = ACCEPT_ENCODING;
        let response = transport
            .send(HttpRequest {
                method: "POST".into(),
                path: "/v1/devices".into(),
                headers: vec![
                    ("accept".into(), "application/json".into()),
                    (accept_encoding.into(), zstd.into()),
                    ("content-type".into(), "application/json".into()),
                ],
                body,
            })
            .map_err(|e| failure(e.code(), e.to_string()))?;
        let response = decode_response(response).map_err(|e| failure(e.code(), e.to_string()))?;
        match response.status {
            200..=299 => {
                let answer: RegisterDeviceResponse = serde_json::from_slice(&response.body)
                    .map_err(|_| failure("protocol", "registration response unreadable"))?;
                if answer.device_id != self.device_id() {
                    return Err(failure("protocol", "the server registered another device"));
                }
                Ok(answer)
            }
            401 => Err(failure("unauthorized", "wrong user name or password")),
            429 => Err(failure(
                "too_many_attempts",
                format!(
                    "too many failed sign-ins; retry after {} s",
                    response.header("retry-after").unwrap_or("?")
                ),
            )),
            500..=599 => Err(failure("server_error", format!("HTTP {}", response.status))),
            status => {
                let code: String = serde_json::from_slice::<ErrorBody>(&response.body)
                    .map(|body| body.code)
                    .unwrap_or_default()
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .take(64)
                    .collect();
                Err(failure("refused", format!("HTTP {status} {code}")))
            }
        }
    }
}
