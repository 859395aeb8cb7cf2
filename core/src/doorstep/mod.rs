//! The public facade: one [`Doorstep`] per device database, which the platform
//! bindings wrap. Every action an agent takes is one method, and one write
//! transaction that records the change in the visit's event log and queues it in
//! the outbox together.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checklist::ChecklistTemplate;
use crate::clock::{Hlc, HybridClock, SystemClock, WallClock};
use crate::domain::{
    Case, CaseId, CaseStatus, DeviceId, UserId, Visit, VisitHistory, VisitId, VisitState,
};
use crate::error::{DoorstepError, Error, Result};
use crate::event_log::LogEntry;
use crate::policy::Policy;
use crate::report::VisitReport;
use crate::snapshot::ServerSnapshot;
use crate::store::cases::{self, CaseQuery, CaseSummary};
use crate::store::{DatabaseKey, DeviceStore, blobs, meta, outbox, policies, templates, visits};
use crate::sync::transport::Transport;
use heads::ChainHeads;

pub(crate) mod heads;
mod next_steps;
mod register;
mod report;
mod review;
mod sign_in;
mod sync;
mod visit_actions;

pub use crate::rules::MAX_CANCEL_REASON_CHARS;

/// A case with its visits, for the case detail screen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseDetail {
    /// The case.
    pub case: Case,
    /// Its visits on this device, oldest first, with their states.
    pub visits: Vec<(VisitId, VisitState)>,
}

/// The device's Doorstep: cases, visits and the outbox in one encrypted database.
#[derive(Debug)]
pub struct Doorstep {
    store: DeviceStore,
    /// The bank's field policy in force: the newest the server has sent, or
    /// the one the device was opened with until then.
    policy: RwLock<Arc<Policy>>,
    wall: Arc<dyn WallClock>,
    clock: Mutex<HybridClock>,
    /// Parsed templates by (key, version); a published version never changes.
    templates: Mutex<HashMap<(String, u32), Arc<ChecklistTemplate>>>,
    /// The newest entry of each of this device's chains.
    heads: ChainHeads,
    device: DeviceId,
    device_utc_offset: AtomicI32,
    /// The app's version the shell named, sent with every request.
    app_version: Mutex<Option<String>>,
    /// Held while a sync runs, so two syncs never interleave.
    sync_lock: Mutex<()>,
}

impl Doorstep {
    /// Opens the device database at `path` with `key`. The field policy in
    /// force is the newest the bank's server has sent; until one arrives,
    /// `policy`.
    pub fn open(path: &Path, key: &DatabaseKey, policy: Policy) -> Result<Doorstep, DoorstepError> {
        Doorstep::open_with_clock(path, key, policy, Arc::new(SystemClock))
    }

    /// Opens the device database of a field phone: the policy in force is the
    /// one its bank's server sends, and [`Policy::default`] (which is also
    /// the server's until an admin publishes one) before its first pull.
    pub fn open_field_device(path: &Path, key: &DatabaseKey) -> Result<Doorstep, DoorstepError> {
        Doorstep::open(path, key, Policy::default())
    }

    /// Like [`Doorstep::open`], with the wall clock supplied (tests, demos).
    pub fn open_with_clock(
        path: &Path,
        key: &DatabaseKey,
        policy: Policy,
        wall: Arc<dyn WallClock>,
    ) -> Result<Doorstep, DoorstepError> {
        policy.check().map_err(|e| Error::Invalid {
            field: "policy",
            reason: e.to_string(),
        })?;
        let store = DeviceStore::open(path, key)?;
        let (device, last_stamp, published) = store.write(|tx| {
            let device = match meta::get(tx, meta::DEVICE_ID)? {
                Some(id) => id.parse().map_err(|_| Error::NotFound("device id"))?,
                None => {
                    let id = Uuid::now_v7();
                    meta::set(tx, meta::DEVICE_ID, &id.to_string())?;
                    id
                }
            };
            let floor = meta::get(tx, meta::CLOCK_FLOOR)?.and_then(|s| s.parse::<Hlc>().ok());
            Ok((
                device,
                floor.max(outbox::newest_stamp(tx)?),
                policies::published(tx)?,
            ))
        })?;
        let policy = published.map_or(policy, |published| published.policy);
        Ok(Doorstep {
            store,
            policy: RwLock::new(Arc::new(policy)),
            wall,
            clock: Mutex::new(HybridClock::new(device, last_stamp)),
            templates: Mutex::new(HashMap::new()),
            heads: ChainHeads::default(),
            device,
            device_utc_offset: AtomicI32::new(0),
            app_version: Mutex::new(None),
            sync_lock: Mutex::new(()),
        })
    }

    /// Tells the core the device's current UTC offset in minutes, recorded with
    /// every action so local times can be shown as the agent saw them.
    pub fn set_device_utc_offset(&self, minutes: i32) -> Result<(), DoorstepError> {
        if !(-18 * 60..=18 * 60).contains(&minutes) {
            return Err(Error::Invalid {
                field: "utc_offset_minutes",
                reason: "must be within ±18 hours".into(),
            }
            .into());
        }
        self.device_utc_offset.store(minutes, Ordering::Relaxed);
        Ok(())
    }

    /// Tells the core the app's version (the shell's build, e.g. `1.4.2
    /// (142)`), named to the server on every request from now on so that the
    /// bank's admin sees which phones run an old build. A version that is not
    /// 1 to 40 printable ASCII characters is refused
    /// ([`DoorstepError::InvalidInput`]) and the one named before is kept.
    pub fn set_app_version(&self, version: &str) -> Result<(), DoorstepError> {
        crate::sync::app_version::check_app_version(version).map_err(|reason| Error::Invalid {
            field: "app_version",
            reason: reason.into(),
        })?;
        *self.app_version.lock().unwrap_or_else(|p| p.into_inner()) = Some(version.to_owned());
        Ok(())
    }

    /// The shell's transport, naming the app's version on every request.
    pub(crate) fn labelled<'a>(
        &self,
        transport: &'a dyn Transport,
    ) -> crate::sync::app_version::Labelled<'a> {
        let version = self
            .app_version
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        crate::sync::app_version::Labelled::new(transport, version)
    }

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The policy in force.
    pub fn policy(&self) -> Arc<Policy> {
        Arc::clone(&self.policy.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// The version of the bank's policy in force, once the server sent one.
    pub fn policy_version(&self) -> Result<Option<u32>, DoorstepError> {
        Ok(self
            .store
            .read(policies::published)?
            .map(|published| published.version))
    }

    /// Takes up the newest policy the server sent (after a pull).
    pub(crate) fn reload_policy(&self) -> Result<()> {
        if let Some(published) = self.store.read(policies::published)? {
            *self.policy.write().unwrap_or_else(PoisonError::into_inner) =
                Arc::new(published.policy);
        }
        Ok(())
    }

    /// The agent signed in on this device, once a snapshot has been applied.
    pub fn signed_in_agent(&self) -> Result<Option<UserId>, DoorstepError> {
        Ok(self
            .store
            .read(|conn| agent(conn).map(Some).or_else(none_if_no_agent))?)
    }

    /// Applies a server snapshot: the signed-in agent, templates and cases. All or
    /// nothing: one invalid case refuses the whole snapshot.
    pub fn apply_snapshot(&self, snapshot: &ServerSnapshot) -> Result<(), DoorstepError> {
        for case in &snapshot.cases {
            case.check().map_err(Error::from)?;
        }
        self.store.write(|tx| {
            meta::set(tx, meta::AGENT_ID, &snapshot.agent.to_string())?;
            for template in &snapshot.templates {
                templates::save(tx, template)?;
            }
            for case in &snapshot.cases {
                cases::upsert(tx, case)?;
                refresh_case_status(tx, case.id)?;
            }
            Ok(())
        })?;
        Ok(())
    }

    /// One page of the case list.
    pub fn list_cases(&self, query: &CaseQuery) -> Result<Vec<CaseSummary>, DoorstepError> {
        Ok(self.store.read(|conn| cases::list(conn, query))?)
    }

    /// A case and its visits.
    pub fn case_detail(&self, case_id: CaseId) -> Result<CaseDetail, DoorstepError> {
        Ok(self.store.read(|conn| {
            Ok(CaseDetail {
                case: cases::get(conn, case_id)?,
                visits: visits::of_case(conn, case_id)?,
            })
        })?)
    }

    /// The checklist template a visit uses, for rendering the checklist.
    pub fn checklist(&self, visit_id: VisitId) -> Result<ChecklistTemplate, DoorstepError> {
        Ok(self.store.read(|conn| {
            let visit = visits::header(conn, visit_id)?;
            templates::get(conn, &visit.template_key, visit.template_version)
        })?)
    }

    /// The visit report: everything a supervisor needs, as one value.
    pub fn visit_report(&self, visit_id: VisitId) -> Result<VisitReport, DoorstepError> {
        Ok(self.store.read(|conn| report::report(conn, visit_id))?)
    }

    /// The visit's event log, each device's chain in order.
    pub fn visit_log(&self, visit_id: VisitId) -> Result<Vec<LogEntry>, DoorstepError> {
        Ok(self.store.read(|conn| visits::log(conn, visit_id))?)
    }

    /// The bytes of an attachment, by its SHA-256.
    pub fn attachment_bytes(&self, sha256: &str) -> Result<Vec<u8>, DoorstepError> {
        Ok(self
            .store
            .read(|conn| blobs::get(conn, sha256)?.ok_or(Error::NotFound("attachment")))?)
    }

    /// How many operations wait to be pushed to the server.
    pub fn pending_outbox_count(&self) -> Result<u64, DoorstepError> {
        Ok(self.store.read(outbox::pending_count)?)
    }

    /// The next operations to push, oldest first.
    pub fn pending_ops(&self, limit: u32) -> Result<Vec<outbox::OutboxOp>, DoorstepError> {
        Ok(self.store.read(|conn| outbox::pending(conn, limit))?)
    }

    /// The checklist template a visit uses, parsed once per (key, version).
    fn template(&self, conn: &Connection, visit: &Visit) -> Result<Arc<ChecklistTemplate>> {
        let key = (visit.template_key.clone(), visit.template_version);
        let mut cache = self.templates.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(template) = cache.get(&key) {
            return Ok(Arc::clone(template));
        }
        let template = Arc::new(templates::get(conn, &key.0, key.1)?);
        cache.insert(key, Arc::clone(&template));
        Ok(template)
    }
}

fn agent(conn: &Connection) -> Result<UserId> {
    meta::get(conn, meta::AGENT_ID)?
        .and_then(|id| id.parse().ok())
        .ok_or(Error::NoAgent)
}

fn none_if_no_agent(error: Error) -> Result<Option<UserId>> {
    match error {
        Error::NoAgent => Ok(None),
        other => Err(other),
    }
}

/// A visit folded from its admitted log.
pub(crate) fn history(conn: &Connection, visit_id: VisitId) -> Result<VisitHistory> {
    let entries = visits::admitted_log(conn, visit_id)?;
    VisitHistory::fold(visit_id, &entries).map_err(|e| Error::Invalid {
        field: "visit_log",
        reason: e.to_string(),
    })
}

/// Sets the case's status from its latest visit ([`CaseStatus::after_visit`]).
pub(crate) fn refresh_case_status(tx: &Transaction<'_>, case_id: CaseId) -> Result<()> {
    let case = cases::get(tx, case_id)?;
    if case.status == CaseStatus::Closed {
        return Ok(());
    }
    let visits = visits::of_case(tx, case_id)?;
    let Some((latest_id, latest)) = visits
        .iter()
        .rev()
        .find(|(_, s)| *s != VisitState::Cancelled)
    else {
        if !visits.is_empty() {
            cases::set_status(tx, case_id, CaseStatus::New)?;
        }
        return Ok(());
    };
    let status = case.status_after(*latest_id, *latest);
    if status != case.status {
        cases::set_status(tx, case_id, status)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::home_verification;
    use crate::clock::FixedClock;
    use crate::domain::case::tests::sample_case;
    use chrono::{TimeZone, Utc};

    /// Acknowledging operations moves their entries from the outbox into the
    /// visit's log without changing the log, and the clock stays above them
    /// after a restart even once the outbox is empty.
    #[test]
    fn acknowledged_operations_leave_the_outbox_but_stay_in_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ack.db");
        let key = DatabaseKey::Raw([9; 32]);
        let morning = Utc.with_ymd_and_hms(2026, 12, 1, 1, 0, 0).unwrap();
        let clock = Arc::new(FixedClock::new(morning));
        let doorstep =
            Doorstep::open_with_clock(&path, &key, Policy::default(), clock.clone()).unwrap();
        let case = sample_case();
        let agent = case.assigned.primary;
        doorstep
            .apply_snapshot(&ServerSnapshot {
                agent,
                templates: vec![home_verification()],
                cases: vec![case.clone()],
            })
            .unwrap();
        let visit = doorstep.plan_visit(case.id, morning).unwrap();
        doorstep.cancel(visit, "客户来电改约").unwrap();
        let log = doorstep.visit_log(visit).unwrap();
        let ops = doorstep.pending_ops(10).unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(ops[0].entry, log[0]);
        assert_eq!(
            (ops[1].entity.as_str(), ops[1].entity_id.as_str()),
            ("visit", "cancelled")
        );

        doorstep
            .store
            .write(|tx| outbox::acknowledge(tx, visit, doorstep.device, ops[1].entry.seq))
            .unwrap();
        assert_eq!(doorstep.pending_outbox_count().unwrap(), 0);
        assert_eq!(doorstep.visit_log(visit).unwrap(), log);
        drop(doorstep);

        // The wall clock goes back a day; the next stamp still follows the last.
        clock.set(morning - chrono::Duration::days(1));
        let doorstep = Doorstep::open_with_clock(&path, &key, Policy::default(), clock).unwrap();
        let again = doorstep.plan_visit(case.id, morning).unwrap();
        let stamp = doorstep.visit_log(again).unwrap()[0].hlc;
        assert!(log.iter().all(|e| e.hlc < stamp));
    }
}
