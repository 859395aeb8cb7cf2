//! The merge rules both sides apply to a pushed visit log entry: whether it is
//! admitted into the visit, refused but kept in its chain, or refused outright.
//!
//! The rules are a pure function of the entry, the chain head it must follow and
//! the visit as folded so far, so the server and (later) the device engine share
//! them and they are tested without a database.
//!
//! Two kinds of refusal are told apart, because "a rejected op never blocks the
//! ops behind it":
//! - [`Refusal::Unlinked`]: the entry does not belong in its chain (edited,
//!   pushed by another device, out of order). The server stores nothing, and the
//!   device must not build on it.
//! - [`Refusal::Recorded`]: the entry continues its chain correctly but the visit
//!   cannot take it (unknown visit, unreadable payload, a transition the state
//!   machine forbids). The server records it in the chain, flagged rejected and
//!   left out of the fold, so the next entry of the same chain still links.
//!
//! Scalar fields are last-writer-wins by hybrid logical clock and notes and
//! attachments are sets: that is [`VisitHistory::fold`], which the server runs
//! over the admitted entries.

use chrono::{DateTime, Duration, Utc};

use crate::clock::Hlc;
use crate::domain::{DeviceId, VisitChange, VisitHistory, VisitId};
use crate::event_log::{GENESIS_HASH, LogEntry, derived_op_id};
use crate::sync::protocol::RejectCode;

/// Why an entry was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The entry does not continue its chain; nothing of it is stored.
    Unlinked(RejectCode),
    /// The entry continues its chain but is refused; it is stored in the chain,
    /// flagged rejected, and left out of the visit's fold.
    Recorded(RejectCode),
}

impl Refusal {
    /// The machine-readable reason sent to the device.
    pub fn code(self) -> RejectCode {
        match self {
            Refusal::Unlinked(code) | Refusal::Recorded(code) => code,
        }
    }

    /// Whether the entry takes its place in the chain despite the refusal.
    pub fn is_recorded(self) -> bool {
        matches!(self, Refusal::Recorded(_))
    }
}

/// Checks that `entry` is intact, written by `pusher` and the next link of its
/// chain, whose newest stored entry is `chain_head` (`None` for an empty chain).
///
/// Errors: [`RejectCode::HashMismatch`], [`RejectCode::WrongDevice`],
/// [`RejectCode::ChainBroken`].
pub fn check_link(
    entry: &LogEntry,
    pusher: DeviceId,
    chain_head: Option<&LogEntry>,
) -> Result<(), RejectCode> {
    if entry.hash != entry.compute_hash() {
        return Err(RejectCode::HashMismatch);
    }
    if entry.author != pusher {
        return Err(RejectCode::WrongDevice);
    }
    let links = match chain_head {
        None => entry.seq == 0 && entry.prev_hash == GENESIS_HASH,
        Some(head) => {
            head.visit_id == entry.visit_id
                && head.author == entry.author
                && head.seq.checked_add(1) == Some(entry.seq)
                && head.hash == entry.prev_hash
        }
    };
    if links {
        Ok(())
    } else {
        Err(RejectCode::ChainBroken)
    }
}

/// Checks what an entry states about itself, before anything is looked up:
/// its chain position fits the store (at most `i64::MAX`), and its op id, if
/// it is a derived one (a version 8 UUID, [`derived_op_id`]), is the one of
/// its own position. So no device can take the op id of a position in
/// another device's chain, which would make that device's own entry there
/// look like a replay.
///
/// Errors: [`RejectCode::OutOfRange`], [`RejectCode::OpIdMismatch`].
///
/// [`derived_op_id`]: crate::event_log::derived_op_id
pub fn check_entry(entry: &LogEntry) -> Result<(), RejectCode> {
    if i64::try_from(entry.seq).is_err() {
        return Err(RejectCode::OutOfRange);
    }
    if entry.op_id.get_version_num() == 8
        && entry.op_id != derived_op_id(entry.visit_id, entry.author, entry.seq)
    {
        return Err(RejectCode::OpIdMismatch);
    }
    Ok(())
}

/// Checks an entry's clock is not further ahead of `now` than `max_skew`: a
/// stamp far in the future would win every later change to the same field
/// and order the visit's submission after any review. Also refuses stamps
/// beyond what the store keeps (milliseconds past `i64::MAX`).
///
/// Errors: [`RejectCode::ClockAhead`].
pub fn check_clock(
    entry: &LogEntry,
    now: DateTime<Utc>,
    max_skew: Duration,
) -> Result<(), RejectCode> {
    let limit = (now + max_skew).timestamp_millis();
    match i64::try_from(entry.hlc.millis) {
        Ok(millis) if millis <= limit => Ok(()),
        _ => Err(RejectCode::ClockAhead),
    }
}

/// Reads the change an entry records; its `kind` must match the payload's.
///
/// Errors: [`RejectCode::InvalidPayload`].
pub fn read_change(entry: &LogEntry) -> Result<VisitChange, RejectCode> {
    let change: VisitChange =
        serde_json::from_str(&entry.payload).map_err(|_| RejectCode::InvalidPayload)?;
    if change.kind() == entry.kind {
        Ok(change)
    } else {
        Err(RejectCode::InvalidPayload)
    }
}

/// Checks that a change pushed by a device may be applied to the visit as folded
/// so far (`None` when the server does not know the visit): the state-machine
/// part of [`crate::rules::check`] ([`crate::rules::check_state`]), which
/// judges the content too and needs the case, template and policy.
///
/// Errors: [`RejectCode::UnknownVisit`], [`RejectCode::IllegalTransition`].
pub fn check_transition(
    seq: u64,
    change: &VisitChange,
    history: Option<&VisitHistory>,
    device: DeviceId,
) -> Result<(), RejectCode> {
    if matches!(change, VisitChange::Planned { .. }) && history.is_none() && seq != 0 {
        return Err(RejectCode::IllegalTransition);
    }
    crate::rules::check_state(change, history.map(|h| &h.visit), device)
        .map(|_| ())
        .map_err(|refusal| refusal.code())
}

/// Checks a change against what the visit holds *now*, whatever the change's
/// stamp: an approved visit stays as the supervisor approved it, and only the
/// feedback given to the customer comes after. (The rules otherwise judge an
/// entry against the visit as it stood at its stamp,
/// [`FoldedVisit::history_at`], and an entry stamped before the approval
/// would otherwise slip in ahead of it.)
///
/// Errors: [`RejectCode::IllegalTransition`].
pub fn check_not_frozen(
    change: &VisitChange,
    current: Option<&VisitHistory>,
) -> Result<(), RejectCode> {
    let approved = current.is_some_and(|h| h.visit.state == crate::domain::VisitState::Approved);
    if approved && !matches!(change, VisitChange::FeedbackRecorded { .. }) {
        Err(RejectCode::IllegalTransition)
    } else {
        Ok(())
    }
}

/// Decides whether the server admits one entry pushed by device `pusher`.
///
/// `chain_head` is the newest stored entry (admitted or recorded-rejected) of the
/// chain of `(entry.visit_id, entry.author)`; `history` is the visit folded from
/// its admitted entries, `None` if the server does not know the visit.
///
/// On success returns the change to apply. On refusal, [`Refusal::Unlinked`]
/// for a hash mismatch, a wrong device or a broken chain, and
/// [`Refusal::Recorded`] for an invalid payload, an unknown visit or an illegal
/// transition.
pub fn admit(
    entry: &LogEntry,
    pusher: DeviceId,
    chain_head: Option<&LogEntry>,
    history: Option<&VisitHistory>,
) -> Result<VisitChange, Refusal> {
    check_link(entry, pusher, chain_head).map_err(Refusal::Unlinked)?;
    let change = read_change(entry).map_err(Refusal::Recorded)?;
    check_transition(entry.seq, &change, history, entry.author).map_err(Refusal::Recorded)?;
    Ok(change)
}

/// Checks that an admitted change also fits where its clock puts it: folded
/// with the visit's admitted entries in clock order, it must not be skipped
/// by the state machine nor make any later entry skipped. `before` is the
/// visit folded from `admitted` (`None` when nothing is admitted yet).
/// Returns the visit folded with the entry.
///
/// [`admit`] checks the change against the visit's current state; an entry
/// stamped earlier than entries already admitted (a partner's phone with a
/// slow clock, an op that waited in an outbox) lands in the middle of the
/// fold, where it could otherwise be skipped silently. Refusing it instead
/// keeps it visible to the agent as a rejected op: nothing typed is lost.
///
/// Errors: [`RejectCode::IllegalTransition`].
pub fn check_fold_position(
    admitted: &[LogEntry],
    before: Option<&VisitHistory>,
    entry: &LogEntry,
) -> Result<VisitHistory, RejectCode> {
    let newest_admitted = admitted.iter().map(|e| e.hlc).max();
    if let (Some(history), Some(newest)) = (before, newest_admitted)
        && entry.hlc > newest
    {
        // Stamped after everything admitted: the fold with it is the fold so
        // far plus this one change, so no need to fold the whole visit again.
        let change = read_change(entry)?;
        let mut after = history.clone();
        after.apply(change, entry.hlc, entry.author);
        return if after.skipped > history.skipped {
            Err(RejectCode::IllegalTransition)
        } else {
            Ok(after)
        };
    }
    let before = before.map_or(0, |history| history.skipped);
    let mut with_entry = admitted.to_vec();
    with_entry.push(entry.clone());
    let after = VisitHistory::fold(entry.visit_id, &with_entry)
        .map_err(|_| RejectCode::IllegalTransition)?;
    if after.skipped > before {
        Err(RejectCode::IllegalTransition)
    } else {
        Ok(after)
    }
}

/// A visit's admitted entries and their fold, kept up to date as entries are
/// admitted one at a time.
///
/// Admitting an entry stamped after every admitted one (the usual case: a
/// device pushing its outbox in order) applies that one change to the fold;
/// only an entry stamped earlier refolds the visit, as
/// [`check_fold_position`] does. So a push of `n` entries of one visit costs
/// `n` changes, not `n` whole-visit folds.
#[derive(Debug, Clone)]
pub struct FoldedVisit {
    admitted: Vec<LogEntry>,
    history: Option<VisitHistory>,
    newest: Option<Hlc>,
}

impl FoldedVisit {
    /// Folds the admitted entries of visit `visit_id` (any order), once.
    pub fn new(visit_id: VisitId, admitted: Vec<LogEntry>) -> FoldedVisit {
        let history = if admitted.is_empty() {
            None
        } else {
            VisitHistory::fold(visit_id, &admitted).ok()
        };
        let newest = admitted.iter().map(|entry| entry.hlc).max();
        FoldedVisit {
            admitted,
            history,
            newest,
        }
    }

    /// The visit as folded so far; `None` while nothing foldable is admitted.
    pub fn history(&self) -> Option<&VisitHistory> {
        self.history.as_ref()
    }

    /// The visit as it stood just before `stamp`: the fold so far when
    /// `stamp` is after every admitted entry (the usual case, no work), else
    /// the fold of the admitted entries stamped before it. The rules judge an
    /// entry against this, not against entries stamped after it that merely
    /// arrived first, so the visit ends the same in every arrival order.
    pub fn history_at(&self, stamp: Hlc) -> Option<std::borrow::Cow<'_, VisitHistory>> {
        use std::borrow::Cow;
        match (&self.history, self.newest) {
            (Some(history), Some(newest)) if stamp > newest => Some(Cow::Borrowed(history)),
            (None, _) => None,
            _ => {
                let before: Vec<LogEntry> = self
                    .admitted
                    .iter()
                    .filter(|entry| entry.hlc < stamp)
                    .cloned()
                    .collect();
                let visit_id = self.admitted.first()?.visit_id;
                VisitHistory::fold(visit_id, &before).ok().map(Cow::Owned)
            }
        }
    }

    /// The admitted entries, in the order they were admitted.
    pub fn admitted(&self) -> &[LogEntry] {
        &self.admitted
    }

    /// Admits `entry`, whose change [`admit`] returned, if it fits where its
    /// clock puts it (the rule of [`check_fold_position`]); on refusal
    /// nothing changes.
    ///
    /// Errors: [`RejectCode::IllegalTransition`].
    pub fn admit(&mut self, entry: &LogEntry, change: VisitChange) -> Result<(), RejectCode> {
        match (&mut self.history, self.newest) {
            (Some(history), Some(newest)) if entry.hlc > newest => {
                // Stamped after everything admitted: the fold with it is the
                // fold so far plus this one change. A refused change leaves
                // the fold as it was (`Visit::apply` changes nothing on error).
                let skipped = history.skipped;
                history.apply(change, entry.hlc, entry.author);
                if history.skipped > skipped {
                    history.skipped = skipped;
                    return Err(RejectCode::IllegalTransition);
                }
            }
            _ => {
                let after = check_fold_position(&self.admitted, self.history.as_ref(), entry)?;
                self.history = Some(after);
            }
        }
        self.admitted.push(entry.clone());
        self.newest = self.newest.max(Some(entry.hlc));
        Ok(())
    }
}

#[cfg(test)]
#[path = "merge_tests.rs"]
mod tests;
