//! Pull: pages of changes since the stored cursor. Each page is applied in one
//! transaction together with the new cursor, so a page is either wholly applied
//! and never asked for again, or not at all and asked for again next time.
//!
//! Cases and templates are stored as the server sends them (the server is the
//! authority on assignments and templates). A visit entry from the partner's
//! phone or the server's review joins the visit's log, and the visit's header is
//! folded again from the whole log, so the device shows what every replica with
//! the same entries shows. A case the server no longer shows is purged, but only
//! once nothing of it is left in the outbox.

use std::collections::BTreeSet;

use rusqlite::Transaction;

use crate::domain::{Case, VisitHistory, VisitId};
use crate::error::{Error, Result};
use crate::event_log::LogEntry;
use crate::store::{blobs, cases, meta, outbox, parked, purge, templates, visits};
use crate::sync::engine::{Engine, protocol};
use crate::sync::merge;
use crate::sync::protocol::{MAX_PULL_LIMIT, PullResponse, PulledChange};
use crate::sync::status::{SyncPhase, SyncReport};

/// What became of one pulled visit entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EntryFate {
    /// Added to its visit's log.
    Added,
    /// Already on the device (this device's own, or received before).
    Held,
    /// Cannot be placed yet (its case, its visit's first entry or the entry
    /// before it has not arrived): parked until it can.
    Parked,
    /// Cannot be used: does not verify, does not continue its chain, or belongs
    /// to a visit or case this device does not hold.
    Unusable,
}

/// What applying one page did.
#[derive(Debug, Default)]
struct PageOutcome {
    applied: u64,
    skipped_entries: u64,
    purged_cases: u64,
}

impl Engine<'_> {
    /// Pulls every page after the stored cursor. Returns whether the server said
    /// this device is deactivated (the page that says so is not applied).
    pub(crate) fn pull(&mut self, report: &mut SyncReport) -> Result<bool> {
        let mut cursor = self.stored_cursor()?;
        let mut received = 0u64;
        loop {
            let path = format!("/v1/pull?cursor={cursor}&limit={MAX_PULL_LIMIT}");
            let response = self.call("GET", &path, Vec::new())?;
            let page: PullResponse = serde_json::from_slice(&response.body)
                .map_err(|_| protocol("pull response unreadable"))?;
            if page.deactivated {
                return Ok(true);
            }
            if page.cursor < cursor {
                return Err(protocol("the pull cursor went backwards"));
            }
            if page.more && page.cursor == cursor {
                return Err(protocol("a pull page promised more but did not advance"));
            }
            let outcome = self.store.write(|tx| {
                let outcome = self.apply_page(tx, &page.changes)?;
                meta::set(tx, meta::SYNC_CURSOR, &page.cursor.to_string())?;
                Ok(outcome)
            })?;
            cursor = page.cursor;
            received += page.changes.len() as u64;
            report.pulled += outcome.applied;
            report.skipped_entries += outcome.skipped_entries;
            report.purged_cases += outcome.purged_cases;
            let total = received + u64::from(page.more);
            self.observer.progress(SyncPhase::Pull, received, total);
            if !page.more {
                return Ok(false);
            }
        }
    }

    fn stored_cursor(&self) -> Result<u64> {
        let text = self.store.read(|conn| meta::get(conn, meta::SYNC_CURSOR))?;
        match text {
            None => Ok(0),
            Some(text) => text.parse().map_err(|_| Error::Invalid {
                field: "sync_cursor",
                reason: "stored cursor is unreadable".into(),
            }),
        }
    }

    /// Applies one page's changes in order, then refolds every visit that
    /// received entries.
    fn apply_page(&self, tx: &Transaction<'_>, changes: &[PulledChange]) -> Result<PageOutcome> {
        let mut outcome = PageOutcome::default();
        let mut touched: BTreeSet<VisitId> = BTreeSet::new();
        for change in changes {
            match change {
                PulledChange::Case { case } => {
                    if self.apply_case(tx, case)? {
                        outcome.applied += 1;
                    }
                }
                PulledChange::Template { template } => match templates::save(tx, template) {
                    Ok(()) => outcome.applied += 1,
                    Err(Error::TemplateChanged) => {
                        tracing::warn!(key = template.key(), "republished template ignored");
                    }
                    Err(other) => return Err(other),
                },
                PulledChange::CaseRemoved { case_id } => {
                    if outbox::held_for_case(tx, *case_id)? > 0
                        || blobs::waiting_for_case(tx, *case_id)? > 0
                    {
                        purge::mark_case(tx, *case_id, self.wall.now())?;
                    } else if cases::get(tx, *case_id).is_ok() {
                        purge::purge_case(tx, *case_id)?;
                        outcome.purged_cases += 1;
                    }
                    outcome.applied += 1;
                }
                PulledChange::VisitEntry { entry, refused } => {
                    match self.apply_entry(tx, entry, *refused)? {
                        EntryFate::Added => {
                            touched.insert(entry.visit_id);
                            outcome.applied += 1;
                        }
                        EntryFate::Held => {}
                        EntryFate::Parked => {
                            parked::park(tx, entry, *refused, self.wall.now())?;
                        }
                        EntryFate::Unusable => outcome.skipped_entries += 1,
                    }
                }
            }
        }
        outcome.applied += self.place_parked(tx, &mut touched)?;
        for visit_id in touched {
            // A case removed later in the page took the visit with it.
            if visits::exists(tx, visit_id)? {
                let history = fold(tx, visit_id)?;
                visits::save_header(tx, &history.visit)?;
                crate::doorstep::refresh_case_status(tx, history.visit.case_id)?;
            }
        }
        Ok(outcome)
    }

    /// Places the parked entries that can be placed now, round after round
    /// (placing one may let the next of its chain follow), and drops those
    /// that turn out unusable. Returns how many were placed.
    fn place_parked(&self, tx: &Transaction<'_>, touched: &mut BTreeSet<VisitId>) -> Result<u64> {
        let mut placed = 0;
        loop {
            let mut progress = false;
            for (entry, refused) in parked::all(tx)? {
                match self.apply_entry(tx, &entry, refused)? {
                    EntryFate::Parked => continue,
                    EntryFate::Added => {
                        touched.insert(entry.visit_id);
                        placed += 1;
                        progress = true;
                    }
                    EntryFate::Held | EntryFate::Unusable => {}
                }
                parked::unpark(tx, &entry)?;
            }
            if !progress {
                parked::trim(tx)?;
                return Ok(placed);
            }
        }
    }

    /// Takes one entry from the server into its visit, as a pull would, and
    /// folds the visit again (a supervisor's own review, answered at once).
    pub(crate) fn take_entry(&self, tx: &Transaction<'_>, entry: &LogEntry) -> Result<()> {
        if self.apply_entry(tx, entry, false)? == EntryFate::Added {
            let history = fold(tx, entry.visit_id)?;
            visits::save_header(tx, &history.visit)?;
            crate::doorstep::refresh_case_status(tx, history.visit.case_id)?;
        }
        Ok(())
    }

    /// Stores a case from the server and sets its status from its visits here.
    /// Returns false for a case that does not check (it is skipped).
    fn apply_case(&self, tx: &Transaction<'_>, case: &Case) -> Result<bool> {
        if case.check().is_err() {
            tracing::warn!(case = %case.id, "invalid case from the server ignored");
            return Ok(false);
        }
        cases::upsert(tx, case)?;
        purge::unmark_case(tx, case.id)?;
        crate::doorstep::refresh_case_status(tx, case.id)?;
        Ok(true)
    }

    /// Adds an entry of another device's chain (the partner's phone, or the
    /// server's review) to its visit's log, and has the device clock observe
    /// its stamp. An entry the server refused is kept, flagged, for its chain's
    /// sake, and left out of the visit.
    fn apply_entry(
        &self,
        tx: &Transaction<'_>,
        entry: &LogEntry,
        refused: bool,
    ) -> Result<EntryFate> {
        if entry.author == self.device {
            return Ok(EntryFate::Held);
        }
        let head = visits::logged_head(tx, entry.visit_id, entry.author)?;
        let next_seq = head.as_ref().map_or(0, |head| head.seq.saturating_add(1));
        if entry.seq < next_seq {
            return Ok(EntryFate::Held);
        }
        if entry.hash != entry.compute_hash() || merge::read_change(entry).is_err() {
            tracing::warn!(visit = %entry.visit_id, seq = entry.seq, "unusable visit entry skipped");
            return Ok(EntryFate::Unusable);
        }
        if entry.seq > next_seq {
            // The entries before it have not arrived (yet).
            return Ok(EntryFate::Parked);
        }
        // The same link check the server runs on a push, with the entry's
        // own author as the pusher: intact, and the next link of its chain.
        if merge::check_link(entry, entry.author, head.as_ref()).is_err() {
            tracing::warn!(visit = %entry.visit_id, seq = entry.seq, "unusable visit entry skipped");
            return Ok(EntryFate::Unusable);
        }
        if !visits::exists(tx, entry.visit_id)? {
            // A visit new to this device (the partner planned it, or the case
            // came from another agent): its header must exist, under a case
            // held here, before the entry is stored. Until the visit's first
            // entry and its case are here, the entry waits.
            let mut entries = visits::admitted_log(tx, entry.visit_id)?;
            if !refused {
                entries.push(entry.clone());
            }
            let Ok(history) = VisitHistory::fold(entry.visit_id, &entries) else {
                return Ok(EntryFate::Parked);
            };
            if cases::get(tx, history.visit.case_id).is_err() {
                return Ok(EntryFate::Parked);
            }
            visits::save_header(tx, &history.visit)?;
        }
        visits::store_entry(tx, entry)?;
        if refused {
            // Its stamp is not taken in: a partner's clock far ahead must
            // not carry this phone's clock with it.
            visits::mark_refused(tx, entry)?;
            return Ok(EntryFate::Added);
        }
        let stamp = self
            .clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .observe(&entry.hlc, self.wall.now());
        meta::raise_clock_floor(tx, &stamp.to_string())?;
        Ok(EntryFate::Added)
    }
}

fn fold(tx: &Transaction<'_>, visit_id: VisitId) -> Result<VisitHistory> {
    crate::doorstep::history(tx, visit_id)
}
