use chrono::{DateTime, TimeZone, Utc};
use proptest::prelude::*;
use uuid::Uuid;

use super::*;
use crate::checklist::AnswerValue;
use crate::clock::Hlc;
use crate::domain::{
    InterviewNote, Notice, NoticeChannel, Review, ReviewDecision, SiteCheck, VisitState,
};
use crate::event_log::{EntryDraft, append};
use crate::policy::{GeoPoint, GpsFix};

fn at(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, minute % 60, 0)
        .single()
        .unwrap()
}

fn planned(agent: Uuid, partner: Option<Uuid>) -> VisitChange {
    VisitChange::Planned {
        case_id: Uuid::from_u128(7),
        agent,
        partner,
        template_key: "home-verification".into(),
        template_version: 1,
        planned_for: at(30),
    }
}

fn notice() -> VisitChange {
    VisitChange::NoticeRecorded {
        notice: Notice {
            channel: NoticeChannel::Sms,
            given_at: at(0),
            planned_visit_at: at(30),
            purpose: "overdue review".into(),
            acknowledged: true,
        },
    }
}

fn site() -> SiteCheck {
    SiteCheck {
        at: at(31),
        utc_offset_minutes: 480,
        fix: GpsFix {
            point: GeoPoint {
                latitude: 39.9,
                longitude: 116.4,
            },
            accuracy_m: 10.0,
            mocked: false,
            taken_at: at(31),
        },
        distance_m: Some(12.0),
        flags: Vec::new(),
    }
}

fn note(author: Uuid, n: u32) -> VisitChange {
    VisitChange::NoteAdded {
        note: InterviewNote {
            id: Uuid::from_u128(1_000 + u128::from(n)),
            author,
            written_at: at(n),
            text: format!("note {n}"),
        },
    }
}

fn review(decision: ReviewDecision) -> VisitChange {
    VisitChange::Reviewed {
        review: Review {
            decision,
            reviewer: Uuid::from_u128(99),
            decided_at: at(50),
        },
    }
}

/// One device's chain for one visit.
struct Chain {
    device: Uuid,
    visit: Uuid,
    entries: Vec<LogEntry>,
}

impl Chain {
    fn new(device: Uuid, visit: Uuid) -> Self {
        Chain {
            device,
            visit,
            entries: Vec::new(),
        }
    }

    /// Appends `change` stamped at `millis` and returns the new entry.
    fn push(&mut self, change: &VisitChange, millis: u64) -> LogEntry {
        let draft = EntryDraft {
            visit_id: self.visit,
            author: self.device,
            op_id: Uuid::now_v7(),
            kind: change.kind().into(),
            payload: serde_json::to_string(change).unwrap(),
            hlc: Hlc {
                millis,
                counter: 0,
                node: self.device,
            },
            device_time: at(0),
            utc_offset_minutes: 480,
        };
        let entry = append(self.entries.last(), draft).unwrap();
        self.entries.push(entry.clone());
        entry
    }
}

/// A server-side view of one visit: every stored entry, and which were admitted.
#[derive(Default)]
struct Server {
    stored: Vec<(LogEntry, bool)>,
}

impl Server {
    fn head(&self, author: Uuid) -> Option<&LogEntry> {
        self.stored
            .iter()
            .map(|(entry, _)| entry)
            .filter(|entry| entry.author == author)
            .max_by_key(|entry| entry.seq)
    }

    fn history(&self, visit: Uuid) -> Option<VisitHistory> {
        let admitted: Vec<LogEntry> = self
            .stored
            .iter()
            .filter(|(_, ok)| *ok)
            .map(|(entry, _)| entry.clone())
            .collect();
        VisitHistory::fold(visit, &admitted).ok()
    }

    fn push(&mut self, entry: &LogEntry) -> Result<VisitChange, Refusal> {
        let history = self.history(entry.visit_id);
        let result = admit(
            entry,
            entry.author,
            self.head(entry.author),
            history.as_ref(),
        );
        match &result {
            Ok(_) => self.stored.push((entry.clone(), true)),
            Err(refusal) if refusal.is_recorded() => self.stored.push((entry.clone(), false)),
            Err(_) => {}
        }
        result
    }
}

fn device(n: u128) -> Uuid {
    Uuid::from_u128(0xd000 + n)
}

/// A visit planned, notified and checked in by device 1.
fn started(visit: Uuid) -> (Server, Chain) {
    let mut server = Server::default();
    let mut chain = Chain::new(device(1), visit);
    for (i, change) in [
        planned(Uuid::from_u128(1), None),
        notice(),
        VisitChange::CheckedIn { check: site() },
    ]
    .iter()
    .enumerate()
    {
        let entry = chain.push(change, 10 + i as u64);
        server.push(&entry).unwrap();
    }
    (server, chain)
}

#[test]
fn a_visit_played_in_order_is_admitted_whole() {
    let visit = Uuid::from_u128(1);
    let (mut server, mut chain) = started(visit);
    let entry = chain.push(&note(Uuid::from_u128(1), 1), 20);
    assert!(matches!(
        server.push(&entry),
        Ok(VisitChange::NoteAdded { .. })
    ));
    assert_eq!(
        server.history(visit).unwrap().visit.state,
        VisitState::CheckedIn
    );
}

#[test]
fn an_edited_entry_is_a_hash_mismatch_and_is_not_stored() {
    let mut chain = Chain::new(device(1), Uuid::from_u128(2));
    let mut entry = chain.push(&planned(Uuid::from_u128(1), None), 1);
    entry.payload = entry.payload.replace("home-verification", "other");
    let refusal = admit(&entry, device(1), None, None).unwrap_err();
    assert_eq!(refusal, Refusal::Unlinked(RejectCode::HashMismatch));
    assert!(!refusal.is_recorded());
}

#[test]
fn an_entry_pushed_by_another_device_is_refused() {
    let mut chain = Chain::new(device(1), Uuid::from_u128(3));
    let entry = chain.push(&planned(Uuid::from_u128(1), None), 1);
    assert_eq!(
        admit(&entry, device(2), None, None),
        Err(Refusal::Unlinked(RejectCode::WrongDevice))
    );
}

#[test]
fn gaps_and_wrong_links_break_the_chain() {
    let visit = Uuid::from_u128(4);
    let (server, mut chain) = started(visit);
    let history = server.history(visit);
    let skipped = chain.push(&note(Uuid::from_u128(1), 1), 20);
    let after_gap = chain.push(&note(Uuid::from_u128(1), 2), 21);
    let head = server.head(device(1));
    let broken = Err(Refusal::Unlinked(RejectCode::ChainBroken));
    assert_eq!(admit(&after_gap, device(1), head, history.as_ref()), broken);
    // A first entry must start from genesis, and a non-first one needs a head.
    assert_eq!(admit(&skipped, device(1), None, history.as_ref()), broken);
    let mut other = Chain::new(device(1), visit);
    let first = other.push(&note(Uuid::from_u128(1), 3), 22);
    assert_eq!(admit(&first, device(1), head, history.as_ref()), broken);
    // A replayed entry does not continue the chain either.
    let replay = &chain.entries[2];
    assert_eq!(admit(replay, device(1), head, history.as_ref()), broken);
}

#[test]
fn an_unreadable_or_mislabelled_payload_is_recorded_as_invalid() {
    let mut chain = Chain::new(device(1), Uuid::from_u128(5));
    let mut entry = chain.push(&planned(Uuid::from_u128(1), None), 1);
    entry.kind = "submitted".into();
    entry.hash = entry.compute_hash();
    assert_eq!(
        admit(&entry, device(1), None, None),
        Err(Refusal::Recorded(RejectCode::InvalidPayload))
    );
    entry.kind = "planned".into();
    entry.payload = "{\"kind\":\"teleported\"}".into();
    entry.hash = entry.compute_hash();
    assert_eq!(
        admit(&entry, device(1), None, None),
        Err(Refusal::Recorded(RejectCode::InvalidPayload))
    );
}

#[test]
fn changes_to_a_visit_the_server_does_not_know_are_unknown() {
    let mut chain = Chain::new(device(2), Uuid::from_u128(6));
    let entry = chain.push(&notice(), 1);
    assert_eq!(
        admit(&entry, device(2), None, None),
        Err(Refusal::Recorded(RejectCode::UnknownVisit))
    );
}

#[test]
fn a_visit_is_planned_once_and_only_at_the_start_of_a_chain() {
    let visit = Uuid::from_u128(7);
    let (mut server, mut chain) = started(visit);
    let again = chain.push(&planned(Uuid::from_u128(1), None), 30);
    assert_eq!(
        server.push(&again),
        Err(Refusal::Recorded(RejectCode::IllegalTransition))
    );
    let mut partner = Chain::new(device(2), visit);
    let also = partner.push(&planned(Uuid::from_u128(2), None), 31);
    assert_eq!(
        server.push(&also),
        Err(Refusal::Recorded(RejectCode::IllegalTransition))
    );
}

#[test]
fn devices_cannot_push_reviews() {
    let visit = Uuid::from_u128(8);
    let (mut server, mut chain) = started(visit);
    let entry = chain.push(&review(ReviewDecision::Approve), 40);
    assert_eq!(
        server.push(&entry),
        Err(Refusal::Recorded(RejectCode::IllegalTransition))
    );
}

#[test]
fn a_rejected_entry_does_not_block_the_entries_behind_it() {
    let visit = Uuid::from_u128(9);
    let (mut server, mut chain) = started(visit);
    // Submitting while checked in is illegal...
    let early = chain.push(&VisitChange::Submitted { at: at(40) }, 40);
    assert_eq!(
        server.push(&early),
        Err(Refusal::Recorded(RejectCode::IllegalTransition))
    );
    // ...but it holds its place in the chain, so the next entry still links.
    let next = chain.push(&note(Uuid::from_u128(1), 1), 41);
    assert!(server.push(&next).is_ok());
    let history = server.history(visit).unwrap();
    assert_eq!(history.visit.state, VisitState::CheckedIn);
    assert_eq!(history.notes.len(), 1);
}

#[test]
fn an_approved_visit_is_frozen_and_a_returned_one_reopens_on_edit() {
    let visit = Uuid::from_u128(10);
    let (mut server, mut chain) = started(visit);
    for (i, change) in [
        VisitChange::CheckedOut { check: site() },
        VisitChange::Submitted { at: at(45) },
    ]
    .iter()
    .enumerate()
    {
        server.push(&chain.push(change, 50 + i as u64)).unwrap();
    }
    let mut history = server.history(visit).unwrap();
    let returned = review(ReviewDecision::Return {
        reason_code: "missing_photos".into(),
        comment: "add photos".into(),
    });
    history.visit.apply(&returned, device(9)).unwrap();
    let edit = chain.push(&note(Uuid::from_u128(1), 5), 60);
    let mut reopened = history.visit.clone();
    assert_eq!(
        admit(&edit, device(1), server.head(device(1)), Some(&history)),
        Ok(note(Uuid::from_u128(1), 5))
    );
    reopened
        .apply(&note(Uuid::from_u128(1), 5), device(1))
        .unwrap();
    assert_eq!(reopened.state, VisitState::Reopened);

    let mut approved = server.history(visit).unwrap();
    approved
        .visit
        .apply(&review(ReviewDecision::Approve), device(9))
        .unwrap();
    assert_eq!(
        admit(&edit, device(1), server.head(device(1)), Some(&approved)),
        Err(Refusal::Recorded(RejectCode::IllegalTransition))
    );
}

#[test]
fn an_entry_that_would_be_skipped_at_its_clock_position_is_refused() {
    let visit = Uuid::from_u128(12);
    let (server, _chain) = started(visit);
    let admitted: Vec<LogEntry> = server.stored.iter().map(|(e, _)| e.clone()).collect();
    let history = server.history(visit).unwrap();
    // The partner's clock is behind: the note is stamped before the check-in.
    let mut partner = Chain::new(device(2), visit);
    let early = partner.push(&note(Uuid::from_u128(2), 1), 11);
    assert!(admit(&early, device(2), None, Some(&history)).is_ok());
    assert_eq!(
        check_fold_position(&admitted, Some(&history), &early),
        Err(RejectCode::IllegalTransition)
    );
    let mut in_time = Chain::new(device(3), visit);
    let later = in_time.push(&note(Uuid::from_u128(2), 2), 20);
    let folded = check_fold_position(&admitted, Some(&history), &later).unwrap();
    assert_eq!(folded.notes.len(), 1);
    assert_eq!(folded.skipped, 0);
}

/// Partner edits made offline on two phones, as (device index, change number, clock).
fn partner_edits() -> impl Strategy<Value = (Vec<(bool, u64)>, Vec<bool>)> {
    (
        proptest::collection::vec((any::<bool>(), 100u64..200), 1..12),
        proptest::collection::vec(any::<bool>(), 24),
    )
}

proptest! {
    /// Two partners' chains for one visit, interleaved in any arrival order, are
    /// all admitted and fold to the same visit.
    #[test]
    fn partner_chains_converge_whatever_the_arrival_order((edits, order) in partner_edits()) {
        let visit = Uuid::from_u128(11);
        let agents = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let mut chains = [Chain::new(device(1), visit), Chain::new(device(2), visit)];
        let prefix: Vec<LogEntry> = [planned(agents[0], Some(agents[1])), notice(),
            VisitChange::CheckedIn { check: site() }]
            .iter()
            .enumerate()
            .map(|(i, change)| chains[0].push(change, 10 + i as u64))
            .collect();
        for (n, (second, millis)) in edits.iter().enumerate() {
            let who = usize::from(*second);
            let change = if n % 2 == 0 {
                note(agents[who], n as u32)
            } else {
                VisitChange::Answered {
                    item_id: "identity_confirmed".into(),
                    value: AnswerValue::YesNo(*second),
                }
            };
            chains[who].push(&change, *millis);
        }
        let tails = [chains[0].entries[3..].to_vec(), chains[1].entries.clone()];

        // Arrival order A: all of device 1, then device 2. Order B: interleaved.
        let mut in_order = Server::default();
        for entry in prefix.iter().chain(&tails[0]).chain(&tails[1]) {
            prop_assert!(in_order.push(entry).is_ok());
        }
        let mut interleaved = Server::default();
        for entry in &prefix {
            prop_assert!(interleaved.push(entry).is_ok());
        }
        let (mut a, mut b) = (0, 0);
        let mut pick = order.iter().cycle();
        while a < tails[0].len() || b < tails[1].len() {
            let take_b = b < tails[1].len() && (a == tails[0].len() || *pick.next().unwrap());
            let entry = if take_b { b += 1; &tails[1][b - 1] } else { a += 1; &tails[0][a - 1] };
            prop_assert!(interleaved.push(entry).is_ok());
        }
        let one = in_order.history(visit).unwrap();
        let two = interleaved.history(visit).unwrap();
        prop_assert_eq!(&one, &two);
        prop_assert_eq!(one.notes.len(), edits.len().div_ceil(2));
        prop_assert_eq!(one.skipped, 0);
    }
}

proptest! {
    /// Folding entry by entry ([`FoldedVisit`]) gives the same verdicts and the
    /// same visit as refolding the whole visit for every entry, whatever the
    /// clock order (entries stamped earlier take the refold path) and whether
    /// or not the state machine allows each change.
    #[test]
    fn a_folded_visit_matches_a_refold_for_every_entry(
        steps in proptest::collection::vec((0u8..7, 0u64..60), 1..30)
    ) {
        let visit = Uuid::from_u128(13);
        let agent = Uuid::from_u128(1);
        let mut chain = Chain::new(device(1), visit);
        let mut folded = FoldedVisit::new(visit, Vec::new());
        let mut admitted: Vec<LogEntry> = Vec::new();
        let changes = std::iter::once((planned(agent, None), 30)).chain(
            steps.iter().enumerate().map(|(n, &(kind, millis))| {
                let change = match kind {
                    0 => notice(),
                    1 => VisitChange::CheckedIn { check: site() },
                    2 => note(agent, n as u32),
                    3 => VisitChange::Answered {
                        item_id: "identity_confirmed".into(),
                        value: AnswerValue::YesNo(n % 2 == 0),
                    },
                    4 => VisitChange::CheckedOut { check: site() },
                    5 => review(ReviewDecision::Approve),
                    _ => planned(agent, None),
                };
                (change, millis)
            }),
        );
        for (change, millis) in changes {
            let entry = chain.push(&change, millis);
            let before = if admitted.is_empty() {
                None
            } else {
                VisitHistory::fold(visit, &admitted).ok()
            };
            prop_assert_eq!(folded.history(), before.as_ref());
            let expected = check_fold_position(&admitted, before.as_ref(), &entry);
            let actual = folded.admit(&entry, read_change(&entry).unwrap());
            prop_assert_eq!(actual.is_ok(), expected.is_ok());
            if let Ok(after) = expected {
                admitted.push(entry);
                prop_assert_eq!(folded.history(), Some(&after));
            }
            prop_assert_eq!(folded.admitted(), admitted.as_slice());
        }
    }
}

/// A step one partner's phone takes offline.
#[derive(Debug, Clone, Copy)]
enum Offline {
    CheckIn,
    Note,
    Answer(bool),
    CheckOut,
    Submit,
    Cancel,
}

fn offline_step() -> impl Strategy<Value = Offline> {
    prop_oneof![
        2 => Just(Offline::CheckIn),
        3 => Just(Offline::Note),
        3 => any::<bool>().prop_map(Offline::Answer),
        2 => Just(Offline::CheckOut),
        2 => Just(Offline::Submit),
        1 => Just(Offline::Cancel),
    ]
}

/// The server's side of one visit, as the push service runs it: an entry is
/// judged by the rules against the visit as it stood at its stamp
/// ([`FoldedVisit::history_at`]), then must fit where its clock puts it
/// ([`FoldedVisit::admit`]).
struct Arrivals {
    folded: FoldedVisit,
    heads: std::collections::HashMap<Uuid, LogEntry>,
}

impl Arrivals {
    fn new(visit: Uuid) -> Arrivals {
        Arrivals {
            folded: FoldedVisit::new(visit, Vec::new()),
            heads: std::collections::HashMap::new(),
        }
    }

    fn take(&mut self, entry: &LogEntry) {
        if let Ok(change) = read_change(entry)
            && check_not_frozen(&change, self.folded.history()).is_err()
        {
            self.heads.insert(entry.author, entry.clone());
            return;
        }
        let at_stamp = self.folded.history_at(entry.hlc).map(|h| h.into_owned());
        let verdict = admit(
            entry,
            entry.author,
            self.heads.get(&entry.author),
            at_stamp.as_ref(),
        );
        match verdict {
            Ok(change) => {
                // Refused at its clock position: stored, flagged, not folded.
                let _ = self.folded.admit(entry, change);
            }
            Err(Refusal::Recorded(_)) => {}
            Err(Refusal::Unlinked(code)) => panic!("a phone's chain did not link: {code:?}"),
        }
        self.heads.insert(entry.author, entry.clone());
    }
}

proptest! {
    /// Two partners work one visit offline from the same start (planned and
    /// notified by the primary; sometimes checked in too), each phone taking
    /// only the steps its own view allows: check-in, notes, answers,
    /// check-out, submission, cancellation. Whatever order their entries
    /// reach the server in, the visit ends the same: the same state, the
    /// same answers, every note kept (late ones as addenda), the same late
    /// changes.
    #[test]
    fn partners_working_offline_end_the_same_in_every_arrival_order(
        checked_in in any::<bool>(),
        steps in proptest::collection::vec((any::<bool>(), offline_step(), 1u64..40), 1..14),
        orders in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 28), 4),
    ) {
        let visit = Uuid::from_u128(17);
        let agents = [Uuid::from_u128(1), Uuid::from_u128(2)];
        let devices = [device(1), device(2)];
        let mut chains = [Chain::new(devices[0], visit), Chain::new(devices[1], visit)];
        let mut start = vec![planned(agents[0], Some(agents[1])), notice()];
        if checked_in {
            start.push(VisitChange::CheckedIn { check: site() });
        }
        let base: Vec<LogEntry> = start
            .iter()
            .enumerate()
            .map(|(i, change)| chains[0].push(change, 10 + i as u64))
            .collect();
        // Each phone's view: the start and its own steps; a step it does not
        // allow is not taken (the phone's own rules refuse it).
        let mut views = [base.clone(), base.clone()];
        let mut clocks = [100u64, 100u64];
        for (n, &(second, step, gap)) in steps.iter().enumerate() {
            let who = usize::from(second);
            let change = match step {
                Offline::CheckIn => VisitChange::CheckedIn { check: site() },
                Offline::Note => note(agents[who], n as u32),
                Offline::Answer(yes) => VisitChange::Answered {
                    item_id: "identity_confirmed".into(),
                    value: AnswerValue::YesNo(yes),
                },
                Offline::CheckOut => VisitChange::CheckedOut { check: site() },
                Offline::Submit => VisitChange::Submitted { at: at(45) },
                Offline::Cancel => VisitChange::Cancelled { reason: "customer moved".into() },
            };
            let view = VisitHistory::fold(visit, &views[who]).unwrap();
            let allowed = crate::rules::check_state(&change, Some(&view.visit), devices[who])
                .is_ok()
                && !view.visit.takes_late(&change, devices[who]);
            if !allowed {
                continue;
            }
            clocks[who] += gap;
            let entry = chains[who].push(&change, clocks[who]);
            views[who].push(entry);
        }
        let tails = [
            chains[0].entries[base.len()..].to_vec(),
            chains[1].entries.clone(),
        ];

        let mut ends = Vec::new();
        for order in &orders {
            let mut server = Arrivals::new(visit);
            for entry in &base {
                server.take(entry);
            }
            let (mut a, mut b) = (0, 0);
            let mut pick = order.iter().cycle();
            while a < tails[0].len() || b < tails[1].len() {
                let take_b = b < tails[1].len() && (a == tails[0].len() || *pick.next().unwrap());
                let entry = if take_b { b += 1; &tails[1][b - 1] } else { a += 1; &tails[0][a - 1] };
                server.take(entry);
            }
            ends.push(server.folded.history().cloned().unwrap());
        }
        // And the two extremes: one phone's whole day first, then the other's.
        for first in [0, 1] {
            let mut server = Arrivals::new(visit);
            for entry in base.iter().chain(&tails[first]).chain(&tails[1 - first]) {
                server.take(entry);
            }
            ends.push(server.folded.history().cloned().unwrap());
        }
        for end in &ends[1..] {
            prop_assert_eq!(&ends[0].visit, &end.visit);
            prop_assert_eq!(&ends[0].answers, &end.answers);
            prop_assert_eq!(&ends[0].notes, &end.notes);
            prop_assert_eq!(&ends[0].late, &end.late);
        }
        // Every note typed is in the visit, in place or as a late addendum.
        let typed = tails.iter().flatten().filter(|e| e.kind == "note_added").count();
        prop_assert_eq!(ends[0].notes.len(), typed);
    }
}

/// The case the issue describes: the partner checks out and submits offline
/// while the primary adds a note and changes an answer. Either phone first,
/// the visit is submitted, the primary's note is in it as a late addendum,
/// and the changed answer is kept as late, not applied.
#[test]
fn a_partners_submission_stands_and_the_primarys_later_note_is_an_addendum() {
    let visit = Uuid::from_u128(19);
    let agents = [Uuid::from_u128(1), Uuid::from_u128(2)];
    let mut primary = Chain::new(device(1), visit);
    let mut partner = Chain::new(device(2), visit);
    let answer = |yes| VisitChange::Answered {
        item_id: "identity_confirmed".into(),
        value: AnswerValue::YesNo(yes),
    };
    let base = [
        primary.push(&planned(agents[0], Some(agents[1])), 10),
        primary.push(&notice(), 11),
        primary.push(&VisitChange::CheckedIn { check: site() }, 12),
        primary.push(&answer(true), 13),
    ];
    let partners = [
        partner.push(&VisitChange::CheckedOut { check: site() }, 20),
        partner.push(&VisitChange::Submitted { at: at(45) }, 21),
    ];
    let primarys = [
        primary.push(&note(agents[0], 7), 30),
        primary.push(&answer(false), 31),
    ];
    let end = |first: &[LogEntry], second: &[LogEntry]| {
        let mut server = Arrivals::new(visit);
        for entry in base.iter().chain(first).chain(second) {
            server.take(entry);
        }
        server.folded.history().cloned().unwrap()
    };
    let partner_first = end(&partners, &primarys);
    let primary_first = end(&primarys, &partners);
    assert_eq!(partner_first, primary_first);
    assert_eq!(partner_first.visit.state, VisitState::Submitted);
    assert_eq!(partner_first.visit.moved_by, Some(device(2)));
    assert!(partner_first.is_late_note(Uuid::from_u128(1_007)));
    assert_eq!(
        partner_first.answers["identity_confirmed"].value,
        AnswerValue::YesNo(true),
        "the answer submitted stands"
    );
    let late: Vec<&str> = partner_first.late.iter().map(|l| l.change.kind()).collect();
    assert_eq!(late, ["note_added", "answered"]);
}
