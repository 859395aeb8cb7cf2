//! The rules every change to a visit must meet, in one pure function that the
//! phone and the server both call: [`check`].
//!
//! The phone's facade calls it before it writes an action (and refuses the
//! action with the [`Refusal`]); the server's push calls it for every entry a
//! phone sends (and refuses the entry, per op, with [`Refusal::code`]). A
//! modified or old app therefore cannot put into the supervisor's queue what
//! the phone itself would not have written: an incomplete visit, a note of
//! 4 MB, an answer of the wrong type, a check-in outside contact hours or with
//! its distance to the address left out.
//!
//! What a rule looks at is handed in as [`Facts`]: the visit as folded so far,
//! its case, its checklist template, the bank's policy, who makes the change
//! and when. Nothing here reads a database or a clock, so the rules are tested
//! without either, and the two sides cannot disagree unless they are given
//! different facts.
//!
//! The checks, in order: the state machine first (an action in the wrong
//! state is refused whatever its content), then the change's own content.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

use crate::checklist::{ChecklistTemplate, ItemProblem, ProblemReason};
use crate::domain::note::check_note_text;
use crate::domain::visit::{IllegalTransition, VisitAction, transition};
use crate::domain::{
    Attachment, AttachmentLink, Case, DeviceId, InterviewNote, SiteCheck, UserId, Visit,
    VisitChange, VisitHistory, VisitState,
};
use crate::policy::{CheckInContext, LocationAssessment, Policy};

mod refusal;

pub use refusal::Refusal;

/// Longest cancellation reason accepted, in characters.
pub const MAX_CANCEL_REASON_CHARS: usize = 500;

/// How far a distance stated in a check may differ from the one recomputed
/// from its fix, in metres: the phone's and the server's floating point can
/// differ in the last bits, never by this much.
const DISTANCE_TOLERANCE_M: f64 = 0.01;

/// Everything a rule looks at, as the side checking knows it.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The visit's header as folded so far; `None` when the visit is not known
    /// yet (only its `planned` change may come then).
    pub visit: Option<&'a Visit>,
    /// The whole visit as folded so far (answers, notes, attachments). Needed
    /// for the changes [`needs_history`] names; for the others it may be left
    /// out, and the checks that use it (a note id used twice) are then skipped.
    pub history: Option<&'a VisitHistory>,
    /// The case visited.
    pub case: &'a Case,
    /// The checklist template of the visit (for `planned`, the version the
    /// change names); `None` when that version is not known.
    pub template: Option<&'a ChecklistTemplate>,
    /// The bank's field policy.
    pub policy: &'a Policy,
    /// The user making the change (the agent signed in on the phone; on the
    /// server, the user of the device that pushed it).
    pub author: UserId,
    /// The device the change is made on: a change the state no longer
    /// allows is late when another device moved the visit on
    /// ([`Visit::takes_late`]).
    pub device: DeviceId,
    /// When the change was made (the device time of its log entry).
    pub at: DateTime<Utc>,
}

/// Whether checking `change` needs [`Facts::history`], not only the header:
/// a submission (the whole checklist) and an attachment (the counts per item,
/// the notes it may belong to).
pub fn needs_history(change: &VisitChange) -> bool {
    matches!(
        change,
        VisitChange::Submitted { .. } | VisitChange::Attached { .. }
    )
}

/// Checks one change against the rules. `Ok` means the change may be written
/// (on the phone) or admitted (on the server).
///
/// Errors: a [`Refusal`], whose [`Refusal::code`] is what the server answers.
pub fn check(change: &VisitChange, facts: &Facts<'_>) -> Result<(), Refusal> {
    let state = check_state(change, facts.visit, facts.device)?;
    if facts
        .visit
        .is_some_and(|visit| visit.takes_late(change, facts.device))
    {
        return check_late(change, facts);
    }
    match change {
        VisitChange::Planned { agent, .. } => {
            if facts.template.is_none() {
                return Err(Refusal::UnknownTemplate);
            }
            if *agent != facts.author {
                return Err(Refusal::WrongAuthor);
            }
            Ok(())
        }
        VisitChange::NoticeRecorded { notice } => {
            notice.check().map_err(|_| Refusal::InvalidNotice)
        }
        VisitChange::CheckedIn { check } => check_in(check, facts),
        VisitChange::Answered { item_id, value } => template(facts)?
            .check_answer(item_id, value)
            .map_err(Refusal::InvalidAnswer),
        VisitChange::AnswerCleared { item_id } => match template(facts)?.item(item_id) {
            Some(_) => Ok(()),
            None => Err(Refusal::InvalidAnswer(ItemProblem::new(
                item_id.as_str(),
                ProblemReason::UnknownItem,
            ))),
        },
        VisitChange::NoteAdded { note } => note_added(note, facts),
        VisitChange::Attached { attachment } => attached(attachment, facts),
        VisitChange::OutcomeSet { outcome } => {
            let day = facts
                .visit
                .and_then(|visit| visit.check_in.as_ref())
                .map_or(facts.at, |check| check.at);
            outcome
                .check(local_date(day, facts.case.utc_offset_minutes))
                .map_err(|_| Refusal::InvalidOutcome)
        }
        VisitChange::CheckedOut { check } => {
            let assessment = facts
                .policy
                .assess_check_out(&check.fix, registered(facts.case))
                .map_err(Refusal::Policy)?;
            matches_assessment(check, &assessment, facts.policy.geofence_radius_m)
        }
        VisitChange::Submitted { .. } => submitted(facts),
        VisitChange::Cancelled { reason } => {
            if reason.trim().is_empty() || reason.chars().count() > MAX_CANCEL_REASON_CHARS {
                return Err(Refusal::InvalidReason);
            }
            Ok(())
        }
        // Refused by `check_state` already: never a phone's.
        VisitChange::Reviewed { .. } => Err(Refusal::IllegalTransition(IllegalTransition {
            from: state.unwrap_or(VisitState::Planned),
            action: VisitAction::Approve,
        })),
        VisitChange::FeedbackRecorded { feedback } => {
            let summary = feedback.summary.trim();
            let too_long =
                feedback.summary.chars().count() > crate::domain::review::MAX_COMMENT_CHARS;
            if summary.is_empty() || too_long {
                return Err(Refusal::InvalidFeedback);
            }
            Ok(())
        }
    }
}

/// A late change ([`Visit::takes_late`]) moves nothing, so only what it
/// carries is checked: a note's text and author, an answer against its
/// template item, an attachment's link. What depends on the visit's state
/// (a complete checklist at submission, contact hours at check-in) was
/// decided by the other device's step that moved the visit on.
fn check_late(change: &VisitChange, facts: &Facts<'_>) -> Result<(), Refusal> {
    match change {
        VisitChange::NoteAdded { note } => note_added(note, facts),
        VisitChange::Answered { item_id, value } => template(facts)?
            .check_answer(item_id, value)
            .map_err(Refusal::InvalidAnswer),
        VisitChange::Attached { attachment } => attached(attachment, facts),
        _ => Ok(()),
    }
}

/// The state-machine part of [`check`]: a `planned` change starts a visit
/// not known yet, any other change needs a known visit whose state allows
/// it, or that takes it late from `device` ([`Visit::takes_late`]). Returns
/// the visit's state (`None` for a visit being planned).
///
/// Errors: [`Refusal::UnknownVisit`], [`Refusal::IllegalTransition`].
pub fn check_state(
    change: &VisitChange,
    visit: Option<&Visit>,
    device: DeviceId,
) -> Result<Option<VisitState>, Refusal> {
    let state = match (change, visit) {
        (VisitChange::Planned { .. }, None) => return Ok(None),
        (VisitChange::Planned { .. }, Some(visit)) => {
            return Err(Refusal::IllegalTransition(IllegalTransition {
                from: visit.state,
                action: VisitAction::Edit,
            }));
        }
        (_, None) => return Err(Refusal::UnknownVisit),
        (_, Some(visit)) => visit.state,
    };
    let action = change.action().unwrap_or(VisitAction::Edit);
    if matches!(change, VisitChange::Reviewed { .. }) {
        // A review is the server's own entry, written by a supervisor's
        // decision, never a phone's.
        return Err(Refusal::IllegalTransition(IllegalTransition {
            from: state,
            action,
        }));
    }
    if visit.is_some_and(|visit| visit.takes_late(change, device)) {
        return Ok(Some(state));
    }
    transition(state, action).map_err(Refusal::IllegalTransition)?;
    Ok(Some(state))
}

/// A note: readable text of a sane length, written by the author, not one
/// the visit has already.
fn note_added(note: &InterviewNote, facts: &Facts<'_>) -> Result<(), Refusal> {
    check_note_text(&note.text).map_err(|_| Refusal::InvalidNote)?;
    if note.author != facts.author {
        return Err(Refusal::WrongAuthor);
    }
    let again = facts
        .history
        .is_some_and(|h| h.notes.iter().any(|n| n.id == note.id));
    if again {
        return Err(Refusal::InvalidNote);
    }
    Ok(())
}

fn template<'a>(facts: &Facts<'a>) -> Result<&'a ChecklistTemplate, Refusal> {
    facts.template.ok_or(Refusal::UnknownTemplate)
}

fn registered(case: &Case) -> Option<crate::policy::GeoPoint> {
    case.registered_address().and_then(|a| a.location)
}

/// A check-in: allowed by the policy (a usable fix, contact hours in the
/// case's local time, notice given early enough), and stating the distance
/// and flags the policy gives its fix, so no flag a supervisor should see can
/// be left out.
fn check_in(check: &SiteCheck, facts: &Facts<'_>) -> Result<(), Refusal> {
    let given: Vec<DateTime<Utc>> = facts
        .visit
        .map(|visit| visit.notices.iter().map(|n| n.given_at).collect())
        .unwrap_or_default();
    let assessment = facts
        .policy
        .assess_check_in(&CheckInContext {
            at: check.at,
            case_utc_offset_minutes: facts.case.utc_offset_minutes,
            notices_given_at: &given,
            fix: &check.fix,
            registered_location: registered(facts.case),
        })
        .map_err(Refusal::Policy)?;
    matches_assessment(check, &assessment, facts.policy.geofence_radius_m)
}

/// The distance and flags a check states are the ones the policy gives its
/// fix (the distance within [`DISTANCE_TOLERANCE_M`]; on the geofence's edge
/// either side of it is accepted).
fn matches_assessment(
    check: &SiteCheck,
    assessment: &LocationAssessment,
    geofence_radius_m: u32,
) -> Result<(), Refusal> {
    let distance_ok = match (check.distance_m, assessment.distance_m) {
        (None, None) => true,
        (Some(stated), Some(computed)) => {
            stated.is_finite() && (stated - computed).abs() <= DISTANCE_TOLERANCE_M
        }
        _ => false,
    };
    if !distance_ok {
        return Err(Refusal::InvalidSiteCheck);
    }
    let radius = f64::from(geofence_radius_m);
    let on_edge = assessment
        .distance_m
        .is_some_and(|d| (d - radius).abs() <= DISTANCE_TOLERANCE_M);
    let mut stated = check.flags.clone();
    let mut computed = assessment.flags.clone();
    if on_edge {
        let far = crate::policy::CheckInFlag::FarFromAddress;
        stated.retain(|f| *f != far);
        computed.retain(|f| *f != far);
    }
    stated.sort_by_key(|f| f.code());
    stated.dedup();
    computed.sort_by_key(|f| f.code());
    if stated == computed {
        Ok(())
    } else {
        Err(Refusal::InvalidSiteCheck)
    }
}

/// An attachment: a size within the limit, a MIME type its kind accepts, a
/// SHA-256 in lower-case hex, and a link to a photo or signature item of the
/// template (within its count) or to a note of the visit.
fn attached(attachment: &Attachment, facts: &Facts<'_>) -> Result<(), Refusal> {
    attachment.check().map_err(|_| Refusal::InvalidAttachment)?;
    // Without the history (a caller that did not fold it) nothing is linked
    // yet: the check is stricter, never looser.
    let history = facts.history;
    if history.is_some_and(|h| h.attachments.iter().any(|a| a.id == attachment.id)) {
        return Err(Refusal::InvalidAttachment);
    }
    match &attachment.link {
        AttachmentLink::Visit => Ok(()),
        AttachmentLink::ChecklistItem { item_id } => {
            let linked = history
                .and_then(|h| h.attachments_per_item().get(item_id).copied())
                .unwrap_or(0);
            template(facts)?
                .check_attachments(item_id, linked.saturating_add(1))
                .map_err(Refusal::InvalidAnswer)
        }
        AttachmentLink::Note { note_id } => {
            if history.is_some_and(|h| h.notes.iter().any(|n| n.id == *note_id)) {
                Ok(())
            } else {
                Err(Refusal::InvalidAttachment)
            }
        }
    }
}

/// A submission: an outcome recorded, and, when the customer was met, a
/// checklist without problems.
fn submitted(facts: &Facts<'_>) -> Result<(), Refusal> {
    let outcome = facts
        .visit
        .and_then(|visit| visit.outcome.as_ref())
        .ok_or(Refusal::MissingOutcome)?;
    if !outcome.code.customer_met() {
        return Ok(());
    }
    // Without the history nothing is answered: the check is stricter, never
    // looser.
    let sheet = facts
        .history
        .map(VisitHistory::answer_sheet)
        .unwrap_or_default();
    let problems = template(facts)?.validate(&sheet);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Refusal::IncompleteChecklist(problems))
    }
}

/// The calendar date of an instant in the case's local time.
fn local_date(at: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    match FixedOffset::east_opt(utc_offset_minutes.saturating_mul(60)) {
        Some(offset) => at.with_timezone(&offset).date_naive(),
        None => at.date_naive(),
    }
}

#[cfg(test)]
mod tests;
