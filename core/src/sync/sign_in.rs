//! Signing in: the password once, then the refresh credential.
//!
//! [`Engine::sign_in`] sends the agent's user name and password (`POST
//! /v1/login`) and keeps, in one transaction of the encrypted database, the
//! bearer token, its expiry and the refresh credential the server binds to
//! this device. The password is never stored. When the token expires (or is
//! refused), [`Engine::renew`] exchanges the refresh credential for a new
//! token and a new credential (`POST /v1/refresh`), again stored in one
//! transaction: the server rotates the credential on every use. If the
//! answer is lost, the device still holds the credential it sent, and the
//! server answers its retry; a credential the server refuses (revoked by an
//! admin, expired, or used by someone else) is forgotten and the sync ends
//! with [`Error::SignInRequired`]: the app asks for the password, and the
//! queue, drafts and photos wait untouched.

use crate::error::{Error, Result};
use crate::store::meta;
use crate::sync::engine::{Engine, JSON, Outgoing, check_status, exchange, failure, protocol};
use crate::sync::protocol::{ErrorBody, LoginRequest, LoginResponse, RefreshRequest};
use crate::sync::status::SyncPhase;

/// Why a sign-in is required, for the app (no data).
const NOT_SIGNED_IN: &str = "this device is not signed in";
const REFUSED: &str = "the server no longer accepts this device's sign-in";

impl Engine<'_> {
    /// `POST /v1/login` with the agent's password; keeps the token and the
    /// refresh credential. Refused (`wrong_user`) when the device holds
    /// another agent's data: only that agent may sign in on it.
    pub(crate) fn sign_in(&mut self, username: &str, password: &str) -> Result<LoginResponse> {
        self.observer.progress(SyncPhase::Login, 0, 1);
        let body = serde_json::to_vec(&LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
            device_id: self.device,
        })?;
        let outgoing = Outgoing::new("POST", "/v1/login", body, JSON);
        let response = exchange(self.transport, outgoing.request(None))?;
        let response = match response.status {
            401 => return Err(failure("unauthorized", "wrong user name or password")),
            403 if error_code(&response.body) == "device_not_registered" => {
                return Err(failure(
                    "device_not_registered",
                    "this device is not registered to this user",
                ));
            }
            _ => check_status(response)?,
        };
        let login: LoginResponse = serde_json::from_slice(&response.body)
            .map_err(|_| protocol("login response unreadable"))?;
        if login.refresh_token.is_none() {
            return Err(protocol("the server gave no refresh credential"));
        }
        self.keep(&login, true)?;
        self.observer.progress(SyncPhase::Login, 1, 1);
        Ok(login)
    }

    /// A new token from the kept refresh credential (`POST /v1/refresh`).
    /// Without one, or when the server refuses it, the credential is
    /// forgotten and [`Error::SignInRequired`] returned; any other failure
    /// (offline, server error) keeps it for the next try.
    pub(crate) fn renew(&mut self) -> Result<String> {
        let kept = self
            .store
            .read(|conn| meta::get(conn, meta::SYNC_REFRESH))?;
        let Some(refresh_token) = kept else {
            return Err(Error::SignInRequired(NOT_SIGNED_IN));
        };
        self.observer.progress(SyncPhase::Login, 0, 1);
        let body = serde_json::to_vec(&RefreshRequest {
            device_id: self.device,
            refresh_token,
        })?;
        let outgoing = Outgoing::new("POST", "/v1/refresh", body, JSON);
        let response = exchange(self.transport, outgoing.request(None))?;
        if response.status == 401 {
            self.store.write(|tx| {
                for key in [
                    meta::SYNC_REFRESH,
                    meta::SYNC_TOKEN,
                    meta::SYNC_TOKEN_EXPIRES_AT,
                ] {
                    meta::remove(tx, key)?;
                }
                Ok(())
            })?;
            return Err(Error::SignInRequired(REFUSED));
        }
        let response = check_status(response)?;
        let login: LoginResponse = serde_json::from_slice(&response.body)
            .map_err(|_| protocol("refresh response unreadable"))?;
        if login.refresh_token.is_none() {
            return Err(protocol("the server gave no refresh credential"));
        }
        self.keep(&login, false)?;
        self.observer.progress(SyncPhase::Login, 1, 1);
        Ok(login.token)
    }

    /// Keeps a sign-in's token and refresh credential, in one transaction;
    /// on a first sign-in, also its agent (refused if the device holds
    /// another agent's data).
    fn keep(&mut self, login: &LoginResponse, first: bool) -> Result<()> {
        self.store.write(|tx| {
            match meta::get(tx, meta::AGENT_ID)? {
                Some(agent) if agent != login.user_id.to_string() => {
                    return Err(failure(
                        "wrong_user",
                        "this device holds another agent's data",
                    ));
                }
                Some(_) => {}
                None if first => meta::set(tx, meta::AGENT_ID, &login.user_id.to_string())?,
                None => {}
            }
            meta::set(tx, meta::SYNC_TOKEN, &login.token)?;
            meta::set(
                tx,
                meta::SYNC_TOKEN_EXPIRES_AT,
                &login.expires_at.to_rfc3339(),
            )?;
            if let Some(refresh) = &login.refresh_token {
                meta::set(tx, meta::SYNC_REFRESH, refresh)?;
            }
            Ok(())
        })?;
        self.set_token(login.token.clone());
        Ok(())
    }
}

/// The server's code in an error answer (empty if unreadable).
fn error_code(body: &[u8]) -> String {
    serde_json::from_slice::<ErrorBody>(body)
        .map(|body| body.code)
        .unwrap_or_default()
}
