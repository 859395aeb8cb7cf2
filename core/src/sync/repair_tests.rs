use super::*;
use chrono::{DateTime, Utc};
use uuid::Uuid;

const VISIT: Uuid = Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_0001);
const DEVICE: Uuid = Uuid::from_u128(0x0199_0000_0000_7000_8000_0000_0000_00d1);

fn stamp(millis: u64) -> Hlc {
    Hlc {
        millis,
        counter: 0,
        node: DEVICE,
    }
}

/// This device's chain of notes `texts`, stamped 1000, 1001, ... in order.
fn chain(texts: &[&str]) -> Vec<LogEntry> {
    chain_after(None, texts, 1_000)
}

fn chain_after(prev: Option<&LogEntry>, texts: &[&str], first_millis: u64) -> Vec<LogEntry> {
    let mut out: Vec<LogEntry> = Vec::new();
    for (n, text) in texts.iter().enumerate() {
        let before = out.last().or(prev);
        let seq = before.map_or(0, |p| p.seq + 1);
        let entry = event_log::append(
            before,
            EntryDraft {
                visit_id: VISIT,
                author: DEVICE,
                op_id: derived_op_id(VISIT, DEVICE, seq),
                kind: "note_added".into(),
                payload: format!(r#"{{"text":"{text}"}}"#),
                hlc: stamp(first_millis + n as u64),
                device_time: DateTime::<Utc>::from_timestamp_millis(1_772_442_000_000).unwrap(),
                utc_offset_minutes: 480,
            },
        )
        .unwrap();
        out.push(entry);
    }
    out
}

fn on_server(entries: &[LogEntry]) -> Vec<ChainEntry> {
    entries
        .iter()
        .map(|entry| ChainEntry {
            entry: entry.clone(),
            refused: None,
        })
        .collect()
}

fn held(entries: &[LogEntry], acknowledged: usize) -> Vec<HeldEntry> {
    entries
        .iter()
        .enumerate()
        .map(|(n, entry)| HeldEntry {
            entry: entry.clone(),
            acknowledged: n < acknowledged,
            refused: None,
        })
        .collect()
}

/// A clock that must not be asked.
fn no_restamp(_: Hlc) -> Hlc {
    panic!("no entry needed a new stamp")
}

fn payloads(entries: &[LogEntry]) -> Vec<&str> {
    entries.iter().map(|e| e.payload.as_str()).collect()
}

/// A power cut: the phone came back at its state after entry 1, the server
/// holds entries up to 3, and the agent has since added two notes, which took
/// positions 2 and 3 again. The server's four entries are restored and the two
/// new notes follow them at 4 and 5, linked, with their content unchanged.
#[test]
fn entries_lost_on_the_device_are_restored_and_later_work_rebased_on_top() {
    let before_cut = chain(&["一", "二", "三", "四"]);
    let after_cut = chain_after(Some(&before_cut[1]), &["五", "六"], 2_000);
    let mut device = before_cut[..2].to_vec();
    device.extend(after_cut.iter().cloned());

    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&before_cut),
        &held(&device, 2),
        &mut no_restamp,
    )
    .unwrap();

    assert_eq!(plan.acknowledged, before_cut);
    assert_eq!(payloads(&plan.rebased), payloads(&after_cut));
    assert_eq!(plan.rebased[0].seq, 4);
    assert_eq!(plan.rebased[0].prev_hash, before_cut[3].hash);
    assert_eq!(plan.rebased[1].prev_hash, plan.rebased[0].hash);
    assert_eq!(plan.rebased[1].op_id, derived_op_id(VISIT, DEVICE, 5));
    let mut whole = plan.acknowledged.clone();
    whole.extend(plan.rebased.iter().cloned());
    assert!(event_log::verify_chain(&whole).is_ok());
    assert!(plan.refused.is_empty() && plan.set_apart.is_empty());
}

/// Two actions took one chain position (an older build's race): the server
/// holds the first; the second is re-based after the rest of the chain.
#[test]
fn a_forked_chain_keeps_both_branches_actions() {
    let trunk = chain(&["一", "二", "三"]);
    let twin = chain_after(Some(&trunk[1]), &["三号分叉"], 1_500);
    assert_eq!(twin[0].seq, trunk[2].seq);
    let mut device = trunk.clone();
    device.push(twin[0].clone());

    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&trunk),
        &held(&device, 3),
        &mut no_restamp,
    )
    .unwrap();

    assert_eq!(plan.acknowledged, trunk);
    assert_eq!(payloads(&plan.rebased), payloads(&twin));
    assert_eq!(plan.rebased[0].seq, 3);
}

/// The device holds exactly what the server holds: nothing is re-based and
/// the chain stays as it is.
#[test]
fn a_chain_the_server_holds_whole_is_left_as_it_is() {
    let entries = chain(&["一", "二"]);
    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&entries),
        &held(&entries, 1),
        &mut no_restamp,
    )
    .unwrap();
    assert_eq!(plan.acknowledged, entries);
    assert!(plan.rebased.is_empty());
}

/// An action stamped no later than the newest entry restored (the phone's
/// clock floor was rolled back with its database) gets a new stamp above it,
/// so that it still comes after everything the agent did before.
#[test]
fn a_rebased_action_stamped_before_restored_ones_is_stamped_again() {
    let before_cut = chain(&["一", "二", "三"]);
    let after_cut = chain_after(Some(&before_cut[0]), &["改后"], 1_001);
    let mut device = before_cut[..1].to_vec();
    device.extend(after_cut.iter().cloned());
    let mut asked = Vec::new();
    let mut restamp = |above: Hlc| {
        asked.push(above);
        stamp(above.millis + 1)
    };

    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&before_cut),
        &held(&device, 1),
        &mut restamp,
    )
    .unwrap();

    assert_eq!(asked, vec![before_cut[2].hlc]);
    assert_eq!(plan.rebased[0].hlc, stamp(1_003));
    assert_eq!(plan.rebased[0].payload, after_cut[0].payload);
}

/// A chain from the server that does not verify is not taken: the device
/// keeps what it has.
#[test]
fn a_server_chain_that_does_not_verify_is_refused() {
    let mut entries = chain(&["一", "二", "三"]);
    entries[1].payload = r#"{"text":"改过"}"#.into();
    let refused = plan(
        VISIT,
        DEVICE,
        &on_server(&entries),
        &held(&entries, 0),
        &mut no_restamp,
    );
    assert_eq!(refused, Err(RepairError::ServerChainBroken(1)));

    let other_device = chain(&["一"])
        .into_iter()
        .map(|mut entry| {
            entry.author = Uuid::nil();
            entry.hash = entry.compute_hash();
            entry
        })
        .collect::<Vec<_>>();
    assert_eq!(
        plan(
            VISIT,
            DEVICE,
            &on_server(&other_device),
            &[],
            &mut no_restamp
        ),
        Err(RepairError::ServerChainBroken(0))
    );
}

/// An entry altered on the device is never re-hashed into a valid one: it is
/// set apart, and the actions after it are re-based without it.
#[test]
fn an_altered_entry_is_set_apart_not_laundered() {
    let server = chain(&["一"]);
    let mut device = chain(&["一", "二", "三"]);
    device[1].payload = r#"{"text":"篡改"}"#.into();

    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&server),
        &held(&device, 1),
        &mut no_restamp,
    )
    .unwrap();

    assert_eq!(
        plan.set_apart,
        vec![(device[1].clone(), "hash_mismatch".to_owned())]
    );
    assert_eq!(payloads(&plan.rebased), [r#"{"text":"三"}"#]);
    assert_eq!(plan.rebased[0].seq, 1);
}

/// Entries the server refused but recorded come back refused, with their
/// code, and are not pushed again.
#[test]
fn entries_the_server_refused_come_back_refused() {
    let entries = chain(&["一", "二"]);
    let mut server = on_server(&entries);
    server[1].refused = Some(RejectCode::IllegalTransition);
    let plan = plan(
        VISIT,
        DEVICE,
        &server,
        &held(&entries[..1], 1),
        &mut no_restamp,
    )
    .unwrap();
    assert_eq!(plan.acknowledged, entries[..1]);
    assert_eq!(
        plan.refused,
        vec![(entries[1].clone(), RejectCode::IllegalTransition)]
    );
    assert!(plan.rebased.is_empty());
}

/// An entry the server could not take whatever its place (a push it refused
/// as a whole, set apart by the engine) stays set apart; the entries after
/// it, refused only for their place, are re-based.
#[test]
fn an_entry_refused_for_its_content_is_not_pushed_again() {
    let entries = chain(&["一", "二", "三"]);
    let mut held = held(&entries, 1);
    held[1].refused = Some("invalid_push".into());
    held[2].refused = Some("chain_broken".into());
    let plan = plan(
        VISIT,
        DEVICE,
        &on_server(&entries[..1]),
        &held,
        &mut no_restamp,
    )
    .unwrap();
    assert_eq!(
        plan.set_apart,
        vec![(entries[1].clone(), "invalid_push".to_owned())]
    );
    assert_eq!(payloads(&plan.rebased), [r#"{"text":"三"}"#]);
    assert_eq!(plan.rebased[0].seq, 1);
}
