//! One case's page: the customer, the account, the overdue amount and days,
//! who it was assigned to and when, every visit with its outcome, the notices
//! given, each promise to pay and whether it was kept, the repayments, the
//! bank's decisions, and one timeline across all of it. A supervisor of the
//! case's team records the bank's decision here, and the feedback given to
//! the customer on an approved visit ([`crate::service::plans`]).
//!
//! Viewing the page is audited like a report; another team's case is not
//! found, and the attempt is audited too.

use std::collections::HashMap;

use axum::Form;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    Case, CaseDecision, CaseId, Feedback, NoticeChannel, PlanDecision, PromiseKeeping,
    PromiseToPay, Repayment, RepaymentPlan, UserId, Visit, VisitId, VisitState,
};
use doorstep_core::money::Money;
use serde::Deserialize;

use super::format::{Shown, money, show_time};
use super::i18n::Text;
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, render};
use crate::access::Access;
use crate::error::ServiceError;
use crate::service::plans::{self, DecisionRequest};
use crate::service::promises;
use crate::service::summaries::fold;
use crate::store::{self, AssignmentRecord, AuditRecord, Store};

/// What the page is made from, read in one transaction.
pub struct CaseFile {
    /// The case.
    pub case: Case,
    /// Its visits, folded, oldest planned first.
    pub visits: Vec<Visit>,
    /// The bank's decisions, oldest first.
    pub decisions: Vec<CaseDecision>,
    /// The account's repayments, oldest first.
    pub repayments: Vec<Repayment>,
    /// Who the case was assigned to, when and by whom, oldest first.
    pub assignments: Vec<AssignmentRecord>,
    /// User names of everyone the page names.
    pub names: HashMap<UserId, String>,
    /// Whether the reader may record decisions and feedback.
    pub may_decide: bool,
    /// Where the case is, from its latest visit as the phones see it
    /// ([`Case::status_after`]).
    pub status: doorstep_core::domain::CaseStatus,
}

/// Reads the case file of a case `access` may read; `None` if there is no
/// such case or it is another team's. The view, or its refusal, is audited.
pub fn read_case(
    store: &dyn Store,
    access: &Access,
    case_id: CaseId,
    now: DateTime<Utc>,
) -> Result<Option<CaseFile>, ServiceError> {
    let loaded = store::read(store, |tx| {
        let Some(record) = tx.case(case_id)? else {
            return Ok(Err(None));
        };
        if !access.may_read(&record) {
            return Ok(Err(Some(ServiceError::NotYourTeam)));
        }
        let mut visits = Vec::new();
        for visit in tx.case_visits(case_id)? {
            if let Some(history) = fold(tx, visit.id)? {
                visits.push(history.visit);
            }
        }
        visits.sort_by_key(|v| (v.planned_for, v.id));
        let decisions = tx.case_decisions(case_id)?;
        let repayments = tx.repayments(std::slice::from_ref(&record.case.external_ref))?;
        let assignments = tx.case_assignments(case_id)?;
        let mut names = HashMap::new();
        if let Some(team) = record.supervisor {
            for member in tx.team_members(team)? {
                names.insert(member.id, member.username);
            }
        }
        let mut others: Vec<UserId> = decisions.iter().map(|d| d.decided_by).collect();
        others.extend(
            visits
                .iter()
                .flat_map(|v| v.reviews.iter().map(|r| r.reviewer)),
        );
        for assignment in &assignments {
            others.extend(
                [assignment.primary]
                    .into_iter()
                    .chain(assignment.partner)
                    .chain(assignment.supervisor)
                    .chain(assignment.by),
            );
        }
        others.extend(record.supervisor);
        for id in others {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id)
                && let Some(user) = tx.user(id)?
            {
                slot.insert(user.username);
            }
        }
        let status = match plans::latest_visit(tx, case_id)? {
            Some((id, state)) => record.case.status_after(id, state),
            None => record.case.status,
        };
        Ok::<_, ServiceError>(Ok(CaseFile {
            status,
            may_decide: access.may_review(&record),
            case: record.case,
            visits,
            decisions,
            repayments,
            assignments,
            names,
        }))
    })?;
    let refusal = match &loaded {
        Ok(_) => None,
        Err(None) => return Ok(None),
        Err(Some(refused)) => Some(refused.code()),
    };
    store::write(store, |tx| {
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(access.user()),
            device: None,
            action: "console_view_case".into(),
            target_kind: "case".into(),
            target_id: case_id.to_string(),
            code: refusal.map(str::to_owned),
        })
    })?;
    Ok(loaded.ok())
}

/// A promise to pay, with how it stands.
pub struct PromiseLine {
    /// Who promised it where: the visit's day, or "decision".
    pub made_on: String,
    /// Amount.
    pub amount: String,
    /// Due date.
    pub due_on: String,
    /// Kept, partly kept, broken or pending, in words.
    pub keeping: &'static str,
    /// The keeping's code, for styling.
    pub code: &'static str,
}

/// One visit of the case.
pub struct CaseVisitLine {
    /// Link to its report.
    pub href: String,
    /// Its id, for the decision form.
    pub id: String,
    /// Planned for.
    pub planned: String,
    /// State.
    pub state: &'static str,
    /// Outcome.
    pub outcome: &'static str,
    /// Agents.
    pub agents: Shown,
    /// Submissions.
    pub round: u32,
    /// Feedback already given, one line each.
    pub feedback: Vec<Shown>,
    /// Whether feedback may be recorded (approved, and the reader decides).
    pub takes_feedback: bool,
}

/// One line of a case's assignment history.
pub struct AssignmentLine {
    /// When, in the case's offset.
    pub at: String,
    /// First assignment or a reassignment.
    pub what: &'static str,
    /// The agent, and the partner after a `+`.
    pub agents: Shown,
    /// The supervisor of the team the case went to.
    pub team: Option<Shown>,
    /// Who assigned it.
    pub by: Shown,
}

/// The case page.
#[derive(askama::Template)]
#[template(path = "console/case.html")]
pub struct CasePage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The case's id.
    pub case_id: String,
    /// A notice after a decision or feedback.
    pub flash: Option<&'static str>,
    /// Facts about the customer and the account.
    pub facts: Vec<(&'static str, Shown)>,
    /// Assignment history, oldest first.
    pub assignments: Vec<AssignmentLine>,
    /// The visits.
    pub visits: Vec<CaseVisitLine>,
    /// Notices given: time, channel, acknowledged.
    pub notices: Vec<(String, &'static str, &'static str)>,
    /// Promises to pay.
    pub promises: Vec<PromiseLine>,
    /// Repayments: day, amount.
    pub repayments: Vec<(String, String)>,
    /// Decisions: time, by whom, what, note.
    pub decisions: Vec<(String, Shown, String, Shown)>,
    /// Everything in time order: time, what.
    pub timeline: Vec<(String, String)>,
    /// Whether the forms are shown.
    pub may_decide: bool,
    /// Decision kinds: code, name.
    pub kinds: Vec<(&'static str, &'static str)>,
    /// Feedback channels: code, name.
    pub channels: Vec<(&'static str, &'static str)>,
    /// The case's currency.
    pub currency: String,
}

/// What a decision says, in the page's words.
pub fn decision_text(t: &Text, decision: &PlanDecision) -> String {
    let name = t.decision_name(decision.code());
    match decision {
        PlanDecision::InstalmentPlan { plan } => format!(
            "{name}: {} × {}, {} {}",
            plan.instalments,
            money(&plan.instalment_amount),
            t.first_due,
            plan.first_due_on
        ),
        PlanDecision::PromiseFollowUp { promise } => {
            format!(
                "{name}: {} {} {}",
                money(&promise.amount),
                t.due_by,
                promise.due_on
            )
        }
        PlanDecision::HardshipDeferral { until } => format!("{name}: {} {until}", t.until),
        PlanDecision::ScheduleVisit { on } => format!("{name}: {on}"),
        PlanDecision::EscalateToLegal | PlanDecision::CloseNotContactable => name.to_owned(),
    }
}

fn channel_code(channel: NoticeChannel) -> &'static str {
    match channel {
        NoticeChannel::PhoneCall => "phone_call",
        NoticeChannel::Sms => "sms",
        NoticeChannel::Letter => "letter",
        NoticeChannel::InPerson => "in_person",
    }
}

const CHANNELS: [NoticeChannel; 4] = [
    NoticeChannel::PhoneCall,
    NoticeChannel::Sms,
    NoticeChannel::Letter,
    NoticeChannel::InPerson,
];

fn build(
    signed: &Signed,
    file: &CaseFile,
    now: DateTime<Utc>,
    flash: Option<&'static str>,
) -> CasePage {
    let t = signed.lang.text();
    let case = &file.case;
    let offset = case.utc_offset_minutes;
    let name = |id: UserId| Shown::line(file.names.get(&id).map_or(t.unknown, String::as_str));
    let today = case.local_day(now);
    let mut facts = vec![
        (t.customer, Shown::line(&case.customer.name)),
        (
            t.account_ref,
            Shown::line(&mask_national_id(&case.external_ref)),
        ),
        (t.product, Shown::line(&case.product)),
        (t.overdue, Shown::line(&money(&case.overdue_amount))),
        (
            t.days_past_due,
            Shown::line(&format!(
                "{} ({})",
                case.days_past_due,
                case.bucket().code()
            )),
        ),
        (t.due_date, Shown::line(&case.due_date.to_string())),
        (
            t.case_status,
            Shown::line(t.case_status_name(case.status.code())),
        ),
        (t.agents, {
            let mut agents = name(case.assigned.primary).to_string();
            if let Some(partner) = case.assigned.partner {
                agents.push_str(" + ");
                agents.push_str(name(partner).as_str());
            }
            Shown::line(&agents)
        }),
    ];
    if let Some(address) = case.registered_address() {
        facts.insert(1, (t.registered_address, Shown::line(&address.text)));
    }
    let assignments = file
        .assignments
        .iter()
        .enumerate()
        .map(|(i, assignment)| {
            let mut agents = name(assignment.primary).to_string();
            if let Some(partner) = assignment.partner {
                agents.push_str(" + ");
                agents.push_str(name(partner).as_str());
            }
            AssignmentLine {
                at: show_time(assignment.at, offset),
                what: if i == 0 {
                    t.case_first_assigned
                } else {
                    t.case_reassigned
                },
                agents: Shown::line(&agents),
                team: assignment.supervisor.map(name),
                by: assignment
                    .by
                    .map_or_else(|| Shown::line(t.by_server_admin), name),
            }
        })
        .collect();
    let mut timeline: Vec<(DateTime<Utc>, String)> = Vec::new();
    let mut notices = Vec::new();
    let mut promises: Vec<PromiseLine> = Vec::new();
    let promise_line = |made: String, promise: &PromiseToPay, made_on: NaiveDate| {
        let keeping = PromiseKeeping::of(promise, made_on, &file.repayments, today);
        PromiseLine {
            made_on: made,
            amount: money(&promise.amount),
            due_on: promise.due_on.to_string(),
            keeping: t.keeping(keeping),
            code: keeping.code(),
        }
    };
    let visits = file
        .visits
        .iter()
        .map(|visit| {
            let day = case.local_day(visit.planned_for);
            timeline.push((
                visit.planned_for,
                format!("{} · {}", t.kind("planned"), day),
            ));
            for notice in &visit.notices {
                timeline.push((
                    notice.given_at,
                    format!("{} · {}", t.notice, t.channel(notice.channel)),
                ));
                notices.push((
                    show_time(notice.given_at, offset),
                    t.channel(notice.channel),
                    if notice.acknowledged { t.yes } else { t.no },
                ));
            }
            if let Some(check) = &visit.check_in {
                timeline.push((check.at, t.check_in.to_owned()));
            }
            if let Some(at) = visit.submitted_at {
                timeline.push((
                    at,
                    format!(
                        "{} · {} {}",
                        t.kind("submitted"),
                        t.submissions,
                        visit.submissions
                    ),
                ));
            }
            if let (Some(promise), Some(made_on)) =
                (promises::promise_of(visit), promises::made_on(visit, case))
            {
                promises.push(promise_line(made_on.to_string(), promise, made_on));
            }
            for review in &visit.reviews {
                let what = match review.decision {
                    doorstep_core::domain::ReviewDecision::Approve => t.approved,
                    doorstep_core::domain::ReviewDecision::Return { .. } => t.returned,
                };
                timeline.push((
                    review.decided_at,
                    format!("{what} · {}", name(review.reviewer)),
                ));
            }
            for feedback in &visit.feedback {
                timeline.push((
                    feedback.delivered_at,
                    format!("{} · {}", t.feedback_given, t.channel(feedback.channel)),
                ));
            }
            let mut agents = name(visit.agent).to_string();
            if let Some(partner) = visit.partner {
                agents.push_str(" + ");
                agents.push_str(name(partner).as_str());
            }
            CaseVisitLine {
                href: format!("/console/visits/{}", visit.id),
                id: visit.id.to_string(),
                planned: show_time(visit.planned_for, offset),
                state: t.state(visit.state),
                outcome: visit
                    .outcome
                    .as_ref()
                    .map_or(t.no_outcome, |o| t.outcome(o.code)),
                agents: Shown::line(&agents),
                round: visit.submissions,
                feedback: visit
                    .feedback
                    .iter()
                    .map(|f| {
                        Shown::text(&format!(
                            "{} · {} · {}{}",
                            show_time(f.delivered_at, offset),
                            t.channel(f.channel),
                            f.summary,
                            if f.customer_confirmed {
                                format!(" ({})", t.customer_confirmed)
                            } else {
                                String::new()
                            }
                        ))
                    })
                    .collect(),
                takes_feedback: file.may_decide && visit.state == VisitState::Approved,
            }
        })
        .collect();
    let decisions = file
        .decisions
        .iter()
        .map(|d| {
            let text = decision_text(t, &d.decision);
            timeline.push((d.decided_at, format!("{} · {text}", t.bank_decision)));
            if let PlanDecision::PromiseFollowUp { promise } = &d.decision {
                let made_on = case.local_day(d.decided_at);
                promises.push(promise_line(
                    format!("{} {made_on}", t.bank_decision),
                    promise,
                    made_on,
                ));
            }
            (
                show_time(d.decided_at, offset),
                name(d.decided_by),
                text,
                Shown::text(&d.note),
            )
        })
        .collect();
    let repayments = file
        .repayments
        .iter()
        .map(|r| (r.paid_on.to_string(), money(&r.amount)))
        .collect();
    for r in &file.repayments {
        if let Some(at) = r.paid_on.and_hms_opt(12, 0, 0) {
            timeline.push((
                at.and_utc(),
                format!("{} · {}", t.repayment, money(&r.amount)),
            ));
        }
    }
    timeline.sort_by_key(|(at, _)| *at);
    CasePage {
        chrome: signed.chrome(),
        case_id: case.id.to_string(),
        flash,
        facts,
        assignments,
        visits,
        notices,
        promises,
        repayments,
        decisions,
        timeline: timeline
            .into_iter()
            .map(|(at, what)| (show_time(at, offset), what))
            .collect(),
        may_decide: file.may_decide && case.status != doorstep_core::domain::CaseStatus::Closed,
        kinds: PlanDecision::CODES
            .into_iter()
            .map(|code| (code, t.decision_name(code)))
            .collect(),
        channels: CHANNELS
            .into_iter()
            .map(|c| (channel_code(c), t.channel(c)))
            .collect(),
        currency: case.overdue_amount.currency.clone(),
    }
}

/// After a decision or feedback.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CaseQuery {
    /// `decision` or `feedback`.
    pub saved: String,
}

type CasePath = Result<Path<CaseId>, PathRejection>;

/// `GET /console/cases/{case_id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    case_id: CasePath,
    query: Result<Query<CaseQuery>, QueryRejection>,
) -> Response {
    let lang = signed.lang;
    let Ok(Path(case_id)) = case_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let access = Access::of(&signed.user, None);
    let loaded = blocking(move || read_case(store.as_ref(), &access, case_id, now)).await;
    let file = match loaded {
        Ok(Some(file)) => file,
        Ok(None) => return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found),
        Err(err) => return app_failure(lang, &err),
    };
    let flash = match query.ok().map(|Query(q)| q.saved).as_deref() {
        Some("decision") => Some(lang.text().decision_recorded),
        Some("feedback") => Some(lang.text().feedback_recorded),
        _ => None,
    };
    render(lang, StatusCode::OK, &build(&signed, &file, now, flash))
}

/// The decision form.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct DecisionForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// The decision's code ([`PlanDecision::CODES`]).
    pub kind: String,
    /// The visit it follows (may be empty).
    pub after_visit: String,
    /// An amount in whole or decimal currency units (instalment, promise).
    pub amount: String,
    /// Instalments.
    pub months: String,
    /// A day `YYYY-MM-DD` (first instalment, promise due, deferral end, next visit).
    pub date: String,
    /// The note.
    pub note: String,
}

/// An amount typed in currency units (`1250`, `1,250.50`) as minor units.
fn minor_units(text: &str) -> Option<i64> {
    let text = text.trim().replace(',', "");
    let (whole, cents) = match text.split_once('.') {
        Some((whole, cents)) if cents.len() <= 2 && cents.chars().all(|c| c.is_ascii_digit()) => {
            (whole, format!("{cents:0<2}"))
        }
        Some(_) => return None,
        None => (text.as_str(), "00".to_owned()),
    };
    if whole.is_empty() || !whole.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(cents.parse().ok()?)
}

impl DecisionForm {
    /// The decision the form describes in `currency`, or `None` if a field it
    /// needs is missing or unreadable.
    fn decision(&self, currency: &str) -> Option<PlanDecision> {
        let date = || self.date.trim().parse::<NaiveDate>().ok();
        let amount = || {
            Some(Money {
                minor_units: minor_units(&self.amount)?,
                currency: currency.to_owned(),
            })
        };
        Some(match self.kind.as_str() {
            "instalment_plan" => PlanDecision::InstalmentPlan {
                plan: RepaymentPlan {
                    instalments: self.months.trim().parse().ok()?,
                    instalment_amount: amount()?,
                    first_due_on: date()?,
                },
            },
            "promise_follow_up" => PlanDecision::PromiseFollowUp {
                promise: PromiseToPay {
                    amount: amount()?,
                    due_on: date()?,
                },
            },
            "hardship_deferral" => PlanDecision::HardshipDeferral { until: date()? },
            "schedule_visit" => PlanDecision::ScheduleVisit { on: date()? },
            "escalate_to_legal" => PlanDecision::EscalateToLegal,
            "close_not_contactable" => PlanDecision::CloseNotContactable,
            _ => return None,
        })
    }
}

fn to_case(case_id: CaseId, saved: &str) -> Response {
    Redirect::to(&format!("/console/cases/{case_id}?saved={saved}")).into_response()
}

/// `POST /console/cases/{case_id}/decide`.
pub async fn decide(
    State(state): State<ConsoleState>,
    signed: Signed,
    case_id: CasePath,
    Form(form): Form<DecisionForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let lang = signed.lang;
    let Ok(Path(case_id)) = case_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let decided = blocking(move || {
        let currency = store::read(store.as_ref(), |tx| {
            Ok::<_, ServiceError>(tx.case(case_id)?)
        })?
        .map_or_else(|| "CNY".to_owned(), |r| r.case.overdue_amount.currency);
        let Some(decision) = form.decision(&currency) else {
            return Err(ServiceError::InvalidDecision(
                doorstep_core::domain::DecisionError::Incomplete,
            ));
        };
        let after_visit = match form.after_visit.trim() {
            "" => None,
            id => Some(
                id.parse::<VisitId>()
                    .map_err(|_| ServiceError::InvalidVisitId)?,
            ),
        };
        plans::decide(
            store.as_ref(),
            &user,
            DecisionRequest {
                case_id,
                after_visit,
                decision,
                note: form.note.trim().to_owned(),
            },
            now,
        )
    })
    .await;
    match decided {
        Ok(_) => to_case(case_id, "decision"),
        Err(err) => app_failure(lang, &err),
    }
}

/// The feedback form of an approved visit.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FeedbackForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// `phone_call`, `sms`, `letter` or `in_person`.
    pub channel: String,
    /// When, `YYYY-MM-DDTHH:MM` in the case's local time.
    pub delivered_at: String,
    /// What was told.
    pub summary: String,
    /// `on` when the customer confirmed.
    pub customer_confirmed: String,
}

type VisitPath = Result<Path<VisitId>, PathRejection>;

/// `POST /console/visits/{visit_id}/feedback`.
pub async fn feedback(
    State(state): State<ConsoleState>,
    signed: Signed,
    visit_id: VisitPath,
    Form(form): Form<FeedbackForm>,
) -> Response {
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let lang = signed.lang;
    let Ok(Path(visit_id)) = visit_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let recorded = blocking(move || {
        let case = store::read(store.as_ref(), |tx| {
            let Some(visit) = tx.visit(visit_id)? else {
                return Ok::<_, ServiceError>(None);
            };
            Ok(tx.case(visit.case_id)?.map(|r| r.case))
        })?
        .ok_or(ServiceError::NotFound(crate::error::Missing::Visit))?;
        let channel = CHANNELS
            .into_iter()
            .find(|c| channel_code(*c) == form.channel);
        let delivered_at =
            NaiveDateTime::parse_from_str(form.delivered_at.trim(), "%Y-%m-%dT%H:%M")
                .ok()
                .and_then(|local| {
                    let offset = chrono::FixedOffset::east_opt(case.utc_offset_minutes * 60)?;
                    local.and_local_timezone(offset).single()
                })
                .map(|at| at.with_timezone(&Utc));
        let (Some(channel), Some(delivered_at)) = (channel, delivered_at) else {
            return Err(ServiceError::InvalidFeedback(
                doorstep_core::domain::review::ReviewError::IncompleteFeedback,
            ));
        };
        plans::record_feedback(
            store.as_ref(),
            &user,
            visit_id,
            Feedback {
                channel,
                delivered_at,
                summary: form.summary.trim().to_owned(),
                customer_confirmed: form.customer_confirmed == "on",
            },
            now,
        )
        .map(|_| case.id)
    })
    .await;
    match recorded {
        Ok(case_id) => to_case(case_id, "feedback"),
        Err(err) => app_failure(lang, &err),
    }
}
