//! Push: the outbox goes to the server in order, in batches bounded by count
//! and bytes, each body zstd-compressed. Each operation's result is stored as
//! it comes back: applied and duplicate operations move to the visit log,
//! rejected ones stay in the outbox, recorded and listed for the agent, and no
//! longer hold up the ones behind them.
//!
//! Requests go one at a time, in outbox order, but the device's own work runs
//! alongside them: while one batch is on the wire, the answer to the batch
//! before it is stored and the batch after it is read and encoded. A failed
//! request stops the push; batches answered before it stay settled, and the
//! batch prepared after it is never sent.

use std::collections::{HashMap, HashSet};

use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::{meta, outbox, rejections, visits};
use crate::sync::engine::{Engine, JSON, Outgoing, check_status, exchange, failure, protocol};
use crate::sync::protocol::{
    MAX_BODY_BYTES, MAX_PUSH_OPS, OpOutcome, PUSH_ZSTD_LEVEL, PushRequest, PushResponse, RejectCode,
};
use crate::sync::status::{SyncPhase, SyncReport};
use crate::sync::transport::HttpResponse;

/// Bytes of a push body around its runs: `{"chains":[` and `]}`.
const ENVELOPE_BYTES: usize = 16;

/// Picks the longest prefix of `pending` that fits one push: at most
/// [`MAX_PUSH_OPS`] operations and [`MAX_BODY_BYTES`] of JSON, counting each
/// entry as its whole JSON (more than its share of the grouped body, which
/// sends the chain fields once per run). The first
/// operation always goes, so an oversized one reaches the server, which answers
/// for it, rather than blocking the outbox unsent.
pub(crate) fn batch(pending: &[(i64, LogEntry)]) -> Result<usize> {
    let mut bytes = ENVELOPE_BYTES;
    for (count, (_, entry)) in pending.iter().take(MAX_PUSH_OPS).enumerate() {
        let size = serde_json::to_vec(entry)?.len() + 1;
        if count > 0 && bytes + size > MAX_BODY_BYTES {
            return Ok(count);
        }
        bytes += size;
    }
    Ok(pending.len().min(MAX_PUSH_OPS))
}

/// The JSON body of the first operations of `pending` that fit one push, and
/// how many it holds. Usually every one of them fits and the body is encoded
/// once; only when it would be too large is the prefix chosen entry by entry
/// ([`batch`]).
fn encode(pending: &[(i64, LogEntry)]) -> Result<(usize, Vec<u8>)> {
    let body = |count: usize| {
        serde_json::to_vec(&PushRequest::new(pending[..count].iter().map(|(_, e)| e)))
    };
    let all = pending.len().min(MAX_PUSH_OPS);
    let json = body(all)?;
    if json.len() <= MAX_BODY_BYTES {
        return Ok((all, json));
    }
    let fits = batch(pending)?;
    Ok((fits, body(fits)?))
}

/// Whether a push answered with `status` was refused for what the batch holds
/// (malformed, too large, not acceptable as a whole): sending the same batch
/// again would be refused again.
fn refuses_whole_push(status: u16) -> bool {
    matches!(status, 400 | 413 | 422)
}

/// The server's error code in a refusal, kept to letters, digits and `_`
/// (as [`check_status`] does), or `refused_push` when there is none.
fn refusal_code(response: &HttpResponse) -> &'static str {
    let code = serde_json::from_slice::<crate::sync::protocol::ErrorBody>(&response.body)
        .map(|body| body.code)
        .unwrap_or_default();
    // The stored code is one the agent's app can show; the known ones of the
    // protocol are kept as they are, anything else is named generically.
    match code.as_str() {
        "payload_too_large" => "payload_too_large",
        "too_many_ops" => "too_many_ops",
        "invalid_push" => "invalid_push",
        "invalid_body" => "invalid_body",
        "malformed_json" => "malformed_json",
        _ => "refused_push",
    }
}

/// The push request for `entries` (which fit one push), whose JSON body is
/// `json`: compressed.
fn prepare(entries: Vec<(i64, LogEntry)>, json: &[u8]) -> Result<Batch> {
    let body = zstd::bulk::compress(json, PUSH_ZSTD_LEVEL)
        .map_err(|_| failure("compression", "the push body could not be compressed"))?;
    let mut outgoing = Outgoing::new("POST", "/v1/push", body, JSON);
    outgoing.zstd = true;
    Ok(Batch {
        sent: entries,
        outgoing,
    })
}

/// One push request: the outbox entries it carries, with their positions, and
/// the request itself.
struct Batch {
    sent: Vec<(i64, LogEntry)>,
    outgoing: Outgoing,
}

impl Batch {
    /// The outbox position of its last entry.
    fn last_position(&self) -> i64 {
        self.sent.last().map_or(0, |(position, _)| *position)
    }
}

impl Engine<'_> {
    /// Pushes every pending operation. Stops at the first failed request; what
    /// was acknowledged before stays acknowledged.
    ///
    /// Chains the server refused an entry of as `chain_broken` (in an earlier
    /// sync, or in this push) are repaired from the server's copy
    /// ([`super::repair`]) and what they re-queued is pushed: each visit is
    /// repaired at most once per sync.
    pub(crate) fn push(&mut self, report: &mut SyncReport) -> Result<()> {
        let mut tried = HashSet::new();
        self.repair_broken_chains(&mut tried, report)?;
        self.push_outbox(report)?;
        if self.repair_broken_chains(&mut tried, report)? {
            self.push_outbox(report)?;
        }
        if self.clock_refused.get() {
            self.rewind_clock()?;
        }
        Ok(())
    }

    /// After the server refused entries as stamped too far ahead of its
    /// clock (this phone's wall clock was wrong), sets the clock back to the
    /// newest stamp the device holds that was not refused, so that once the
    /// wall clock is right again new actions carry right stamps instead of
    /// going on from the wrong ones. Done inside a write, so no action is
    /// between its stamp and its commit meanwhile.
    fn rewind_clock(&self) -> Result<()> {
        let device = self.device;
        self.store.write(|tx| {
            let newest = visits::newest_admitted_stamp(tx)?;
            match newest {
                Some(stamp) => meta::set(tx, meta::CLOCK_FLOOR, &stamp.to_string())?,
                None => meta::remove(tx, meta::CLOCK_FLOOR)?,
            }
            *self.clock.lock().unwrap_or_else(|p| p.into_inner()) =
                crate::clock::HybridClock::new(device, newest);
            tracing::warn!("stamps refused as ahead of the server's clock: the clock is set back");
            Ok(())
        })
    }

    /// Pushes the pending operations, batch after batch.
    fn push_outbox(&mut self, report: &mut SyncReport) -> Result<()> {
        let total = self.store.read(outbox::pending_count)?;
        let mut done = 0;
        self.observer.progress(SyncPhase::Push, done, total);
        let mut sending = self.next_batch(0)?;
        let mut answered: Option<(Batch, HttpResponse)> = None;
        while sending.is_some() || answered.is_some() {
            let token = match sending {
                Some(_) => Some(self.token()?),
                None => None,
            };
            let transport = self.transport;
            let this = &*self;
            let (response, settled, following) = std::thread::scope(|scope| {
                let in_flight = sending
                    .as_ref()
                    .zip(token.as_deref())
                    .map(|(batch, token)| {
                        scope
                            .spawn(move || exchange(transport, batch.outgoing.request(Some(token))))
                    });
                let settled = answered
                    .take()
                    .map(|(batch, response)| this.settle(&batch, &response, report))
                    .transpose();
                let following = match &sending {
                    Some(batch) if settled.is_ok() => this.next_batch(batch.last_position()),
                    _ => Ok(None),
                };
                let response = in_flight.map(|sent| {
                    sent.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                });
                (response, settled, following)
            });
            if let Some(settled) = settled? {
                done += settled;
                self.observer
                    .progress(SyncPhase::Push, done, total.max(done));
            }
            answered = match (sending.take(), response) {
                (Some(batch), Some(response)) => {
                    let response = self.unless_unauthorized(&batch.outgoing, response?)?;
                    if refuses_whole_push(response.status) {
                        // Something in this batch makes the server refuse it
                        // as a whole; find it, so the rest of the queue drains.
                        let count = u64::try_from(batch.sent.len()).unwrap_or(u64::MAX);
                        self.isolate(batch.sent, &response, report)?;
                        done += count;
                        self.observer
                            .progress(SyncPhase::Push, done, total.max(done));
                        None
                    } else {
                        Some((batch, check_status(response)?))
                    }
                }
                _ => None,
            };
            sending = following?;
        }
        Ok(())
    }

    /// Sends `entries`, a batch the server refused as a whole with `refusal`
    /// (a 400, 413 or 422: something in it the server cannot take, which
    /// sending it again would not change), in halves, each half settled if
    /// the server takes it and halved again if not, down to the one entry
    /// that is refused. That entry is recorded as refused with the server's
    /// code, listed for the agent like any refused op, and no longer holds up
    /// the queue behind it.
    fn isolate(
        &mut self,
        entries: Vec<(i64, LogEntry)>,
        refusal: &HttpResponse,
        report: &mut SyncReport,
    ) -> Result<()> {
        if let [(_, entry)] = entries.as_slice() {
            let code = refusal_code(refusal);
            tracing::warn!(op = %entry.op_id, code, "operation refused in a whole push: set apart");
            let now = self.wall.now();
            self.store
                .write(|tx| rejections::record(tx, entry, code, now))?;
            report.rejected += 1;
            return Ok(());
        }
        let mut first = entries;
        let second = first.split_off(first.len() / 2);
        for half in [first, second] {
            if half.is_empty() {
                continue;
            }
            let json = serde_json::to_vec(&PushRequest::new(half.iter().map(|(_, e)| e)))?;
            let batch = prepare(half, &json)?;
            let token = self.token()?;
            let response = exchange(self.transport, batch.outgoing.request(Some(&token)))?;
            let response = self.unless_unauthorized(&batch.outgoing, response)?;
            if refuses_whole_push(response.status) {
                self.isolate(batch.sent, &response, report)?;
            } else {
                let response = check_status(response)?;
                self.settle(&batch, &response, report)?;
            }
        }
        Ok(())
    }

    /// The batch of pending operations after outbox position `after`, read and
    /// encoded, or `None` when nothing is pending there.
    fn next_batch(&self, after: i64) -> Result<Option<Batch>> {
        let limit = u32::try_from(MAX_PUSH_OPS).unwrap_or(u32::MAX);
        let mut pending = self
            .store
            .read(|conn| outbox::pending_entries_after(conn, after, limit))?;
        if pending.is_empty() {
            return Ok(None);
        }
        // Two entries with one op id (a chain forked by an older build) go in
        // different batches, so that each answer names one entry: the second
        // is refused as `chain_broken` and its chain repaired.
        let mut ids = HashSet::new();
        if let Some(again) = pending.iter().position(|(_, e)| !ids.insert(e.op_id)) {
            pending.truncate(again);
        }
        let (count, json) = encode(&pending)?;
        pending.truncate(count);
        prepare(pending, &json).map(Some)
    }

    /// Stores the server's answer to `batch`; returns how many operations it
    /// settled.
    fn settle(
        &self,
        batch: &Batch,
        response: &HttpResponse,
        report: &mut SyncReport,
    ) -> Result<u64> {
        let sent = &batch.sent;
        let results: PushResponse = serde_json::from_slice(&response.body)
            .map_err(|_| protocol("push response unreadable"))?;
        // Every op not listed was applied: check that the answer covers
        // exactly the ops sent before settling any of them.
        let sent_ids: HashSet<uuid::Uuid> = sent.iter().map(|(_, e)| e.op_id).collect();
        let outcomes: HashMap<uuid::Uuid, OpOutcome> = results
            .not_applied
            .into_iter()
            .filter(|r| sent_ids.contains(&r.op_id))
            .map(|r| (r.op_id, r.outcome))
            .collect();
        let answered = u64::try_from(outcomes.len())
            .unwrap_or(u64::MAX)
            .saturating_add(results.applied);
        if answered != u64::try_from(sent_ids.len()).unwrap_or(u64::MAX) {
            return Err(protocol(
                "the server's answer does not cover the pushed operations",
            ));
        }
        let now = self.wall.now();
        self.store.write(|tx| {
            let mut newest = None;
            for (_, entry) in sent {
                match outcomes.get(&entry.op_id) {
                    None | Some(OpOutcome::Applied) => {
                        report.applied += 1;
                        newest = newest.max(Some(entry.hlc));
                    }
                    Some(OpOutcome::Duplicate) => {
                        report.duplicates += 1;
                        newest = newest.max(Some(entry.hlc));
                    }
                    Some(OpOutcome::Rejected { code }) => {
                        if *code == RejectCode::ClockAhead {
                            self.clock_refused.set(true);
                        }
                        rejections::record(tx, entry, code.code(), now)?;
                        tracing::warn!(
                            op = %entry.op_id,
                            code = code.code(),
                            "operation rejected by the server"
                        );
                        report.rejected += 1;
                    }
                }
            }
            // Every op sent and not rejected was applied now or before:
            // all of them move to the visit log at once. `sent` is every
            // pending op between its first and last outbox position.
            if let (Some((first, _)), Some((last, _))) = (sent.first(), sent.last()) {
                outbox::acknowledge_positions(tx, *first, *last, newest)?;
            }
            // A batch is never empty (`next_batch`), so this is never 0.
            Ok(u64::try_from(sent.len()).unwrap_or(u64::MAX))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Hlc;
    use crate::event_log::{EntryDraft, append};
    use chrono::Utc;
    use uuid::Uuid;

    fn entries(n: usize, payload_bytes: usize) -> Vec<(i64, LogEntry)> {
        let visit = Uuid::now_v7();
        let author = Uuid::now_v7();
        let mut prev: Option<LogEntry> = None;
        let mut out = Vec::new();
        for i in 0..n {
            let entry = append(
                prev.as_ref(),
                EntryDraft {
                    visit_id: visit,
                    author,
                    op_id: Uuid::now_v7(),
                    kind: "note_added".into(),
                    payload: "x".repeat(payload_bytes),
                    hlc: Hlc {
                        millis: 1 + i as u64,
                        counter: 0,
                        node: author,
                    },
                    device_time: Utc::now(),
                    utc_offset_minutes: 480,
                },
            )
            .unwrap();
            prev = Some(entry.clone());
            out.push((i as i64, entry));
        }
        out
    }

    #[test]
    fn a_batch_holds_at_most_the_protocol_count() {
        assert_eq!(batch(&entries(3, 10)).unwrap(), 3);
        assert_eq!(batch(&entries(MAX_PUSH_OPS + 7, 10)).unwrap(), MAX_PUSH_OPS);
        assert_eq!(batch(&[]).unwrap(), 0);
    }

    #[test]
    fn a_batch_stays_under_the_body_limit() {
        let big = entries(8, MAX_BODY_BYTES / 3);
        let n = batch(&big).unwrap();
        assert_eq!(n, 2);
        let body = serde_json::to_vec(&PushRequest::new(big[..n].iter().map(|(_, e)| e))).unwrap();
        assert!(body.len() <= MAX_BODY_BYTES);
        // One operation larger than the limit still goes, alone.
        let huge = entries(2, MAX_BODY_BYTES + 1);
        assert_eq!(batch(&huge).unwrap(), 1);
    }
}
