//! The tamper-evident event log of a visit: one hash chain per (visit, author
//! device).
//!
//! Every action on a visit appends an entry whose hash covers its content and the
//! hash of the entry before it, so editing, removing or reordering entries breaks
//! the chain. Two partners on one visit each keep their own chain, so a visit's log
//! is a set of chains. Cutting off the newest entries of a chain, or dropping a
//! whole chain, leaves a valid-looking chain behind; that is caught by comparing
//! against the [`ChainHead`]s kept alongside the visit (on the device) and received
//! (on the server).
//!
//! Only the order *within* a chain is significant. How the entries of different
//! authors are interleaved in a slice carries no meaning (the timeline is ordered
//! by [`Hlc`]), so it is neither protected nor checked.

use std::collections::BTreeMap;

use chrono::{DateTime, SecondsFormat, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::clock::Hlc;

/// The `prev_hash` of the first entry of every chain: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Domain-separation tag and encoding version hashed in front of every entry.
const HASH_DOMAIN: &[u8] = b"doorstep/visit-event-log/v1";

/// Domain-separation tag of [`derived_op_id`].
const OP_ID_DOMAIN: &[u8] = b"doorstep/op-id/v1";

/// The op id of the entry at position `seq` of `author`'s chain of `visit_id`:
/// a version 8 UUID made of the first 16 bytes of a SHA-256 over the three.
///
/// Devices give their entries this id. A chain position holds one entry, so
/// the id is as unique as a random one, and the push protocol can leave it
/// out: the server derives it from the chain position it already has.
pub fn derived_op_id(visit_id: Uuid, author: Uuid, seq: u64) -> Uuid {
    let mut hasher = Sha256::new();
    put_field(&mut hasher, OP_ID_DOMAIN);
    put_field(&mut hasher, visit_id.as_bytes());
    put_field(&mut hasher, author.as_bytes());
    put_field(&mut hasher, &seq.to_be_bytes());
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// One entry in an author's chain for a visit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// The visit the entry belongs to.
    pub visit_id: Uuid,
    /// The device that wrote the entry; one chain per author and visit.
    pub author: Uuid,
    /// 0-based position of the entry in its author's chain.
    pub seq: u64,
    /// The id of the operation this entry records.
    pub op_id: Uuid,
    /// What happened, for example `"checked_in"`.
    pub kind: String,
    /// The action's JSON exactly as stored; hashed byte for byte.
    pub payload: String,
    /// The hybrid logical clock stamp of the action.
    pub hlc: Hlc,
    /// The device's wall-clock time of the action, in whole milliseconds.
    pub device_time: DateTime<Utc>,
    /// The device's UTC offset at the time, in minutes (China: +480).
    pub utc_offset_minutes: i32,
    /// The `hash` of the previous entry in the chain, or [`GENESIS_HASH`].
    pub prev_hash: String,
    /// SHA-256 of this entry (see [`LogEntry::compute_hash`]), lower-case hex.
    pub hash: String,
}

/// The content of an entry before it is linked into a chain by [`append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryDraft {
    /// The visit the entry belongs to.
    pub visit_id: Uuid,
    /// The device writing the entry.
    pub author: Uuid,
    /// The id of the operation this entry records.
    pub op_id: Uuid,
    /// What happened, for example `"checked_in"`.
    pub kind: String,
    /// The action's JSON exactly as it will be stored.
    pub payload: String,
    /// The hybrid logical clock stamp of the action.
    pub hlc: Hlc,
    /// The device's wall-clock time of the action (truncated to milliseconds).
    pub device_time: DateTime<Utc>,
    /// The device's UTC offset at the time, in minutes.
    pub utc_offset_minutes: i32,
}

/// Why [`append`] refused to link a draft to the given previous entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppendError {
    /// The previous entry belongs to another visit.
    #[error("previous entry belongs to another visit")]
    WrongVisit,
    /// The previous entry belongs to another author's chain.
    #[error("previous entry belongs to another author")]
    WrongAuthor,
    /// The chain cannot grow any further.
    #[error("chain is full")]
    ChainFull,
}

fn put_field(hasher: &mut Sha256, bytes: &[u8]) {
    // usize -> u64 is lossless on every platform Rust supports.
    hasher.update((bytes.len() as u64).to_be_bytes());
    hasher.update(bytes);
}

impl LogEntry {
    /// Recomputes the entry's hash from its content and `prev_hash`.
    ///
    /// SHA-256 over the domain tag and then every field, each prefixed with its
    /// length as a big-endian `u64`: prev_hash (hex text), visit_id, author (16
    /// bytes each), seq (8 bytes big-endian), op_id (16 bytes), kind and payload
    /// (UTF-8), hlc (its text form), device_time (RFC 3339, UTC, nanosecond
    /// precision, so no edit hides below the precision) and utc_offset_minutes (4
    /// bytes big-endian).
    pub fn compute_hash(&self) -> String {
        let mut hasher = Sha256::new();
        put_field(&mut hasher, HASH_DOMAIN);
        put_field(&mut hasher, self.prev_hash.as_bytes());
        put_field(&mut hasher, self.visit_id.as_bytes());
        put_field(&mut hasher, self.author.as_bytes());
        put_field(&mut hasher, &self.seq.to_be_bytes());
        put_field(&mut hasher, self.op_id.as_bytes());
        put_field(&mut hasher, self.kind.as_bytes());
        put_field(&mut hasher, self.payload.as_bytes());
        put_field(&mut hasher, self.hlc.to_string().as_bytes());
        let time = self.device_time.to_rfc3339_opts(SecondsFormat::Nanos, true);
        put_field(&mut hasher, time.as_bytes());
        put_field(&mut hasher, &self.utc_offset_minutes.to_be_bytes());
        hex::encode(hasher.finalize())
    }

    /// The head of the chain if this entry is its last one.
    pub fn head(&self) -> ChainHead {
        ChainHead {
            author: self.author,
            length: self.seq.saturating_add(1),
            hash: self.hash.clone(),
        }
    }
}

/// Links `draft` after `prev` (or starts a chain when `prev` is `None`) and
/// computes its hash.
///
/// `device_time` is truncated to whole milliseconds, so the entry survives a
/// store that keeps millisecond precision and still verifies.
pub fn append(prev: Option<&LogEntry>, draft: EntryDraft) -> Result<LogEntry, AppendError> {
    let (seq, prev_hash) = match prev {
        None => (0, GENESIS_HASH.to_owned()),
        Some(prev) => {
            if prev.visit_id != draft.visit_id {
                return Err(AppendError::WrongVisit);
            }
            if prev.author != draft.author {
                return Err(AppendError::WrongAuthor);
            }
            let seq = prev.seq.checked_add(1).ok_or(AppendError::ChainFull)?;
            (seq, prev.hash.clone())
        }
    };
    let mut entry = LogEntry {
        visit_id: draft.visit_id,
        author: draft.author,
        seq,
        op_id: draft.op_id,
        kind: draft.kind,
        payload: draft.payload,
        hlc: draft.hlc,
        device_time: draft.device_time.trunc_subsecs(3),
        utc_offset_minutes: draft.utc_offset_minutes,
        prev_hash,
        hash: String::new(),
    };
    entry.hash = entry.compute_hash();
    Ok(entry)
}

/// The newest entry of one author's chain: how long it is and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChainHead {
    /// The author device of the chain.
    pub author: Uuid,
    /// Number of entries in the chain.
    pub length: u64,
    /// Hash of the last entry ([`GENESIS_HASH`] for an empty chain).
    pub hash: String,
}

/// What is wrong at a broken link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BreakReason {
    /// The entry's content does not match its hash: it was edited.
    HashMismatch,
    /// The entry does not link to the one before it: an entry was removed or the
    /// entries were reordered.
    PrevHashMismatch,
    /// The entry's `seq` is not its position in the chain.
    SequenceGap,
    /// The entry belongs to another visit.
    WrongVisit,
    /// The entry belongs to another author than the chain it was given in.
    WrongAuthor,
    /// The entry where the expected head should be has another hash.
    HeadMismatch,
    /// The chain is shorter than its expected head: its newest entries are gone.
    Truncated,
    /// A chain with an expected head has no entries at all.
    MissingChain,
    /// No entries were given to verify as a chain.
    EmptyChain,
}

impl BreakReason {
    /// Stable machine-readable code, the same as the serde form.
    pub fn code(self) -> &'static str {
        match self {
            BreakReason::HashMismatch => "hash_mismatch",
            BreakReason::PrevHashMismatch => "prev_hash_mismatch",
            BreakReason::SequenceGap => "sequence_gap",
            BreakReason::WrongVisit => "wrong_visit",
            BreakReason::WrongAuthor => "wrong_author",
            BreakReason::HeadMismatch => "head_mismatch",
            BreakReason::Truncated => "truncated",
            BreakReason::MissingChain => "missing_chain",
            BreakReason::EmptyChain => "empty_chain",
        }
    }

    /// The reason whose [`BreakReason::code`] is `code`, if any (a stored code
    /// read back).
    pub fn from_code(code: &str) -> Option<BreakReason> {
        [
            BreakReason::HashMismatch,
            BreakReason::PrevHashMismatch,
            BreakReason::SequenceGap,
            BreakReason::WrongVisit,
            BreakReason::WrongAuthor,
            BreakReason::HeadMismatch,
            BreakReason::Truncated,
            BreakReason::MissingChain,
            BreakReason::EmptyChain,
        ]
        .into_iter()
        .find(|reason| reason.code() == code)
    }
}

/// The first place where a log fails verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("visit log broken at entry {index} of author {author}: {}", reason.code())]
pub struct BrokenLink {
    /// Position in the given slice of the offending entry; the slice's length
    /// when entries are missing after the end (truncated or missing chain).
    pub index: usize,
    /// The author whose chain is broken.
    pub author: Uuid,
    /// What is wrong.
    pub reason: BreakReason,
}

/// Verifies the chain made of `entries[i]` for `i` in `positions`, in that order.
/// `visit` is the visit every entry must belong to.
fn verify_positions(
    entries: &[LogEntry],
    positions: &[usize],
    visit: Uuid,
    author: Uuid,
) -> Result<ChainHead, BrokenLink> {
    let mut prev_hash = GENESIS_HASH;
    let mut length: u64 = 0;
    for &index in positions {
        let broken = |reason| BrokenLink {
            index,
            author,
            reason,
        };
        let Some(entry) = entries.get(index) else {
            return Err(broken(BreakReason::Truncated));
        };
        if entry.visit_id != visit {
            return Err(broken(BreakReason::WrongVisit));
        }
        if entry.author != author {
            return Err(broken(BreakReason::WrongAuthor));
        }
        if entry.seq != length {
            return Err(broken(BreakReason::SequenceGap));
        }
        if entry.prev_hash != prev_hash {
            return Err(broken(BreakReason::PrevHashMismatch));
        }
        if entry.compute_hash() != entry.hash {
            return Err(broken(BreakReason::HashMismatch));
        }
        prev_hash = &entry.hash;
        length += 1;
    }
    Ok(ChainHead {
        author,
        length,
        hash: prev_hash.to_owned(),
    })
}

/// Verifies one author's chain, given in order, and returns its head.
///
/// All entries must share the first entry's visit and author. This cannot see
/// removed newest entries; compare the head with a stored one for that, or use
/// [`verify_visit_log`].
pub fn verify_chain(entries: &[LogEntry]) -> Result<ChainHead, BrokenLink> {
    let Some(first) = entries.first() else {
        return Err(BrokenLink {
            index: 0,
            author: Uuid::nil(),
            reason: BreakReason::EmptyChain,
        });
    };
    let positions: Vec<usize> = (0..entries.len()).collect();
    verify_positions(entries, &positions, first.visit_id, first.author)
}

/// Verifies the whole log of visit `visit_id`: every author's chain, in the order
/// the entries are given (they are grouped by author, never sorted, so a reordering
/// is caught), and then each of `expected_heads` (pass `&[]` when none are known).
///
/// An expected head is met when the author's chain is at least that long and its
/// entry at `length - 1` has that hash; a chain that has grown since is fine.
/// Returns the heads of all chains, ordered by author, or the first broken link
/// in slice order.
pub fn verify_visit_log(
    visit_id: Uuid,
    entries: &[LogEntry],
    expected_heads: &[ChainHead],
) -> Result<Vec<ChainHead>, BrokenLink> {
    let mut chains: BTreeMap<Uuid, Vec<usize>> = BTreeMap::new();
    for (index, entry) in entries.iter().enumerate() {
        chains.entry(entry.author).or_default().push(index);
    }

    let mut first_break: Option<BrokenLink> = None;
    let mut note = |link: BrokenLink| {
        if first_break.is_none_or(|first| link.index < first.index) {
            first_break = Some(link);
        }
    };
    let mut heads = Vec::with_capacity(chains.len());
    for (&author, positions) in &chains {
        match verify_positions(entries, positions, visit_id, author) {
            Ok(head) => heads.push(head),
            Err(link) => note(link),
        }
    }
    for expected in expected_heads {
        let positions = chains
            .get(&expected.author)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let broken = |index, reason| BrokenLink {
            index,
            author: expected.author,
            reason,
        };
        if positions.is_empty() {
            if expected.length > 0 {
                note(broken(entries.len(), BreakReason::MissingChain));
            }
            continue;
        }
        let Some(last) = usize::try_from(expected.length)
            .ok()
            .and_then(|length| length.checked_sub(1))
        else {
            continue;
        };
        match positions
            .get(last)
            .and_then(|&i| Some((i, entries.get(i)?)))
        {
            None => note(broken(entries.len(), BreakReason::Truncated)),
            Some((index, entry)) if entry.hash != expected.hash => {
                note(broken(index, BreakReason::HeadMismatch));
            }
            Some(_) => {}
        }
    }
    match first_break {
        Some(link) => Err(link),
        None => Ok(heads),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use proptest::prelude::*;

    fn id(n: u8) -> Uuid {
        Uuid::from_bytes([n; 16])
    }

    fn draft(visit: Uuid, author: Uuid, n: u64) -> EntryDraft {
        let at = Utc.with_ymd_and_hms(2025, 3, 14, 1, 30, 0).unwrap() + Duration::seconds(n as i64);
        EntryDraft {
            visit_id: visit,
            author,
            op_id: Uuid::from_u128(u128::from(n) + 1000),
            kind: if n == 0 { "checked_in" } else { "answered" }.to_owned(),
            payload: format!(r#"{{"n":{n},"note":"客户称下月还款"}}"#),
            hlc: Hlc {
                millis: 1_741_915_800_000 + n,
                counter: 0,
                node: author,
            },
            device_time: at + Duration::nanoseconds(123_456_789),
            utc_offset_minutes: 480,
        }
    }

    /// Builds a log for one visit; `authors[i]` says which author writes entry i.
    fn build(authors: &[u8]) -> Vec<LogEntry> {
        let mut heads: BTreeMap<u8, LogEntry> = BTreeMap::new();
        let mut log = Vec::new();
        for (n, &a) in authors.iter().enumerate() {
            let entry = append(heads.get(&a), draft(id(1), id(a), n as u64)).unwrap();
            heads.insert(a, entry.clone());
            log.push(entry);
        }
        log
    }

    fn heads_of(log: &[LogEntry]) -> Vec<ChainHead> {
        verify_visit_log(id(1), log, &[]).unwrap()
    }

    #[test]
    fn derived_op_ids_are_stable_per_chain_position_and_distinct_across_them() {
        let one = derived_op_id(id(1), id(2), 0);
        assert_eq!(one, derived_op_id(id(1), id(2), 0));
        assert_eq!(one.get_version_num(), 8);
        let others = [
            derived_op_id(id(1), id(2), 1),
            derived_op_id(id(2), id(2), 0),
            derived_op_id(id(1), id(1), 0),
            derived_op_id(id(2), id(1), 0),
        ];
        for other in others {
            assert_ne!(one, other);
        }
    }

    #[test]
    fn append_links_and_untouched_chain_verifies() {
        let log = build(&[7, 7, 7]);
        assert_eq!(log[0].prev_hash, GENESIS_HASH);
        assert_eq!(log[1].prev_hash, log[0].hash);
        assert_eq!(log[2].seq, 2);
        assert_eq!(log[0].device_time.timestamp_subsec_nanos(), 123_000_000);
        let head = verify_chain(&log).unwrap();
        assert_eq!(head, log[2].head());
        assert_eq!(head.length, 3);

        // Survives a serde round trip unchanged.
        let json = serde_json::to_string(&log).unwrap();
        let back: Vec<LogEntry> = serde_json::from_str(&json).unwrap();
        assert_eq!(verify_chain(&back), Ok(head));
    }

    #[test]
    fn append_refuses_a_link_to_another_chain() {
        let log = build(&[7]);
        assert_eq!(
            append(Some(&log[0]), draft(id(2), id(7), 1)),
            Err(AppendError::WrongVisit)
        );
        assert_eq!(
            append(Some(&log[0]), draft(id(1), id(8), 1)),
            Err(AppendError::WrongAuthor)
        );
    }

    #[test]
    fn encoding_is_unambiguous() {
        // Moving bytes between adjacent text fields must change the hash.
        let mut a = build(&[7]).remove(0);
        a.kind = "ab".into();
        a.payload = "c".into();
        let mut b = a.clone();
        b.kind = "a".into();
        b.payload = "bc".into();
        assert_ne!(a.compute_hash(), b.compute_hash());
    }

    #[test]
    fn empty_inputs() {
        assert_eq!(
            verify_chain(&[]).unwrap_err().reason,
            BreakReason::EmptyChain
        );
        assert_eq!(verify_visit_log(id(1), &[], &[]), Ok(vec![]));
        let head = ChainHead {
            author: id(7),
            length: 2,
            hash: "ab".into(),
        };
        let err = verify_visit_log(id(1), &[], &[head]).unwrap_err();
        assert_eq!((err.index, err.reason), (0, BreakReason::MissingChain));
        assert_eq!(err.reason.code(), "missing_chain");
    }

    #[test]
    fn visit_log_detects_missing_chain_tail_and_foreign_entries() {
        let log = build(&[7, 8, 7, 8, 7]);
        let heads = heads_of(&log);
        assert_eq!(heads.len(), 2);
        assert_eq!(verify_visit_log(id(1), &log, &heads), Ok(heads.clone()));

        // Partner's chain dropped entirely.
        let only_7: Vec<LogEntry> = log.iter().filter(|e| e.author == id(7)).cloned().collect();
        let err = verify_visit_log(id(1), &only_7, &heads).unwrap_err();
        assert_eq!(
            (err.index, err.author, err.reason),
            (3, id(8), BreakReason::MissingChain)
        );

        // Newest entry removed.
        let err = verify_visit_log(id(1), &log[..4], &heads).unwrap_err();
        assert_eq!((err.index, err.reason), (4, BreakReason::Truncated));

        // A chain that grew since the head was recorded is fine.
        let older = heads_of(&log[..3]);
        assert_eq!(verify_visit_log(id(1), &log, &older), Ok(heads));

        // Someone else's visit.
        let err = verify_visit_log(id(2), &log, &[]).unwrap_err();
        assert_eq!((err.index, err.reason), (0, BreakReason::WrongVisit));
    }

    #[test]
    fn rebuilt_chain_is_caught_by_the_head() {
        // Editing an entry and re-hashing everything after it yields a valid
        // chain; only the recorded head gives it away.
        let log = build(&[7, 7, 7]);
        let heads = heads_of(&log);
        let mut drafts: Vec<EntryDraft> = (0..3).map(|n| draft(id(1), id(7), n)).collect();
        drafts[1].payload = r#"{"n":1,"note":"客户已全额还款"}"#.into();
        let mut forged: Vec<LogEntry> = Vec::new();
        for d in drafts {
            forged.push(append(forged.last(), d).unwrap());
        }
        assert!(verify_chain(&forged).is_ok());
        let err = verify_visit_log(id(1), &forged, &heads).unwrap_err();
        assert_eq!((err.index, err.reason), (2, BreakReason::HeadMismatch));
    }

    #[derive(Debug, Clone)]
    enum Tamper {
        Edit { at: usize, field: u8 },
        Delete { at: usize },
        Swap { a: usize, b: usize },
    }

    fn edit(entry: &mut LogEntry, field: u8) {
        match field % 11 {
            0 => entry.visit_id = id(99),
            1 => entry.author = id(99),
            2 => entry.seq += 1,
            3 => entry.op_id = id(99),
            4 => entry.kind.push('x'),
            5 => entry.payload = entry.payload.replace("下月", "本月"),
            6 => entry.hlc.counter += 1,
            7 => entry.device_time += Duration::nanoseconds(1),
            8 => entry.utc_offset_minutes = -entry.utc_offset_minutes,
            9 => entry.prev_hash = entry.hash.clone(),
            _ => entry.hash = GENESIS_HASH.to_owned(),
        }
    }

    fn log_and_tamper() -> impl Strategy<Value = (Vec<u8>, Tamper)> {
        proptest::collection::vec(prop_oneof![3 => Just(7_u8), 1 => Just(8_u8)], 1..40)
            .prop_flat_map(|authors| {
                let n = authors.len();
                let tamper = prop_oneof![
                    (0..n, any::<u8>()).prop_map(|(at, field)| Tamper::Edit { at, field }),
                    (0..n).prop_map(|at| Tamper::Delete { at }),
                    (0..n, 0..n).prop_map(|(a, b)| Tamper::Swap { a, b }),
                ];
                (Just(authors), tamper)
            })
    }

    proptest! {
        #[test]
        fn any_tampering_is_detected_at_or_before_the_place((authors, tamper) in log_and_tamper()) {
            let log = build(&authors);
            let heads = heads_of(&log);
            prop_assert_eq!(verify_visit_log(id(1), &log, &heads), Ok(heads.clone()));

            let mut bad = log.clone();
            // The latest position in `bad` the break may be reported at.
            let bound = match tamper {
                Tamper::Edit { at, field } => {
                    edit(&mut bad[at], field);
                    at
                }
                Tamper::Delete { at } => {
                    let author = bad.remove(at).author;
                    // With two authors interleaved, the removal shows at the next
                    // entry of the same chain, or past the end via the heads.
                    (at..bad.len()).find(|&i| bad[i].author == author).unwrap_or(bad.len())
                }
                Tamper::Swap { a, b } => {
                    // Interleaving across authors is not significant (see the
                    // module docs); a swap within one chain is tampering.
                    prop_assume!(a != b && log[a].author == log[b].author);
                    bad.swap(a, b);
                    a.min(b)
                }
            };
            let err = verify_visit_log(id(1), &bad, &heads);
            prop_assert!(err.is_err(), "{:?} not detected", tamper);
            let err = err.unwrap_err();
            prop_assert!(err.index <= bound, "{:?} reported at {:?}", tamper, err);
            if err.index == bad.len() {
                prop_assert!(matches!(tamper, Tamper::Delete { .. }), "{:?}", tamper);
                let past_end = matches!(err.reason, BreakReason::Truncated | BreakReason::MissingChain);
                prop_assert!(past_end, "{:?}", err);
            }

            // The single-author check catches it too when the log is one chain;
            // only a cut-off newest entry looks valid on its own.
            let one_author = authors.iter().all(|&a| a == authors[0]);
            if one_author && !bad.is_empty() && let Ok(head) = verify_chain(&bad) {
                let cut_tail = matches!(tamper, Tamper::Delete { at } if at == log.len() - 1);
                prop_assert!(cut_tail, "{:?}", tamper);
                prop_assert_ne!(head, heads[0].clone());
            }
        }
    }
}
