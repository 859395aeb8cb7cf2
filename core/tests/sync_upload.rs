//! Attachment uploads through the device's sync engine against a fake server:
//! after the push, in chunks, resumed from the server's offset after a failure
//! or a restart, never purged or wiped before they are up, and a refusal never
//! stops the sync.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use std::sync::{Arc, Mutex};

use chrono::Duration;
use common::*;
use doorstep_core::domain::attachment::{AttachmentKind, AttachmentLink, sha256_hex};
use doorstep_core::domain::{ReviewDecision, VisitId};
use doorstep_core::sync::chunk_size::FIRST_CHUNK_BYTES;
use doorstep_core::sync::protocol::{MAX_ATTACHMENT_CHUNK_BYTES, PulledChange};
use doorstep_core::{DoorstepError, NoProgress, SyncObserver, SyncPhase};
use fake_server::*;
use uuid::Uuid;

const CHUNK: usize = MAX_ATTACHMENT_CHUNK_BYTES;

/// A photo of `len` bytes, different for each `seed`.
fn photo(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(17).wrapping_add(seed))
        .collect()
}

/// A finished visit with a large photo attached to it; returns the visit and
/// the photo's hash and bytes.
fn visit_with_big_photo(field: &Field, case: usize) -> (VisitId, String, Vec<u8>) {
    let visit = planned_and_notified(field, field.cases[case].id);
    field.clock.advance(Duration::hours(2));
    let now = field.clock.now_utc();
    field.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    let bytes = photo(2 * CHUNK + 4_321, case as u8);
    field
        .doorstep
        .attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &bytes,
            AttachmentLink::Visit,
        )
        .unwrap();
    (visit, sha256_hex(&bytes), bytes)
}

fn server_bytes(server: &FakeServer, sha: &str) -> Option<Vec<u8>> {
    server.with(|s| s.complete.contains(sha).then(|| s.blobs[sha].clone()))
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(SyncPhase, u64, u64)>>);

impl SyncObserver for Recorder {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        self.0.lock().unwrap().push((phase, done, total));
    }
}

#[test]
fn photos_go_up_in_chunks_after_their_push_and_are_marked_uploaded() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let (_, sha, bytes) = visit_with_big_photo(&field, 0);
    // Not acknowledged yet: nothing waits for an upload.
    assert_eq!(field.doorstep.sync_status().unwrap().pending_uploads, 0);

    sign_in(&field, &server);
    let recorder = Recorder::default();
    let report = field.doorstep.sync_now(&server, &recorder).unwrap();
    assert_eq!((report.uploaded, report.upload_refused), (1, 0));
    assert_eq!(server_bytes(&server, &sha), Some(bytes.clone()));
    // 32, 64, 128, 256, 512 KiB, then 1 MiB chunks: seven for 2 MiB and a bit.
    assert_eq!(
        server.with(|s| (s.chunk_puts, s.bytes_received)),
        (7, bytes.len() as u64)
    );
    assert_eq!(field.doorstep.sync_status().unwrap().pending_uploads, 0);
    // The bytes stay on the phone with their visit.
    assert_eq!(field.doorstep.attachment_bytes(&sha).unwrap(), bytes);

    let seen = recorder.0.lock().unwrap().clone();
    let size = bytes.len() as u64;
    let uploads: Vec<_> = seen.iter().filter(|p| p.0 == SyncPhase::Upload).collect();
    assert_eq!(uploads.first(), Some(&&(SyncPhase::Upload, 0, size)));
    assert_eq!(uploads.last(), Some(&&(SyncPhase::Upload, size, size)));
    assert!(uploads.contains(&&(SyncPhase::Upload, FIRST_CHUNK_BYTES as u64, size)));
    // Between the push and the pull.
    let upload_at = seen.iter().position(|p| p.0 == SyncPhase::Upload).unwrap();
    let last_push = seen.iter().rposition(|p| p.0 == SyncPhase::Push).unwrap();
    let first_pull = seen.iter().position(|p| p.0 == SyncPhase::Pull).unwrap();
    assert!(last_push < upload_at && upload_at < first_pull);

    // Nothing is sent again.
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.uploaded, 0);
    assert_eq!(server.with(|s| s.chunk_puts), 7);
}

#[test]
fn an_interrupted_upload_resumes_from_the_servers_offset_after_a_restart() {
    let mut field = field();
    let server = FakeServer::new(field.agent);
    let (_, sha, bytes) = visit_with_big_photo(&field, 0);
    server.with(|s| s.chunk_puts_before_failing = Some(1));

    let error = sync(&field, &server).unwrap_err();
    assert_eq!(failure_code(error), "offline");
    assert_eq!(server.with(|s| s.bytes_received), FIRST_CHUNK_BYTES as u64);
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!((status.pending_ops, status.pending_uploads), (0, 1));

    field.reopen();
    server.with(|s| s.chunk_puts_before_failing = None);
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.uploaded, 1);
    assert_eq!(server_bytes(&server, &sha), Some(bytes.clone()));
    assert_eq!(
        server.with(|s| s.bytes_received),
        bytes.len() as u64,
        "no byte was sent twice"
    );
    assert_eq!(field.doorstep.sync_status().unwrap().pending_uploads, 0);
}

#[test]
fn a_photo_cut_mid_way_goes_on_from_its_last_accepted_chunk_not_from_zero() {
    // A camera-sized photo, far under the 1 MiB chunk limit: before chunks
    // started small, it went up in one piece, and a cut sent it all again.
    let field = field();
    let server = FakeServer::new(field.agent);
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    let now = field.clock.now_utc();
    field.doorstep.check_in(visit, fix_at_home(now)).unwrap();
    let bytes = photo(250_000, 9);
    let sha = sha256_hex(&bytes);
    field
        .doorstep
        .attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &bytes,
            AttachmentLink::Visit,
        )
        .unwrap();
    server.with(|s| s.chunk_puts_before_failing = Some(2));

    assert_eq!(failure_code(sync(&field, &server).unwrap_err()), "offline");
    let held = server.with(|s| s.bytes_received);
    assert!(held > 0, "the photo's first chunks are on the server");
    server.with(|s| s.chunk_puts_before_failing = None);
    sync(&field, &server).unwrap();
    assert_eq!(server_bytes(&server, &sha), Some(bytes.clone()));
    assert_eq!(
        server.with(|s| s.bytes_received),
        bytes.len() as u64,
        "no byte was sent twice"
    );
}

#[test]
fn a_lost_chunk_response_is_resumed_without_sending_the_chunk_again() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let (_, sha, bytes) = visit_with_big_photo(&field, 0);
    server.with(|s| s.lose_chunk_responses = 1);

    assert_eq!(failure_code(sync(&field, &server).unwrap_err()), "timeout");
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.uploaded, 1);
    assert_eq!(server_bytes(&server, &sha), Some(bytes.clone()));
    assert_eq!(server.with(|s| s.bytes_received), bytes.len() as u64);
}

#[test]
fn a_refused_upload_keeps_the_bytes_waiting_and_the_sync_goes_on() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let (_, sha, bytes) = visit_with_big_photo(&field, 0);
    server.with(|s| s.refuse_uploads = Some((403, "not_assigned")));

    let report = sync(&field, &server).unwrap();
    assert_eq!((report.uploaded, report.upload_refused), (0, 1));
    assert_eq!(
        server.with(|s| s.pull_cursors.len()),
        1,
        "the pull still ran"
    );
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!((status.pending_uploads, status.last_error), (1, None));
    assert_eq!(field.doorstep.attachment_bytes(&sha).unwrap(), bytes);

    server.with(|s| s.refuse_uploads = None);
    let report = sync(&field, &server).unwrap();
    assert_eq!(report.uploaded, 1);
    assert_eq!(server_bytes(&server, &sha), Some(bytes));
}

#[test]
fn a_server_fault_during_an_upload_fails_the_sync_and_it_resumes() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let (_, sha, bytes) = visit_with_big_photo(&field, 0);
    server.with(|s| s.refuse_uploads = Some((503, "unavailable")));
    assert_eq!(
        failure_code(sync(&field, &server).unwrap_err()),
        "server_error"
    );
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert_eq!(field.doorstep.sync_status().unwrap().pending_uploads, 1);
    server.with(|s| s.refuse_uploads = None);
    assert_eq!(sync(&field, &server).unwrap().uploaded, 1);
    assert_eq!(server_bytes(&server, &sha), Some(bytes));
}

#[test]
fn a_case_reassigned_away_leaves_the_phone_only_after_its_photos_are_up() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let case = field.cases[0].id;
    let (visit, sha, bytes) = visit_with_big_photo(&field, 0);
    server.with(|s| s.refuse_uploads = Some((404, "unknown_attachment")));
    server.publish([PulledChange::CaseRemoved { case_id: case }]);

    let report = sync(&field, &server).unwrap();
    assert_eq!((report.upload_refused, report.purged_cases), (1, 0));
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert!(
        field.doorstep.case_detail(case).is_ok(),
        "kept: a photo is not up"
    );
    assert_eq!(field.doorstep.attachment_bytes(&sha).unwrap(), bytes);

    server.with(|s| s.refuse_uploads = None);
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.uploaded, report.purged_cases), (1, 1));
    assert_eq!(server_bytes(&server, &sha), Some(bytes));
    assert!(matches!(
        field.doorstep.case_detail(case),
        Err(DoorstepError::NotFound { .. })
    ));
    assert!(field.doorstep.visit_report(visit).is_err());
    assert!(field.doorstep.attachment_bytes(&sha).is_err());
}

#[test]
fn an_approved_visit_outlives_its_retention_until_its_photos_are_up() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let visit = play_complete_visit(&field, field.cases[0].id);
    let sha = field.doorstep.visit_report(visit).unwrap().attachments[0]
        .sha256
        .clone();
    server.with(|s| s.refuse_uploads = Some((403, "not_assigned")));
    sync(&field, &server).unwrap();
    let last = field
        .doorstep
        .visit_log(visit)
        .unwrap()
        .into_iter()
        .max_by_key(|e| e.hlc)
        .unwrap();
    let approval = foreign_entry(
        Uuid::now_v7(),
        visit,
        None,
        &review(ReviewDecision::Approve, &last),
        &last,
        60_000,
    );
    server.publish([PulledChange::VisitEntry {
        entry: approval,
        refused: false,
    }]);
    let retention = i64::from(field.doorstep.policy().retention_days_after_approval);
    field
        .clock
        .advance(Duration::days(retention) + Duration::hours(4));

    let report = sync(&field, &server).unwrap();
    assert_eq!((report.pulled, report.purged_visits), (1, 0));
    assert_eq!(field.doorstep.purge_expired_visits().unwrap(), 0);
    assert!(field.doorstep.visit_report(visit).is_ok());

    server.with(|s| s.refuse_uploads = None);
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.uploaded, report.purged_visits), (1, 1));
    assert!(server_bytes(&server, &sha).is_some());
    assert!(field.doorstep.visit_report(visit).is_err());
}

#[test]
fn a_deactivated_device_uploads_its_photos_before_it_wipes() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let (visit, _, _) = visit_with_big_photo(&field, 0);
    sync(&field, &server).unwrap();
    let Field {
        dir: _dir,
        doorstep,
        ..
    } = field;
    let doorstep = Arc::new(doorstep);
    // The server deactivates the device; while that sync pulls, the agent
    // attaches one more photo, and the network breaks off during its upload.
    let late = photo(CHUNK + 99, 42);
    let sha = sha256_hex(&late);
    let acting = Arc::clone(&doorstep);
    let attached = late.clone();
    *server.on_pull.lock().unwrap() = Some(Box::new(move || {
        acting
            .attach(
                visit,
                AttachmentKind::Photo,
                "image/jpeg",
                &attached,
                AttachmentLink::Visit,
            )
            .unwrap();
    }));
    doorstep.sign_in(&server, USERNAME, PASSWORD).unwrap();
    server.with(|s| {
        s.deactivated = true;
        s.chunk_puts_before_failing = Some(1);
    });
    let error = doorstep.sync_now(&server, &NoProgress).unwrap_err();
    assert_eq!(failure_code(error), "offline");
    // The photo's entry went up, its bytes only half: nothing is wiped.
    let status = doorstep.sync_status().unwrap();
    assert!(status.deactivated);
    assert_eq!((status.pending_ops, status.pending_uploads), (0, 1));
    assert_eq!(doorstep.attachment_bytes(&sha).unwrap(), late);
    assert_eq!(all_cases(&doorstep).len(), 3);

    server.with(|s| s.chunk_puts_before_failing = None);
    let report = doorstep.sync_now(&server, &NoProgress).unwrap();
    assert!(report.wiped);
    assert_eq!(report.uploaded, 1);
    assert_eq!(server_bytes(&server, &sha), Some(late));
    assert!(doorstep.attachment_bytes(&sha).is_err());
    assert!(all_cases(&doorstep).is_empty());
}
