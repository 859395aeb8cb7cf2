//! `POST /v1/visits/{id}/review`: a supervisor approves or returns a submitted
//! visit. The decision is a `reviewed` entry in the server's own chain of the
//! visit, so it reaches the agents' devices on their next pull like any entry.

use chrono::{DateTime, Utc};
use doorstep_core::clock::HybridClock;
use doorstep_core::domain::{
    DeviceId, Review, ReviewDecision, VisitChange, VisitHistory, VisitId, VisitState,
};
use doorstep_core::event_log::{EntryDraft, LogEntry, append};
use doorstep_core::sync::protocol::Role;
use uuid::Uuid;

use super::{SERVER_NODE, Session, chain_check, summaries};
use crate::access::Access;
use crate::error::{Missing, ServiceError};
use crate::store::{self, AuditRecord, FeedItem, Lock, Store, StoredEntry, UserRecord};

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
        tx.lock(Lock::Visit(visit_id))?;
        let visit = tx
            .visit(visit_id)?
            .ok_or(ServiceError::NotFound(Missing::Visit))?;
        let record = tx
            .case(visit.case_id)?
            .ok_or(ServiceError::NotFound(Missing::Visit))?;
        if !access.may_review(&record) {
            return Err(ServiceError::NotYourTeam);
        }
        let mut stored = Vec::new();
        let mut entries: Vec<LogEntry> = Vec::new();
        for row in tx.visit_entries(visit_id)? {
            if row.rejected.is_none() {
                entries.push(row.entry.clone());
            }
            stored.push(row.entry);
        }
        let history =
            VisitHistory::fold(visit_id, &entries).map_err(|e| ServiceError::internal(&e))?;
        if history.visit.state != VisitState::Submitted {
            return Err(ServiceError::VisitNotSubmitted {
                state: history.visit.state,
            });
        }
        // Stamped after every entry the server holds, so the review folds last.
        let latest = entries.iter().map(|entry| entry.hlc).max();
        let hlc = HybridClock::new(SERVER_NODE, latest).tick(now);
        let change = VisitChange::Reviewed {
            review: review.clone(),
        };
        let payload = serde_json::to_string(&change).map_err(|e| ServiceError::internal(&e))?;
        let head = tx.chain_head(visit_id, SERVER_NODE)?;
        let entry = append(
            head.as_ref(),
            EntryDraft {
                visit_id,
                author: SERVER_NODE,
                op_id: Uuid::now_v7(),
                kind: change.kind().to_owned(),
                payload,
                hlc,
                device_time: now,
                utc_offset_minutes: 0,
            },
        )
        .map_err(|e| ServiceError::internal(&e))?;
        tx.insert_entry(&StoredEntry {
            entry: entry.clone(),
            rejected: None,
            reassigned: false,
        })?;
        tx.record_op(entry.op_id, SERVER_NODE, None)?;
        tx.append_feed(&FeedItem::VisitEntry {
            case_id: visit.case_id,
            visit_id,
            author: SERVER_NODE,
            seq: entry.seq,
        })?;
        // The server's chain grew too: verify the visit's whole log again.
        stored.push(entry.clone());
        chain_check::record(tx, visit_id, &stored, now)?;
        summaries::refresh(tx, visit_id)?;
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
