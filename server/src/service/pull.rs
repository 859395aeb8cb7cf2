//! `GET /v1/pull`: the changes a user may see after a cursor, in pages.
//!
//! The feed is one sequence for everybody; each row is filtered for the user
//! when it is read: the store's query leaves out the rows of other users'
//! cases and of the user's own device, and each remaining row is checked
//! against the current assignment by [`Access::may_carry`]. Agents see their cases
//! (primary or partner), the visit entries of those cases written by other
//! devices, and templates; supervisors see their team's cases and all their
//! visit entries; everybody sees templates.

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use doorstep_core::domain::CaseId;
use doorstep_core::sync::protocol::{MAX_PULL_LIMIT, PullResponse, PulledChange};

use super::{Session, audit, policy};
use crate::access::Access;
use crate::error::ServiceError;
use crate::store::{self, CaseRecord, DeviceSync, FeedItem, Store, StoreTx};

/// Most feed rows one page looks through, so that a user who sees little of
/// a long feed still gets a bounded request (the store skips the rows that
/// are not the user's without reading them out: [`StoreTx::feed_for`]).
const SCAN_WINDOW: u64 = 100_000;

/// The cases looked at while reading one page, each read from the store once.
#[derive(Default)]
struct Cases(HashMap<CaseId, Option<CaseRecord>>);

impl Cases {
    fn get(
        &mut self,
        tx: &dyn StoreTx,
        case_id: CaseId,
    ) -> Result<Option<&CaseRecord>, ServiceError> {
        let record = match self.0.entry(case_id) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => slot.insert(tx.case(case_id)?),
        };
        Ok(record.as_ref())
    }
}

fn visible(
    tx: &dyn StoreTx,
    session: &Session,
    access: &Access,
    cases: &mut Cases,
    item: FeedItem,
) -> Result<Option<PulledChange>, ServiceError> {
    Ok(match item {
        FeedItem::Case { case_id } => match cases.get(tx, case_id)? {
            Some(record) if access.may_carry(record) => Some(PulledChange::Case {
                case: record.case.clone(),
            }),
            _ => None,
        },
        FeedItem::CaseRemoved { case_id, from } => {
            let still = cases
                .get(tx, case_id)?
                .is_some_and(|record| access.may_carry(record));
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
            let Some(record) = cases.get(tx, case_id)? else {
                return Ok(None);
            };
            if !access.may_carry(record) {
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

/// What a pull asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The last feed row the device has seen; 0 for everything.
    pub cursor: u64,
    /// The most rows to look through.
    pub limit: u32,
    /// The protocol version the request named, if it named one
    /// (remembered on the device for the console's devices page).
    pub protocol: Option<u32>,
    /// The app version the request named, if any (remembered likewise).
    pub app_version: Option<String>,
}

/// One page of the changes `session` may see after `page.cursor`.
///
/// `cursor` in the answer is the sequence number of the last feed row looked
/// at (visible or not); `more` says whether rows remain after it. The
/// device's last pull (its time, the position reached, its protocol
/// version) is remembered in the same write as the audit rows of what it
/// read.
pub fn pull(
    store: &dyn Store,
    session: &Session,
    page: Page,
    now: DateTime<Utc>,
) -> Result<PullResponse, ServiceError> {
    let Page {
        cursor,
        limit,
        protocol,
        app_version,
    } = page;
    let limit = limit.clamp(1, MAX_PULL_LIMIT);
    // The page is read in a read transaction; what was seen (the audit rows)
    // and the device's last pull are written in a short write transaction
    // after.
    let access = Access::of_session(session);
    let reader = access.feed_reader(session.device.id);
    let (changes, position, more, policy) = store::read(store, |tx| -> Result<_, ServiceError> {
        let mut changes = Vec::new();
        let through = cursor.saturating_add(SCAN_WINDOW);
        let rows = tx.feed_for(&reader, cursor, through, limit)?;
        // A full page ends at its last row; a shorter one looked through the
        // whole window, or to the end of the feed.
        let position = match rows.last() {
            Some((seq, _)) if rows.len() >= limit as usize => *seq,
            _ => through.min(tx.feed_last()?).max(cursor),
        };
        let mut cases = Cases::default();
        for (_, item) in rows {
            if let Some(change) = visible(tx, session, &access, &mut cases, item)? {
                changes.push(change);
            }
        }
        let more = !tx.feed_after(position, 1)?.is_empty();
        let policy = Some(policy::in_force(tx)?).filter(|published| published.version > 0);
        Ok((changes, position, more, policy))
    })?;
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
    store::write(store, |tx| -> Result<(), ServiceError> {
        for case_id in &cases_read {
            audit(tx, now, Some(session), "read", "case", *case_id)?;
        }
        for visit_id in &visits_read {
            audit(tx, now, Some(session), "read", "visit", *visit_id)?;
        }
        let reached = DeviceSync::Pull { cursor: position };
        super::devices::note_sync(tx, session, reached, protocol, app_version.as_deref(), now)
    })?;
    Ok(PullResponse {
        changes,
        cursor: position,
        more,
        deactivated: !session.device.active,
        policy,
    })
}
