//! The public facade: one [`Doorstep`] per device database, which the platform
//! bindings wrap. Every action an agent takes is one method, and one write
//! transaction that records the change in the visit's event log and queues it in
//! the outbox together.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rusqlite::{Connection, Transaction};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::checklist::{AnswerValue, ChecklistTemplate};
use crate::clock::{Hlc, HybridClock, SystemClock, WallClock};
use crate::domain::attachment::{Attachment, AttachmentKind, AttachmentLink};
use crate::domain::note::check_note_text;
use crate::domain::visit::{VisitAction, transition};
use crate::domain::{
    AttachmentId, Case, CaseId, CaseStatus, DeviceId, InterviewNote, NoteId, Notice, Outcome,
    SiteCheck, UserId, Visit, VisitChange, VisitHistory, VisitId, VisitState,
};
use crate::error::{DoorstepError, Error, Result};
use crate::event_log::{self, EntryDraft, LogEntry};
use crate::policy::{CheckInContext, GpsFix, Policy};
use crate::report::{LogVerification, ReportAnswer, TimelineEntry, VisitReport};
use crate::snapshot::ServerSnapshot;
use crate::store::cases::{self, CaseQuery, CaseSummary};
use crate::store::{DatabaseKey, DeviceStore, blobs, meta, outbox, templates, visits};

/// Longest cancellation reason accepted, in characters.
pub const MAX_CANCEL_REASON_CHARS: usize = 500;

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
    policy: Policy,
    wall: Arc<dyn WallClock>,
    clock: Mutex<HybridClock>,
    /// Parsed templates by (key, version); a published version never changes.
    templates: Mutex<HashMap<(String, u32), Arc<ChecklistTemplate>>>,
    device: DeviceId,
    device_utc_offset: AtomicI32,
}

impl Doorstep {
    /// Opens the device database at `path` with `key`, applying `policy`.
    pub fn open(path: &Path, key: &DatabaseKey, policy: Policy) -> Result<Doorstep, DoorstepError> {
        Doorstep::open_with_clock(path, key, policy, Arc::new(SystemClock))
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
        let (device, last_stamp) = store.write(|tx| {
            let device = match meta::get(tx, meta::DEVICE_ID)? {
                Some(id) => id.parse().map_err(|_| Error::NotFound("device id"))?,
                None => {
                    let id = Uuid::now_v7();
                    meta::set(tx, meta::DEVICE_ID, &id.to_string())?;
                    id
                }
            };
            let floor = meta::get(tx, meta::CLOCK_FLOOR)?.and_then(|s| s.parse::<Hlc>().ok());
            Ok((device, floor.max(outbox::newest_stamp(tx)?)))
        })?;
        Ok(Doorstep {
            store,
            policy,
            wall,
            clock: Mutex::new(HybridClock::new(device, last_stamp)),
            templates: Mutex::new(HashMap::new()),
            device,
            device_utc_offset: AtomicI32::new(0),
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

    /// This device's id.
    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
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

    /// Plans a visit to a case with the newest version of the home verification
    /// template. A case has at most one visit in the agent's hands at a time.
    pub fn plan_visit(
        &self,
        case_id: CaseId,
        planned_for: DateTime<Utc>,
    ) -> Result<VisitId, DoorstepError> {
        let visit_id = Uuid::now_v7();
        self.store.write(|tx| {
            let me = agent(tx)?;
            let case = cases::get(tx, case_id)?;
            if !case.assigned.includes(me) {
                return Err(Error::NotAssigned);
            }
            if case.status == CaseStatus::Closed {
                return Err(Error::Invalid {
                    field: "case",
                    reason: "the case is closed".into(),
                });
            }
            if visits::of_case(tx, case_id)?
                .iter()
                .any(|(_, s)| s.is_with_agent())
            {
                return Err(Error::VisitAlreadyOpen);
            }
            let template_key = crate::checklist::home_verification().key().to_owned();
            let template_version = templates::latest_version(tx, &template_key)?;
            let partner = [Some(case.assigned.primary), case.assigned.partner]
                .into_iter()
                .flatten()
                .find(|other| *other != me);
            let change = VisitChange::Planned {
                case_id,
                agent: me,
                partner,
                template_key,
                template_version,
                planned_for,
            };
            let visit = Visit::planned(visit_id, &change).ok_or(Error::NotFound("visit"))?;
            visits::save_header(tx, &visit)?;
            self.record(tx, visit_id, &change)?;
            cases::set_status(tx, case_id, CaseStatus::InProgress)?;
            Ok(())
        })?;
        Ok(visit_id)
    }

    /// Records a notice given to the customer.
    pub fn record_notice(&self, visit_id: VisitId, notice: Notice) -> Result<(), DoorstepError> {
        notice.check().map_err(Error::from)?;
        self.act(visit_id, VisitAction::RecordNotice, |_, _| {
            Ok(VisitChange::NoticeRecorded { notice })
        })?;
        Ok(())
    }

    /// Checks in on site with a GPS fix. Refused outside contact hours or without
    /// timely notice; allowed but flagged far from the address, with poor accuracy
    /// or a mocked location.
    pub fn check_in(&self, visit_id: VisitId, fix: GpsFix) -> Result<SiteCheck, DoorstepError> {
        let now = self.wall.now();
        let visit = self.act(visit_id, VisitAction::CheckIn, |tx, visit| {
            let case = cases::get(tx, visit.case_id)?;
            let given: Vec<DateTime<Utc>> = visit.notices.iter().map(|n| n.given_at).collect();
            let registered = case.registered_address().and_then(|a| a.location);
            let assessment = self.policy.assess_check_in(&CheckInContext {
                at: now,
                case_utc_offset_minutes: case.utc_offset_minutes,
                notices_given_at: &given,
                fix: &fix,
                registered_location: registered,
            })?;
            Ok(VisitChange::CheckedIn {
                check: SiteCheck::assessed(now, case.utc_offset_minutes, fix, assessment),
            })
        })?;
        visit
            .check_in
            .ok_or_else(|| Error::NotFound("check-in").into())
    }

    /// Answers a checklist item (or changes the answer).
    pub fn answer(
        &self,
        visit_id: VisitId,
        item_id: &str,
        value: AnswerValue,
    ) -> Result<(), DoorstepError> {
        self.act(visit_id, VisitAction::Edit, |tx, visit| {
            let template = self.template(tx, visit)?;
            template
                .check_answer(item_id, &value)
                .map_err(Error::Answer)?;
            Ok(VisitChange::Answered {
                item_id: item_id.to_owned(),
                value,
            })
        })?;
        Ok(())
    }

    /// Withdraws the answer to a checklist item.
    pub fn clear_answer(&self, visit_id: VisitId, item_id: &str) -> Result<(), DoorstepError> {
        self.act(visit_id, VisitAction::Edit, |tx, visit| {
            let template = self.template(tx, visit)?;
            if template.item(item_id).is_none() {
                return Err(Error::Answer(crate::checklist::ItemProblem::new(
                    item_id,
                    crate::checklist::ProblemReason::UnknownItem,
                )));
            }
            Ok(VisitChange::AnswerCleared {
                item_id: item_id.to_owned(),
            })
        })?;
        Ok(())
    }

    /// Adds an interview note written by the signed-in agent.
    pub fn add_note(&self, visit_id: VisitId, text: &str) -> Result<NoteId, DoorstepError> {
        check_note_text(text).map_err(Error::from)?;
        let note_id = Uuid::now_v7();
        let written_at = self.wall.now();
        self.act(visit_id, VisitAction::Edit, |tx, _| {
            Ok(VisitChange::NoteAdded {
                note: InterviewNote {
                    id: note_id,
                    author: agent(tx)?,
                    written_at,
                    text: text.to_owned(),
                },
            })
        })?;
        Ok(note_id)
    }

    /// Attaches a photo, signature or recording. The bytes are stored encrypted,
    /// addressed by their SHA-256.
    pub fn attach(
        &self,
        visit_id: VisitId,
        kind: AttachmentKind,
        mime_type: &str,
        bytes: &[u8],
        link: AttachmentLink,
    ) -> Result<AttachmentId, DoorstepError> {
        let id = Uuid::now_v7();
        let attachment = Attachment::describe(id, kind, mime_type, bytes, link, self.wall.now())
            .map_err(Error::from)?;
        self.act(visit_id, VisitAction::Edit, |tx, visit| {
            self.check_link(tx, visit, &attachment)?;
            blobs::put(tx, &attachment.sha256, bytes)?;
            Ok(VisitChange::Attached { attachment })
        })?;
        Ok(id)
    }

    /// Records (or changes) the outcome.
    pub fn set_outcome(&self, visit_id: VisitId, outcome: Outcome) -> Result<(), DoorstepError> {
        let now = self.wall.now();
        self.act(visit_id, VisitAction::Edit, |tx, visit| {
            let case = cases::get(tx, visit.case_id)?;
            let day = visit.check_in.as_ref().map_or(now, |c| c.at);
            outcome.check(local_date(day, case.utc_offset_minutes))?;
            Ok(VisitChange::OutcomeSet { outcome })
        })?;
        Ok(())
    }

    /// Checks out with a GPS fix.
    pub fn check_out(&self, visit_id: VisitId, fix: GpsFix) -> Result<SiteCheck, DoorstepError> {
        let now = self.wall.now();
        let visit = self.act(visit_id, VisitAction::CheckOut, |tx, visit| {
            let case = cases::get(tx, visit.case_id)?;
            let registered = case.registered_address().and_then(|a| a.location);
            let assessment = self.policy.assess_check_out(&fix, registered)?;
            Ok(VisitChange::CheckedOut {
                check: SiteCheck::assessed(now, case.utc_offset_minutes, fix, assessment),
            })
        })?;
        visit
            .check_out
            .ok_or_else(|| Error::NotFound("check-out").into())
    }

    /// Submits the visit for review. Refused without an outcome, and, when the
    /// customer was met, with every checklist problem listed.
    pub fn submit(&self, visit_id: VisitId) -> Result<(), DoorstepError> {
        let at = self.wall.now();
        self.act(visit_id, VisitAction::Submit, |tx, visit| {
            let outcome = visit.outcome.as_ref().ok_or_else(|| Error::Invalid {
                field: "outcome",
                reason: "record the outcome before submitting".into(),
            })?;
            if outcome.code.customer_met() {
                let template = self.template(tx, visit)?;
                let history = history(tx, visit_id)?;
                let problems = template.validate(&history.answer_sheet());
                if !problems.is_empty() {
                    return Err(Error::Incomplete(problems));
                }
            }
            Ok(VisitChange::Submitted { at })
        })?;
        Ok(())
    }

    /// Calls off a visit before check-in.
    pub fn cancel(&self, visit_id: VisitId, reason: &str) -> Result<(), DoorstepError> {
        if reason.trim().is_empty() || reason.chars().count() > MAX_CANCEL_REASON_CHARS {
            return Err(Error::Invalid {
                field: "reason",
                reason: format!("give a reason of at most {MAX_CANCEL_REASON_CHARS} characters"),
            }
            .into());
        }
        self.act(visit_id, VisitAction::Cancel, |_, _| {
            Ok(VisitChange::Cancelled {
                reason: reason.to_owned(),
            })
        })?;
        Ok(())
    }

    /// The visit report: everything a supervisor needs, as one value.
    pub fn visit_report(&self, visit_id: VisitId) -> Result<VisitReport, DoorstepError> {
        Ok(self.store.read(|conn| report(conn, visit_id))?)
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

    /// Does one action on a visit: builds its change from the current header,
    /// moves the state machine, and records the change in the log and the outbox,
    /// all in one transaction. Returns the header after the change.
    fn act(
        &self,
        visit_id: VisitId,
        action: VisitAction,
        make: impl FnOnce(&Transaction<'_>, &Visit) -> Result<VisitChange>,
    ) -> Result<Visit> {
        self.store.write(|tx| {
            let mut visit = visits::header(tx, visit_id)?;
            let me = agent(tx)?;
            if visit.agent != me && visit.partner != Some(me) {
                return Err(Error::NotAssigned);
            }
            // The state machine speaks first: an action in the wrong state is
            // refused before any policy or template check.
            transition(visit.state, action)?;
            let before = visit.state;
            let change = make(tx, &visit)?;
            visit.apply(&change)?;
            let header_changed = visit.state != before
                || !matches!(
                    change,
                    VisitChange::Answered { .. }
                        | VisitChange::AnswerCleared { .. }
                        | VisitChange::NoteAdded { .. }
                        | VisitChange::Attached { .. }
                );
            if header_changed {
                visits::save_header(tx, &visit)?;
            }
            if visit.state != before {
                refresh_case_status(tx, visit.case_id)?;
            }
            self.record(tx, visit_id, &change)?;
            Ok(visit)
        })
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

    /// Appends a change to this device's chain of the visit's log and queues it.
    fn record(&self, tx: &Transaction<'_>, visit_id: VisitId, change: &VisitChange) -> Result<()> {
        let device_time = self.wall.now();
        let stamp = self
            .clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .tick(device_time);
        let prev = visits::chain_head(tx, visit_id, self.device)?;
        let entry = event_log::append(
            prev.as_ref(),
            EntryDraft {
                visit_id,
                author: self.device,
                op_id: Uuid::now_v7(),
                kind: change.kind().to_owned(),
                payload: serde_json::to_string(change)?,
                hlc: stamp,
                device_time,
                utc_offset_minutes: self.device_utc_offset.load(Ordering::Relaxed),
            },
        )
        .map_err(|e| Error::Invalid {
            field: "visit_log",
            reason: e.to_string(),
        })?;
        outbox::enqueue(tx, &entry)?;
        Ok(())
    }

    /// An attachment must link to a photo or signature item of the visit's
    /// template (within its maximum count), or to a note of the visit.
    fn check_link(
        &self,
        tx: &Transaction<'_>,
        visit: &Visit,
        attachment: &Attachment,
    ) -> Result<()> {
        match &attachment.link {
            AttachmentLink::Visit => Ok(()),
            AttachmentLink::ChecklistItem { item_id } => {
                let template = self.template(tx, visit)?;
                let linked = history(tx, visit.id)?
                    .attachments_per_item()
                    .get(item_id)
                    .copied()
                    .unwrap_or(0);
                template
                    .check_attachments(item_id, linked + 1)
                    .map_err(Error::Answer)
            }
            AttachmentLink::Note { note_id } => {
                if history(tx, visit.id)?
                    .notes
                    .iter()
                    .any(|n| n.id == *note_id)
                {
                    Ok(())
                } else {
                    Err(Error::NotFound("note"))
                }
            }
        }
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

fn history(conn: &Connection, visit_id: VisitId) -> Result<VisitHistory> {
    let entries = visits::log(conn, visit_id)?;
    VisitHistory::fold(visit_id, &entries).map_err(|e| Error::Invalid {
        field: "visit_log",
        reason: e.to_string(),
    })
}

/// The calendar date of an instant in the case's local time.
fn local_date(at: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    match FixedOffset::east_opt(utc_offset_minutes * 60) {
        Some(offset) => at.with_timezone(&offset).date_naive(),
        None => at.date_naive(),
    }
}

/// Sets the case's status from its latest visit; a case the bank closed stays closed.
fn refresh_case_status(tx: &Transaction<'_>, case_id: CaseId) -> Result<()> {
    let case = cases::get(tx, case_id)?;
    if case.status == CaseStatus::Closed {
        return Ok(());
    }
    let visits = visits::of_case(tx, case_id)?;
    let Some((_, latest)) = visits
        .iter()
        .rev()
        .find(|(_, s)| *s != VisitState::Cancelled)
    else {
        if !visits.is_empty() {
            cases::set_status(tx, case_id, CaseStatus::New)?;
        }
        return Ok(());
    };
    let status = match latest {
        VisitState::Submitted => CaseStatus::Submitted,
        VisitState::Returned => CaseStatus::Returned,
        VisitState::Approved => CaseStatus::Completed,
        _ => CaseStatus::InProgress,
    };
    if status != case.status {
        cases::set_status(tx, case_id, status)?;
    }
    Ok(())
}

fn report(conn: &Connection, visit_id: VisitId) -> Result<VisitReport> {
    visits::header(conn, visit_id)?; // an unknown visit is NotFound, not an unreadable log
    let entries = visits::log(conn, visit_id)?;
    let history = VisitHistory::fold(visit_id, &entries).map_err(|e| Error::Invalid {
        field: "visit_log",
        reason: e.to_string(),
    })?;
    let case = cases::get(conn, history.visit.case_id)?;
    let template = templates::get(
        conn,
        &history.visit.template_key,
        history.visit.template_version,
    )?;
    let answers = template
        .items()
        .iter()
        .filter_map(|item| {
            history.answers.get(&item.id).map(|answer| ReportAnswer {
                item_id: item.id.clone(),
                label: item.label.clone(),
                value: answer.value.clone(),
                stamp: answer.stamp,
            })
        })
        .collect();
    let checklist_problems = template.validate(&history.answer_sheet());
    let log = verify_log(&entries, visit_id);
    let mut timeline: Vec<(Hlc, TimelineEntry)> = entries
        .iter()
        .map(|e| {
            let line = TimelineEntry {
                at: e.device_time,
                utc_offset_minutes: e.utc_offset_minutes,
                kind: e.kind.clone(),
                device: e.author,
            };
            (e.hlc, line)
        })
        .collect();
    timeline.sort_by_key(|(stamp, _)| *stamp);
    Ok(VisitReport {
        case,
        visit: history.visit,
        answers,
        checklist_problems,
        notes: history.notes,
        attachments: history.attachments,
        timeline: timeline.into_iter().map(|(_, line)| line).collect(),
        log,
        unsynced_entries: outbox::pending_for_visit(conn, visit_id)?,
    })
}

/// Verifies every chain of a visit's log.
fn verify_log(entries: &[LogEntry], visit_id: VisitId) -> LogVerification {
    match event_log::verify_visit_log(visit_id, entries, &[]) {
        Ok(chains) => LogVerification::Intact { chains },
        Err(broken) => LogVerification::Broken {
            index: broken.index as u64,
            reason: broken.reason,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::home_verification;
    use crate::clock::FixedClock;
    use crate::domain::case::tests::sample_case;
    use chrono::TimeZone;

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
