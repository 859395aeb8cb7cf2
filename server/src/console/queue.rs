//! The review queue: the submitted visits of the supervisor's team, oldest
//! first, with filters by agent, outcome, submission date and flag, and how
//! many visits each filter choice would show.

use std::collections::HashMap;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{Case, OutcomeCode, UserId, Visit, VisitState};
use doorstep_core::report::{ReviewFlag, review_flags};
use serde::Deserialize;

use super::format::{Shown, local, show_time};
use super::i18n::{OUTCOMES, Text};
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
    /// The day the visit was (last) submitted, in the case's local time.
    pub fn submitted_day(&self) -> Option<NaiveDate> {
        self.visit
            .submitted_at
            .map(|at| local(at, self.case.utc_offset_minutes).date_naive())
    }
}

/// The filters of the queue, as given in the query string. Values that do not
/// parse are ignored (the filter is off), never an error.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct QueueQuery {
    /// An agent's user id (primary or partner).
    pub agent: String,
    /// An outcome code, or `none` for visits without an outcome.
    pub outcome: String,
    /// A review flag code.
    pub flag: String,
    /// First submission day, `YYYY-MM-DD`, inclusive.
    pub from: String,
    /// Last submission day, `YYYY-MM-DD`, inclusive.
    pub to: String,
}

/// The parsed filters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueFilter {
    /// Only visits this agent worked (as primary or partner).
    pub agent: Option<UserId>,
    /// Only visits with this outcome (`Some(None)`: without an outcome).
    pub outcome: Option<Option<OutcomeCode>>,
    /// Only visits with this flag.
    pub flag: Option<ReviewFlag>,
    /// Submitted on or after this day.
    pub from: Option<NaiveDate>,
    /// Submitted on or before this day.
    pub to: Option<NaiveDate>,
}

impl QueueQuery {
    /// The filters this query sets.
    pub fn filter(&self) -> QueueFilter {
        let outcome = match self.outcome.as_str() {
            "" => None,
            "none" => Some(None),
            code => OUTCOMES.into_iter().find(|o| o.code() == code).map(Some),
        };
        QueueFilter {
            agent: self.agent.parse().ok(),
            outcome,
            flag: ReviewFlag::from_code(&self.flag),
            from: self.from.parse().ok(),
            to: self.to.parse().ok(),
        }
    }
}

/// A filter's dimension, for the per-choice counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Agent,
    Outcome,
    Flag,
    Date,
}

impl QueueFilter {
    /// Whether `item` passes every filter except those of `skip`.
    fn admits(&self, item: &QueueItem, skip: Option<Facet>) -> bool {
        let visit = &item.visit;
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
        let day = item.submitted_day();
        let date_ok = skip == Some(Facet::Date)
            || (self.from.is_none_or(|from| day.is_some_and(|d| d >= from))
                && self.to.is_none_or(|to| day.is_some_and(|d| d <= to)));
        agent_ok && outcome_ok && flag_ok && date_ok
    }

    /// Whether `item` passes every filter.
    pub fn matches(&self, item: &QueueItem) -> bool {
        self.admits(item, None)
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
    /// The account reference, masked.
    pub case_ref: Shown,
    /// The customer's name.
    pub customer: Shown,
    /// The agent's user name.
    pub agent: Shown,
    /// The partner's user name, if any.
    pub partner: Option<Shown>,
    /// Outcome name.
    pub outcome: String,
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
    /// The visits shown.
    pub lines: Vec<QueueLine>,
    /// Submitted visits in the team, before filtering.
    pub total: usize,
}

/// `GET /console/queue`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<QueueQuery>, QueryRejection>,
) -> Response {
    let query = query.map(|Query(q)| q).unwrap_or_default();
    let store = state.store.clone();
    let supervisor = Access::of(&signed.user, None);
    let loaded = blocking(move || submitted_visits(store.as_ref(), &supervisor)).await;
    let (items, members) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(signed.lang, &err),
    };
    let page = build_page(&signed, &query, &items, &members);
    render(signed.lang, StatusCode::OK, &page)
}

fn build_page(
    signed: &Signed,
    query: &QueueQuery,
    items: &[QueueItem],
    members: &[UserRecord],
) -> QueuePage {
    let lang = signed.lang;
    let t = lang.text();
    let filter = query.filter();
    let names: HashMap<UserId, &str> = members
        .iter()
        .map(|m| (m.id, m.username.as_str()))
        .collect();
    let count = |skip: Facet, pick: &dyn Fn(&QueueItem) -> bool| {
        items
            .iter()
            .filter(|item| filter.admits(item, Some(skip)) && pick(item))
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
            selected: filter.agent == Some(member.id),
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
            selected: filter.outcome == Some(Some(code)),
        })
        .collect();
    outcomes.push(FilterOption {
        value: "none".into(),
        label: t.no_outcome.into(),
        count: count(Facet::Outcome, &|item| item.visit.outcome.is_none()),
        selected: filter.outcome == Some(None),
    });
    let flags = ReviewFlag::ALL
        .into_iter()
        .map(|flag| FilterOption {
            value: flag.code().to_owned(),
            label: t.flag(flag).to_owned(),
            count: count(Facet::Flag, &|item| item.flags.contains(&flag)),
            selected: filter.flag == Some(flag),
        })
        .collect();
    let lines = items
        .iter()
        .filter(|item| filter.matches(item))
        .map(|item| line(t, &names, item))
        .collect();
    QueuePage {
        chrome: signed.chrome(),
        agents,
        outcomes,
        flags,
        from: filter.from.map(|d| d.to_string()).unwrap_or_default(),
        to: filter.to.map(|d| d.to_string()).unwrap_or_default(),
        lines,
        total: items.len(),
    }
}

fn line(t: &Text, names: &HashMap<UserId, &str>, item: &QueueItem) -> QueueLine {
    let visit = &item.visit;
    let name = |id: UserId| Shown::line(names.get(&id).copied().unwrap_or(t.unknown));
    QueueLine {
        href: format!("/console/visits/{}", visit.id),
        submitted: visit
            .submitted_at
            .map(|at| show_time(at, item.case.utc_offset_minutes))
            .unwrap_or_default(),
        case_ref: Shown::line(&mask_national_id(&item.case.external_ref)),
        customer: Shown::line(&item.case.customer.name),
        agent: name(visit.agent),
        partner: visit.partner.map(name),
        outcome: visit
            .outcome
            .as_ref()
            .map_or(t.no_outcome, |o| t.outcome(o.code))
            .to_owned(),
        flags: item.flags.iter().map(|f| t.flag(*f)).collect(),
        round: visit.submissions,
    }
}
