//! `POST /v1/visits/{id}/review`: a supervisor approves or returns a submitted
//! visit. The decision is a `reviewed` entry in the server's own chain of the
//! visit, so it reaches the agents' devices on their next pull like any entry.

use chrono::{DateTime, Utc};
use doorstep_core::domain::{DeviceId, Review, ReviewDecision, VisitChange, VisitId, VisitState};
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::protocol::Role;

use super::{Session, server_entry};
use crate::access::Access;
use crate::error::{Missing, ServiceError};
use crate::store::{self, AuditRecord, Store, UserRecord};

/// Records `decision` on the visit by the supervisor of `session`, and returns
/// the server's log entry for it.
pub fn review(
    store: &dyn Store,
    session: &Session,
    visit_id: VisitId,
    decision: ReviewDecision,
    now: DateTime<Utc>,
) -> Result<LogEntry, ServiceError> {
    review_as(
        store,
        &session.user,
        Some(session.device.id),
        visit_id,
        decision,
        now,
    )
}

/// Records `decision` on the visit by `reviewer`, deciding from `device` (none
/// from the supervisor console in a browser), and returns the server's log
/// entry for it. The API and the console both decide through here.
pub fn review_as(
    store: &dyn Store,
    reviewer: &UserRecord,
    device: Option<DeviceId>,
    visit_id: VisitId,
    decision: ReviewDecision,
    now: DateTime<Utc>,
) -> Result<LogEntry, ServiceError> {
    if reviewer.role != Role::Supervisor {
        return Err(ServiceError::NotSupervisor);
    }
    let access = Access::of(reviewer, device);
    let review = Review {
        decision,
        reviewer: reviewer.id,
        decided_at: now,
    };
    review.check().map_err(ServiceError::InvalidReview)?;
    // Another team's visit: refused, and the attempt audited (the refusal
    // in the write below would roll its audit row back with it).
    let team_visit = store::read(store, |tx| {
        let Some(visit) = tx.visit(visit_id)? else {
            return Ok(true);
        };
        Ok::<_, ServiceError>(
            tx.case(visit.case_id)?
                .is_none_or(|record| access.may_review(&record)),
        )
    })?;
    if !team_visit {
        store::write(store, |tx| {
            tx.append_audit(&AuditRecord {
                at: now,
                user: Some(reviewer.id),
                device,
                action: "review_refused".into(),
                target_kind: "visit".into(),
                target_id: visit_id.to_string(),
                code: Some(ServiceError::NotYourTeam.code().into()),
            })?;
            Ok::<_, ServiceError>(())
        })?;
        return Err(ServiceError::NotYourTeam);
    }
    store::write(store, |tx| {
        // The visit is held alone until the review commits: a push to it
        // waits, so the review folds and extends the log as it stands.
        let mut held = server_entry::hold(tx, visit_id)?;
        let record = tx
            .case(held.case_id)?
            .ok_or(ServiceError::NotFound(Missing::Visit))?;
        if !access.may_review(&record) {
            return Err(ServiceError::NotYourTeam);
        }
        if held.history.visit.state != VisitState::Submitted {
            return Err(ServiceError::VisitNotSubmitted {
                state: held.history.visit.state,
            });
        }
        let change = VisitChange::Reviewed {
            review: review.clone(),
        };
        let entry = server_entry::append_change(tx, &mut held, &change, now)?;
        tx.append_audit(&AuditRecord {
            at: now,
            user: Some(reviewer.id),
            device,
            action: "review".into(),
            target_kind: "visit".into(),
            target_id: visit_id.to_string(),
            code: None,
        })?;
        Ok(entry)
    })
}
