//! The audit trail: who viewed a report or a photo, decided, assigned,
//! imported, exported, signed in, and every refused attempt (a failed
//! sign-in, another team's page, a form without its token), newest first,
//! filtered by user, action and day, a page at a time, and the same rows as
//! a CSV download.
//!
//! Supervisors see their team's rows ([`AuditScope::Team`]: by them or their
//! agents, or about their team's visits and cases), admins every row; agents
//! are refused (403, and the refusal is audited as `page_refused`). The
//! page only reads the log; each CSV export is itself audited
//! (`console_export_audit`, its filter as the target). Rows hold ids and
//! codes only; names are looked up when shown.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use doorstep_core::domain::UserId;
use doorstep_core::sync::protocol::Role;
use serde::Deserialize;

use super::export::defuse;
use super::format::{Shown, local};
use super::i18n::{Lang, Text, encode_query};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::access::Access;
use crate::error::ServiceError;
use crate::store::{
    self, AuditQuery, AuditRecord, AuditRow, AuditScope, Store, StoreTx, UserRecord,
};

/// Rows per page.
pub const PAGE_SIZE: u32 = 50;

/// The most rows one CSV export holds; a filter that selects more is
/// refused with a message asking to narrow it (a file that silently lacks
/// rows would mislead an auditor).
pub const CSV_MAX_ROWS: u32 = 100_000;

/// The offset the page shows times in and reads its day filters in: the
/// bank's time, UTC+08:00, as the console shows the cases' times.
pub const OFFSET_MINUTES: i32 = 8 * 60;

/// The action of a refused sign-in ([`crate::sign_in_guard::REFUSED`]), whose
/// refusal code is kept as its target id.
const SIGN_IN_REFUSED: &str = crate::sign_in_guard::REFUSED;

/// The action filter's value for every refused attempt.
pub const REFUSED: &str = "refused";

/// The query of the page and of the CSV, as given. Values that do not parse
/// are ignored (that filter is off), never an error; a date that does not
/// parse is also named on the page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AuditParams {
    /// A user id.
    pub user: String,
    /// An action code, or `refused` for every refused attempt.
    pub action: String,
    /// First day, `YYYY-MM-DD` in UTC+08:00, inclusive.
    pub from: String,
    /// Last day, `YYYY-MM-DD` in UTC+08:00, inclusive.
    pub to: String,
    /// The page, from 1.
    pub page: String,
}

/// The filters a query sets, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only this user's rows.
    pub user: Option<UserId>,
    /// A known action code, or [`REFUSED`].
    pub action: Option<&'static str>,
    /// From this day (UTC+08:00).
    pub from: Option<NaiveDate>,
    /// To this day, inclusive (UTC+08:00).
    pub to: Option<NaiveDate>,
    /// The page, from 1.
    pub page: u64,
    /// The date fields given that are not dates (`from`, `to`).
    pub bad_dates: Vec<&'static str>,
}

impl AuditParams {
    /// The filters this query sets; anything unknown is dropped.
    pub fn filter(&self, t: &Text) -> AuditFilter {
        let day = |text: &str, name: &'static str, bad: &mut Vec<&'static str>| {
            let text = text.trim();
            if text.is_empty() {
                return None;
            }
            let parsed = text.parse::<NaiveDate>().ok();
            if parsed.is_none() {
                bad.push(name);
            }
            parsed
        };
        let mut bad_dates = Vec::new();
        let from = day(&self.from, "from", &mut bad_dates);
        let to = day(&self.to, "to", &mut bad_dates);
        let action = match self.action.trim() {
            REFUSED => Some(REFUSED),
            code => t
                .audit_actions
                .iter()
                .find(|(known, _)| *known == code)
                .map(|(known, _)| *known),
        };
        AuditFilter {
            user: self.user.trim().parse().ok(),
            action,
            from,
            to,
            page: self
                .page
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|p| *p >= 1)
                .unwrap_or(1),
            bad_dates,
        }
    }
}

/// The instant a day of UTC+08:00 begins.
fn day_start(day: NaiveDate) -> Option<DateTime<Utc>> {
    let midnight = day.and_hms_opt(0, 0, 0)?.and_utc();
    Some(midnight - Duration::minutes(i64::from(OFFSET_MINUTES)))
}

impl AuditFilter {
    /// The store query of these filters for `scope`.
    pub fn query(&self, scope: AuditScope) -> AuditQuery {
        let (actions, refused) = match self.action {
            None => (Vec::new(), false),
            Some(REFUSED) => (vec![SIGN_IN_REFUSED.to_owned()], true),
            Some(code) => (vec![code.to_owned()], false),
        };
        AuditQuery {
            scope,
            users: self.user.into_iter().collect(),
            actions,
            refused,
            from: self.from.and_then(day_start),
            to: self.to.and_then(|day| day.succ_opt()).and_then(day_start),
        }
    }

    /// The query string of these filters (parsed values only), without the
    /// page: `user=…&action=…&from=…&to=…`, empty when none is set.
    pub fn query_string(&self) -> String {
        let mut parts = Vec::new();
        if let Some(user) = self.user {
            parts.push(format!("user={user}"));
        }
        if let Some(action) = self.action {
            parts.push(format!("action={}", encode_query(action)));
        }
        if let Some(from) = self.from {
            parts.push(format!("from={from}"));
        }
        if let Some(to) = self.to {
            parts.push(format!("to={to}"));
        }
        parts.join("&")
    }
}

/// Which rows `user` may see: an admin every row, a supervisor their
/// team's; an agent none ([`ServiceError::NotSupervisor`], 403). (An agent
/// cannot sign in to the console, so the pages never meet one; the rule is
/// kept here all the same.)
pub fn scope_of(user: &UserRecord) -> Result<AuditScope, ServiceError> {
    match user.role {
        Role::Admin => Ok(AuditScope::All),
        Role::Supervisor => Ok(AuditScope::Team(user.id)),
        Role::Agent => Err(ServiceError::NotSupervisor),
    }
}

/// An audit row as people read it.
pub struct AuditLine {
    /// The row's number in the log.
    pub id: u64,
    /// When, in UTC+08:00.
    pub time: String,
    /// The user's name, if the row has a user the store knows.
    pub user: Option<Shown>,
    /// The link that filters by the row's user.
    pub user_href: Option<String>,
    /// The user's role, in words.
    pub role: &'static str,
    /// Who, when the row has no user: a name that is nobody's, or the
    /// server's own command line.
    pub nobody: &'static str,
    /// What was done, in words.
    pub action: String,
    /// The action's code.
    pub action_code: String,
    /// The kind of the target, in words.
    pub target_kind: String,
    /// The target, shown (a short id, a name, a path; empty for none).
    pub target: Shown,
    /// How the target is set: `id` (a short id, monospace, kept on one
    /// line), `path` (monospace, broken anywhere), or empty for a name.
    pub target_class: &'static str,
    /// The target's full id, in the cell's title.
    pub target_title: String,
    /// A link to the target, where the reader may see it.
    pub target_href: Option<String>,
    /// Why it was refused, in words, for a refused attempt.
    pub refusal: Option<String>,
}

/// The code of a row's refusal: its code, or for a refused sign-in the
/// code kept as its target id.
pub fn refusal_code(record: &AuditRecord) -> Option<&str> {
    match &record.code {
        Some(code) => Some(code),
        None if record.action == SIGN_IN_REFUSED => Some(&record.target_id),
        None => None,
    }
}

/// The last characters of an id, enough to tell rows apart at a glance
/// (the first characters of a time-ordered id are shared by everything made
/// in the same minute).
fn short(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 12 {
        return id.to_owned();
    }
    let tail: String = chars[chars.len() - 8..].iter().collect();
    format!("…{tail}")
}

/// Who the rows name, for showing them: every user a row is by or about.
pub struct Names(HashMap<UserId, UserRecord>);

impl Names {
    /// Looks up every user `rows` are by, or about (a user or a team target).
    pub fn of(tx: &dyn StoreTx, rows: &[AuditRow]) -> Result<Names, ServiceError> {
        let mut names = HashMap::new();
        for row in rows {
            let record = &row.record;
            let about = match record.target_kind.as_str() {
                "user" | "team" => record.target_id.parse::<UserId>().ok(),
                _ => None,
            };
            for id in record.user.into_iter().chain(about) {
                if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id)
                    && let Some(user) = tx.user(id)?
                {
                    slot.insert(user);
                }
            }
        }
        Ok(Names(names))
    }

    /// A user, if known.
    pub fn get(&self, id: UserId) -> Option<&UserRecord> {
        self.0.get(&id)
    }
}

/// The role's name.
pub fn role_name(t: &Text, role: Role) -> &'static str {
    t.audit_roles[Role::ALL.iter().position(|r| *r == role).unwrap_or(0)]
}

/// One row for the page; `readable` says whether the reader may open a
/// visit target.
fn line(
    t: &Text,
    row: &AuditRow,
    names: &Names,
    readable: bool,
    filter: &AuditFilter,
) -> AuditLine {
    let record = &row.record;
    let user = record.user.and_then(|id| names.get(id));
    let user_href = record.user.map(|id| {
        let mut by_user = AuditFilter {
            user: Some(id),
            page: 1,
            ..filter.clone()
        };
        by_user.bad_dates.clear();
        format!("/console/audit?{}", by_user.query_string())
    });
    let nobody = if record.action == SIGN_IN_REFUSED {
        t.audit_unknown_name
    } else if record.user.is_some() {
        t.unknown
    } else {
        t.audit_server
    };
    let id = record.target_id.as_str();
    let name_of = |id: &str| {
        id.parse::<UserId>()
            .ok()
            .and_then(|id| names.get(id))
            .map_or_else(|| Shown::line(&short(id)), |u| Shown::line(&u.username))
    };
    let (target, target_href) = match record.target_kind.as_str() {
        "visit" => (
            Shown::line(&short(id)),
            readable.then(|| format!("/console/visits/{id}")),
        ),
        "case" => (
            Shown::line(&short(id)),
            readable.then(|| format!("/console/cases/{id}")),
        ),
        "user" | "team" => (name_of(id), None),
        // The channel of a refused sign-in; its target id is the code.
        "login" | "register_device" | "console_sign_in" => (Shown::default(), None),
        "console_page" => (Shown::line(id), None),
        "audit" => (
            Shown::default(),
            Some(if id.is_empty() {
                "/console/audit".to_owned()
            } else {
                format!("/console/audit?{id}")
            })
            .filter(|href| super::i18n::is_console_path(href)),
        ),
        _ => (Shown::line(&short(id)), None),
    };
    AuditLine {
        id: row.id,
        time: local(record.at, OFFSET_MINUTES)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        user: user.map(|u| Shown::line(&u.username)),
        user_href,
        role: user.map_or("", |u| role_name(t, u.role)),
        nobody,
        action: t.audit_action(&record.action),
        action_code: record.action.clone(),
        target_kind: t.audit_target(&record.target_kind),
        target_class: match record.target_kind.as_str() {
            "user" | "team" => "",
            "console_page" => "mono path",
            _ => "mono id",
        },
        target,
        target_title: id.to_owned(),
        target_href,
        refusal: refusal_code(record).map(|code| t.audit_code(code)),
    }
}

/// A user the filter offers.
pub struct UserChoice {
    /// The user id (the form value).
    pub id: String,
    /// The user name and role, shown ([`crate::text::visible_line`]).
    pub label: String,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// An action the filter offers.
pub struct ActionChoice {
    /// The action code (the form value).
    pub code: &'static str,
    /// Its name.
    pub label: &'static str,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// The audit page.
#[derive(askama::Template)]
#[template(path = "console/audit.html")]
pub struct AuditPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// What the reader sees: their team's rows, or all.
    pub intro: &'static str,
    /// The users to filter by.
    pub users: Vec<UserChoice>,
    /// The actions to filter by.
    pub actions: Vec<ActionChoice>,
    /// Whether every refused attempt is the current action filter.
    pub refused: bool,
    /// The day filters as understood (re-shown in the form).
    pub from: String,
    /// See `from`.
    pub to: String,
    /// The date fields that were not dates, by their labels.
    pub bad_dates: Vec<&'static str>,
    /// The rows of this page.
    pub lines: Vec<AuditLine>,
    /// Rows the filters select.
    pub total: u64,
    /// This page, from 1.
    pub page: u64,
    /// How many pages (at least 1).
    pub pages: u64,
    /// The filters' query string, for the page links and the CSV.
    pub query: String,
}

impl AuditPage {
    /// The link to page `page` with the same filters.
    pub fn page_href(&self, page: u64) -> String {
        if self.query.is_empty() {
            format!("/console/audit?page={page}")
        } else {
            format!("/console/audit?{}&page={page}", self.query)
        }
    }

    /// The CSV of the same filters.
    pub fn csv_href(&self) -> String {
        if self.query.is_empty() {
            "/console/audit.csv".to_owned()
        } else {
            format!("/console/audit.csv?{}", self.query)
        }
    }
}

/// The users the filter offers `reader`: themself and their team, or for
/// an admin every supervisor and their team, by name; and the user a
/// filter names, if it is none of these: for an admin any user, for a
/// supervisor only one the rows shown name already (`names`), so that a
/// user id gives a supervisor no name the trail does not show them.
fn user_choices(
    tx: &dyn StoreTx,
    t: &Text,
    reader: &UserRecord,
    chosen: Option<UserId>,
    names: &Names,
) -> Result<Vec<UserChoice>, ServiceError> {
    let mut users = vec![reader.clone()];
    match reader.role {
        Role::Admin => {
            for supervisor in tx.supervisors()? {
                let team = tx.team_members(supervisor.id)?;
                users.push(supervisor);
                users.extend(team);
            }
        }
        _ => users.extend(tx.team_members(reader.id)?),
    }
    if let Some(id) = chosen
        && !users.iter().any(|u| u.id == id)
    {
        let user = match reader.role {
            Role::Admin => tx.user(id)?,
            _ => names.get(id).cloned(),
        };
        users.extend(user);
    }
    let mut seen = std::collections::HashSet::new();
    users.retain(|u| seen.insert(u.id));
    Ok(users
        .into_iter()
        .map(|u| UserChoice {
            id: u.id.to_string(),
            label: format!(
                "{} ({})",
                crate::text::visible_line(&u.username),
                role_name(t, u.role)
            ),
            selected: chosen == Some(u.id),
        })
        .collect())
}

/// The page of rows `filter` selects for `reader`, with everything to show
/// them, in one read.
pub fn load_page(
    store: &dyn Store,
    lang: Lang,
    reader: &UserRecord,
    filter: &AuditFilter,
) -> Result<(Vec<AuditLine>, u64, Vec<UserChoice>), ServiceError> {
    let t = lang.text();
    let query = filter.query(scope_of(reader)?);
    let offset = (filter.page - 1).saturating_mul(u64::from(PAGE_SIZE));
    let access = Access::of(reader, None);
    store::read(store, |tx| {
        let total = tx.audit_count(&query)?;
        let rows = tx.audit_rows(&query, offset, PAGE_SIZE)?;
        let names = Names::of(tx, &rows)?;
        let mut readable: HashMap<String, bool> = HashMap::new();
        let mut lines = Vec::with_capacity(rows.len());
        for row in &rows {
            let record = &row.record;
            let may_open = match (record.target_kind.as_str(), readable.get(&record.target_id)) {
                ("visit" | "case", Some(known)) => *known,
                ("visit", None) => {
                    let may = match record.target_id.parse() {
                        Ok(visit) => access.may_read_visit(tx, visit)?,
                        Err(_) => false,
                    };
                    readable.insert(record.target_id.clone(), may);
                    may
                }
                ("case", None) => {
                    let may = match record.target_id.parse() {
                        Ok(case) => tx.case(case)?.is_some_and(|r| access.may_read(&r)),
                        Err(_) => false,
                    };
                    readable.insert(record.target_id.clone(), may);
                    may
                }
                _ => false,
            };
            lines.push(line(t, row, &names, may_open, filter));
        }
        let users = user_choices(tx, t, reader, filter.user, &names)?;
        Ok::<_, ServiceError>((lines, total, users))
    })
}

/// The page refusing an agent, audited as `page_refused` with the page's
/// path (no query) and `not_supervisor`.
async fn refused(state: &ConsoleState, signed: &Signed) -> Response {
    signed
        .page_refused(state, ServiceError::NotSupervisor)
        .await
}

/// `GET /console/audit`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    let Ok(scope) = scope_of(&signed.user) else {
        return refused(&state, &signed).await;
    };
    let lang = signed.lang;
    let t = lang.text();
    let params = params.map(|Query(q)| q).unwrap_or_default();
    let filter = params.filter(t);
    let store = state.store.clone();
    let reader = signed.user.clone();
    let asked = filter.clone();
    let loaded = blocking(move || load_page(store.as_ref(), lang, &reader, &asked)).await;
    let (lines, total, users) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(lang, &err),
    };
    let pages = total.div_ceil(u64::from(PAGE_SIZE)).max(1);
    let page = AuditPage {
        chrome: signed.chrome(),
        intro: match scope {
            AuditScope::All => t.audit_intro_admin,
            AuditScope::Team(_) => t.audit_intro_supervisor,
        },
        users,
        actions: t
            .audit_actions
            .iter()
            .map(|(code, label)| ActionChoice {
                code,
                label,
                selected: filter.action == Some(*code),
            })
            .collect(),
        refused: filter.action == Some(REFUSED),
        from: filter.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filter.to.map(|d| d.to_string()).unwrap_or_default(),
        bad_dates: filter
            .bad_dates
            .iter()
            .map(|field| match *field {
                "from" => t.audit_from,
                _ => t.audit_to,
            })
            .collect(),
        lines,
        total,
        page: filter.page,
        pages,
        query: filter.query_string(),
    };
    render(lang, StatusCode::OK, &page)
}

/// The columns of the CSV, in order.
pub const CSV_COLUMNS: [&str; 10] = [
    "id",
    "at",
    "user_id",
    "user",
    "role",
    "device_id",
    "action",
    "target_kind",
    "target_id",
    "refusal",
];

/// One line of the CSV for `row`; every cell defused ([`defuse`]).
pub fn csv_row(row: &AuditRow, names: &Names) -> Vec<String> {
    let record = &row.record;
    let user = record.user.and_then(|id| names.get(id));
    let cells = [
        row.id.to_string(),
        record.at.to_rfc3339_opts(SecondsFormat::Secs, true),
        record.user.map(|u| u.to_string()).unwrap_or_default(),
        user.map(|u| u.username.clone()).unwrap_or_default(),
        user.map(|u| u.role.code().to_owned()).unwrap_or_default(),
        record.device.map(|d| d.to_string()).unwrap_or_default(),
        record.action.clone(),
        record.target_kind.clone(),
        record.target_id.clone(),
        refusal_code(record).unwrap_or_default().to_owned(),
    ];
    cells.iter().map(|c| defuse(c)).collect()
}

/// The CSV text of `rows`, header first.
pub fn to_csv(rows: &[AuditRow], names: &Names) -> Result<Vec<u8>, ServiceError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let fail = |e: &dyn std::fmt::Display| ServiceError::internal(e);
    writer.write_record(CSV_COLUMNS).map_err(|e| fail(&e))?;
    for row in rows {
        writer
            .write_record(csv_row(row, names))
            .map_err(|e| fail(&e))?;
    }
    writer.into_inner().map_err(|e| fail(&e))
}

/// What an export came to.
pub enum Exported {
    /// The file.
    Csv(Vec<u8>),
    /// More rows than [`CSV_MAX_ROWS`]: nothing exported (and nothing
    /// audited).
    TooMany,
}

/// The CSV of the rows `filter` selects for `reader` (newest first, every
/// page), audited as `console_export_audit` by `reader` with the filters'
/// query string as the target id.
pub fn export(
    store: &dyn Store,
    reader: &UserRecord,
    filter: &AuditFilter,
    now: DateTime<Utc>,
) -> Result<Exported, ServiceError> {
    let query = filter.query(scope_of(reader)?);
    let (rows, names) = store::read(store, |tx| {
        let rows = tx.audit_rows(&query, 0, CSV_MAX_ROWS.saturating_add(1))?;
        let names = Names::of(tx, &rows)?;
        Ok::<_, ServiceError>((rows, names))
    })?;
    if rows.len() > CSV_MAX_ROWS as usize {
        return Ok(Exported::TooMany);
    }
    let bytes = to_csv(&rows, &names)?;
    store::write(store, |tx| {
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(reader.id),
            device: None,
            action: "console_export_audit".into(),
            target_kind: "audit".into(),
            target_id: filter.query_string(),
            code: None,
        })?;
        Ok::<_, ServiceError>(())
    })?;
    Ok(Exported::Csv(bytes))
}

/// `GET /console/audit.csv`: the rows of the page's filters (every page),
/// newest first. Audited as `console_export_audit`, with the filters as
/// the target.
pub async fn csv(
    State(state): State<ConsoleState>,
    signed: Signed,
    params: Result<Query<AuditParams>, QueryRejection>,
) -> Response {
    if scope_of(&signed.user).is_err() {
        return refused(&state, &signed).await;
    }
    let lang = signed.lang;
    let params = params.map(|Query(q)| q).unwrap_or_default();
    let filter = params.filter(lang.text());
    let store = state.store.clone();
    let reader = signed.user.clone();
    let now = state.clock.now();
    let built = blocking(move || export(store.as_ref(), &reader, &filter, now)).await;
    match built {
        Ok(Exported::Csv(bytes)) => {
            let mut response = (StatusCode::OK, bytes).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            );
            headers.insert(
                header::CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"audit.csv\""),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            response
        }
        Ok(Exported::TooMany) => failure(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.text().audit_too_many,
        ),
        Err(err) => app_failure(lang, &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_read_in_utc_plus_eight_and_the_last_one_is_whole() {
        let t = Lang::En.text();
        let params = AuditParams {
            from: "2026-03-02".into(),
            to: "2026-03-02".into(),
            ..AuditParams::default()
        };
        let query = params.filter(t).query(AuditScope::All);
        assert_eq!(
            query.from.unwrap().to_rfc3339(),
            "2026-03-01T16:00:00+00:00"
        );
        assert_eq!(query.to.unwrap().to_rfc3339(), "2026-03-02T16:00:00+00:00");
    }

    #[test]
    fn what_does_not_parse_is_dropped_and_bad_dates_are_named() {
        let t = Lang::En.text();
        let params = AuditParams {
            user: "nobody".into(),
            action: "<b>".into(),
            from: "soon".into(),
            to: "2026-02-30".into(),
            page: "-3".into(),
        };
        let filter = params.filter(t);
        assert_eq!(
            filter,
            AuditFilter {
                page: 1,
                bad_dates: vec!["from", "to"],
                ..AuditFilter::default()
            }
        );
        assert_eq!(filter.query_string(), "");
        assert_eq!(
            filter.query(AuditScope::All),
            AuditQuery::all(AuditScope::All)
        );
    }

    #[test]
    fn refused_attempts_are_every_row_with_a_code_and_refused_sign_ins() {
        let t = Lang::En.text();
        let params = AuditParams {
            action: "refused".into(),
            ..AuditParams::default()
        };
        let query = params.filter(t).query(AuditScope::All);
        assert_eq!(query.actions, vec!["sign_in_refused".to_owned()]);
        assert!(query.refused);
    }

    #[test]
    fn short_ids_keep_their_random_end() {
        assert_eq!(short("0195f3a2-7c41-7b00-8000-1234abcd5678"), "…abcd5678");
        assert_eq!(short("/console/x"), "/console/x");
    }
}
