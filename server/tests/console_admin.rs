//! Router tests of the admin pages (issue 14 §1): users (create, search,
//! unlock, reset a password, deactivate), phones (what the server knows,
//! deactivation and the wipe confirmed) and teams (moving an agent moves what
//! the supervisors see, in the console and over sync); only an admin opens
//! them, every form needs its CSRF token, every act is audited with the admin
//! who did it. On SQLite and on PostgreSQL (when `DOORSTEP_TEST_DATABASE_URL`
//! is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, header};
use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION};
use doorstep_server::store::{self, AuditRecord};

on_both_backends!(
    an_admin_creates_a_user_who_then_signs_in,
    a_new_user_with_a_short_password_is_refused_on_the_page_and_not_created,
    a_supervisor_gets_the_consoles_refusal_on_every_admin_page_audited,
    an_admin_form_without_its_csrf_token_changes_nothing,
    a_supervisor_locked_out_by_five_wrong_passwords_is_unlocked_from_the_users_page,
    a_deactivated_user_is_signed_out_everywhere_at_once_and_cannot_sign_in,
    a_reset_password_is_shown_once_and_is_the_only_one_that_works,
    the_phones_page_shows_what_the_server_knows_and_when_the_wipe_was_confirmed,
    moving_an_agent_moves_what_each_supervisor_sees_in_the_console_and_over_sync,
    an_admin_signs_a_phone_out_and_its_agent_types_the_password_again,
    the_phones_page_shows_the_app_version_each_phone_named,
);

const ADMIN_PASSWORD: &str = "pw-admin-secret";

/// Creates the admin `root` and signs them in; their id and cookies.
async fn admin(w: &Arc<World>) -> (uuid::Uuid, String) {
    let id = blocking(w, |w| {
        doorstep_server::admin::create_user(
            w.state.store.as_ref(),
            "root",
            ADMIN_PASSWORD,
            doorstep_core::sync::protocol::Role::Admin,
            None,
            t0(),
        )
        .unwrap()
    })
    .await;
    (id, sign_in(w, "root", ADMIN_PASSWORD).await.unwrap())
}

fn audit_log(w: &World) -> Vec<AuditRecord> {
    store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
}

/// The audit rows of `action`, with who did them.
async fn acts(w: &Arc<World>, action: &'static str) -> Vec<AuditRecord> {
    blocking(w, move |w| {
        audit_log(w)
            .into_iter()
            .filter(|r| r.action == action)
            .collect()
    })
    .await
}

async fn user_id(w: &Arc<World>, name: &'static str) -> uuid::Uuid {
    blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.user_by_name(name))
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

/// The row of the users table about `user`.
fn user_row(body: &str, user: uuid::Uuid) -> &str {
    let from = body
        .find(&format!("data-user=\"{user}\""))
        .unwrap_or_else(|| panic!("no row of {user} in {body}"));
    let rest = &body[from..];
    &rest[..rest.find("</tr>").unwrap()]
}

async fn an_admin_creates_a_user_who_then_signs_in(w: Arc<World>) {
    let (admin_id, cookies) = admin(&w).await;
    let page = get(&w, "/console/admin/users", &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("href=\"/console/admin/users\""));
    let csrf = page.csrf();
    let created = post(
        &w,
        "/console/admin/users",
        &cookies,
        &[
            ("csrf", &csrf),
            ("username", "sup_c"),
            ("password", "a-long-enough-secret"),
            ("role", "supervisor"),
            ("team", ""),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    assert_eq!(created.location(), "/console/admin/users?done=created");
    // An agent in sup_c's team, found by a search.
    let created = post(
        &w,
        "/console/admin/users",
        &cookies,
        &[
            ("csrf", &csrf),
            ("username", "agent_c"),
            ("password", "another-long-secret"),
            ("role", "agent"),
            ("team", "sup_c"),
        ],
    )
    .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let found = get(&w, "/console/admin/users?q=_C", &cookies).await;
    assert!(
        found.body.contains("<b id=\"matched\">2</b>"),
        "{}",
        found.body
    );
    let agent_c = user_id(&w, "agent_c").await;
    assert!(user_row(&found.body, agent_c).contains("<bdi>sup_c</bdi>"));
    assert!(!found.body.contains("<bdi>agent1</bdi>"));

    let sup_c = sign_in(&w, "sup_c", "a-long-enough-secret").await.unwrap();
    assert_eq!(
        get(&w, "/console/queue", &sup_c).await.status,
        StatusCode::OK
    );
    let made = acts(&w, "create_user").await;
    let by_admin: Vec<_> = made.iter().filter(|r| r.user == Some(admin_id)).collect();
    assert_eq!(by_admin.len(), 2, "{made:?}");
}

async fn a_new_user_with_a_short_password_is_refused_on_the_page_and_not_created(w: Arc<World>) {
    let (_, cookies) = admin(&w).await;
    let csrf = get(&w, "/console/admin/users", &cookies).await.csrf();
    let refused = post(
        &w,
        "/console/admin/users",
        &cookies,
        &[
            ("csrf", &csrf),
            ("username", "shorty"),
            ("password", "elevenchars"),
            ("role", "agent"),
            ("team", "sup_a"),
        ],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("id=\"refused\""), "{}", refused.body);
    assert!(refused.body.contains("at least 12 characters"));
    assert!(refused.body.contains("value=\"shorty\""));
    assert!(!refused.body.contains("elevenchars"));
    let taken = post(
        &w,
        "/console/admin/users",
        &cookies,
        &[
            ("csrf", &csrf),
            ("username", "agent1"),
            ("password", "a-long-enough-secret"),
            ("role", "agent"),
        ],
    )
    .await;
    assert_eq!(taken.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(taken.body.contains("This user name is taken."));
    let exists = blocking(&w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.user_by_name("shorty")).unwrap()
    })
    .await;
    assert!(exists.is_none());
}

async fn a_supervisor_gets_the_consoles_refusal_on_every_admin_page_audited(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let queue = get(&w, "/console/queue", &cookies).await;
    assert!(!queue.body.contains("/console/admin/"), "no admin menu");
    let csrf = queue.csrf();
    for page in [
        "/console/admin/users",
        "/console/admin/devices",
        "/console/admin/teams",
    ] {
        let answer = get(&w, page, &cookies).await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{page}");
    }
    let agent1 = w.agent1;
    let moved = post(
        &w,
        "/console/admin/teams/move",
        &cookies,
        &[
            ("csrf", &csrf),
            ("agent", &agent1.to_string()),
            ("supervisor", ""),
        ],
    )
    .await;
    assert_eq!(moved.status, StatusCode::FORBIDDEN);
    let unlock = post(
        &w,
        &format!("/console/admin/users/{agent1}/deactivate"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(unlock.status, StatusCode::FORBIDDEN);
    let refused = blocking(&w, |w| audit_refusals(w, "page_refused")).await;
    assert_eq!(refused.len(), 5, "{refused:?}");
    assert!(refused.iter().all(|(_, code)| code == "not_admin"));
    assert!(refused.contains(&("/console/admin/teams/move".into(), "not_admin".into())));
    // Nothing changed.
    let still = blocking(&w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.user(agent1))
            .unwrap()
            .unwrap()
    })
    .await;
    assert!(still.active);
    assert!(still.supervisor.is_some());
}

async fn an_admin_form_without_its_csrf_token_changes_nothing(w: Arc<World>) {
    let (_, cookies) = admin(&w).await;
    let agent1 = w.agent1;
    for path in ["deactivate", "password", "unlock"] {
        let answer = post(
            &w,
            &format!("/console/admin/users/{agent1}/{path}"),
            &cookies,
            &[("csrf", "not-the-token")],
        )
        .await;
        assert_eq!(answer.status, StatusCode::FORBIDDEN, "{path}");
    }
    let phone1 = w.phone1;
    let answer = post(
        &w,
        &format!("/console/admin/devices/{phone1}/deactivate"),
        &cookies,
        &[("csrf", "")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN);
    let refused = blocking(&w, |w| audit_refusals(w, "form_refused")).await;
    assert_eq!(refused.len(), 4, "{refused:?}");
    // agent1 still signs in with their password, on their still active phone.
    w.login("agent1", w.phone1).await;
}

async fn a_supervisor_locked_out_by_five_wrong_passwords_is_unlocked_from_the_users_page(
    w: Arc<World>,
) {
    for _ in 0..5 {
        let refused = sign_in(&w, "sup_a", "wrong-password!").await.unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    let locked = sign_in(&w, "sup_a", "pw-sup_a-secret").await.unwrap_err();
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);

    let (admin_id, cookies) = admin(&w).await;
    let sup_a = user_id(&w, "sup_a").await;
    let page = get(&w, "/console/admin/users", &cookies).await;
    let row = user_row(&page.body, sup_a);
    assert!(row.contains("Locked (too many failed attempts)"), "{row}");
    assert!(!user_row(&page.body, w.agent1).contains("Locked"));
    let unlocked = post(
        &w,
        &format!("/console/admin/users/{sup_a}/unlock"),
        &cookies,
        &[("csrf", &page.csrf())],
    )
    .await;
    assert_eq!(unlocked.status, StatusCode::SEE_OTHER);
    let after = get(&w, unlocked.location(), &cookies).await;
    assert!(after.body.contains("Sign-in unlocked"));
    assert!(!user_row(&after.body, sup_a).contains("Locked"));
    // At once: through the store, which every replica reads.
    sign_in(&w, "sup_a", "pw-sup_a-secret").await.unwrap();
    let unlocks = acts(&w, "unlock_user").await;
    assert_eq!(unlocks.len(), 1);
    assert_eq!(unlocks[0].user, Some(admin_id));
    assert_eq!(unlocks[0].target_id, sup_a.to_string());
}

async fn a_deactivated_user_is_signed_out_everywhere_at_once_and_cannot_sign_in(w: Arc<World>) {
    let token = w.login("agent1", w.phone1).await;
    let sup_a_token = w.login("sup_a", w.sup_a_phone).await;
    let sup_a_console = supervisor(&w, "sup_a").await;
    let (admin_id, cookies) = admin(&w).await;
    let csrf = get(&w, "/console/admin/users", &cookies).await.csrf();
    let sup_a = user_id(&w, "sup_a").await;
    for user in [w.agent1, sup_a] {
        let done = post(
            &w,
            &format!("/console/admin/users/{user}/deactivate"),
            &cookies,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER);
    }
    // Tokens stop working at once.
    for token in [&token, &sup_a_token] {
        let (status, _) = w.send("GET", "/v1/pull", Some(token), None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    // The console session ended.
    let queue = get(&w, "/console/queue", &sup_a_console).await;
    assert_eq!(queue.status, StatusCode::SEE_OTHER);
    assert_eq!(queue.location(), "/console/login");
    // No new sign-in, to sync or to the console.
    let body = serde_json::json!({
        "username": "agent1",
        "password": "pw-agent1-secret",
        "device_id": w.phone1,
    });
    let (status, value) = w
        .send("POST", "/v1/login", None, Some(body.to_string()))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(value["code"], "user_deactivated");
    let refused = sign_in(&w, "sup_a", "pw-sup_a-secret").await.unwrap_err();
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(
        refused.body.contains("该账号已被管理员停用"),
        "{}",
        refused.body
    );
    // The list says so; the deactivation is audited by the admin.
    let page = get(&w, "/console/admin/users", &cookies).await;
    assert!(user_row(&page.body, w.agent1).contains("Deactivated"));
    let done = acts(&w, "deactivate_user").await;
    assert_eq!(done.len(), 2);
    assert!(done.iter().all(|r| r.user == Some(admin_id)));
    // Other users are untouched.
    w.login("agent2", w.phone2).await;
    // The admin cannot deactivate themselves (no button on their row).
    let page = get(&w, "/console/admin/users", &cookies).await;
    assert!(!user_row(&page.body, admin_id).contains("/deactivate"));
    let own = post(
        &w,
        &format!("/console/admin/users/{admin_id}/deactivate"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(own.status, StatusCode::CONFLICT);
    assert_eq!(
        get(&w, "/console/admin/users", &cookies).await.status,
        StatusCode::OK
    );
}

async fn a_reset_password_is_shown_once_and_is_the_only_one_that_works(w: Arc<World>) {
    let sup_b_console = supervisor(&w, "sup_b").await;
    let (admin_id, cookies) = admin(&w).await;
    let sup_b = user_id(&w, "sup_b").await;
    let csrf = get(&w, "/console/admin/users", &cookies).await.csrf();
    let shown = post(
        &w,
        &format!("/console/admin/users/{sup_b}/password"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(shown.status, StatusCode::OK);
    assert_eq!(shown.header("cache-control"), "no-store");
    let from = shown.body.find("id=\"one-time-password\"").unwrap();
    let rest = &shown.body[from..];
    let password = &rest[rest.find('>').unwrap() + 1..rest.find("</code>").unwrap()];
    assert!(password.chars().count() >= 12, "{password}");
    // The old password and the old session no longer work; the new one does.
    assert_eq!(
        get(&w, "/console/queue", &sup_b_console).await.status,
        StatusCode::SEE_OTHER
    );
    assert!(sign_in(&w, "sup_b", "pw-sup_b-secret").await.is_err());
    sign_in(&w, "sup_b", password).await.unwrap();
    // Never shown again, never in the audit log.
    let page = get(&w, "/console/admin/users", &cookies).await;
    assert!(!page.body.contains(password));
    let log = blocking(&w, audit_log).await;
    assert!(!format!("{log:?}").contains(password));
    let resets = acts(&w, "reset_password").await;
    assert_eq!(resets.len(), 1);
    assert_eq!(resets[0].user, Some(admin_id));
}

async fn pull_naming_protocol(w: &World, token: &str) -> serde_json::Value {
    let request = Request::builder()
        .uri("/v1/pull?cursor=0")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .body(Body::empty())
        .unwrap();
    let (status, value) = w.raw(request).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    value
}

/// The row of the phones table about `device`.
fn device_row(body: &str, device: uuid::Uuid) -> String {
    let from = body
        .find(&format!("data-device=\"{device}\""))
        .unwrap_or_else(|| panic!("no row of {device} in {body}"));
    let rest = &body[from..];
    rest[..rest.find("</tr>").unwrap()].to_owned()
}

async fn the_phones_page_shows_what_the_server_knows_and_when_the_wipe_was_confirmed(
    w: Arc<World>,
) {
    let (admin_id, cookies) = admin(&w).await;
    let agent1 = w.agent1;
    let page = get(
        &w,
        &format!("/console/admin/devices?user={agent1}"),
        &cookies,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    let row = device_row(&page.body, w.phone1);
    assert!(row.contains("2026-03-02 09:00 UTC"), "registered: {row}");
    assert!(row.contains("never"), "{row}");
    let last8 = &w.phone1.simple().to_string()[24..];
    assert!(
        row.contains(&format!("…{last8}</td>")),
        "the id's random end: {row}"
    );
    assert!(!page.body.contains(&w.phone3.to_string()), "only agent1's");

    let token = w.login("agent1", w.phone1).await;
    w.clock.advance(chrono::Duration::minutes(30));
    let pulled = pull_naming_protocol(&w, &token).await;
    assert_eq!(pulled["deactivated"], false);
    let page = get(
        &w,
        &format!("/console/admin/devices?user={agent1}"),
        &cookies,
    )
    .await;
    let row = device_row(&page.body, w.phone1);
    assert!(
        row.contains("class=\"last-pull\">2026-03-02 09:30"),
        "{row}"
    );
    assert!(row.contains("up to date"), "{row}");
    assert!(
        row.contains(&format!("protocol {PROTOCOL_VERSION}")),
        "{row}"
    );

    // An active phone has no wipe to confirm.
    let (status, value) = w
        .send("POST", "/v1/devices/wiped", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(value["code"], "device_active");

    let deactivated = post(
        &w,
        &format!("/console/admin/devices/{}/deactivate", w.phone1),
        &cookies,
        &[("csrf", &page.csrf()), ("user", &agent1.to_string())],
    )
    .await;
    assert_eq!(deactivated.status, StatusCode::SEE_OTHER);
    let page = get(&w, deactivated.location(), &cookies).await;
    let row = device_row(&page.body, w.phone1);
    assert!(row.contains("waiting for the phone to wipe"), "{row}");
    // The phone hears it on its next pull, pushes, wipes, and says so.
    let pulled = pull_naming_protocol(&w, &token).await;
    assert_eq!(pulled["deactivated"], true);
    w.clock.advance(chrono::Duration::minutes(5));
    let (status, _) = w
        .send("POST", "/v1/devices/wiped", Some(&token), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let page = get(
        &w,
        &format!("/console/admin/devices?user={agent1}"),
        &cookies,
    )
    .await;
    let row = device_row(&page.body, w.phone1);
    assert!(row.contains("the phone confirmed its wipe"), "{row}");
    assert!(row.contains("class=\"wiped-at\">2026-03-02 09:35"), "{row}");
    let done = acts(&w, "deactivate_device").await;
    assert_eq!(done.len(), 1);
    assert_eq!(done[0].user, Some(admin_id));
    let confirmed = acts(&w, "confirm_wipe").await;
    assert_eq!(confirmed.len(), 1);
    assert_eq!(confirmed[0].device, Some(w.phone1));
}

fn has_case(changes: &[serde_json::Value], kind: &str, case: uuid::Uuid) -> bool {
    changes.iter().any(|c| {
        c["type"] == kind
            && (c["case_id"] == case.to_string() || c["case"]["id"] == case.to_string())
    })
}

async fn moving_an_agent_moves_what_each_supervisor_sees_in_the_console_and_over_sync(
    w: Arc<World>,
) {
    let c = console_world_on(&w).await;
    let visit = format!("/console/visits/{}", c.visit1);
    let sup_a = supervisor(&w, "sup_a").await;
    let sup_b = supervisor(&w, "sup_b").await;
    assert_eq!(get(&w, &visit, &sup_a).await.status, StatusCode::OK);
    assert_ne!(get(&w, &visit, &sup_b).await.status, StatusCode::OK);
    // Both supervisors' phones are up to date before the move.
    let a_phone = w.login("sup_a", w.sup_a_phone).await;
    let b_phone = w.login("sup_b", w.sup_b_phone).await;
    let a_before = w.pull(&a_phone, 0, 1000).await;
    let b_before = w.pull(&b_phone, 0, 1000).await;
    let a_changes = a_before["changes"].as_array().unwrap();
    assert!(has_case(a_changes, "case", w.case1.id));
    assert!(!has_case(
        b_before["changes"].as_array().unwrap(),
        "case",
        w.case1.id
    ));

    let (admin_id, cookies) = admin(&w).await;
    let teams = get(&w, "/console/admin/teams", &cookies).await;
    assert_eq!(teams.status, StatusCode::OK);
    let sup_b_id = user_id(&w, "sup_b").await;
    let moved = post(
        &w,
        "/console/admin/teams/move",
        &cookies,
        &[
            ("csrf", &teams.csrf()),
            ("agent", &w.agent1.to_string()),
            ("supervisor", &sup_b_id.to_string()),
        ],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER);
    let teams = get(&w, moved.location(), &cookies).await;
    let b_block = &teams.body[teams
        .body
        .find(&format!("data-supervisor=\"{sup_b_id}\""))
        .unwrap()..];
    let b_block = &b_block[..b_block.find("</section>").unwrap()];
    assert!(b_block.contains(&format!("data-agent=\"{}\"", w.agent1)));

    // The console obeys at once.
    assert_ne!(get(&w, &visit, &sup_a).await.status, StatusCode::OK);
    assert_eq!(get(&w, &visit, &sup_b).await.status, StatusCode::OK);
    let queue = get(&w, "/console/queue", &sup_b).await;
    assert!(queue.body.contains(&c.visit1.to_string()), "in B's queue");
    let queue = get(&w, "/console/queue", &sup_a).await;
    assert!(
        !queue.body.contains(&c.visit1.to_string()),
        "gone from A's queue"
    );

    // Over sync: A's phone is told the case is gone, B's receives it with
    // the visit's whole log (what its review queue is made of).
    let a_after = w
        .pull(&a_phone, a_before["cursor"].as_u64().unwrap(), 1000)
        .await;
    assert!(has_case(
        a_after["changes"].as_array().unwrap(),
        "case_removed",
        w.case1.id
    ));
    let b_after = w
        .pull(&b_phone, b_before["cursor"].as_u64().unwrap(), 1000)
        .await;
    let b_changes = b_after["changes"].as_array().unwrap();
    assert!(has_case(b_changes, "case", w.case1.id));
    let visit1 = c.visit1.to_string();
    let entries = b_changes
        .iter()
        .filter(|ch| ch["type"] == "visit_entry" && ch["entry"]["visit_id"] == visit1)
        .count();
    assert!(entries >= 5, "{b_changes:?}");
    let moves = acts(&w, "move_agent").await;
    assert_eq!(moves.len(), 1);
    assert_eq!(moves[0].user, Some(admin_id));
    assert_eq!(moves[0].target_id, w.agent1.to_string());
}

/// `POST` a JSON body with `Doorstep-Protocol: 4`, the sign-in with a
/// refresh credential.
async fn post_v4(w: &World, uri: &str, body: serde_json::Value) -> (StatusCode, serde_json::Value) {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(PROTOCOL_HEADER, "4")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    w.raw(request).await
}

async fn an_admin_signs_a_phone_out_and_its_agent_types_the_password_again(w: Arc<World>) {
    let (admin_id, cookies) = admin(&w).await;
    let login = serde_json::json!({
        "username": "agent1",
        "password": "pw-agent1-secret",
        "device_id": w.phone1,
    });
    let (status, signed) = post_v4(&w, "/v1/login", login.clone()).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    let credential = signed["refresh_token"].as_str().unwrap().to_owned();
    let token = signed["token"].as_str().unwrap().to_owned();

    let page = get(&w, "/console/admin/devices", &cookies).await;
    let action = format!("/console/admin/devices/{}/sign-out", w.phone1);
    assert!(page.body.contains(&action), "{}", page.body);
    let done = post(&w, &action, &cookies, &[("csrf", &page.csrf())]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let after = get(&w, done.location(), &cookies).await;
    assert!(
        after.body.contains("The phone was signed out"),
        "{}",
        after.body
    );

    // Neither the credential nor the token works; the password does.
    let renew = serde_json::json!({"device_id": w.phone1, "refresh_token": credential});
    assert_eq!(
        post_v4(&w, "/v1/refresh", renew).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = w.send("GET", "/v1/pull?cursor=0", Some(&token), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(post_v4(&w, "/v1/login", login).await.0, StatusCode::OK);
    let signed_out = acts(&w, "revoke_sign_in").await;
    assert_eq!(signed_out.len(), 1);
    assert_eq!(signed_out[0].user, Some(admin_id), "who did it");
    assert_eq!(signed_out[0].target_id, w.phone1.to_string());
}

/// A pull naming `app_version` as the header's raw bytes; its status.
async fn pull_naming_app(w: &World, token: &str, app_version: Option<&[u8]>) -> StatusCode {
    let mut request = Request::builder()
        .uri("/v1/pull?cursor=0")
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    if let Some(bytes) = app_version {
        request = request.header(
            "doorstep-app-version",
            axum::http::HeaderValue::from_bytes(bytes).unwrap(),
        );
    }
    w.raw(request.body(Body::empty()).unwrap()).await.0
}

async fn the_phones_page_shows_the_app_version_each_phone_named(w: Arc<World>) {
    let (_, cookies) = admin(&w).await;
    let token = w.login("agent1", w.phone1).await;
    let row = |body: &str| device_row(body, w.phone1);
    let page = get(&w, "/console/admin/devices", &cookies).await;
    assert!(!row(&page.body).contains("app-version"), "none named yet");

    assert_eq!(
        pull_naming_app(&w, &token, Some(b"1.4.2 (142)")).await,
        StatusCode::OK
    );
    let page = get(&w, "/console/admin/devices", &cookies).await;
    assert!(
        row(&page.body).contains("<bdi class=\"app-version\">1.4.2 (142)</bdi>"),
        "{}",
        row(&page.body)
    );
    // A phone naming none (built before) keeps what was recorded; a
    // malformed name is refused and changes nothing.
    assert_eq!(pull_naming_app(&w, &token, None).await, StatusCode::OK);
    let too_long = "9".repeat(41);
    for bad in [too_long.as_bytes(), "版本 2".as_bytes(), b" 2.0".as_slice()] {
        assert_eq!(
            pull_naming_app(&w, &token, Some(bad)).await,
            StatusCode::BAD_REQUEST
        );
    }
    let page = get(&w, "/console/admin/devices", &cookies).await;
    assert!(
        row(&page.body).contains(">1.4.2 (142)<"),
        "{}",
        row(&page.body)
    );
}
