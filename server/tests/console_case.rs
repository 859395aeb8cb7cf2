//! Router tests of a case's page: the customer's story (visits, notices,
//! promises and whether they were kept, repayments, assignments, one
//! timeline), the bank's decision (checked by the core, recorded, audited,
//! and reaching the agent's phone when it schedules another visit), and the
//! feedback given to the customer on an approved visit (reaching the phone
//! with the visit). On SQLite and on PostgreSQL (one test per check per
//! backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::domain::Repayment;
use doorstep_core::money::Money;

on_both_backends!(
    the_case_page_tells_the_customers_story,
    another_teams_case_is_not_found_and_the_attempt_is_audited,
    a_decision_is_checked_recorded_and_audited,
    another_visit_reaches_the_agents_phone_as_a_case_to_visit,
    a_closed_case_takes_no_more_decisions,
    feedback_is_given_on_an_approved_visit_and_reaches_the_phone,
    a_promise_shows_kept_or_broken_against_the_repayments,
    the_assignment_history_says_to_whom_and_by_whom,
);

fn case_url(c: &Console) -> String {
    format!("/console/cases/{}", c.w.case1.id)
}

async fn approve(c: &Console, cookies: &str, visit: Uuid) {
    let report = get(&c.w, &format!("/console/visits/{visit}"), cookies).await;
    let approved = post(
        &c.w,
        &format!("/console/visits/{visit}/approve"),
        cookies,
        &[("csrf", &report.csrf())],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
}

/// Posts the decision form of case1 with `fields` (the session's token from
/// the queue, which every supervisor has).
async fn decide(c: &Console, cookies: &str, fields: &[(&str, &str)]) -> Page {
    let page = get(&c.w, "/console/queue", cookies).await;
    let csrf = page.csrf();
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    post(&c.w, &format!("{}/decide", case_url(c)), cookies, &all).await
}

async fn the_case_page_tells_the_customers_story(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let page = get(&c.w, &case_url(&c), &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    for expected in [
        "王小明",
        "北京市朝阳区建国路 88 号",
        "12,500.00 CNY",
        "45 (M2)",
        "Platinum credit card",
    ] {
        assert!(page.body.contains(expected), "{expected}");
    }
    assert!(
        !page.body.contains("CC-2026-000123"),
        "the account is masked"
    );
    // The visit, linked; the notice given; the promise, not yet due.
    assert!(
        page.urls()
            .contains(&format!("/console/visits/{}", c.visit1))
    );
    let notices = &page.body[page.body.find("id=\"notices\"").unwrap()..];
    assert!(
        notices.contains("Text message") && notices.contains("Acknowledged"),
        "{notices:.300}"
    );
    let promises = &page.body[page.body.find("id=\"promises\"").unwrap()..];
    assert!(promises.contains("5,000.00 CNY") && promises.contains("2026-03-10"));
    assert!(promises.contains("class=\"keeping pending\""));
    // The timeline runs across the visit: planned, notice, check-in, submitted.
    let timeline = &page.body[page.body.find("id=\"timeline\"").unwrap()..];
    assert!(timeline.matches("<li>").count() >= 4);
    // Reached from the case list and from the report.
    let list = get(&c.w, "/console/cases", &cookies).await;
    assert!(list.urls().contains(&case_url(&c)));
    let report = get(&c.w, &format!("/console/visits/{}", c.visit1), &cookies).await;
    assert!(report.urls().contains(&case_url(&c)));
    assert_eq!(
        blocking(&c.w, |w| audit_actions(w, "console_view_case")).await,
        [c.w.case1.id.to_string()]
    );
}

async fn another_teams_case_is_not_found_and_the_attempt_is_audited(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_b").await;
    let page = get(&c.w, &case_url(&c), &cookies).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(!page.body.contains("王小明"));
    let refused = decide(&c, &cookies, &[("kind", "escalate_to_legal")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let (view, decision) = blocking(&c.w, |w| {
        (
            audit_refusals(w, "console_view_case"),
            audit_refusals(w, "decide_plan"),
        )
    })
    .await;
    let case = c.w.case1.id.to_string();
    assert_eq!(view, [(case.clone(), "not_your_team".to_owned())]);
    assert_eq!(decision, [(case, "not_your_team".to_owned())]);
    let nothing = get(&c.w, "/console/cases/not-a-case", &cookies).await;
    assert_eq!(nothing.status, StatusCode::NOT_FOUND);
}

async fn a_decision_is_checked_recorded_and_audited(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let visit = c.visit1.to_string();
    let saved = decide(
        &c,
        &cookies,
        &[
            ("kind", "instalment_plan"),
            ("after_visit", &visit),
            ("amount", "1,250.50"),
            ("months", "6"),
            ("date", "2026-04-01"),
            ("note", "客户失业，同意分 6 期 <b>"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(saved.location(), format!("{}?saved=decision", case_url(&c)));
    let page = get(&c.w, saved.location(), &cookies).await;
    let decisions = &page.body[page.body.find("id=\"decisions\"").unwrap()..];
    assert!(
        decisions.contains("Repayment plan: 6 × 1,250.50 CNY"),
        "{decisions:.400}"
    );
    assert!(
        decisions.contains("客户失业，同意分 6 期 &#60;b&#62;"),
        "the note as text"
    );
    assert!(page.body.contains("Decision recorded."));

    // What the core refuses, and what a form cannot say, records nothing.
    for (fields, why) in [
        (
            vec![
                ("kind", "instalment_plan"),
                ("amount", "100"),
                ("months", "1"),
                ("date", "2026-04-01"),
            ],
            "one instalment",
        ),
        (
            vec![
                ("kind", "promise_follow_up"),
                ("amount", "0"),
                ("date", "2026-04-01"),
            ],
            "nothing promised",
        ),
        (
            vec![("kind", "schedule_visit"), ("date", "2026-03-01")],
            "a visit in the past",
        ),
        (
            vec![("kind", "schedule_visit"), ("date", "2030-01-01")],
            "years ahead",
        ),
        (
            vec![("kind", "schedule_visit"), ("date", "soon")],
            "no date",
        ),
        (
            vec![
                ("kind", "promise_follow_up"),
                ("amount", "1e9"),
                ("date", "2026-04-01"),
            ],
            "an unreadable amount",
        ),
        (vec![("kind", "write_off")], "no such decision"),
        (
            vec![
                ("kind", "escalate_to_legal"),
                ("after_visit", "not-a-visit"),
            ],
            "no such visit",
        ),
    ] {
        let refused = decide(&c, &cookies, &fields).await;
        assert!(
            refused.status.is_client_error(),
            "{why}: {}",
            refused.status
        );
        assert!(!refused.status.is_server_error(), "{why}");
    }
    let other_case_visit = c.visit3.to_string();
    let refused = decide(
        &c,
        &cookies,
        &[
            ("kind", "escalate_to_legal"),
            ("after_visit", &other_case_visit),
        ],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::NOT_FOUND,
        "a visit of another case"
    );
    let (decisions, audited) = blocking(&c.w, |w| {
        let s = w.state.store.as_ref();
        (
            store::read(s, |tx| tx.case_decisions(w.case1.id)).unwrap(),
            audit_actions(w, "decide_plan"),
        )
    })
    .await;
    assert_eq!(decisions.len(), 1, "only the valid decision is stored");
    assert_eq!(decisions[0].after_visit, Some(c.visit1));
    assert_eq!(audited, [c.w.case1.id.to_string()]);

    // Without the session's token: refused, nothing stored.
    let forged = post(
        &c.w,
        &format!("{}/decide", case_url(&c)),
        &cookies,
        &[("csrf", "forged"), ("kind", "escalate_to_legal")],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    // An agent has no console at all.
    let agent = sign_in(&c.w, "agent1", "pw-agent1-secret").await;
    assert!(agent.is_err(), "agents do not sign in to the console");
}

async fn another_visit_reaches_the_agents_phone_as_a_case_to_visit(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let before = c.w.pull(&c.agent1_token, 0, 1000).await["cursor"]
        .as_u64()
        .unwrap();
    let saved = decide(
        &c,
        &cookies,
        &[("kind", "schedule_visit"), ("date", "2026-03-09")],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = c.w.pull(&c.agent1_token, before, 1000).await;
    let cases: Vec<&serde_json::Value> = page["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|ch| ch["type"] == "case")
        .collect();
    assert_eq!(cases.len(), 1, "{page}");
    assert_eq!(cases[0]["case"]["id"], c.w.case1.id.to_string());
    assert_eq!(
        cases[0]["case"]["status"], "new",
        "back on the list to visit"
    );
    assert_eq!(cases[0]["case"]["due_date"], "2026-03-09");
    // A plan changes nothing the phone sees.
    let after = page["cursor"].as_u64().unwrap();
    let saved = decide(
        &c,
        &cookies,
        &[
            ("kind", "promise_follow_up"),
            ("amount", "500"),
            ("date", "2026-03-20"),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = c.w.pull(&c.agent1_token, after, 1000).await;
    assert!(
        page["changes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|ch| ch["type"] != "case"),
        "{page}"
    );
}

async fn a_closed_case_takes_no_more_decisions(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let saved = decide(&c, &cookies, &[("kind", "escalate_to_legal")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = get(&c.w, &case_url(&c), &cookies).await;
    assert!(page.body.contains("Closed"));
    assert!(
        !page.body.contains("id=\"decide\""),
        "no form on a closed case"
    );
    let refused = decide(
        &c,
        &cookies,
        &[("kind", "schedule_visit"), ("date", "2026-03-09")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let refusals = blocking(&c.w, |w| audit_refusals(w, "decide_plan")).await;
    assert_eq!(
        refusals,
        [(c.w.case1.id.to_string(), "invalid_decision".to_owned())]
    );
    // The phone saw the case closed.
    let changes = c.w.pull_all(&c.agent1_token).await;
    let last_case = changes
        .iter()
        .rev()
        .find(|ch| ch["type"] == "case")
        .unwrap();
    assert_eq!(last_case["case"]["status"], "closed");
}

async fn feedback_is_given_on_an_approved_visit_and_reaches_the_phone(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let uri = format!("/console/visits/{}/feedback", c.visit1);
    let fields = |csrf: &str| {
        vec![
            ("csrf".to_owned(), csrf.to_owned()),
            ("channel".to_owned(), "phone_call".to_owned()),
            ("delivered_at".to_owned(), "2026-03-02T16:30".to_owned()),
            ("summary".to_owned(), "已电话告知客户分期方案".to_owned()),
            ("customer_confirmed".to_owned(), "on".to_owned()),
        ]
    };
    let send = |fields: Vec<(String, String)>| {
        let c = &c;
        let uri = uri.clone();
        let cookies = cookies.clone();
        async move {
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            post(&c.w, &uri, &cookies, &fields).await
        }
    };
    let csrf = get(&c.w, &case_url(&c), &cookies).await.csrf();
    // Submitted, not yet approved: no feedback yet, and no form for it.
    let early = send(fields(&csrf)).await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(early.body.contains("approved visit only"));
    assert!(
        !get(&c.w, &case_url(&c), &cookies)
            .await
            .body
            .contains("feedback-form")
    );

    approve(&c, &cookies, c.visit1).await;
    let page = get(&c.w, &case_url(&c), &cookies).await;
    assert!(page.body.contains("feedback-form"));
    let mut bad_time = fields(&csrf);
    bad_time[2].1 = "yesterday".into();
    assert_eq!(
        send(bad_time).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut empty = fields(&csrf);
    empty[3].1 = "   ".into();
    assert_eq!(send(empty).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let saved = send(fields(&csrf)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = get(&c.w, saved.location(), &cookies).await;
    assert!(page.body.contains("已电话告知客户分期方案"));
    assert!(
        page.body.contains("2026-03-02 16:30 (UTC+08:00)"),
        "the case's local time"
    );

    let changes = c.w.pull_all(&c.agent1_token).await;
    let feedback: Vec<_> = changes
        .iter()
        .filter(|ch| ch["type"] == "visit_entry" && ch["entry"]["kind"] == "feedback_recorded")
        .collect();
    assert_eq!(feedback.len(), 1, "the phone receives the feedback once");
    let other_team = supervisor(&c.w, "sup_b").await;
    let csrf_b = get(&c.w, "/console/queue", &other_team).await.csrf();
    let fields_b = fields(&csrf_b);
    let fields_b: Vec<(&str, &str)> = fields_b
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let refused = post(&c.w, &uri, &other_team, &fields_b).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
}

async fn a_promise_shows_kept_or_broken_against_the_repayments(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    // The promise: 5,000 CNY by 10 March, made on 2 March. Past its due date
    // with nothing paid, it is broken.
    c.w.clock.set(t0() + chrono::Duration::days(9));
    let cookies_late = supervisor(&c.w, "sup_a").await;
    let page = get(&c.w, &case_url(&c), &cookies_late).await;
    assert!(
        page.body.contains("class=\"keeping broken\""),
        "nothing paid"
    );
    drop(cookies);
    let account = c.w.case1.external_ref.clone();
    blocking(&c.w, move |w| {
        let paid = |day, yuan: i64| Repayment {
            account_ref: account.clone(),
            paid_on: chrono::NaiveDate::from_ymd_opt(2026, 3, day).unwrap(),
            amount: Money::new(yuan * 100, "CNY").unwrap(),
        };
        store::write(w.state.store.as_ref(), |tx| {
            tx.insert_repayments(&[paid(4, 2_000)], t0())
        })
        .unwrap();
    })
    .await;
    let page = get(&c.w, &case_url(&c), &cookies_late).await;
    assert!(page.body.contains("class=\"keeping partly_kept\""));
    assert!(
        page.body.contains("2,000.00 CNY"),
        "the repayment is listed"
    );
    let account = c.w.case1.external_ref.clone();
    blocking(&c.w, move |w| {
        store::write(w.state.store.as_ref(), |tx| {
            tx.insert_repayments(
                &[Repayment {
                    account_ref: account,
                    paid_on: chrono::NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
                    amount: Money::new(300_000, "CNY").unwrap(),
                }],
                t0(),
            )
        })
        .unwrap();
    })
    .await;
    let page = get(&c.w, &case_url(&c), &cookies_late).await;
    assert!(page.body.contains("class=\"keeping kept\""));
}

/// The `<li>` lines of the case page's assignment history.
fn assignment_lines(page: &Page) -> Vec<String> {
    let from = page.body.find("id=\"assignments\"").unwrap();
    let section = &page.body[from..from + page.body[from..].find("</section>").unwrap()];
    section
        .split("<li>")
        .skip(1)
        .map(|li| li[..li.find("</li>").unwrap()].to_owned())
        .collect()
}

async fn the_assignment_history_says_to_whom_and_by_whom(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    // Imported by the server's command to agent1 with agent2 as partner.
    let page = get(&c.w, &case_url(&c), &cookies).await;
    assert_eq!(
        assignment_lines(&page),
        [format!(
            "{} · first assigned to <bdi>agent1 + agent2</bdi> · Team <bdi>sup_a</bdi> · \
             by <bdi>administrator (server)</bdi>",
            page_time(&page, 0)
        )]
    );
    // The supervisor gives it to agent2 alone, then back to both.
    for (agent, partner) in [(c.w.agent2, None), (c.w.agent1, Some(c.w.agent2))] {
        let list = get(&c.w, "/console/cases", &cookies).await;
        let partner = partner.map(|p| p.to_string()).unwrap_or_default();
        let done = post(
            &c.w,
            &format!("{}/assign", case_url(&c)),
            &cookies,
            &[
                ("csrf", &list.csrf()),
                ("agent", &agent.to_string()),
                ("partner", &partner),
            ],
        )
        .await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    }
    // Assigning the same agents again changes nothing, and is no new line.
    let list = get(&c.w, "/console/cases", &cookies).await;
    let again = post(
        &c.w,
        &format!("{}/assign", case_url(&c)),
        &cookies,
        &[
            ("csrf", &list.csrf()),
            ("agent", &c.w.agent1.to_string()),
            ("partner", &c.w.agent2.to_string()),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
    let page = get(&c.w, &case_url(&c), &cookies).await;
    let lines = assignment_lines(&page);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[1].ends_with(
            "reassigned to <bdi>agent2</bdi> · Team <bdi>sup_a</bdi> · by <bdi>sup_a</bdi>"
        ),
        "{lines:#?}"
    );
    assert!(
        lines[2].ends_with(
            "reassigned to <bdi>agent1 + agent2</bdi> · Team <bdi>sup_a</bdi> · by <bdi>sup_a</bdi>"
        ),
        "{lines:#?}"
    );
}

/// The time the `i`th assignment line starts with, as the page shows it.
fn page_time(page: &Page, i: usize) -> String {
    let line = &assignment_lines(page)[i];
    line[..line.find(" · ").unwrap()].to_owned()
}
