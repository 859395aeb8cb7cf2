//! Several phones and a supervisor around one real server on loopback: each
//! phone is a [`Doorstep`] with its own registered device, its own controllable
//! clock and (optionally) its own fault-injecting proxy in front of the server.
//! Everything is bounded: syncs are retried a fixed number of times, never
//! waited for.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use doorstep_core::checklist::home_verification;
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{UserId, VisitHistory, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::Policy;
use doorstep_core::sync::protocol::Role;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{
    DatabaseKey, Doorstep, DoorstepError, HttpRequest, NoProgress, SyncReport, Transport,
};
use doorstep_server::admin;
use doorstep_server::store::{self, Store, StoredEntry};
use uuid::Uuid;

use crate::fault_proxy::{FaultMix, FaultProxy};
use crate::server::TestServer;

/// The password every account of a fleet uses.
pub const PASSWORD: &str = "s3cret-field-pass";
/// The supervisor every agent of a fleet reports to.
pub const SUPERVISOR: &str = "lin.supervisor";

/// A server with a supervisor (and a registered supervisor device) and the
/// default template published.
pub struct Fleet {
    server: TestServer,
    supervisor_device: Uuid,
}

impl Fleet {
    /// Starts the server on `data` and sets up the supervisor and the template.
    pub fn start(data: &Path) -> std::io::Result<Fleet> {
        let server = TestServer::start(data)?;
        let store: &dyn Store = server.store();
        let now = Utc::now();
        let supervisor_device = Uuid::now_v7();
        admin::create_user(store, SUPERVISOR, PASSWORD, Role::Supervisor, None, now)
            .and_then(|_| admin::create_device(store, SUPERVISOR, supervisor_device, now))
            .and_then(|()| admin::publish_template(store, &home_verification(), now))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(Fleet {
            server,
            supervisor_device,
        })
    }

    /// The running server.
    pub fn server(&self) -> &TestServer {
        &self.server
    }

    /// The server's store.
    pub fn store(&self) -> &dyn Store {
        self.server.store()
    }

    /// Creates an agent on the supervisor's team.
    pub fn agent(&self, username: &str) -> UserId {
        admin::create_user(
            self.store(),
            username,
            PASSWORD,
            Role::Agent,
            Some(SUPERVISOR),
            Utc::now(),
        )
        .unwrap_or_else(|e| panic!("create {username}: {e}"))
    }

    /// Every entry the server stored for a visit, admitted or refused.
    pub fn stored(&self, visit: VisitId) -> Vec<StoredEntry> {
        store::read(self.store(), |tx| tx.visit_entries(visit))
            .unwrap_or_else(|e| panic!("read visit {visit}: {e}"))
    }

    /// The server's admitted entries of a visit.
    pub fn admitted(&self, visit: VisitId) -> Vec<LogEntry> {
        self.stored(visit)
            .into_iter()
            .filter(|s| s.rejected.is_none())
            .map(|s| s.entry)
            .collect()
    }

    /// The server's view of a visit: the fold of its admitted entries (`None`
    /// when the server does not know it yet).
    pub fn visit(&self, visit: VisitId) -> Option<VisitHistory> {
        let admitted = self.admitted(visit);
        if admitted.is_empty() {
            return None;
        }
        Some(VisitHistory::fold(visit, &admitted).unwrap_or_else(|e| panic!("fold {visit}: {e}")))
    }

    /// The supervisor decides on a visit through the API (directly, not through
    /// any proxy). `decision` is the JSON of a review request body, e.g.
    /// `{"decision":"approve"}`. Returns the HTTP status.
    pub fn review(&self, visit: VisitId, decision: String) -> u16 {
        let transport = UreqTransport::new(&self.server.url(), Duration::from_secs(10));
        let post = |path: String, body: String, token: Option<&str>| {
            let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
            if let Some(token) = token {
                headers.push(("authorization".to_owned(), format!("Bearer {token}")));
            }
            transport
                .send(HttpRequest {
                    method: "POST".into(),
                    path,
                    headers,
                    body: body.into_bytes(),
                })
                .unwrap_or_else(|e| panic!("supervisor request: {e}"))
        };
        let login = post(
            "/v1/login".into(),
            format!(
                r#"{{"username":"{SUPERVISOR}","password":"{PASSWORD}","device_id":"{}"}}"#,
                self.supervisor_device
            ),
            None,
        );
        assert_eq!(login.status, 200, "supervisor login");
        let text = String::from_utf8_lossy(&login.body);
        let token = text
            .split_once(r#""token":""#)
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(token, _)| token.to_owned())
            .unwrap_or_default();
        post(format!("/v1/visits/{visit}/review"), decision, Some(&token)).status
    }
}

/// One agent's phone.
pub struct Phone {
    /// The app's core.
    pub doorstep: Doorstep,
    /// The phone's wall clock.
    pub clock: Arc<FixedClock>,
    /// The agent signed in on it.
    pub agent: UserId,
    transport: UreqTransport,
    proxy: Option<FaultProxy>,
}

impl Phone {
    /// Opens a fresh device database at `path` with `clock`, registers the
    /// device to `username`, signs in once (straight to the server) and
    /// connects it to the fleet's server, through a fault proxy when `faults`
    /// gives a mix, a seed and a fault budget.
    pub fn open(
        fleet: &Fleet,
        path: &Path,
        key: &DatabaseKey,
        clock: Arc<FixedClock>,
        username: &str,
        agent: UserId,
        faults: Option<(FaultMix, u64, u64)>,
    ) -> Phone {
        let doorstep = Doorstep::open_with_clock(path, key, Policy::default(), clock.clone())
            .unwrap_or_else(|e| panic!("open {username}'s phone: {e}"));
        doorstep
            .set_device_utc_offset(480)
            .unwrap_or_else(|e| panic!("utc offset: {e}"));
        admin::create_device(fleet.store(), username, doorstep.device_id(), Utc::now())
            .unwrap_or_else(|e| panic!("register {username}'s phone: {e}"));
        doorstep
            .sign_in(
                &UreqTransport::new(&fleet.server().url(), Duration::from_secs(5)),
                username,
                PASSWORD,
            )
            .unwrap_or_else(|e| panic!("sign in on {username}'s phone: {e}"));
        let proxy = faults.map(|(mix, seed, budget)| {
            FaultProxy::start(fleet.server().address(), mix, seed, budget)
                .unwrap_or_else(|e| panic!("proxy: {e}"))
        });
        let url = match &proxy {
            Some(proxy) => format!("http://{}", proxy.address()),
            None => fleet.server().url(),
        };
        Phone {
            doorstep,
            clock,
            agent,
            transport: UreqTransport::new(&url, Duration::from_secs(5)),
            proxy,
        }
    }

    /// One sync, whatever the backoff says.
    pub fn sync(&self) -> Result<SyncReport, DoorstepError> {
        self.doorstep.sync_now(&self.transport, &NoProgress)
    }

    /// Decides on a visit from this phone (a supervisor's), through the core.
    pub fn review(
        &self,
        visit: VisitId,
        decision: doorstep_core::domain::ReviewDecision,
    ) -> Result<(), DoorstepError> {
        self.doorstep.review(&self.transport, visit, decision)
    }

    /// Syncs until a sync succeeds and `done` holds, at most `attempts` times.
    /// Returns whether it got there.
    pub fn sync_until(&self, attempts: u32, done: impl Fn(&Doorstep) -> bool) -> bool {
        (0..attempts).any(|_| self.sync().is_ok() && done(&self.doorstep))
    }

    /// Syncs until one sync succeeds, at most `attempts` times; returns its report.
    pub fn sync_once(&self, attempts: u32) -> Option<SyncReport> {
        (0..attempts).find_map(|_| self.sync().ok())
    }

    /// How many requests went through this phone's proxy with a fault other
    /// than a plain pass.
    pub fn faults_injected(&self) -> usize {
        self.proxy.as_ref().map_or(0, |p| {
            p.faults()
                .iter()
                .filter(|f| **f != crate::fault_proxy::Fault::Pass)
                .count()
        })
    }
}

/// Syncs every phone, round after round, until a whole round pushes and pulls
/// nothing (every outbox empty, nothing new received). Bounded by `rounds`;
/// returns whether it got quiet.
pub fn settle(phones: &[&Phone], rounds: u32) -> bool {
    for _ in 0..rounds {
        let mut quiet = true;
        for phone in phones {
            let Some(report) = phone.sync_once(40) else {
                return false;
            };
            let pending = phone.doorstep.pending_outbox_count().unwrap_or(u64::MAX);
            if report.applied + report.duplicates + report.rejected + report.pulled > 0
                || pending > 0
            {
                quiet = false;
            }
        }
        if quiet {
            return true;
        }
    }
    false
}
