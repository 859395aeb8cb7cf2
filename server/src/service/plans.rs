//! After a visit, the supervisor records the bank's decision for the customer
//! on the case, and the feedback given to the customer on the approved visit.
//!
//! A decision is checked by the core's rules ([`CaseDecision::check`]), kept
//! append-only with the case, audited, and applied to the case where it
//! changes it ([`PlanDecision::applied_to`]): another visit puts the case back
//! on the agent's phone, due that day, through the feed like any case change.
//! Feedback is the `feedback_recorded` change of the visit, appended to the
//! server's chain of the visit ([`super::server_entry`]), so the agents'
//! phones receive it with the visit.

use chrono::{DateTime, Utc};
use doorstep_core::domain::{
    CaseDecision, CaseId, Feedback, PlanDecision, VisitAction, VisitChange, VisitId,
};
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::Role;
use uuid::Uuid;

use super::server_entry;
use crate::access::Access;
use crate::error::{Missing, ServiceError};
use crate::store::{self, AuditRecord, Lock, Store, StoreTx, UserRecord};

/// What a supervisor decides on a case.
#[derive(Debug, Clone)]
pub struct DecisionRequest {
    /// The case.
    pub case_id: CaseId,
    /// The visit the decision follows, if any (a visit of that case).
    pub after_visit: Option<VisitId>,
    /// What was decided.
    pub decision: PlanDecision,
    /// The supervisor's note.
    pub note: String,
}

fn audit(
    tx: &dyn StoreTx,
    actor: &UserRecord,
    now: DateTime<Utc>,
    action: &str,
    target: (&str, Uuid),
    refused: Option<&ServiceError>,
) -> Result<(), ServiceError> {
    tx.append_audit(&AuditRecord {
        at: now,
        user: Some(actor.id),
        device: None,
        action: action.to_owned(),
        target_kind: target.0.to_owned(),
        target_id: target.1.to_string(),
        code: refused.map(|err| err.code().to_owned()),
    })?;
    Ok(())
}

/// Writes a refused attempt to the audit log, then returns the refusal (a
/// refusal inside the write would roll its own audit row back).
fn refused(
    store: &dyn Store,
    actor: &UserRecord,
    now: DateTime<Utc>,
    action: &str,
    target: (&str, Uuid),
    err: ServiceError,
) -> ServiceError {
    let audited = store::write(store, |tx| {
        audit(tx, actor, now, action, target, Some(&err))
    });
    match audited {
        Ok(()) => err,
        Err(audit_failed) => audit_failed,
    }
}

/// The case's latest visit not cancelled, with its state.
pub fn latest_visit(
    tx: &dyn StoreTx,
    case_id: CaseId,
) -> Result<Option<(VisitId, doorstep_core::domain::VisitState)>, ServiceError> {
    let mut latest = None;
    for record in tx.case_visits(case_id)? {
        if let Some(history) = super::summaries::fold(tx, record.id)?
            && history.visit.state != doorstep_core::domain::VisitState::Cancelled
            && latest.is_none_or(|(id, _)| record.id > id)
        {
            latest = Some((record.id, history.visit.state));
        }
    }
    Ok(latest)
}

/// Records the decision of `request` on its case by `supervisor`, applies it
/// to the case, and returns it. Only a supervisor of the case's team decides;
/// anything the core refuses is `422 invalid_decision`, and every refusal is
/// audited.
pub fn decide(
    store: &dyn Store,
    supervisor: &UserRecord,
    request: DecisionRequest,
    now: DateTime<Utc>,
) -> Result<CaseDecision, ServiceError> {
    const ACTION: &str = "decide_plan";
    let target = ("case", request.case_id);
    if supervisor.role != Role::Supervisor {
        return Err(refused(
            store,
            supervisor,
            now,
            ACTION,
            target,
            ServiceError::NotSupervisor,
        ));
    }
    let access = Access::of(supervisor, None);
    let outcome = store::write(store, |tx| {
        tx.lock(Lock::Case(request.case_id))?;
        let record = tx
            .case(request.case_id)?
            .ok_or(ServiceError::NotFound(Missing::Case(request.case_id)))?;
        if !access.may_review(&record) {
            return Err(ServiceError::NotYourTeam);
        }
        if let Some(visit) = request.after_visit {
            let of_case = tx
                .visit(visit)?
                .is_some_and(|v| v.case_id == request.case_id);
            if !of_case {
                return Err(ServiceError::NotFound(Missing::Visit));
            }
        }
        let decision = CaseDecision {
            id: Uuid::now_v7(),
            case_id: request.case_id,
            after_visit: request.after_visit,
            decision: request.decision.clone(),
            note: request.note.clone(),
            decided_by: supervisor.id,
            decided_at: now,
        };
        let today = record.case.local_day(now);
        decision
            .check(&record.case, today)
            .map_err(ServiceError::InvalidDecision)?;
        tx.insert_case_decision(&decision)?;
        let latest = latest_visit(tx, request.case_id)?.map(|(id, _)| id);
        if let Some(changed) = decision.decision.applied_to(&record.case, latest) {
            crate::admin::put_case(tx, changed, record.supervisor, Some(supervisor.id), now)?;
        }
        audit(tx, supervisor, now, ACTION, target, None)?;
        Ok(decision)
    });
    match outcome {
        Err(err @ (ServiceError::NotYourTeam | ServiceError::InvalidDecision(_))) => {
            Err(refused(store, supervisor, now, ACTION, target, err))
        }
        other => other,
    }
}

/// Records `feedback` given to the customer on the approved visit, by
/// `supervisor` of the visit's team, and returns the server's log entry.
pub fn record_feedback(
    store: &dyn Store,
    supervisor: &UserRecord,
    visit_id: VisitId,
    feedback: Feedback,
    now: DateTime<Utc>,
) -> Result<LogEntry, ServiceError> {
    const ACTION: &str = "record_feedback";
    let target = ("visit", visit_id);
    if supervisor.role != Role::Supervisor {
        return Err(refused(
            store,
            supervisor,
            now,
            ACTION,
            target,
            ServiceError::NotSupervisor,
        ));
    }
    let access = Access::of(supervisor, None);
    let outcome = store::write(store, |tx| {
        let mut held = server_entry::hold(tx, visit_id)?;
        let record = tx
            .case(held.case_id)?
            .ok_or(ServiceError::NotFound(Missing::Visit))?;
        if !access.may_review(&record) {
            return Err(ServiceError::NotYourTeam);
        }
        let state = held.history.visit.state;
        if doorstep_core::domain::visit::transition(state, VisitAction::RecordFeedback).is_err() {
            return Err(ServiceError::VisitNotApproved { state });
        }
        feedback.check().map_err(ServiceError::InvalidFeedback)?;
        let change = VisitChange::FeedbackRecorded {
            feedback: feedback.clone(),
        };
        let entry = server_entry::append_change(tx, &mut held, &change, now)?;
        audit(tx, supervisor, now, ACTION, target, None)?;
        Ok(entry)
    });
    match outcome {
        Err(err @ (ServiceError::NotYourTeam | ServiceError::InvalidFeedback(_))) => {
            Err(refused(store, supervisor, now, ACTION, target, err))
        }
        other => other,
    }
}
