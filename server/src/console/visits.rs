//! The visits list: every visit of the supervisor's team that reached the
//! server, in every state (planned, under way, submitted, returned, approved,
//! cancelled), so that decided visits stay findable; searched, filtered,
//! sorted and shown a page at a time.
//!
//! Filters, sort and page travel in the URL as codes (`GET /console/visits`).
//! The text search holds personal data (a name, a phone number, the last
//! digits of an account), so it is only ever posted (`POST /console/visits`,
//! with the session's CSRF token), answered directly and never cached; every
//! control of a searched page posts the search again. A post without text is
//! sent back to the URL of its codes, which can be bookmarked.

use axum::Form;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use doorstep_core::domain::VisitState;
use serde::Deserialize;

use super::i18n::Text;
use super::queue::{
    FilterOption, QueueItem, QueueLine, facet_choices, line, names_of, team_visits_in,
};
use super::visit_search::{Facet, OverdueBand, SortColumn, VisitQuery, VisitSearch, link};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, render};
use crate::access::Access;
use crate::store::UserRecord;

/// The search form as posted: the codes of [`VisitQuery`], the text and the
/// session's CSRF token.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct SearchForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The text to search for.
    pub q: String,
    /// A heading's button on a searched page: `column.dir`, the sort asked for.
    pub sort_by: String,
    /// A page's button on a searched page: the page asked for.
    pub to_page: String,
    /// The filters, sort and page.
    #[serde(flatten)]
    pub query: VisitQuery,
}

impl SearchForm {
    /// The codes the form asks for, with a heading's or page's button applied.
    fn codes(mut self) -> (VisitQuery, String) {
        if let Some((column, dir)) = self.sort_by.split_once('.') {
            self.query.sort = column.to_owned();
            self.query.dir = dir.to_owned();
        }
        if !self.to_page.is_empty() {
            self.query.page = self.to_page;
        }
        (self.query, self.q)
    }
}

/// A sortable column heading.
pub struct SortHeading {
    /// The column's code.
    pub code: &'static str,
    /// Its name.
    pub label: &'static str,
    /// The direction a click asks for (`asc` or `desc`).
    pub next_dir: &'static str,
    /// `▲`, `▼` or nothing, for the current sort.
    pub mark: &'static str,
    /// The link that sorts by it (without a text search).
    pub href: String,
}

/// A link to another page of the list.
pub struct PageLink {
    /// The page number.
    pub page: usize,
    /// The link (without a text search).
    pub href: String,
    /// Whether it is the page shown.
    pub current: bool,
}

/// The visits list page.
#[derive(askama::Template)]
#[template(path = "console/visits.html")]
pub struct VisitsPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The text searched for, as shown in the form (empty if none).
    pub q: String,
    /// Agent choices.
    pub agents: Vec<FilterOption>,
    /// Outcome choices.
    pub outcomes: Vec<FilterOption>,
    /// Flag choices.
    pub flags: Vec<FilterOption>,
    /// State choices.
    pub states: Vec<FilterOption>,
    /// Overdue band choices.
    pub bands: Vec<FilterOption>,
    /// The day filters as given.
    pub from: String,
    /// See `from`.
    pub to: String,
    /// The amount filters as given.
    pub min_amount: String,
    /// See `min_amount`.
    pub max_amount: String,
    /// The current sort column's code and direction (hidden fields).
    pub sort: String,
    /// See `sort`.
    pub dir: String,
    /// The column headings.
    pub headings: Vec<SortHeading>,
    /// The visits on this page.
    pub lines: Vec<QueueLine>,
    /// Visits found by the search and filters.
    pub found: usize,
    /// Visits in the team, before searching.
    pub total: usize,
    /// The page shown, from 1.
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// Links to the pages (empty when there is one).
    pub page_links: Vec<PageLink>,
}

impl VisitsPage {
    /// Whether the page was searched by text (its controls then post).
    pub fn searched(&self) -> bool {
        !self.q.is_empty()
    }
}

/// `GET /console/visits`: the list by the codes in the URL, never a text search.
pub async fn list(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<VisitQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    respond(&state, signed, query, String::new()).await
}

/// `POST /console/visits`: a text search, answered directly and not cached;
/// without text, a redirect to the list's URL.
pub async fn search(
    State(state): State<ConsoleState>,
    signed: Signed,
    Form(form): Form<SearchForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let (query, q) = form.codes();
    if q.trim().is_empty() {
        let search = query.search("");
        return Redirect::to(&href(&search, search.page)).into_response();
    }
    respond(&state, signed, query, q).await
}

async fn respond(state: &ConsoleState, signed: Signed, query: VisitQuery, q: String) -> Response {
    let store = state.store.clone();
    let access = Access::of(&signed.user, None);
    let team = signed.user.id;
    let loaded = blocking(move || team_visits_in(store.as_ref(), &access, team, |_| true)).await;
    let (items, members) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let searched = !q.trim().is_empty();
    let page = build_page(&signed, &query, &q, &items, &members, state.clock.now());
    let mut response = render(signed.lang, StatusCode::OK, &page);
    if searched {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The list's URL for `search` at `page`, codes only (never the text).
pub fn href(search: &VisitSearch, page: usize) -> String {
    link("/console/visits", search, page)
}

fn column_label(t: &Text, column: SortColumn) -> &'static str {
    match column {
        SortColumn::Day => t.col_day,
        SortColumn::Waiting => t.col_waiting,
        SortColumn::Case => t.col_case,
        SortColumn::Customer => t.col_customer,
        SortColumn::Agent => t.col_agents,
        SortColumn::State => t.state,
        SortColumn::Outcome => t.col_outcome,
        SortColumn::Amount => t.overdue,
        SortColumn::DaysPastDue => t.days_past_due,
        SortColumn::Round => t.col_round,
    }
}

fn build_page(
    signed: &Signed,
    query: &VisitQuery,
    q: &str,
    items: &[QueueItem],
    members: &[UserRecord],
    now: DateTime<Utc>,
) -> VisitsPage {
    let t = signed.lang.text();
    let mut search = query.search(q);
    // Newest first unless asked otherwise, so today's work is on page 1.
    if search.sort.is_none() {
        search.sort = Some(SortColumn::Day);
        search.descending = true;
    }
    let names = names_of(members);
    let total = items.len();
    let items = search.found_by_text(items, &names);
    let (agents, outcomes, flags) = facet_choices(t, &search, &items, members);
    let count = |skip: Facet, pick: &dyn Fn(&QueueItem) -> bool| {
        items
            .iter()
            .filter(|item| search.admits(item, Some(skip)) && pick(item))
            .count()
    };
    let states = VisitState::ALL
        .into_iter()
        .map(|state| FilterOption {
            value: state.code().to_owned(),
            label: t.state(state).to_owned(),
            count: count(Facet::State, &|item| item.visit.state == state),
            selected: search.state == Some(state),
        })
        .collect();
    let bands = OverdueBand::ALL
        .into_iter()
        .map(|band| FilterOption {
            value: band.code().to_owned(),
            label: band.code().to_owned(),
            count: count(Facet::Band, &|item| band.holds(item.case.bucket())),
            selected: search.band == Some(band),
        })
        .collect();
    let found = search.select(&items, &names, now);
    let (shown, page, pages) = search.page_of(&found);
    let headings = SortColumn::ALL
        .into_iter()
        .map(|column| {
            let current = search.sort == Some(column);
            let next_desc = !(current && search.descending);
            let target = VisitSearch {
                sort: Some(column),
                descending: next_desc,
                ..search.clone()
            };
            SortHeading {
                code: column.code(),
                label: column_label(t, column),
                next_dir: if next_desc { "desc" } else { "asc" },
                mark: match (current, search.descending) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
                href: href(&target, 1),
            }
        })
        .collect();
    // The first and last pages and two either side of the one shown.
    let near: std::collections::BTreeSet<usize> = [1, pages]
        .into_iter()
        .chain(page.saturating_sub(2).max(1)..=(page + 2).min(pages))
        .collect();
    let page_links = if pages > 1 {
        near.into_iter()
            .map(|p| PageLink {
                page: p,
                href: href(&search, p),
                current: p == page,
            })
            .collect()
    } else {
        Vec::new()
    };
    let minimum = |minor: Option<i64>| minor.map(|m| (m / 100).to_string()).unwrap_or_default();
    VisitsPage {
        chrome: signed.chrome(),
        q: search.text.clone(),
        agents,
        outcomes,
        flags,
        states,
        bands,
        from: search.from.map(|d| d.to_string()).unwrap_or_default(),
        to: search.to.map(|d| d.to_string()).unwrap_or_default(),
        min_amount: minimum(search.min_amount),
        max_amount: minimum(search.max_amount),
        sort: search
            .sort
            .map(SortColumn::code)
            .unwrap_or_default()
            .to_owned(),
        dir: if search.descending { "desc" } else { "asc" }.to_owned(),
        headings,
        lines: shown
            .iter()
            .map(|item| line(t, &names, item, now))
            .collect(),
        found: found.len(),
        total,
        page,
        pages,
        page_links,
    }
}
