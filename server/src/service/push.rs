//! `POST /v1/push`: admits a device's log entries one by one, in one transaction.
//!
//! Each entry passes, in order: the entry's own bounds
//! ([`merge::check_entry`]: an op id naming its own position, numbers the
//! store can hold), idempotency (an op seen before), the pusher's right to
//! push to the case at all ([`Access::may_push`]; an entry from someone never
//! assigned is kept apart in the quarantine, in no chain), its chain link
//! ([`merge::check_link`]), a readable payload, a clock not too far ahead of
//! the server's, the same rules the phone ran before writing it
//! ([`rules::check`]), and its place in the visit's clock order. Entries that
//! fail before their link is known are not stored; later refusals are stored
//! in their chain, flagged, so the device's next entries still link. Every
//! refusal leaves an audit row with the visit's id and the code.
//!
//! # Statements
//!
//! Entries are judged one by one, but the store is asked in batches: the
//! remembered outcomes of every op id of the push in one query
//! ([`StoreTx::op_outcomes`]), each visit's record and stored log once (its
//! chain heads, and the entry a re-sent op id names, are read off that log),
//! and what the push stores (entries, op outcomes, audit rows) is kept until
//! every entry is judged and then written with one statement per table
//! ([`StoreTx::insert_entries`], [`StoreTx::record_ops`],
//! [`StoreTx::append_audits`]). What the judging of a later entry needs of an
//! earlier one (its outcome, its place in its chain) is kept in memory
//! meanwhile; the visits' locks, taken first, keep anyone else from changing
//! what was read.
//!
//! On PostgreSQL each statement is a round trip. A push of N entries, all
//! new, to V new visits of C cases and one template, none an attachment,
//! took 3N + 7V + C + 6 round trips (transaction, policies, three per entry:
//! its op id's outcome, the entry, the op; seven per visit: lock, record,
//! log, chain head, record stored, chain check, audit row; case, template,
//! two for the feed, commit), and now takes 5V + C + 10 (lock, record, log,
//! record stored, chain check per visit; one statement each for the op ids'
//! outcomes, the entries, the ops and the audit rows). Counted from the
//! database's statement log: a visit of 38 entries went from 128 to 16, four
//! visits of one case in one push of 152 entries (a device's day) from 491
//! to 31, that push sent again (all duplicates) from 311 to 16. Each entry
//! declaring an attachment adds one, before and after.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{Case, CaseId, DeviceId, VisitChange, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::Policy;
use doorstep_core::rules::{self, Facts};
use doorstep_core::sync::merge::{self, FoldedVisit};
use doorstep_core::sync::protocol::{MAX_PUSH_OPS, OpOutcome, OpResult, PushResponse, RejectCode};
use uuid::Uuid;

use super::{Session, chain_check, policy, summaries};
use crate::access::{Access, PushAccess};
use crate::error::ServiceError;
use crate::store::{
    self, AuditRecord, DeviceSync, FeedItem, Lock, OpRecord, QuarantinedEntry, Store, StoreTx,
    StoredEntry, VisitRecord,
};

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
    /// Newest stored entry of each (visit, author) chain looked at, read off
    /// the visit's log.
    heads: HashMap<(VisitId, DeviceId), Option<LogEntry>>,
    /// The outcome of each op id of the push seen before: remembered by the
    /// store before the push, or decided earlier in it.
    outcomes: HashMap<Uuid, Option<RejectCode>>,
    /// Visits that took an entry, and whether any came from a reassigned agent.
    touched: BTreeMap<VisitId, bool>,
    /// The pusher's access to each case looked at, with the case.
    access: HashMap<CaseId, (CaseAccess, Option<Arc<Case>>)>,
    /// Checklist templates looked at, by (key, version).
    templates: HashMap<(String, u32), Option<Arc<ChecklistTemplate>>>,
    /// The field policies a change may meet, the one in force first
    /// ([`policy::admitted`]).
    policies: Arc<[Policy]>,
}

/// What a push is checked against besides the store (which holds the bank's
/// policy): the server's clock.
#[derive(Debug, Clone)]
pub struct PushRules {
    /// The server's time now.
    pub now: DateTime<Utc>,
    /// How far ahead of `now` an entry's clock may be.
    pub max_clock_skew: Duration,
    /// The protocol version the push speaks, remembered on the device for
    /// the console's devices page (`None`: not known).
    pub protocol: Option<u32>,
    /// The app version the phone named, remembered likewise (`None`: it
    /// named none; the one remembered before is kept).
    pub app_version: Option<String>,
}

/// The default bound on how far ahead of the server's clock a phone's entry
/// may be stamped: phones keep network time, so hours ahead means a wrong
/// clock, and a stamp that far ahead would win every later change.
pub const MAX_CLOCK_SKEW_HOURS: i64 = 4;

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
enum CaseAccess {
    /// No such case.
    Unknown,
    /// A case the store holds, and what the pusher may do on it.
    Known(PushAccess),
}

impl Visits {
    fn log(&mut self, tx: &dyn StoreTx, visit: VisitId) -> Result<&mut VisitLog, ServiceError> {
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

    /// The newest stored entry of `author`'s chain for `visit` (the one at
    /// the highest position), read off the visit's log: every entry stored
    /// before the push and those stored in it.
    fn head(
        &mut self,
        tx: &dyn StoreTx,
        visit: VisitId,
        author: DeviceId,
    ) -> Result<Option<LogEntry>, ServiceError> {
        if let Some(head) = self.heads.get(&(visit, author)) {
            return Ok(head.clone());
        }
        let log = self.log(tx, visit)?;
        let head = log
            .stored
            .iter()
            .filter(|entry| entry.author == author)
            .max_by_key(|entry| entry.seq)
            .cloned();
        self.heads.insert((visit, author), head.clone());
        Ok(head)
    }

    /// The stored entry at `author`'s position `seq` in `visit`.
    fn stored_at(
        &mut self,
        tx: &dyn StoreTx,
        visit: VisitId,
        author: DeviceId,
        seq: u64,
    ) -> Result<Option<&LogEntry>, ServiceError> {
        let log = self.log(tx, visit)?;
        Ok(log
            .stored
            .iter()
            .rev()
            .find(|entry| entry.author == author && entry.seq == seq))
    }

    /// Notes that `entry` was stored in its chain (admitted or refused). Its
    /// visit's log was read before (judging the entry needs it).
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
        access: &Access,
    ) -> Result<(CaseAccess, Option<Arc<Case>>), ServiceError> {
        if let Some(found) = self.access.get(&case_id) {
            return Ok(found.clone());
        }
        let found = match tx.case(case_id)? {
            None => (CaseAccess::Unknown, None),
            Some(record) => (
                CaseAccess::Known(access.may_push(tx, &record)?),
                Some(Arc::new(record.case)),
            ),
        };
        self.access.insert(case_id, found.clone());
        Ok(found)
    }

    fn template(
        &mut self,
        tx: &dyn StoreTx,
        key: &str,
        version: u32,
    ) -> Result<Option<Arc<ChecklistTemplate>>, ServiceError> {
        let slot = (key.to_owned(), version);
        if let Some(found) = self.templates.get(&slot) {
            return Ok(found.clone());
        }
        let found = tx.template(key, version)?.map(Arc::new);
        self.templates.insert(slot, found.clone());
        Ok(found)
    }
}

/// What a push stores, kept until every entry is judged, then written with
/// one statement per table.
#[derive(Default)]
struct Writes {
    /// The entries stored in their chains, in push order.
    entries: Vec<StoredEntry>,
    /// The outcome of each op stored, in push order.
    ops: Vec<OpRecord>,
    /// Audit rows, in the order they were decided.
    audit: Vec<AuditRecord>,
}

/// Admits `ops` pushed by `session`'s device, in order, in one transaction.
pub fn push(
    store: &dyn Store,
    session: &Session,
    ops: &[LogEntry],
    checks: &PushRules,
) -> Result<(PushResponse, PushCounts), ServiceError> {
    let now = checks.now;
    if ops.len() > MAX_PUSH_OPS {
        return Err(ServiceError::TooManyOps);
    }
    // The visits this push writes to, each held alone until it commits (in
    // id order, so two pushes never wait for each other in a circle); pushes
    // to other visits run alongside.
    let touched: BTreeSet<VisitId> = ops.iter().map(|entry| entry.visit_id).collect();
    store::write(store, |tx| {
        for visit in &touched {
            tx.lock(Lock::Visit(*visit))?;
        }
        let mut visits = Visits {
            policies: policy::admitted(tx, now)?.into(),
            outcomes: earlier_outcomes(tx, ops)?,
            ..Visits::default()
        };
        let mut writes = Writes::default();
        let mut counts = PushCounts::default();
        let mut not_applied = Vec::new();
        for entry in ops {
            let outcome = push_one(tx, session, entry, &mut visits, &mut writes, checks)?;
            match outcome {
                OpOutcome::Applied => {
                    counts.applied += 1;
                    continue;
                }
                OpOutcome::Duplicate => counts.duplicate += 1,
                OpOutcome::Rejected { code } => {
                    counts.rejected += 1;
                    // Every refused op leaves an audit row: ids and its code
                    // (as `audit_refused` writes it).
                    writes.audit.push(AuditRecord {
                        at: now,
                        user: Some(session.user.id),
                        device: Some(session.device.id),
                        action: "op_refused".into(),
                        target_kind: "visit".into(),
                        target_id: entry.visit_id.to_string(),
                        code: Some(code.code().into()),
                    });
                }
            }
            not_applied.push(OpResult {
                op_id: entry.op_id,
                outcome,
            });
        }
        tx.insert_entries(&writes.entries)?;
        tx.record_ops(&writes.ops)?;
        // Each visit that took an entry: its whole stored log verified once,
        // the result kept with the visit, and its fold kept as its summary.
        for (visit, log) in &visits.logs {
            if log.changed && log.record.is_some() {
                chain_check::record(tx, *visit, &log.stored, now)?;
                if let Some(history) = log.folded.history() {
                    summaries::keep(tx, history)?;
                }
            }
        }
        // One audit row per visit changed, not per op (as `audit` writes it).
        for (visit, reassigned) in &visits.touched {
            let action = if *reassigned {
                "push_reassigned"
            } else {
                "push"
            };
            writes.audit.push(AuditRecord {
                at: now,
                user: Some(session.user.id),
                device: Some(session.device.id),
                action: action.into(),
                target_kind: "visit".into(),
                target_id: visit.to_string(),
                code: None,
            });
        }
        tx.append_audits(&writes.audit)?;
        super::devices::note_sync(
            tx,
            session,
            DeviceSync::Push,
            checks.protocol,
            checks.app_version.as_deref(),
            now,
        )?;
        let response = PushResponse {
            applied: counts.applied,
            not_applied,
        };
        Ok((response, counts))
    })
}

/// The outcomes the store remembers of the op ids of `ops`, in one query.
/// Only entries within bounds ([`merge::check_entry`]) are asked about: the
/// others are refused before their op id is looked at. Read under the
/// visits' locks, so they hold for the whole push: an op id that passes is
/// derived from its own visit's position, or is a random one (phones of
/// older versions), which a push to another visit could only send by
/// forging it; then one of the two pushes fails on the op id's unique key,
/// as it did when each op id was looked up on its own.
fn earlier_outcomes(
    tx: &dyn StoreTx,
    ops: &[LogEntry],
) -> Result<HashMap<Uuid, Option<RejectCode>>, ServiceError> {
    let mut asked = Vec::with_capacity(ops.len());
    let mut seen = BTreeSet::new();
    for entry in ops {
        if merge::check_entry(entry).is_ok() && seen.insert(entry.op_id) {
            asked.push(entry.op_id);
        }
    }
    let answers = tx.op_outcomes(&asked)?;
    if answers.len() != asked.len() {
        return Err(ServiceError::internal(
            &"op outcomes do not match the op ids",
        ));
    }
    Ok(asked
        .into_iter()
        .zip(answers)
        .filter_map(|(op_id, outcome)| Some((op_id, outcome?)))
        .collect())
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
    writes: &mut Writes,
    checks: &PushRules,
) -> Result<OpOutcome, ServiceError> {
    // Bounds first: an op id or a position the store cannot take never
    // reaches a query.
    if let Err(code) = merge::check_entry(entry) {
        return Ok(OpOutcome::Rejected { code });
    }
    if let Some(earlier) = visits.outcomes.get(&entry.op_id).copied() {
        // Op ids derived from the chain position name the position, so only
        // the very entry stored there is a retry; another one claiming its
        // place does not continue the chain.
        let stored = visits.stored_at(tx, entry.visit_id, entry.author, entry.seq)?;
        if stored.is_none_or(|stored| stored != entry) {
            return Ok(OpOutcome::Rejected {
                code: RejectCode::ChainBroken,
            });
        }
        return Ok(match earlier {
            None => OpOutcome::Duplicate,
            Some(code) => OpOutcome::Rejected { code },
        });
    }
    if let Some(code) = keep_apart(tx, session, entry, visits, checks.now)? {
        return Ok(OpOutcome::Rejected { code });
    }
    let head = visits.head(tx, entry.visit_id, entry.author)?;
    if let Err(code) = merge::check_link(entry, session.device.id, head.as_ref()) {
        // Not part of its chain: nothing is stored, a retry gets the same answer.
        return Ok(OpOutcome::Rejected { code });
    }
    let verdict = admit(tx, session, entry, visits, checks)?;
    let log = visits.log(tx, entry.visit_id)?;
    let visit = log.record;
    let reassigned = verdict.reassigned;
    let rejected = verdict.change.as_ref().err().copied();
    writes.entries.push(StoredEntry {
        entry: entry.clone(),
        rejected,
        reassigned,
    });
    writes.ops.push(OpRecord {
        op_id: entry.op_id,
        device: session.device.id,
        rejected,
    });
    visits.outcomes.insert(entry.op_id, rejected);
    visits.stored(entry);
    let change = match verdict.change {
        Ok(change) => change,
        Err(code) => {
            tracing::info!(op = %entry.op_id, code = code.code(), "op rejected");
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
            return Ok(OpOutcome::Rejected { code });
        }
    };
    let case_id = match (&visit, &change) {
        (Some(visit), _) => visit.case_id,
        (None, VisitChange::Planned { case_id, .. }) => {
            let record = VisitRecord {
                id: entry.visit_id,
                case_id: *case_id,
            };
            tx.insert_visit(&record)?;
            visits.log(tx, entry.visit_id)?.record = Some(record);
            *case_id
        }
        // The rules admit only a `planned` change to a visit not known yet.
        (None, _) => {
            return Err(ServiceError::internal(
                &"admitted change to an unknown visit",
            ));
        }
    };
    if let VisitChange::Attached { attachment } = &change {
        // The device may now upload the bytes (service::attachments).
        super::attachments::record(tx, entry.visit_id, entry.author, attachment)?;
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

/// Keeps an entry apart, in the quarantine, when its pusher may not push to
/// its visit at all: it is stored in no chain, so it never reaches the
/// visit's agents or supervisor, and nothing the pusher sends can break
/// their chains. `None` when the pusher may push (or the case is unknown,
/// which the rules refuse later).
fn keep_apart(
    tx: &dyn StoreTx,
    session: &Session,
    entry: &LogEntry,
    visits: &mut Visits,
    now: DateTime<Utc>,
) -> Result<Option<RejectCode>, ServiceError> {
    let record = visits.log(tx, entry.visit_id)?.record;
    let Some(case_id) = case_of(record.as_ref(), entry) else {
        return Ok(None);
    };
    let (access, _) = visits.access(tx, case_id, &Access::of_session(session))?;
    if access != CaseAccess::Known(PushAccess::Denied) {
        return Ok(None);
    }
    let code = RejectCode::NotAssigned;
    tx.quarantine(&QuarantinedEntry {
        entry: entry.clone(),
        user: session.user.id,
        device: session.device.id,
        case_id: Some(case_id),
        code,
        at: now,
    })?;
    Ok(Some(code))
}

/// What becomes of an entry that continues its chain.
struct Verdict {
    /// The change, admitted, or the code it is refused with.
    change: Result<VisitChange, RejectCode>,
    /// Pushed by an agent the case was reassigned away from.
    reassigned: bool,
}

/// Judges an entry that continues its chain: a readable change, to a case
/// the pusher may push to, stamped no further ahead than the skew allows,
/// passing the rules the phone ran, and fitting where its clock puts it in
/// the visit. On success the visit's fold has taken it.
fn admit(
    tx: &dyn StoreTx,
    session: &Session,
    entry: &LogEntry,
    visits: &mut Visits,
    checks: &PushRules,
) -> Result<Verdict, ServiceError> {
    let refused = |code| Verdict {
        change: Err(code),
        reassigned: false,
    };
    let change = match merge::read_change(entry) {
        Ok(change) => change,
        Err(code) => return Ok(refused(code)),
    };
    let record = visits.log(tx, entry.visit_id)?.record;
    let Some(case_id) = case_of(record.as_ref(), entry) else {
        return Ok(refused(RejectCode::UnknownVisit));
    };
    let (access, case) = visits.access(tx, case_id, &Access::of_session(session))?;
    let (reassigned, case) = match (access, case) {
        (CaseAccess::Known(PushAccess::Assigned), Some(case)) => (false, case),
        // Finished offline on a case reassigned meanwhile: kept, flagged.
        (CaseAccess::Known(PushAccess::Reassigned), Some(case)) => (true, case),
        (CaseAccess::Known(PushAccess::Denied), _) => return Ok(refused(RejectCode::NotAssigned)),
        _ => return Ok(refused(RejectCode::UnknownVisit)),
    };
    let refused = |code| Verdict {
        change: Err(code),
        reassigned,
    };
    if let Err(code) = merge::check_clock(entry, checks.now, checks.max_clock_skew) {
        return Ok(refused(code));
    }
    let (key, version) = match (&change, visits.log(tx, entry.visit_id)?.folded.history()) {
        (
            VisitChange::Planned {
                template_key,
                template_version,
                ..
            },
            _,
        ) => (template_key.clone(), *template_version),
        (_, Some(history)) => (
            history.visit.template_key.clone(),
            history.visit.template_version,
        ),
        (_, None) => return Ok(refused(RejectCode::UnknownVisit)),
    };
    let template = visits.template(tx, &key, version)?;
    // No visit starts on a version retired before it was planned: the rules
    // then find no template, as for an unknown one.
    let template = match &change {
        VisitChange::Planned { .. }
            if !super::templates::may_start_on(tx, &key, version, entry.device_time)? =>
        {
            None
        }
        _ => template,
    };
    let policies = Arc::clone(&visits.policies);
    let log = visits.log(tx, entry.visit_id)?;
    if let Err(code) = merge::check_not_frozen(&change, log.folded.history()) {
        return Ok(refused(code));
    }
    // The visit as it stood at the entry's stamp: an entry stamped before
    // others that merely arrived first is judged as if it had come first.
    let at_stamp = log.folded.history_at(entry.hlc);
    let history = at_stamp.as_deref();
    let facts = |policy| Facts {
        visit: history.map(|h| &h.visit),
        history,
        case: &case,
        template: template.as_deref(),
        policy,
        author: session.user.id,
        device: session.device.id,
        at: entry.device_time,
    };
    // The policy in force, or one it replaced within the grace period (a
    // phone that had not pulled the new one yet); the refusal told is the
    // one of the policy in force.
    let mut policies = policies.iter();
    let in_force = policies
        .next()
        .ok_or_else(|| ServiceError::internal(&"no policy"))?;
    if let Err(refusal) = rules::check(&change, &facts(in_force))
        && !policies.any(|older| rules::check(&change, &facts(older)).is_ok())
    {
        return Ok(refused(refusal.code()));
    }
    // Legal now, and also where its clock puts it in the visit's fold; if so
    // the fold takes it.
    let change = log.folded.admit(entry, change.clone()).map(|()| change);
    Ok(Verdict { change, reassigned })
}
