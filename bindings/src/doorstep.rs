//! The `Doorstep` object: the device's encrypted store and every action an
//! agent takes, each method forwarding to the core's facade in a line. All
//! calls are synchronous and may block on the disk or (sync) the network: call
//! them off the main thread.

use std::path::Path;
use std::sync::Arc;

use doorstep_core::checklist::{AnswerValue, ChecklistItem, Label};
use doorstep_core::domain::{
    AttachmentKind, AttachmentLink, Notice, Outcome, ReviewDecision, SiteCheck, Visit, VisitAction,
    VisitState,
};
use doorstep_core::policy::GpsFix;
use doorstep_core::report::VisitReport;
use doorstep_core::sync::plan::SyncPlan;
use doorstep_core::{CaseQuery, CaseSummary, DatabaseKey, RejectedOp, SyncReport, SyncStatus};
use uuid::Uuid;

use crate::error::DoorstepError;
use crate::sync::{ForeignObserver, ForeignTransport, HttpTransport, SyncObserver};
use crate::types::Timestamp;

type Result<T> = std::result::Result<T, DoorstepError>;

/// A case with the visits this device holds for it, for the case detail screen.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseDetail {
    /// The case.
    pub case: doorstep_core::domain::Case,
    /// Its visits, oldest first.
    pub visits: Vec<VisitOfCase>,
}

/// One visit of a case and where it stands.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct VisitOfCase {
    /// The visit.
    pub visit_id: Uuid,
    /// Its state.
    pub state: VisitState,
}

/// A checklist template, for rendering a visit's checklist.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ChecklistTemplate {
    /// Template key, e.g. `home-verification`.
    pub key: String,
    /// Published version.
    pub version: u32,
    /// Title.
    pub title: Label,
    /// Items in display order.
    pub items: Vec<ChecklistItem>,
    /// SHA-256 of the template's canonical JSON.
    pub content_hash: String,
}

impl From<doorstep_core::checklist::ChecklistTemplate> for ChecklistTemplate {
    fn from(template: doorstep_core::checklist::ChecklistTemplate) -> ChecklistTemplate {
        ChecklistTemplate {
            key: template.key().to_owned(),
            version: template.version(),
            title: template.title().clone(),
            items: template.items().to_vec(),
            content_hash: template.content_hash(),
        }
    }
}

/// The device's Doorstep: cases, visits and the outbox in one encrypted database.
#[derive(Debug, uniffi::Object)]
pub struct Doorstep {
    inner: doorstep_core::Doorstep,
}

#[uniffi::export]
impl Doorstep {
    /// Opens (or creates) the device database at `path`, encrypted with `key`:
    /// 32 random bytes the shell keeps in Android Keystore or the iOS Keychain.
    /// Throws `WrongKey` if the key does not open an existing database. The
    /// field policy (contact hours, notice, geofence) is the bank's, sent by
    /// its server on every pull that has a new version.
    #[uniffi::constructor]
    pub fn open(path: String, key: Vec<u8>) -> Result<Arc<Doorstep>> {
        let raw: [u8; 32] = key.try_into().map_err(|_| DoorstepError::InvalidInput {
            field: "key".into(),
            reason: "a database key is 32 bytes".into(),
        })?;
        // The field policy comes from the bank's server with the first pull.
        let inner =
            doorstep_core::Doorstep::open_field_device(Path::new(&path), &DatabaseKey::Raw(raw))?;
        Ok(Arc::new(Doorstep { inner }))
    }

    /// This device's id, to register it with the server.
    pub fn device_id(&self) -> Uuid {
        self.inner.device_id()
    }

    /// The device's current UTC offset in minutes, recorded with every action.
    pub fn set_device_utc_offset(&self, minutes: i32) -> Result<()> {
        Ok(self.inner.set_device_utc_offset(minutes)?)
    }

    /// The app's version (the shell's build, e.g. `1.4.2 (142)`), named to
    /// the server on every request so the bank's admin sees which phones run
    /// an old build; 1 to 40 printable ASCII characters, else `InvalidInput`.
    pub fn set_app_version(&self, version: String) -> Result<()> {
        Ok(self.inner.set_app_version(&version)?)
    }

    /// The agent signed in on this device, once a sync has signed in.
    pub fn signed_in_agent(&self) -> Result<Option<Uuid>> {
        Ok(self.inner.signed_in_agent()?)
    }

    /// One page of the case list.
    pub fn list_cases(&self, query: CaseQuery) -> Result<Vec<CaseSummary>> {
        Ok(self.inner.list_cases(&query)?)
    }

    /// A case and its visits.
    pub fn case_detail(&self, case_id: Uuid) -> Result<CaseDetail> {
        let detail = self.inner.case_detail(case_id)?;
        Ok(CaseDetail {
            case: detail.case,
            visits: detail
                .visits
                .into_iter()
                .map(|(visit_id, state)| VisitOfCase { visit_id, state })
                .collect(),
        })
    }

    /// The checklist template a visit uses.
    pub fn checklist(&self, visit_id: Uuid) -> Result<ChecklistTemplate> {
        Ok(self.inner.checklist(visit_id)?.into())
    }

    /// The visit report: case, visit, answers, problems, notes, attachments,
    /// timeline and the verification of the visit's event log.
    pub fn visit_report(&self, visit_id: Uuid) -> Result<VisitReport> {
        Ok(self.inner.visit_report(visit_id)?)
    }

    /// The bytes of an attachment, by its SHA-256.
    pub fn attachment_bytes(&self, sha256: String) -> Result<Vec<u8>> {
        Ok(self.inner.attachment_bytes(&sha256)?)
    }

    /// How many operations wait to be pushed to the server.
    pub fn pending_outbox_count(&self) -> Result<u64> {
        Ok(self.inner.pending_outbox_count()?)
    }

    /// Plans a visit to a case; returns the visit id.
    pub fn plan_visit(&self, case_id: Uuid, planned_for: Timestamp) -> Result<Uuid> {
        Ok(self.inner.plan_visit(case_id, planned_for)?)
    }

    /// Records a notice given to the customer.
    pub fn record_notice(&self, visit_id: Uuid, notice: Notice) -> Result<()> {
        Ok(self.inner.record_notice(visit_id, notice)?)
    }

    /// Checks in on site. Refused outside contact hours or without timely
    /// notice; flagged far from the address, with poor accuracy or a mock location.
    pub fn check_in(&self, visit_id: Uuid, fix: GpsFix) -> Result<SiteCheck> {
        Ok(self.inner.check_in(visit_id, fix)?)
    }

    /// Answers a checklist item (or changes the answer).
    pub fn answer(&self, visit_id: Uuid, item_id: String, value: AnswerValue) -> Result<()> {
        Ok(self.inner.answer(visit_id, &item_id, value)?)
    }

    /// Withdraws the answer to a checklist item.
    pub fn clear_answer(&self, visit_id: Uuid, item_id: String) -> Result<()> {
        Ok(self.inner.clear_answer(visit_id, &item_id)?)
    }

    /// Adds an interview note; returns its id.
    pub fn add_note(&self, visit_id: Uuid, text: String) -> Result<Uuid> {
        Ok(self.inner.add_note(visit_id, &text)?)
    }

    /// Attaches a photo, signature or recording (stored encrypted); returns its id.
    pub fn attach(
        &self,
        visit_id: Uuid,
        kind: AttachmentKind,
        mime_type: String,
        bytes: Vec<u8>,
        link: AttachmentLink,
    ) -> Result<Uuid> {
        Ok(self
            .inner
            .attach(visit_id, kind, &mime_type, &bytes, link)?)
    }

    /// Records (or changes) the outcome.
    pub fn set_outcome(&self, visit_id: Uuid, outcome: Outcome) -> Result<()> {
        Ok(self.inner.set_outcome(visit_id, outcome)?)
    }

    /// Checks out.
    pub fn check_out(&self, visit_id: Uuid, fix: GpsFix) -> Result<SiteCheck> {
        Ok(self.inner.check_out(visit_id, fix)?)
    }

    /// Submits the visit for review; `IncompleteChecklist` lists what is missing.
    pub fn submit(&self, visit_id: Uuid) -> Result<()> {
        Ok(self.inner.submit(visit_id)?)
    }

    /// Calls off a visit before check-in.
    pub fn cancel(&self, visit_id: Uuid, reason: String) -> Result<()> {
        Ok(self.inner.cancel(visit_id, &reason)?)
    }

    /// Signs the agent in with the user name and password typed on the
    /// sign-in screen (registering this phone to them first if needed);
    /// returns the agent's id. The core keeps a refresh credential in the
    /// encrypted database, never the password: the app must not keep it
    /// either. Syncs then need no password until the server refuses the
    /// sign-in (`SignInRequired`).
    pub fn sign_in(
        &self,
        transport: Arc<dyn HttpTransport>,
        username: String,
        password: String,
    ) -> Result<Uuid> {
        Ok(self
            .inner
            .sign_in(&ForeignTransport(transport), &username, &password)?)
    }

    /// Whether the device holds a sign-in (the app shows its sign-in screen
    /// when it does not).
    pub fn is_signed_in(&self) -> Result<bool> {
        Ok(self.inner.is_signed_in()?)
    }

    /// Syncs unless the core's backoff after earlier failures has not elapsed
    /// (then the report's `deferred_until` says until when). For timers and
    /// connectivity callbacks. `SignInRequired`: show the sign-in screen (the
    /// queue is kept).
    pub fn sync(
        &self,
        transport: Arc<dyn HttpTransport>,
        observer: Arc<dyn SyncObserver>,
    ) -> Result<SyncReport> {
        Ok(self
            .inner
            .sync(&ForeignTransport(transport), &ForeignObserver(observer))?)
    }

    /// Registers this phone's device id with the server under the agent's
    /// account (repeating it is harmless; `sign_in` does it when needed).
    pub fn register_device(
        &self,
        transport: Arc<dyn HttpTransport>,
        username: String,
        password: String,
    ) -> Result<()> {
        self.inner
            .register_device(&ForeignTransport(transport), &username, &password)?;
        Ok(())
    }

    /// Syncs now, whatever the backoff says (the agent pressed "sync").
    pub fn sync_now(
        &self,
        transport: Arc<dyn HttpTransport>,
        observer: Arc<dyn SyncObserver>,
    ) -> Result<SyncReport> {
        Ok(self
            .inner
            .sync_now(&ForeignTransport(transport), &ForeignObserver(observer))?)
    }

    /// The sync state for the status bar.
    pub fn sync_status(&self) -> Result<SyncStatus> {
        Ok(self.inner.sync_status()?)
    }

    /// The operations the server refused, for the agent to see.
    pub fn rejected_ops(&self) -> Result<Vec<RejectedOp>> {
        Ok(self.inner.rejected_ops()?)
    }

    /// Removes the customer data of visits approved longer ago than the
    /// retention period; returns how many visits were removed.
    pub fn purge_expired_visits(&self) -> Result<u64> {
        Ok(self.inner.purge_expired_visits()?)
    }

    /// The actions the visit's state allows the agent now: the screen offers
    /// only these.
    pub fn allowed_actions(&self, visit_id: Uuid) -> Result<Vec<VisitAction>> {
        Ok(self.inner.allowed_actions(visit_id)?)
    }

    /// The checklist items shown for the visit's answers so far, in template
    /// order (the template's conditions evaluated by the core).
    pub fn visible_items(&self, visit_id: Uuid) -> Result<Vec<ChecklistItem>> {
        Ok(self.inner.visible_items(visit_id)?)
    }

    /// When to sync next: the scheduler carries it out and asks again after
    /// each attempt. `reconnected`: connectivity came back since the last one.
    pub fn sync_plan(&self, online: bool, reconnected: bool) -> Result<SyncPlan> {
        Ok(self.inner.sync_plan(online, reconnected)?)
    }

    /// The visits waiting for review on this (a supervisor's) device, oldest
    /// submission first.
    pub fn review_queue(&self) -> Result<Vec<Visit>> {
        Ok(self.inner.review_queue()?)
    }

    /// Approves or returns a submitted visit as the supervisor signed in on
    /// this device; the decision is in the visit at once.
    pub fn review(
        &self,
        transport: Arc<dyn HttpTransport>,
        visit_id: Uuid,
        decision: ReviewDecision,
    ) -> Result<()> {
        Ok(self
            .inner
            .review(&ForeignTransport(transport), visit_id, decision)?)
    }
}
