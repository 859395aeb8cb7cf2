//! Router tests of the console's sign-in, sessions, cookies and language, on
//! SQLite and on PostgreSQL (one test per check per backend; PostgreSQL when
//! `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;

on_both_backends!(
    a_supervisor_signs_in_with_a_strict_http_only_cookie_and_signs_out,
    cookies_are_secure_behind_tls,
    agents_unknown_users_wrong_passwords_and_forged_sign_ins_are_refused,
    repeated_wrong_passwords_lock_the_name_for_a_while_even_with_the_right_one,
    a_session_expires_after_eight_hours,
    the_language_switch_remembers_the_choice_and_never_leaves_the_console,
);

async fn a_supervisor_signs_in_with_a_strict_http_only_cookie_and_signs_out(w: Arc<World>) {
    let home = get(&w, "/console", "").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/console/login");
    assert_eq!(
        get(&w, "/console/queue", "").await.location(),
        "/console/login"
    );

    let page = get(&w, "/console/login", "").await;
    let login_cookie = page.cookie("doorstep_login").unwrap();
    let csrf = page.csrf();
    let answer = post(
        &w,
        "/console/login",
        &format!("doorstep_login={login_cookie}"),
        &[
            ("username", "sup_a"),
            ("password", "pw-sup_a-secret"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/console/queue");
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("doorstep_console="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    let cookies = format!(
        "doorstep_console={}",
        answer.cookie("doorstep_console").unwrap()
    );
    let queue = get(&w, "/console/queue", &cookies).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("sup_a"));

    // Sign-out needs the session's CSRF token.
    let refused = post(&w, "/console/logout", &cookies, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = post(&w, "/console/logout", &cookies, &[("csrf", "0000")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.status,
        StatusCode::OK
    );
    let out = post(&w, "/console/logout", &cookies, &[("csrf", &queue.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/console/login");
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("doorstep_console=;"))
    );
    // The old cookie no longer works, even if the browser kept it.
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.location(),
        "/console/login"
    );
    let (signed_in, signed_out) = blocking(&w, |w| {
        (
            audit_actions(w, "console_sign_in"),
            audit_actions(w, "console_sign_out"),
        )
    })
    .await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_out.len(), 1);
}

async fn cookies_are_secure_behind_tls(w: Arc<World>) {
    let request = Request::builder()
        .uri("/console/login")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let page = send(&w, request).await;
    assert!(page.set_cookies().iter().all(|c| c.contains("; Secure")));
    // And always with the server's flag.
    let state = w.state.clone();
    let secure = doorstep_server::app_with_console(
        state,
        doorstep_server::console::ConsoleConfig {
            secure_cookies: true,
        },
    );
    let response = secure
        .oneshot(
            Request::builder()
                .uri("/console/login")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = response.headers().get(header::SET_COOKIE).unwrap();
    assert!(cookie.to_str().unwrap().contains("; Secure"));
}

async fn agents_unknown_users_wrong_passwords_and_forged_sign_ins_are_refused(w: Arc<World>) {
    for (user, password) in [
        ("agent1", "pw-agent1-secret"),
        ("sup_a", "wrong"),
        ("nobody", "pw-nobody-secret"),
    ] {
        let refused = sign_in(&w, user, password).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{user}");
        assert!(refused.cookie("doorstep_console").is_none());
        assert!(refused.body.contains("role=\"alert\""));
    }
    // A sign-in form posted without the form's own cookie (a forged form).
    let forged = post(
        &w,
        "/console/login",
        "",
        &[
            ("username", "sup_a"),
            ("password", "pw-sup_a-secret"),
            ("csrf", "x"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("doorstep_console").is_none());
    // A made-up session cookie is no session.
    let page = get(&w, "/console/queue", "doorstep_console=deadbeef").await;
    assert_eq!(page.location(), "/console/login");
    assert!(
        blocking(&w, |w| audit_actions(w, "console_sign_in"))
            .await
            .is_empty()
    );
    // Every refusal left an audit row with ids and codes only: the user's id
    // when the typed name is a user's, never the name or the password.
    let (audit, sup_a) = blocking(&w, |w| {
        let s = w.state.store.as_ref();
        let audit = store::read(s, |tx| tx.audit_log()).unwrap();
        let sup_a = store::read(s, |tx| tx.user_by_name("sup_a")).unwrap();
        (audit, sup_a.unwrap().id)
    })
    .await;
    let refused: Vec<_> = audit
        .into_iter()
        .filter(|r| r.action == "sign_in_refused")
        .map(|r| (r.user, r.target_kind, r.target_id))
        .collect();
    let row =
        |user: Option<Uuid>, code: &str| (user, "console_sign_in".to_owned(), code.to_owned());
    assert_eq!(
        refused,
        [
            row(Some(w.agent1), "wrong_credentials"),
            row(Some(sup_a), "wrong_credentials"),
            row(None, "wrong_credentials"),
            row(Some(sup_a), "csrf_refused"),
        ]
    );
}

async fn repeated_wrong_passwords_lock_the_name_for_a_while_even_with_the_right_one(w: Arc<World>) {
    for _ in 0..5 {
        let refused = sign_in(&w, "sup_a", "guess").await.unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    }
    // Locked, whatever the password; the API's login counts the same failures.
    // The page says when to come back, as the API does.
    let locked = sign_in(&w, "sup_a", "pw-sup_a-secret").await.unwrap_err();
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.header("retry-after"), "900");
    assert_eq!(
        blocking(&w, |w| audit_actions(w, "sign_in_refused")).await,
        [vec!["wrong_credentials"; 5], vec!["too_many_attempts"]].concat()
    );
    assert!(locked.cookie("doorstep_console").is_none());
    assert!(locked.body.contains("role=\"alert\""));
    // Another supervisor is not locked out by someone guessing sup_a's password
    // (in process there is no client address to count).
    assert!(sign_in(&w, "sup_b", "pw-sup_b-secret").await.is_ok());
    // A quarter of an hour later the right password works again.
    w.clock.advance(chrono::Duration::minutes(15));
    assert!(sign_in(&w, "sup_a", "pw-sup_a-secret").await.is_ok());
}

async fn a_session_expires_after_eight_hours(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    w.clock.advance(Duration::hours(8) - Duration::seconds(1));
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.status,
        StatusCode::OK
    );
    w.clock.advance(Duration::seconds(1));
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.location(),
        "/console/login"
    );
}

async fn the_language_switch_remembers_the_choice_and_never_leaves_the_console(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let session = cookies.split(';').next().unwrap().to_owned();
    let switch = get(
        &w,
        "/console/language/zh?next=/console/queue%3Fflag%3Dtwo_person",
        &session,
    )
    .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), "/console/queue?flag=two_person");
    let lang = switch.cookie("doorstep_lang").unwrap();
    assert_eq!(lang, "zh");
    let zh = get(
        &w,
        "/console/queue",
        &format!("{session}; doorstep_lang=zh"),
    )
    .await;
    assert!(zh.body.contains("待审队列"));
    let en = get(
        &w,
        "/console/queue",
        &format!("{session}; doorstep_lang=en"),
    )
    .await;
    assert!(en.body.contains("Review queue"));
    for next in ["https://evil.example/", "//evil.example", "/v1/pull"] {
        let away = get(
            &w,
            &format!("/console/language/en?next={}", encode_query(next)),
            &session,
        )
        .await;
        assert_eq!(away.location(), "/console/queue", "{next}");
    }
    let css = get(&w, "/console/style.css", "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    // Every page names the console's icon, so browsers never ask for a
    // missing /favicon.ico.
    assert!(
        en.body
            .contains(r#"<link rel="icon" href="/console/icon.svg""#)
    );
    let icon = get(&w, "/console/icon.svg", "").await;
    assert_eq!(icon.status, StatusCode::OK);
    assert_eq!(icon.headers[header::CONTENT_TYPE], "image/svg+xml");
    assert!(icon.body.starts_with("<svg"));
}

#[test]
fn an_existing_sqlite_database_gains_the_console_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = doorstep_server::store::sqlite::SqliteStore::open_dir(dir.path()).unwrap();
        drop(store);
        // Make it look like a schema-1 database from before the console.
        downgrade_sqlite_to_version_1(&dir.path().join("doorstep-server.db"));
    }
    let store = doorstep_server::store::sqlite::SqliteStore::open_dir(dir.path()).unwrap();
    let found = store::read(&store, |tx| tx.console_session("none")).unwrap();
    assert_eq!(found, None);
    let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, doorstep_server::store::sqlite::SCHEMA_VERSION);
}
