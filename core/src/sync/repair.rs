//! Chain repair: when the server refuses one of this device's entries as not
//! continuing its chain (`chain_broken`), the device's copy of that chain and
//! the server's differ. That happens when the device lost entries the server
//! already holds (a power cut rolled the database back to its last sync to
//! disk, or the phone was restored from a backup), or when its queue holds a
//! forked chain (two entries at one position, written by an older build).
//!
//! The device then asks the server for its own chain of the visit
//! (`GET /v1/visits/{id}/chain`), checks every link of it with the rule the
//! server pushes are checked with ([`merge::check_link`]), and replaces what it
//! holds with it: the server's entries are the acknowledged chain, and every
//! action the device did that the server does not hold (told apart by its
//! content: stamp, kind and payload) is re-based on top, in the order it was
//! done: new chain positions and op ids, the same content. Nothing the agent
//! saw acknowledged is lost, nothing the server holds is sent twice, and the
//! visit no longer wedges.
//!
//! The plan is a pure function ([`plan`]); the engine fetches the chain,
//! applies the plan in one transaction and pushes again. A visit whose chain
//! cannot be repaired (the server refuses the request, or sends a chain that
//! does not verify) keeps its entries refused and listed for the agent, and
//! the sync goes on with the other visits.

use std::collections::HashSet;

use crate::clock::Hlc;
use crate::domain::{DeviceId, VisitId};
use crate::error::{Error, Result};
use crate::event_log::{self, EntryDraft, LogEntry, derived_op_id};
use crate::store::own_chain::{self, HeldEntry, Replacement};
use crate::store::{meta, visits};
use crate::sync::engine::{Engine, failure};
use crate::sync::merge;
use crate::sync::protocol::{ChainEntry, ChainResponse, RejectCode};
use crate::sync::status::SyncReport;

/// Most pages of one chain a repair reads (each [`MAX_CHAIN_PAGE`] entries).
///
/// [`MAX_CHAIN_PAGE`]: crate::sync::protocol::MAX_CHAIN_PAGE
const MAX_CHAIN_PAGES: usize = 64;

/// Why a chain cannot be repaired from what the server sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RepairError {
    /// An entry of the server's chain does not link to the one before it,
    /// does not match its hash, or is not this device's.
    #[error("the server's copy of the chain does not verify at position {0}")]
    ServerChainBroken(u64),
    /// Re-basing would run past the largest chain position.
    #[error("the chain is full")]
    ChainFull,
}

/// What replaces the device's copy of one of its chains.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RepairPlan {
    /// The server's entries it admitted: the acknowledged chain.
    pub acknowledged: Vec<LogEntry>,
    /// The server's entries it refused, with the reason: kept, refused.
    pub refused: Vec<(LogEntry, RejectCode)>,
    /// What the device did that the server does not hold, re-based after the
    /// server's chain, in the order it was done.
    pub rebased: Vec<LogEntry>,
    /// Entries set apart, with the code they stay refused with: altered on
    /// the device (their hash does not match their content: `hash_mismatch`,
    /// kept as evidence, never re-hashed into a valid entry), or refused
    /// before as something the server cannot take whatever its position (a
    /// push it refused as a whole): never re-based, still listed.
    pub set_apart: Vec<(LogEntry, String)>,
}

/// What identifies an action whatever chain position it sits at: its stamp
/// (unique on one device) and its content.
fn action_key(entry: &LogEntry) -> (Hlc, &str, &str) {
    (entry.hlc, entry.kind.as_str(), entry.payload.as_str())
}

/// Plans the repair of `device`'s chain of `visit` from the server's copy of
/// it (`server`, in chain order) and what the device holds (`held`, in the
/// order it was done).
///
/// A re-based entry keeps its stamp when it is newer than everything admitted
/// before it in the new chain; otherwise `restamp` gives it a new one above the
/// stamp passed (a phone whose clock floor was rolled back with its
/// database), so the agent's later change still wins over an earlier one.
///
/// Errors: [`RepairError::ServerChainBroken`], [`RepairError::ChainFull`].
pub fn plan(
    visit: VisitId,
    device: DeviceId,
    server: &[ChainEntry],
    held: &[HeldEntry],
    restamp: &mut dyn FnMut(Hlc) -> Hlc,
) -> std::result::Result<RepairPlan, RepairError> {
    let mut plan = RepairPlan::default();
    let mut head: Option<&LogEntry> = None;
    for chained in server {
        let entry = &chained.entry;
        if entry.visit_id != visit || merge::check_link(entry, device, head).is_err() {
            return Err(RepairError::ServerChainBroken(entry.seq));
        }
        match chained.refused {
            None => plan.acknowledged.push(entry.clone()),
            Some(code) => plan.refused.push((entry.clone(), code)),
        }
        head = Some(entry);
    }
    let on_server: HashSet<(Hlc, &str, &str)> = server
        .iter()
        .map(|chained| action_key(&chained.entry))
        .collect();
    // Only admitted stamps count: a refused one may be far ahead (a wrong
    // clock) and must not carry the re-based entries with it.
    let mut newest = server
        .iter()
        .filter(|chained| chained.refused.is_none())
        .map(|chained| chained.entry.hlc)
        .max();
    let mut prev = head.cloned();
    let mut seen: HashSet<(Hlc, &str, &str)> = HashSet::new();
    for held in held {
        let entry = &held.entry;
        if entry.hash != entry.compute_hash() {
            let code = RejectCode::HashMismatch.code().to_owned();
            plan.set_apart.push((entry.clone(), code));
            continue;
        }
        let key = action_key(entry);
        if on_server.contains(&key) || !seen.insert(key) {
            continue;
        }
        if let Some(code) = held.refused.as_deref().filter(|code| !repairable(code)) {
            plan.set_apart.push((entry.clone(), code.to_owned()));
            continue;
        }
        let hlc = match newest {
            Some(newest) if entry.hlc <= newest => restamp(newest),
            _ => entry.hlc,
        };
        let seq = prev
            .as_ref()
            .map_or(Some(0), |prev| prev.seq.checked_add(1))
            .ok_or(RepairError::ChainFull)?;
        let rebased = event_log::append(
            prev.as_ref(),
            EntryDraft {
                visit_id: visit,
                author: device,
                op_id: derived_op_id(visit, device, seq),
                kind: entry.kind.clone(),
                payload: entry.payload.clone(),
                hlc,
                device_time: entry.device_time,
                utc_offset_minutes: entry.utc_offset_minutes,
            },
        )
        .map_err(|_| RepairError::ChainFull)?;
        newest = newest.max(Some(hlc));
        plan.rebased.push(rebased.clone());
        prev = Some(rebased);
    }
    Ok(plan)
}

impl Engine<'_> {
    /// Repairs every chain of this device the server refused an entry of as
    /// `chain_broken`, except those in `tried` (each visit is repaired at most
    /// once per sync); adds the visits it tried to `tried`. Returns whether
    /// any entry was queued again.
    ///
    /// A network failure stops the sync (the refusals stay, so the next sync
    /// repairs); a visit the server will not give its chain for, or gives a
    /// chain that does not verify, is left refused and counted in
    /// `report.unrepaired_visits`, and the other visits go on.
    pub(crate) fn repair_broken_chains(
        &mut self,
        tried: &mut HashSet<VisitId>,
        report: &mut SyncReport,
    ) -> Result<bool> {
        let broken = self.store.read(own_chain::broken)?;
        let mut queued = false;
        for visit in broken {
            if !tried.insert(visit) {
                continue;
            }
            match self.repair_chain(visit) {
                Ok(rebased) => {
                    report.repaired_visits += 1;
                    queued |= rebased > 0;
                }
                Err(Error::Sync { code, .. }) if is_transport(code) => {
                    return Err(failure(code, "the chain repair could not reach the server"));
                }
                Err(error) => {
                    tracing::warn!(%visit, %error, "chain repair failed; the visit's refused entries stay listed");
                    report.unrepaired_visits += 1;
                }
            }
        }
        Ok(queued)
    }

    /// Fetches this device's chain of `visit` from the server and replaces
    /// the device's copy with it, re-basing what the server lacks. Returns how
    /// many entries were queued to push.
    fn repair_chain(&mut self, visit: VisitId) -> Result<usize> {
        let server = self.fetch_own_chain(visit)?;
        let device = self.device;
        let wall = self.wall.now();
        let clock = self.clock;
        let heads = self.heads;
        self.store.write_then(
            |tx| {
                if !visits::exists(tx, visit)? {
                    return Ok(0);
                }
                let held = own_chain::held(tx, visit, device)?;
                let mut restamp = |above: Hlc| {
                    let mut clock = clock.lock().unwrap_or_else(|p| p.into_inner());
                    clock.observe(&above, wall)
                };
                let plan = plan(visit, device, &server, &held, &mut restamp)
                    .map_err(|e| failure("chain_repair", e.to_string()))?;
                let refused: Vec<(LogEntry, String)> = plan
                    .refused
                    .iter()
                    .map(|(entry, code)| (entry.clone(), code.code().to_owned()))
                    .chain(plan.set_apart.iter().map(|(entry, code)| {
                        // Kept under an op id of its own: its position's op
                        // id now names the re-based entry there.
                        let mut kept = entry.clone();
                        kept.op_id = uuid::Uuid::now_v7();
                        (kept, code.clone())
                    }))
                    .collect();
                own_chain::replace(
                    tx,
                    visit,
                    device,
                    &Replacement {
                        acknowledged: &plan.acknowledged,
                        refused: &refused,
                        queued: &plan.rebased,
                    },
                    wall,
                )?;
                let newest = plan
                    .acknowledged
                    .iter()
                    .chain(&plan.rebased)
                    .map(|entry| entry.hlc)
                    .max();
                if let Some(newest) = newest {
                    clock
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .observe(&newest, wall);
                    meta::raise_clock_floor(tx, &newest.to_string())?;
                }
                let history = crate::doorstep::history(tx, visit)?;
                visits::save_header(tx, &history.visit)?;
                crate::doorstep::refresh_case_status(tx, history.visit.case_id)?;
                tracing::info!(
                    %visit,
                    restored = plan.acknowledged.len() + plan.refused.len(),
                    rebased = plan.rebased.len(),
                    "chain repaired from the server's copy"
                );
                Ok(plan.rebased.len())
            },
            // The chain's head changed under the cache: look it up again.
            |_| heads.forget(visit),
        )
    }

    /// Every page of this device's chain of `visit` as the server holds it.
    fn fetch_own_chain(&mut self, visit: VisitId) -> Result<Vec<ChainEntry>> {
        let mut entries: Vec<ChainEntry> = Vec::new();
        for _ in 0..MAX_CHAIN_PAGES {
            let from = entries
                .last()
                .map_or(0, |last| last.entry.seq.saturating_add(1));
            let path = format!("/v1/visits/{visit}/chain?from={from}");
            let response = self.call("GET", &path, Vec::new())?;
            let page: ChainResponse = serde_json::from_slice(&response.body)
                .map_err(|_| failure("protocol", "chain response unreadable"))?;
            let more = page.more && !page.entries.is_empty();
            entries.extend(page.entries);
            if !more {
                return Ok(entries);
            }
        }
        Err(failure("protocol", "the server's chain has too many pages"))
    }
}

/// Whether an entry refused with `code` is re-based by a repair: refused for
/// where it stood in its chain (`chain_broken`), not for what it holds.
fn repairable(code: &str) -> bool {
    code == RejectCode::ChainBroken.code()
}

/// Whether a sync failure code means the server could not be reached or the
/// device could not sign in (as opposed to an answer about this one visit).
fn is_transport(code: &str) -> bool {
    matches!(code, "offline" | "timeout" | "io" | "unauthorized")
}

#[cfg(test)]
#[path = "repair_tests.rs"]
mod tests;
