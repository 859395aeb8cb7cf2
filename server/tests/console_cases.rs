//! Router tests of the console's cases: the CSV import (checked per line, all
//! or nothing, team-checked), assignment and reassignment (reaching the agents'
//! devices through the feed), the visit outcome export, and every denial.
//! On SQLite and on PostgreSQL (one test per check per backend; PostgreSQL
//! when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::sync::protocol::Role;
use serde_json::Value;

on_both_backends!(
    a_file_with_problems_imports_nothing_and_lists_them_by_line,
    a_clean_file_is_checked_then_imported_with_its_count,
    a_supervisor_cannot_import_for_another_team,
    reassigning_a_case_purges_the_old_agents_device_and_reaches_the_new_one,
    every_assignment_denial,
    the_export_lists_the_teams_visits_without_personal_data_and_defuses_formulas,
    an_import_an_assignment_and_an_export_in_one_session,
    the_page_uploads_a_file_checked_first,
    the_case_list_pages_through_a_large_team_soonest_due_first,
    an_admin_picks_any_team_to_list_assign_and_export,
);

const HEADER: &str = "case_id,external_ref,customer_name,national_id_masked,phone,address,latitude,longitude,product,overdue_amount,currency,days_past_due,agent,partner,priority,due_date";

fn row(id: Uuid, name: &str, amount: &str, agent: &str) -> String {
    format!(
        "{id},CC-2026-{},{name},**************123X,+86 138 0000 0001,\"北京市朝阳区建国路 88 号, 3 单元\",39.9087,116.4605,白金信用卡,{amount},CNY,45,{agent},,3,2026-03-20",
        &id.simple().to_string()[..6]
    )
}

fn file(rows: &[String]) -> String {
    format!("{HEADER}\n{}\n", rows.join("\n"))
}

async fn case_exists(w: &Arc<World>, id: Uuid) -> bool {
    blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.case(id))
            .unwrap()
            .is_some()
    })
    .await
}

async fn assigned(w: &Arc<World>, id: Uuid) -> (Uuid, Option<Uuid>) {
    let case = blocking(w, move |w| {
        store::read(w.state.store.as_ref(), |tx| tx.case(id))
            .unwrap()
            .unwrap()
            .case
    })
    .await;
    (case.assigned.primary, case.assigned.partner)
}

/// [`audit_actions`] off the async workers.
async fn audited(w: &Arc<World>, action: &'static str) -> Vec<String> {
    blocking(w, move |w| audit_actions(w, action)).await
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

/// The console's pages never echo what the file holds.
fn assert_no_content(page: &Page) {
    for secret in ["王", "李四", "建国路", "138 0000", "CC-2026", "12500"] {
        assert!(!page.body.contains(secret), "{secret} in {}", page.body);
    }
}

async fn import(w: &World, cookies: &str, csv: &str, run: &str) -> Page {
    let page = get(w, "/console/cases/import", cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let csrf = page.csrf();
    post(
        w,
        "/console/cases/import",
        cookies,
        &[("csrf", &csrf), ("csv", csv), ("run", run)],
    )
    .await
}

async fn a_file_with_problems_imports_nothing_and_lists_them_by_line(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let (good, bad_money, bad_agent) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let csv = file(&[
        row(good, "王小明", "12500.00", "agent1"),
        row(bad_money, "李四", "12.5.0", "agent2"),
        row(bad_agent, "王小明", "300", "nobody"),
    ]);
    for run in ["check", "import"] {
        let page = import(&w, &cookies, &csv, run).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        assert!(
            page.body
                .contains("The file has problems; nothing was imported.")
        );
        assert!(
            page.body.contains(
                "<tr><td>3</td><td class=\"mono\">overdue_amount</td><td class=\"mono\">bad_money</td><td>Not an amount such as 1234.50.</td></tr>"
            ),
            "{}",
            page.body
        );
        assert!(page.body.contains(
            "<tr><td>4</td><td class=\"mono\">agent</td><td class=\"mono\">unknown_agent</td><td>No agent of yours has this user name.</td></tr>"
        ));
        assert_no_content(&page);
        for id in [good, bad_money, bad_agent] {
            assert!(!case_exists(&w, id).await, "nothing is imported");
        }
    }
    // A file over the body limit is refused as a whole.
    let big_id = Uuid::now_v7();
    let big = format!(
        "{}{}",
        file(&[row(big_id, "王小明", "300", "agent1")]),
        "#".repeat(5 * 1024 * 1024)
    );
    let page = import(&w, &cookies, &big, "import").await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(page.body.contains("The file is too large for one import"));
    assert!(!case_exists(&w, big_id).await);
    // A header that is not the format's is a problem of line 1.
    let page = import(&w, &cookies, "name,amount\nx,1\n", "import").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("<tr><td>1</td>"));
}

async fn a_clean_file_is_checked_then_imported_with_its_count(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let csv = file(&[
        row(a, "王小明", "12500.00", "agent1"),
        row(b, "李四", "300", "agent2").replacen(",,3,", ",agent1,3,", 1),
    ]);
    let checked = import(&w, &cookies, &csv, "check").await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.body.contains("<p class=\"notice\" role=\"status\" id=\"clean\">The file is clean. Cases it would import: <b>2</b></p>"), "{}", checked.body);
    assert!(!case_exists(&w, a).await, "checking stores nothing");

    let done = import(&w, &cookies, &csv, "import").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Imported. Cases imported: <b>2</b>"));
    assert_no_content(&done);
    assert_eq!(assigned(&w, a).await, (w.agent1, None));
    assert_eq!(assigned(&w, b).await, (w.agent2, Some(w.agent1)));
    for page in [&checked, &done] {
        for url in page.urls() {
            assert!(url.starts_with("/console/"), "{url}");
            assert!(
                !url.contains("CC-2026") && !url.contains(&a.to_string()),
                "{url}"
            );
        }
    }
    assert_eq!(
        audited(&w, "console_import_case").await,
        vec![a.to_string(), b.to_string()]
    );
    // The new cases are on the team's case page; agent1 gets both on a pull.
    let list = get(&w, "/console/cases", &cookies).await;
    assert!(list.body.contains(&format!("/console/cases/{a}/assign")));
    let t1 = w.login("agent1", w.phone1).await;
    let pulled: Vec<String> = w
        .pull_all(&t1)
        .await
        .iter()
        .filter(|c| c["type"] == "case")
        .map(|c| c["case"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(pulled.contains(&a.to_string()) && pulled.contains(&b.to_string()));
}

async fn a_supervisor_cannot_import_for_another_team(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let (mine, theirs) = (Uuid::now_v7(), Uuid::now_v7());
    // agent3 is team B's: as unknown to sup_a as a name that does not exist.
    let csv = file(&[
        row(mine, "王小明", "300", "agent1"),
        row(theirs, "李四", "300", "agent3"),
    ]);
    let page = import(&w, &cookies, &csv, "import").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(
        "<tr><td>3</td><td class=\"mono\">agent</td><td class=\"mono\">unknown_agent</td><td>No agent of yours has this user name.</td></tr>"
    ));
    assert!(!case_exists(&w, mine).await && !case_exists(&w, theirs).await);

    // Nor take over team B's case by naming its id with a team A agent.
    let steal = file(&[row(w.case2.id, "李四", "300", "agent1")]);
    let page = import(&w, &cookies, &steal, "import").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains(
        "<tr><td>2</td><td class=\"mono\">case_id</td><td class=\"mono\">other_team_case</td><td>This case belongs to another team.</td></tr>"
    ));
    assert_eq!(assigned(&w, w.case2.id).await, (w.agent3, None));

    // An admin may import for any team.
    create_root(&w).await;
    let admin_cookies = sign_in(&w, "root", "pw-root-secret").await.unwrap();
    let page = import(&w, &admin_cookies, &csv, "import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(assigned(&w, theirs).await, (w.agent3, None));
    assert_eq!(assigned(&w, mine).await, (w.agent1, None));
}

fn changes_of<'a>(changes: &'a [Value], kind: &str, case: Uuid) -> Vec<&'a Value> {
    changes
        .iter()
        .filter(|c| c["type"] == kind)
        .filter(|c| {
            c["case_id"].as_str() == Some(&case.to_string())
                || c["case"]["id"].as_str() == Some(&case.to_string())
        })
        .collect()
}

async fn reassigning_a_case_purges_the_old_agents_device_and_reaches_the_new_one(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let t1 = w.login("agent1", w.phone1).await;
    let t2 = w.login("agent2", w.phone2).await;
    let cursor1 = w.pull(&t1, 0, 1000).await["cursor"].as_u64().unwrap();
    let cursor2 = w.pull(&t2, 0, 1000).await["cursor"].as_u64().unwrap();

    let list = get(&w, "/console/cases", &cookies).await;
    assert_eq!(list.status, StatusCode::OK);
    let action = format!("/console/cases/{}/assign", w.case1.id);
    assert!(list.body.contains(&action), "{}", list.body);
    assert!(
        list.body.contains("王小明"),
        "names are shown escaped on the page"
    );
    assert!(
        !list.body.contains("CC-2026-000123"),
        "the reference is masked"
    );
    assert!(
        !list.body.contains(&w.case2.id.to_string()),
        "team B's case"
    );
    for url in list.urls() {
        assert!(!url.contains("CC-2026") && !url.contains('%'), "{url}");
    }

    // case1 was agent1 + agent2: now agent2 alone.
    let done = post(
        &w,
        &action,
        &cookies,
        &[
            ("csrf", &list.csrf()),
            ("agent", &w.agent2.to_string()),
            ("partner", ""),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location(), "/console/cases?done=assigned");
    assert_eq!(assigned(&w, w.case1.id).await, (w.agent2, None));
    let after = get(&w, done.location(), &cookies).await;
    assert!(after.body.contains("Assigned."));

    let old = w.pull(&t1, cursor1, 1000).await;
    let removed = changes_of(
        old["changes"].as_array().unwrap(),
        "case_removed",
        w.case1.id,
    );
    assert_eq!(removed.len(), 1, "{old}");
    let new = w.pull(&t2, cursor2, 1000).await;
    let got = changes_of(new["changes"].as_array().unwrap(), "case", w.case1.id);
    assert_eq!(got.len(), 1, "{new}");
    assert_eq!(got[0]["case"]["assigned"]["primary"], w.agent2.to_string());

    // And back, with agent1 as partner: agent1's device gets the case again.
    let cursor1 = old["cursor"].as_u64().unwrap();
    let list = get(&w, "/console/cases", &cookies).await;
    let done = post(
        &w,
        &action,
        &cookies,
        &[
            ("csrf", &list.csrf()),
            ("agent", &w.agent2.to_string()),
            ("partner", &w.agent1.to_string()),
        ],
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    assert_eq!(assigned(&w, w.case1.id).await, (w.agent2, Some(w.agent1)));
    let back = w.pull(&t1, cursor1, 1000).await;
    assert_eq!(
        changes_of(back["changes"].as_array().unwrap(), "case", w.case1.id).len(),
        1
    );
    assert_eq!(
        audited(&w, "console_assign_case").await,
        vec![w.case1.id.to_string(), w.case1.id.to_string()]
    );
}

async fn every_assignment_denial(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let list = get(&w, "/console/cases", &cookies).await;
    let csrf = list.csrf();
    let assign = |case: Uuid, agent: Uuid, partner: String, csrf: String| {
        let cookies = cookies.clone();
        let w = &w;
        async move {
            post(
                w,
                &format!("/console/cases/{case}/assign"),
                &cookies,
                &[
                    ("csrf", &csrf),
                    ("agent", &agent.to_string()),
                    ("partner", &partner),
                ],
            )
            .await
        }
    };
    // Another team's case: not found, and unchanged.
    let page = assign(w.case2.id, w.agent1, String::new(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(assigned(&w, w.case2.id).await, (w.agent3, None));
    // Another team's agent, as primary or as partner: forbidden.
    let page = assign(w.case1.id, w.agent3, String::new(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = assign(w.case1.id, w.agent1, w.agent3.to_string(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    // The partner must be another agent; a supervisor is not an agent.
    let page = assign(w.case1.id, w.agent1, w.agent1.to_string(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    let sup_b = user_id(&w, "sup_b").await;
    let page = assign(w.case1.id, sup_b, String::new(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // Unknown and malformed ids.
    let page = assign(Uuid::now_v7(), w.agent1, String::new(), csrf.clone()).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    let page = post(
        &w,
        &format!("/console/cases/{}/assign", w.case1.id),
        &cookies,
        &[("csrf", &csrf), ("agent", "agent1")],
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // Missing or wrong CSRF token.
    let page = assign(w.case1.id, w.agent2, String::new(), String::new()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let page = assign(w.case1.id, w.agent2, String::new(), "forged".into()).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(assigned(&w, w.case1.id).await, (w.agent1, Some(w.agent2)));
    // Without a session: to the sign-in page; agents cannot sign in at all.
    let page = post(
        &w,
        &format!("/console/cases/{}/assign", w.case1.id),
        "",
        &[("agent", &w.agent2.to_string())],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login");
    assert!(sign_in(&w, "agent1", "pw-agent1-secret").await.is_err());
    let refused = blocking(&w, |w| {
        let s = w.state.store.as_ref();
        let agent1 = store::read(s, |tx| tx.user_by_name("agent1"))
            .unwrap()
            .unwrap();
        admin::assign_case_as(s, &agent1, w.case1.id, w.agent1, None, t0()).unwrap_err()
    })
    .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert!(audited(&w, "console_assign_case").await.is_empty());

    // The import form: CSRF checked, sessions required.
    let csv = file(&[row(Uuid::now_v7(), "王小明", "300", "agent1")]);
    let page = post(
        &w,
        "/console/cases/import",
        &cookies,
        &[("csrf", "forged"), ("csv", &csv), ("run", "import")],
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    for uri in [
        "/console/cases",
        "/console/cases/import",
        "/console/cases/export.csv",
    ] {
        let page = get(&w, uri, "").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{uri}");
        assert_eq!(page.location(), "/console/login");
    }
    // Team B's supervisor sees only team B's case, in Chinese too.
    let b = supervisor(&w, "sup_b").await;
    let list = get(&w, "/console/cases", &b).await;
    assert!(list.body.contains(&w.case2.id.to_string()));
    assert!(!list.body.contains(&w.case1.id.to_string()));
    let zh = get(
        &w,
        "/console/cases",
        &b.replace("doorstep_lang=en", "doorstep_lang=zh"),
    )
    .await;
    assert!(zh.body.contains("<h1>团队案件</h1>"), "{}", zh.body);
    assert!(zh.body.contains("导出走访结果（CSV）"));
}

async fn the_export_lists_the_teams_visits_without_personal_data_and_defuses_formulas(
    w: Arc<World>,
) {
    let c = console_world_on(&w).await;
    let w = &c.w;
    // An agent whose user name a spreadsheet would run, with a submitted visit.
    let phone = Uuid::now_v7();
    let case = blocking(w, move |w| {
        let s = w.state.store.as_ref();
        admin::create_user(
            s,
            "=cmd|' /C calc'!A0",
            "pw-=cmd|' /C calc'!A0-secret",
            Role::Agent,
            Some("sup_a"),
            t0(),
        )
        .unwrap();
        let evil = store::read(s, |tx| tx.user_by_name("=cmd|' /C calc'!A0"))
            .unwrap()
            .unwrap()
            .id;
        admin::create_device(s, "=cmd|' /C calc'!A0", phone, t0()).unwrap();
        let case = sample_case(evil, None);
        admin::import_cases(s, std::slice::from_ref(&case), t0()).unwrap();
        case
    })
    .await;
    let token = w.login("=cmd|' /C calc'!A0", phone).await;
    let mut device = Phone::new(phone, Uuid::now_v7());
    let ops: Vec<_> = visit(&case, vec![], site(), 3)
        .iter()
        .map(|ch| device.act(ch))
        .collect();
    assert!(
        w.push_outcomes(&token, &ops)
            .await
            .iter()
            .all(|o| o == "applied")
    );

    let cookies = supervisor(w, "sup_a").await;
    // Approve one visit so the export shows a decision.
    let report = get(w, &format!("/console/visits/{}", c.visit3), &cookies).await;
    let approved = post(
        w,
        &format!("/console/visits/{}/approve", c.visit3),
        &cookies,
        &[("csrf", &report.csrf())],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);

    let page = get(w, "/console/cases", &cookies).await;
    assert!(
        page.urls()
            .contains(&"/console/cases/export.csv".to_owned())
    );
    let export = get(w, "/console/cases/export.csv", &cookies).await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(export.header("content-type"), "text/csv; charset=utf-8");
    assert_eq!(
        export.header("content-disposition"),
        "attachment; filename=\"visit-outcomes.csv\""
    );
    let mut reader = csv::Reader::from_reader(export.bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, doorstep_server::console::export::COLUMNS);
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    let by_visit = |id: Uuid| {
        rows.iter()
            .find(|r| r[0] == id.to_string())
            .unwrap_or_else(|| panic!("{id} in {rows:?}"))
    };
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows.iter().all(|r| r[0] != c.visit2.to_string()),
        "team B's visit"
    );
    let v1 = by_visit(c.visit1);
    assert_eq!(v1[1], w.case1.id.to_string());
    assert_eq!((v1[2].as_str(), v1[3].as_str()), ("agent1", "agent2"));
    assert_eq!(v1[4], "submitted");
    assert_eq!(v1[5], "promise_to_pay");
    assert_eq!(
        (v1[6].as_str(), v1[7].as_str(), v1[8].as_str()),
        ("5000.00", "CNY", "2026-03-10")
    );
    assert_eq!(v1[9], "2026-03-02T14:00:00Z");
    assert_eq!(v1[10], "1");
    assert!(v1[13].contains("two_person"), "{v1:?}");
    let v3 = by_visit(c.visit3);
    assert_eq!((v3[4].as_str(), v3[12].as_str()), ("approved", "approved"));
    assert_eq!(v3[11], "2026-03-02T09:00:00Z");
    assert!(v3[13].contains("far_from_address"));
    // The formula-like user name comes out defused.
    let v = by_visit(device.visit);
    assert_eq!(v[2], "'=cmd|' /C calc'!A0");
    for row in &rows {
        for cell in row {
            assert!(!cell.starts_with(['=', '+', '-', '@']), "{cell}");
        }
    }
    // No customer data in the file.
    for secret in ["王小明", "123X", "建国路", "138 0000", "CC-2026", "script"] {
        assert!(!export.body.contains(secret), "{secret}");
    }
    assert_eq!(
        audited(w, "console_export_visits").await,
        vec![user_id(w, "sup_a").await.to_string()]
    );
}

#[test]
fn defuse_prefixes_every_formula_start() {
    use doorstep_server::console::export::defuse;
    for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
        assert_eq!(defuse(cell), format!("'{cell}"));
    }
    for cell in ["agent1", "5000.00", "", "2026-03-02T09:00:00Z", "a=b"] {
        assert_eq!(defuse(cell), cell);
    }
}

#[test]
fn every_problem_code_of_the_csv_format_is_explained_in_both_languages() {
    use doorstep_server::console::i18n::Lang;
    let doc = include_str!("../../docs/CASES_CSV.md");
    let table = &doc[doc.find("## Problem codes").unwrap()..];
    // The first cell of each row of the table lists codes in backticks.
    let codes: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .flat_map(|line| line.split(" |").next().unwrap().split('`').step_by(2))
        .map(|code| code.trim_matches([',', ' ']))
        .filter(|code| !code.is_empty())
        .chain(["other_team_case"])
        .collect();
    assert!(codes.len() > 20, "{codes:?}");
    for lang in [Lang::En, Lang::Zh] {
        for code in &codes {
            assert_ne!(lang.text().csv_problem(code), *code, "{code} in {lang:?}");
        }
    }
}

/// An import, an assignment and an export, one after the other in one session.
async fn an_import_an_assignment_and_an_export_in_one_session(w: Arc<World>) {
    let new_case = Uuid::now_v7();
    let cookies = supervisor(&w, "sup_a").await;
    let t1 = w.login("agent1", w.phone1).await;
    let cursor = w.pull(&t1, 0, 1000).await["cursor"].as_u64().unwrap();
    let csv = file(&[row(new_case, "王小明", "300", "agent2")]);
    let done = import(&w, &cookies, &csv, "import").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let list = get(&w, "/console/cases", &cookies).await;
    assert!(
        list.body
            .contains(&format!("/console/cases/{new_case}/assign"))
    );
    assert!(!list.body.contains(&w.case2.id.to_string()));
    let moved = post(
        &w,
        &format!("/console/cases/{}/assign", w.case1.id),
        &cookies,
        &[("csrf", &list.csrf()), ("agent", &w.agent2.to_string())],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    let after = w.pull(&t1, cursor, 1000).await;
    let changes = after["changes"].as_array().unwrap();
    assert_eq!(changes_of(changes, "case_removed", w.case1.id).len(), 1);
    let export = get(&w, "/console/cases/export.csv", &cookies).await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(export.body.starts_with("visit_id,case_id,"));
    assert_eq!(assigned(&w, w.case1.id).await, (w.agent2, None));
    assert_eq!(assigned(&w, new_case).await, (w.agent2, None));
}

/// The import page's own form: `multipart/form-data` with the file field.
async fn upload(w: &World, cookies: &str, csrf: &str, file_bytes: &[u8], run: &str) -> Page {
    let boundary = "----doorstep-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("run", run)] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cases.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file_bytes);
    body.extend_from_slice(
        format!(
            "\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"csv\"\r\n\r\n\r\n--{boundary}--\r\n"
        )
        .as_bytes(),
    );
    let request = Request::builder()
        .method("POST")
        .uri("/console/cases/import")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap();
    send(w, request).await
}

async fn the_page_uploads_a_file_checked_first(w: Arc<World>) {
    let cookies = supervisor(&w, "sup_a").await;
    let page = get(&w, "/console/cases/import", &cookies).await;
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    assert!(page.body.contains("<input type=\"file\" name=\"file\""));
    let csrf = page.csrf();
    let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
    let bad = file(&[
        row(a, "王小明", "300", "agent1"),
        row(b, "李四", "300", "agent3"),
    ]);
    let refused = upload(&w, &cookies, &csrf, bad.as_bytes(), "import").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(
        refused
            .body
            .contains("<tr><td>3</td><td class=\"mono\">agent</td>")
    );
    assert_no_content(&refused);
    assert!(!case_exists(&w, a).await);

    let good = format!("\u{feff}{}", file(&[row(a, "王小明", "300", "agent1")]));
    let forged = upload(&w, &cookies, "forged", good.as_bytes(), "import").await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!case_exists(&w, a).await);
    let done = upload(&w, &cookies, &csrf, good.as_bytes(), "import").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Imported. Cases imported: <b>1</b>"));
    assert_eq!(assigned(&w, a).await, (w.agent1, None));

    let big = vec![b'#'; 5 * 1024 * 1024];
    let too_big = upload(&w, &cookies, &csrf, &big, "import").await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
    // A broken multipart body is refused, not a server error.
    let request = Request::builder()
        .method("POST")
        .uri("/console/cases/import")
        .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
        .header(header::COOKIE, &cookies)
        .body(Body::from("--x\r\nnonsense"))
        .unwrap();
    let broken = send(&w, request).await;
    assert!(broken.status.is_client_error(), "{}", broken.status);
}

async fn the_case_list_pages_through_a_large_team_soonest_due_first(w: Arc<World>) {
    let mut cases: Vec<Case> = (0..doorstep_server::console::cases::PAGE_SIZE + 5)
        .map(|i| {
            let mut case = sample_case(w.agent1, None);
            case.due_date = NaiveDate::from_ymd_opt(2026, 4, 1).unwrap() + Duration::days(i as i64);
            case
        })
        .collect();
    cases.reverse();
    let imported = cases.clone();
    blocking(&w, move |w| {
        admin::import_cases(w.state.store.as_ref(), &imported, t0()).unwrap()
    })
    .await;
    let cookies = supervisor(&w, "sup_a").await;
    let first = get(&w, "/console/cases", &cookies).await;
    // case1 (due 2026-03-20) plus the new ones.
    let total = doorstep_server::console::cases::PAGE_SIZE + 6;
    assert!(
        first
            .body
            .contains(&format!("<span id=\"total\">{total}</span>"))
    );
    assert_eq!(
        first.body.matches("/assign\"").count(),
        doorstep_server::console::cases::PAGE_SIZE
    );
    assert!(
        first
            .body
            .contains(&format!("/console/cases/{}/assign", w.case1.id))
    );
    assert!(first.body.contains("1 / 2"));
    assert!(first.urls().contains(&"/console/cases?page=2".to_owned()));
    let second = get(&w, "/console/cases?page=2", &cookies).await;
    assert_eq!(second.body.matches("/assign\"").count(), 6);
    // The latest due is the last one listed.
    assert!(
        second
            .body
            .contains(&format!("/console/cases/{}/assign", cases[0].id))
    );
    assert!(
        !second
            .body
            .contains(&format!("/console/cases/{}/assign", w.case1.id))
    );
    // Pages out of range show the first.
    let junk = get(&w, "/console/cases?page=99", &cookies).await;
    assert!(
        junk.body
            .contains(&format!("/console/cases/{}/assign", w.case1.id))
    );
}

async fn an_admin_picks_any_team_to_list_assign_and_export(w: Arc<World>) {
    create_root(&w).await;
    let sup_b = user_id(&w, "sup_b").await;
    let cookies = sign_in(&w, "root", "pw-root-secret").await.unwrap();
    // The first team by supervisor name is shown unless another is picked.
    let first = get(&w, "/console/cases", &cookies).await;
    assert!(first.body.contains(&w.case1.id.to_string()));
    assert!(!first.body.contains(&w.case2.id.to_string()));
    assert!(first.body.contains("id=\"teams\""));
    let b = get(&w, &format!("/console/cases?team={sup_b}"), &cookies).await;
    assert!(b.body.contains(&w.case2.id.to_string()));
    assert!(!b.body.contains(&w.case1.id.to_string()));
    assert!(
        b.body
            .contains(&format!("/console/cases/export.csv?team={sup_b}"))
    );
    // An admin may move a case to another team's agent.
    let moved = post(
        &w,
        &format!("/console/cases/{}/assign", w.case2.id),
        &cookies,
        &[
            ("csrf", &b.csrf()),
            ("agent", &w.agent1.to_string()),
            ("team", &sup_b.to_string()),
        ],
    )
    .await;
    assert_eq!(moved.status, StatusCode::SEE_OTHER, "{}", moved.body);
    assert_eq!(
        moved.location(),
        format!("/console/cases?done=assigned&team={sup_b}")
    );
    assert_eq!(assigned(&w, w.case2.id).await, (w.agent1, None));
    let a = get(&w, "/console/cases", &cookies).await;
    assert!(a.body.contains(&w.case2.id.to_string()), "now team A's");
    let export = get(
        &w,
        &format!("/console/cases/export.csv?team={sup_b}"),
        &cookies,
    )
    .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(
        audited(&w, "console_export_visits").await,
        vec![sup_b.to_string()]
    );
    // A supervisor's `team` is ignored: still their own.
    let sup_a = supervisor(&w, "sup_a").await;
    let own = get(&w, &format!("/console/cases?team={sup_b}"), &sup_a).await;
    assert!(own.body.contains(&w.case1.id.to_string()));
    assert!(!own.body.contains("id=\"teams\""));
    let export = get(
        &w,
        &format!("/console/cases/export.csv?team={sup_b}"),
        &sup_a,
    )
    .await;
    assert_eq!(export.status, StatusCode::OK);
    assert_eq!(audited(&w, "console_export_visits").await.len(), 2);
    assert_ne!(
        audited(&w, "console_export_visits").await[1],
        sup_b.to_string()
    );
}
