//! Router tests of the repayment CSV import (checked per line, all or
//! nothing, team-checked, audited) and of what it decides: each promise to
//! pay kept, partly kept or broken on the visit report, and the promise kept
//! rate per agent and for the team on the dashboard, as the server's clock
//! passes the due dates. On SQLite and on PostgreSQL (one test per check per
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
use doorstep_core::sync::protocol::Role;
use doorstep_server::admin::CsvImportError;
use doorstep_server::service::repayments::{self, Importer};

on_both_backends!(
    a_clean_file_imports_and_the_kept_rates_follow_the_clock,
    a_file_with_one_bad_line_imports_nothing_and_lists_the_line,
    another_teams_account_is_refused_to_a_supervisor_not_to_an_admin,
    forms_without_the_token_agents_and_strangers_are_refused,
    the_same_payments_are_not_imported_twice,
);

/// Team A's accounts of these tests, their agents and promises: 1,000.00 CNY
/// due 5 March (agent1), 2,000.00 CNY due 6 March (agent1) and 3,000.00 CNY
/// due 7 March (agent2), all made on 2 March.
const ACCOUNTS: [&str; 3] = ["CC-2026-100001", "CC-2026-100002", "CC-2026-100003"];

/// Team B's account (agent3).
const TEAM_B_ACCOUNT: &str = "CC-2026-200001";

fn promise_of(minor_units: i64, due_day: u32) -> VisitChange {
    VisitChange::OutcomeSet {
        outcome: Outcome {
            code: OutcomeCode::PromiseToPay,
            promise: Some(PromiseToPay {
                amount: Money::new(minor_units, "CNY").unwrap(),
                due_on: NaiveDate::from_ymd_opt(2026, 3, due_day).unwrap(),
            }),
            plan: None,
            ability_to_repay: Rating::new(3),
            willingness_to_repay: Rating::new(4),
            summary: "will pay".into(),
        },
    }
}

/// Imports team A's three cases and team B's one, and pushes a submitted
/// visit with its promise on each of team A's (checked in on 2 March,
/// 17:00 Beijing). The visits' ids, in the order of [`ACCOUNTS`].
async fn three_promises(w: &Arc<World>) -> [Uuid; 3] {
    let cases = blocking(w, |w| {
        let owners = [w.agent1, w.agent1, w.agent2];
        let mut cases: Vec<Case> = ACCOUNTS
            .iter()
            .zip(owners)
            .map(|(account, agent)| Case {
                external_ref: (*account).to_owned(),
                ..sample_case(agent, None)
            })
            .collect();
        cases.push(Case {
            external_ref: TEAM_B_ACCOUNT.to_owned(),
            ..sample_case(w.agent3, None)
        });
        admin::import_cases(w.state.store.as_ref(), &cases, t0()).unwrap();
        cases
    })
    .await;
    let t1 = w.login("agent1", w.phone1).await;
    let t2 = w.login("agent2", w.phone2).await;
    let promises = [
        promise_of(100_000, 5),
        promise_of(200_000, 6),
        promise_of(300_000, 7),
    ];
    let mut visits = [Uuid::nil(); 3];
    for (i, promise) in promises.into_iter().enumerate() {
        let (device, token) = if i < 2 {
            (w.phone1, &t1)
        } else {
            (w.phone2, &t2)
        };
        let mut phone = Phone::new(device, Uuid::now_v7());
        let ops: Vec<_> = visit(&cases[i], vec![promise], site(), 1)
            .iter()
            .map(|c| phone.act(c))
            .collect();
        let outcomes = w.push_outcomes(token, &ops).await;
        assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
        visits[i] = phone.visit;
    }
    visits
}

fn file(rows: &[&str]) -> String {
    format!("account_ref,paid_on,amount,currency\n{}\n", rows.join("\n"))
}

async fn import(w: &World, cookies: &str, csv: &str, run: &str) -> Page {
    let page = get(w, "/console/repayments/import", cookies).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    post(
        w,
        "/console/repayments/import",
        cookies,
        &[("csrf", &page.csrf()), ("csv", csv), ("run", run)],
    )
    .await
}

/// The pages never echo what the file holds.
fn assert_no_content(page: &Page) {
    for secret in ["CC-2026-1", "CC-2026-2", "1000.00", "=cmd"] {
        assert!(!page.body.contains(secret), "{secret} in {}", page.body);
    }
}

async fn stored(w: &Arc<World>) -> Vec<Repayment> {
    blocking(w, |w| {
        let accounts: Vec<String> = ACCOUNTS
            .iter()
            .chain([&TEAM_B_ACCOUNT])
            .map(|a| (*a).to_owned())
            .collect();
        store::read(w.state.store.as_ref(), |tx| tx.repayments(&accounts)).unwrap()
    })
    .await
}

async fn audited(w: &Arc<World>) -> Vec<String> {
    blocking(w, |w| audit_actions(w, "import_repayments")).await
}

/// The promise kept rate of each agent's row and of the team, as shown.
async fn kept_rates(w: &World, cookies: &str) -> (String, String, String) {
    let page = get(w, "/console/dashboard?days=14", cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let cell = |after: &str, open: &str, close: &str| {
        let row = &page.body[page.body.find(after).unwrap_or_else(|| panic!("{after}"))..];
        let at = row.find(open).unwrap() + open.len();
        row[at..at + row[at..].find(close).unwrap()].to_owned()
    };
    (
        cell("<bdi>agent1</bdi>", "<td class=\"kept\">", "</td>"),
        cell("<bdi>agent2</bdi>", "<td class=\"kept\">", "</td>"),
        cell("<tfoot>", "id=\"team-kept-rate\">", "</th>"),
    )
}

/// The promise status the visit report shows.
async fn status_on_report(w: &World, cookies: &str, visit: Uuid) -> String {
    let page = get(w, &format!("/console/visits/{visit}"), cookies).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.location());
    let label = "<dt>Promise status</dt><dd><bdi class=\"text\">";
    let Some(at) = page.body.find(label) else {
        return String::new();
    };
    let rest = &page.body[at + label.len()..];
    rest[..rest.find("</bdi>").unwrap()].to_owned()
}

async fn a_clean_file_imports_and_the_kept_rates_follow_the_clock(w: Arc<World>) {
    let visits = three_promises(&w).await;
    let mut cookies = supervisor(&w, "sup_a").await;
    // Nothing paid, nothing due: every promise pending, no rate yet.
    let dash = "–".to_owned();
    assert_eq!(
        kept_rates(&w, &cookies).await,
        (dash.clone(), dash.clone(), dash.clone())
    );
    assert_eq!(status_on_report(&w, &cookies, visits[0]).await, "Pending");

    // The first account pays in full in two payments (one without the
    // currency column's value), the second in part; the third pays nothing.
    let csv = file(&[
        "CC-2026-100001,2026-03-02,600.00,CNY",
        "\"CC-2026-100001\",2026-03-02,400,",
        "CC-2026-100002,2026-03-02,500.50,CNY",
    ]);
    let checked = import(&w, &cookies, &csv, "check").await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.body.contains(
        "<p class=\"notice\" role=\"status\" id=\"clean\">The file is clean. Repayments it would import: <b>3</b></p>"
    ), "{}", checked.body);
    assert!(stored(&w).await.is_empty(), "checking stores nothing");
    let done = import(&w, &cookies, &csv, "import").await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body
            .contains("Imported. Repayments imported: <b>3</b>"),
        "{}",
        done.body
    );
    assert_no_content(&done);
    let paid = stored(&w).await;
    assert_eq!(paid.len(), 3);
    assert_eq!(
        paid.iter().map(|r| r.amount.minor_units).sum::<i64>(),
        60_000 + 40_000 + 50_050
    );
    assert!(paid.iter().all(|r| r.amount.currency == "CNY"));
    // Audited with the count only.
    assert_eq!(audited(&w).await, ["3"]);

    // Paid in full is kept before the due date; the rest is still pending.
    assert_eq!(
        kept_rates(&w, &cookies).await,
        ("100% (1/1)".into(), dash.clone(), "100% (1/1)".into())
    );
    assert_eq!(status_on_report(&w, &cookies, visits[0]).await, "Kept");
    assert_eq!(status_on_report(&w, &cookies, visits[1]).await, "Pending");

    // 6 March in Beijing, the second promise's due day: still pending; on
    // 7 March it is past due and only partly paid.
    w.clock.set(t0() + Duration::days(4));
    // (Sessions end before days pass: sign in again.)
    cookies = supervisor(&w, "sup_a").await;
    assert_eq!(status_on_report(&w, &cookies, visits[1]).await, "Pending");
    w.clock.set(t0() + Duration::days(5));
    cookies = supervisor(&w, "sup_a").await;
    assert_eq!(
        status_on_report(&w, &cookies, visits[1]).await,
        "Partly kept"
    );
    assert_eq!(status_on_report(&w, &cookies, visits[2]).await, "Pending");
    assert_eq!(
        kept_rates(&w, &cookies).await,
        ("50% (1/2)".into(), dash.clone(), "50% (1/2)".into())
    );

    // 8 March: the third is past due with nothing paid.
    w.clock.set(t0() + Duration::days(6));
    cookies = supervisor(&w, "sup_a").await;
    assert_eq!(status_on_report(&w, &cookies, visits[2]).await, "Broken");
    assert_eq!(
        kept_rates(&w, &cookies).await,
        ("50% (1/2)".into(), "0% (0/1)".into(), "33% (1/3)".into())
    );
    // In Chinese too.
    let zh = cookies.replace("doorstep_lang=en", "doorstep_lang=zh");
    let page = get(&w, &format!("/console/visits/{}", visits[2]), &zh).await;
    assert!(
        page.body
            .contains("<dt>承诺履行</dt><dd><bdi class=\"text\">违约</bdi></dd>")
    );
    let page = get(&w, "/console/dashboard?days=14", &zh).await;
    assert!(page.body.contains("<th>守约率</th>"));
}

async fn a_file_with_one_bad_line_imports_nothing_and_lists_the_line(w: Arc<World>) {
    three_promises(&w).await;
    let cookies = supervisor(&w, "sup_a").await;
    let csv = file(&[
        "CC-2026-100001,2026-03-02,1000.00,CNY",
        "CC-2026-100002,2026-03-02,12.345,CNY",
        "CC-2026-100003,2026-03-01,300,CNY",
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
        assert!(page.body.contains(
            "<tr><td>3</td><td class=\"mono\">amount</td><td class=\"mono\">bad_amount</td><td>Not an amount such as 1250.50.</td></tr>"
        ), "{}", page.body);
        assert_eq!(page.body.matches("<tr><td>").count(), 1, "one problem");
        assert_no_content(&page);
    }
    assert!(stored(&w).await.is_empty(), "nothing is imported");
    assert!(audited(&w).await.is_empty());

    // Hostile content: each problem typed, nothing echoed, no 5xx.
    let hostile = "\u{feff}account_ref,paid_on,amount,currency\r\n=cmd|' /C calc'!A0,2026-03-02,1,CNY\r\nCC-2026-100001,2026-03-03,1,CNY\r\nCC-2026-100001,2026-03-02,0,CNY\r\nCC-2026-100001,2026-03-02,-1,CNY\r\nCC-2026-100001,2026-03-02,1,RMB1\r\n";
    let page = import(&w, &cookies, hostile, "import").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    for (line, code) in [
        (2, "bad_account_ref"),
        (3, "future_date"),
        (4, "not_positive_amount"),
        (5, "not_positive_amount"),
        (6, "bad_currency"),
    ] {
        assert!(
            page.body.contains(&format!("<tr><td>{line}</td>"))
                && page
                    .body
                    .contains(&format!("<td class=\"mono\">{code}</td>")),
            "{line} {code}: {}",
            page.body
        );
    }
    assert!(!page.body.contains("calc"));
    // Bytes that are not UTF-8, uploaded as a file.
    let get_page = get(&w, "/console/repayments/import", &cookies).await;
    let page = upload(
        &w,
        &cookies,
        &get_page.csrf(),
        b"account_ref,paid_on,amount\nCC-\xff\xfe,2026-03-02,1\n",
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("<td class=\"mono\">not_utf8</td>"));
    // A header that is not the format's is a problem of line 1.
    let page = import(&w, &cookies, "account,day,amount\nx,1,1\n", "import").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(
        "<tr><td>1</td><td class=\"mono\">account_ref</td><td class=\"mono\">missing_column</td>"
    ));
    // A file over the form's limit is refused whole.
    let big = format!(
        "{}{}",
        file(&["CC-2026-100001,2026-03-02,1,CNY"]),
        "#".repeat(5 * 1024 * 1024)
    );
    let page = import(&w, &cookies, &big, "import").await;
    assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(stored(&w).await.is_empty());
}

/// The import page's own form: `multipart/form-data` with the file field.
async fn upload(w: &World, cookies: &str, csrf: &str, file_bytes: &[u8]) -> Page {
    let boundary = "----doorstep-test-boundary";
    let mut body = Vec::new();
    for (name, value) in [("csrf", csrf), ("run", "import")] {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"repayments.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file_bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method("POST")
        .uri("/console/repayments/import")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap();
    send(w, request).await
}

async fn another_teams_account_is_refused_to_a_supervisor_not_to_an_admin(w: Arc<World>) {
    three_promises(&w).await;
    let csv = file(&[
        "CC-2026-100001,2026-03-02,1000.00,CNY",
        "CC-2026-200001,2026-03-02,50,CNY",
    ]);
    // Team A's supervisor: team B's account is as unknown as one nobody has.
    let sup_a = supervisor(&w, "sup_a").await;
    let page = import(&w, &sup_a, &csv, "import").await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains(
        "<tr><td>3</td><td class=\"mono\">account_ref</td><td class=\"mono\">unknown_account</td><td>No case of yours has this account reference.</td></tr>"
    ), "{}", page.body);
    assert!(stored(&w).await.is_empty());
    // Team B's supervisor may import team B's line, not team A's.
    let sup_b = supervisor(&w, "sup_b").await;
    let page = import(&w, &sup_b, &csv, "import").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains(
        "<tr><td>2</td><td class=\"mono\">account_ref</td><td class=\"mono\">unknown_account</td>"
    ));
    let theirs = file(&["CC-2026-200001,2026-03-02,50,CNY"]);
    assert_eq!(
        import(&w, &sup_b, &theirs, "import").await.status,
        StatusCode::OK
    );
    // An admin may import for any team's account.
    blocking(&w, |w| {
        let s = w.state.store.as_ref();
        admin::create_user(s, "root", "pw-root-secret", Role::Admin, None, t0()).unwrap();
    })
    .await;
    let root = supervisor(&w, "root").await;
    let both = file(&[
        "CC-2026-100001,2026-03-02,1000.00,CNY",
        "CC-2026-200001,2026-03-01,50,CNY",
    ]);
    let page = import(&w, &root, &both, "import").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(stored(&w).await.len(), 3);
    assert_eq!(audited(&w).await, ["1", "2"]);
}

async fn forms_without_the_token_agents_and_strangers_are_refused(w: Arc<World>) {
    three_promises(&w).await;
    let cookies = supervisor(&w, "sup_a").await;
    let csv = file(&["CC-2026-100001,2026-03-02,1000.00,CNY"]);
    for token in ["", "forged"] {
        let page = post(
            &w,
            "/console/repayments/import",
            &cookies,
            &[("csrf", token), ("csv", &csv), ("run", "import")],
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
    let refusals = blocking(&w, |w| audit_refusals(w, "form_refused")).await;
    assert_eq!(
        refusals,
        vec![
            (
                "/console/repayments/import".to_owned(),
                "csrf_refused".to_owned()
            );
            2
        ]
    );
    // Without a session: to the sign-in page, for the page and the form.
    let page = get(&w, "/console/repayments/import", "").await;
    assert_eq!(page.location(), "/console/login");
    let page = post(&w, "/console/repayments/import", "", &[("csv", &csv)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/login");
    // Agents cannot sign in to the console, and the service refuses them.
    assert!(sign_in(&w, "agent1", "pw-agent1-secret").await.is_err());
    let refused = blocking(&w, |w| {
        let s = w.state.store.as_ref();
        let agent1 = store::read(s, |tx| tx.user_by_name("agent1"))
            .unwrap()
            .unwrap();
        let importer = Importer::User(&agent1);
        let check = repayments::check_repayments_csv(s, importer, b"x", t0());
        let import = repayments::import_repayments_csv(s, importer, b"x", t0());
        [check.map(|r| r.len()), import].map(|result| match result {
            Err(CsvImportError::Store(e)) => e.status(),
            other => panic!("{other:?}"),
        })
    })
    .await;
    assert_eq!(refused, [StatusCode::FORBIDDEN; 2]);
    assert!(stored(&w).await.is_empty());
    assert!(audited(&w).await.is_empty());
    // The cases page links to the import.
    let cases = get(&w, "/console/cases", &cookies).await;
    assert!(cases.body.contains("href=\"/console/repayments/import\""));
}

async fn the_same_payments_are_not_imported_twice(w: Arc<World>) {
    three_promises(&w).await;
    let cookies = supervisor(&w, "sup_a").await;
    let csv = file(&[
        "CC-2026-100001,2026-03-02,1000.00,CNY",
        "CC-2026-100002,2026-03-02,500,CNY",
        "CC-2026-100002,2026-03-02,500.00,CNY",
    ]);
    // The same payment twice in the file.
    let page = import(&w, &cookies, &csv, "import").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        page.body.contains(
            "<tr><td>4</td><td class=\"mono\"></td><td class=\"mono\">duplicate_line</td>"
        ),
        "{}",
        page.body
    );
    // Imported once; the same file again is refused line by line.
    let once = file(&[
        "CC-2026-100001,2026-03-02,1000.00,CNY",
        "CC-2026-100002,2026-03-02,500,CNY",
    ]);
    assert_eq!(
        import(&w, &cookies, &once, "import").await.status,
        StatusCode::OK
    );
    let again = import(&w, &cookies, &once, "import").await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.body.matches("already_imported").count(), 2);
    assert_eq!(stored(&w).await.len(), 2);
    assert_eq!(audited(&w).await, ["2"]);
}

/// `doorstep-server import-repayments --file` on a SQLite data directory: a
/// file with a problem imports nothing and says where, without repeating
/// the file; a clean one imports every line, audited with the count; the
/// same file again is refused.
#[test]
fn the_command_line_imports_a_file_whole_or_not_at_all() {
    const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let cli = |args: &[&str]| {
        std::process::Command::new(BIN)
            .arg("--data")
            .arg(&data)
            .args(args)
            .output()
            .unwrap()
    };
    let ok = |args: &[&str]| {
        let out = cli(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    ok(&[
        "create-user",
        "--username",
        "sup",
        "--password",
        "pw-sup-secret",
        "--role",
        "supervisor",
    ]);
    let agent: Uuid = ok(&[
        "create-user",
        "--username",
        "ana",
        "--password",
        "pw-ana-secret",
        "--role",
        "agent",
        "--supervisor",
        "sup",
    ])
    .trim()
    .strip_prefix("user ")
    .unwrap()
    .parse()
    .unwrap();
    let cases: Vec<Case> = ["CC-2026-300001", "CC-2026-300002"]
        .iter()
        .map(|account| Case {
            external_ref: (*account).to_owned(),
            ..sample_case(agent, None)
        })
        .collect();
    let cases_file = dir.path().join("cases.json");
    std::fs::write(&cases_file, serde_json::to_string(&cases).unwrap()).unwrap();
    ok(&["import-cases", "--file", cases_file.to_str().unwrap()]);

    let file = dir.path().join("repayments.csv");
    let import = |content: &str| {
        std::fs::write(&file, content).unwrap();
        cli(&["import-repayments", "--file", file.to_str().unwrap()])
    };
    let bad = import(
        "account_ref,paid_on,amount\nCC-2026-300001,2026-03-02,1250.50\nCC-2026-300002,2026-03-02,12.5.0\nCC-2026-999999,2026-03-02,7\n",
    );
    assert!(!bad.status.success());
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&bad.stdout),
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(said.contains("nothing was imported"), "{said}");
    assert!(said.contains("line 3, column amount: bad_amount"), "{said}");
    assert!(
        said.contains("line 4, column account_ref: unknown_account"),
        "{said}"
    );
    for secret in ["CC-2026", "1250", "12.5.0", "王小明"] {
        assert!(!said.contains(secret), "{secret} in {said}");
    }

    let good = "account_ref,paid_on,amount,currency\nCC-2026-300001,2026-03-02,1250.50,CNY\nCC-2026-300002,2026-03-01,7,\n";
    let done = import(good);
    assert!(done.status.success(), "{done:?}");
    assert_eq!(
        String::from_utf8(done.stdout).unwrap(),
        "2 repayments imported\n"
    );
    let again = import(good);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("line 2: already_imported"));

    let store = store::sqlite::SqliteStore::open_dir(&data).unwrap();
    let accounts = ["CC-2026-300001".to_owned(), "CC-2026-300002".to_owned()];
    let paid = store::read(&store, |tx| tx.repayments(&accounts)).unwrap();
    assert_eq!(
        paid.iter()
            .map(|r| r.amount.minor_units)
            .collect::<Vec<_>>(),
        [700, 125_050]
    );
    let audit = store::read(&store, |tx| tx.audit_log()).unwrap();
    let imports: Vec<_> = audit
        .iter()
        .filter(|a| a.action == "import_repayments")
        .map(|a| (a.user, a.target_kind.as_str(), a.target_id.as_str()))
        .collect();
    assert_eq!(imports, [(None, "repayments", "2")]);
}

#[test]
fn every_problem_code_of_the_format_is_documented_and_explained_in_both_languages() {
    use doorstep_server::console::i18n::Lang;
    let doc = include_str!("../../docs/REPAYMENTS_CSV.md");
    let table = &doc[doc.find("## Problem codes").unwrap()..];
    let table = &table[..table.find("\n## ").unwrap()];
    // The first cell of each row of the table lists codes in backticks.
    let mut documented: Vec<&str> = table
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .flat_map(|line| line.split(" |").next().unwrap().split('`').step_by(2))
        .map(|code| code.trim_matches([',', ' ']))
        .filter(|code| !code.is_empty())
        .collect();
    documented.sort_unstable();
    for lang in [Lang::En, Lang::Zh] {
        let mut explained: Vec<&str> = lang
            .text()
            .repayment_problems
            .iter()
            .map(|(code, _)| *code)
            .collect();
        explained.sort_unstable();
        assert_eq!(documented, explained, "{lang:?}");
        for code in &documented {
            assert_ne!(
                lang.text().repayment_problem(code),
                *code,
                "{code} in {lang:?}"
            );
        }
    }
}
