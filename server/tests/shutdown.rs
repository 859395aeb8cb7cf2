//! A replica stopped by a rolling deploy: the real `doorstep-server` binary
//! under a load of pushing phones gets SIGTERM. Requests in flight are
//! answered, later ones are refused at the door (never a 5xx), the process
//! exits 0, and every push it acknowledged is in the database. On SQLite and
//! on PostgreSQL.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;
mod process;

use std::io::Read;
use std::process::Command;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::sync::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, PushRequest};
use doorstep_server::admin;
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store};
use serde_json::Value;
use uuid::Uuid;

const PHONES: usize = 6;
/// Pushes acknowledged, in all, before the signal is sent.
const ACKED_BEFORE_SIGNAL: usize = 24;

/// One agent's phone and case.
struct Agent {
    name: String,
    device: Uuid,
    case: doorstep_core::domain::Case,
}

/// Users, phones and cases for the load, written through `store`.
fn seed(store: &dyn Store) -> Vec<Agent> {
    let now = t0();
    admin::create_user(
        store,
        "boss",
        "pw-boss-secret",
        doorstep_core::sync::protocol::Role::Supervisor,
        None,
        now,
    )
    .unwrap();
    admin::publish_template(store, &doorstep_core::checklist::home_verification(), now).unwrap();
    (0..PHONES)
        .map(|i| {
            let name = format!("agent{i}");
            let id = admin::create_user(
                store,
                &name,
                &format!("pw-{name}-secret"),
                doorstep_core::sync::protocol::Role::Agent,
                Some("boss"),
                now,
            )
            .unwrap();
            let device = Uuid::now_v7();
            admin::create_device(store, &name, device, now).unwrap();
            let case = sample_case(id, None);
            admin::import_cases(store, std::slice::from_ref(&case), now).unwrap();
            Agent { name, device, case }
        })
        .collect()
}

/// What one phone saw: the op ids the server acknowledged as applied, and
/// the status of every answer it got.
#[derive(Default)]
struct Seen {
    acked: Vec<Uuid>,
    statuses: Vec<u16>,
}

/// Pushes small visits one after the other until the server stops
/// answering; tells `acks` of each acknowledged push.
fn phone(base: &str, agent: &Agent, token: &str, acks: &mpsc::Sender<()>) -> Seen {
    let http = process::client();
    let mut seen = Seen::default();
    loop {
        let mut visit = Phone::new(agent.device, Uuid::now_v7());
        let ops: Vec<_> = [
            planned(&agent.case),
            notice(),
            VisitChange::CheckedIn { check: site() },
        ]
        .iter()
        .map(|c| visit.act(c))
        .collect();
        let body = serde_json::to_string(&PushRequest::new(&ops)).unwrap();
        let sent = http
            .post(format!("{base}/v1/push"))
            .header("Content-Type", "application/json")
            .header("Authorization", format!("Bearer {token}"))
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
            .send(body);
        let Ok(mut response) = sent else {
            // Refused at the door: the server is going away.
            return seen;
        };
        let status = response.status().as_u16();
        seen.statuses.push(status);
        if status != 200 {
            return seen;
        }
        let Ok(answer) = response.body_mut().read_json::<Value>() else {
            return seen;
        };
        assert_eq!(answer["applied"], 3, "{answer}");
        seen.acked.extend(ops.iter().map(|e| e.op_id));
        if acks.send(()).is_err() {
            return seen;
        }
    }
}

/// Starts the server with `args`, loads it with phones, sends SIGTERM once
/// enough pushes were acknowledged, and checks how it went; `reopen` opens
/// the database the server wrote, afterwards.
fn stop_under_load(args: &[String], agents: &[Agent], reopen: impl FnOnce() -> Arc<dyn Store>) {
    let mut server = process::Server::start(args);
    let base = server.base.clone();

    // Signed in one after the other (password checks are bounded by cores).
    let tokens: Vec<String> = agents
        .iter()
        .map(|agent| process::sign_in(&process::client(), &base, &agent.name, agent.device))
        .collect();
    let (acks, acked) = mpsc::channel();
    let seen: Vec<Seen> = std::thread::scope(|scope| {
        let phones: Vec<_> = agents
            .iter()
            .zip(&tokens)
            .map(|(agent, token)| {
                let (base, acks) = (base.clone(), acks.clone());
                scope.spawn(move || phone(&base, agent, token, &acks))
            })
            .collect();
        drop(acks);
        for _ in 0..ACKED_BEFORE_SIGNAL {
            acked.recv().unwrap();
        }
        // Pushes are in flight now, from every phone.
        let killed = Command::new("kill")
            .args(["-TERM", &server.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        drop(acked);
        phones.into_iter().map(|p| p.join().unwrap()).collect()
    });

    // Waited for on a thread, so a server that hangs fails the test instead
    // of hanging it.
    let mut stderr_pipe = server.stderr();
    let pid = server.child.id();
    let (exited, exit) = mpsc::channel();
    let status = std::thread::scope(|scope| {
        let child = &mut server.child;
        scope.spawn(move || exited.send(child.wait().unwrap()));
        match exit.recv_timeout(Duration::from_secs(60)) {
            Ok(status) => status,
            Err(_) => {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
                panic!("the server did not exit within a minute of SIGTERM");
            }
        }
    });
    let mut stderr = String::new();
    stderr_pipe.read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(status.code(), Some(0), "{stderr}");

    let statuses: Vec<u16> = seen.iter().flat_map(|s| s.statuses.clone()).collect();
    assert!(
        statuses.iter().all(|s| *s == 200 || *s == 503),
        "answers while stopping: {statuses:?}"
    );
    let acked: Vec<Uuid> = seen.into_iter().flat_map(|s| s.acked).collect();
    assert!(acked.len() >= ACKED_BEFORE_SIGNAL * 3);
    let store = reopen();
    store::read(store.as_ref(), |tx| {
        for op in &acked {
            assert_eq!(tx.op_outcome(*op)?, Some(None), "acknowledged op {op} lost");
        }
        Ok::<_, store::StoreError>(())
    })
    .unwrap();
}

#[test]
fn sqlite_server_stops_cleanly_under_load_and_keeps_every_acknowledged_push() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_path_buf();
    let agents = seed(&SqliteStore::open_dir(&data).unwrap());
    let args: Vec<String> = ["--data", data.to_str().unwrap()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    stop_under_load(&args, &agents, || {
        Arc::new(SqliteStore::open_dir(&data).unwrap())
    });
}

#[test]
fn postgres_server_stops_cleanly_under_load_and_keeps_every_acknowledged_push() {
    let Ok(url) = std::env::var("DOORSTEP_TEST_DATABASE_URL") else {
        // Says so, and fails on CI.
        assert!(console_support::postgres_store("postgres_server_stops_cleanly").is_none());
        return;
    };
    let url = process::postgres_schema(&url);
    let store: Arc<dyn Store> = Arc::new(PostgresStore::open(&url).unwrap());
    let agents = seed(store.as_ref());
    let blobs = tempfile::tempdir().unwrap();
    let args: Vec<String> = [
        "--database-url",
        &url,
        "--blob-dir",
        blobs.path().to_str().unwrap(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    stop_under_load(&args, &agents, move || store);
}
