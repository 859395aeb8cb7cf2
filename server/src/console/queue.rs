//! The review queue: the submitted visits of the supervisor's team, oldest
//! first, with filters by agent, outcome, submission date and flag, and how
//! many visits each filter choice would show.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{Case, UserId, Visit, VisitState};
use doorstep_core::report::{ReviewFlag, review_flags};

use super::format::{Shown, local, show_time};
use super::i18n::{OUTCOMES, Text};
use super::visit_search::{
    Facet, Names, VisitQuery, VisitSearch, WAITING_TOO_LONG, link, name_of, waiting,
};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, render};
use crate::access::Access;
use crate::error::ServiceError;
use crate::service::summaries::fold;
use crate::store::{self, Store, UserRecord};

/// One submitted visit in the queue.
#[derive(Debug, Clone)]
pub struct QueueItem {
    /// The visit, folded from its admitted entries.
    pub visit: Visit,
    /// Its case.
    pub case: Case,
    /// What the supervisor should look at.
    pub flags: Vec<ReviewFlag>,
}

impl QueueItem {
    /// The visit's day, in the case's local time: the day it was (last)
    /// submitted; before that, the day of its check-in; before that, the day
    /// it is planned for.
    pub fn day(&self) -> NaiveDate {
        let visit = &self.visit;
        let at = visit
            .submitted_at
            .or(visit.check_in.as_ref().map(|check| check.at))
            .unwrap_or(visit.planned_for);
        local(at, self.case.utc_offset_minutes).date_naive()
    }
}

/// The submitted visits of `supervisor`'s team, oldest submission first, and
/// the team's members.
pub fn submitted_visits(
    store: &dyn Store,
    supervisor: &Access,
) -> Result<(Vec<QueueItem>, Vec<UserRecord>), ServiceError> {
    team_visits_in(store, supervisor, supervisor.user(), |state| {
        state == VisitState::Submitted
    })
}

/// The visits of `team` (a supervisor's id) whose state passes `keep` and
/// that `access` may read, flagged by the bank's policy in force, oldest
/// submission first (never submitted ones first), and the team's members.
///
/// One read: the team's visits with their cases and stored summaries
/// ([`crate::service::summaries`]); only a visit without a current summary
/// is folded from its log. Each case is checked by the access module.
pub fn team_visits_in(
    store: &dyn Store,
    access: &Access,
    team: UserId,
    keep: impl Fn(VisitState) -> bool,
) -> Result<(Vec<QueueItem>, Vec<UserRecord>), ServiceError> {
    store::read(store, |tx| {
        let policy = crate::service::policy::in_force(tx)?.policy;
        let members = tx.team_members(team)?;
        let mut items = Vec::new();
        for team_visit in tx.team_visit_summaries(team)? {
            if !access.may_read(&team_visit.case) {
                continue;
            }
            let visit = match team_visit.summary {
                Some(visit) => visit,
                None => match fold(tx, team_visit.record.id)? {
                    Some(history) => history.visit,
                    None => continue,
                },
            };
            if !keep(visit.state) {
                continue;
            }
            let case = team_visit.case.case;
            let flags = review_flags(&case, &visit, &policy);
            items.push(QueueItem { visit, case, flags });
        }
        items.sort_by_key(|item| (item.visit.submitted_at, item.visit.id));
        Ok((items, members))
    })
}

/// [`team_visits_in`] as it was before visits had summaries: every visit's
/// case read and its log folded, one by one. Kept as the baseline the
/// console benchmark measures the summaries against; the pages do not use it.
pub fn team_visits_refolded(
    store: &dyn Store,
    access: &Access,
    team: UserId,
    keep: impl Fn(VisitState) -> bool,
) -> Result<(Vec<QueueItem>, Vec<UserRecord>), ServiceError> {
    store::read(store, |tx| {
        let policy = crate::service::policy::in_force(tx)?.policy;
        let members = tx.team_members(team)?;
        let mut items = Vec::new();
        for record in tx.team_visits(team)? {
            let Some(case) = tx.case(record.case_id)? else {
                continue;
            };
            if !access.may_read(&case) {
                continue;
            }
            let Some(history) = fold(tx, record.id)? else {
                continue;
            };
            if !keep(history.visit.state) {
                continue;
            }
            let flags = review_flags(&case.case, &history.visit, &policy);
            items.push(QueueItem {
                visit: history.visit,
                case: case.case,
                flags,
            });
        }
        items.sort_by_key(|item| (item.visit.submitted_at, item.visit.id));
        Ok((items, members))
    })
}

/// One choice of a filter, with the number of visits it would show.
pub struct FilterOption {
    /// The query value.
    pub value: String,
    /// What people read.
    pub label: String,
    /// Visits it would show, with the other filters as they are.
    pub count: usize,
    /// Whether it is the current choice.
    pub selected: bool,
}

/// One line of the queue table.
pub struct QueueLine {
    /// Link to the report (ids only).
    pub href: String,
    /// Submission time, local to the case.
    pub submitted: String,
    /// The visit's day ([`QueueItem::day`]), `YYYY-MM-DD`.
    pub day: String,
    /// How long it has waited for a decision, if submitted.
    pub waiting: String,
    /// Whether it has waited longer than [`WAITING_TOO_LONG`].
    pub waiting_too_long: bool,
    /// The account reference, masked.
    pub case_ref: Shown,
    /// The customer's name.
    pub customer: Shown,
    /// The agent's user name.
    pub agent: Shown,
    /// The partner's user name, if any.
    pub partner: Option<Shown>,
    /// State name.
    pub state: String,
    /// Outcome name.
    pub outcome: String,
    /// The case's overdue amount.
    pub amount: String,
    /// The case's days past due.
    pub days_past_due: u32,
    /// The case's overdue bucket code.
    pub bucket: &'static str,
    /// Flag names.
    pub flags: Vec<&'static str>,
    /// Which submission this is.
    pub round: u32,
}

/// The queue page.
#[derive(askama::Template)]
#[template(path = "console/queue.html")]
pub struct QueuePage {
    /// Header and menu.
    pub chrome: Chrome,
    /// Agent choices.
    pub agents: Vec<FilterOption>,
    /// Outcome choices.
    pub outcomes: Vec<FilterOption>,
    /// Flag choices.
    pub flags: Vec<FilterOption>,
    /// The day filters as given (re-shown in the form).
    pub from: String,
    /// See `from`.
    pub to: String,
    /// The visits shown: one page.
    pub lines: Vec<QueueLine>,
    /// Submitted visits the filters give.
    pub found: usize,
    /// Submitted visits in the team, before filtering.
    pub total: usize,
    /// The page shown, from 1.
    pub page: usize,
    /// Pages in all.
    pub pages: usize,
    /// The pages near this one: number, link, whether it is this one.
    pub page_links: Vec<(usize, String, bool)>,
}

/// `GET /console/queue`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<VisitQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let store = state.store.clone();
    let supervisor = Access::of(&signed.user, None);
    let loaded = blocking(move || submitted_visits(store.as_ref(), &supervisor)).await;
    let (items, members) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let page = build_page(&signed, &query, &items, &members, state.clock.now());
    render(signed.lang, StatusCode::OK, &page)
}

/// The choices of the agent, outcome and flag filters, each with the number
/// of `items` it would show with the other filters of `search` as they are.
pub fn facet_choices(
    t: &Text,
    search: &VisitSearch,
    items: &[&QueueItem],
    members: &[UserRecord],
) -> (Vec<FilterOption>, Vec<FilterOption>, Vec<FilterOption>) {
    let count = |skip: Facet, pick: &dyn Fn(&QueueItem) -> bool| {
        items
            .iter()
            .filter(|item| search.admits(item, Some(skip)) && pick(item))
            .count()
    };
    let agents = members
        .iter()
        .map(|member| FilterOption {
            value: member.id.to_string(),
            label: crate::text::visible_line(&member.username),
            count: count(Facet::Agent, &|item| {
                item.visit.agent == member.id || item.visit.partner == Some(member.id)
            }),
            selected: search.agent == Some(member.id),
        })
        .collect();
    let mut outcomes: Vec<FilterOption> = OUTCOMES
        .into_iter()
        .map(|code| FilterOption {
            value: code.code().to_owned(),
            label: t.outcome(code).to_owned(),
            count: count(Facet::Outcome, &|item| {
                item.visit.outcome.as_ref().map(|o| o.code) == Some(code)
            }),
            selected: search.outcome == Some(Some(code)),
        })
        .collect();
    outcomes.push(FilterOption {
        value: "none".into(),
        label: t.no_outcome.into(),
        count: count(Facet::Outcome, &|item| item.visit.outcome.is_none()),
        selected: search.outcome == Some(None),
    });
    let flags = ReviewFlag::ALL
        .into_iter()
        .map(|flag| FilterOption {
            value: flag.code().to_owned(),
            label: t.flag(flag).to_owned(),
            count: count(Facet::Flag, &|item| item.flags.contains(&flag)),
            selected: search.flag == Some(flag),
        })
        .collect();
    (agents, outcomes, flags)
}

/// The user names of `members`, by id.
pub fn names_of(members: &[UserRecord]) -> Names {
    members.iter().map(|m| (m.id, m.username.clone())).collect()
}

fn build_page(
    signed: &Signed,
    query: &VisitQuery,
    items: &[QueueItem],
    members: &[UserRecord],
    now: DateTime<Utc>,
) -> QueuePage {
    let t = signed.lang.text();
    // The queue is every submitted visit, longest waiting first, a page at a
    // time; it has no text search (that is the visits list's).
    let search = VisitSearch {
        sort: None,
        ..query.search("")
    };
    let names = names_of(members);
    let items = search.found_by_text(items, &names);
    let (agents, outcomes, flags) = facet_choices(t, &search, &items, members);
    let found = search.select(&items, &names, now);
    let (shown, page, pages) = search.page_of(&found);
    let lines = shown
        .iter()
        .map(|item| line(t, &names, item, now))
        .collect();
    let page_links = if pages > 1 {
        let near: std::collections::BTreeSet<usize> = [1, pages]
            .into_iter()
            .chain(page.saturating_sub(2).max(1)..=(page + 2).min(pages))
            .collect();
        near.into_iter()
            .map(|p| (p, link("/console/queue", &search, p), p == page))
            .collect()
    } else {
        Vec::new()
    };
    QueuePage {
        chrome: signed.chrome(),
        agents,
        outcomes,
        flags,
        from: search.from.map(|d| d.to_string()).unwrap_or_default(),
        to: search.to.map(|d| d.to_string()).unwrap_or_default(),
        lines,
        found: found.len(),
        total: items.len(),
        page,
        pages,
        page_links,
    }
}

/// How long a visit has waited, in the page's words ("2 d 3 h", "45 min").
pub fn show_waiting(t: &Text, waited: chrono::Duration) -> String {
    let minutes = waited.num_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    if days > 0 {
        format!("{days}{}{hours}{}", t.unit_days, t.unit_hours)
    } else if hours > 0 {
        format!("{hours}{} {minutes}{}", t.unit_hours, t.unit_minutes)
    } else {
        format!("{minutes}{}", t.unit_minutes)
    }
}

/// One visit as a line of the queue or the visits list.
pub fn line(t: &Text, names: &Names, item: &QueueItem, now: DateTime<Utc>) -> QueueLine {
    let visit = &item.visit;
    let name = |id: UserId| {
        let known = name_of(names, id);
        Shown::line(if known.is_empty() { t.unknown } else { known })
    };
    let waited = waiting(item, now);
    QueueLine {
        href: format!("/console/visits/{}", visit.id),
        submitted: visit
            .submitted_at
            .map(|at| show_time(at, item.case.utc_offset_minutes))
            .unwrap_or_default(),
        day: item.day().to_string(),
        waiting: waited.map(|w| show_waiting(t, w)).unwrap_or_default(),
        waiting_too_long: waited.is_some_and(|w| w > WAITING_TOO_LONG),
        case_ref: Shown::line(&mask_national_id(&item.case.external_ref)),
        customer: Shown::line(&item.case.customer.name),
        agent: name(visit.agent),
        partner: visit.partner.map(name),
        state: t.state(visit.state).to_owned(),
        outcome: visit
            .outcome
            .as_ref()
            .map_or(t.no_outcome, |o| t.outcome(o.code))
            .to_owned(),
        amount: super::format::money(&item.case.overdue_amount),
        days_past_due: item.case.days_past_due,
        bucket: item.case.bucket().code(),
        flags: item.flags.iter().map(|f| t.flag(*f)).collect(),
        round: visit.submissions,
    }
}
