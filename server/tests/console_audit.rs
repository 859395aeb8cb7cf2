//! Router tests of the console's audit trail: who sees which rows (a
//! supervisor their team's, an admin all, an agent none), the filters by
//! user, action and day, the pages and their counts, the CSV (the page's
//! rows, formulas defused, itself audited), and the reads and refusals that
//! write rows: a photo viewed, another team's report, photo or case, a form
//! without its token. On SQLite and on PostgreSQL (one test per check per
//! backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::collections::BTreeSet;
use std::sync::Arc;

use backends::blocking;
use chrono::{DateTime, Utc};
use common::*;
use console_support::*;
use doorstep_core::sync::protocol::Role;
use doorstep_server::console::audit;
use doorstep_server::console::i18n::Lang;
use doorstep_server::store::{AuditQuery, AuditRow, AuditScope};

on_both_backends!(
    a_supervisor_sees_their_teams_rows_and_an_admin_every_row,
    filters_by_user_action_and_day_and_pages_in_a_stable_order,
    the_csv_holds_the_pages_rows_with_formulas_defused_and_is_audited,
    photo_views_forbidden_urls_and_csrf_refusals_are_audited_and_shown,
    agents_are_refused,
);

/// The rows of an audit page: (row number, action code), as listed.
fn rows(page: &Page) -> Vec<(u64, String)> {
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let mut out = Vec::new();
    let mut rest = page.body.as_str();
    while let Some(at) = rest.find("<tr data-id=\"") {
        rest = &rest[at + "<tr data-id=\"".len()..];
        let id = rest[..rest.find('"').unwrap()].parse().unwrap();
        let at = rest.find("data-action=\"").unwrap() + "data-action=\"".len();
        let action = rest[at..at + rest[at..].find('"').unwrap()].to_owned();
        out.push((id, action));
    }
    out
}

/// The row count a page states.
fn total(page: &Page) -> u64 {
    let at = page.body.find("<span id=\"audit-total\">").unwrap() + 23;
    page.body[at..at + page.body[at..].find('<').unwrap()]
        .parse()
        .unwrap()
}

/// Every row the filters `query` select, every page walked.
async fn all_rows(w: &World, query: &str, cookies: &str) -> Vec<(u64, String)> {
    let mut all = Vec::new();
    for page in 1.. {
        let sep = if query.is_empty() { "" } else { "&" };
        let uri = format!("/console/audit?{query}{sep}page={page}");
        let listed = rows(&get(w, &uri, cookies).await);
        if listed.is_empty() {
            break;
        }
        all.extend(listed);
    }
    all
}

/// The numbers of every row the filters `query` select, every page walked.
async fn all_pages(w: &World, query: &str, cookies: &str) -> Vec<u64> {
    all_rows(w, query, cookies)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect()
}

/// Every row of the log with its number, newest first, from the store.
async fn log(w: &Arc<World>) -> Vec<AuditRow> {
    blocking(w, |w| {
        store::read(w.state.store.as_ref(), |tx| {
            tx.audit_rows(&AuditQuery::all(AuditScope::All), 0, 1_000_000)
        })
        .unwrap()
    })
    .await
}

/// The id of the user with this name.
async fn user_id(w: &Arc<World>, username: &'static str) -> Uuid {
    blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.user_by_name(username))
            .unwrap()
            .unwrap()
            .id
    })
    .await
}

/// Creates an admin, `root`.
async fn create_root(w: &Arc<World>) {
    blocking(w, |w| {
        let s = w.state.store.as_ref();
        admin::create_user(s, "root", "pw-root-secret", Role::Admin, None, t0()).unwrap();
    })
    .await;
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

/// The row numbers of `rows` that pass `keep`.
fn ids(rows: &[AuditRow], keep: impl Fn(&AuditRow) -> bool) -> Vec<u64> {
    rows.iter().filter(|r| keep(r)).map(|r| r.id).collect()
}

async fn a_supervisor_sees_their_teams_rows_and_an_admin_every_row(w: Arc<World>) {
    let c = console_world_on(&w).await;
    create_root(&w).await;
    let a = supervisor(&w, "sup_a").await;
    let b = supervisor(&w, "sup_b").await;
    // sup_a reads team A's report; sup_b tries it (refused), then reads
    // team B's own.
    let visit1 = format!("/console/visits/{}", c.visit1);
    assert_eq!(get(&w, &visit1, &a).await.status, StatusCode::OK);
    assert_eq!(get(&w, &visit1, &b).await.status, StatusCode::NOT_FOUND);
    let visit2 = format!("/console/visits/{}", c.visit2);
    assert_eq!(get(&w, &visit2, &b).await.status, StatusCode::OK);
    // Failed sign-ins: an agent of each team, and a name that is nobody's.
    for name in ["agent1", "agent3", "nobody"] {
        assert!(sign_in(&w, name, "wrong-password").await.is_err());
    }
    let root = sign_in(&w, "root", "pw-root-secret").await.unwrap();

    let everything = log(&w).await;
    let (sup_a, sup_b) = (user_id(&w, "sup_a").await, user_id(&w, "sup_b").await);
    let (team_cases, team_visits) = blocking(&w, move |w| {
        store::read(w.state.store.as_ref(), |tx| {
            let cases: BTreeSet<String> = tx
                .team_cases(sup_a)?
                .iter()
                .map(|c| c.case.id.to_string())
                .collect();
            let visits: BTreeSet<String> = tx
                .team_visits(sup_a)?
                .iter()
                .map(|v| v.id.to_string())
                .collect();
            Ok::<_, store::StoreError>((cases, visits))
        })
        .unwrap()
    })
    .await;
    assert_eq!(team_visits.len(), 2, "visit1 and visit3");
    let team_a = [sup_a, w.agent1, w.agent2];
    let theirs = |r: &AuditRow| {
        let record = &r.record;
        record.user.is_some_and(|u| team_a.contains(&u))
            || (record.target_kind == "visit" && team_visits.contains(&record.target_id))
            || (record.target_kind == "case" && team_cases.contains(&record.target_id))
            || (record.target_kind == "team" && record.target_id == sup_a.to_string())
    };
    let seen_a = all_pages(&w, "", &a).await;
    assert_eq!(
        seen_a,
        ids(&everything, theirs),
        "team A's rows, newest first"
    );
    let total_a = total(&get(&w, "/console/audit", &a).await);
    assert_eq!(total_a, seen_a.len() as u64);

    let row_of = |action: &str, user: Option<Uuid>, target: &str| {
        everything
            .iter()
            .find(|r| {
                r.record.action == action && r.record.user == user && r.record.target_id == target
            })
            .unwrap_or_else(|| panic!("no {action} row on {target}"))
            .id
    };
    let v1 = c.visit1.to_string();
    let b_tried_v1 = row_of("console_view_visit", Some(sup_b), &v1);
    let b_read_v2 = row_of("console_view_visit", Some(sup_b), &c.visit2.to_string());
    let agent1_failed = row_of("sign_in_refused", Some(w.agent1), "wrong_credentials");
    let agent3_failed = row_of("sign_in_refused", Some(w.agent3), "wrong_credentials");
    let nobody_failed = row_of("sign_in_refused", None, "wrong_credentials");
    // Rows about team A's visit, whoever wrote them; none of team B's own.
    assert!(seen_a.contains(&row_of("console_view_visit", Some(sup_a), &v1)));
    assert!(seen_a.contains(&b_tried_v1));
    assert!(seen_a.contains(&agent1_failed));
    for other in [b_read_v2, agent3_failed, nobody_failed] {
        assert!(!seen_a.contains(&other), "row {other} is not team A's");
    }
    let seen_b = all_pages(&w, "", &b).await;
    for mine in [b_tried_v1, b_read_v2, agent3_failed] {
        assert!(seen_b.contains(&mine), "row {mine} is team B's");
    }
    assert!(!seen_b.contains(&agent1_failed));
    assert!(!seen_b.contains(&nobody_failed));
    // No row of team A's phones' pushes reaches team B.
    assert!(
        !everything
            .iter()
            .filter(|r| r.record.user == Some(w.agent1))
            .any(|r| seen_b.contains(&r.id))
    );
    // An admin sees every row, including the name that is nobody's.
    let seen_root = all_pages(&w, "", &root).await;
    assert_eq!(
        seen_root,
        everything.iter().map(|r| r.id).collect::<Vec<_>>()
    );
    let first = get(&w, "/console/audit", &root).await;
    assert_eq!(total(&first), everything.len() as u64);
    assert!(first.body.contains("Everything audited on this server"));
    // Supervisors read their scope in the intro; every page links the trail.
    let page = get(&w, "/console/audit", &a).await;
    assert!(page.body.contains("What you and your team"));
    assert!(page.body.contains("href=\"/console/audit\""));
    assert!(
        get(&w, "/console/queue", &a)
            .await
            .body
            .contains("href=\"/console/audit\">Audit trail</a>")
    );
    // Ids and codes only: nothing of the customer is on the page.
    for personal in ["王小明", "建国路", "138 0000", "CC-2026"] {
        assert!(!page.body.contains(personal), "{personal}");
    }
}

async fn filters_by_user_action_and_day_and_pages_in_a_stable_order(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let a = supervisor(&w, "sup_a").await;
    let visit1 = format!("/console/visits/{}", c.visit1);
    let visit3 = format!("/console/visits/{}", c.visit3);
    // 30 views late on 2 March in Beijing (15:59 UTC), one at midnight
    // (3 March 00:00 in Beijing), 40 on 3 March.
    for i in 0..30 {
        w.clock
            .set(at("2026-03-02T15:59:00Z") + chrono::Duration::seconds(i));
        assert_eq!(get(&w, &visit1, &a).await.status, StatusCode::OK);
    }
    w.clock.set(at("2026-03-02T16:00:00Z"));
    assert_eq!(get(&w, &visit1, &a).await.status, StatusCode::OK);
    // (Signed in again: the first session has expired by then.)
    w.clock.set(at("2026-03-03T01:00:00Z"));
    let a = supervisor(&w, "sup_a").await;
    for i in 0..40 {
        w.clock
            .set(at("2026-03-03T01:00:00Z") + chrono::Duration::seconds(i));
        assert_eq!(get(&w, &visit3, &a).await.status, StatusCode::OK);
    }
    // The last view with a clock set back: it is still the newest row.
    w.clock.set(at("2026-03-01T12:00:00Z"));
    assert_eq!(get(&w, &visit1, &a).await.status, StatusCode::OK);
    w.clock.set(t0());

    let everything = log(&w).await;
    let views = ids(&everything, |r| r.record.action == "console_view_visit");
    assert_eq!(views.len(), 72);

    // By action: 72 rows, 50 then 22, newest (by row, not clock) first.
    let first = get(&w, "/console/audit?action=console_view_visit", &a).await;
    assert_eq!(total(&first), 72);
    let page1 = rows(&first);
    assert_eq!(page1.len(), 50);
    assert!(
        page1
            .iter()
            .all(|(_, action)| action == "console_view_visit")
    );
    assert_eq!(page1[0].0, views[0]);
    assert!(
        first.body.contains("2026-03-01 20:00:00"),
        "times in UTC+08:00"
    );
    assert!(first.body.contains("1 / 2"));
    assert!(
        first
            .body
            .contains("href=\"/console/audit?action=console_view_visit&#38;page=2\"")
    );
    let second = get(&w, "/console/audit?action=console_view_visit&page=2", &a).await;
    let page2 = rows(&second);
    assert_eq!(page2.len(), 22);
    let listed: Vec<u64> = page1.iter().chain(&page2).map(|(id, _)| *id).collect();
    assert_eq!(
        listed, views,
        "both pages, in order, without gaps or repeats"
    );
    let past = get(&w, "/console/audit?action=console_view_visit&page=9", &a).await;
    assert!(rows(&past).is_empty());
    assert!(past.body.contains("No audit rows match."));
    assert_eq!(total(&past), 72);

    // By day, in UTC+08:00, both ends inclusive.
    let day = |from: &str, to: &str| {
        format!("/console/audit?action=console_view_visit&from={from}&to={to}")
    };
    assert_eq!(
        total(&get(&w, &day("2026-03-02", "2026-03-02"), &a).await),
        30
    );
    assert_eq!(total(&get(&w, &day("2026-03-03", ""), &a).await), 41);
    assert_eq!(total(&get(&w, &day("", "2026-03-01"), &a).await), 1);
    assert_eq!(
        total(&get(&w, &day("2026-03-01", "2026-03-03"), &a).await),
        72
    );
    assert_eq!(total(&get(&w, &day("2026-03-04", ""), &a).await), 0);

    // By user.
    let agent1_rows = ids(&everything, |r| r.record.user == Some(w.agent1));
    assert!(!agent1_rows.is_empty(), "agent1's pushes");
    let by_agent1 = all_pages(&w, &format!("user={}", w.agent1), &a).await;
    assert_eq!(by_agent1, agent1_rows);
    let sup_a = user_id(&w, "sup_a").await;
    let mine = get(
        &w,
        &format!(
            "/console/audit?user={sup_a}&action=console_view_visit&from=2026-03-02&to=2026-03-02"
        ),
        &a,
    )
    .await;
    assert_eq!(total(&mine), 30);
    assert!(
        mine.body
            .contains(&format!("<option value=\"{sup_a}\" selected>"))
    );
    assert!(
        mine.body
            .contains("<option value=\"console_view_visit\" selected>")
    );
    assert!(mine.body.contains("value=\"2026-03-02\""));
    let none = get(
        &w,
        &format!("/console/audit?user={}&action=console_view_visit", w.agent1),
        &a,
    )
    .await;
    assert_eq!(total(&none), 0);
    // The store takes several users and actions at once: any of them.
    let (agent1, agent2) = (w.agent1, w.agent2);
    let either = blocking(&w, move |w| {
        let query = AuditQuery {
            users: vec![agent1, sup_a],
            actions: vec!["console_view_visit".into(), "push".into()],
            ..AuditQuery::all(AuditScope::Team(sup_a))
        };
        store::read(w.state.store.as_ref(), |tx| {
            Ok::<_, store::StoreError>((tx.audit_rows(&query, 0, 1000)?, tx.audit_count(&query)?))
        })
        .unwrap()
    })
    .await;
    let expected = ids(&everything, |r| {
        [Some(agent1), Some(sup_a)].contains(&r.record.user)
            && ["console_view_visit", "push"].contains(&r.record.action.as_str())
    });
    assert!(expected.len() > 72, "views and agent1's pushes");
    assert_eq!(either.0.iter().map(|r| r.id).collect::<Vec<_>>(), expected);
    assert_eq!(either.1, expected.len() as u64);
    assert!(either.0.iter().all(|r| r.record.user != Some(agent2)));
    // The user filter offers the supervisor and the team, by name.
    for name in ["sup_a (Supervisor)", "agent1 (Agent)", "agent2 (Agent)"] {
        assert!(first.body.contains(name), "{name}");
    }
    assert!(!first.body.contains("agent3"));

    // What does not parse is ignored, never an error; bad dates are named.
    let everything_a = total(&get(&w, "/console/audit", &a).await);
    let junk = get(
        &w,
        "/console/audit?user=x&action=%3Cb%3E&from=soon&to=2026-02-30&page=zero",
        &a,
    )
    .await;
    assert_eq!(junk.status, StatusCode::OK);
    assert_eq!(total(&junk), everything_a);
    assert_eq!(
        junk.body
            .matches("Not a date, so not used as a filter:")
            .count(),
        2
    );
    assert!(!junk.body.contains("<b>"));
    let garbled = get(
        &w,
        "/console/audit?from=%FF%FE&page=99999999999999999999",
        &a,
    )
    .await;
    assert_eq!(garbled.status, StatusCode::OK);
    let huge = get(&w, "/console/audit?page=18446744073709551615", &a).await;
    assert_eq!(huge.status, StatusCode::OK);
    assert!(rows(&huge).is_empty());
}

async fn the_csv_holds_the_pages_rows_with_formulas_defused_and_is_audited(w: Arc<World>) {
    let c = console_world_on(&w).await;
    const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"x\")";
    blocking(&w, |w| {
        let s = w.state.store.as_ref();
        admin::create_user(
            s,
            EVIL,
            "pw-evil-secret-long",
            Role::Agent,
            Some("sup_a"),
            t0(),
        )
        .unwrap();
    })
    .await;
    let evil = user_id(&w, EVIL).await;
    assert!(sign_in(&w, EVIL, "wrong-password").await.is_err());
    let a = supervisor(&w, "sup_a").await;
    let visit1 = format!("/console/visits/{}", c.visit1);
    assert_eq!(get(&w, &visit1, &a).await.status, StatusCode::OK);

    for filter in ["", "action=refused", &format!("user={evil}")] {
        let page = get(&w, &format!("/console/audit?{filter}"), &a).await;
        let listed = all_rows(&w, filter, &a).await;
        assert_eq!(total(&page), listed.len() as u64, "{filter}");
        assert!(page.body.contains(&format!(
            "href=\"/console/audit.csv{}\"",
            if filter.is_empty() {
                String::new()
            } else {
                format!("?{}", filter.replace('&', "&#38;"))
            }
        )));
        let csv = get(&w, &format!("/console/audit.csv?{filter}"), &a).await;
        assert_eq!(csv.status, StatusCode::OK, "{}", csv.body);
        assert_eq!(csv.header("content-type"), "text/csv; charset=utf-8");
        assert!(csv.header("content-disposition").starts_with("attachment"));
        let mut reader = csv::Reader::from_reader(csv.bytes.as_slice());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(header, audit::CSV_COLUMNS);
        let lines: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let in_csv: Vec<(u64, String)> = lines
            .iter()
            .map(|l| (l[0].parse().unwrap(), l[6].to_owned()))
            .collect();
        assert_eq!(in_csv, listed, "{filter}: the page's rows, in order");
        for line in &lines {
            for cell in line.iter() {
                assert!(
                    !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "{filter}: a cell a spreadsheet would run: {cell}"
                );
            }
        }
        // The refused sign-in of the agent whose name is a formula.
        let line = lines
            .iter()
            .find(|l| &l[6] == "sign_in_refused" && l[2] == evil.to_string())
            .unwrap_or_else(|| panic!("{filter}: the refused sign-in"));
        assert_eq!(&line[3], format!("'{EVIL}"));
        assert_eq!(&line[4], "agent");
        assert_eq!(&line[7], "console_sign_in");
        assert_eq!(&line[9], "wrong_credentials");
        assert!(line[1].ends_with('Z'), "UTC: {}", &line[1]);
    }
    // Each download is audited with its filters.
    let exports: Vec<String> = log(&w)
        .await
        .into_iter()
        .rev()
        .filter(|r| r.record.action == "console_export_audit")
        .map(|r| r.record.target_id)
        .collect();
    assert_eq!(
        exports,
        [
            "".to_owned(),
            "action=refused".into(),
            format!("user={evil}")
        ]
    );
    let page = get(&w, "/console/audit?action=console_export_audit", &a).await;
    assert_eq!(total(&page), 3);
    assert!(page.body.contains("Exported the audit trail"));
    assert!(page.body.contains("href=\"/console/audit?action=refused\""));
    // The page shows the formula as text, never as markup or a link of its own.
    let refused = get(&w, "/console/audit?action=refused", &a).await;
    assert!(
        refused
            .body
            .contains("=HYPERLINK(&#34;http://evil.example&#34;")
    );
    assert!(!refused.body.contains("href=\"http://evil.example"));
}

async fn photo_views_forbidden_urls_and_csrf_refusals_are_audited_and_shown(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let a = supervisor(&w, "sup_a").await;
    let b = supervisor(&w, "sup_b").await;
    let (sup_a, sup_b) = (user_id(&w, "sup_a").await, user_id(&w, "sup_b").await);
    // The phone uploads the photo; sup_a views it.
    let upload = axum::http::Request::builder()
        .method("PUT")
        .uri(format!(
            "/v1/attachments/{}?offset=0&total={}",
            photo_sha256(),
            PHOTO.len()
        ))
        .header("authorization", format!("Bearer {}", c.agent1_token))
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(PHOTO.to_vec()))
        .unwrap();
    let (status, state) = w.raw(upload).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    let photo = format!("/console/visits/{}/attachments/0", c.visit1);
    let viewed = get(&w, &photo, &a).await;
    assert_eq!(viewed.status, StatusCode::OK);
    assert_eq!(viewed.bytes, PHOTO);

    // sup_b tries team A's report, photo and case: each refused and audited.
    assert_eq!(
        get(&w, &format!("/console/visits/{}", c.visit1), &b)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(get(&w, &photo, &b).await.status, StatusCode::NOT_FOUND);
    let csrf_b = get(&w, "/console/cases", &b).await.csrf();
    let assign = post(
        &w,
        &format!("/console/cases/{}/assign", w.case1.id),
        &b,
        &[("csrf", &csrf_b), ("agent", &w.agent3.to_string())],
    )
    .await;
    assert_eq!(assign.status, StatusCode::NOT_FOUND);
    // A case nobody has is not an attempt on anyone's work: no row.
    let unknown = post(
        &w,
        &format!("/console/cases/{}/assign", Uuid::now_v7()),
        &b,
        &[("csrf", &csrf_b), ("agent", &w.agent3.to_string())],
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    // sup_a names another team's agent: refused and audited.
    let csrf_a = get(&w, "/console/cases", &a).await.csrf();
    let other_agent = post(
        &w,
        &format!("/console/cases/{}/assign", w.case1.id),
        &a,
        &[("csrf", &csrf_a), ("agent", &w.agent3.to_string())],
    )
    .await;
    assert_eq!(other_agent.status, StatusCode::FORBIDDEN);
    // A decision without its token; a sign-in form without its token.
    let forged = post(
        &w,
        &format!("/console/visits/{}/approve", c.visit1),
        &a,
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let no_token = post(
        &w,
        "/console/login",
        "",
        &[("username", "sup_a"), ("password", "pw-sup_a-secret")],
    )
    .await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);

    let everything = log(&w).await;
    let find = |action: &str, user: Uuid, code: Option<&str>| {
        everything
            .iter()
            .find(|r| {
                r.record.action == action
                    && r.record.user == Some(user)
                    && audit::refusal_code(&r.record) == code
            })
            .unwrap_or_else(|| panic!("no {action} row by {user} with {code:?}"))
            .record
            .clone()
    };
    let v1 = c.visit1.to_string();
    let seen = find("console_view_attachment", sup_a, None);
    assert_eq!(
        (seen.target_kind.as_str(), seen.target_id.as_str()),
        ("visit", v1.as_str())
    );
    assert_eq!(
        find("console_view_visit", sup_b, Some("not_your_team")).target_id,
        v1
    );
    assert_eq!(
        find("console_view_attachment", sup_b, Some("not_your_team")).target_id,
        v1
    );
    let case1 = w.case1.id.to_string();
    assert_eq!(
        find("console_assign_refused", sup_b, Some("not_your_team")).target_id,
        case1
    );
    assert_eq!(
        find("console_assign_refused", sup_a, Some("other_team_agent")).target_id,
        case1
    );
    assert_eq!(
        everything
            .iter()
            .filter(|r| r.record.action == "console_assign_refused")
            .count(),
        2,
        "the unknown case left no row"
    );
    let form = find("form_refused", sup_a, Some("csrf_refused"));
    assert_eq!(
        form.target_id,
        format!("/console/visits/{}/approve", c.visit1)
    );
    let login = find("sign_in_refused", sup_a, Some("csrf_refused"));
    assert_eq!(login.target_kind, "console_sign_in");

    // sup_a's refused attempts: their own, and sup_b's on team A's work.
    let refused_a = get(&w, "/console/audit?action=refused", &a).await;
    let listed: Vec<String> = rows(&refused_a).into_iter().map(|(_, a)| a).collect();
    for action in [
        "console_view_visit",
        "console_view_attachment",
        "console_assign_refused",
        "form_refused",
        "sign_in_refused",
    ] {
        assert!(listed.iter().any(|l| l == action), "{action} in {listed:?}");
    }
    assert_eq!(
        listed
            .iter()
            .filter(|l| *l == "console_assign_refused")
            .count(),
        2
    );
    assert_eq!(total(&refused_a), listed.len() as u64);
    for words in [
        "Refused attempts (all)",
        "Another team&#39;s record",
        "Another team&#39;s agent",
        "Form without its security token",
        "Viewed a photo",
        "Sign-in refused",
    ] {
        assert!(refused_a.body.contains(words), "{words}");
    }
    // Filtered by sup_b, sup_a sees sup_b's attempts on team A's work, and
    // sup_b is offered in the list; a user id with no row shown names nobody.
    let by_b = get(&w, &format!("/console/audit?user={sup_b}"), &a).await;
    assert_eq!(total(&by_b), 3, "the report, the photo and the case");
    assert!(by_b.body.contains(&format!(
        "<option value=\"{sup_b}\" selected>sup_b (Supervisor)"
    )));
    let agent3 = get(&w, &format!("/console/audit?user={}", w.agent3), &a).await;
    assert_eq!(total(&agent3), 0);
    assert!(!agent3.body.contains("agent3"), "no name for an id alone");
    // sup_a may open team A's visit from the trail; sup_b is shown no link.
    let link = format!("href=\"/console/visits/{v1}\"");
    assert!(get(&w, "/console/audit", &a).await.body.contains(&link));
    let refused_b = get(&w, "/console/audit?action=refused", &b).await;
    let listed_b: Vec<String> = rows(&refused_b).into_iter().map(|(_, a)| a).collect();
    assert_eq!(listed_b.len(), 3, "sup_b's own three: {listed_b:?}");
    assert!(!refused_b.body.contains(&link));
    assert!(!listed_b.iter().any(|l| l == "form_refused"));
    // In Chinese.
    let zh = get(
        &w,
        "/console/audit?action=refused",
        &b.replace("doorstep_lang=en", "doorstep_lang=zh"),
    )
    .await;
    for words in [
        "<h1>审计记录</h1>",
        "其他团队的记录",
        "查看走访报告",
        "所有被拒绝的尝试",
    ] {
        assert!(zh.body.contains(words), "{words}");
    }
    assert_eq!(zh.header("content-language"), "zh-CN");
}

async fn agents_are_refused(w: Arc<World>) {
    // Agents cannot sign in to the console.
    assert!(sign_in(&w, "agent1", "pw-agent1-secret").await.is_err());
    // A console session of an agent's is no session: to the sign-in page.
    let cookie = "an-agents-console-session";
    let agent1 = w.agent1;
    blocking(&w, move |w| {
        use sha2::Digest;
        let s = w.state.store.as_ref();
        store::write(s, |tx| {
            tx.insert_console_session(&store::ConsoleSessionRecord {
                id_sha256: hex::encode(sha2::Sha256::digest(cookie.as_bytes())),
                user: agent1,
                csrf_token: "t".into(),
                created_at: t0(),
                expires_at: t0() + chrono::Duration::hours(8),
                ended: false,
            })
        })
        .unwrap();
    })
    .await;
    for uri in [
        "/console/audit",
        "/console/audit.csv",
        "/console/audit?action=refused",
    ] {
        for cookies in [format!("doorstep_console={cookie}"), String::new()] {
            let page = get(&w, uri, &cookies).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER, "{uri}");
            assert_eq!(page.location(), "/console/login");
        }
    }
    // And the rule itself: an agent reads no row (403 not_supervisor).
    let refused = blocking(&w, |w| {
        let s = w.state.store.as_ref();
        let agent = store::read(s, |tx| tx.user_by_name("agent1"))
            .unwrap()
            .unwrap();
        let filter = audit::AuditFilter {
            page: 1,
            ..audit::AuditFilter::default()
        };
        let page = audit::load_page(s, Lang::En, &agent, &filter)
            .map(|_| ())
            .unwrap_err();
        let csv = audit::export(s, &agent, &filter, t0())
            .map(|_| ())
            .unwrap_err();
        (page, csv, audit::scope_of(&agent).unwrap_err())
    })
    .await;
    for err in [refused.0, refused.1, refused.2] {
        assert_eq!(err.status(), StatusCode::FORBIDDEN);
        assert_eq!(err.code(), "not_supervisor");
    }
    assert!(
        log(&w)
            .await
            .iter()
            .all(|r| r.record.action != "console_export_audit")
    );
}
