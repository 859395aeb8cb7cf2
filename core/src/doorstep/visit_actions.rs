//! What an agent does to a visit: each action is one method and one write
//! transaction that records the change in the visit's event log, in the outbox.

use std::sync::atomic::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use rusqlite::Transaction;
use uuid::Uuid;

use super::{Doorstep, MAX_CANCEL_REASON_CHARS, agent, history, refresh_case_status};
use crate::checklist::AnswerValue;
use crate::domain::attachment::{Attachment, AttachmentKind, AttachmentLink};
use crate::domain::note::check_note_text;
use crate::domain::visit::{VisitAction, transition};
use crate::domain::{
    AttachmentId, CaseId, CaseStatus, InterviewNote, NoteId, Notice, Outcome, SiteCheck, Visit,
    VisitChange, VisitId,
};
use crate::error::{DoorstepError, Error, Result};
use crate::event_log::{self, EntryDraft, LogEntry};
use crate::policy::{CheckInContext, GpsFix};
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
                cases::set_status(tx, case_id, CaseStatus::InProgress)?;
                self.record(tx, visit_id, &change)
            },
            |entry| self.heads.committed(entry.clone()),
        )?;
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

    /// Does one action on a visit: builds its change from the current header,
    /// moves the state machine, and records the change in the visit's log and the
    /// outbox, all in one transaction. Returns the header after the change.
    fn act(
        &self,
        visit_id: VisitId,
        action: VisitAction,
        make: impl FnOnce(&Transaction<'_>, &Visit) -> Result<VisitChange>,
    ) -> Result<Visit> {
        let (visit, _) = self.store.write_then(
            |tx| {
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
                let entry = self.record(tx, visit_id, &change)?;
                Ok((visit, entry))
            },
            |(_, entry)| self.heads.committed(entry.clone()),
        )?;
        Ok(visit)
    }

    /// Appends a change to this device's chain of the visit's log, in the outbox.
    /// The caller hands the returned entry to `heads` once the transaction
    /// commits, before it lets go of the writer ([`crate::store::DeviceStore::write_then`]).
    fn record(
        &self,
        tx: &Transaction<'_>,
        visit_id: VisitId,
        change: &VisitChange,
    ) -> Result<LogEntry> {
        let device_time = self.wall.now();
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

/// The calendar date of an instant in the case's local time.
fn local_date(at: DateTime<Utc>, utc_offset_minutes: i32) -> NaiveDate {
    match FixedOffset::east_opt(utc_offset_minutes * 60) {
        Some(offset) => at.with_timezone(&offset).date_naive(),
        None => at.date_naive(),
    }
}
