//! The printable visit record, `/console/visits/{id}/print`: the whole record
//! (masked reference, map, photos, checklist, notes, outcome, decision
//! history, the event log check) with a footer naming the record, who printed
//! it and when; no navigation, forms, buttons or scripts; every view audited
//! as `console_print_visit`; another team's supervisor refused as on the
//! report page, and agents never let in. On SQLite and on PostgreSQL (one test
//! per check per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is
//! set); the broken chain, made by editing a database file at rest, on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_server::store::sqlite::SqliteStore;

on_both_backends!(
    the_print_view_is_the_whole_record_without_navigation_or_forms,
    another_team_and_agents_are_refused_the_print_view,
);

const PRINT_ACTION: &str = "console_print_visit";

/// [`audit_actions`] off the async workers (the PostgreSQL store blocks).
async fn done(w: &Arc<World>, action: &'static str) -> Vec<String> {
    blocking(w, move |w| audit_actions(w, action)).await
}

/// [`audit_refusals`] off the async workers.
async fn refusals(w: &Arc<World>, action: &'static str) -> Vec<(String, String)> {
    blocking(w, move |w| audit_refusals(w, action)).await
}

fn print_uri(visit: Uuid) -> String {
    format!("/console/visits/{visit}/print")
}

/// What no printed record may hold: navigation, forms, buttons, scripts,
/// inline styles, lazily loaded images.
fn assert_paper_only(page: &Page) {
    for banned in [
        "<nav",
        "<form",
        "<button",
        "<input",
        "<select",
        "<textarea",
        "<script",
        " style=",
        "loading=",
    ] {
        assert!(
            !page.body.contains(banned),
            "{banned} on the print page:\n{}",
            page.body
        );
    }
    let csp = page.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

async fn the_print_view_is_the_whole_record_without_navigation_or_forms(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let visit = c.visit1;

    // The report links to it; return the visit first, so there is a decision
    // to print.
    let report = get(&c.w, &format!("/console/visits/{visit}"), &cookies).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(report.body.contains(&format!(
        "href=\"/console/visits/{visit}/print\" id=\"print-link\">Print record</a>"
    )));
    let returned = post(
        &c.w,
        &format!("/console/visits/{visit}/return"),
        &cookies,
        &[
            ("csrf", &report.csrf()),
            ("reason_code", "missing_photos"),
            ("comment", "Photograph the door <b>number</b>."),
        ],
    )
    .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER, "{}", returned.body);

    let page = get(&c.w, &print_uri(visit), &cookies).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_paper_only(&page);
    let body = &page.body;
    assert!(body.contains("<h1>Visit record <span class=\"state\">Returned</span></h1>"));
    assert!(body.contains("href=\"/console/print.css\""));
    // The customer, masked as on the report page.
    assert!(body.contains("**********0123"), "account reference masked");
    assert!(!body.contains("CC-2026-000123"));
    assert!(body.contains("**************123X"), "national id masked");
    assert!(!body.contains("138 0000 0000"), "phone masked");
    // The site with its map, the photo (loaded eagerly), checklist, notes, outcome.
    assert!(body.contains("<svg") && body.contains("map-fence"));
    assert!(body.contains(&format!(
        "<img src=\"/console/visits/{visit}/attachments/0\" alt=\"Photo 1 · "
    )));
    assert!(body.contains("Customer&#39;s identity confirmed"));
    assert!(
        body.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; customer lost job"),
        "the note, escaped"
    );
    assert!(body.contains("5,000.00 CNY · 2026-03-10"), "the promise");
    // The decision history: who returned it, when, why, with what comment.
    let decisions = &body[body.find("id=\"decisions\"").unwrap()..];
    let decisions = &decisions[..decisions.find("</ol>").unwrap()];
    assert!(
        decisions.contains("<b>Returned</b> · 2026-03-02 "),
        "{decisions}"
    );
    assert!(decisions.contains("<bdi>sup_a</bdi>"));
    assert!(decisions.contains("Reason: <bdi>Photos missing or unclear</bdi>"));
    assert!(decisions.contains("Photograph the door &#60;b&#62;number&#60;/b&#62;."));
    // The chain check, and the footer: record id, printed by, printed at.
    assert!(body.contains("<p class=\"ok\" id=\"log-check\">Intact: every chain verifies."));
    let footer = &body[body.find("<footer class=\"record-foot\"").unwrap()..];
    let footer = &footer[..footer.find("</footer>").unwrap()];
    assert!(footer.contains(&format!("Record id: <span class=\"mono\">{visit}</span>")));
    assert!(footer.contains("Printed by: <bdi>sup_a</bdi>"), "{footer}");
    // The world's clock: 2026-03-02 09:00 UTC, 17:00 in Beijing.
    assert!(
        footer.contains("Printed at: 2026-03-02 17:00 (UTC+08:00)"),
        "{footer}"
    );

    // Every view of the print page is audited under its own action.
    assert_eq!(done(&c.w, PRINT_ACTION).await, [visit.to_string()]);
    assert_eq!(
        done(&c.w, "console_view_visit").await.len(),
        1,
        "the report's view only"
    );

    // In Chinese.
    let zh = get(
        &c.w,
        &print_uri(visit),
        &cookies.replace("doorstep_lang=en", "doorstep_lang=zh"),
    )
    .await;
    assert_eq!(zh.status, StatusCode::OK);
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
    for shown in [
        "走访记录",
        "打印人: <bdi>sup_a</bdi>",
        "记录编号",
        "审核记录",
        "完整：所有链均校验通过。",
    ] {
        assert!(zh.body.contains(shown), "{shown} in\n{}", zh.body);
    }
    assert_paper_only(&zh);
    assert_eq!(done(&c.w, PRINT_ACTION).await.len(), 2);

    // Its stylesheet (public, as style.css is): A4, nothing split, the footer
    // on every page.
    let css = get(&c.w, "/console/print.css", "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.header("content-type").starts_with("text/css"));
    for rule in [
        "size: A4",
        "@media print",
        "break-inside: avoid",
        "position: fixed",
    ] {
        assert!(css.body.contains(rule), "{rule}");
    }
}

async fn another_team_and_agents_are_refused_the_print_view(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let visit = c.visit1.to_string();

    // Team B's supervisor: the report page's answer, and the refusal audited.
    let other = supervisor(&c.w, "sup_b").await;
    let refused = get(&c.w, &print_uri(c.visit1), &other).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    let report = get(&c.w, &format!("/console/visits/{visit}"), &other).await;
    assert_eq!(report.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.body, report.body, "the same refusal as the report");
    for secret in ["王小明", "0123", "lost job"] {
        assert!(!refused.body.contains(secret), "{secret}");
    }
    assert!(done(&c.w, PRINT_ACTION).await.is_empty());
    assert_eq!(
        refusals(&c.w, PRINT_ACTION).await,
        [(visit.clone(), "not_your_team".to_owned())]
    );
    // Their own visit prints.
    let theirs = get(&c.w, &print_uri(c.visit2), &other).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(theirs.body.contains("Printed by: <bdi>sup_b</bdi>"));

    // Unknown and malformed ids are not found, and not audited as views.
    let unknown = get(&c.w, &print_uri(Uuid::now_v7()), &other).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = get(&c.w, "/console/visits/not-a-uuid/print", &other).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    assert_eq!(done(&c.w, PRINT_ACTION).await, [c.visit2.to_string()]);

    // An agent cannot sign in to the console, and the agent's API token is no
    // console session, as a header or as the cookie.
    let agent = sign_in(&c.w, "agent1", "pw-agent1-secret").await;
    assert!(agent.is_err(), "an agent signed in to the console");
    let bearer = Request::builder()
        .uri(print_uri(c.visit1))
        .header(header::AUTHORIZATION, format!("Bearer {}", c.agent1_token))
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&c.w, bearer).await.location(), "/console/login");
    let as_cookie = format!("doorstep_console={}", c.agent1_token);
    let page = get(&c.w, &print_uri(c.visit1), &as_cookie).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login");
    // Nor does anyone without a session.
    assert_eq!(
        get(&c.w, &print_uri(c.visit1), "").await.location(),
        "/console/login"
    );
    assert_eq!(done(&c.w, PRINT_ACTION).await, [c.visit2.to_string()]);
    assert_eq!(refusals(&c.w, PRINT_ACTION).await.len(), 1);
}

#[tokio::test]
async fn a_broken_chain_is_printed_with_the_entry_where_it_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let w = World::with_store(Arc::new(SqliteStore::open_dir(dir.path()).unwrap()));
    let case3 = seed(&w);
    let c = console_world_in(w, case3).await;

    // Someone with access to the database edits the note's text in place.
    let db = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    let edited = db
        .execute(
            "UPDATE visit_entries SET body = replace(body, 'lost job', 'new job')
             WHERE visit_id = ?1 AND body LIKE '%lost job%'",
            [c.visit1.to_string()],
        )
        .unwrap();
    assert_eq!(edited, 1);
    drop(db);

    let cookies = supervisor(&c.w, "sup_a").await;
    let page = get(&c.w, &print_uri(c.visit1), &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_paper_only(&page);
    let check = &page.body[page.body.find("id=\"log-check\"").unwrap() - 20..];
    let check = &check[..check.find("</p>").unwrap()];
    assert!(
        check.contains("<p class=\"alert\" id=\"log-check\">"),
        "{check}"
    );
    assert!(
        check.contains("Broken: the log was altered at entry "),
        "{check}"
    );
    assert!(
        page.body.contains("new job"),
        "the record as it is stored now"
    );
    assert_eq!(audit_actions(&c.w, PRINT_ACTION), [c.visit1.to_string()]);
}
