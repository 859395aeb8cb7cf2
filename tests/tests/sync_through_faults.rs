//! A device works a visit offline and syncs with the real server through a proxy
//! that drops, delays, duplicates, cuts short and resets requests. Everything
//! the agent did reaches the server exactly once; the supervisor's return reaches
//! the device; the edited visit is resubmitted and approved.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use doorstep_core::checklist::home_verification;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::attachment::{AttachmentKind, AttachmentLink};
use doorstep_core::domain::{ReviewDecision, VisitHistory, VisitId, VisitState};
use doorstep_core::policy::Policy;
use doorstep_core::sync::protocol::{MAX_ATTACHMENT_CHUNK_BYTES, Role};
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, NoProgress};
use doorstep_server::admin;
use doorstep_server::store::{self, Store};
use doorstep_tests::fault_proxy::{Fault, FaultMix, FaultProxy};
use doorstep_tests::server::TestServer;
use serde_json::json;
use uuid::Uuid;

const PASSWORD: &str = "s3cret-field-pass";

struct Setup {
    _data: tempfile::TempDir,
    server: TestServer,
    agent: Uuid,
    supervisor_device: Uuid,
    cases: Vec<doorstep_core::domain::Case>,
}

/// A server with a supervisor, an agent on their team with a registered device,
/// the default template and two cases for the agent.
fn server_with_agent(device: Uuid) -> Setup {
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).unwrap();
    let store: &dyn Store = server.store();
    let now = Utc::now();
    admin::create_user(
        store,
        "lin.supervisor",
        PASSWORD,
        Role::Supervisor,
        None,
        now,
    )
    .unwrap();
    let agent = admin::create_user(
        store,
        "wang.agent",
        PASSWORD,
        Role::Agent,
        Some("lin.supervisor"),
        now,
    )
    .unwrap();
    admin::create_device(store, "wang.agent", device, now).unwrap();
    let supervisor_device = Uuid::now_v7();
    admin::create_device(store, "lin.supervisor", supervisor_device, now).unwrap();
    admin::publish_template(store, &home_verification(), now).unwrap();
    let cases: Vec<_> = (0..2).map(|i| sample_case(agent, i)).collect();
    admin::import_cases(store, &cases, now).unwrap();
    Setup {
        _data: data,
        server,
        agent,
        supervisor_device,
        cases,
    }
}

/// Syncs until `done` holds, through faults; gives up after a bounded number of
/// attempts (each attempt is one sync, which stops at its first failure, or a
/// sign-in while the phone has none).
fn sync_until(
    doorstep: &Doorstep,
    transport: &UreqTransport,
    done: impl Fn(&Doorstep) -> bool,
) -> u32 {
    for attempt in 1..=60 {
        // The agent signs in once, through the same faults; a sign-in whose
        // answer was lost is simply done again.
        if !doorstep.is_signed_in().unwrap()
            && doorstep.sign_in(transport, "wang.agent", PASSWORD).is_err()
        {
            continue;
        }
        let result = doorstep.sync_now(transport, &NoProgress);
        if result.is_ok() && done(doorstep) {
            return attempt;
        }
    }
    panic!(
        "sync did not converge in 60 attempts: {:?}",
        doorstep.sync_status()
    );
}

fn supervisor_decides(setup: &Setup, visit: VisitId, decision: ReviewDecision) {
    let agent = ureq::Agent::new_with_defaults();
    let base = setup.server.url();
    let login: serde_json::Value = agent
        .post(&format!("{base}/v1/login"))
        .send_json(json!({
            "username": "lin.supervisor",
            "password": PASSWORD,
            "device_id": setup.supervisor_device,
        }))
        .unwrap()
        .body_mut()
        .read_json()
        .unwrap();
    let token = login["token"].as_str().unwrap();
    let status = agent
        .post(&format!("{base}/v1/visits/{visit}/review"))
        .header("Authorization", &format!("Bearer {token}"))
        .send_json(json!({ "decision": decision }))
        .unwrap()
        .status();
    assert!(status.is_success(), "review answered {status}");
}

/// The server's view of a visit: its admitted entries and their fold.
fn server_visit(
    setup: &Setup,
    visit: VisitId,
) -> (Vec<doorstep_core::event_log::LogEntry>, VisitHistory) {
    let stored = store::read(setup.server.store() as &dyn Store, |tx| {
        tx.visit_entries(visit)
    })
    .unwrap();
    let admitted: Vec<_> = stored
        .into_iter()
        .filter(|s| s.rejected.is_none())
        .map(|s| s.entry)
        .collect();
    let history = VisitHistory::fold(visit, &admitted).unwrap();
    (admitted, history)
}

#[test]
fn a_visit_synced_through_a_faulty_network_arrives_once_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep =
        Doorstep::open_with_clock(&path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();
    let setup = server_with_agent(doorstep.device_id());
    let proxy =
        FaultProxy::start(setup.server.address(), FaultMix::uniform(5), 20261128, 400).unwrap();
    let transport = UreqTransport::new(
        &format!("http://{}", proxy.address()),
        Duration::from_secs(5),
    );

    // Morning: the agent's phone pulls its cases.
    sync_until(&doorstep, &transport, |d| {
        d.list_cases(&doorstep_core::CaseQuery {
            limit: 10,
            ..Default::default()
        })
        .unwrap()
        .len()
            == 2
    });
    assert_eq!(doorstep.signed_in_agent().unwrap(), Some(setup.agent));

    // The whole visit happens offline.
    let field = Field {
        dir,
        path,
        clock,
        doorstep,
        agent: setup.agent,
        cases: setup.cases.clone(),
    };
    let visit = play_complete_visit(&field, setup.cases[0].id);
    let device_log = field.doorstep.visit_log(visit).unwrap();
    assert_eq!(
        field.doorstep.pending_outbox_count().unwrap(),
        device_log.len() as u64
    );

    // Back in coverage: sync until the outbox is empty.
    sync_until(&field.doorstep, &transport, |d| {
        d.pending_outbox_count().unwrap() == 0
    });
    assert!(field.doorstep.rejected_ops().unwrap().is_empty());
    let (server_log, history) = server_visit(&setup, visit);
    let mut by_op: HashMap<Uuid, usize> = HashMap::new();
    for entry in &server_log {
        *by_op.entry(entry.op_id).or_default() += 1;
    }
    assert!(by_op.values().all(|n| *n == 1), "an op was stored twice");
    let mut sorted = server_log.clone();
    sorted.sort_by_key(|e| e.seq);
    assert_eq!(
        sorted, device_log,
        "the server holds exactly the device's log"
    );
    assert_eq!(history.visit.state, VisitState::Submitted);
    assert_eq!(history.notes.len(), 1);
    assert_eq!(
        history.answers.len(),
        field.doorstep.visit_report(visit).unwrap().answers.len()
    );

    // The supervisor returns it; the return reaches the phone.
    supervisor_decides(
        &setup,
        visit,
        ReviewDecision::Return {
            reason_code: "missing_photos".into(),
            comment: "请补拍门牌号照片".into(),
        },
    );
    sync_until(&field.doorstep, &transport, |d| {
        d.visit_report(visit).unwrap().visit.state == VisitState::Returned
    });

    // The agent adds the photo, a large photo of the door plate (three chunks)
    // and a note, resubmits; the supervisor approves.
    photo_of_premises(&field.doorstep, visit);
    let door_plate: Vec<u8> = (0..2 * MAX_ATTACHMENT_CHUNK_BYTES + 777)
        .map(|i| (i as u8).wrapping_mul(29).wrapping_add(3))
        .collect();
    field
        .doorstep
        .attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &door_plate,
            AttachmentLink::Visit,
        )
        .unwrap();
    field
        .doorstep
        .add_note(visit, "已补拍门牌号照片。")
        .unwrap();
    field.doorstep.submit(visit).unwrap();
    sync_until(&field.doorstep, &transport, |d| {
        d.pending_outbox_count().unwrap() == 0 && d.sync_status().unwrap().pending_uploads == 0
    });
    assert_eq!(
        server_visit(&setup, visit).1.visit.state,
        VisitState::Submitted
    );
    supervisor_decides(&setup, visit, ReviewDecision::Approve);
    sync_until(&field.doorstep, &transport, |d| {
        d.visit_report(visit).unwrap().visit.state == VisitState::Approved
    });

    // Both sides agree on everything, and the network really was bad.
    let (server_log, history) = server_visit(&setup, visit);
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(history.visit, report.visit);
    assert_eq!(history.notes, report.notes);
    assert_eq!(history.attachments, report.attachments);
    // The server holds every photo, byte for byte as the phone took it.
    assert_eq!(report.attachments.len(), 3);
    let mut big = 0;
    for attachment in &report.attachments {
        let on_phone = field.doorstep.attachment_bytes(&attachment.sha256).unwrap();
        let on_server = setup.server.blobs().read(&attachment.sha256).unwrap();
        assert_eq!(on_server.as_ref(), Some(&on_phone), "{}", attachment.sha256);
        big += usize::from(on_phone == door_plate);
    }
    assert_eq!(big, 1);
    assert_eq!(field.doorstep.sync_status().unwrap().pending_uploads, 0);
    assert_eq!(server_log.len(), report.timeline.len());
    let faults = proxy.faults();
    let injected = faults.iter().filter(|f| **f != Fault::Pass).count();
    assert!(
        injected >= 3,
        "only {injected} faults in {} requests",
        faults.len()
    );
}
