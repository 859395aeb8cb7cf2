//! The team dashboard: per day and per agent, the visits, the contact rate,
//! the promises to pay (count and amount) and the flagged visits, over the
//! last 7, 14 or 30 days, with two charts drawn on the server as SVG; per
//! agent and for the team, the share of the period's promises to pay that
//! were kept ([`crate::service::promises`]).
//!
//! A visit counts on the day of its check-in in the case's local time; visits
//! never checked in (planned, notified, cancelled) are not visits yet. A
//! two-person visit counts for both agents, and once in the totals.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{Duration, NaiveDate};
use doorstep_core::domain::{OutcomeCode, UserId, VisitState};
use serde::Deserialize;

use super::format::{Shown, local, money};
use super::i18n::Text;
use super::map::escape;
use super::queue::{QueueItem, team_visits_in};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, render};
use crate::access::Access;
use crate::service::promises;
use crate::store::{self, UserRecord};
use doorstep_core::domain::PromiseKeeping;
use doorstep_core::domain::promise::kept_rate;
use doorstep_core::money::Money;

/// The periods the dashboard offers, in days.
pub const PERIODS: [u32; 3] = [7, 14, 30];

/// What a set of visits adds up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Visits (checked in).
    pub visits: u32,
    /// Visits with an outcome recorded.
    pub with_outcome: u32,
    /// Visits whose outcome says the customer was met.
    pub met: u32,
    /// Visits ending in a promise to pay.
    pub promises: u32,
    /// Amount promised, in minor units per currency.
    pub promised: BTreeMap<String, i64>,
    /// Visits with at least one review flag.
    pub flagged: u32,
    /// How each promise to pay of these visits stands now.
    pub keepings: Vec<PromiseKeeping>,
}

impl Tally {
    fn add(&mut self, item: &QueueItem, keeping: Option<PromiseKeeping>) {
        self.visits += 1;
        self.keepings.extend(keeping);
        if let Some(outcome) = &item.visit.outcome {
            self.with_outcome += 1;
            if outcome.code.customer_met() {
                self.met += 1;
            }
            if outcome.code == OutcomeCode::PromiseToPay
                && let Some(promise) = &outcome.promise
            {
                self.promises += 1;
                let sum = self
                    .promised
                    .entry(promise.amount.currency.clone())
                    .or_insert(0);
                *sum = sum.saturating_add(promise.amount.minor_units);
            }
        }
        if !item.flags.is_empty() {
            self.flagged += 1;
        }
    }

    /// Met customers per visit with an outcome, in percent; `None` without outcomes.
    pub fn contact_rate(&self) -> Option<u32> {
        (self.with_outcome > 0)
            .then(|| (self.met * 100 + self.with_outcome / 2) / self.with_outcome)
    }

    /// The share of the decided promises that were kept ([`kept_rate`]), as
    /// shown: `50% (1/2)`, or `–` when none is decided.
    fn kept(&self) -> String {
        let decided = self.keepings.iter().filter(|k| k.is_decided()).count();
        let kept = self
            .keepings
            .iter()
            .filter(|k| **k == PromiseKeeping::Kept)
            .count();
        kept_rate(self.keepings.iter().copied())
            .map_or_else(|| "–".to_owned(), |r| format!("{r}% ({kept}/{decided})"))
    }

    fn amount(&self) -> String {
        if self.promised.is_empty() {
            return "–".into();
        }
        self.promised
            .iter()
            .map(|(currency, minor_units)| {
                money(&Money {
                    minor_units: *minor_units,
                    currency: currency.clone(),
                })
            })
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// The dashboard's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// Every day of the period, oldest first.
    pub days: Vec<(NaiveDate, Tally)>,
    /// Every team member, by user name.
    pub agents: Vec<(UserId, String, Tally)>,
    /// The whole period, each visit once.
    pub total: Tally,
}

/// Adds up `items` over the `days` days ending on `last_day`; `keepings`
/// says how each item's promise to pay stands (`None` without one), in the
/// same order.
pub fn summarize(
    items: &[QueueItem],
    keepings: &[Option<PromiseKeeping>],
    members: &[UserRecord],
    last_day: NaiveDate,
    days: u32,
) -> Dashboard {
    let first_day = last_day - Duration::days(i64::from(days.max(1)) - 1);
    let mut per_day: BTreeMap<NaiveDate, Tally> = BTreeMap::new();
    let mut day = first_day;
    while day <= last_day {
        per_day.insert(day, Tally::default());
        day += Duration::days(1);
    }
    let mut agents: Vec<(UserId, String, Tally)> = members
        .iter()
        .map(|m| (m.id, m.username.clone(), Tally::default()))
        .collect();
    let mut total = Tally::default();
    for (i, item) in items.iter().enumerate() {
        let Some(check_in) = &item.visit.check_in else {
            continue;
        };
        let day = local(check_in.at, item.case.utc_offset_minutes).date_naive();
        let Some(tally) = per_day.get_mut(&day) else {
            continue;
        };
        let keeping = keepings.get(i).copied().flatten();
        tally.add(item, keeping);
        total.add(item, keeping);
        for (id, _, tally) in &mut agents {
            if item.visit.agent == *id || item.visit.partner == Some(*id) {
                tally.add(item, keeping);
            }
        }
    }
    Dashboard {
        days: per_day.into_iter().collect(),
        agents,
        total,
    }
}

/// Visits and promises per day as vertical bars.
fn day_chart(t: &Text, days: &[(NaiveDate, Tally)]) -> String {
    let (width, height, left, bottom, top) = (640.0_f64, 220.0_f64, 34.0, 28.0, 14.0);
    let max = days.iter().map(|(_, d)| d.visits).max().unwrap_or(0).max(1);
    let plot_h = height - bottom - top;
    let slot = (width - left - 8.0) / days.len().max(1) as f64;
    let bar = (slot * 0.38).max(2.0);
    let y = |v: u32| top + plot_h - plot_h * f64::from(v) / f64::from(max);
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" class=\"chart\" \
         role=\"img\"><title>{}</title>\
         <line x1=\"{left}\" y1=\"{base:.1}\" x2=\"{width}\" y2=\"{base:.1}\" class=\"axis\"/>\
         <text x=\"{lx:.1}\" y=\"{ty:.1}\" class=\"tick\" text-anchor=\"end\">{max}</text>\
         <text x=\"{lx:.1}\" y=\"{base:.1}\" class=\"tick\" text-anchor=\"end\">0</text>",
        escape(t.chart_by_day),
        base = top + plot_h,
        lx = left - 4.0,
        ty = top + 4.0,
    );
    let label_every = days.len().div_ceil(10).max(1);
    for (i, (day, tally)) in days.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.1;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" class=\"bar-visits\">\
             <title>{day} · {} {}</title></rect>\
             <rect x=\"{:.1}\" y=\"{:.1}\" width=\"{bar:.1}\" height=\"{:.1}\" class=\"bar-promises\">\
             <title>{day} · {} {}</title></rect>",
            y(tally.visits),
            top + plot_h - y(tally.visits),
            tally.visits,
            escape(t.legend_visits),
            x + bar,
            y(tally.promises),
            top + plot_h - y(tally.promises),
            tally.promises,
            escape(t.legend_promises),
        );
        if i % label_every == 0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"middle\">{}</text>",
                x + bar,
                height - 10.0,
                day.format("%m-%d")
            );
        }
    }
    let _ = write!(
        svg,
        "<rect x=\"{left}\" y=\"2\" width=\"10\" height=\"10\" class=\"bar-visits\"/>\
         <text x=\"{:.1}\" y=\"11\" class=\"tick\">{}</text>\
         <rect x=\"{:.1}\" y=\"2\" width=\"10\" height=\"10\" class=\"bar-promises\"/>\
         <text x=\"{:.1}\" y=\"11\" class=\"tick\">{}</text></svg>",
        left + 14.0,
        escape(t.legend_visits),
        left + 120.0,
        left + 134.0,
        escape(t.legend_promises),
    );
    svg
}

/// Visits per agent as horizontal bars, with the contact rate.
fn agent_chart(t: &Text, agents: &[(UserId, String, Tally)]) -> String {
    let row = 26.0_f64;
    let (width, left) = (640.0_f64, 120.0);
    let height = row * agents.len().max(1) as f64 + 8.0;
    let max = agents
        .iter()
        .map(|(_, _, a)| a.visits)
        .max()
        .unwrap_or(0)
        .max(1);
    let span = width - left - 90.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" class=\"chart\" \
         role=\"img\"><title>{}</title>",
        escape(t.chart_by_agent)
    );
    for (i, (_, name, tally)) in agents.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let w = span * f64::from(tally.visits) / f64::from(max);
        let rate = tally
            .contact_rate()
            .map_or_else(|| "–".to_owned(), |r| format!("{r}%"));
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\" text-anchor=\"end\">{}</text>\
             <rect x=\"{left}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" class=\"bar-visits\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" class=\"tick\">{} · {}</text>",
            left - 6.0,
            y + 15.0,
            escape(&crate::text::visible_line(name)),
            row - 8.0,
            left + w + 6.0,
            y + 15.0,
            tally.visits,
            escape(&rate),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One line of a dashboard table.
pub struct DashboardLine {
    /// Day or agent (an agent's user name as typed, so shown as [`Shown`]).
    pub label: Shown,
    /// Visits.
    pub visits: u32,
    /// Contact rate.
    pub contact_rate: String,
    /// Promises to pay.
    pub promises: u32,
    /// Amount promised.
    pub amount: String,
    /// Flagged visits.
    pub flagged: u32,
    /// The share of decided promises that were kept.
    pub kept_rate: String,
}

fn line(label: &str, tally: &Tally) -> DashboardLine {
    DashboardLine {
        label: Shown::line(label),
        visits: tally.visits,
        contact_rate: tally
            .contact_rate()
            .map_or_else(|| "–".to_owned(), |r| format!("{r}%")),
        promises: tally.promises,
        amount: tally.amount(),
        flagged: tally.flagged,
        kept_rate: tally.kept(),
    }
}

/// The dashboard page.
#[derive(askama::Template)]
#[template(path = "console/dashboard.html")]
pub struct DashboardPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The period shown, in days.
    pub days: u32,
    /// The periods offered.
    pub periods: Vec<u32>,
    /// Per-day chart (SVG drawn here; numbers and escaped labels only).
    pub day_chart: String,
    /// Per-agent chart (idem).
    pub agent_chart: String,
    /// Per-day table, newest first.
    pub day_lines: Vec<DashboardLine>,
    /// Per-agent table.
    pub agent_lines: Vec<DashboardLine>,
    /// Totals.
    pub total: DashboardLine,
}

/// Query of the dashboard.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DashboardQuery {
    /// 7, 14 or 30; anything else shows 14.
    pub days: u32,
}

/// `GET /console/dashboard`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    query: Result<Query<DashboardQuery>, QueryRejection>,
) -> Response {
    let asked = query.map(|Query(q)| q.days).unwrap_or_default();
    let days = if PERIODS.contains(&asked) { asked } else { 14 };
    let store = state.store.clone();
    let supervisor = Access::of(&signed.user, None);
    let now = state.clock.now();
    let loaded = blocking(move || {
        let (items, members) =
            team_visits_in(store.as_ref(), &supervisor, supervisor.user(), |state| {
                state != VisitState::Cancelled
            })?;
        let visits: Vec<_> = items.iter().map(|i| (&i.visit, &i.case)).collect();
        let keepings = store::read(store.as_ref(), |tx| promises::keepings(tx, &visits, now))?;
        Ok((items, keepings, members))
    })
    .await;
    let (items, keepings, members) = match loaded {
        Ok(loaded) => loaded,
        Err(err) => return app_failure(signed.lang, &err),
    };
    // "Today" in the team's local time (its cases' offset), UTC without cases.
    let offset = items.first().map_or(0, |i| i.case.utc_offset_minutes);
    let today = local(now, offset).date_naive();
    let figures = summarize(&items, &keepings, &members, today, days);
    let t = signed.lang.text();
    let page = DashboardPage {
        chrome: signed.chrome(),
        days,
        periods: PERIODS.to_vec(),
        day_chart: day_chart(t, &figures.days),
        agent_chart: agent_chart(t, &figures.agents),
        day_lines: figures
            .days
            .iter()
            .rev()
            .map(|(day, tally)| line(&day.to_string(), tally))
            .collect(),
        agent_lines: figures
            .agents
            .iter()
            .map(|(_, name, tally)| line(name, tally))
            .collect(),
        total: line(t.total, &figures.total),
    };
    render(signed.lang, StatusCode::OK, &page)
}
