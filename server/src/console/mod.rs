//! The supervisor console: server-rendered HTML pages (askama templates under
//! `server/templates/console/`) in Simplified Chinese and English, served under
//! `/console` by the same process as the sync API.
//!
//! * [`sign_in`]: sign-in and sign-out with a server-side session behind an
//!   HttpOnly, SameSite=Strict cookie; a CSRF token on every state-changing form.
//! * [`queue`]: the review queue of the supervisor's team, longest waiting
//!   first, with filters.
//! * [`visits`]: every visit of the team in any state, searched, filtered,
//!   sorted and paged ([`visit_search`]).
//! * [`report`]: one visit's report, with a server-drawn [`map`].
//! * [`print`]: the same visit as a printable record (A4, no forms).
//! * [`decision`]: approve or return, through the same service as the API.
//! * [`attachments`]: photos, authorized per team.
//! * [`dashboard`]: the team's figures per day and per agent, with SVG charts.
//! * [`cases`]: the team's cases, assignment and CSV import; [`export`]: the
//!   visit outcomes as CSV.
//! * [`audit`]: the audit trail, the team's for a supervisor and all of it
//!   for an admin, filtered, paged and as CSV.
//! * [`repayments`]: the repayment CSV import, which decides whether the
//!   promises to pay shown on reports and the dashboard were kept.
//! * [`admin`]: the admin's pages: users, phones, teams, checklist
//!   templates (with the XLSForm upload) and the field policy.
//!
//! Every rule (flags, the state machine, the log verification) comes from core
//! or [`crate::service`]; this module only gathers and shows. URLs carry ids and
//! filter codes only, never personal data.

pub mod admin;
pub mod attachments;
pub mod audit;
pub mod case_page;
pub mod cases;
pub mod dashboard;
pub mod decision;
pub mod export;
pub mod format;
pub mod i18n;
pub mod map;
pub mod print;
pub mod queue;
pub mod repayments;
pub mod report;
pub mod sign_in;
pub mod visit_search;
pub mod visits;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use doorstep_core::clock::WallClock;
use doorstep_core::sync::protocol::Role;

use crate::api::AppState;
use crate::error::ServiceError;
use crate::store::{Store, UserRecord};
use i18n::{Lang, Text};

/// How the console is set up.
#[derive(Debug, Clone, Default)]
pub struct ConsoleConfig {
    /// Mark cookies `Secure` on every response (set when the server is reached
    /// over TLS, e.g. behind a TLS-terminating proxy). Without it, cookies are
    /// still marked `Secure` on requests that arrive with
    /// `X-Forwarded-Proto: https`.
    pub secure_cookies: bool,
}

/// What every console handler shares.
#[derive(Clone)]
pub struct ConsoleState {
    /// The storage backend.
    pub store: Arc<dyn Store>,
    /// The clock for session expiry and audit times.
    pub clock: Arc<dyn WallClock>,
    /// The console's setup.
    pub config: Arc<ConsoleConfig>,
    /// The limits on sign-ins, shared with the API's login.
    pub login_limiter: Arc<crate::login_limit::LoginLimiter>,
    /// The bound on password checks running at once, shared with the API's.
    pub password_gate: Arc<crate::password_gate::PasswordGate>,
    /// Attachment bytes.
    pub blobs: Arc<dyn crate::blobs::BlobStore>,
}

impl ConsoleState {
    /// What a guarded sign-in needs ([`crate::sign_in_guard::guarded`]).
    pub fn sign_in_guard(&self) -> crate::sign_in_guard::SignInGuard {
        crate::sign_in_guard::SignInGuard {
            store: self.store.clone(),
            clock: self.clock.clone(),
            limiter: self.login_limiter.clone(),
            gate: self.password_gate.clone(),
        }
    }
}

/// The console's routes, all under `/console`, ready to merge into the app.
pub fn router(app: &AppState, config: ConsoleConfig) -> Router<AppState> {
    let state = ConsoleState {
        store: app.store.clone(),
        clock: app.clock.clone(),
        config: Arc::new(config),
        login_limiter: app.login_limiter.clone(),
        password_gate: app.password_gate.clone(),
        blobs: app.blobs.clone(),
    };
    Router::new()
        .route("/console", get(home))
        .route("/console/", get(home))
        .route("/console/style.css", get(stylesheet))
        .route("/console/icon.svg", get(icon))
        .route("/console/language/{code}", get(i18n::switch))
        .route(
            "/console/login",
            get(sign_in::login_page).post(sign_in::login),
        )
        .route("/console/logout", post(sign_in::logout))
        .route("/console/queue", get(queue::page))
        .route("/console/dashboard", get(dashboard::page))
        .route("/console/visits", get(visits::list).post(visits::search))
        .route("/console/visits/{visit_id}", get(report::page))
        .route("/console/visits/{visit_id}/print", get(print::page))
        .route("/console/print.css", get(print::stylesheet))
        .route(
            "/console/visits/{visit_id}/approve",
            post(decision::approve),
        )
        .route(
            "/console/visits/{visit_id}/return",
            post(decision::send_back),
        )
        .route(
            "/console/visits/{visit_id}/attachments/{index}",
            get(attachments::photo),
        )
        .route(
            "/console/visits/{visit_id}/photos/{index}",
            get(attachments::photo_page),
        )
        .route("/console/cases", get(cases::list))
        .route(
            "/console/cases/import",
            get(cases::import_page).post(cases::import),
        )
        .route("/console/cases/export.csv", get(export::visits_csv))
        .route("/console/cases/{case_id}/assign", post(cases::assign))
        .route("/console/cases/{case_id}", get(case_page::page))
        .route("/console/cases/{case_id}/decide", post(case_page::decide))
        .route(
            "/console/visits/{visit_id}/feedback",
            post(case_page::feedback),
        )
        .route("/console/audit", get(audit::page))
        .route("/console/audit.csv", get(audit::csv))
        .route(
            "/console/repayments/import",
            get(repayments::import_page).post(repayments::import),
        )
        .route(
            "/console/admin/users",
            get(admin::users::list).post(admin::users::create),
        )
        .route(
            "/console/admin/users/{user_id}/unlock",
            post(admin::users::unlock),
        )
        .route(
            "/console/admin/users/{user_id}/deactivate",
            post(admin::users::deactivate),
        )
        .route(
            "/console/admin/users/{user_id}/password",
            post(admin::users::reset_password),
        )
        .route("/console/admin/devices", get(admin::devices::list))
        .route(
            "/console/admin/devices/{device_id}/deactivate",
            post(admin::devices::deactivate),
        )
        .route(
            "/console/admin/devices/{device_id}/sign-out",
            post(admin::devices::sign_out),
        )
        .route("/console/admin/teams", get(admin::teams::page))
        .route("/console/admin/teams/move", post(admin::teams::move_agent))
        .route(
            "/console/admin/templates",
            get(admin::templates::page).post(admin::templates::publish),
        )
        .route(
            "/console/admin/templates/{key}/{version}",
            get(admin::templates::preview),
        )
        .route(
            "/console/admin/templates/{key}/{version}/retire",
            post(admin::templates::retire),
        )
        .route(
            "/console/admin/policy",
            get(admin::policy::page).post(admin::policy::publish),
        )
        .route("/console/{*rest}", get(not_found))
        .with_state(state)
}

async fn home(signed: Result<Signed, Response>) -> Response {
    match signed {
        Ok(_) => Redirect::to("/console/queue").into_response(),
        Err(to_login) => to_login,
    }
}

/// The console's stylesheet.
pub const STYLESHEET: &str = include_str!("console.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// The console's icon (a door), linked from every page so that browsers do
/// not ask for `/favicon.ico` and log its 404 as an error.
pub const ICON: &str = include_str!("icon.svg");

async fn icon() -> Response {
    (
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        ICON,
    )
        .into_response()
}

async fn not_found(headers: HeaderMap) -> Response {
    let lang = Lang::of(&headers);
    failure(lang, StatusCode::NOT_FOUND, lang.text().not_found)
}

/// Runs blocking store code off the async workers.
pub(crate) async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ServiceError> + Send + 'static,
) -> Result<R, ServiceError> {
    tokio::task::spawn_blocking(f).await?
}

/// The header and menu every signed-in page shows.
pub struct Chrome {
    /// The strings of the page's language.
    pub t: &'static Text,
    /// The page's language.
    pub lang: Lang,
    /// The signed-in user's name.
    pub username: format::Shown,
    /// The session's CSRF token, for the forms on the page.
    pub csrf: String,
    /// This page's path and query, to come back to after a language switch.
    pub here: String,
    /// Whether the signed-in user is an admin (the menu shows the admin
    /// pages).
    pub admin: bool,
}

/// A signed-in console user, from the session cookie. A request without a
/// valid session is sent to the sign-in page.
pub struct Signed {
    /// The user.
    pub user: UserRecord,
    /// The session's CSRF token.
    pub csrf: String,
    /// SHA-256 of the session cookie.
    pub session_sha256: String,
    /// The request's language.
    pub lang: Lang,
    /// The request's path and query.
    pub here: String,
}

impl Chrome {
    /// The link that switches to Chinese and comes back here.
    pub fn switch_zh(&self) -> String {
        format!(
            "/console/language/zh?next={}",
            i18n::encode_query(&self.here)
        )
    }

    /// The link that switches to English and comes back here.
    pub fn switch_en(&self) -> String {
        format!(
            "/console/language/en?next={}",
            i18n::encode_query(&self.here)
        )
    }
}

impl Signed {
    /// The page chrome for this user.
    pub fn chrome(&self) -> Chrome {
        Chrome {
            t: self.lang.text(),
            lang: self.lang,
            username: format::Shown::line(&self.user.username),
            csrf: self.csrf.clone(),
            here: self.here.clone(),
            admin: self.user.role == Role::Admin,
        }
    }

    /// Whether `token` (from a submitted form) is this session's CSRF token.
    pub fn csrf_matches(&self, token: &str) -> bool {
        sign_in::same_secret(token, &self.csrf)
    }

    /// The answer to a form without this session's CSRF token: a 403, and
    /// an audit row (the user, the page's path, the code; no form content).
    pub async fn csrf_refused(&self, state: &ConsoleState) -> Response {
        self.refused(
            state,
            "form_refused",
            "csrf_refused",
            self.lang.text().csrf_refused,
        )
        .await
    }

    /// A 403 with `message`, after an audit row `action` with the user, the
    /// page's path (no query) and `code`.
    async fn refused(
        &self,
        state: &ConsoleState,
        action: &str,
        code: &str,
        message: &'static str,
    ) -> Response {
        let store = state.store.clone();
        let record = crate::store::AuditRecord {
            at: state.clock.now(),
            user: Some(self.user.id),
            device: None,
            action: action.into(),
            target_kind: "console_page".into(),
            target_id: self.here.split('?').next().unwrap_or_default().to_owned(),
            code: Some(code.into()),
        };
        let audited = blocking(move || {
            Ok(crate::store::write(store.as_ref(), |tx| {
                tx.append_audit(&record)
            })?)
        })
        .await;
        if let Err(err) = audited {
            return app_failure(self.lang, &err);
        }
        failure(self.lang, StatusCode::FORBIDDEN, message)
    }
}

impl Signed {
    /// The console's refusal of a page this user's role may not open: a
    /// 403, and an audit row `page_refused` with the page's path (no query)
    /// and the refusal's code (`not_supervisor`, `not_admin`).
    pub async fn page_refused(&self, state: &ConsoleState, refusal: ServiceError) -> Response {
        let forbidden = self.lang.text().forbidden;
        self.refused(state, "page_refused", refusal.code(), forbidden)
            .await
    }
}

impl FromRequestParts<ConsoleState> for Signed {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &ConsoleState) -> Result<Self, Response> {
        let lang = Lang::of(&parts.headers);
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/console".to_owned(), |p| p.as_str().to_owned());
        let to_login = || Redirect::to("/console/login").into_response();
        let Some(cookie) = cookie(&parts.headers, sign_in::SESSION_COOKIE) else {
            return Err(to_login());
        };
        let store = state.store.clone();
        let now = state.clock.now();
        let found = blocking(move || sign_in::session_user(store.as_ref(), &cookie, now)).await;
        match found {
            Ok(Some((user, csrf, session_sha256))) => Ok(Signed {
                user,
                csrf,
                session_sha256,
                lang,
                here,
            }),
            Ok(None) => Err(to_login()),
            Err(err) => Err(app_failure(lang, &err)),
        }
    }
}

/// Whether a user may sign in to the console: an active supervisor or admin.
pub fn may_use_console(user: &UserRecord) -> bool {
    user.active && matches!(user.role, Role::Supervisor | Role::Admin)
}

/// The value of cookie `name` in the request, if present and not empty.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether cookies on the response to this request must be marked `Secure`.
pub fn secure(state: &ConsoleState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// A `Set-Cookie` value scoped to the console.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_secs: i64,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut text =
        format!("{name}={value}; Path=/console; Max-Age={max_age_secs}; SameSite=Strict");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// Renders a page, or the error page when the template fails.
pub fn render(lang: Lang, status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, Html(html)).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
            headers.insert(
                "content-security-policy",
                HeaderValue::from_static(
                    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                     frame-ancestors 'none'; base-uri 'none'",
                ),
            );
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            headers.insert(
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(lang.html()),
            );
            response
        }
        Err(err) => {
            tracing::error!(detail = %err, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// The error page.
#[derive(Template)]
#[template(path = "console/error.html")]
pub struct ErrorPage {
    /// The strings of the page's language.
    pub t: &'static Text,
    /// The page's language.
    pub lang: Lang,
    /// HTTP status.
    pub status: u16,
    /// What went wrong, for people.
    pub message: &'static str,
}

/// An error page with `status` and `message`.
pub fn failure(lang: Lang, status: StatusCode, message: &'static str) -> Response {
    render(
        lang,
        status,
        &ErrorPage {
            t: lang.text(),
            lang,
            status: status.as_u16(),
            message,
        },
    )
}

/// The error page for a service error: its status, and a message chosen by
/// what went wrong (the service's English message is not shown). Every
/// variant is named, so a new one has its page chosen here.
pub fn app_failure(lang: Lang, err: &ServiceError) -> Response {
    use ServiceError as E;
    let t = lang.text();
    let message = match err {
        // Not there, or not this user's to know of.
        E::NotFound(_) | E::UnknownAttachment | E::AttachmentNotUploaded => t.not_found,
        // Not this user's to do.
        E::NotSupervisor
        | E::NotYourTeam
        | E::ManagesNoCases
        | E::OtherTeamCase(_)
        | E::OtherTeamAgent(_)
        | E::AttachmentNotVisible
        | E::NotTheUploader
        | E::DeviceNotRegistered
        | E::DeviceDeactivated
        | E::UserDeactivated
        | E::NotAdmin
        | E::OwnAccount => t.forbidden,
        // The thing moved on meanwhile: decided, taken or published already.
        E::VisitNotApproved { .. } => t.feedback_needs_approval,
        E::InvalidDecision(_) | E::InvalidFeedback(_) => t.plan_refused,
        E::VisitNotSubmitted { .. }
        | E::AlreadyExists { .. }
        | E::DeviceTaken
        | E::DeviceActive
        | E::TemplateExists
        | E::TemplateNotRetirable
        | E::PolicyUnchanged { .. }
        | E::PolicyExists
        | E::WrongOffset { .. } => t.not_awaiting_review,
        // What was entered cannot be taken.
        E::InvalidReview(_)
        | E::Unstorable
        | E::PartnerIsAgent
        | E::UnknownAgent(_)
        | E::NotAnAgent(_)
        | E::InvalidCase { .. }
        | E::InvalidPolicy(_)
        | E::NewUserRefused(_)
        | E::InvalidDeviceId
        | E::InvalidBody { .. }
        | E::EmptyChunk
        | E::ChunkBeyondTotal
        | E::AttachmentSizeMismatch
        | E::AttachmentHashMismatch => t.return_needs_reason,
        E::TooManyAttempts(_) => t.too_many_attempts,
        E::ServerBusy => t.server_busy,
        // The server failed, or a request no console page makes.
        E::Internal(_)
        | E::SignInBusy(_)
        | E::Unauthenticated(_)
        | E::UnsupportedMediaType { .. }
        | E::UnsupportedEncoding
        | E::BodyTooLarge(_)
        | E::UnreadableBody
        | E::MalformedZstd
        | E::MalformedJson { .. }
        | E::InvalidQuery(_)
        | E::InvalidVisitId
        | E::InvalidProtocol
        | E::InvalidAppVersion
        | E::ProtocolTooOld
        | E::TooManyOps
        | E::InvalidSha256
        | E::AttachmentTooLarge
        | E::ChunkTooLarge
        | E::NamedNotSupervisor => t.server_failed,
    };
    failure(lang, err.status(), message)
}
