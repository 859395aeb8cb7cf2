//! What an agent does to a visit: each action is one method and one write
//! transaction that records the change in the visit's event log, in the outbox.
//!
//! A method only builds its change from what the agent gave; whether the change
//! may be written is decided by [`crate::rules::check`], the same function the
//! server runs on every entry a phone pushes, so the phone refuses exactly what
//! the server would.

use std::sync::atomic::Ordering;

use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use uuid::Uuid;

use super::{Doorstep, agent, history, refresh_case_status};
use crate::checklist::AnswerValue;
use crate::domain::attachment::{Attachment, AttachmentKind, AttachmentLink, sha256_hex};
use crate::domain::visit::{IllegalTransition, VisitAction};
use crate::domain::{
    AttachmentId, CaseId, CaseStatus, InterviewNote, NoteId, Notice, Outcome, SiteCheck, Visit,
    VisitChange, VisitId,
};
use crate::error::{DoorstepError, Error, Result};
use crate::event_log::{self, EntryDraft, LogEntry};
use crate::policy::{GpsFix, LocationAssessment};
use crate::rules::{self, Facts};
use crate::store::{blobs, cases, outbox, templates, visits};

impl Doorstep {
    /// Plans a visit to a case with the newest version of the home verification
    /// template. A case has at most one visit in the agent's hands at a time.
    pub fn plan_visit(
        &self,
        case_id: CaseId,
        planned_for: DateTime<Utc>,
    ) -> Result<VisitId, DoorstepError> {
        let visit_id = Uuid::now_v7();
        let now = self.wall.now();
        self.store.write_then(
            |tx| {
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
                let template = templates::get(tx, &template_key, template_version)?;
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
                rules::check(
                    &change,
                    &Facts {
                        visit: None,
                        history: None,
                        case: &case,
                        template: Some(&template),
                        policy: &self.policy(),
                        author: me,
                        device: self.device,
                        at: now,
                    },
                )?;
                let visit = Visit::planned(visit_id, &change).ok_or(Error::NotFound("visit"))?;
                visits::save_header(tx, &visit)?;
                cases::set_status(tx, case_id, CaseStatus::InProgress)?;
                self.record(tx, visit_id, &change, now)
            },
            |entry| self.heads.committed(entry.clone()),
        )?;
        Ok(visit_id)
    }

    /// Records a notice given to the customer.
    pub fn record_notice(&self, visit_id: VisitId, notice: Notice) -> Result<(), DoorstepError> {
        self.act(visit_id, |_, _, _| {
            Ok(VisitChange::NoticeRecorded { notice })
        })?;
        Ok(())
    }

    /// Checks in on site with a GPS fix. Refused outside contact hours or without
    /// timely notice; allowed but flagged far from the address, with poor accuracy
    /// or a mocked location.
    pub fn check_in(&self, visit_id: VisitId, fix: GpsFix) -> Result<SiteCheck, DoorstepError> {
        let visit = self.act(visit_id, |tx, visit, now| {
            Ok(VisitChange::CheckedIn {
                check: self.site_check(tx, visit, now, fix)?,
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
        self.act(visit_id, |_, _, _| {
            Ok(VisitChange::Answered {
                item_id: item_id.to_owned(),
                value,
            })
        })?;
        Ok(())
    }

    /// Withdraws the answer to a checklist item.
    pub fn clear_answer(&self, visit_id: VisitId, item_id: &str) -> Result<(), DoorstepError> {
        self.act(visit_id, |_, _, _| {
            Ok(VisitChange::AnswerCleared {
                item_id: item_id.to_owned(),
            })
        })?;
        Ok(())
    }

    /// Adds an interview note written by the signed-in agent.
    pub fn add_note(&self, visit_id: VisitId, text: &str) -> Result<NoteId, DoorstepError> {
        let note_id = Uuid::now_v7();
        self.act(visit_id, |tx, _, now| {
            Ok(VisitChange::NoteAdded {
                note: InterviewNote {
                    id: note_id,
                    author: agent(tx)?,
                    written_at: now,
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
        let sha256 = sha256_hex(bytes);
        self.act(visit_id, |tx, _, now| {
            // Kept only if the rules admit the change: a refusal rolls the
            // whole transaction back.
            blobs::put(tx, &sha256, bytes)?;
            Ok(VisitChange::Attached {
                attachment: Attachment {
                    id,
                    kind,
                    mime_type: mime_type.to_owned(),
                    sha256: sha256.clone(),
                    size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                    link,
                    taken_at: now,
                },
            })
        })?;
        Ok(id)
    }

    /// Records (or changes) the outcome.
    pub fn set_outcome(&self, visit_id: VisitId, outcome: Outcome) -> Result<(), DoorstepError> {
        self.act(visit_id, |_, _, _| Ok(VisitChange::OutcomeSet { outcome }))?;
        Ok(())
    }

    /// Checks out with a GPS fix.
    pub fn check_out(&self, visit_id: VisitId, fix: GpsFix) -> Result<SiteCheck, DoorstepError> {
        let visit = self.act(visit_id, |tx, visit, now| {
            Ok(VisitChange::CheckedOut {
                check: self.site_check(tx, visit, now, fix)?,
            })
        })?;
        visit
            .check_out
            .ok_or_else(|| Error::NotFound("check-out").into())
    }

    /// Submits the visit for review. Refused without an outcome, and, when the
    /// customer was met, with every checklist problem listed.
    pub fn submit(&self, visit_id: VisitId) -> Result<(), DoorstepError> {
        self.act(visit_id, |_, _, now| Ok(VisitChange::Submitted { at: now }))?;
        Ok(())
    }

    /// Calls off a visit before check-in.
    pub fn cancel(&self, visit_id: VisitId, reason: &str) -> Result<(), DoorstepError> {
        self.act(visit_id, |_, _, _| {
            Ok(VisitChange::Cancelled {
                reason: reason.to_owned(),
            })
        })?;
        Ok(())
    }

    /// Does one action on a visit, in one transaction: builds its change from
    /// the current header, checks it against the rules, moves the state
    /// machine, and records the change in the visit's log and the outbox.
    /// Returns the header after the change.
    fn act(
        &self,
        visit_id: VisitId,
        make: impl FnOnce(&Transaction<'_>, &Visit, DateTime<Utc>) -> Result<VisitChange>,
    ) -> Result<Visit> {
        let now = self.wall.now();
        let (visit, _) = self.store.write_then(
            |tx| {
                let mut visit = visits::header(tx, visit_id)?;
                let me = agent(tx)?;
                if visit.agent != me && visit.partner != Some(me) {
                    return Err(Error::NotAssigned);
                }
                let change = make(tx, &visit, now)?;
                if visit.takes_late(&change, self.device) {
                    // A phone does only what its own view of the visit
                    // allows; a change is late only when it reaches the
                    // server made on an older view.
                    return Err(IllegalTransition {
                        from: visit.state,
                        action: change.action().unwrap_or(VisitAction::Edit),
                    }
                    .into());
                }
                let case = cases::get(tx, visit.case_id)?;
                let template = match self.template(tx, &visit) {
                    Ok(template) => Some(template),
                    Err(Error::UnknownTemplate) => None,
                    Err(other) => return Err(other),
                };
                let history = if rules::needs_history(&change) {
                    Some(history(tx, visit_id)?)
                } else {
                    None
                };
                rules::check(
                    &change,
                    &Facts {
                        visit: Some(&visit),
                        history: history.as_ref(),
                        case: &case,
                        template: template.as_deref(),
                        policy: &self.policy(),
                        author: me,
                        device: self.device,
                        at: now,
                    },
                )?;
                let before = visit.state;
                visit.apply(&change, self.device)?;
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
                let entry = self.record(tx, visit_id, &change, now)?;
                Ok((visit, entry))
            },
            |(_, entry)| self.heads.committed(entry.clone()),
        )?;
        Ok(visit)
    }

    /// A check-in or check-out at `now` with `fix`, stating the distance and
    /// flags the policy gives the fix. A fix the policy cannot assess states
    /// none; the rules refuse it.
    fn site_check(
        &self,
        tx: &Transaction<'_>,
        visit: &Visit,
        now: DateTime<Utc>,
        fix: GpsFix,
    ) -> Result<SiteCheck> {
        let case = cases::get(tx, visit.case_id)?;
        let registered = case.registered_address().and_then(|a| a.location);
        let assessment =
            self.policy()
                .assess_check_out(&fix, registered)
                .unwrap_or(LocationAssessment {
                    distance_m: None,
                    flags: Vec::new(),
                });
        Ok(SiteCheck::assessed(
            now,
            case.utc_offset_minutes,
            fix,
            assessment,
        ))
    }

    /// Appends a change made at `device_time` to this device's chain of the
    /// visit's log, in the outbox. The caller hands the returned entry to
    /// `heads` once the transaction commits, before it lets go of the writer
    /// ([`crate::store::DeviceStore::write_then`]).
    fn record(
        &self,
        tx: &Transaction<'_>,
        visit_id: VisitId,
        change: &VisitChange,
        device_time: DateTime<Utc>,
    ) -> Result<LogEntry> {
        let stamp = self
            .clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .tick(device_time);
        let prev = self.heads.get(tx, visit_id, self.device)?;
        let seq = prev.as_ref().map_or(0, |prev| prev.seq.saturating_add(1));
        let entry = event_log::append(
            prev.as_ref(),
            EntryDraft {
                visit_id,
                author: self.device,
                // Derived from the chain position, so a push need not send it.
                op_id: event_log::derived_op_id(visit_id, self.device, seq),
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
        Ok(entry)
    }
}
