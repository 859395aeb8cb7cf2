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

use super::{SERVER_NODE, Session, chain_check};
use crate::access::Access;
use crate::error::AppError;
use crate::store::{self, AuditRecord, FeedItem, Store, StoredEntry, UserRecord};

/// Records `decision` on the visit by the supervisor of `session`, and returns
/// the server's log entry for it.
pub fn review(
    store: &dyn Store,
    session: &Session,
    visit_id: VisitId,
    decision: ReviewDecision,
    now: DateTime<Utc>,
) -> Result<LogEntry, AppError> {
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
) -> Result<LogEntry, AppError> {
    if reviewer.role != Role::Supervisor {
        return Err(AppError::forbidden(
            "not_supervisor",
            "only supervisors review visits",
        ));
    }
    let access = Access::of(reviewer, device);
    let review = Review {
        decision,
        reviewer: reviewer.id,
        decided_at: now,
    };
    review
        .check()
        .map_err(|e| AppError::unprocessable("invalid_review", e.to_string()))?;
    // Another team's visit: refused, and the attempt audited (the refusal
    // in the write below would roll its audit row back with it).
    let team_visit = store::read(store, |tx| {
        let Some(visit) = tx.visit(visit_id)? else {
            return Ok(true);
        };
        Ok::<_, AppError>(
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
                code: Some("not_your_team".into()),
            })?;
            Ok::<_, AppError>(())
        })?;
        return Err(not_your_team());
    }
    store::write(store, |tx| {
        let visit = tx
            .visit(visit_id)?
            .ok_or_else(|| AppError::not_found("no such visit"))?;
        let record = tx
            .case(visit.case_id)?
            .ok_or_else(|| AppError::not_found("no such visit"))?;
        if !access.may_review(&record) {
            return Err(not_your_team());
        }
        let mut stored = Vec::new();
        let mut entries: Vec<LogEntry> = Vec::new();
        for row in tx.visit_entries(visit_id)? {
            if row.rejected.is_none() {
                entries.push(row.entry.clone());
            }
            stored.push(row.entry);
        }
        let history = VisitHistory::fold(visit_id, &entries).map_err(|e| AppError::internal(&e))?;
        if history.visit.state != VisitState::Submitted {
            return Err(AppError::conflict(
                "visit_not_submitted",
                format!("the visit is {}", history.visit.state.code()),
            ));
        }
        // Stamped after every entry the server holds, so the review folds last.
        let latest = entries.iter().map(|entry| entry.hlc).max();
        let hlc = HybridClock::new(SERVER_NODE, latest).tick(now);
        let change = VisitChange::Reviewed {
            review: review.clone(),
        };
        let payload = serde_json::to_string(&change).map_err(|e| AppError::internal(&e))?;
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
        .map_err(|e| AppError::internal(&e))?;
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

fn not_your_team() -> AppError {
    AppError::forbidden("not_your_team", "the visit belongs to another team")
}
