//! Cases from a CSV file: the columns, the checks and the problems found, line
//! by line. Used by the `import-cases` command, and meant for the supervisor
//! console's upload too.
//!
//! The whole file is checked before anything is stored: [`parse`] reads every
//! row and returns either all the cases or every problem, each as a line
//! number, a column name and a stable code. Problems never quote the file's
//! content, so they can be logged and shown safely.
//!
//! The first row names the columns, in any order ([`COLUMNS`]); a UTF-8 byte
//! order mark is skipped. Amounts are decimal in major units (`12500.00`) and
//! become integer minor units; agents are named by user name.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use doorstep_core::domain::case::CaseError;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Case, CaseStatus, Customer, PhoneNumber, UserId,
};
use doorstep_core::money::Money;
use doorstep_core::policy::GeoPoint;
use doorstep_core::sync::protocol::Role;
use uuid::Uuid;

pub(crate) mod lines;

/// The columns of a case CSV file, and whether each must be present in the
/// header.
pub const COLUMNS: &[(&str, bool)] = &[
    ("case_id", true),
    ("external_ref", true),
    ("customer_name", true),
    ("national_id_masked", true),
    ("phone", false),
    ("address", true),
    ("latitude", false),
    ("longitude", false),
    ("product", false),
    ("overdue_amount", true),
    ("currency", true),
    ("days_past_due", true),
    ("agent", true),
    ("partner", false),
    ("priority", true),
    ("due_date", true),
    ("utc_offset_minutes", false),
];

/// The most data rows one file may hold.
pub const MAX_ROWS: usize = 50_000;

/// The most problems reported for one file; the rest are counted, not listed.
pub const MAX_PROBLEMS: usize = 200;

/// The UTC offset of a case when the file does not give one (China, +08:00).
pub const DEFAULT_UTC_OFFSET_MINUTES: i32 = 480;

/// One thing wrong with a file: where (line and column) and what (a stable
/// code). Never the content of the cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line of the file where the row starts (the header is line 1).
    pub line: u64,
    /// The column's name, or `None` for a problem with the whole row.
    pub column: Option<String>,
    /// Stable machine-readable code, e.g. `bad_money`, `unknown_agent`.
    pub code: &'static str,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.column {
            Some(column) => write!(f, "line {}, column {column}: {}", self.line, self.code),
            None => write!(f, "line {}: {}", self.line, self.code),
        }
    }
}

/// The problems of a refused file, in line order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problems {
    /// The first [`MAX_PROBLEMS`] problems.
    pub listed: Vec<Problem>,
    /// How many more there were.
    pub more: usize,
}

impl Problems {
    fn new() -> Self {
        Problems {
            listed: Vec::new(),
            more: 0,
        }
    }

    fn add(&mut self, line: u64, column: Option<&str>, code: &'static str) {
        if self.listed.len() < MAX_PROBLEMS {
            self.listed.push(Problem {
                line,
                column: column.map(str::to_owned),
                code,
            });
        } else {
            self.more += 1;
        }
    }

    fn is_empty(&self) -> bool {
        self.listed.is_empty() && self.more == 0
    }
}

impl std::fmt::Display for Problems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for problem in &self.listed {
            writeln!(f, "{problem}")?;
        }
        if self.more > 0 {
            writeln!(f, "… and {} more problems", self.more)?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// An agent a row may name, as the importer knows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownUser {
    /// The user's id.
    pub id: UserId,
    /// The user's role: only agents may be assigned.
    pub role: Role,
}

/// Reads a case CSV file. `users` looks up a user name (the `agent` and
/// `partner` columns). Returns every case, or every problem if there is any.
pub fn parse(
    bytes: &[u8],
    users: &mut dyn FnMut(&str) -> Option<KnownUser>,
) -> Result<Vec<Case>, Problems> {
    parse_lines(bytes, users).map(|rows| rows.into_iter().map(|(_, case)| case).collect())
}

/// Like [`parse`], with each case the file line its row starts on (for checks
/// made after parsing, such as the console's team check).
pub fn parse_lines(
    bytes: &[u8],
    users: &mut dyn FnMut(&str) -> Option<KnownUser>,
) -> Result<Vec<(u64, Case)>, Problems> {
    let mut problems = Problems::new();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(bytes);
    let header = match reader.byte_headers() {
        Ok(header) => header.clone(),
        Err(_) => {
            problems.add(1, None, "unreadable_header");
            return Err(problems);
        }
    };
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    for (i, name) in header.iter().enumerate() {
        let name = std::str::from_utf8(name).unwrap_or("").trim();
        match COLUMNS.iter().find(|(known, _)| *known == name) {
            Some((known, _)) if index.contains_key(known) => {
                problems.add(1, Some(known), "duplicate_column");
            }
            Some((known, _)) => {
                index.insert(known, i);
            }
            None => problems.add(1, None, "unknown_column"),
        }
    }
    for (name, required) in COLUMNS {
        if *required && !index.contains_key(name) {
            problems.add(1, Some(name), "missing_column");
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }

    let mut cases = Vec::new();
    let mut seen_ids: HashSet<Uuid> = HashSet::new();
    let mut record = csv::ByteRecord::new();
    let mut rows = 0usize;
    let mut lines = lines::LineCounter::new(bytes);
    loop {
        let start = reader.position().byte();
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                problems.add(lines.row_line(start), None, "malformed_row");
                break;
            }
        }
        let line = lines.row_line(record.position().map_or(start, csv::Position::byte));
        rows += 1;
        if rows > MAX_ROWS {
            problems.add(line, None, "too_many_rows");
            break;
        }
        if record.len() != header.len() {
            problems.add(line, None, "wrong_column_count");
            continue;
        }
        let row = Row {
            record: &record,
            index: &index,
            line,
        };
        if let Some(case) = row.case(&mut problems, users) {
            if seen_ids.insert(case.id) {
                cases.push((line, case));
            } else {
                problems.add(line, Some("case_id"), "duplicate_case_id");
            }
        }
    }
    if rows == 0 {
        problems.add(1, None, "no_rows");
    }
    if problems.is_empty() {
        Ok(cases)
    } else {
        Err(problems)
    }
}

/// One data row, read by column name.
struct Row<'a> {
    record: &'a csv::ByteRecord,
    index: &'a HashMap<&'static str, usize>,
    line: u64,
}

impl Row<'_> {
    /// The trimmed text of a column ("" when the column is absent), or a
    /// problem if it is not UTF-8.
    fn text(&self, column: &'static str, problems: &mut Problems) -> Option<String> {
        let Some(&i) = self.index.get(column) else {
            return Some(String::new());
        };
        let bytes = self.record.get(i).unwrap_or_default();
        match std::str::from_utf8(bytes) {
            Ok(text) => Some(text.trim().to_owned()),
            Err(_) => {
                problems.add(self.line, Some(column), "not_utf8");
                None
            }
        }
    }

    /// A column that must not be empty, parsed with `parse`; `code` names what
    /// is wrong when it does not parse.
    fn parsed<T>(
        &self,
        column: &'static str,
        code: &'static str,
        problems: &mut Problems,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<T> {
        let text = self.text(column, problems)?;
        if text.is_empty() {
            problems.add(self.line, Some(column), "missing_value");
            return None;
        }
        let value = parse(&text);
        if value.is_none() {
            problems.add(self.line, Some(column), code);
        }
        value
    }

    /// An optional column: `Some(None)` when empty.
    fn optional<T>(
        &self,
        column: &'static str,
        code: &'static str,
        problems: &mut Problems,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Option<Option<T>> {
        let text = self.text(column, problems)?;
        if text.is_empty() {
            return Some(None);
        }
        match parse(&text) {
            Some(value) => Some(Some(value)),
            None => {
                problems.add(self.line, Some(column), code);
                None
            }
        }
    }

    fn agent(
        &self,
        column: &'static str,
        text: &str,
        problems: &mut Problems,
        users: &mut dyn FnMut(&str) -> Option<KnownUser>,
    ) -> Option<UserId> {
        match users(text) {
            None => {
                problems.add(self.line, Some(column), "unknown_agent");
                None
            }
            Some(user) if user.role != Role::Agent => {
                problems.add(self.line, Some(column), "not_an_agent");
                None
            }
            Some(user) => Some(user.id),
        }
    }

    /// The case of this row, every problem of the row added to `problems`.
    fn case(
        &self,
        problems: &mut Problems,
        users: &mut dyn FnMut(&str) -> Option<KnownUser>,
    ) -> Option<Case> {
        let before = problems.listed.len() + problems.more;
        let id = self.parsed("case_id", "bad_case_id", problems, |t| {
            Uuid::parse_str(t).ok()
        });
        let external_ref = self.text("external_ref", problems);
        let name = self.text("customer_name", problems);
        let national_id = self.text("national_id_masked", problems);
        let phone = self.text("phone", problems);
        let address = self.text("address", problems);
        let latitude = self.optional("latitude", "bad_coordinate", problems, |t| {
            t.parse::<f64>().ok()
        });
        let longitude = self.optional("longitude", "bad_coordinate", problems, |t| {
            t.parse::<f64>().ok()
        });
        let product = self.text("product", problems);
        let minor_units = self.parsed("overdue_amount", "bad_money", problems, parse_minor_units);
        let currency = self.text("currency", problems);
        let days = self.parsed("days_past_due", "bad_number", problems, |t| {
            t.parse::<u32>().ok()
        });
        let agent = self.parsed("agent", "unknown_agent", problems, |t| Some(t.to_owned()));
        let partner = self.text("partner", problems);
        let priority = self.parsed("priority", "bad_priority", problems, |t| {
            t.parse::<u8>().ok()
        });
        let due_date = self.parsed("due_date", "bad_date", problems, |t| {
            NaiveDate::parse_from_str(t, "%Y-%m-%d").ok()
        });
        let offset = self.optional("utc_offset_minutes", "bad_number", problems, |t| {
            t.parse::<i32>().ok()
        });

        let primary = match &agent {
            Some(name) => self.agent("agent", name, problems, users),
            None => None,
        };
        let partner = match partner.as_deref() {
            None | Some("") => Some(None),
            Some(name) => self.agent("partner", name, problems, users).map(Some),
        };
        let location = match (latitude, longitude) {
            (Some(Some(latitude)), Some(Some(longitude))) => Some(Some(GeoPoint {
                latitude,
                longitude,
            })),
            (Some(None), Some(None)) => Some(None),
            (Some(_), Some(_)) => {
                problems.add(self.line, Some("longitude"), "half_a_position");
                None
            }
            _ => None,
        };
        let money = match (minor_units, currency.as_deref()) {
            (Some(units), Some(code)) => match Money::new(units, code) {
                Ok(money) => Some(money),
                Err(_) => {
                    problems.add(self.line, Some("currency"), "bad_currency");
                    None
                }
            },
            _ => None,
        };
        if problems.listed.len() + problems.more != before {
            return None;
        }
        let phones = match phone {
            Some(number) if !number.is_empty() => vec![PhoneNumber {
                label: "mobile".into(),
                number,
            }],
            _ => Vec::new(),
        };
        let case = Case {
            revisit_after: None,
            id: id?,
            external_ref: external_ref?,
            customer: Customer {
                name: name?,
                national_id_masked: national_id?,
                phones,
                addresses: vec![Address {
                    kind: AddressKind::Home,
                    text: address?,
                    location: location?,
                }],
            },
            product: product?,
            overdue_amount: money?,
            days_past_due: days?,
            assigned: AssignedAgents {
                primary: primary?,
                partner: partner?,
            },
            priority: priority?,
            due_date: due_date?,
            status: CaseStatus::New,
            utc_offset_minutes: offset?.unwrap_or(DEFAULT_UTC_OFFSET_MINUTES),
        };
        if let Err(error) = case.check() {
            let (column, code) = case_problem(&error);
            problems.add(self.line, Some(column), code);
            return None;
        }
        Some(case)
    }
}

/// The column and code of a case the core refuses.
fn case_problem(error: &CaseError) -> (&'static str, &'static str) {
    match error {
        CaseError::BadText { field } => (
            match *field {
                "customer.name" => "customer_name",
                "phone.number" | "phone.label" => "phone",
                "address.text" => "address",
                other => other,
            },
            "bad_text",
        ),
        CaseError::BadAmount => ("overdue_amount", "bad_money"),
        CaseError::BadPriority => ("priority", "bad_priority"),
        CaseError::BadUtcOffset => ("utc_offset_minutes", "bad_utc_offset"),
        CaseError::BadLocation => ("latitude", "bad_coordinate"),
        CaseError::UnmaskedNationalId => ("national_id_masked", "unmasked_national_id"),
        CaseError::PartnerIsPrimary => ("partner", "partner_is_agent"),
    }
}

/// A non-negative decimal amount in major units with at most two decimals
/// (`12500`, `12500.5`, `12500.00`) as minor units. No signs, exponents,
/// thousands separators or currency symbols.
pub fn parse_minor_units(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || fraction.len() > 2 {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    whole.checked_mul(100)?.checked_add(cents)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the CSV fuzz target (fuzz/, docs/FUZZING.md): with Windows
    /// line endings every row was reported a line early, with old Mac ones
    /// every row was on line 1, and blank lines were not counted.
    #[test]
    fn rows_are_numbered_as_an_editor_shows_them_whatever_the_line_endings() {
        let agent = KnownUser {
            id: Uuid::nil(),
            role: Role::Agent,
        };
        let mut users = |name: &str| (name == "agent1").then_some(agent);
        let row = |id: u8, agent: &str| {
            format!(
                "0190a000-0000-7000-8000-0000000000{id:02},R{id},\"王\n小明\",**************123X,北京,300,CNY,1,{agent},3,2026-03-20"
            )
        };
        let file = [
            "case_id,external_ref,customer_name,national_id_masked,address,overdue_amount,currency,days_past_due,agent,priority,due_date".to_owned(),
            row(1, "agent1"), // lines 2-3 (a newline in a quoted field)
            String::new(),    // line 4, blank
            row(2, "nobody"), // lines 5-6
            row(3, "agent1"), // lines 7-8
            row(4, "nobody"), // lines 9-10
        ]
        .join("\n");
        for ending in ["\n", "\r\n", "\r"] {
            let text = format!("\u{feff}{}{ending}", file.replace('\n', ending));
            let problems = parse(text.as_bytes(), &mut users).unwrap_err();
            let lines: Vec<u64> = problems.listed.iter().map(|p| p.line).collect();
            assert_eq!(lines, [5, 9], "{ending:?}");
            let good = text.replace("nobody", "agent1");
            let rows = parse_lines(good.as_bytes(), &mut users).unwrap();
            let lines: Vec<u64> = rows.iter().map(|(line, _)| *line).collect();
            assert_eq!(lines, [2, 5, 7, 9], "{ending:?}");
        }
    }

    #[test]
    fn amounts_become_minor_units_and_odd_ones_are_refused() {
        assert_eq!(parse_minor_units("12500.00"), Some(1_250_000));
        assert_eq!(parse_minor_units("12500.5"), Some(1_250_050));
        assert_eq!(parse_minor_units("0"), Some(0));
        assert_eq!(parse_minor_units("7"), Some(700));
        for bad in [
            "",
            "-1",
            "+1",
            "1.234",
            "1,000",
            "¥100",
            "1e3",
            ".5",
            "5.",
            "NaN",
            " 1",
            "99999999999999999999",
        ] {
            assert_eq!(parse_minor_units(bad), None, "{bad:?}");
        }
    }
}
