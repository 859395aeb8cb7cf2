//! Each visit's summary: the fold of its admitted entries, kept as one row
//! by every write that admits an entry (a push, a review), so the console's
//! queue, dashboard and export read one row per visit instead of folding
//! every visit's log on every page.
//!
//! A summary is never the authority: the log is. A visit without a summary
//! at [`SUMMARY_VERSION`] (written before summaries existed, or by a fold of
//! another version) is folded from its log where it is read
//! ([`crate::console::queue::team_visits_in`]), and [`backfill`] writes the
//! missing ones when the server starts.

use doorstep_core::domain::{VisitHistory, VisitId};

use crate::error::ServiceError;
use crate::store::{self, Lock, Store, StoreTx};

#[cfg(doc)]
use crate::store::SUMMARY_VERSION;

/// How many visits [`backfill`] folds in one transaction.
const BACKFILL_BATCH: u32 = 200;

/// The fold of `visit`'s admitted entries as the store holds them; `None` if
/// they do not fold (no `planned` entry admitted).
pub fn fold(tx: &dyn StoreTx, visit: VisitId) -> Result<Option<VisitHistory>, ServiceError> {
    let entries: Vec<_> = tx
        .visit_entries(visit)?
        .into_iter()
        .filter(|stored| stored.rejected.is_none())
        .map(|stored| stored.entry)
        .collect();
    Ok(VisitHistory::fold(visit, &entries).ok())
}

/// Keeps `history`'s visit as its summary.
pub fn keep(tx: &dyn StoreTx, history: &VisitHistory) -> Result<(), ServiceError> {
    tx.put_visit_summary(&history.visit)?;
    Ok(())
}

/// Folds `visit` from its log and keeps the result as its summary (nothing
/// is kept if it does not fold).
pub fn refresh(tx: &dyn StoreTx, visit: VisitId) -> Result<(), ServiceError> {
    if let Some(history) = fold(tx, visit)? {
        keep(tx, &history)?;
    }
    Ok(())
}

/// Writes the summary of every visit that has none at [`SUMMARY_VERSION`],
/// a batch per transaction, each visit locked while it is folded (so a push
/// to it meanwhile is not overwritten by an older fold); how many were
/// written. Safe to run while the server serves, and on several replicas at
/// once.
pub fn backfill(store: &dyn Store) -> Result<u64, ServiceError> {
    let mut after = None;
    let mut written = 0;
    loop {
        let batch = store::read(store, |tx| tx.visits_without_summary(after, BACKFILL_BATCH))?;
        let Some(last) = batch.last() else {
            return Ok(written);
        };
        after = Some(*last);
        written += store::write(store, |tx| {
            let mut written = 0;
            for visit in &batch {
                tx.lock(Lock::Visit(*visit))?;
                if let Some(history) = fold(tx, *visit)? {
                    keep(tx, &history)?;
                    written += 1;
                }
            }
            Ok::<_, ServiceError>(written)
        })?;
    }
}
