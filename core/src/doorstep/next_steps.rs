//! What the app's screens and scheduler ask the core, so that no rule lives in
//! Kotlin or Swift: which actions a visit allows now, which checklist items
//! are shown, and when to sync next.

use crate::checklist::ChecklistItem;
use crate::domain::VisitId;
use crate::domain::visit::{VisitAction, transition};
use crate::error::{DoorstepError, Result};
use crate::store::{blobs, meta, outbox, templates, visits};
use crate::sync::plan::{SyncConditions, SyncPlan, plan};

use super::{Doorstep, history};

/// The actions an agent takes on a visit, in the order of a visit.
const AGENT_ACTIONS: [VisitAction; 6] = [
    VisitAction::RecordNotice,
    VisitAction::CheckIn,
    VisitAction::Edit,
    VisitAction::CheckOut,
    VisitAction::Submit,
    VisitAction::Cancel,
];

impl Doorstep {
    /// The actions the visit's state allows the agent now (the state machine
    /// of `domain::visit`), for the screen to offer only those. A policy or
    /// checklist rule may still refuse one when it is taken.
    pub fn allowed_actions(&self, visit_id: VisitId) -> Result<Vec<VisitAction>, DoorstepError> {
        let visit = self.store.read(|conn| visits::header(conn, visit_id))?;
        Ok(AGENT_ACTIONS
            .into_iter()
            .filter(|action| transition(visit.state, *action).is_ok())
            .collect())
    }

    /// The checklist items shown for the visit's answers so far, in template
    /// order: the template's conditions evaluated by the core, as the
    /// submission's validation evaluates them.
    pub fn visible_items(&self, visit_id: VisitId) -> Result<Vec<ChecklistItem>, DoorstepError> {
        Ok(self.store.read(|conn| {
            let history = history(conn, visit_id)?;
            let template = templates::get(
                conn,
                &history.visit.template_key,
                history.visit.template_version,
            )?;
            Ok(template
                .visible_items(&history.answer_sheet())
                .into_iter()
                .cloned()
                .collect())
        })?)
    }

    /// When to sync next, given whether the device is online and whether
    /// connectivity came back since the last attempt (`sync::plan`). The
    /// app's scheduler carries it out and asks again after each attempt.
    pub fn sync_plan(&self, online: bool, reconnected: bool) -> Result<SyncPlan, DoorstepError> {
        let now = self.wall.now();
        Ok(self.store.read(|conn| {
            let conditions = SyncConditions {
                online,
                reconnected,
                now,
                last_success: super::sync::time(conn, meta::SYNC_LAST_SUCCESS)?,
                next_attempt_after: super::sync::time(conn, meta::SYNC_NEXT_ATTEMPT_AFTER)?,
                work_waiting: outbox::pending_count(conn)? > 0
                    || blobs::pending_upload_count(conn)? > 0,
                signed_in: meta::get(conn, meta::SYNC_REFRESH)?.is_some(),
            };
            Ok::<_, crate::error::Error>(plan(&conditions))
        })?)
    }
}
