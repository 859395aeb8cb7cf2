//! The visit report page: the case (identifiers masked), notices, check-in and
//! check-out with a server-drawn map, flags, checklist answers labelled from
//! the template version the visit used, notes, photos, outcome, the event log
//! check and earlier review rounds; and, while the visit awaits review, the
//! decision forms. Every view is written to the audit log (ids only).

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::clock::Hlc;
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    AttachmentKind, ReviewDecision, SiteCheck, UserId, VisitChange, VisitHistory, VisitId,
    VisitState,
};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::Policy;
use doorstep_core::report::{LogVerification, VisitReport, review_flags};
use serde::Deserialize;

use super::format::{Shown, answer_text, money, show_time};
use super::i18n::Text;
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, failure, map, render};
use crate::access::Access;
use crate::error::ServiceError;
use crate::store::{self, AuditRecord, CaseRecord, Store, StoreTx, StoredEntry};

/// A visit the signed-in user may read, with everything its report needs.
pub struct TeamVisit {
    /// The assembled report.
    pub report: VisitReport,
    /// User names of the team and of whoever else appears (by id).
    pub names: HashMap<UserId, String>,
    /// The template the visit used, if the server has it.
    pub template: Option<ChecklistTemplate>,
    /// What the agent changed after the latest return, in clock order (`None`
    /// when the visit was never returned).
    pub since_return: Option<Vec<VisitChange>>,
    /// Whether the user may approve or return it ([`Access::may_review`]).
    pub may_review: bool,
    /// Changes a partner's phone made after the other's step moved the visit
    /// on: kept, moving nothing but the addenda
    /// ([`doorstep_core::domain::Applied::Late`]).
    pub late: Vec<VisitChange>,
    /// The bank's policy in force, that the flags are judged by.
    pub policy: Policy,
    /// How the visit's promise to pay stands against the account's
    /// repayments ([`crate::service::promises`]), if it has one.
    pub promise_keeping: Option<doorstep_core::domain::PromiseKeeping>,
}

/// The admitted changes stamped after the latest return of the visit, in
/// clock order; `None` if it was never returned.
pub fn changes_since_return(entries: &[StoredEntry]) -> Option<Vec<VisitChange>> {
    let mut changes: Vec<(Hlc, VisitChange)> = entries
        .iter()
        .filter(|stored| stored.rejected.is_none())
        .filter_map(|stored| {
            let change = serde_json::from_str(&stored.entry.payload).ok()?;
            Some((stored.entry.hlc, change))
        })
        .collect();
    changes.sort_by_key(|(stamp, _)| *stamp);
    let last_return = changes.iter().rposition(|(_, change)| {
        matches!(
            change,
            VisitChange::Reviewed { review } if matches!(review.decision, ReviewDecision::Return { .. })
        )
    })?;
    Some(
        changes
            .into_iter()
            .skip(last_return + 1)
            .map(|(_, change)| change)
            .collect(),
    )
}

/// A visit as the console finds it for a user.
pub enum Found<T> {
    /// The user may read it.
    Readable(T),
    /// It exists, but the user may not have it (another team's visit, say):
    /// answered like [`Found::Missing`], and audited with the refusal's code.
    Refused(ServiceError),
    /// No such visit.
    Missing,
}

/// A visit's fold, its stored entries (refused ones included: they keep
/// their chain place) and its case.
pub type LoadedVisit = (VisitHistory, Vec<StoredEntry>, CaseRecord);

/// Loads a visit if `access` may read it ([`Access::may_read`]), reading its
/// log once.
pub fn readable_visit(
    tx: &dyn StoreTx,
    access: &Access,
    visit_id: VisitId,
) -> Result<Found<LoadedVisit>, ServiceError> {
    let Some(record) = tx.visit(visit_id)? else {
        return Ok(Found::Missing);
    };
    let Some(case) = tx.case(record.case_id)? else {
        return Ok(Found::Missing);
    };
    if !access.may_read(&case) {
        return Ok(Found::Refused(ServiceError::NotYourTeam));
    }
    let stored = tx.visit_entries(visit_id)?;
    let admitted: Vec<LogEntry> = stored
        .iter()
        .filter(|entry| entry.rejected.is_none())
        .map(|entry| entry.entry.clone())
        .collect();
    let Ok(history) = VisitHistory::fold(visit_id, &admitted) else {
        return Ok(Found::Missing);
    };
    Ok(Found::Readable((history, stored, case)))
}

/// Writes a console view of a visit, or its refusal with its code, to the
/// audit log.
pub fn audit_view(
    store: &dyn Store,
    access: &Access,
    action: &str,
    visit_id: VisitId,
    refused: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(access.user()),
            device: None,
            action: action.into(),
            target_kind: "visit".into(),
            target_id: visit_id.to_string(),
            code: refused.map(str::to_owned),
        })?;
        Ok::<_, ServiceError>(())
    })
}

/// Loads the report of a visit `access` may read and writes the view to the
/// audit log (as `console_view_visit`); `None` if there is no such visit or
/// it is another team's (that refusal is audited too).
pub fn view(
    store: &dyn Store,
    access: Access,
    visit_id: VisitId,
    now: DateTime<Utc>,
) -> Result<Option<TeamVisit>, ServiceError> {
    view_as(store, access, visit_id, now, "console_view_visit")
}

/// [`view`], audited as `action` (the print view has its own).
pub fn view_as(
    store: &dyn Store,
    access: Access,
    visit_id: VisitId,
    now: DateTime<Utc>,
    action: &str,
) -> Result<Option<TeamVisit>, ServiceError> {
    let loaded = store::read(store, |tx| {
        let (history, stored, case) = match readable_visit(tx, &access, visit_id)? {
            Found::Readable(found) => found,
            Found::Refused(refused) => return Ok(Found::Refused(refused)),
            Found::Missing => return Ok(Found::Missing),
        };
        let since_return = changes_since_return(&stored);
        let entries: Vec<LogEntry> = stored.into_iter().map(|entry| entry.entry).collect();
        let template = tx.template(&history.visit.template_key, history.visit.template_version)?;
        let mut names = HashMap::new();
        if let Some(team) = case.supervisor {
            for member in tx.team_members(team)? {
                names.insert(member.id, member.username);
            }
        }
        let mut others: Vec<UserId> = history.visit.reviews.iter().map(|r| r.reviewer).collect();
        others.extend(history.notes.iter().map(|n| n.author));
        for id in others {
            if let std::collections::hash_map::Entry::Vacant(slot) = names.entry(id)
                && let Some(user) = tx.user(id)?
            {
                slot.insert(user.username);
            }
        }
        let may_review = access.may_review(&case);
        let policy = crate::service::policy::in_force(tx)?.policy;
        let late = history.late.iter().map(|l| l.change.clone()).collect();
        let promise_keeping =
            crate::service::promises::keeping_in(tx, &history.visit, &case.case, now)?;
        let report = VisitReport::assemble(case.case, template.as_ref(), history, &entries, 0);
        Ok::<_, ServiceError>(Found::Readable(TeamVisit {
            report,
            names,
            template,
            since_return,
            late,
            may_review,
            policy,
            promise_keeping,
        }))
    })?;
    match loaded {
        Found::Readable(visit) => {
            audit_view(store, &access, action, visit_id, None, now)?;
            Ok(Some(visit))
        }
        Found::Refused(refused) => {
            audit_view(store, &access, action, visit_id, Some(refused.code()), now)?;
            Ok(None)
        }
        Found::Missing => Ok(None),
    }
}

/// One notice, for display.
pub struct NoticeLine {
    /// Channel name.
    pub channel: &'static str,
    /// When it was given.
    pub given_at: String,
    /// What visit time it announced.
    pub planned: String,
    /// The stated purpose.
    pub purpose: Shown,
    /// Whether the customer acknowledged it.
    pub acknowledged: &'static str,
}

/// A check-in or check-out, for display.
pub struct CheckLine {
    /// "Check-in" or "Check-out".
    pub title: &'static str,
    /// Whether it happened.
    pub done: bool,
    /// Local time.
    pub time: String,
    /// Accuracy in metres.
    pub accuracy: String,
    /// Distance to the registered address.
    pub distance: String,
    /// Flag names.
    pub flags: Vec<&'static str>,
}

/// A photo or other attachment.
pub struct PhotoLine {
    /// The console URL of its bytes (ids only).
    pub href: String,
    /// The console URL of its page at full size ([`super::attachments::photo_page`]).
    pub page: String,
    /// Whether to show it as an image thumbnail.
    pub is_image: bool,
    /// A short caption.
    pub caption: String,
}

/// A note, for display.
pub struct NoteLine {
    /// Local time written.
    pub at: String,
    /// Author's user name.
    pub author: Shown,
    /// The text (escaped by the template).
    pub text: Shown,
    /// Whether it came late, as an addendum (typed on a partner's phone
    /// after the other's step moved the visit on).
    pub late: bool,
}

/// A review round, for display.
pub struct ReviewLine {
    /// Local time decided.
    pub at: String,
    /// Reviewer's user name.
    pub reviewer: Shown,
    /// Approved or returned.
    pub decision: &'static str,
    /// The return reason's name.
    pub reason: Shown,
    /// The return comment.
    pub comment: Shown,
}

/// The report page.
#[derive(askama::Template)]
#[template(path = "console/report.html")]
pub struct ReportPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// The visit's id.
    pub visit_id: String,
    /// State name.
    pub state: &'static str,
    /// Whether the visit awaits review (decision forms shown).
    pub awaiting_review: bool,
    /// A message after a decision.
    pub flash: Option<&'static str>,
    /// After a decision: the next visit waiting, or `Some(None)` if the
    /// queue is empty.
    pub next_visit: Option<Option<String>>,
    /// Case summary rows.
    pub case_rows: Vec<(&'static str, Shown)>,
    /// Notices given.
    pub notices: Vec<NoticeLine>,
    /// Check-in and check-out.
    pub checks: Vec<CheckLine>,
    /// The map, as SVG markup drawn by [`map::draw`] (numbers and escaped labels only).
    pub map_svg: Option<String>,
    /// Review flag names.
    pub flags: Vec<&'static str>,
    /// The template's title and version.
    pub template_name: Shown,
    /// Whether the template is missing on the server.
    pub template_missing: bool,
    /// How many checklist problems remain.
    pub problems: usize,
    /// Answers: label and shown value.
    pub answers: Vec<(Shown, Shown)>,
    /// Notes, in clock order.
    pub notes: Vec<NoteLine>,
    /// Attachments.
    pub photos: Vec<PhotoLine>,
    /// Outcome rows.
    pub outcome_rows: Vec<(&'static str, Shown)>,
    /// Whether every chain verified.
    pub log_intact: bool,
    /// The log check's detail.
    pub log_detail: String,
    /// Timeline: time, kind.
    pub timeline: Vec<(String, Shown)>,
    /// The case's page.
    pub case_href: String,
    /// Earlier review rounds.
    pub reviews: Vec<ReviewLine>,
    /// What changed after the latest return (`None`: never returned).
    pub since_return: Option<Vec<Shown>>,
    /// Returned, and the agent has not resubmitted yet.
    pub awaiting_resubmission: bool,
    /// Late changes other than notes, kept but not applied.
    pub late: Vec<Shown>,
    /// Return reason choices: code and name.
    pub reasons: Vec<(&'static str, &'static str)>,
}

/// Query of the report page.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReportQuery {
    /// `approved` or `returned` right after a decision.
    pub done: String,
}

/// `GET /console/visits/{visit_id}`.
pub async fn page(
    State(state): State<ConsoleState>,
    signed: Signed,
    visit_id: Result<Path<VisitId>, axum::extract::rejection::PathRejection>,
    query: Result<Query<ReportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let lang = signed.lang;
    let Ok(Path(visit_id)) = visit_id else {
        return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found);
    };
    let store = state.store.clone();
    let now = state.clock.now();
    let access = Access::of(&signed.user, None);
    let loaded = blocking(move || view(store.as_ref(), access, visit_id, now)).await;
    let visit = match loaded {
        Ok(Some(visit)) => visit,
        Ok(None) => return failure(lang, StatusCode::NOT_FOUND, lang.text().not_found),
        Err(err) => return app_failure(lang, &err),
    };
    let flash = match query.ok().map(|Query(q)| q.done).as_deref() {
        Some("approved") => Some(lang.text().decision_saved_approved),
        Some("returned") => Some(lang.text().decision_saved_returned),
        _ => None,
    };
    let mut page = build(&signed, &visit, flash);
    if flash.is_some() {
        // Right after a decision: the next visit waiting (oldest submitted
        // first), so the supervisor can go on.
        let store = state.store.clone();
        let access = Access::of(&signed.user, None);
        let next = blocking(move || next_waiting(store.as_ref(), &access, visit_id)).await;
        match next {
            Ok(next) => page.next_visit = Some(next),
            Err(err) => return app_failure(lang, &err),
        }
    }
    render(lang, StatusCode::OK, &page)
}

/// The link to the oldest submitted visit of the user's team other than
/// `visit_id` ([`super::queue::submitted_visits`]), or `None` if no other
/// visit waits for review.
pub fn next_waiting(
    store: &dyn Store,
    access: &Access,
    visit_id: VisitId,
) -> Result<Option<String>, ServiceError> {
    let (items, _) = super::queue::submitted_visits(store, access)?;
    Ok(items
        .iter()
        .find(|item| item.visit.id != visit_id)
        .map(|item| format!("/console/visits/{}", item.visit.id)))
}

fn check_line(t: &Text, title: &'static str, check: Option<&SiteCheck>) -> CheckLine {
    match check {
        Some(check) => CheckLine {
            title,
            done: true,
            time: show_time(check.at, check.utc_offset_minutes),
            accuracy: format!("{:.0} {}", check.fix.accuracy_m, t.metres),
            distance: check
                .distance_m
                .map_or_else(|| t.unknown.to_owned(), |d| format!("{d:.0} {}", t.metres)),
            flags: check.flags.iter().map(|f| t.site_flag(*f)).collect(),
        },
        None => CheckLine {
            title,
            done: false,
            time: String::new(),
            accuracy: String::new(),
            distance: String::new(),
            flags: Vec::new(),
        },
    }
}

/// The report page's content for `signed` (the print view shows it too).
pub(super) fn build(
    signed: &Signed,
    loaded: &TeamVisit,
    flash: Option<&'static str>,
) -> ReportPage {
    let lang = signed.lang;
    let t = lang.text();
    let report = &loaded.report;
    let (visit, case) = (&report.visit, &report.case);
    let offset = case.utc_offset_minutes;
    let name = |id: UserId| {
        crate::text::visible_line(loaded.names.get(&id).map_or(t.unknown, String::as_str))
    };
    let registered = case.registered_address();
    let agents = match visit.partner {
        Some(partner) => format!("{} + {} ({})", name(visit.agent), name(partner), t.partner),
        None => name(visit.agent),
    };
    let case_rows: Vec<(&'static str, String)> = vec![
        (t.customer, case.customer.name.clone()),
        (t.national_id, case.customer.national_id_masked.clone()),
        (t.account_ref, mask_national_id(&case.external_ref)),
        (
            t.phones,
            case.customer
                .phones
                .iter()
                .map(|p| super::format::phone_line(lang, &p.label, &p.number))
                .collect::<Vec<_>>()
                .join(" · "),
        ),
        (
            t.registered_address,
            registered.map(|a| a.text.clone()).unwrap_or_default(),
        ),
        (t.product, case.product.clone()),
        (t.overdue, money(&case.overdue_amount)),
        (
            t.days_past_due,
            format!("{} ({})", case.days_past_due, case.bucket().code()),
        ),
        (t.due_date, case.due_date.to_string()),
        (t.agents, agents),
        (t.planned_for, show_time(visit.planned_for, offset)),
        (t.submissions, visit.submissions.to_string()),
    ];
    let case_rows = case_rows
        .into_iter()
        .map(|(label, value)| (label, Shown::line(&value)))
        .collect();
    let notices = visit
        .notices
        .iter()
        .map(|n| NoticeLine {
            channel: t.channel(n.channel),
            given_at: show_time(n.given_at, offset),
            planned: show_time(n.planned_visit_at, offset),
            purpose: Shown::text(&n.purpose),
            acknowledged: if n.acknowledged { t.yes } else { t.no },
        })
        .collect();
    let checks = vec![
        check_line(t, t.check_in, visit.check_in.as_ref()),
        check_line(t, t.check_out, visit.check_out.as_ref()),
    ];
    let mut markers = Vec::new();
    if let Some(check) = &visit.check_in {
        markers.push(map::Marker {
            label: t.check_in,
            fix: &check.fix,
        });
    }
    if let Some(check) = &visit.check_out {
        markers.push(map::Marker {
            label: t.check_out,
            fix: &check.fix,
        });
    }
    let map_svg = map::draw(
        registered.and_then(|a| a.location),
        &markers,
        f64::from(loaded.policy.geofence_radius_m),
        &map::MapWords {
            address: t.registered_address,
            geofence: t.map_geofence,
            title: t.map_title,
            metres: t.metres,
        },
    );
    let flags = review_flags(case, visit, &loaded.policy)
        .into_iter()
        .map(|f| t.flag(f))
        .collect();
    let template = loaded.template.as_ref();
    let template_name = Shown::line(&match template {
        Some(tpl) => format!("{} v{}", lang.label(tpl.title()), tpl.version()),
        None => format!("{} v{}", visit.template_key, visit.template_version),
    });
    let answers = report
        .answers
        .iter()
        .map(|a| {
            (
                Shown::line(&lang.label(&a.label)),
                Shown::text(&answer_text(lang, template, &a.item_id, &a.value)),
            )
        })
        .collect();
    let late_notes: Vec<uuid::Uuid> = loaded
        .late
        .iter()
        .filter_map(|change| match change {
            VisitChange::NoteAdded { note } => Some(note.id),
            _ => None,
        })
        .collect();
    let notes = report
        .notes
        .iter()
        .map(|n| NoteLine {
            at: show_time(n.written_at, offset),
            author: Shown::line(&name(n.author)),
            text: Shown::text(&n.text),
            late: late_notes.contains(&n.id),
        })
        .collect();
    let photos = report
        .attachments
        .iter()
        .enumerate()
        .map(|(i, a)| PhotoLine {
            href: format!("/console/visits/{}/attachments/{i}", visit.id),
            page: format!("/console/visits/{}/photos/{i}", visit.id),
            is_image: matches!(a.kind, AttachmentKind::Photo | AttachmentKind::Signature),
            caption: format!("{} {} · {}", t.photo, i + 1, show_time(a.taken_at, offset)),
        })
        .collect();
    let mut outcome_rows: Vec<(&'static str, String)> = Vec::new();
    if let Some(outcome) = &visit.outcome {
        outcome_rows.push((t.outcome, t.outcome(outcome.code).to_owned()));
        if let Some(promise) = &outcome.promise {
            outcome_rows.push((
                t.promise,
                format!("{} · {}", money(&promise.amount), promise.due_on),
            ));
        }
        if let Some(keeping) = loaded.promise_keeping {
            outcome_rows.push((t.promise_keeping, t.keeping(keeping).to_owned()));
        }
        if let Some(plan) = &outcome.plan {
            outcome_rows.push((
                t.plan,
                format!(
                    "{} {} {} · {} {}",
                    plan.instalments,
                    t.plan_instalments,
                    money(&plan.instalment_amount),
                    t.first_due,
                    plan.first_due_on
                ),
            ));
        }
        if let Some(r) = outcome.ability_to_repay {
            outcome_rows.push((t.ability, format!("{} / 5", r.value())));
        }
        if let Some(r) = outcome.willingness_to_repay {
            outcome_rows.push((t.willingness, format!("{} / 5", r.value())));
        }
        outcome_rows.push((t.summary, outcome.summary.clone()));
    }
    let outcome_rows = outcome_rows
        .into_iter()
        .map(|(label, value)| (label, Shown::text(&value)))
        .collect();
    let (log_intact, log_detail) = match &report.log {
        LogVerification::Intact { chains } => {
            let entries: u64 = chains.iter().map(|c| c.length).sum();
            (
                true,
                format!(
                    "{} · {} {} · {} {}",
                    t.log_intact,
                    chains.len(),
                    t.log_chains,
                    entries,
                    t.entries
                ),
            )
        }
        LogVerification::Broken { index, reason } => (
            false,
            format!("{} {index} ({})", t.log_broken, t.break_reason(*reason)),
        ),
    };
    // Every time on the report is in the case's offset: entries the server
    // stamps (reviews) carry offset 0. A review is named by its decision; the
    // visit's reviews are in the same clock order as its "reviewed" entries.
    let mut decisions = visit.reviews.iter().map(|r| &r.decision);
    let timeline = report
        .timeline
        .iter()
        .map(|line| {
            let kind = if line.kind == "reviewed" {
                match decisions.next() {
                    Some(ReviewDecision::Approve) => t.approved.to_owned(),
                    Some(ReviewDecision::Return { .. }) => t.returned.to_owned(),
                    None => t.kind(&line.kind),
                }
            } else {
                t.kind(&line.kind)
            };
            (show_time(line.at, offset), Shown::line(&kind))
        })
        .collect();
    let reviews = visit
        .reviews
        .iter()
        .map(|r| {
            let (decision, reason, comment) = match &r.decision {
                ReviewDecision::Approve => (t.approved, String::new(), String::new()),
                ReviewDecision::Return {
                    reason_code,
                    comment,
                } => (t.returned, t.reason(reason_code), comment.clone()),
            };
            ReviewLine {
                at: show_time(r.decided_at, offset),
                reviewer: Shown::line(&name(r.reviewer)),
                decision,
                reason: Shown::line(&reason),
                comment: Shown::text(&comment),
            }
        })
        .collect();
    let describe = |change: &VisitChange| {
        let kind = t.kind(change.kind());
        let shown = match change {
            VisitChange::Answered { item_id, value } => {
                let label = template
                    .and_then(|tpl| tpl.item(item_id))
                    .map_or_else(|| item_id.clone(), |item| lang.label(&item.label));
                format!(
                    "{kind}: {label} = {}",
                    answer_text(lang, template, item_id, value)
                )
            }
            VisitChange::AnswerCleared { item_id } => {
                let label = template
                    .and_then(|tpl| tpl.item(item_id))
                    .map_or_else(|| item_id.clone(), |item| lang.label(&item.label));
                format!("{kind}: {label}")
            }
            VisitChange::NoteAdded { note } => format!("{kind}: {}", note.text),
            VisitChange::OutcomeSet { outcome } => {
                format!("{kind}: {}", t.outcome(outcome.code))
            }
            // A review is named by its decision, as on the timeline.
            VisitChange::Reviewed { review } => match review.decision {
                ReviewDecision::Approve => t.approved.to_owned(),
                ReviewDecision::Return { .. } => t.returned.to_owned(),
            },
            _ => kind,
        };
        Shown::text(&shown)
    };
    // Until the agent resubmits, what changed since the return is not
    // settled: the page says it waits for the agent instead.
    let awaiting_resubmission = loaded.since_return.as_ref().is_some_and(|changes| {
        !changes
            .iter()
            .any(|change| matches!(change, VisitChange::Submitted { .. }))
    });
    let since_return = loaded
        .since_return
        .as_ref()
        .filter(|_| !awaiting_resubmission)
        .map(|changes| changes.iter().map(describe).collect());
    let late = loaded
        .late
        .iter()
        .filter(|change| !matches!(change, VisitChange::NoteAdded { .. }))
        .map(describe)
        .collect();
    ReportPage {
        since_return,
        awaiting_resubmission,
        late,
        chrome: signed.chrome(),
        visit_id: visit.id.to_string(),
        state: t.state(visit.state),
        awaiting_review: visit.state == VisitState::Submitted && loaded.may_review,
        flash,
        next_visit: None,
        case_rows,
        notices,
        checks,
        map_svg,
        flags,
        template_name,
        template_missing: template.is_none(),
        problems: report.checklist_problems.len(),
        answers,
        notes,
        photos,
        outcome_rows,
        log_intact,
        log_detail,
        timeline,
        case_href: format!("/console/cases/{}", report.case.id),
        reviews,
        reasons: t.reasons.to_vec(),
    }
}
