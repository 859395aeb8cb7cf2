//! `GET /v1/visits/{visit_id}/chain`: the signed-in device's own chain of a
//! visit, as stored, so that a device whose database lost entries the server
//! holds (a power cut, a restored backup) or whose queue forked a chain can
//! restore them and re-base what it did since (the core's `sync::repair`).
//!
//! A device only ever gets its own entries: what it wrote itself, whatever
//! happened to the case since. Nothing of another device's chain is served
//! here; those reach the device through the pull, as the assignment allows.

use chrono::{DateTime, Utc};
use doorstep_core::domain::VisitId;
use doorstep_core::sync::protocol::{ChainEntry, ChainResponse, MAX_CHAIN_PAGE};

use super::{Session, audit};
use crate::error::ServiceError;
use crate::store::{self, Store};

/// The device's own entries of `visit` from chain position `from` on, at most
/// [`MAX_CHAIN_PAGE`] of them. A visit the device never wrote to answers an
/// empty chain, the same as an unknown visit.
pub fn own_chain(
    store: &dyn Store,
    session: &Session,
    visit: VisitId,
    from: u64,
    now: DateTime<Utc>,
) -> Result<ChainResponse, ServiceError> {
    let device = session.device.id;
    let mut entries: Vec<ChainEntry> = store::read(store, |tx| tx.visit_entries(visit))?
        .into_iter()
        .filter(|stored| stored.entry.author == device && stored.entry.seq >= from)
        .map(|stored| ChainEntry {
            entry: stored.entry,
            refused: stored.rejected,
        })
        .collect();
    entries.sort_by_key(|chain| chain.entry.seq);
    let page = usize::try_from(MAX_CHAIN_PAGE).unwrap_or(usize::MAX);
    let more = entries.len() > page;
    entries.truncate(page);
    if !entries.is_empty() {
        store::write(store, |tx| {
            audit(tx, now, Some(session), "chain_restore", "visit", visit)
        })?;
    }
    Ok(ChainResponse { entries, more })
}
