//! Router tests of the console's team dashboard, and of the console on PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use common::*;
use console_support::*;

#[tokio::test]
async fn the_dashboard_adds_up_the_teams_visits_per_day_and_per_agent() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let page = get(&c.w, "/console/dashboard?days=7", &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace(['\n', ' '], "");
    // Both team A visits were checked in on 2 March (17:00 Beijing); one
    // ended in a promise of 5,000 CNY, the other found nobody home; both are
    // flagged (two-person, far from the address). agent2 was on both.
    let row = |cells: &[&str], tag: &str| {
        cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", c.replace(' ', "")))
            .collect::<String>()
    };
    assert!(
        body.contains(&row(&["Total", "2", "50%", "1", "5,000.00 CNY", "2"], "th")),
        "{body}"
    );
    assert!(body.contains(&row(
        &["<bdi>agent1</bdi>", "1", "100%", "1", "5,000.00 CNY", "1"],
        "td"
    )));
    assert!(body.contains(&row(
        &["<bdi>agent2</bdi>", "2", "50%", "1", "5,000.00 CNY", "2"],
        "td"
    )));
    assert!(body.contains(&row(
        &["2026-03-02", "2", "50%", "1", "5,000.00 CNY", "2"],
        "td"
    )));
    assert!(
        body.contains(&row(&["2026-02-24", "0", "–", "0", "–", "0"], "td")),
        "7 days back"
    );
    assert!(!body.contains("2026-02-23"));
    assert_eq!(
        page.body.matches("class=\"bar-visits\"").count(),
        7 + 1 + 2,
        "7 days, legend, 2 agents"
    );
    assert!(page.body.contains("<svg"));

    // Team B's supervisor sees team B only; an unknown period shows 14 days.
    let other = supervisor(&c.w, "sup_b").await;
    let theirs = get(&c.w, "/console/dashboard?days=9999", &other).await;
    let body = theirs.body.replace(['\n', ' '], "");
    assert!(
        body.contains(&row(&["<bdi>agent3</bdi>", "1", "0%", "0", "–", "0"], "td")),
        "{body}"
    );
    assert!(!body.contains("agent1"));
    assert!(body.contains("2026-02-17") && !body.contains("2026-02-16"));
    // And it needs a session.
    assert_eq!(
        get(&c.w, "/console/dashboard", "").await.location(),
        "/console/login"
    );
}

#[test]
fn the_console_signs_in_reviews_and_decides_on_postgresql_too() {
    let Some(pg) = postgres_store("the_console_signs_in_reviews_and_decides_on_postgresql_too")
    else {
        return;
    };
    let w = World::with_store(pg);
    let case3 = seed(&w);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let c = runtime.block_on(async {
        let c = console_world_in(w, case3).await;
        let cookies = supervisor(&c.w, "sup_a").await;
        let queue = get(&c.w, "/console/queue?flag=two_person", &cookies).await;
        assert!(
            queue
                .body
                .contains(&format!("/console/visits/{}", c.visit1))
        );
        assert!(!queue.body.contains(&c.visit3.to_string()));
        let uri = format!("/console/visits/{}", c.visit1);
        let report = get(&c.w, &uri, &cookies).await;
        assert_eq!(report.status, StatusCode::OK);
        assert!(report.body.contains("Intact: every chain verifies."));
        let other = supervisor(&c.w, "sup_b").await;
        assert_eq!(get(&c.w, &uri, &other).await.status, StatusCode::NOT_FOUND);
        let fields = [
            ("csrf", report.csrf()),
            ("reason_code", "other".to_owned()),
            ("comment", "please check the address".to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let returned = post(&c.w, &format!("{uri}/return"), &cookies, &fields).await;
        assert_eq!(returned.status, StatusCode::SEE_OTHER);
        let changes = c.w.pull_all(&c.agent1_token).await;
        assert!(
            changes
                .iter()
                .any(|ch| ch["type"] == "visit_entry" && ch["entry"]["kind"] == "reviewed")
        );
        let dashboard = get(&c.w, "/console/dashboard", &cookies).await;
        assert_eq!(dashboard.status, StatusCode::OK);
        c
    });
    assert_eq!(audit_actions(&c.w, "console_view_visit").len(), 1);
    assert_eq!(audit_refusals(&c.w, "console_view_visit").len(), 1);
    assert_eq!(audit_actions(&c.w, "review").len(), 1);
}
