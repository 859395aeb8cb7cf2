//! A supervisor's decision from their own device: `POST
//! /v1/visits/{id}/review`, signed in as the sync signs in, and the server's
//! review entry taken into the visit at once (it would also come with the
//! next pull).

use crate::domain::{ReviewDecision, VisitId};
use crate::error::Result;
use crate::event_log::LogEntry;
use crate::store::visits;
use crate::sync::engine::{Engine, JSON, protocol};
use crate::sync::protocol::ReviewRequest;

impl Engine<'_> {
    /// Sends the decision; on success stores the server's review entry in
    /// the visit's log and folds the visit again. A refusal is a sync failure
    /// `refused` naming the server's code (`not_your_team`,
    /// `visit_not_submitted`, `invalid_review`...).
    pub(crate) fn review(
        &mut self,
        visit_id: VisitId,
        decision: ReviewDecision,
    ) -> Result<LogEntry> {
        let body = serde_json::to_vec(&ReviewRequest { decision })?;
        let path = format!("/v1/visits/{visit_id}/review");
        let response = self.call_any("POST", &path, body, JSON)?;
        let response = crate::sync::engine::check_status(response)?;
        let entry: LogEntry = serde_json::from_slice(&response.body)
            .map_err(|_| protocol("review response unreadable"))?;
        if entry.visit_id != visit_id {
            return Err(protocol("the server reviewed another visit"));
        }
        self.store.write(|tx| {
            if visits::exists(tx, visit_id)? {
                self.take_entry(tx, &entry)?;
            }
            Ok(())
        })?;
        Ok(entry)
    }
}
