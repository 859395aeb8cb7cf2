//! `GET /console/admin/users`: every user, searched by name, with their
//! role, team, whether they are active and whether sign-ins under their name
//! are locked out; a form to create a user, and per user the forms to unlock
//! them, reset their password (the one-time password is shown once, on the
//! answer to the form, and never again) and deactivate them. All through
//! [`crate::service::users`], as the server's commands do.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::domain::UserId;
use doorstep_core::sync::protocol::Role;
use serde::Deserialize;

use super::{AdminSigned, act, try_act};
use crate::console::audit::role_name;
use crate::console::format::Shown;
use crate::console::sign_in::CsrfForm;
use crate::console::{Chrome, ConsoleState, app_failure, blocking, failure, render};
use crate::error::ServiceError;
use crate::service::users::{self, ListedUser, NewUser, NewUserRefused};
use crate::store::{self, StoreError, UserRecord};

/// One user's row.
pub struct UserRow {
    /// The user's id (the forms' paths).
    pub id: String,
    /// Their name, shown safely.
    pub name: Shown,
    /// Their role, named.
    pub role: &'static str,
    /// Their supervisor's name, for an agent in a team.
    pub team: Option<Shown>,
    /// Whether they are active.
    pub active: bool,
    /// Whether sign-ins under their name are locked out now.
    pub locked: bool,
    /// Whether it is the signed-in admin (who may not deactivate themselves).
    pub is_me: bool,
}

/// A supervisor a new agent may join.
pub struct TeamChoice {
    /// The supervisor's user name (the form's value).
    pub name: String,
    /// The same, shown safely.
    pub shown: Shown,
}

/// The users page.
#[derive(askama::Template)]
#[template(path = "console/admin_users.html")]
pub struct UsersPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The search as typed.
    pub search: String,
    /// The users listed.
    pub users: Vec<UserRow>,
    /// How many matched in all.
    pub matched: usize,
    /// Whether more matched than are listed.
    pub more: bool,
    /// The supervisors, for the create form.
    pub teams: Vec<TeamChoice>,
    /// What the last form did.
    pub flash: Option<&'static str>,
    /// Why the create form was refused.
    pub refusal: Option<&'static str>,
    /// The user name the refused create form carried.
    pub typed: String,
}

/// The answer to a password reset: the one-time password, shown once.
#[derive(askama::Template)]
#[template(path = "console/admin_password.html")]
pub struct PasswordPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// Whose password it is.
    pub name: Shown,
    /// The one-time password.
    pub password: String,
}

/// Query of the users page.
#[derive(Debug, Default, Deserialize)]
pub struct UsersQuery {
    /// Part of a user name.
    #[serde(default)]
    pub q: String,
    /// What the last form did: `created`, `unlocked`, `deactivated`.
    #[serde(default)]
    pub done: String,
}

/// The create form.
#[derive(Debug, Deserialize)]
pub struct CreateForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The new user's name.
    pub username: String,
    /// Their password.
    pub password: String,
    /// Their role's code.
    pub role: String,
    /// Their supervisor's user name; empty for none.
    #[serde(default)]
    pub team: String,
}

fn rows(t: &crate::console::i18n::Text, me: UserId, listed: Vec<ListedUser>) -> Vec<UserRow> {
    listed
        .into_iter()
        .map(|l| UserRow {
            is_me: l.user.id == me,
            id: l.user.id.to_string(),
            name: Shown::line(&l.user.username),
            role: role_name(t, l.user.role),
            team: l.team.as_deref().map(Shown::line),
            active: l.user.active,
            locked: l.locked,
        })
        .collect()
}

struct Refused {
    message: &'static str,
    typed: String,
}

async fn page(
    state: &ConsoleState,
    admin: &AdminSigned,
    search: String,
    flash: Option<&'static str>,
    refused: Option<Refused>,
) -> Response {
    let signed = &admin.0;
    let lang = signed.lang;
    let (store, limiter) = (state.store.clone(), state.login_limiter.clone());
    let now = state.clock.now();
    let actor = signed.user.clone();
    let needle = search.clone();
    let loaded = blocking(move || {
        let actor = users::Actor::User(&actor);
        let (listed, matched) = users::list_users(store.as_ref(), &limiter, actor, &needle, now)?;
        let supervisors = store::read(store.as_ref(), |tx| tx.supervisors())?;
        Ok((listed, matched, supervisors))
    })
    .await;
    let (listed, matched, supervisors) = match loaded {
        Ok(found) => found,
        Err(err) => return app_failure(lang, &err),
    };
    let t = lang.text();
    let status = if refused.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let more = matched > listed.len();
    let page = UsersPage {
        chrome: signed.chrome(),
        search,
        users: rows(t, signed.user.id, listed),
        matched,
        more,
        teams: supervisors
            .into_iter()
            .filter(|s: &UserRecord| s.active)
            .map(|s| TeamChoice {
                shown: Shown::line(&s.username),
                name: s.username,
            })
            .collect(),
        flash,
        refusal: refused.as_ref().map(|r| r.message),
        typed: refused.map(|r| r.typed).unwrap_or_default(),
    };
    render(lang, status, &page)
}

/// `GET /console/admin/users`.
pub async fn list(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    query: Result<Query<UsersQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let a = admin.0.lang.text().admin;
    let flash = match query.done.as_str() {
        "created" => Some(a.created),
        "unlocked" => Some(a.unlocked),
        "deactivated" => Some(a.deactivated_user),
        _ => None,
    };
    page(&state, &admin, query.q, flash, None).await
}

/// What a refused create form tells the admin; `None` for a failure that
/// is not the form's.
fn create_refusal(
    a: &crate::console::i18n::admin::AdminText,
    err: &ServiceError,
) -> Option<&'static str> {
    match err {
        ServiceError::NewUserRefused(NewUserRefused::PasswordTooShort) => {
            Some(a.refused_password_too_short)
        }
        ServiceError::NewUserRefused(_) | ServiceError::Unstorable => Some(a.refused_user_name),
        ServiceError::AlreadyExists { .. } => Some(a.refused_name_taken),
        ServiceError::NamedNotSupervisor | ServiceError::NotFound(_) => Some(a.refused_team),
        _ => None,
    }
}

/// `POST /console/admin/users`: creates a user, then lists the users again.
pub async fn create(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Form(form): Form<CreateForm>,
) -> Response {
    let lang = admin.0.lang;
    let Some(role) = Role::from_code(&form.role) else {
        // Not a role the form offers.
        return failure(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.text().not_found,
        );
    };
    let typed = form.username.clone();
    let csrf = form.csrf.clone();
    let created = try_act(&state, &admin, &csrf, move |store, actor, now| {
        let new = NewUser {
            username: &form.username,
            password: &form.password,
            role,
            supervisor: (!form.team.is_empty() && role == Role::Agent)
                .then_some(form.team.as_str()),
        };
        users::create_user_as(store, actor, new, now)
    })
    .await;
    match created {
        Ok(Ok(_)) => Redirect::to("/console/admin/users?done=created").into_response(),
        Ok(Err(err)) => match create_refusal(lang.text().admin, &err) {
            Some(message) => {
                let refused = Refused { message, typed };
                page(&state, &admin, String::new(), None, Some(refused)).await
            }
            None => app_failure(lang, &err),
        },
        Err(page) => page,
    }
}

/// `POST /console/admin/users/{user_id}/unlock`.
pub async fn unlock(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Path(user): Path<UserId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let limiter = state.login_limiter.clone();
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        users::unlock_user_as(store, &limiter, actor, user, now)
    })
    .await;
    match done {
        Ok(_) => Redirect::to("/console/admin/users?done=unlocked").into_response(),
        Err(page) => page,
    }
}

/// `POST /console/admin/users/{user_id}/deactivate`.
pub async fn deactivate(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Path(user): Path<UserId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        users::deactivate_user(store, actor, user, now)
    })
    .await;
    match done {
        Ok(()) => Redirect::to("/console/admin/users?done=deactivated").into_response(),
        Err(page) => page,
    }
}

/// `POST /console/admin/users/{user_id}/password`: a new one-time password,
/// shown on this answer only (never in a URL, never stored but hashed).
pub async fn reset_password(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Path(user): Path<UserId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        let password = users::reset_password(store, actor, user, now)?;
        let found = store::read(store, |tx| tx.user(user))?;
        let name = found.map(|u| u.username).ok_or(StoreError::NoResult)?;
        Ok((name, password))
    })
    .await;
    match done {
        Ok((name, password)) => {
            let page = PasswordPage {
                chrome: admin.0.chrome(),
                name: Shown::line(&name),
                password,
            };
            render(admin.0.lang, StatusCode::OK, &page)
        }
        Err(page) => page,
    }
}
