//! The supervisor's side on their own device: the visits waiting for a
//! decision, and the decision itself, sent through the core so that no shell
//! writes a review request by hand or signs in again for each one.

use super::Doorstep;
use crate::domain::{ReviewDecision, Visit, VisitId, VisitState};
use crate::error::{DoorstepError, Error};
use crate::store::visits;
use crate::sync::engine::Engine;
use crate::sync::status::NoProgress;
use crate::sync::transport::Transport;

impl Doorstep {
    /// The visits on this device waiting for review (submitted), oldest
    /// first: on a supervisor's device, the team's queue as last synced.
    pub fn review_queue(&self) -> Result<Vec<Visit>, DoorstepError> {
        let mut queue = self
            .store
            .read(|conn| visits::in_state(conn, VisitState::Submitted))?;
        queue.sort_by_key(|visit| (visit.submitted_at, visit.id));
        Ok(queue)
    }

    /// Approves or returns a submitted visit, as the supervisor signed in on
    /// this device; the decision is in the visit at once. The decision is
    /// checked first (a return needs a reason code and a comment). Fails with
    /// a sync failure: `offline`, `timeout`, `io` on the way, or `refused` with the server's code (`not_supervisor`,
    /// `not_your_team`, `visit_not_submitted`); with
    /// [`DoorstepError::SignInRequired`] when the supervisor must sign in
    /// again.
    pub fn review(
        &self,
        transport: &dyn Transport,
        visit_id: VisitId,
        decision: ReviewDecision,
    ) -> Result<(), DoorstepError> {
        crate::domain::Review {
            decision: decision.clone(),
            reviewer: self.device,
            decided_at: self.wall.now(),
        }
        .check()
        .map_err(Error::from)?;
        let labelled = self.labelled(transport);
        let transport: &dyn Transport = &labelled;
        let _running = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        let policy = self.policy();
        let mut engine = Engine::new(
            &self.store,
            &self.clock,
            self.wall.as_ref(),
            &policy,
            self.device,
            transport,
            &NoProgress,
            &self.heads,
        );
        engine.review(visit_id, decision)?;
        Ok(())
    }
}
