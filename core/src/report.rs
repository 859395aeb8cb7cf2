//! The visit report: everything a supervisor needs to review a visit, as one value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::checklist::{AnswerValue, ItemProblem, Label};
use crate::clock::Hlc;
use crate::domain::{Attachment, Case, DeviceId, InterviewNote, Visit};
use crate::event_log::{BreakReason, ChainHead};

/// One answered checklist item, labelled from the template version the visit used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportAnswer {
    /// Template item id.
    pub item_id: String,
    /// The item's label.
    pub label: Label,
    /// The answer.
    pub value: AnswerValue,
    /// Clock stamp of the change that set it.
    pub stamp: Hlc,
}

/// One line of the visit's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    /// Device time of the action.
    pub at: DateTime<Utc>,
    /// The device's UTC offset then, in minutes.
    pub utc_offset_minutes: i32,
    /// Kind of change, e.g. "checked_in".
    pub kind: String,
    /// The device that recorded it.
    pub device: DeviceId,
}

/// Whether the visit's event log verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum LogVerification {
    /// Every chain verified; their heads.
    Intact {
        /// One head per device that recorded entries.
        chains: Vec<ChainHead>,
    },
    /// A chain is broken at this entry.
    Broken {
        /// Position of the first broken entry in the log as stored.
        index: u64,
        /// Why.
        reason: BreakReason,
    },
}

/// A visit report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VisitReport {
    /// The case visited (identifiers masked).
    pub case: Case,
    /// The visit: state, notices, check-in and -out with flags, outcome, reviews.
    pub visit: Visit,
    /// Answers in template order.
    pub answers: Vec<ReportAnswer>,
    /// What the checklist still lacks or gets wrong; empty when complete.
    pub checklist_problems: Vec<ItemProblem>,
    /// Interview notes in clock order.
    pub notes: Vec<InterviewNote>,
    /// Attachments (descriptions; bytes are fetched separately).
    pub attachments: Vec<Attachment>,
    /// Every action in clock order.
    pub timeline: Vec<TimelineEntry>,
    /// Result of verifying the event log.
    pub log: LogVerification,
    /// Log entries not yet acknowledged by the server.
    pub unsynced_entries: u64,
}
