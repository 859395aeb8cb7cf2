//! Signing in and out of the console.
//!
//! A session is 32 random bytes in the `doorstep_console` cookie (HttpOnly,
//! SameSite=Strict, Path=/console, Secure behind TLS); the server keeps only
//! its SHA-256, with the user, an expiry and the session's CSRF token, in the
//! store (so every replica knows every session). The sign-in form itself is
//! protected by a double-submit token in a short-lived cookie. Only
//! supervisors and admins may sign in.

use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::format::Shown;
use super::i18n::{Lang, Text};
use super::{
    ConsoleState, Signed, app_failure, blocking, cookie, failure, may_use_console, render, secure,
    set_cookie,
};
use crate::auth;
use crate::error::ServiceError;
use crate::login_limit::{ClientAddress, Ending, with_retry_after};
use crate::sign_in_guard::{self, Attempt};
use crate::store::{self, AuditRecord, ConsoleSessionRecord, Store, UserRecord};

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "doorstep_console";
/// Name of the cookie holding the sign-in form's token.
pub const LOGIN_CSRF_COOKIE: &str = "doorstep_login";
/// How long a console session lasts, in hours.
pub const SESSION_HOURS: i64 = 8;

/// The sign-in page.
#[derive(askama::Template)]
#[template(path = "console/login.html")]
pub struct LoginPage {
    /// The strings of the page's language.
    pub t: &'static Text,
    /// The page's language.
    pub lang: Lang,
    /// The form's token (also in the [`LOGIN_CSRF_COOKIE`] cookie).
    pub csrf: String,
    /// Why the last attempt was refused, if it was.
    pub refused: Option<&'static str>,
    /// The user name typed in the refused attempt, shown again (escaped by
    /// the template); never the password.
    pub typed_username: Shown,
}

/// The sign-in form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoginForm {
    /// User name.
    pub username: String,
    /// Password.
    pub password: String,
    /// The form's token.
    pub csrf: String,
}

/// A form whose only field is its CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfForm {
    /// The session's CSRF token.
    pub csrf: String,
}

fn login_form(
    state: &ConsoleState,
    headers: &HeaderMap,
    status: StatusCode,
    refused: Option<&'static str>,
    typed_username: &str,
) -> Response {
    let lang = Lang::of(headers);
    let csrf = match auth::new_token() {
        Ok(token) => token,
        Err(err) => return app_failure(lang, &err),
    };
    let mut response = render(
        lang,
        status,
        &LoginPage {
            t: lang.text(),
            lang,
            csrf: csrf.clone(),
            refused,
            typed_username: Shown::line(typed_username),
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, &csrf, 3600, true, secure(state, headers)),
    );
    response
}

/// `GET /console/login`.
pub async fn login_page(State(state): State<ConsoleState>, headers: HeaderMap) -> Response {
    login_form(&state, &headers, StatusCode::OK, None, "")
}

/// Why a sign-in was refused.
#[derive(Debug)]
pub enum SignInRefused {
    /// Unknown user, wrong password, or a role that may not use the console.
    /// One answer for all three, so the form does not tell them apart.
    BadCredentials,
    /// The right password of a user an admin deactivated.
    Deactivated,
    /// The server failed.
    Failed(ServiceError),
}

/// `POST /console/login`: the form's token is checked first (a refusal is
/// audited), then the sign-in runs under the same limits, gate and audit as
/// the API's login ([`crate::sign_in_guard`]). A locked name or address, and
/// a server too busy checking passwords, answer the form again with
/// `Retry-After`.
pub async fn login(
    State(state): State<ConsoleState>,
    ClientAddress(address): ClientAddress,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = Lang::of(&headers);
    let attempt = Attempt {
        channel: "console_sign_in",
        username: form.username.clone(),
        address,
        device: None,
    };
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or_default();
    if expected.is_empty() || !same_secret(&form.csrf, &expected) {
        let now = state.clock.now();
        if let Err(err) =
            sign_in_guard::audit_refused(state.store.clone(), attempt, now, "csrf_refused").await
        {
            return app_failure(lang, &err);
        }
        return failure(lang, StatusCode::FORBIDDEN, lang.text().csrf_refused);
    }
    let store = state.store.clone();
    let LoginForm {
        username, password, ..
    } = form;
    let typed = username.clone();
    let signed = sign_in_guard::guarded(
        state.sign_in_guard(),
        attempt,
        move |now| sign_in(store.as_ref(), &username, &password, now),
        |result| match result {
            Ok(_) => (Ending::Succeeded, None),
            Err(SignInRefused::BadCredentials) => {
                (Ending::WrongCredentials, Some("wrong_credentials"))
            }
            Err(SignInRefused::Deactivated) => (Ending::NotCounted, Some("user_deactivated")),
            Err(SignInRefused::Failed(_)) => (Ending::NotCounted, None),
        },
    )
    .await;
    let cookie_value = match signed {
        Ok(Ok(value)) => value,
        Ok(Err(SignInRefused::BadCredentials)) => {
            return login_form(
                &state,
                &headers,
                StatusCode::UNAUTHORIZED,
                Some(lang.text().sign_in_refused),
                &typed,
            );
        }
        Ok(Err(SignInRefused::Deactivated)) => {
            return login_form(
                &state,
                &headers,
                StatusCode::FORBIDDEN,
                Some(lang.text().admin.sign_in_deactivated),
                &typed,
            );
        }
        Err(ServiceError::TooManyAttempts(refused)) => {
            let page = login_form(
                &state,
                &headers,
                StatusCode::TOO_MANY_REQUESTS,
                Some(lang.text().too_many_attempts),
                &typed,
            );
            return with_retry_after(page, refused.retry_after_seconds);
        }
        Err(ServiceError::SignInBusy(busy)) => {
            let page = login_form(
                &state,
                &headers,
                StatusCode::SERVICE_UNAVAILABLE,
                Some(lang.text().sign_in_busy),
                &typed,
            );
            return with_retry_after(page, busy.retry_after_seconds);
        }
        Ok(Err(SignInRefused::Failed(err))) | Err(err) => {
            return app_failure(lang, &err);
        }
    };
    let secure = secure(&state, &headers);
    let mut response = Redirect::to("/console/queue").into_response();
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(
            SESSION_COOKIE,
            &cookie_value,
            SESSION_HOURS * 3600,
            true,
            secure,
        ),
    );
    headers.append(
        header::SET_COOKIE,
        set_cookie(LOGIN_CSRF_COOKIE, "", 0, true, secure),
    );
    response
}

/// Checks a user's password and role, and opens a session; returns the
/// session cookie's value.
pub fn sign_in(
    store: &dyn Store,
    username: &str,
    password: &str,
    now: DateTime<Utc>,
) -> Result<String, SignInRefused> {
    let user = store::read(store, |tx| tx.user_by_name(username))
        .map_err(|e| SignInRefused::Failed(e.into()))?;
    let Some(user) = user else {
        auth::verify_nothing(password);
        return Err(SignInRefused::BadCredentials);
    };
    if !auth::verify_password(password, &user.password_hash) {
        return Err(SignInRefused::BadCredentials);
    }
    if !user.active {
        return Err(SignInRefused::Deactivated);
    }
    if !may_use_console(&user) {
        return Err(SignInRefused::BadCredentials);
    }
    let value = auth::new_token().map_err(SignInRefused::Failed)?;
    let csrf = auth::new_token().map_err(SignInRefused::Failed)?;
    let record = ConsoleSessionRecord {
        id_sha256: digest(&value),
        user: user.id,
        csrf_token: csrf,
        created_at: now,
        expires_at: now + Duration::hours(SESSION_HOURS),
        ended: false,
    };
    store::write(store, |tx| {
        tx.insert_console_session(&record)?;
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(user.id),
            device: None,
            action: "console_sign_in".into(),
            target_kind: "user".into(),
            target_id: user.id.to_string(),
            code: None,
        })?;
        Ok::<_, ServiceError>(())
    })
    .map_err(SignInRefused::Failed)?;
    Ok(value)
}

/// The user, CSRF token and session digest of a session cookie; `None` when
/// the session is unknown, ended or expired, or the user may no longer use
/// the console.
pub fn session_user(
    store: &dyn Store,
    cookie_value: &str,
    now: DateTime<Utc>,
) -> Result<Option<(UserRecord, String, String)>, ServiceError> {
    let id = digest(cookie_value);
    store::read(store, |tx| {
        let Some(session) = tx.console_session(&id)? else {
            return Ok(None);
        };
        if session.ended || session.expires_at <= now {
            return Ok(None);
        }
        let user = tx.user(session.user)?.filter(may_use_console);
        Ok(user.map(|user| (user, session.csrf_token, id.clone())))
    })
}

/// `POST /console/logout`.
pub async fn logout(
    State(state): State<ConsoleState>,
    signed: Signed,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let (id, user) = (signed.session_sha256.clone(), signed.user.id);
    let ended = blocking(move || {
        store::write(store.as_ref(), |tx| {
            tx.end_console_session(&id)?;
            tx.append_audit(&AuditRecord {
                at: now,
                user: Some(user),
                device: None,
                action: "console_sign_out".into(),
                target_kind: "user".into(),
                target_id: user.to_string(),
                code: None,
            })?;
            Ok::<_, ServiceError>(())
        })
    })
    .await;
    if let Err(err) = ended {
        return app_failure(signed.lang, &err);
    }
    let mut response = Redirect::to("/console/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, true, secure(&state, &headers)),
    );
    response
}

/// SHA-256 of a session cookie's value, as stored.
fn digest(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    if a.len() != b.len() || b.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
