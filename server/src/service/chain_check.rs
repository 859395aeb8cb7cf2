//! The server's verification of a visit's whole stored log: every author's hash
//! chain, re-hashed from the stored entries, with the result kept with the visit.
//!
//! Each pushed entry is checked as it arrives (`merge::check_link`); this
//! re-verifies what is stored, so an entry changed or removed at rest shows up
//! as a broken chain the next time the visit takes an entry.

use chrono::{DateTime, Utc};
use doorstep_core::domain::VisitId;
use doorstep_core::event_log::{LogEntry, verify_visit_log};

use crate::store::{ChainBreak, ChainCheck, StoreError, StoreTx};

/// Verifies `stored`, every stored entry of `visit` (admitted and refused;
/// each author's entries in chain order, authors interleaved in any way), and
/// stores the result with the visit.
pub fn record(
    tx: &dyn StoreTx,
    visit: VisitId,
    stored: &[LogEntry],
    now: DateTime<Utc>,
) -> Result<ChainCheck, StoreError> {
    let check = verify(visit, stored, now);
    tx.set_chain_check(visit, &check)?;
    Ok(check)
}

/// The verification of `stored` as of `now`, without storing it.
pub fn verify(visit: VisitId, stored: &[LogEntry], now: DateTime<Utc>) -> ChainCheck {
    let broken = verify_visit_log(visit, stored, &[])
        .err()
        .map(|link| ChainBreak {
            author: link.author,
            seq: stored.get(link.index).map(|entry| entry.seq),
            reason: link.reason,
        });
    ChainCheck {
        checked_at: now,
        entries: stored.len() as u64,
        broken,
    }
}
