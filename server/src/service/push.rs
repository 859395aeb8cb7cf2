//! `POST /v1/push`: admits a device's log entries one by one, in one transaction.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use doorstep_core::domain::{CaseId, DeviceId, VisitChange, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::sync::merge::{self, FoldedVisit, Refusal};
use doorstep_core::sync::protocol::{MAX_PUSH_OPS, OpOutcome, OpResult, PushResponse, RejectCode};

use super::{Session, audit, chain_check};
use crate::error::AppError;
use crate::store::{self, FeedItem, Store, StoreTx, StoredEntry, VisitRecord};

/// How many ops of a push ended each way, for the metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PushCounts {
    /// Stored and applied.
    pub applied: u64,
    /// Seen before.
    pub duplicate: u64,
    /// Refused.
    pub rejected: u64,
}

/// What one push knows of the visits it touches: each visit's stored log and
/// its fold, its record, its chain heads and the pusher's access to each case,
/// loaded from the store once and kept up to date as entries are stored, so
/// that admitting an entry costs the same however long its visit is.
#[derive(Default)]
struct Visits {
    logs: HashMap<VisitId, VisitLog>,
    /// Newest stored entry of each (visit, author) chain looked at.
    heads: HashMap<(VisitId, DeviceId), Option<LogEntry>>,
    /// Visits that took an entry, and whether any came from a reassigned agent.
    touched: BTreeMap<VisitId, bool>,
    /// The pusher's access to each case looked at.
    access: HashMap<CaseId, Access>,
}

/// One visit as the server holds it during a push.
struct VisitLog {
    /// The visit's record; `None` until its `planned` entry is admitted.
    record: Option<VisitRecord>,
    /// Every stored entry (admitted and refused), grouped by author in chain
    /// order, for the whole-log verification at the end of the push.
    stored: Vec<LogEntry>,
    /// The admitted entries, folded.
    folded: FoldedVisit,
    /// Whether an entry was stored in this push.
    changed: bool,
}

/// What the pushing user may do on a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// No such case.
    Unknown,
    /// Assigned now (primary or partner).
    Assigned,
    /// Assigned before, taken away since.
    Reassigned,
    /// Never assigned.
    Denied,
}

impl Visits {
    fn log(&mut self, tx: &dyn StoreTx, visit: VisitId) -> Result<&mut VisitLog, AppError> {
        Ok(match self.logs.entry(visit) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => {
                let record = tx.visit(visit)?;
                let mut stored = Vec::new();
                let mut admitted = Vec::new();
                for entry in tx.visit_entries(visit)? {
                    if entry.rejected.is_none() {
                        admitted.push(entry.entry.clone());
                    }
                    stored.push(entry.entry);
                }
                slot.insert(VisitLog {
                    record,
                    stored,
                    folded: FoldedVisit::new(visit, admitted),
                    changed: false,
                })
            }
        })
    }

    fn head(
        &mut self,
        tx: &dyn StoreTx,
        visit: VisitId,
        author: DeviceId,
    ) -> Result<Option<&LogEntry>, AppError> {
        let head = match self.heads.entry((visit, author)) {
            Entry::Occupied(found) => found.into_mut(),
            Entry::Vacant(slot) => slot.insert(tx.chain_head(visit, author)?),
        };
        Ok(head.as_ref())
    }

    /// Notes that `entry` was stored in its chain (admitted or refused).
    fn stored(&mut self, entry: &LogEntry) {
        self.heads
            .insert((entry.visit_id, entry.author), Some(entry.clone()));
        if let Some(log) = self.logs.get_mut(&entry.visit_id) {
            log.stored.push(entry.clone());
            log.changed = true;
        }
    }

    fn access(
        &mut self,
        tx: &dyn StoreTx,
        case_id: CaseId,
        session: &Session,
    ) -> Result<Access, AppError> {
        if let Some(access) = self.access.get(&case_id) {
            return Ok(*access);
        }
        let user = session.user.id;
        let access = match tx.case(case_id)? {
            None => Access::Unknown,
            Some(record) if record.case.assigned.includes(user) => Access::Assigned,
            Some(_) if tx.was_assigned(case_id, user)? => Access::Reassigned,
            Some(_) => Access::Denied,
        };
        self.access.insert(case_id, access);
        Ok(access)
    }
}

/// Admits `ops` pushed by `session`'s device, in order, in one transaction.
pub fn push(
    store: &dyn Store,
    session: &Session,
    ops: &[LogEntry],
    now: DateTime<Utc>,
) -> Result<(PushResponse, PushCounts), AppError> {
    if ops.len() > MAX_PUSH_OPS {
        return Err(AppError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_ops",
            format!("at most {MAX_PUSH_OPS} operations per push"),
        ));
    }
    store::write(store, |tx| {
        let mut visits = Visits::default();
        let mut counts = PushCounts::default();
        let mut not_applied = Vec::new();
        for entry in ops {
            let outcome = push_one(tx, session, entry, &mut visits)?;
            match outcome {
                OpOutcome::Applied => {
                    counts.applied += 1;
                    continue;
                }
                OpOutcome::Duplicate => counts.duplicate += 1,
                OpOutcome::Rejected { .. } => counts.rejected += 1,
            }
            not_applied.push(OpResult {
                op_id: entry.op_id,
                outcome,
            });
        }
        // Each visit that took an entry: its whole stored log verified once,
        // the result kept with the visit.
        for (visit, log) in &visits.logs {
            if log.changed && log.record.is_some() {
                chain_check::record(tx, *visit, &log.stored, now)?;
            }
        }
        // One audit row per visit changed, not per op.
        for (visit, reassigned) in &visits.touched {
            let action = if *reassigned {
                "push_reassigned"
            } else {
                "push"
            };
            audit(tx, now, Some(session), action, "visit", visit)?;
        }
        let response = PushResponse {
            applied: counts.applied,
            not_applied,
        };
        Ok((response, counts))
    })
}

/// The case an entry's visit belongs to, as far as the server can tell.
fn case_of(visit: Option<&VisitRecord>, entry: &LogEntry) -> Option<CaseId> {
    if let Some(visit) = visit {
        return Some(visit.case_id);
    }
    match merge::read_change(entry) {
        Ok(VisitChange::Planned { case_id, .. }) => Some(case_id),
        _ => None,
    }
}

fn push_one(
    tx: &dyn StoreTx,
    session: &Session,
    entry: &LogEntry,
    visits: &mut Visits,
) -> Result<OpOutcome, AppError> {
    if let Some(earlier) = tx.op_outcome(entry.op_id)? {
        // Op ids derived from the chain position name the position, so only
        // the very entry stored there is a retry; another one claiming its
        // place does not continue the chain.
        let stored = tx.entry(entry.visit_id, entry.author, entry.seq)?;
        if stored.is_none_or(|stored| stored.entry != *entry) {
            return Ok(OpOutcome::Rejected {
                code: RejectCode::ChainBroken,
            });
        }
        return Ok(match earlier {
            None => OpOutcome::Duplicate,
            Some(code) => OpOutcome::Rejected { code },
        });
    }
    let head = visits.head(tx, entry.visit_id, entry.author)?.cloned();
    let log = visits.log(tx, entry.visit_id)?;
    let verdict = merge::admit(
        entry,
        session.device.id,
        head.as_ref(),
        log.folded.history(),
    );
    if let Err(Refusal::Unlinked(code)) = verdict {
        // Not part of its chain: nothing is stored, a retry gets the same answer.
        return Ok(OpOutcome::Rejected { code });
    }
    let visit = log.record;
    let mut reassigned = false;
    let verdict = match case_of(visit.as_ref(), entry) {
        None => verdict,
        Some(case_id) => match visits.access(tx, case_id, session)? {
            Access::Unknown => Err(Refusal::Recorded(RejectCode::UnknownVisit)),
            Access::Assigned => verdict,
            Access::Reassigned => {
                // Finished offline on a case reassigned meanwhile: kept, flagged.
                reassigned = true;
                verdict
            }
            Access::Denied => Err(Refusal::Recorded(RejectCode::NotAssigned)),
        },
    };
    // Legal now, and also where its clock puts it in the visit's fold; if so
    // the fold takes it.
    let log = visits.log(tx, entry.visit_id)?;
    let verdict = verdict.and_then(|change| {
        let planned = match &change {
            VisitChange::Planned { case_id, .. } => Some(*case_id),
            _ => None,
        };
        let attached = match &change {
            VisitChange::Attached { attachment } => Some(attachment.clone()),
            _ => None,
        };
        log.folded
            .admit(entry, change)
            .map(|()| (planned, attached))
            .map_err(Refusal::Recorded)
    });
    let rejected = verdict.as_ref().err().map(|refusal| refusal.code());
    tx.insert_entry(&StoredEntry {
        entry: entry.clone(),
        rejected,
        reassigned,
    })?;
    tx.record_op(entry.op_id, session.device.id, rejected)?;
    visits.stored(entry);
    let (planned, attached) = match verdict {
        Ok(admitted) => admitted,
        Err(refusal) => {
            tracing::info!(op = %entry.op_id, code = refusal.code().code(), "op rejected");
            // A refused entry of a known visit still goes to the other devices,
            // flagged, so the entries after it in its chain link on their side.
            if let Some(visit) = &visit {
                tx.append_feed(&FeedItem::VisitEntry {
                    case_id: visit.case_id,
                    visit_id: entry.visit_id,
                    author: entry.author,
                    seq: entry.seq,
                })?;
            }
            return Ok(OpOutcome::Rejected {
                code: refusal.code(),
            });
        }
    };
    let case_id = match (&visit, planned) {
        (Some(visit), _) => visit.case_id,
        (None, Some(case_id)) => {
            let record = VisitRecord {
                id: entry.visit_id,
                case_id,
            };
            tx.insert_visit(&record)?;
            visits.log(tx, entry.visit_id)?.record = Some(record);
            case_id
        }
        // `admit` only accepts a change to a visit the server knows.
        (None, _) => return Err(AppError::internal(&"admitted change to an unknown visit")),
    };
    if let Some(attachment) = &attached {
        // The device may now upload the bytes (service::attachments).
        super::attachments::record(tx, entry.visit_id, attachment)?;
    }
    tx.append_feed(&FeedItem::VisitEntry {
        case_id,
        visit_id: entry.visit_id,
        author: entry.author,
        seq: entry.seq,
    })?;
    *visits.touched.entry(entry.visit_id).or_default() |= reassigned;
    Ok(OpOutcome::Applied)
}
