//! Pushing through the device's sync engine against a fake server: in order and
//! exactly once, rejected operations kept and listed, deactivation, backoff
//! after failures, tokens, and progress.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod fake_server;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use common::*;
use doorstep_core::sync::backoff::ceiling;
use doorstep_core::sync::protocol::{PulledChange, RejectCode};
use doorstep_core::{NoProgress, SyncObserver, SyncPhase};
use fake_server::*;
use uuid::Uuid;

#[test]
fn a_full_visit_is_pushed_in_order_and_leaves_the_outbox_with_its_log_unchanged() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let visit = play_complete_visit(&field, field.cases[0].id);
    let log = field.doorstep.visit_log(visit).unwrap();
    let order: Vec<Uuid> = field
        .doorstep
        .pending_ops(1_000)
        .unwrap()
        .iter()
        .map(|op| op.entry.op_id)
        .collect();
    assert_eq!(order.len(), log.len());

    let report = sync(&field, &server).unwrap();
    assert_eq!(report.applied as usize, log.len());
    assert_eq!((report.duplicates, report.rejected), (0, 0));
    assert_eq!(server.applied_ids(), order, "pushed in outbox order");
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert_eq!(field.doorstep.visit_log(visit).unwrap(), log);
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!(status.pending_ops, 0);
    assert_eq!(status.oldest_pending_age_seconds, None);
    assert!(status.last_success.is_some());
    assert_eq!(status.last_error, None);
    assert_eq!(
        field.doorstep.visit_report(visit).unwrap().unsynced_entries,
        0
    );

    // The token is kept: the next sync signs in no more.
    sync(&field, &server).unwrap();
    assert_eq!(server.with(|s| s.logins), 1);
}

#[test]
fn a_lost_push_response_is_retried_and_nothing_is_applied_twice() {
    let field = field();
    let server = FakeServer::new(field.agent);
    play_complete_visit(&field, field.cases[0].id);
    let pending = field.doorstep.pending_outbox_count().unwrap();
    server.with(|s| s.lose_push_responses = 1);

    let error = sync(&field, &server).unwrap_err();
    assert_eq!(failure_code(error), "timeout");
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), pending);
    let status = field.doorstep.sync_status().unwrap();
    assert!(status.last_error.unwrap().contains("timeout"));
    assert_eq!(status.consecutive_failures, 1);

    let report = sync(&field, &server).unwrap();
    assert_eq!((report.applied, report.duplicates), (0, pending));
    assert_eq!(server.with(|s| s.applied.len()) as u64, pending);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!(status.last_error, None);
    assert_eq!(status.consecutive_failures, 0);
}

#[test]
fn a_rejected_op_is_kept_and_listed_and_the_ops_behind_it_still_go() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let visit = play_complete_visit(&field, field.cases[0].id);
    let ops = field.doorstep.pending_ops(1_000).unwrap();
    let refused = ops[3].entry.clone();
    server.with(|s| {
        s.reject
            .insert(refused.op_id, RejectCode::IllegalTransition)
    });

    let report = sync(&field, &server).unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(report.applied as usize, ops.len() - 1);
    let behind: Vec<Uuid> = ops[4..].iter().map(|op| op.entry.op_id).collect();
    assert!(server.applied_ids().ends_with(&behind));

    let rejected = field.doorstep.rejected_ops().unwrap();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0].op_id, refused.op_id);
    assert_eq!(rejected[0].visit_id, visit);
    assert_eq!(rejected[0].log_seq, refused.seq);
    assert_eq!(rejected[0].kind, refused.kind);
    assert_eq!(rejected[0].code, "illegal_transition");
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!((status.pending_ops, status.rejected_count), (0, 1));
    // Kept in the visit's log, never dropped.
    let log = field.doorstep.visit_log(visit).unwrap();
    assert!(log.contains(&refused));
    assert_eq!(log.len(), ops.len());

    // It is not sent again.
    let pushes = server.with(|s| s.push_requests);
    sync(&field, &server).unwrap();
    assert_eq!(server.with(|s| s.push_requests), pushes);
}

/// An op that makes the server refuse every push it is in (a 422 for the
/// whole batch: something it cannot take at all) does not hold up the queue
/// forever: the engine halves the batch until it finds the op, records it as
/// refused with the server's code, and everything else is applied.
#[test]
fn an_op_that_fails_its_whole_push_is_set_apart_and_the_rest_drains() {
    let field = field_with(3);
    let server = FakeServer::new(field.agent);
    let visits: Vec<_> = field
        .cases
        .iter()
        .map(|case| play_complete_visit(&field, case.id))
        .collect();
    let ops = field.doorstep.pending_ops(1_000).unwrap();
    let poison = ops[ops.len() / 3].entry.op_id;
    server.with(|s| s.poison.insert(poison));

    let report = sync(&field, &server).unwrap();
    assert_eq!(report.rejected, 1);
    assert_eq!(report.applied as usize, ops.len() - 1);
    let refused = field.doorstep.rejected_ops().unwrap();
    assert_eq!(refused.len(), 1);
    assert_eq!(
        (refused[0].op_id, refused[0].code.as_str()),
        (poison, "invalid_push")
    );
    assert!(refused[0].change.is_some(), "what the agent did is kept");
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    let applied: std::collections::HashSet<Uuid> = server.applied_ids().into_iter().collect();
    for op in &ops {
        assert_eq!(applied.contains(&op.entry.op_id), op.entry.op_id != poison);
    }
    // The next sync does not send it again.
    let pushes = server.with(|s| s.push_requests);
    let report = sync(&field, &server).unwrap();
    assert_eq!((report.applied, report.rejected), (0, 0));
    assert_eq!(server.with(|s| s.push_requests), pushes);
    assert_eq!(visits.len(), 3);
}

#[test]
fn a_deactivated_device_pushes_everything_then_wipes() {
    let field = field();
    let server = FakeServer::new(field.agent);
    let visit = play_complete_visit(&field, field.cases[0].id);
    let photo = field.doorstep.visit_report(visit).unwrap().attachments[0]
        .sha256
        .clone();
    let pending = field.doorstep.pending_outbox_count().unwrap();
    server.with(|s| s.deactivated = true);

    let report = sync(&field, &server).unwrap();
    assert!(report.wiped);
    assert_eq!(server.with(|s| s.applied.len()) as u64, pending);
    assert!(all_cases(&field.doorstep).is_empty());
    assert!(field.doorstep.visit_report(visit).is_err());
    assert!(field.doorstep.attachment_bytes(&photo).is_err());
    let status = field.doorstep.sync_status().unwrap();
    assert!(status.deactivated);
    assert_eq!(status.pending_ops, 0);
    assert_eq!(field.doorstep.signed_in_agent().unwrap(), None);
    // After the wipe the phone told the server, once, and forgot its token
    // and its sign-in (a deactivated phone is signed in no more).
    assert_eq!(server.with(|s| s.wipes_confirmed), 1);
    assert!(!field.doorstep.is_signed_in().unwrap());
    let again = field.doorstep.sync_now(&server, &NoProgress).unwrap();
    assert!(again.wiped);
    assert_eq!(server.with(|s| s.wipes_confirmed), 1);
}

#[test]
fn a_wipe_confirmation_the_server_could_not_take_is_sent_again_on_the_next_sync() {
    let field = field();
    let server = FakeServer::new(field.agent);
    play_complete_visit(&field, field.cases[0].id);
    server.with(|s| {
        s.deactivated = true;
        s.unavailable_wipe_confirmations = 1;
    });
    // The data is wiped; the confirmation meets a server error.
    let report = sync(&field, &server).unwrap();
    assert!(report.wiped);
    assert_eq!(server.with(|s| s.wipes_confirmed), 0);
    assert!(all_cases(&field.doorstep).is_empty());
    // The next sync sends it again with the token kept for it (the phone
    // holds no sign-in any more: nothing else could send it).
    let again = field.doorstep.sync_now(&server, &NoProgress).unwrap();
    assert!(again.wiped);
    assert_eq!(server.with(|s| s.wipes_confirmed), 1);
}

#[test]
fn failures_back_off_within_bounds_and_a_success_clears_them() {
    let field = field();
    let server = FakeServer::new(field.agent);
    sign_in(&field, &server);
    play_complete_visit(&field, field.cases[0].id);
    server.with(|s| {
        s.fail_next = 2;
        s.unavailable_next = 1;
    });
    let now = field.clock.now_utc();
    for (failures, code) in [(1, "offline"), (2, "offline"), (3, "server_error")] {
        let error = sync(&field, &server).unwrap_err();
        assert_eq!(failure_code(error), code);
        let status = field.doorstep.sync_status().unwrap();
        assert_eq!(status.consecutive_failures, failures);
        let next = status.next_attempt_after.unwrap();
        assert!(next >= now);
        assert!(next <= now + Duration::from_std(ceiling(failures)).unwrap());
        assert!(status.pending_ops > 0);
        assert!(status.oldest_pending_age_seconds.unwrap() > 0);
    }

    // A timer-driven sync waits for the backoff; the agent's "sync now" does not.
    let next = field
        .doorstep
        .sync_status()
        .unwrap()
        .next_attempt_after
        .unwrap();
    if next > now {
        let report = field.doorstep.sync(&server, &NoProgress).unwrap();
        assert_eq!(report.deferred_until, Some(next));
        assert_eq!(server.with(|s| s.push_requests), 0);
    }
    field.clock.advance(Duration::hours(2));
    let report = field.doorstep.sync(&server, &NoProgress).unwrap();
    assert_eq!(report.deferred_until, None);
    assert!(report.applied > 0);
    let status = field.doorstep.sync_status().unwrap();
    assert_eq!(status.consecutive_failures, 0);
    assert_eq!(status.next_attempt_after, None);
    assert_eq!(status.last_error, None);
    assert_eq!(status.last_success, Some(field.clock.now_utc()));
}

#[test]
fn a_refused_token_is_renewed_with_the_refresh_credential_not_the_password() {
    let field = field();
    let server = FakeServer::new(field.agent);
    sync(&field, &server).unwrap();
    server.revoke_tokens();
    play_complete_visit(&field, field.cases[0].id);
    sync(&field, &server).unwrap();
    assert_eq!(server.with(|s| (s.logins, s.refreshes)), (1, 1));
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
}

#[derive(Default)]
struct Recorder(Mutex<Vec<(SyncPhase, u64, u64)>>);

impl SyncObserver for Recorder {
    fn progress(&self, phase: SyncPhase, done: u64, total: u64) {
        self.0.lock().unwrap().push((phase, done, total));
    }
}

#[test]
fn progress_is_reported_per_phase_and_ends_complete() {
    let field = field();
    let server = FakeServer::new(field.agent);
    play_complete_visit(&field, field.cases[0].id);
    let pending = field.doorstep.pending_outbox_count().unwrap();
    server.publish([PulledChange::Case {
        case: sample_case(field.agent, 7),
    }]);
    // Signed in earlier; the token has expired since, so the sync renews it.
    sign_in(&field, &server);
    server.revoke_tokens();
    let recorder = Recorder::default();
    field.doorstep.sync_now(&server, &recorder).unwrap();
    let seen = recorder.0.lock().unwrap().clone();
    assert!(seen.contains(&(SyncPhase::Login, 0, 1)));
    assert!(seen.contains(&(SyncPhase::Login, 1, 1)));
    assert!(seen.contains(&(SyncPhase::Push, 0, pending)));
    assert!(seen.contains(&(SyncPhase::Push, pending, pending)));
    assert_eq!(seen.last(), Some(&(SyncPhase::Pull, 1, 1)));
}

#[test]
fn a_deactivation_whose_last_push_fails_wipes_on_the_next_sync() {
    let Field {
        dir: _dir,
        path: _,
        clock,
        doorstep,
        agent,
        cases,
    } = field();
    let doorstep = Arc::new(doorstep);
    let server = Arc::new(FakeServer::new(agent));
    let now = clock.now_utc();
    let visit = doorstep
        .plan_visit(cases[0].id, now + Duration::hours(2))
        .unwrap();
    doorstep
        .sign_in(server.as_ref(), USERNAME, PASSWORD)
        .unwrap();
    server.with(|s| s.deactivated = true);
    // During the pull the agent records a notice, and the response to the push
    // that follows the deactivation is lost.
    let (acting, fake) = (Arc::clone(&doorstep), Arc::clone(&server));
    *server.on_pull.lock().unwrap() = Some(Box::new(move || {
        acting.record_notice(visit, phone_notice(now)).unwrap();
        fake.with(|s| s.lose_push_responses = 1);
    }));

    let error = doorstep.sync_now(server.as_ref(), &NoProgress).unwrap_err();
    assert_eq!(failure_code(error), "timeout");
    assert!(doorstep.sync_status().unwrap().deactivated);
    assert_eq!(
        all_cases(&doorstep).len(),
        3,
        "nothing wiped before the push"
    );

    let report = doorstep.sync_now(server.as_ref(), &NoProgress).unwrap();
    assert!(report.wiped);
    assert_eq!(report.duplicates, 1);
    assert_eq!(server.with(|s| s.applied.len()), 2);
    assert!(all_cases(&doorstep).is_empty());
    assert_eq!(server.with(|s| s.pull_cursors.len()), 1, "no pull after");
}

#[test]
fn a_thousand_queued_actions_survive_a_restart_in_the_middle_of_a_push() {
    let mut field = field();
    let server = FakeServer::new(field.agent);
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    for i in 0..1_000 {
        field
            .doorstep
            .answer(
                visit,
                "ability_to_repay",
                doorstep_core::checklist::AnswerValue::Integer(1 + i % 5),
            )
            .unwrap();
    }
    let order: Vec<Uuid> = field
        .doorstep
        .pending_ops(5_000)
        .unwrap()
        .iter()
        .map(|op| op.entry.op_id)
        .collect();
    assert_eq!(order.len(), 1_003);
    let log = field.doorstep.visit_log(visit).unwrap();

    // The first batch is acknowledged; the second is applied but its response
    // is lost, and the app is killed.
    sign_in(&field, &server);
    let flaky = LoseAfter::new(&server, 1);
    let first = field.doorstep.sync_now(&flaky, &NoProgress);
    assert_eq!(failure_code(first.unwrap_err()), "timeout");
    let left = field.doorstep.pending_outbox_count().unwrap();
    assert_eq!(left as usize, order.len() - 500);
    field.reopen();

    let report = sync(&field, &server).unwrap();
    assert_eq!(report.duplicates, 500);
    assert_eq!(report.applied as usize, order.len() - 1_000);
    assert_eq!(server.applied_ids(), order, "each applied once, in order");
    // The device prepares the next batch while a push is in flight, but never
    // has two requests out.
    assert_eq!(server.most_in_flight.load(Ordering::SeqCst), 1);
    assert_eq!(field.doorstep.pending_outbox_count().unwrap(), 0);
    assert_eq!(field.doorstep.visit_log(visit).unwrap(), log);
}

/// Passes requests to a server, but loses the response of every push after the
/// first `pushes` ones (the server still applies them).
struct LoseAfter<'a> {
    server: &'a FakeServer,
    pushes: Mutex<u32>,
}

impl<'a> LoseAfter<'a> {
    fn new(server: &'a FakeServer, pushes: u32) -> LoseAfter<'a> {
        LoseAfter {
            server,
            pushes: Mutex::new(pushes),
        }
    }
}

impl doorstep_core::Transport for LoseAfter<'_> {
    fn send(
        &self,
        request: doorstep_core::HttpRequest,
    ) -> Result<doorstep_core::HttpResponse, doorstep_core::TransportError> {
        let push = request.path.starts_with("/v1/push");
        let response = self.server.send(request)?;
        if push {
            let mut left = self.pushes.lock().unwrap();
            if *left == 0 {
                return Err(doorstep_core::TransportError::Timeout {
                    reason: "response lost".into(),
                });
            }
            *left -= 1;
        }
        Ok(response)
    }
}
