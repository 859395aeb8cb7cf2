//! Finding visits: the filters, the text search, the sort and the pages the
//! visits list and the review queue share.
//!
//! Everything is decided on the team's visits as one read gave them
//! ([`super::queue::team_visits_in`]); a filter value that does not parse
//! turns its filter off, never an error. What a text search finds is the
//! core's rule ([`Case::matches_search`]), the same as the phone's case list,
//! plus the agents' user names.

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::case::OverdueBucket;
use doorstep_core::domain::{OutcomeCode, UserId, VisitState};
use doorstep_core::report::ReviewFlag;
use serde::Deserialize;

use super::i18n::{OUTCOMES, encode_query};
use super::queue::QueueItem;

/// The user names of a team's members, by id.
pub type Names = HashMap<UserId, String>;

/// The user name of `user`, or nothing if not a member.
pub fn name_of(names: &Names, user: UserId) -> &str {
    names.get(&user).map_or("", String::as_str)
}

/// Visits on one page of the list.
pub const PAGE_SIZE: usize = 50;

/// How long a submitted visit may wait for a decision before it is marked.
pub const WAITING_TOO_LONG: chrono::Duration = chrono::Duration::hours(24);

/// The filters, sort and page as given in a query string or a search form.
/// Values that do not parse are ignored (the filter is off), never an error.
/// The text search (`q`) is personal data (names, phone numbers): it is only
/// ever taken from a posted form, never from a URL.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct VisitQuery {
    /// An agent's user id (primary or partner).
    pub agent: String,
    /// An outcome code, or `none` for visits without an outcome.
    pub outcome: String,
    /// A review flag code.
    pub flag: String,
    /// A visit state code.
    pub state: String,
    /// An overdue band: `M1`, `M2` or `M3+`.
    pub bucket: String,
    /// First visit day, `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last visit day, `YYYY-MM-DD`, inclusive.
    pub to: String,
    /// Least overdue amount, in whole currency units.
    pub min_amount: String,
    /// Most overdue amount, in whole currency units.
    pub max_amount: String,
    /// The column to sort by ([`SortColumn::code`]).
    pub sort: String,
    /// `desc` for descending; ascending otherwise.
    pub dir: String,
    /// The page, from 1.
    pub page: String,
}

/// The bands of overdue buckets a supervisor filters by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverdueBand {
    /// 1–30 days past due.
    M1,
    /// 31–60 days past due.
    M2,
    /// More than 60 days past due.
    M3Plus,
}

impl OverdueBand {
    /// Every band, in the order they are offered.
    pub const ALL: [OverdueBand; 3] = [OverdueBand::M1, OverdueBand::M2, OverdueBand::M3Plus];

    /// The code in a query string, as the bank says it.
    pub fn code(self) -> &'static str {
        match self {
            OverdueBand::M1 => "M1",
            OverdueBand::M2 => "M2",
            OverdueBand::M3Plus => "M3+",
        }
    }

    /// The band of `code`, if it is one.
    pub fn from_code(code: &str) -> Option<OverdueBand> {
        OverdueBand::ALL.into_iter().find(|b| b.code() == code)
    }

    /// Whether a case in `bucket` is in this band.
    pub fn holds(self, bucket: OverdueBucket) -> bool {
        match self {
            OverdueBand::M1 => bucket == OverdueBucket::M1,
            OverdueBand::M2 => bucket == OverdueBucket::M2,
            OverdueBand::M3Plus => bucket >= OverdueBucket::M3,
        }
    }
}

/// The columns a list of visits sorts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortColumn {
    /// The visit's day ([`QueueItem::day`]), then its time.
    Day,
    /// How long a submitted visit has waited for a decision.
    Waiting,
    /// The account reference.
    Case,
    /// The customer's name.
    Customer,
    /// The primary agent's user name.
    Agent,
    /// The visit's state.
    State,
    /// The outcome.
    Outcome,
    /// The overdue amount.
    Amount,
    /// Days past due.
    DaysPastDue,
    /// The review round (submissions).
    Round,
}

impl SortColumn {
    /// Every column, in the order the list shows them.
    pub const ALL: [SortColumn; 10] = [
        SortColumn::Day,
        SortColumn::Waiting,
        SortColumn::Case,
        SortColumn::Customer,
        SortColumn::Agent,
        SortColumn::State,
        SortColumn::Outcome,
        SortColumn::Amount,
        SortColumn::DaysPastDue,
        SortColumn::Round,
    ];

    /// The code in a query string.
    pub fn code(self) -> &'static str {
        match self {
            SortColumn::Day => "day",
            SortColumn::Waiting => "waiting",
            SortColumn::Case => "case",
            SortColumn::Customer => "customer",
            SortColumn::Agent => "agent",
            SortColumn::State => "state",
            SortColumn::Outcome => "outcome",
            SortColumn::Amount => "amount",
            SortColumn::DaysPastDue => "dpd",
            SortColumn::Round => "round",
        }
    }

    /// The column of `code`, if it is one.
    pub fn from_code(code: &str) -> Option<SortColumn> {
        SortColumn::ALL.into_iter().find(|c| c.code() == code)
    }
}

/// The parsed filters, text search, sort and page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VisitSearch {
    /// Only visits this agent worked (as primary or partner).
    pub agent: Option<UserId>,
    /// Only visits with this outcome (`Some(None)`: without an outcome).
    pub outcome: Option<Option<OutcomeCode>>,
    /// Only visits with this flag.
    pub flag: Option<ReviewFlag>,
    /// Only visits in this state.
    pub state: Option<VisitState>,
    /// Only visits of cases in this overdue band.
    pub band: Option<OverdueBand>,
    /// On or after this day.
    pub from: Option<NaiveDate>,
    /// On or before this day.
    pub to: Option<NaiveDate>,
    /// Overdue amount at least this many minor units.
    pub min_amount: Option<i64>,
    /// Overdue amount at most this many minor units.
    pub max_amount: Option<i64>,
    /// Text the case or an agent's user name must contain (see the module).
    pub text: String,
    /// The sort column; `None` is each list's own order.
    pub sort: Option<SortColumn>,
    /// Descending.
    pub descending: bool,
    /// The page, from 1.
    pub page: usize,
}

/// A filter's dimension, for the per-choice counts: each choice is counted
/// with every other filter as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Facet {
    /// The agent filter.
    Agent,
    /// The outcome filter.
    Outcome,
    /// The flag filter.
    Flag,
    /// The state filter.
    State,
    /// The overdue band filter.
    Band,
}

/// Whole currency units as minor units (the bank's currencies have two
/// decimals), if the text is a whole non-negative amount.
fn amount(text: &str) -> Option<i64> {
    let units: i64 = text.trim().replace([',', ' '], "").parse().ok()?;
    (units >= 0).then(|| units.checked_mul(100)).flatten()
}

impl VisitQuery {
    /// What this query asks for, with `text` as the text search.
    pub fn search(&self, text: &str) -> VisitSearch {
        let outcome = match self.outcome.as_str() {
            "" => None,
            "none" => Some(None),
            code => OUTCOMES.into_iter().find(|o| o.code() == code).map(Some),
        };
        VisitSearch {
            agent: self.agent.parse().ok(),
            outcome,
            flag: ReviewFlag::from_code(&self.flag),
            state: VisitState::from_code(&self.state),
            band: OverdueBand::from_code(&self.bucket),
            from: self.from.parse().ok(),
            to: self.to.parse().ok(),
            min_amount: amount(&self.min_amount),
            max_amount: amount(&self.max_amount),
            text: crate::text::visible_line(text.trim()),
            sort: SortColumn::from_code(&self.sort),
            descending: self.dir == "desc",
            page: self.page.parse().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    }
}

impl VisitSearch {
    /// The visits of `items` the text search finds (all of them without
    /// text), in their order: the search is run once per visit, before the
    /// filters and their counts, which then work on what it found.
    pub fn found_by_text<'a>(&self, items: &'a [QueueItem], names: &Names) -> Vec<&'a QueueItem> {
        if self.text.is_empty() {
            return items.iter().collect();
        }
        let text = self.text.to_lowercase();
        items
            .iter()
            .filter(|item| {
                let visit = &item.visit;
                item.case.matches_search(&text)
                    || std::iter::once(visit.agent)
                        .chain(visit.partner)
                        .any(|user| name_of(names, user).to_lowercase().contains(&text))
            })
            .collect()
    }

    /// Whether `item` passes every filter except the one of `skip` (the text
    /// search is [`VisitSearch::found_by_text`]'s).
    pub fn admits(&self, item: &QueueItem, skip: Option<Facet>) -> bool {
        let visit = &item.visit;
        let case = &item.case;
        let agent_ok = skip == Some(Facet::Agent)
            || self
                .agent
                .is_none_or(|a| visit.agent == a || visit.partner == Some(a));
        let outcome_ok = skip == Some(Facet::Outcome)
            || self
                .outcome
                .is_none_or(|o| visit.outcome.as_ref().map(|x| x.code) == o);
        let flag_ok =
            skip == Some(Facet::Flag) || self.flag.is_none_or(|f| item.flags.contains(&f));
        let state_ok = skip == Some(Facet::State) || self.state.is_none_or(|s| visit.state == s);
        let band_ok = skip == Some(Facet::Band) || self.band.is_none_or(|b| b.holds(case.bucket()));
        let day = item.day();
        let date_ok =
            self.from.is_none_or(|from| day >= from) && self.to.is_none_or(|to| day <= to);
        let owed = case.overdue_amount.minor_units;
        let amount_ok = self.min_amount.is_none_or(|least| owed >= least)
            && self.max_amount.is_none_or(|most| owed <= most);
        agent_ok && outcome_ok && flag_ok && state_ok && band_ok && date_ok && amount_ok
    }

    /// The visits of `items` (what the text search found) that pass every
    /// filter, in this search's order (ties broken by visit id, so pages
    /// never overlap), with `now` for the waiting time.
    pub fn select<'a>(
        &self,
        items: &[&'a QueueItem],
        names: &Names,
        now: DateTime<Utc>,
    ) -> Vec<&'a QueueItem> {
        let mut found: Vec<&QueueItem> = items
            .iter()
            .copied()
            .filter(|item| self.admits(item, None))
            .collect();
        if let Some(column) = self.sort {
            found.sort_by(|a, b| {
                let order = compare(column, a, b, names, now).then(a.visit.id.cmp(&b.visit.id));
                if self.descending {
                    order.reverse()
                } else {
                    order
                }
            });
        }
        found
    }

    /// The page of `found` this search shows, and how many pages there are
    /// (at least 1). A page past the end shows the last one.
    pub fn page_of<'a, T>(&self, found: &'a [T]) -> (&'a [T], usize, usize) {
        let pages = found.len().div_ceil(PAGE_SIZE).max(1);
        let page = self.page.clamp(1, pages);
        let start = (page - 1) * PAGE_SIZE;
        let end = (start + PAGE_SIZE).min(found.len());
        (&found[start..end], page, pages)
    }
}

/// The URL of the list at `path` for `search` at `page`: codes only, never
/// the text searched for.
pub fn link(path: &str, search: &VisitSearch, page: usize) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    if let Some(agent) = search.agent {
        pairs.push(("agent", agent.to_string()));
    }
    if let Some(outcome) = search.outcome {
        pairs.push(("outcome", outcome.map_or("none", |o| o.code()).to_owned()));
    }
    if let Some(flag) = search.flag {
        pairs.push(("flag", flag.code().to_owned()));
    }
    if let Some(state) = search.state {
        pairs.push(("state", state.code().to_owned()));
    }
    if let Some(band) = search.band {
        pairs.push(("bucket", band.code().to_owned()));
    }
    if let Some(from) = search.from {
        pairs.push(("from", from.to_string()));
    }
    if let Some(to) = search.to {
        pairs.push(("to", to.to_string()));
    }
    if let Some(least) = search.min_amount {
        pairs.push(("min_amount", (least / 100).to_string()));
    }
    if let Some(most) = search.max_amount {
        pairs.push(("max_amount", (most / 100).to_string()));
    }
    if let Some(sort) = search.sort {
        pairs.push(("sort", sort.code().to_owned()));
        if search.descending {
            pairs.push(("dir", "desc".to_owned()));
        }
    }
    if page > 1 {
        pairs.push(("page", page.to_string()));
    }
    let query: Vec<String> = pairs
        .into_iter()
        .map(|(name, value)| format!("{name}={}", encode_query(&value)))
        .collect();
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", query.join("&"))
    }
}

/// How long `item` has waited for a decision at `now`, if it is submitted.
pub fn waiting(item: &QueueItem, now: DateTime<Utc>) -> Option<chrono::Duration> {
    (item.visit.state == VisitState::Submitted)
        .then_some(item.visit.submitted_at)
        .flatten()
        .map(|at| (now - at).max(chrono::Duration::zero()))
}

fn compare(
    column: SortColumn,
    a: &QueueItem,
    b: &QueueItem,
    names: &Names,
    now: DateTime<Utc>,
) -> Ordering {
    match column {
        SortColumn::Day => (a.day(), a.visit.submitted_at, a.visit.planned_for).cmp(&(
            b.day(),
            b.visit.submitted_at,
            b.visit.planned_for,
        )),
        SortColumn::Waiting => waiting(a, now).cmp(&waiting(b, now)),
        SortColumn::Case => a.case.external_ref.cmp(&b.case.external_ref),
        SortColumn::Customer => a.case.customer.name.cmp(&b.case.customer.name),
        SortColumn::Agent => name_of(names, a.visit.agent).cmp(name_of(names, b.visit.agent)),
        SortColumn::State => a.visit.state.code().cmp(b.visit.state.code()),
        SortColumn::Outcome => {
            let code = |item: &QueueItem| item.visit.outcome.as_ref().map(|o| o.code.code());
            code(a).cmp(&code(b))
        }
        SortColumn::Amount => a
            .case
            .overdue_amount
            .minor_units
            .cmp(&b.case.overdue_amount.minor_units),
        SortColumn::DaysPastDue => a.case.days_past_due.cmp(&b.case.days_past_due),
        SortColumn::Round => a.visit.submissions.cmp(&b.visit.submissions),
    }
}

#[cfg(test)]
#[path = "visit_search_tests.rs"]
mod tests;
