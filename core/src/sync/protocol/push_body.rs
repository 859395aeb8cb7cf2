//! The body of `POST /v1/push`: a device's log entries grouped into runs of
//! one chain, sending what the server can work out only once.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clock::Hlc;
use crate::domain::{DeviceId, VisitId};
use crate::event_log::{LogEntry, derived_op_id};

use super::whole_number;

/// `POST /v1/push`: this device's log entries, grouped by chain.
///
/// The body carries each entry's content once and leaves out what the server
/// can work out: an entry's visit, author, chain position, `prev_hash` and
/// `hash` follow from the chain run it is in, and its op id from its chain
/// position ([`derived_op_id`]). Whatever does not follow (a random op id, a
/// hash that does not match the content, a link that is not to the entry
/// before) is sent explicitly, so [`PushRequest::into_entries`] gives back exactly
/// the entries [`PushRequest::new`] was given, and the server checks every
/// hash and link as before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRequest {
    /// Runs of linked entries of one chain, in the order their first entries
    /// were queued; within a run, in chain order.
    pub chains: Vec<PushedRun>,
}

/// Consecutive entries of one author's chain of one visit, each the next link
/// of the one before it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedRun {
    /// The visit.
    pub visit_id: VisitId,
    /// The author device of the chain.
    pub author: DeviceId,
    /// Chain position of the first entry; the others follow one by one.
    #[serde(deserialize_with = "whole_number::deserialize")]
    pub seq: u64,
    /// The first entry's `prev_hash` (the hash of the entry before it, or the
    /// genesis hash). Each later entry's `prev_hash` is the hash of the entry
    /// before it in the run.
    pub prev_hash: String,
    /// The entries, in chain order.
    pub entries: Vec<PushedEntry>,
}

/// One entry of a [`PushedRun`]: the fields of a [`LogEntry`] the run does not
/// already give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedEntry {
    /// The op id, the idempotency key; left out when it is the
    /// [`derived_op_id`] of the entry's chain position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op_id: Option<uuid::Uuid>,
    /// What happened, for example `"checked_in"`.
    pub kind: String,
    /// The change's JSON, exactly as hashed.
    pub payload: String,
    /// The clock stamp's milliseconds.
    #[serde(deserialize_with = "whole_number::deserialize")]
    pub hlc: u64,
    /// The clock stamp's counter; left out when 0.
    #[serde(
        default,
        skip_serializing_if = "is_zero",
        deserialize_with = "whole_number::deserialize"
    )]
    pub counter: u32,
    /// The clock stamp's node; left out when it is the run's author.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<uuid::Uuid>,
    /// The device's wall-clock time of the action.
    pub device_time: DateTime<Utc>,
    /// The device's UTC offset at the time, in minutes.
    #[serde(deserialize_with = "whole_number::deserialize")]
    pub utc_offset_minutes: i32,
    /// The entry's hash as the device holds it; left out when it is the hash
    /// of the entry's content (always, unless the entry was altered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl PushRequest {
    /// Encodes `entries` (in outbox order): each entry joins the latest run of
    /// its chain when it is the next link of that run's last entry, and
    /// starts a new run otherwise.
    pub fn new<'a>(entries: impl IntoIterator<Item = &'a LogEntry>) -> PushRequest {
        // Per chain: the index of its latest run, and that run's last entry.
        let mut open: HashMap<(VisitId, DeviceId), (usize, &LogEntry)> = HashMap::new();
        let mut chains: Vec<PushedRun> = Vec::new();
        for entry in entries {
            let key = (entry.visit_id, entry.author);
            let joins = open.get(&key).and_then(|&(run, last)| {
                let linked =
                    last.seq.checked_add(1) == Some(entry.seq) && entry.prev_hash == last.hash;
                linked.then_some(run)
            });
            let run = match joins {
                Some(run) => run,
                None => {
                    chains.push(PushedRun {
                        visit_id: entry.visit_id,
                        author: entry.author,
                        seq: entry.seq,
                        prev_hash: entry.prev_hash.clone(),
                        entries: Vec::new(),
                    });
                    chains.len() - 1
                }
            };
            chains[run].entries.push(PushedEntry {
                op_id: (entry.op_id != derived_op_id(entry.visit_id, entry.author, entry.seq))
                    .then_some(entry.op_id),
                kind: entry.kind.clone(),
                payload: entry.payload.clone(),
                hlc: entry.hlc.millis,
                counter: entry.hlc.counter,
                node: (entry.hlc.node != entry.author).then_some(entry.hlc.node),
                device_time: entry.device_time,
                utc_offset_minutes: entry.utc_offset_minutes,
                hash: (entry.hash != entry.compute_hash()).then(|| entry.hash.clone()),
            });
            open.insert(key, (run, entry));
        }
        PushRequest { chains }
    }

    /// How many entries the body holds.
    pub fn len(&self) -> usize {
        self.chains.iter().map(|run| run.entries.len()).sum()
    }

    /// Whether the body holds no entry.
    pub fn is_empty(&self) -> bool {
        self.chains.iter().all(|run| run.entries.is_empty())
    }

    /// The log entries, run by run: each with its chain position, links and
    /// op id filled in, and its hash either the one sent or computed from its
    /// content.
    ///
    /// A position past the largest `u64` is taken as the largest: like every
    /// position past `i64::MAX`, the server refuses such an entry on its own
    /// (`out_of_range`, [`crate::sync::merge::check_entry`]), so a body is
    /// never refused as a whole for its positions, however long its runs.
    pub fn into_entries(self) -> Vec<LogEntry> {
        let mut out = Vec::with_capacity(self.len());
        for run in self.chains {
            let mut prev_hash = run.prev_hash;
            for (i, pushed) in (0u64..).zip(run.entries) {
                let seq = run.seq.saturating_add(i);
                let mut entry = LogEntry {
                    visit_id: run.visit_id,
                    author: run.author,
                    seq,
                    op_id: pushed
                        .op_id
                        .unwrap_or_else(|| derived_op_id(run.visit_id, run.author, seq)),
                    kind: pushed.kind,
                    payload: pushed.payload,
                    hlc: Hlc {
                        millis: pushed.hlc,
                        counter: pushed.counter,
                        node: pushed.node.unwrap_or(run.author),
                    },
                    device_time: pushed.device_time,
                    utc_offset_minutes: pushed.utc_offset_minutes,
                    prev_hash,
                    hash: String::new(),
                };
                entry.hash = match pushed.hash {
                    Some(hash) => hash,
                    None => entry.compute_hash(),
                };
                prev_hash = entry.hash.clone();
                out.push(entry);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_log::{EntryDraft, append};
    use proptest::prelude::*;

    /// Entries of `chains` chains (visit, author pairs), each built by
    /// `append`, interleaved as `order` says; with random op ids where
    /// `random_ids` says.
    fn outbox(order: &[u8], random_ids: &[bool]) -> Vec<LogEntry> {
        let mut heads: HashMap<u8, LogEntry> = HashMap::new();
        let mut out = Vec::new();
        for (n, &chain) in order.iter().enumerate() {
            let visit = uuid::Uuid::from_u128(100 + u128::from(chain % 3));
            let author = uuid::Uuid::from_u128(200 + u128::from(chain / 3));
            let prev = heads.get(&chain);
            let seq = prev.map_or(0, |p| p.seq + 1);
            let op_id = if random_ids.get(n).copied().unwrap_or(false) {
                uuid::Uuid::now_v7()
            } else {
                derived_op_id(visit, author, seq)
            };
            let entry = append(
                prev,
                EntryDraft {
                    visit_id: visit,
                    author,
                    op_id,
                    kind: "note_added".into(),
                    payload: format!(r#"{{"n":{n},"text":"客户称下月还款"}}"#),
                    hlc: Hlc {
                        millis: 1_772_442_000_000 + n as u64,
                        counter: (n % 3) as u32,
                        node: if n % 5 == 4 { visit } else { author },
                    },
                    device_time: DateTime::from_timestamp_millis(1_772_442_000_000).unwrap(),
                    utc_offset_minutes: 480,
                },
            )
            .unwrap();
            heads.insert(chain, entry.clone());
            out.push(entry);
        }
        out
    }

    /// The same entries, each chain's in its order; how chains interleave
    /// carries no meaning.
    fn by_chain(entries: &[LogEntry]) -> Vec<LogEntry> {
        let mut sorted = entries.to_vec();
        sorted.sort_by_key(|e| (e.visit_id, e.author));
        sorted
    }

    #[test]
    fn a_device_outbox_goes_as_one_run_per_chain_without_ids_or_hashes() {
        let entries = outbox(&[0, 1, 0, 0, 1, 2], &[]);
        let request = PushRequest::new(&entries);
        assert_eq!(request.chains.len(), 3);
        assert_eq!(request.len(), 6);
        assert_eq!(request.chains[0].entries.len(), 3);
        let pushed: Vec<&PushedEntry> = request.chains.iter().flat_map(|r| &r.entries).collect();
        assert!(pushed.iter().all(|e| e.op_id.is_none() && e.hash.is_none()));
        // Only the one stamp whose node is not its author's carries a node.
        assert_eq!(pushed.iter().filter(|e| e.node.is_some()).count(), 1);
        let json = serde_json::to_string(&request).unwrap();
        assert!(!json.contains(&entries[1].hash), "no entry hash is sent");
        let back: PushRequest = serde_json::from_str(&json).unwrap();
        assert_eq!(by_chain(&back.into_entries()), by_chain(&entries));
    }

    #[test]
    fn altered_entries_travel_as_they_are_so_the_server_sees_the_damage() {
        let mut entries = outbox(&[0, 0, 0, 0], &[]);
        entries[1].payload = r#"{"n":1,"text":"edited"}"#.into();
        entries.remove(2);
        let request = PushRequest::new(&entries);
        // The edited entry keeps its old hash, explicitly; the gap starts a run.
        assert_eq!(request.chains.len(), 2);
        assert_eq!(
            request.chains[0].entries[1].hash,
            Some(entries[1].hash.clone())
        );
        assert_eq!(request.chains[1].seq, 3);
        let back = request.into_entries();
        assert_eq!(back, entries);
        assert_ne!(back[1].hash, back[1].compute_hash());
    }

    /// Found by schemathesis: a run near the largest position was refused
    /// as a whole (422) or taken, depending on its length, which the
    /// OpenAPI document cannot state. Now every entry comes back, positions
    /// past the largest taken as the largest, and each is refused on its own.
    #[test]
    fn positions_past_the_largest_come_back_as_the_largest_and_are_out_of_range() {
        let mut request = PushRequest::new(&outbox(&[0, 0, 0], &[]));
        request.chains[0].seq = u64::MAX - 1;
        let entries = request.into_entries();
        let seqs: Vec<u64> = entries.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [u64::MAX - 1, u64::MAX, u64::MAX]);
        for entry in &entries {
            assert_eq!(
                crate::sync::merge::check_entry(entry),
                Err(crate::sync::protocol::RejectCode::OutOfRange)
            );
        }
    }

    /// Found by schemathesis: JSON Schema reads `2.0` as the integer 2, and
    /// the document is JSON Schema, so a body spelling its integers as whole
    /// floats is the same body.
    #[test]
    fn integers_spelled_as_whole_floats_read_as_the_same_body() {
        let request = PushRequest::new(&outbox(&[0, 0, 1], &[]));
        let mut value = serde_json::to_value(&request).unwrap();
        for run in value["chains"].as_array_mut().unwrap() {
            run["seq"] = serde_json::json!(run["seq"].as_u64().unwrap() as f64);
            for entry in run["entries"].as_array_mut().unwrap() {
                for field in ["hlc", "utc_offset_minutes", "counter"] {
                    if let Some(n) = entry[field].as_i64() {
                        entry[field] = serde_json::json!(n as f64);
                    }
                }
            }
        }
        let text = value.to_string();
        assert!(text.contains(".0"), "{text}");
        let back: PushRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, request);
        let mut fractional = value.clone();
        fractional["chains"][0]["seq"] = serde_json::json!(0.5);
        assert!(serde_json::from_value::<PushRequest>(fractional).is_err());
    }

    proptest! {
        /// Whatever the entries (interleaved chains, random op ids, edited
        /// content, removed or repeated entries), the body gives back exactly
        /// the entries it was made of, each chain in its order.
        #[test]
        fn a_push_body_gives_back_exactly_its_entries(
            order in proptest::collection::vec(0u8..6, 0..40),
            random_ids in proptest::collection::vec(any::<bool>(), 40),
            damage in proptest::collection::vec((0usize..40, 0u8..5), 0..4),
        ) {
            let mut entries = outbox(&order, &random_ids);
            for (at, how) in damage {
                if entries.is_empty() {
                    break;
                }
                let at = at % entries.len();
                match how {
                    0 => entries[at].payload.push(' '),
                    1 => { entries.remove(at); }
                    2 => { let again = entries[at].clone(); entries.push(again); }
                    3 => entries[at].prev_hash = "f".repeat(64),
                    _ => entries[at].hlc.node = uuid::Uuid::nil(),
                }
            }
            let json = serde_json::to_vec(&PushRequest::new(&entries)).unwrap();
            let back: PushRequest = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(back.len(), entries.len());
            prop_assert_eq!(by_chain(&back.into_entries()), by_chain(&entries));
        }
    }
}
