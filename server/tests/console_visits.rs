//! Router tests of the visits list and the queue's waiting times: every visit
//! of the team in every state stays findable; the text search finds a visit by
//! the customer's name, the account's last digits, a phone number, an address
//! fragment or the agent, and never puts what was typed in a URL; filters by
//! state, outcome, overdue band, amount and day count their choices; sorting
//! by any column pages through every visit once, in order; the queue marks a
//! visit waiting more than a day. On SQLite and on PostgreSQL (one test per
//! check per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::money::Money;

on_both_backends!(
    every_state_is_listed_and_a_decided_visit_stays_findable,
    the_text_search_finds_each_way_a_supervisor_remembers_a_customer,
    the_text_search_never_reaches_a_url_and_needs_the_session,
    filters_narrow_the_list_and_count_their_choices,
    sorting_by_a_column_pages_through_every_visit_once_in_order,
    the_queue_marks_what_has_waited_more_than_a_day,
    the_queue_pages_through_every_waiting_visit_longest_waiting_first,
);

/// A case of agent1 (team A) with its own customer.
fn customer_case(
    w: &World,
    name: &str,
    external_ref: &str,
    phone: &str,
    address: &str,
    yuan: i64,
    days_past_due: u32,
) -> Case {
    let mut case = sample_case(w.agent1, None);
    case.customer.name = name.into();
    case.external_ref = external_ref.into();
    case.customer.phones[0].number = phone.into();
    case.customer.addresses[0].text = address.into();
    case.overdue_amount = Money::new(yuan * 100, "CNY").unwrap();
    case.days_past_due = days_past_due;
    case
}

/// Imports `cases` and has agent1's phone plan a visit to each (a draft the
/// server holds); the visits' ids, in the order of `cases`.
async fn planned_visits(c: &Console, cases: Vec<Case>) -> Vec<Uuid> {
    planned_phones(c, cases)
        .await
        .into_iter()
        .map(|phone| phone.visit)
        .collect()
}

/// As [`planned_visits`], with the phone's chain of each visit to go on with.
async fn planned_phones(c: &Console, cases: Vec<Case>) -> Vec<Phone> {
    let w = &c.w;
    let imported = cases.clone();
    blocking(w, move |w| {
        admin::import_cases(w.state.store.as_ref(), &imported, t0()).unwrap();
    })
    .await;
    let mut ops = Vec::new();
    let mut phones = Vec::new();
    for case in &cases {
        let mut phone = Phone::new(w.phone1, Uuid::now_v7());
        ops.push(phone.act(&planned(case)));
        phones.push(phone);
    }
    let outcomes = w.push_outcomes(&c.agent1_token, &ops).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    phones
}

/// The visits a list page links to, in the page's order.
fn listed(page: &Page) -> Vec<Uuid> {
    page.urls()
        .iter()
        .filter_map(|url| url.strip_prefix("/console/visits/"))
        .filter_map(|rest| rest.parse().ok())
        .collect()
}

/// The visits of the queue, in its order.
async fn queue(w: &World, cookies: &str) -> Page {
    let page = get(w, "/console/queue", cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    page
}

/// Posts a text search (with the codes in `fields`) from the visits page.
async fn search(w: &World, cookies: &str, q: &str, fields: &[(&str, &str)]) -> Page {
    let form_page = get(w, "/console/visits", cookies).await;
    let csrf = form_page.csrf();
    let mut all = vec![("csrf", csrf.as_str()), ("q", q)];
    all.extend_from_slice(fields);
    post(w, "/console/visits", cookies, &all).await
}

async fn every_state_is_listed_and_a_decided_visit_stays_findable(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    let planned = planned_visits(&c, vec![sample_case(w.agent1, None)]).await;
    // A visit cancelled by its agent.
    let mut phone = planned_phones(&c, vec![sample_case(w.agent1, None)])
        .await
        .remove(0);
    let cancelled = phone.visit;
    let cancel = phone.act(&VisitChange::Cancelled {
        reason: "customer moved".into(),
    });
    assert_eq!(
        w.push_outcomes(&c.agent1_token, &[cancel]).await,
        ["applied"]
    );

    let cookies = supervisor(w, "sup_a").await;
    let page = get(w, "/console/visits", &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let all: BTreeSet<Uuid> = listed(&page).into_iter().collect();
    let mine: BTreeSet<Uuid> = [c.visit1, c.visit3, planned[0], cancelled].into();
    assert_eq!(all, mine, "team A's four visits, not team B's");
    assert!(page.body.contains(">Planned<") && page.body.contains(">Cancelled<"));

    // Approved, the visit leaves the queue and stays in the list.
    let report = get(w, &format!("/console/visits/{}", c.visit1), &cookies).await;
    let approved = post(
        w,
        &format!("/console/visits/{}/approve", c.visit1),
        &cookies,
        &[("csrf", &report.csrf())],
    )
    .await;
    assert!(approved.status.is_redirection(), "{}", approved.status);
    assert!(!listed(&queue(w, &cookies).await).contains(&c.visit1));
    let page = get(w, "/console/visits?state=approved", &cookies).await;
    assert_eq!(listed(&page), [c.visit1]);
    assert!(page.body.contains("<span id=\"found\">1</span> / 4"));
}

async fn the_text_search_finds_each_way_a_supervisor_remembers_a_customer(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    let visits = planned_visits(
        &c,
        vec![
            customer_case(
                w,
                "李春花",
                "CC-2026-004417",
                "+86 139 1234 5678",
                "上海市浦东新区世纪大道 100 号",
                3_000,
                20,
            ),
            customer_case(
                w,
                "Zhao Wei",
                "CC-2026-009981",
                "+86 137 5555 0101",
                "广州市天河区体育西路 5 号",
                50_000,
                75,
            ),
        ],
    )
    .await;
    let (li, zhao) = (visits[0], visits[1]);
    let cookies = supervisor(w, "sup_a").await;
    for (q, expected, how) in [
        ("春花", vec![li], "part of the name"),
        ("4417", vec![li], "the account's last digits"),
        ("55550101", vec![zhao], "a phone number's digits"),
        ("137 5555", vec![zhao], "a phone number as written"),
        ("体育西路", vec![zhao], "an address fragment"),
        ("  zHAo ", vec![zhao], "the name, any case, spaces around"),
    ] {
        let page = search(w, &cookies, q, &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{how}");
        assert_eq!(listed(&page), expected, "searching {how} ({q:?})");
    }
    // By the agent: agent2 worked visit3, agent1 the rest.
    let page = search(w, &cookies, "agent2", &[]).await;
    let found = listed(&page);
    assert!(found.contains(&c.visit3), "{found:?}");
    assert!(!found.contains(&li) && !found.contains(&zhao));
    // Another team's customer is never found.
    let page = search(w, &cookies, "王小明", &[]).await;
    assert!(!listed(&page).contains(&c.visit2));
    // Search and filters together.
    let page = search(w, &cookies, "CC-2026", &[("bucket", "M3+")]).await;
    assert_eq!(listed(&page), [zhao]);
    let page = search(w, &cookies, "no such customer", &[]).await;
    assert!(listed(&page).is_empty());
    assert!(page.body.contains("No visit matches."));
}

async fn the_text_search_never_reaches_a_url_and_needs_the_session(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    let cookies = supervisor(w, "sup_a").await;
    let page = search(w, &cookies, "王小明", &[("state", "submitted")]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), "no-store");
    let found: BTreeSet<Uuid> = listed(&page).into_iter().collect();
    assert_eq!(found, [c.visit1, c.visit3].into());
    for url in page.urls() {
        assert!(
            !url.contains("王小明") && !url.contains("%E7%8E%8B"),
            "{url}"
        );
    }
    // The searched page's own controls post the search again.
    assert!(page.body.contains("name=\"sort_by\""));
    assert!(page.body.contains("value=\"王小明\""));

    // A text in the URL is not a search: the whole list.
    let page = get(
        w,
        "/console/visits?q=%E7%8E%8B%E5%B0%8F%E6%98%8E&state=submitted",
        &cookies,
    )
    .await;
    assert_eq!(listed(&page).len(), 2);
    assert!(!page.body.contains("value=\"王小明\""));

    // Without text, a post goes back to the URL of its codes.
    let form_page = get(w, "/console/visits", &cookies).await;
    let back = post(
        w,
        "/console/visits",
        &cookies,
        &[
            ("csrf", &form_page.csrf()),
            ("q", " "),
            ("state", "submitted"),
            ("sort_by", "amount.desc"),
        ],
    )
    .await;
    assert!(back.status.is_redirection());
    assert_eq!(
        back.location(),
        "/console/visits?state=submitted&sort=amount&dir=desc"
    );

    // Without the session's token, refused and audited; without a session,
    // sent to sign in.
    let refused = post(
        w,
        "/console/visits",
        &cookies,
        &[("csrf", "forged"), ("q", "王小明")],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(!refused.body.contains("王小明"));
    assert_eq!(
        blocking(w, |w| audit_refusals(w, "form_refused")).await,
        [("/console/visits".to_owned(), "csrf_refused".to_owned())]
    );
    let anonymous = post(w, "/console/visits", "", &[("csrf", "x"), ("q", "王小明")]).await;
    assert_eq!(anonymous.location(), "/console/login");
}

async fn filters_narrow_the_list_and_count_their_choices(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    let visits = planned_visits(
        &c,
        vec![
            customer_case(w, "甲", "CC-1", "+86 1", "一号", 3_000, 20),
            customer_case(w, "乙", "CC-2", "+86 2", "二号", 50_000, 75),
        ],
    )
    .await;
    let (small, large) = (visits[0], visits[1]);
    let cookies = supervisor(w, "sup_a").await;
    let ids = |page: &Page| listed(page).into_iter().collect::<BTreeSet<_>>();

    let page = get(w, "/console/visits", &cookies).await;
    assert!(
        page.body.contains(">Submitted (2)</option>"),
        "state counts"
    );
    assert!(page.body.contains(">Planned (2)</option>"));
    assert!(page.body.contains(">M1 (1)</option>") && page.body.contains(">M3+ (1)</option>"));
    assert!(
        page.body.contains(">M2 (2)</option>"),
        "the sample cases are 45 days past due"
    );

    let page = get(w, "/console/visits?state=submitted", &cookies).await;
    assert_eq!(ids(&page), [c.visit1, c.visit3].into());
    // With a state chosen, the band counts follow it.
    assert!(page.body.contains(">M2 (2)</option>") && page.body.contains(">M1 (0)</option>"));
    let page = get(w, "/console/visits?bucket=M3%2B", &cookies).await;
    assert_eq!(ids(&page), [large].into());
    let page = get(w, "/console/visits?min_amount=40000", &cookies).await;
    assert_eq!(ids(&page), [large].into());
    let page = get(w, "/console/visits?max_amount=5%2C000", &cookies).await;
    assert_eq!(
        ids(&page),
        [small].into(),
        "a thousands separator is understood"
    );
    let page = get(
        w,
        "/console/visits?min_amount=4000&max_amount=20000",
        &cookies,
    )
    .await;
    assert_eq!(ids(&page), [c.visit1, c.visit3].into(), "12,500 CNY each");
    let page = get(w, "/console/visits?outcome=promise_to_pay", &cookies).await;
    assert_eq!(ids(&page), [c.visit1].into());
    let page = get(w, "/console/visits?flag=far_from_address", &cookies).await;
    assert_eq!(ids(&page), [c.visit3].into());
    let page = get(w, "/console/visits?from=2026-03-03", &cookies).await;
    assert!(ids(&page).is_empty(), "every visit is of 2 March");
    let page = get(w, "/console/visits?from=2026-03-02&to=2026-03-02", &cookies).await;
    assert_eq!(ids(&page).len(), 4);
    // Values that do not parse turn their filter off; nothing fails.
    for junk in [
        "state=flying",
        "bucket=M9",
        "min_amount=-5",
        "max_amount=lots",
        "from=yesterday",
        "sort=%3Cscript%3E",
        "page=0",
        "page=99999999999999999999999",
        "agent=not-a-uuid",
    ] {
        let page = get(w, &format!("/console/visits?{junk}"), &cookies).await;
        assert_eq!(page.status, StatusCode::OK, "{junk}");
        assert_eq!(ids(&page).len(), 4, "{junk}");
    }
}

async fn sorting_by_a_column_pages_through_every_visit_once_in_order(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    // 60 cases owing 1,000 to 60,000 CNY, imported in a shuffled order; with
    // the console world's two, 62 visits: two pages of 50.
    let mut amounts: Vec<i64> = (1..=60).map(|k| (k * 7 % 61) * 1_000).collect();
    amounts.sort_by_key(|a| (a * 31) % 97);
    let cases: Vec<Case> = amounts
        .iter()
        .enumerate()
        .map(|(i, yuan)| {
            customer_case(
                w,
                &format!("客户{i}"),
                &format!("R-{i}"),
                "+86 5",
                "某路",
                *yuan,
                10,
            )
        })
        .collect();
    let visits = planned_visits(&c, cases).await;
    let owed: HashMap<Uuid, i64> = visits
        .iter()
        .copied()
        .zip(amounts.iter().copied())
        .collect();
    let cookies = supervisor(w, "sup_a").await;

    let mut ascending = Vec::new();
    for page in 1..=2 {
        let shown = get(
            w,
            &format!("/console/visits?sort=amount&page={page}"),
            &cookies,
        )
        .await;
        let ids = listed(&shown);
        assert_eq!(ids.len(), if page == 1 { 50 } else { 12 });
        assert!(shown.body.contains(&format!("Page {page} / 2")));
        ascending.extend(ids);
    }
    let distinct: BTreeSet<Uuid> = ascending.iter().copied().collect();
    assert_eq!(distinct.len(), 62, "every visit once across the pages");
    let in_order: Vec<i64> = ascending
        .iter()
        .map(|v| owed.get(v).copied().unwrap_or(12_500))
        .collect();
    assert!(in_order.is_sorted(), "{in_order:?}");

    let mut descending = Vec::new();
    for page in 1..=2 {
        let shown = get(
            w,
            &format!("/console/visits?sort=amount&dir=desc&page={page}"),
            &cookies,
        )
        .await;
        descending.extend(listed(&shown));
    }
    ascending.reverse();
    assert_eq!(
        descending, ascending,
        "descending is ascending reversed, ties too"
    );

    // A page past the end shows the last; the heading flips the direction.
    let last = get(w, "/console/visits?sort=amount&page=9", &cookies).await;
    assert!(last.body.contains("Page 2 / 2"));
    assert!(
        last.urls()
            .contains(&"/console/visits?sort=amount&#38;dir=desc".to_owned()),
        "{:?}",
        last.urls()
    );
}

async fn the_queue_marks_what_has_waited_more_than_a_day(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    // visit3 was submitted at t0 + 1 h, visit1 at t0 + 5 h.
    w.clock.set(t0() + chrono::Duration::hours(26));
    let cookies = supervisor(w, "sup_a").await;
    let page = queue(w, &cookies).await;
    assert_eq!(listed(&page), [c.visit3, c.visit1], "longest waiting first");
    assert!(page.body.contains("1 d 1 h"), "visit3 waited 25 hours");
    assert!(page.body.contains("21 h 0 min"), "visit1 waited 21 hours");
    assert_eq!(page.body.matches("<tr class=\"waited\">").count(), 1);
    let marked = &page.body[page.body.find("<tr class=\"waited\">").unwrap()..];
    assert!(
        marked.contains(&c.visit3.to_string())
            && marked.find(&c.visit3.to_string()) < marked.find("</tr>")
    );

    w.clock.set(t0() + chrono::Duration::hours(30));
    let cookies = supervisor(w, "sup_a").await;
    let page = queue(w, &cookies).await;
    assert_eq!(page.body.matches("<tr class=\"waited\">").count(), 2);
    // The visits list shows the same wait, and sorts by it.
    let page = get(w, "/console/visits?sort=waiting&dir=desc", &cookies).await;
    assert_eq!(listed(&page)[..2], [c.visit3, c.visit1]);
}

async fn the_queue_pages_through_every_waiting_visit_longest_waiting_first(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    // 50 more submitted visits, the k-th submitted k minutes after t0 + 6 h:
    // with the world's two (t0 + 1 h and t0 + 5 h), 52 waiting.
    let cases: Vec<Case> = (0..50).map(|_| sample_case(w.agent1, None)).collect();
    let imported = cases.clone();
    blocking(w, move |w| {
        admin::import_cases(w.state.store.as_ref(), &imported, t0()).unwrap();
    })
    .await;
    let mut ops = Vec::new();
    let mut submitted = Vec::new();
    for (k, case) in cases.iter().enumerate() {
        let mut phone = Phone::new(w.phone1, Uuid::now_v7());
        let mut changes = visit(case, vec![], site(), 6);
        if let Some(VisitChange::Submitted { at }) = changes.last_mut() {
            *at += chrono::Duration::minutes(k as i64);
        }
        ops.extend(changes.iter().map(|change| phone.act(change)));
        submitted.push(phone.visit);
    }
    for chunk in ops.chunks(100) {
        let outcomes = w.push_outcomes(&c.agent1_token, chunk).await;
        assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    }
    let cookies = supervisor(w, "sup_a").await;
    let first = queue(w, &cookies).await;
    let second = get(w, "/console/queue?page=2", &cookies).await;
    assert!(first.body.contains("Page 1 / 2") && second.body.contains("Page 2 / 2"));
    let mut order = listed(&first);
    assert_eq!(order.len(), 50);
    order.extend(listed(&second));
    let mut expected = vec![c.visit3, c.visit1];
    expected.extend(submitted);
    assert_eq!(
        order, expected,
        "every waiting visit once, longest waiting first"
    );
    // The pages keep the filters.
    let agent = w.agent1.to_string();
    let filtered = get(w, &format!("/console/queue?agent={agent}"), &cookies).await;
    assert!(
        filtered
            .urls()
            .contains(&format!("/console/queue?agent={agent}&#38;page=2"))
    );
}
