#![allow(clippy::unwrap_used)]

use chrono::TimeZone;

use super::*;

/// 2026-03-12 02:00 UTC: 10:00 on the 12th in Beijing, still the 11th in
/// Honolulu (UTC-10).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 12, 2, 0, 0).single().unwrap()
}

/// The importer of these tests knows CC-1 and CC-2 (Beijing) and CC-HNL
/// (Honolulu); CC-2 has 500.00 CNY paid on 1 March stored already.
fn known(asked: &[String]) -> Accounts {
    let known = [("CC-1", 480), ("CC-2", 480), ("CC-HNL", -600)];
    Accounts {
        known: known
            .iter()
            .filter(|(account, _)| asked.iter().any(|a| a == account))
            .map(|(account, offset)| ((*account).to_owned(), *offset))
            .collect(),
        stored: vec![Repayment {
            account_ref: "CC-2".into(),
            paid_on: NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(),
            amount: Money::new(50_000, "CNY").unwrap(),
        }],
    }
}

fn read(text: &str) -> Result<Vec<(u64, Repayment)>, Problems> {
    parse(text.as_bytes(), now(), &mut known)
}

/// The problems of a file, as `line:column:code`.
fn problems_of(bytes: &[u8]) -> Vec<String> {
    let problems = parse(bytes, now(), &mut known).unwrap_err();
    problems
        .listed
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}",
                p.line,
                p.column.as_deref().unwrap_or(""),
                p.code
            )
        })
        .collect()
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

#[test]
fn a_clean_file_reads_with_a_bom_crlf_quotes_and_the_default_currency() {
    let file = "\u{feff}account_ref,paid_on,amount,currency\r\n\
                CC-1,2026-03-02,1250.50,CNY\r\n\
                \"CC-2\",\"2026-03-03\",\"7\",\r\n\
                \r\n\
                CC-1 , 2026-03-12 ,0.05,USD\r\n";
    let rows = read(file).unwrap();
    let money = |units, currency| Money::new(units, currency).unwrap();
    assert_eq!(
        rows,
        vec![
            (
                2,
                Repayment {
                    account_ref: "CC-1".into(),
                    paid_on: day(2),
                    amount: money(125_050, "CNY"),
                }
            ),
            (
                3,
                Repayment {
                    account_ref: "CC-2".into(),
                    paid_on: day(3),
                    amount: money(700, "CNY"),
                }
            ),
            (
                5,
                Repayment {
                    account_ref: "CC-1".into(),
                    paid_on: day(12),
                    amount: money(5, "USD"),
                }
            ),
        ]
    );
    // Without the currency column, in another order: CNY.
    let rows = read("amount,account_ref,paid_on\n300,CC-1,2026-03-01\n").unwrap();
    assert_eq!(rows[0].1.amount, money(30_000, "CNY"));
}

#[test]
fn the_header_is_checked_first() {
    assert_eq!(
        problems_of(b"account_ref,paid_on,amount,amount,customer\nCC-1,2026-03-01,1,1,x\n"),
        ["1:amount:duplicate_column", "1::unknown_column"]
    );
    assert_eq!(
        problems_of(b"account_ref,amount\nCC-1,1\n"),
        ["1:paid_on:missing_column"]
    );
    assert_eq!(problems_of(b"account_ref,paid_on,amount\n"), ["1::no_rows"]);
    assert_eq!(
        problems_of(b""),
        [
            "1:account_ref:missing_column",
            "1:paid_on:missing_column",
            "1:amount:missing_column"
        ]
    );
}

#[test]
fn every_cell_problem_has_its_code_on_its_line_and_column() {
    let file = "account_ref,paid_on,amount,currency
CC-1,2026-3-1,100,CNY
CC-1,2026-02-30,100,CNY
CC-1,2026-03-13,100,CNY
CC-1,2026-03-01,12.345,CNY
CC-1,2026-03-01,0,CNY
CC-1,2026-03-01,-5.00,CNY
CC-1,2026-03-01,100,cny
CC-9,2026-03-01,100,CNY
,2026-03-01,,CNY
CC-1,2026-03-01,100
CC-1,2026-03-02,100,CNY
CC-1,2026-03-02,100,CNY
CC-2,2026-03-01,500.00,CNY
CC-2,2026-03-01,500.00,HKD
";
    assert_eq!(
        problems_of(file.as_bytes()),
        [
            "2:paid_on:bad_date",
            "3:paid_on:bad_date",
            "4:paid_on:future_date",
            "5:amount:bad_amount",
            "6:amount:not_positive_amount",
            "7:amount:not_positive_amount",
            "8:currency:bad_currency",
            "9:account_ref:unknown_account",
            "10:account_ref:missing_value",
            "10:amount:missing_value",
            "11::wrong_column_count",
            "13::duplicate_line",
            "14::already_imported",
        ]
    );
}

#[test]
fn the_future_begins_at_midnight_where_the_account_is() {
    // 02:00 UTC on the 12th: the 12th in Beijing, the 11th in Honolulu.
    assert!(read("account_ref,paid_on,amount\nCC-1,2026-03-12,1\n").is_ok());
    assert_eq!(
        problems_of(b"account_ref,paid_on,amount\nCC-HNL,2026-03-12,1\nCC-HNL,2026-03-11,1\n"),
        ["2:paid_on:future_date"]
    );
}

#[test]
fn hostile_cells_are_typed_problems_never_echoed() {
    let long = "9".repeat(MAX_CASE_TEXT_CHARS + 1);
    let file = format!(
        "account_ref,paid_on,amount,currency
=cmd|' /C calc'!A0,2026-03-01,100,CNY
@SUM(A1),2026-03-01,100,CNY
+8613800000000,2026-03-01,100,CNY
CC-1,=TODAY(),=1+1,=A1
\"CC-1\u{202E}\",2026-03-01,100,CNY
\"CC\n1\",2026-03-01,100,CNY
{long},2026-03-01,{long},CNY
CC-1,2026-03-01,99999999999999999999,CNY
"
    );
    let problems = parse(file.as_bytes(), now(), &mut known).unwrap_err();
    let shown: Vec<String> = problems
        .listed
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}",
                p.line,
                p.column.as_deref().unwrap_or(""),
                p.code
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "2:account_ref:bad_account_ref",
            "3:account_ref:bad_account_ref",
            "4:account_ref:bad_account_ref",
            "5:paid_on:bad_date",
            "5:amount:bad_amount",
            "5:currency:bad_currency",
            "6:account_ref:bad_account_ref",
            "7:account_ref:bad_account_ref",
            "9:account_ref:bad_account_ref",
            "9:amount:bad_amount",
            "10:amount:bad_amount",
        ]
    );
    let text = problems.to_string();
    for secret in ["cmd", "calc", "SUM", "8613800", "TODAY", "999"] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[test]
fn bytes_that_are_not_utf8_are_refused_per_cell() {
    let mut file =
        b"account_ref,paid_on,amount\nCC-\xff1,2026-03-01,100\nCC-1,2026-03-01,1\xc3\n".to_vec();
    assert_eq!(
        problems_of(&file),
        ["2:account_ref:not_utf8", "3:amount:not_utf8"]
    );
    // In the header, a name that is not the format's.
    file = b"account_ref,paid_\xffon,amount\nCC-1,2026-03-01,100\n".to_vec();
    assert_eq!(
        problems_of(&file),
        ["1::unknown_column", "1:paid_on:missing_column"]
    );
}

#[test]
fn files_too_large_or_too_long_are_refused_whole() {
    let big = vec![b'a'; MAX_BYTES + 1];
    assert_eq!(problems_of(&big), ["1::file_too_large"]);
    let mut file = String::from("account_ref,paid_on,amount\n");
    for i in 0..=MAX_ROWS {
        file.push_str(&format!("CC-1,2026-03-01,{}\n", i + 1));
    }
    assert!(file.len() <= MAX_BYTES);
    assert_eq!(
        problems_of(file.as_bytes()),
        [format!("{}::too_many_rows", MAX_ROWS + 2)]
    );
}

#[test]
fn problem_lists_are_bounded_and_in_line_order() {
    let mut file = String::from("account_ref,paid_on,amount\n");
    for _ in 0..150 {
        // A row problem, then a row whose account is unknown: the list is
        // by line, whichever check found the problem.
        file.push_str("CC-1,yesterday,1\nCC-404,2026-03-01,1\n");
    }
    let problems = parse(file.as_bytes(), now(), &mut known).unwrap_err();
    assert_eq!(problems.listed.len(), MAX_PROBLEMS);
    assert_eq!(problems.more, 300 - MAX_PROBLEMS);
    let lines: Vec<u64> = problems.listed.iter().map(|p| p.line).collect();
    assert!(lines.windows(2).all(|w| w[0] < w[1]), "{lines:?}");
    assert_eq!(problems.listed[1].code, "unknown_account");
}

#[test]
fn the_accounts_are_asked_once_for_the_readable_rows_only() {
    let mut asked = Vec::new();
    let mut lookup = |refs: &[String]| {
        asked.push(refs.to_vec());
        known(refs)
    };
    let file = "account_ref,paid_on,amount\nCC-2,2026-03-02,1\nCC-1,2026-03-01,1\nCC-2,2026-03-01,2\n=x,2026-03-01,1\nCC-3,bad,1\n";
    let _ = parse(file.as_bytes(), now(), &mut lookup);
    assert_eq!(asked, vec![vec!["CC-1".to_owned(), "CC-2".to_owned()]]);
    // Nothing readable, nothing asked.
    asked.clear();
    let mut lookup = |refs: &[String]| {
        asked.push(refs.to_vec());
        known(refs)
    };
    let _ = parse(
        b"account_ref,paid_on,amount\n=x,bad,0\n",
        now(),
        &mut lookup,
    );
    assert!(asked.is_empty());
}

#[test]
fn arbitrary_bytes_never_panic() {
    // A small deterministic generator over the characters CSV cares about.
    let alphabet: &[u8] =
        b"CC-1,2026-03-01\"\r\n\xef\xbb\xbf\xff=0.5 account_ref,paid_on,amount,currency";
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..2_000 {
        let mut bytes = b"account_ref,paid_on,amount,currency\n".to_vec();
        let len = (state % 200) as usize;
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            bytes.push(alphabet[(state % alphabet.len() as u64) as usize]);
        }
        let _ = parse(&bytes, now(), &mut known);
    }
}
