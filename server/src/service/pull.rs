//! `GET /v1/pull`: the changes a user may see after a cursor, in pages.
//!
//! The feed is one sequence for everybody; each row is filtered for the user
//! when it is read, against the current assignment. Agents see their cases
//! (primary or partner), the visit entries of those cases written by other
//! devices, and templates; supervisors see their team's cases and all their
//! visit entries; everybody sees templates.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::{MAX_PULL_LIMIT, PullResponse, PulledChange, Role};

use super::{Session, audit};
use crate::error::AppError;
use crate::store::{self, CaseRecord, FeedItem, Store, StoreTx};

/// Most feed rows scanned for one page, as a multiple of the page size, so a
/// user who sees little of a long feed still gets a bounded request.
const SCAN_FACTOR: u32 = 10;

fn case_visible(session: &Session, record: &CaseRecord) -> bool {
    match session.user.role {
        Role::Agent => record.case.assigned.includes(session.user.id),
        Role::Supervisor => record.supervisor == Some(session.user.id),
        Role::Admin => false,
    }
}

fn visible(
    tx: &dyn StoreTx,
    session: &Session,
    item: FeedItem,
) -> Result<Option<PulledChange>, AppError> {
    Ok(match item {
        FeedItem::Case { case_id } => match tx.case(case_id)? {
            Some(record) if case_visible(session, &record) => {
                Some(PulledChange::Case { case: record.case })
            }
            _ => None,
        },
        FeedItem::CaseRemoved { case_id, from } => {
            let still = tx
                .case(case_id)?
                .is_some_and(|record| case_visible(session, &record));
            (from.contains(&session.user.id) && !still)
                .then_some(PulledChange::CaseRemoved { case_id })
        }
        FeedItem::Template { key, version } => tx
            .template(&key, version)?
            .map(|template| PulledChange::Template { template }),
        FeedItem::VisitEntry {
            case_id,
            visit_id,
            author,
            seq,
        } => {
            if author == session.device.id {
                return Ok(None);
            }
            let Some(record) = tx.case(case_id)? else {
                return Ok(None);
            };
            if !case_visible(session, &record) {
                return Ok(None);
            }
            // Refused entries go out too, flagged: the device needs them to keep
            // the chain linked, and leaves them out of the visit as the server does.
            tx.entry(visit_id, author, seq)?
                .map(|stored| PulledChange::VisitEntry {
                    refused: stored.rejected.is_some(),
                    entry: stored.entry,
                })
        }
    })
}

/// One page of the changes `session` may see after `cursor`.
///
/// `cursor` in the answer is the sequence number of the last feed row looked
/// at (visible or not); `more` says whether rows remain after it.
pub fn pull(
    store: &dyn Store,
    session: &Session,
    cursor: u64,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<PullResponse, AppError> {
    let limit = limit.clamp(1, MAX_PULL_LIMIT);
    store::write(store, |tx| {
        let mut changes = Vec::new();
        let mut position = cursor;
        let mut scanned: u32 = 0;
        let budget = limit.saturating_mul(SCAN_FACTOR);
        'scan: while scanned < budget {
            let rows = tx.feed_after(position, limit)?;
            if rows.is_empty() {
                break;
            }
            for (seq, item) in rows {
                if changes.len() >= limit as usize || scanned >= budget {
                    break 'scan;
                }
                scanned += 1;
                position = seq;
                if let Some(change) = visible(tx, session, item)? {
                    changes.push(change);
                }
            }
        }
        let more = !tx.feed_after(position, 1)?.is_empty();
        let mut cases_read = BTreeSet::new();
        let mut visits_read = BTreeSet::new();
        for change in &changes {
            match change {
                PulledChange::Case { case } => {
                    cases_read.insert(case.id);
                }
                PulledChange::VisitEntry { entry, .. } => {
                    visits_read.insert(entry.visit_id);
                }
                _ => {}
            }
        }
        for case_id in cases_read {
            audit(tx, now, Some(session), "read", "case", case_id)?;
        }
        for visit_id in visits_read {
            audit(tx, now, Some(session), "read", "visit", visit_id)?;
        }
        Ok(PullResponse {
            changes,
            cursor: position,
            more,
            deactivated: !session.device.active,
        })
    })
}
