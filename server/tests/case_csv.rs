//! CSV case import: a good file imports every case with its assignment; a
//! file with any problem imports nothing and names each problem by line,
//! column and code, never by content. On SQLite and on PostgreSQL (one test
//! per check per backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is
//! set): the import checks the agents and writes the cases in the store.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use doorstep_core::domain::CaseStatus;
use doorstep_server::admin::{self, CsvImportError};
use doorstep_server::store;
use uuid::Uuid;

on_both_backends!(
    a_good_file_with_quotes_newlines_and_a_bom_imports_every_case,
    a_file_with_any_problem_imports_nothing_and_lists_every_problem_by_line,
    core_case_rules_are_reported_per_column,
    headers_and_hostile_bytes_are_refused_cleanly,
    problem_lists_are_bounded,
);

const HEADER: &str = "case_id,external_ref,customer_name,national_id_masked,phone,address,latitude,longitude,product,overdue_amount,currency,days_past_due,agent,partner,priority,due_date";

fn row(id: Uuid, name: &str, amount: &str, agent: &str) -> String {
    format!(
        "{id},CC-2026-{},{name},**************123X,+86 138 0000 0001,\"北京市朝阳区建国路 88 号, 3 单元\",39.9087,116.4605,白金信用卡,{amount},CNY,45,{agent},,3,2026-03-20",
        &id.simple().to_string()[..6]
    )
}

fn problems(w: &World, file: &str) -> Vec<String> {
    match admin::import_cases_csv(w.state.store.as_ref(), file.as_bytes(), t0()) {
        Err(CsvImportError::Problems(p)) => {
            let text = p.to_string();
            // Problems name places and codes, never what the file holds.
            for secret in ["王", "建国路", "138 0000", "CC-2026"] {
                assert!(!text.contains(secret), "{text}");
            }
            p.listed.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected problems, got {other:?}"),
    }
}

fn case_exists(w: &World, id: Uuid) -> bool {
    store::read(w.state.store.as_ref(), |tx| tx.case(id))
        .unwrap()
        .is_some()
}

async fn a_good_file_with_quotes_newlines_and_a_bom_imports_every_case(w: Arc<World>) {
    // The store is synchronous: off the async workers.
    blocking(&w, |w| {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let multiline = format!(
            "{c},CC-2026-9,\"张\"\"小\"\"红\",**************8888,,\"上海市浦东新区\n世纪大道 100 号\",,,,0.5,CNY,1,agent3,,5,2026-04-01"
        );
        let file = format!(
            "\u{feff}{HEADER}\r\n{}\r\n{}\r\n{multiline}\n",
            row(a, "王小明", "12500.00", "agent1"),
            row(b, "李四", "300", "agent2").replacen(",,3,", ",agent1,3,", 1),
        );
        let ids = admin::import_cases_csv(w.state.store.as_ref(), file.as_bytes(), t0()).unwrap();
        assert_eq!(ids, vec![a, b, c]);
        let s = w.state.store.as_ref();
        let first = store::read(s, |tx| tx.case(a)).unwrap().unwrap().case;
        assert_eq!(first.customer.name, "王小明");
        assert_eq!(first.overdue_amount.minor_units, 1_250_000);
        assert_eq!(first.overdue_amount.currency, "CNY");
        assert_eq!(
            first.customer.addresses[0].text,
            "北京市朝阳区建国路 88 号, 3 单元"
        );
        assert_eq!(first.assigned.primary, w.agent1);
        assert_eq!(first.assigned.partner, None);
        assert_eq!(first.status, CaseStatus::New);
        assert_eq!(first.utc_offset_minutes, 480);
        let second = store::read(s, |tx| tx.case(b)).unwrap().unwrap().case;
        assert_eq!(second.overdue_amount.minor_units, 30_000);
        assert_eq!(
            (second.assigned.primary, second.assigned.partner),
            (w.agent2, Some(w.agent1))
        );
        let third = store::read(s, |tx| tx.case(c)).unwrap().unwrap().case;
        assert_eq!(third.customer.name, "张\"小\"红");
        assert_eq!(
            third.customer.addresses[0].text,
            "上海市浦东新区\n世纪大道 100 号"
        );
        assert_eq!(third.customer.addresses[0].location, None);
        assert!(third.customer.phones.is_empty());
        assert_eq!(third.overdue_amount.minor_units, 50);
        assert_eq!(third.assigned.primary, w.agent3);
    })
    .await;
}

async fn a_file_with_any_problem_imports_nothing_and_lists_every_problem_by_line(w: Arc<World>) {
    // The store is synchronous: off the async workers.
    blocking(&w, |w| {
        let ids: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
        let file = [
            HEADER.to_owned(),
            // line 2: fine
            row(ids[0], "王小明", "12500.00", "agent1"),
            // line 3: a quoted field with a newline: the next row starts on line 5
            row(ids[1], "\"李\n四\"", "1.234", "agent1"),
            // line 5: unknown agent
            row(ids[2], "赵六", "10", "nobody"),
            // line 6: a supervisor is not an agent
            row(ids[3], "钱七", "10", "sup_a"),
            // line 7: the id of line 2 again
            row(ids[0], "孙八", "10", "agent2"),
            // line 8: one column short
            "a,b,c".to_owned(),
            // line 9: not masked, bad date, negative money, bad currency
            row(ids[4], "周九", "-5", "agent1")
                .replace("**************123X", "110101199001011234")
                .replace("2026-03-20", "2026-02-30"),
            // line 10: fine
            row(ids[5], "吴十", "99.9", "agent3"),
        ]
        .join("\n");
        let found = problems(w, &file);
        assert_eq!(
            found,
            vec![
                "line 3, column overdue_amount: bad_money",
                "line 5, column agent: unknown_agent",
                "line 6, column agent: not_an_agent",
                "line 7, column case_id: duplicate_case_id",
                "line 8: wrong_column_count",
                "line 9, column overdue_amount: bad_money",
                "line 9, column due_date: bad_date",
            ]
        );
        for id in &ids {
            assert!(!case_exists(w, *id), "nothing is imported");
        }
    })
    .await;
}

async fn core_case_rules_are_reported_per_column(w: Arc<World>) {
    // The store is synchronous: off the async workers.
    blocking(&w, |w| {
        let (a, b, c) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        let file = [
            HEADER.to_owned(),
            row(a, "王小明", "10", "agent1").replace("**************123X", "110101199001011234"),
            row(b, "李四", "10", "agent1").replace(",CNY,", ",cny,"),
            row(c, "赵六", "10", "agent1").replacen(",,3,", ",agent1,3,", 1),
        ]
        .join("\n");
        assert_eq!(
            problems(w, &file),
            vec![
                "line 2, column national_id_masked: unmasked_national_id",
                "line 3, column currency: bad_currency",
                "line 4, column partner: partner_is_agent",
            ]
        );
    })
    .await;
}

async fn headers_and_hostile_bytes_are_refused_cleanly(w: Arc<World>) {
    // The store is synchronous: off the async workers.
    blocking(&w, |w| {
        // Missing and unknown columns.
        assert_eq!(
            problems(w, "case_id,customer_name,shoe_size\n1,2,3\n"),
            vec![
                "line 1: unknown_column",
                "line 1, column external_ref: missing_column",
                "line 1, column national_id_masked: missing_column",
                "line 1, column address: missing_column",
                "line 1, column overdue_amount: missing_column",
                "line 1, column currency: missing_column",
                "line 1, column days_past_due: missing_column",
                "line 1, column agent: missing_column",
                "line 1, column priority: missing_column",
                "line 1, column due_date: missing_column",
            ]
        );
        // A header alone, and an empty file.
        assert_eq!(problems(w, HEADER), vec!["line 1: no_rows"]);
        assert!(problems(w, "").contains(&"line 1, column case_id: missing_column".to_owned()));
        // A byte that is not UTF-8 in a cell.
        let id = Uuid::now_v7();
        let mut bytes = format!("{HEADER}\n").into_bytes();
        let line = row(id, "X", "1", "agent1").replace(",X,", ",\u{1}XX,");
        bytes.extend(
            line.as_bytes()
                .iter()
                .map(|b| if *b == 1 { 0xFF } else { *b }),
        );
        match admin::import_cases_csv(w.state.store.as_ref(), &bytes, t0()) {
            Err(CsvImportError::Problems(p)) => {
                assert_eq!(p.to_string(), "line 2, column customer_name: not_utf8\n");
            }
            other => panic!("{other:?}"),
        }
        assert!(!case_exists(w, id));
    })
    .await;
}

async fn problem_lists_are_bounded(w: Arc<World>) {
    // The store is synchronous: off the async workers.
    blocking(&w, |w| {
        let mut file = HEADER.to_owned();
        for _ in 0..(doorstep_server::case_csv::MAX_PROBLEMS + 50) {
            file.push_str("\nshort,row");
        }
        match admin::import_cases_csv(w.state.store.as_ref(), file.as_bytes(), t0()) {
            Err(CsvImportError::Problems(p)) => {
                assert_eq!(p.listed.len(), doorstep_server::case_csv::MAX_PROBLEMS);
                assert_eq!(p.more, 50);
                assert!(p.to_string().ends_with("… and 50 more problems\n"));
            }
            other => panic!("{other:?}"),
        }
    })
    .await;
}
