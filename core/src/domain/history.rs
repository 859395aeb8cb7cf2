//! A visit as the fold of its event log.
//!
//! Entries from every author are applied in clock order: scalar fields (an answer,
//! the outcome, a check-in) take the value of the latest change; notes and
//! attachments are sets, so every one is kept; state changes the state machine
//! refuses at that point are skipped and counted. A change the state no longer
//! allows, from another device than the one that moved the visit on, is *late*
//! ([`crate::domain::Applied::Late`]): listed in [`VisitHistory::late`], and for a
//! note or an attachment also kept with the others, as an addendum. The fold is a
//! pure function of the set of entries, so two replicas holding the same entries
//! show the same visit, whichever order the entries reached them in.

use std::collections::BTreeMap;

use crate::checklist::{AnswerSheet, AnswerValue};
use crate::clock::Hlc;
use crate::domain::{
    Applied, Attachment, AttachmentLink, DeviceId, InterviewNote, Visit, VisitChange, VisitId,
};
use crate::event_log::LogEntry;

/// A checklist answer with the stamp of the change that set it.
#[derive(Debug, Clone, PartialEq)]
pub struct StampedAnswer {
    /// The answer.
    pub value: AnswerValue,
    /// When it was set, by clock.
    pub stamp: Hlc,
}

/// A change the state no longer allowed when it came, from another device than
/// the one that moved the visit on ([`crate::domain::Applied::Late`]): kept,
/// moving nothing but the addenda.
#[derive(Debug, Clone, PartialEq)]
pub struct LateChange {
    /// The change.
    pub change: VisitChange,
    /// The device that made it.
    pub author: DeviceId,
    /// Its stamp.
    pub stamp: Hlc,
}

/// Everything recorded for a visit.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitHistory {
    /// The header: state, notices, check-in and -out, outcome, reviews.
    pub visit: Visit,
    /// Current answer per checklist item id.
    pub answers: BTreeMap<String, StampedAnswer>,
    /// Interview notes, in clock order.
    pub notes: Vec<InterviewNote>,
    /// Attachments, in clock order.
    pub attachments: Vec<Attachment>,
    /// Changes skipped because the state machine refused them at their place.
    pub skipped: usize,
    /// Late changes ([`LateChange`]), in clock order; their notes and attachments are in [`VisitHistory::notes`] and
    /// [`VisitHistory::attachments`] too.
    pub late: Vec<LateChange>,
}

/// Why a log could not be folded into a visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    /// No `planned` entry starts the visit.
    #[error("the visit log has no planned entry")]
    NotPlanned,
    /// An entry's payload is not a change this build understands.
    #[error("a visit log entry cannot be read")]
    UnreadableEntry,
}

impl VisitHistory {
    /// A visit just planned: its header, nothing recorded yet.
    pub fn new(visit: Visit) -> VisitHistory {
        VisitHistory {
            visit,
            answers: BTreeMap::new(),
            notes: Vec::new(),
            attachments: Vec::new(),
            skipped: 0,
            late: Vec::new(),
        }
    }

    /// Folds a visit's log entries (any order, any authors).
    pub fn fold(visit_id: VisitId, entries: &[LogEntry]) -> Result<VisitHistory, FoldError> {
        let mut ordered: Vec<(&LogEntry, VisitChange)> = Vec::with_capacity(entries.len());
        for entry in entries {
            let change =
                serde_json::from_str(&entry.payload).map_err(|_| FoldError::UnreadableEntry)?;
            ordered.push((entry, change));
        }
        ordered.sort_by_key(|(entry, _)| entry.hlc);
        let start = ordered
            .iter()
            .position(|(_, change)| matches!(change, VisitChange::Planned { .. }))
            .ok_or(FoldError::NotPlanned)?;
        let visit = Visit::planned(visit_id, &ordered[start].1).ok_or(FoldError::NotPlanned)?;
        let mut history = VisitHistory {
            visit,
            answers: BTreeMap::new(),
            notes: Vec::new(),
            attachments: Vec::new(),
            skipped: start,
            late: Vec::new(),
        };
        for (entry, change) in ordered.into_iter().skip(start + 1) {
            history.apply(change, entry.hlc, entry.author);
        }
        Ok(history)
    }

    /// Applies one change made on `author`, in clock order.
    pub fn apply(&mut self, change: VisitChange, stamp: Hlc, author: DeviceId) {
        match self.visit.apply(&change, author) {
            Err(_) => {
                self.skipped += 1;
                return;
            }
            Ok(Applied::Late) => {
                match &change {
                    VisitChange::NoteAdded { note } => self.notes.push(note.clone()),
                    VisitChange::Attached { attachment } => {
                        self.attachments.push(attachment.clone());
                    }
                    _ => {}
                }
                self.late.push(LateChange {
                    change,
                    author,
                    stamp,
                });
                return;
            }
            Ok(Applied::InPlace) => {}
        }
        match change {
            VisitChange::Answered { item_id, value } => {
                self.answers.insert(item_id, StampedAnswer { value, stamp });
            }
            VisitChange::AnswerCleared { item_id } => {
                self.answers.remove(&item_id);
            }
            VisitChange::NoteAdded { note } => self.notes.push(note),
            VisitChange::Attached { attachment } => self.attachments.push(attachment),
            _ => {}
        }
    }

    /// Whether the note `id` was added late, as an addendum.
    pub fn is_late_note(&self, id: uuid::Uuid) -> bool {
        self.late
            .iter()
            .any(|late| matches!(&late.change, VisitChange::NoteAdded { note } if note.id == id))
    }

    /// The answers and attachment counts, as checklist validation reads them.
    pub fn answer_sheet(&self) -> AnswerSheet {
        let mut sheet = AnswerSheet::new();
        for (item_id, answer) in &self.answers {
            sheet.set(item_id.clone(), answer.value.clone());
        }
        for (item_id, count) in self.attachments_per_item() {
            sheet.set_attachments(item_id, count);
        }
        sheet
    }

    /// How many attachments are linked to each checklist item.
    pub fn attachments_per_item(&self) -> BTreeMap<String, u32> {
        let mut counts = BTreeMap::new();
        for attachment in &self.attachments {
            if let AttachmentLink::ChecklistItem { item_id } = &attachment.link {
                *counts.entry(item_id.clone()).or_insert(0) += 1;
            }
        }
        counts
    }
}
