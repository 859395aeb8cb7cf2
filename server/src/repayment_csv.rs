//! Repayments from a CSV file: the columns, the checks and the problems found,
//! line by line. Used by the `import-repayments` command and the console's
//! upload alike, through [`crate::service::repayments`]; the format is
//! documented in `docs/REPAYMENTS_CSV.md`.
//!
//! The whole file is checked before anything is stored: [`parse`] reads every
//! row and returns either all the repayments or every problem, each as a line
//! number, a column name and a stable code, in the style of the case import
//! ([`crate::case_csv`], whose [`Problem`] and [`Problems`] it shares).
//! Problems never quote the file's content, so they can be logged and shown
//! safely.
//!
//! The first row names the columns, in any order ([`COLUMNS`]); a UTF-8 byte
//! order mark is skipped. Amounts are decimal in major units (`1250.50`) and
//! become integer minor units; dates are `YYYY-MM-DD`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::Repayment;
use doorstep_core::domain::case::MAX_CASE_TEXT_CHARS;
use doorstep_core::money::Money;

pub use crate::case_csv::{MAX_PROBLEMS, Problem, Problems};
use crate::case_csv::{lines, parse_minor_units};

/// The columns of a repayment CSV file, and whether each must be present in
/// the header.
pub const COLUMNS: &[(&str, bool)] = &[
    ("account_ref", true),
    ("paid_on", true),
    ("amount", true),
    ("currency", false),
];

/// The currency of a row whose `currency` cell (or column) is empty.
pub const DEFAULT_CURRENCY: &str = "CNY";

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 50_000;

/// The largest file, in bytes (the console's form limit is about the same).
pub const MAX_BYTES: usize = 4 * 1024 * 1024;

/// What the importer knows of the accounts a file names: [`parse`] asks for
/// it once, with every account reference its readable rows name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    /// The accounts the importer may import repayments for, each with the
    /// UTC offset in minutes of its case (the furthest ahead when several
    /// cases share the account): the day it is there decides what is in the
    /// future. An account not here is reported as `unknown_account`.
    pub known: HashMap<String, i32>,
    /// The repayments already stored for those accounts: a row equal to one
    /// of them (account, day, amount and currency) is `already_imported`.
    pub stored: Vec<Repayment>,
}

/// One problem found, before the list is put in line order and bounded.
struct Found {
    line: u64,
    column: Option<&'static str>,
    code: &'static str,
}

/// The problems found, in line order (a row's own problems before those of
/// its account), the first [`MAX_PROBLEMS`] listed and the rest counted.
fn problems(mut found: Vec<Found>) -> Problems {
    found.sort_by_key(|f| f.line);
    let more = found.len().saturating_sub(MAX_PROBLEMS);
    Problems {
        listed: found
            .into_iter()
            .take(MAX_PROBLEMS)
            .map(|f| Problem {
                line: f.line,
                column: f.column.map(str::to_owned),
                code: f.code,
            })
            .collect(),
        more,
    }
}

/// What a repayment is recognised by: a second row (or a stored repayment)
/// equal to it in all of these is the same payment again.
type Key = (String, NaiveDate, i64, String);

fn key(repayment: &Repayment) -> Key {
    (
        repayment.account_ref.clone(),
        repayment.paid_on,
        repayment.amount.minor_units,
        repayment.amount.currency.clone(),
    )
}

/// The day it is at `now` in a place `offset_minutes` east of UTC.
pub fn local_day(now: DateTime<Utc>, offset_minutes: i32) -> NaiveDate {
    (now + chrono::Duration::minutes(i64::from(offset_minutes))).date_naive()
}

/// Reads a repayment CSV file, with `now` the time of the import (a payment
/// dated after the day it is in its account's time zone is `future_date`).
/// `accounts` is asked once for what the importer knows of the accounts the
/// file names ([`Accounts`]). Returns every repayment with the line its row
/// starts on, or every problem if there is any.
pub fn parse(
    bytes: &[u8],
    now: DateTime<Utc>,
    accounts: &mut dyn FnMut(&[String]) -> Accounts,
) -> Result<Vec<(u64, Repayment)>, Problems> {
    let mut found = Vec::new();
    if bytes.len() > MAX_BYTES {
        found.push(Found {
            line: 1,
            column: None,
            code: "file_too_large",
        });
        return Err(problems(found));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = match reader.byte_headers() {
        Ok(header) => header.clone(),
        Err(_) => {
            found.push(Found {
                line: 1,
                column: None,
                code: "unreadable_header",
            });
            return Err(problems(found));
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).unwrap_or("").trim();
        let (column, code) = match COLUMNS.iter().find(|(known, _)| *known == name) {
            Some((known, _)) if index.contains_key(known) => (Some(*known), "duplicate_column"),
            Some((known, _)) => {
                index.insert(known, i);
                continue;
            }
            None => (None, "unknown_column"),
        };
        found.push(Found {
            line: 1,
            column,
            code,
        });
    }
    for (name, required) in COLUMNS {
        if *required && !index.contains_key(name) {
            found.push(Found {
                line: 1,
                column: Some(name),
                code: "missing_column",
            });
        }
    }
    if !found.is_empty() {
        return Err(problems(found));
    }

    let mut rows: Vec<(u64, Repayment)> = Vec::new();
    let mut seen: HashSet<Key> = HashSet::new();
    let mut record = csv::ByteRecord::new();
    let mut count = 0usize;
    let mut lines = lines::LineCounter::new(bytes);
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                found.push(Found {
                    line: lines.row_line(start),
                    column: None,
                    code: "malformed_row",
                });
                break;
            }
        }
        let line = lines.row_line(record.position().map_or(start, csv::Position::byte));
        count += 1;
        if count > MAX_ROWS {
            found.push(Found {
                line,
                column: None,
                code: "too_many_rows",
            });
            break;
        }
        if record.len() != header.len() {
            found.push(Found {
                line,
                column: None,
                code: "wrong_column_count",
            });
            continue;
        }
        let row = Row {
            record: &record,
            index: &index,
            line,
        };
        if let Some(repayment) = row.repayment(&mut found) {
            if seen.insert(key(&repayment)) {
                rows.push((line, repayment));
            } else {
                found.push(Found {
                    line,
                    column: None,
                    code: "duplicate_line",
                });
            }
        }
    }
    if count == 0 {
        found.push(Found {
            line: 1,
            column: None,
            code: "no_rows",
        });
    }
    if !rows.is_empty() {
        check_accounts(&rows, now, accounts, &mut found);
    }
    if found.is_empty() {
        Ok(rows)
    } else {
        Err(problems(found))
    }
}

/// The problems of readable rows that depend on their account: not one the
/// importer knows, dated after the day it is there, or stored already.
fn check_accounts(
    rows: &[(u64, Repayment)],
    now: DateTime<Utc>,
    accounts: &mut dyn FnMut(&[String]) -> Accounts,
    found: &mut Vec<Found>,
) {
    let mut refs: Vec<String> = rows.iter().map(|(_, r)| r.account_ref.clone()).collect();
    refs.sort_unstable();
    refs.dedup();
    let accounts = accounts(&refs);
    let stored: HashSet<Key> = accounts.stored.iter().map(key).collect();
    for (line, repayment) in rows {
        match accounts.known.get(&repayment.account_ref) {
            None => found.push(Found {
                line: *line,
                column: Some("account_ref"),
                code: "unknown_account",
            }),
            Some(&offset) if repayment.paid_on > local_day(now, offset) => found.push(Found {
                line: *line,
                column: Some("paid_on"),
                code: "future_date",
            }),
            Some(_) => {}
        }
        if stored.contains(&key(repayment)) {
            found.push(Found {
                line: *line,
                column: None,
                code: "already_imported",
            });
        }
    }
}

/// One data row, read by column name.
struct Row<'a> {
    record: &'a csv::ByteRecord,
    index: &'a HashMap<&'static str, usize>,
    line: u64,
}

impl Row<'_> {
    fn problem(&self, found: &mut Vec<Found>, column: &'static str, code: &'static str) {
        found.push(Found {
            line: self.line,
            column: Some(column),
            code,
        });
    }

    /// The trimmed text of a column ("" when the column is absent), or a
    /// problem if it is not UTF-8.
    fn text(&self, column: &'static str, found: &mut Vec<Found>) -> Option<String> {
        let Some(&i) = self.index.get(column) else {
            return Some(String::new());
        };
        let bytes = self.record.get(i).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text.trim().to_owned()),
            Err(_) => {
                self.problem(found, column, "not_utf8");
                None
            }
        }
    }

    /// A column that must not be empty, parsed with `parse`, whose error is
    /// the problem's code.
    fn parsed<T>(
        &self,
        column: &'static str,
        found: &mut Vec<Found>,
        parse: impl FnOnce(&str) -> Result<T, &'static str>,
    ) -> Option<T> {
        let text = self.text(column, found)?;
        if text.is_empty() {
            self.problem(found, column, "missing_value");
            return None;
        }
        match parse(&text) {
            Ok(value) => Some(value),
            Err(code) => {
                self.problem(found, column, code);
                None
            }
        }
    }

    /// The repayment of this row, every problem of the row added to `found`.
    fn repayment(&self, found: &mut Vec<Found>) -> Option<Repayment> {
        let account_ref = self.parsed("account_ref", found, account_ref);
        let paid_on = self.parsed("paid_on", found, date);
        let minor_units = self.parsed("amount", found, amount);
        let currency = self.text("currency", found).and_then(|code| {
            let code = if code.is_empty() {
                DEFAULT_CURRENCY.to_owned()
            } else {
                code
            };
            match Money::new(0, &code) {
                Ok(_) => Some(code),
                Err(_) => {
                    self.problem(found, "currency", "bad_currency");
                    None
                }
            }
        });
        Some(Repayment {
            account_ref: account_ref?,
            paid_on: paid_on?,
            amount: Money {
                minor_units: minor_units?,
                currency: currency?,
            },
        })
    }
}

/// An account reference as a case may carry it: at most
/// [`MAX_CASE_TEXT_CHARS`] characters, no control or bidirectional
/// characters, and not starting like a spreadsheet formula (`=`, `+`, `-`,
/// `@`).
fn account_ref(text: &str) -> Result<String, &'static str> {
    let fine = text.chars().count() <= MAX_CASE_TEXT_CHARS
        && !text.chars().any(crate::text::is_hidden_format)
        && !text.starts_with(['=', '+', '-', '@']);
    if fine {
        Ok(text.to_owned())
    } else {
        Err("bad_account_ref")
    }
}

/// A day written `YYYY-MM-DD`, and nothing else.
fn date(text: &str) -> Result<NaiveDate, &'static str> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) if shaped => Ok(day),
        _ => Err("bad_date"),
    }
}

/// An amount above zero in major units with at most two decimals, as minor
/// units ([`parse_minor_units`]); zero and a negative amount have a code of
/// their own.
fn amount(text: &str) -> Result<i64, &'static str> {
    if let Some(unsigned) = text.strip_prefix('-') {
        return match parse_minor_units(unsigned) {
            Some(_) => Err("not_positive_amount"),
            None => Err("bad_amount"),
        };
    }
    match parse_minor_units(text) {
        Some(0) => Err("not_positive_amount"),
        Some(units) => Ok(units),
        None => Err("bad_amount"),
    }
}

#[cfg(test)]
#[path = "repayment_csv_tests.rs"]
mod tests;
