//! `GET /console/admin/devices`: the phones of one user (or of everybody),
//! with what the server knows of each: when it was registered, when it last
//! sent and received, how many feed rows it has yet to receive, the protocol
//! version it speaks (phones send no app version), and whether it was
//! deactivated and has confirmed its wipe. A form deactivates a phone,
//! through [`crate::service::devices`] as `deactivate-device` does.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use doorstep_core::domain::{DeviceId, UserId};
use serde::Deserialize;

use super::{AdminSigned, act, utc};
use crate::console::format::Shown;
use crate::console::{Chrome, ConsoleState, app_failure, blocking, render};
use crate::service::devices::{self, ListedDevice};
use crate::service::users::Actor;

/// Where a phone is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// In use.
    Active,
    /// Deactivated; the phone has not yet said it wiped.
    WipeWaiting,
    /// Deactivated, and the phone confirmed its wipe.
    Wiped,
}

/// One phone's row.
pub struct DeviceRow {
    /// The phone's id.
    pub id: String,
    /// Its last eight digits, as the table shows it (the whole id is its
    /// title): the first ones of a UUIDv7 are its time, alike for phones
    /// registered the same day.
    pub short_id: String,
    /// Its user's id.
    pub user_id: String,
    /// Its user's name.
    pub user: Shown,
    /// When it was registered, if recorded.
    pub registered: Option<String>,
    /// When it last sent changes.
    pub last_push: Option<String>,
    /// When it last received.
    pub last_pull: Option<String>,
    /// Feed rows added since its last pull (`None`: never pulled).
    pub behind: Option<u64>,
    /// The protocol version it last named.
    pub protocol: Option<u32>,
    /// The app version it last named (checked printable ASCII; shown
    /// escaped all the same).
    pub app: Option<Shown>,
    /// Its state.
    pub state: DeviceState,
    /// When it was deactivated.
    pub deactivated: Option<String>,
    /// When it confirmed its wipe.
    pub wiped: Option<String>,
}

/// The phones page.
#[derive(askama::Template)]
#[template(path = "console/admin_devices.html")]
pub struct DevicesPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The user whose phones are listed, if one.
    pub user: Option<String>,
    /// The phones.
    pub devices: Vec<DeviceRow>,
    /// What the last form did.
    pub flash: Option<&'static str>,
}

/// Query of the phones page.
#[derive(Debug, Default, Deserialize)]
pub struct DevicesQuery {
    /// One user's phones only.
    pub user: Option<UserId>,
    /// What the last form did: `deactivated`.
    #[serde(default)]
    pub done: String,
}

/// The deactivate form.
#[derive(Debug, Deserialize)]
pub struct DeactivateForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The user whose phones to list again, if one.
    pub user: Option<UserId>,
}

fn row(listed: ListedDevice) -> DeviceRow {
    let a = listed.activity;
    let state = match (a.device.active, a.wipe_confirmed_at) {
        (true, _) => DeviceState::Active,
        (false, None) => DeviceState::WipeWaiting,
        (false, Some(_)) => DeviceState::Wiped,
    };
    DeviceRow {
        id: a.device.id.to_string(),
        short_id: a.device.id.simple().to_string().chars().skip(24).collect(),
        user_id: a.device.user.to_string(),
        user: Shown::line(&listed.username),
        registered: a.registered_at.map(utc),
        last_push: a.last_push_at.map(utc),
        last_pull: a.last_pull_at.map(utc),
        behind: listed.feed_behind,
        protocol: a.protocol_version,
        app: a.app_version.as_deref().map(Shown::line),
        state,
        deactivated: a.deactivated_at.map(utc),
        wiped: a.wipe_confirmed_at.map(utc),
    }
}

/// `GET /console/admin/devices`.
pub async fn list(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    query: Result<Query<DevicesQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let signed = &admin.0;
    let store = state.store.clone();
    let actor = signed.user.clone();
    let user = query.user;
    let listed =
        blocking(move || devices::list_devices(store.as_ref(), Actor::User(&actor), user)).await;
    let listed = match listed {
        Ok(listed) => listed,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let admin_text = &signed.lang.text().admin;
    let flash = match query.done.as_str() {
        "deactivated" => Some(admin_text.deactivated_device),
        "signed_out" => Some(admin_text.signed_out_device),
        _ => None,
    };
    let page = DevicesPage {
        chrome: signed.chrome(),
        user: user.map(|u| u.to_string()),
        devices: listed.into_iter().map(row).collect(),
        flash,
    };
    render(signed.lang, StatusCode::OK, &page)
}

/// `POST /console/admin/devices/{device_id}/deactivate`.
pub async fn deactivate(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Path(device): Path<DeviceId>,
    Form(form): Form<DeactivateForm>,
) -> Response {
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        devices::deactivate_device_as(store, actor, device, now)
    })
    .await;
    match done {
        Ok(()) => {
            let back = match form.user {
                Some(user) => format!("/console/admin/devices?user={user}&done=deactivated"),
                None => "/console/admin/devices?done=deactivated".to_owned(),
            };
            Redirect::to(&back).into_response()
        }
        Err(page) => page,
    }
}

/// `POST /console/admin/devices/{device_id}/sign-out`: the phone's sign-in
/// is revoked ([`crate::service::refresh::revoke_device_sign_in`]): on its
/// next sync it asks its agent for the password, its queue kept. For a
/// phone whose password may have been seen, or handed to someone else.
pub async fn sign_out(
    State(state): State<ConsoleState>,
    admin: AdminSigned,
    Path(device): Path<DeviceId>,
    Form(form): Form<DeactivateForm>,
) -> Response {
    let done = act(&state, &admin, &form.csrf, move |store, actor, now| {
        crate::service::refresh::revoke_device_sign_in(store, actor, device, now)
    })
    .await;
    match done {
        Ok(_) => {
            let back = match form.user {
                Some(user) => format!("/console/admin/devices?user={user}&done=signed_out"),
                None => "/console/admin/devices?done=signed_out".to_owned(),
            };
            Redirect::to(&back).into_response()
        }
        Err(page) => page,
    }
}
