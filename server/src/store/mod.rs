//! Server storage behind one trait, so the embedded SQLite backend (the default)
//! and the PostgreSQL backend (for several stateless replicas on one database)
//! serve the same service code.
//!
//! A backend implements [`Store`]: it runs a closure inside one read or one write
//! transaction and hands it a [`StoreTx`], the small set of row-level operations
//! the service needs. Every rule (admission, authorization, visibility) lives in
//! [`crate::service`], written once against [`StoreTx`]; a backend only moves
//! rows. The methods are synchronous: the HTTP handlers call them through
//! `tokio::task::spawn_blocking`.

pub mod postgres;
pub mod sqlite;

use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{
    Case, CaseDecision, CaseId, DeviceId, Repayment, UserId, Visit, VisitId,
};
use doorstep_core::event_log::{BreakReason, LogEntry};
use doorstep_core::policy::PublishedPolicy;
use doorstep_core::sync::protocol::{RejectCode, Role};
use uuid::Uuid;

/// A storage failure. Never carries customer data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or failed an operation.
    #[error("database error: {0}")]
    Database(String),
    /// A stored row could not be read back.
    #[error("corrupt row in {0}")]
    Corrupt(&'static str),
    /// A row with the same key already exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
    /// A closure ran to the end without producing its result.
    #[error("transaction produced no result")]
    NoResult,
    /// The database is too busy to answer in time (no connection free, a
    /// statement or lock timeout): try again shortly.
    #[error("the database is busy")]
    Busy,
    /// Text the database cannot hold (PostgreSQL holds no NUL character):
    /// the client's input, refused as such on every backend.
    #[error("text the database cannot hold")]
    Unstorable,
    /// The database was written by a newer server: its schema version is
    /// past the one this server knows. It is refused and left as it was.
    #[error("schema version {found} is newer than this server ({supported})")]
    NewerSchema {
        /// The database's schema version.
        found: i64,
        /// The newest schema version this server knows.
        supported: i64,
    },
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// User id.
    pub id: UserId,
    /// Login name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// What the user may do.
    pub role: Role,
    /// The supervisor whose team the user is in (agents).
    pub supervisor: Option<UserId>,
    /// False once an admin deactivated the user: they sign in nowhere, and
    /// their tokens and console sessions stop working.
    pub active: bool,
}

/// A registered device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRecord {
    /// Device id, also its clock's node id.
    pub id: DeviceId,
    /// The user it is registered to.
    pub user: UserId,
    /// False once deactivated (remote wipe).
    pub active: bool,
}

/// What the server knows of a device beyond its registration, for the
/// admin's devices page ([`StoreTx::device_activities`]). Times the server did
/// not record (a device registered before it recorded them) are `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceActivity {
    /// The device.
    pub device: DeviceRecord,
    /// When it was registered.
    pub registered_at: Option<DateTime<Utc>>,
    /// When it last pushed.
    pub last_push_at: Option<DateTime<Utc>>,
    /// When it last pulled.
    pub last_pull_at: Option<DateTime<Utc>>,
    /// The feed position its last pull reached.
    pub pull_cursor: Option<u64>,
    /// The protocol version its last push or pull named.
    pub protocol_version: Option<u32>,
    /// The app version its last push or pull named (phones built before
    /// they named one: none).
    pub app_version: Option<String>,
    /// When an admin deactivated it.
    pub deactivated_at: Option<DateTime<Utc>>,
    /// When it confirmed it wiped its customer data.
    pub wipe_confirmed_at: Option<DateTime<Utc>>,
}

/// A sync a device made, remembered on the device
/// ([`StoreTx::note_device_sync`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceSync {
    /// It pushed.
    Push,
    /// It pulled, up to this feed position.
    Pull {
        /// The position the answer reached.
        cursor: u64,
    },
}

/// A moment in a device's life, remembered on it ([`StoreTx::mark_device`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceMark {
    /// Registered to its user.
    Registered,
    /// Deactivated by an admin.
    Deactivated,
    /// It wiped its customer data after being deactivated, and said so.
    WipeConfirmed,
}

/// A bearer token, kept only as the SHA-256 of its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// SHA-256 of the token, lower-case hex.
    pub token_sha256: String,
    /// The device it is bound to.
    pub device: DeviceId,
    /// The user it authenticates.
    pub user: UserId,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A refresh credential: what a phone keeps (in its encrypted database) to
/// get a new bearer token without the password. Kept only as the SHA-256 of
/// its text, bound to one device, and rotated on every use: the credential
/// that replaced it is `replaced_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshRecord {
    /// SHA-256 of the credential, lower-case hex.
    pub credential_sha256: String,
    /// The device it is bound to.
    pub device: DeviceId,
    /// The user it signs in.
    pub user: UserId,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// When it stops working, unused.
    pub expires_at: DateTime<Utc>,
    /// The SHA-256 of the credential issued in its place when it was used.
    pub replaced_by: Option<String>,
    /// Whether it was revoked.
    pub revoked: bool,
}

/// A case and who may see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRecord {
    /// The case, with its current assignment.
    pub case: Case,
    /// The supervisor whose team the case belongs to.
    pub supervisor: Option<UserId>,
}

/// One change of who a case is assigned to: the case's history, kept
/// append-only. Ids only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentRecord {
    /// The case.
    pub case_id: CaseId,
    /// When the assignment took effect.
    pub at: DateTime<Utc>,
    /// The agent who visits.
    pub primary: UserId,
    /// The second agent of a two-person visit, if any.
    pub partner: Option<UserId>,
    /// The supervisor whose team the case went to.
    pub supervisor: Option<UserId>,
    /// Who assigned it (none: an admin command on the server, or the case's
    /// assignment when this history began).
    pub by: Option<UserId>,
}

/// A visit the server knows (its `planned` entry was admitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitRecord {
    /// Visit id.
    pub id: VisitId,
    /// The case visited.
    pub case_id: CaseId,
}

/// The version of the fold a visit's stored summary was made with. A summary
/// made by another version is read as missing: the console folds that visit
/// from its log, and the summary is made again
/// ([`crate::service::summaries::backfill`]). Raise it when the core's fold
/// changes what a [`Visit`] says for the same entries.
pub const SUMMARY_VERSION: u32 = 2;

/// A visit of a supervisor's team, as the console's lists read it: one row,
/// not a fold of its log.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamVisit {
    /// The visit's record.
    pub record: VisitRecord,
    /// Its case.
    pub case: CaseRecord,
    /// The visit as its admitted entries fold, as last kept by a push or a
    /// review; `None` if none is kept at [`SUMMARY_VERSION`].
    pub summary: Option<Visit>,
}

/// A log entry as the server keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// The entry, exactly as pushed (or appended by the server).
    pub entry: LogEntry,
    /// Why it was refused, if it was; refused entries keep their chain place but
    /// are left out of the visit's fold.
    pub rejected: Option<RejectCode>,
    /// Pushed by an agent the case had been reassigned away from.
    pub reassigned: bool,
}

/// The last verification of a visit's whole stored log, kept with the visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCheck {
    /// When the server verified it.
    pub checked_at: DateTime<Utc>,
    /// How many stored entries (every author's chain, admitted and refused)
    /// were verified.
    pub entries: u64,
    /// The first broken link; `None` when every chain verified.
    pub broken: Option<ChainBreak>,
}

/// Where a visit's stored log failed verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBreak {
    /// The author whose chain is broken.
    pub author: DeviceId,
    /// The chain position of the offending entry, when there is one.
    pub seq: Option<u64>,
    /// What is wrong.
    pub reason: BreakReason,
}

/// Whose pull a feed read serves ([`StoreTx::feed_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeedReader {
    /// The agent assigned to the cases (primary or partner), for an agent.
    pub agent: Option<UserId>,
    /// The supervisor of the cases, for a supervisor.
    pub supervisor: Option<UserId>,
    /// The device pulling: its own entries are not read back.
    pub device: DeviceId,
}

/// A published template version as the admin's templates page lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateVersion {
    /// The template key.
    pub key: String,
    /// The version.
    pub version: u32,
    /// How many visits (with a summary) were planned on it.
    pub visits: u64,
    /// When it was retired (no new visit starts on it since), if it was.
    pub retired_at: Option<DateTime<Utc>>,
}

/// One row of the change feed that pulls read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeedItem {
    /// A case was created or changed.
    Case {
        /// The case.
        case_id: CaseId,
    },
    /// A case was taken away from some agents.
    CaseRemoved {
        /// The case.
        case_id: CaseId,
        /// The agents who no longer see it.
        from: Vec<UserId>,
    },
    /// A template was published.
    Template {
        /// Template key.
        key: String,
        /// Template version.
        version: u32,
    },
    /// An admitted visit log entry.
    VisitEntry {
        /// The visit's case.
        case_id: CaseId,
        /// The visit.
        visit_id: VisitId,
        /// The entry's author device.
        author: DeviceId,
        /// The entry's position in its chain.
        seq: u64,
    },
}

/// One row of the append-only audit log: ids only, never customer data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// When.
    pub at: DateTime<Utc>,
    /// Who (none for admin commands run on the server).
    pub user: Option<UserId>,
    /// From which device.
    pub device: Option<DeviceId>,
    /// What, e.g. `"push"`, `"pull"`, `"review"`, `"import_case"`.
    pub action: String,
    /// Kind of the thing touched, e.g. `"visit"`, `"case"`.
    pub target_kind: String,
    /// Id of the thing touched.
    pub target_id: String,
    /// Why it was refused, for a refused attempt: a stable code such as
    /// `not_assigned` (never customer data).
    pub code: Option<String>,
}

/// Whose audit rows a reader may see ([`AuditQuery::scope`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditScope {
    /// Every row (an admin).
    All,
    /// What a supervisor sees: the rows whose user is the supervisor or a
    /// user of their team (`users.supervisor_id`, whatever the row is
    /// about), and the rows about their team's work whoever wrote them: a
    /// target that is a visit or a case of the team (the case's team now,
    /// as [`crate::access::Access::may_read`] judges it), or the team itself
    /// (target kind `team`, e.g. an admin's export of it). Rows without a
    /// user (a sign-in under a name that is nobody's, an admin command run
    /// on the server) are not the team's unless about the team's work.
    Team(UserId),
}

/// Which audit rows to read ([`StoreTx::audit_rows`],
/// [`StoreTx::audit_count`]): every condition given must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Whose rows the reader may see.
    pub scope: AuditScope,
    /// Only rows by one of these users (empty: anyone's, rows without a
    /// user included).
    pub users: Vec<UserId>,
    /// Only rows with one of these actions, or with [`AuditQuery::refused`]
    /// also the rows that carry a refusal code; neither: every action.
    pub actions: Vec<String>,
    /// Also the rows that carry a refusal code ([`AuditRecord::code`]),
    /// whatever their action (see [`AuditQuery::actions`]).
    pub refused: bool,
    /// Only rows at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only rows before this instant.
    pub to: Option<DateTime<Utc>>,
}

impl AuditQuery {
    /// Every row `scope` may see.
    pub fn all(scope: AuditScope) -> AuditQuery {
        AuditQuery {
            scope,
            users: Vec::new(),
            actions: Vec::new(),
            refused: false,
            from: None,
            to: None,
        }
    }
}

/// One row of the audit log with its number: rows are numbered from 1 as
/// they are appended, so the number orders them (newest last) however
/// their clocks read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    /// The row's number in the log.
    pub id: u64,
    /// The row.
    pub record: AuditRecord,
}

/// The outcome of one op id, to remember ([`StoreTx::record_ops`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpRecord {
    /// The op id.
    pub op_id: Uuid,
    /// The device that pushed it.
    pub device: DeviceId,
    /// Why it was refused, if it was.
    pub rejected: Option<RejectCode>,
}

/// A visit whose admitted `attached` change refers to some attachment bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentRef {
    /// Lower-case hex SHA-256 of the bytes.
    pub sha256: String,
    /// The visit.
    pub visit_id: VisitId,
    /// The size the change states.
    pub size_bytes: u64,
    /// The device whose entry declared the attachment: the only one that may
    /// upload its bytes for this visit.
    pub author: DeviceId,
}

/// An entry refused because its device's user may not push to its visit:
/// kept apart from every visit, never delivered to a phone nor shown to a
/// supervisor; only admins list it.
#[derive(Debug, Clone, PartialEq)]
pub struct QuarantinedEntry {
    /// The entry, exactly as pushed.
    pub entry: LogEntry,
    /// The user who pushed it.
    pub user: UserId,
    /// The device it came from.
    pub device: DeviceId,
    /// The case its visit belongs to, as far as the server could tell.
    pub case_id: Option<CaseId>,
    /// Why it was refused.
    pub code: RejectCode,
    /// When the server refused it.
    pub at: DateTime<Utc>,
}

/// A signed-in session of the supervisor console (a browser), kept only as the
/// SHA-256 of its cookie's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSessionRecord {
    /// SHA-256 of the session cookie's value, lower-case hex.
    pub id_sha256: String,
    /// The signed-in user.
    pub user: UserId,
    /// The token every state-changing form of this session must carry.
    pub csrf_token: String,
    /// When the user signed in.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Whether the user signed out.
    pub ended: bool,
}

/// A sign-in attempt counted against one limit key (a user name's digest or a
/// client address; see [`crate::login_limit`]): one that failed, or one whose
/// password is still being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInAttempt {
    /// Its id, increasing with every attempt counted.
    pub id: u64,
    /// When it was counted (before its password was checked).
    pub at: DateTime<Utc>,
    /// Still being checked (false: it failed).
    pub in_progress: bool,
}

/// What a write transaction holds alone until it ends ([`StoreTx::lock`]):
/// everything else runs side by side. Take several in a fixed order (by
/// kind, then id, ascending) so two transactions never wait for each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lock<'a> {
    /// One visit: its chains, its fold, its chain check, its review.
    Visit(VisitId),
    /// One case: its assignment.
    Case(CaseId),
    /// One device's registration.
    Device(DeviceId),
    /// One sign-in limit key (a user name's digest or an address).
    SignIn(&'a str),
    /// The repayments: one import at a time, so that two imports of the same
    /// file cannot both find it not yet imported.
    Repayments,
    /// The checklist templates: one retirement at a time, so that two cannot
    /// together retire every version of a key.
    Templates,
}

/// The row-level operations of one transaction.
///
/// A few operations also come for many rows at once (`op_outcomes`,
/// `insert_entries`, `record_ops`, `append_audits`), so that a push costs a
/// few statements however many entries it carries. Their default
/// implementations do each row in turn with the single-row operation; a
/// backend that talks to its database over the network overrides them with
/// one statement each. Either way the result is the same as the single-row
/// operations run in the order given.
pub trait StoreTx {
    /// Holds `what` until this transaction ends; another write transaction
    /// asking for the same waits. (SQLite has a single writer, so there it
    /// holds already.)
    fn lock(&self, what: Lock<'_>) -> Result<(), StoreError>;

    /// Adds a user; [`StoreError::Conflict`] if the name is taken.
    fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError>;
    /// A user by login name.
    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError>;
    /// A user by id.
    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError>;

    /// Registers a device; [`StoreError::Conflict`] if the id is taken.
    fn insert_device(&self, device: &DeviceRecord) -> Result<(), StoreError>;
    /// A device by id.
    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError>;
    /// Activates or deactivates a device; false if there is no such device.
    fn set_device_active(&self, id: DeviceId, active: bool) -> Result<bool, StoreError>;
    /// Remembers when `mark` first happened to a device (a later time does
    /// not replace it); false if there is no such device.
    fn mark_device(
        &self,
        id: DeviceId,
        mark: DeviceMark,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Remembers a sync of a device at `at`, with the protocol and app
    /// versions it named (each kept as before when it named none).
    fn note_device_sync(
        &self,
        id: DeviceId,
        sync: DeviceSync,
        at: DateTime<Utc>,
        protocol: Option<u32>,
        app_version: Option<&str>,
    ) -> Result<(), StoreError>;
    /// The devices of `user` (every device when `None`) with what the server
    /// knows of them, by user then device id.
    fn device_activities(&self, user: Option<UserId>) -> Result<Vec<DeviceActivity>, StoreError>;

    /// Every user, by user name.
    fn users(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// Activates or deactivates a user; false if there is no such user.
    fn set_user_active(&self, id: UserId, active: bool) -> Result<bool, StoreError>;
    /// Replaces a user's password hash; false if there is no such user.
    fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<bool, StoreError>;
    /// Puts a user in `supervisor`'s team (none: no team); false if there is
    /// no such user.
    fn set_user_supervisor(
        &self,
        id: UserId,
        supervisor: Option<UserId>,
    ) -> Result<bool, StoreError>;
    /// Revokes every token of a user; how many were still working.
    fn revoke_user_tokens(&self, user: UserId) -> Result<u64, StoreError>;
    /// Ends every console session of a user; how many had not ended.
    fn end_user_console_sessions(&self, user: UserId) -> Result<u64, StoreError>;
    /// The cases whose primary agent is `agent`, by case id.
    fn primary_cases(&self, agent: UserId) -> Result<Vec<CaseRecord>, StoreError>;

    /// Stores a token.
    fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    /// A token by the SHA-256 of its text.
    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError>;
    /// Revokes a token; false if there is no such token.
    fn revoke_token(&self, token_sha256: &str) -> Result<bool, StoreError>;
    /// Revokes every token of a device; how many were still in force.
    fn revoke_device_tokens(&self, device: DeviceId) -> Result<u64, StoreError>;

    /// Stores a refresh credential.
    fn insert_refresh(&self, credential: &RefreshRecord) -> Result<(), StoreError>;
    /// A refresh credential by the SHA-256 of its text.
    fn refresh(&self, credential_sha256: &str) -> Result<Option<RefreshRecord>, StoreError>;
    /// Records that a refresh credential was used and replaced by another;
    /// false if there is no such credential.
    fn replace_refresh(&self, credential_sha256: &str, by: &str) -> Result<bool, StoreError>;
    /// Revokes one refresh credential; false if there is no such credential.
    fn revoke_refresh(&self, credential_sha256: &str) -> Result<bool, StoreError>;
    /// Revokes every refresh credential of a device; how many were not
    /// revoked yet.
    fn revoke_device_refresh(&self, device: DeviceId) -> Result<u64, StoreError>;
    /// Revokes every refresh credential of a user, on all their devices; how
    /// many were not revoked yet.
    fn revoke_user_refresh(&self, user: UserId) -> Result<u64, StoreError>;

    /// Inserts or replaces a case, and remembers its agents as ever assigned.
    fn upsert_case(&self, case: &CaseRecord) -> Result<(), StoreError>;
    /// A case by id.
    fn case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError>;
    /// Whether `user` is or ever was an agent of the case.
    fn was_assigned(&self, case: CaseId, user: UserId) -> Result<bool, StoreError>;

    /// Stores a template; false if that key and version already exist.
    fn insert_template(&self, template: &ChecklistTemplate) -> Result<bool, StoreError>;
    /// A template by key and version.
    fn template(&self, key: &str, version: u32) -> Result<Option<ChecklistTemplate>, StoreError>;
    /// Every published template version, by key then version, with how
    /// many visits (with a summary) use each.
    fn template_versions(&self) -> Result<Vec<TemplateVersion>, StoreError>;
    /// Marks a template version retired at `at`; false when there is no such
    /// version or it is retired already.
    fn retire_template(
        &self,
        key: &str,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// When a template version was retired, if it was.
    fn template_retired_at(
        &self,
        key: &str,
        version: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records a visit the first time its `planned` entry is admitted.
    fn insert_visit(&self, visit: &VisitRecord) -> Result<(), StoreError>;
    /// A visit by id.
    fn visit(&self, id: VisitId) -> Result<Option<VisitRecord>, StoreError>;
    /// Stores the latest verification of a visit's log, replacing the last one.
    fn set_chain_check(&self, visit: VisitId, check: &ChainCheck) -> Result<(), StoreError>;
    /// The latest stored verification of a visit's log (`None`: never verified
    /// or no such visit).
    fn chain_check(&self, visit: VisitId) -> Result<Option<ChainCheck>, StoreError>;
    /// Every stored entry of a visit, admitted and refused, grouped by author
    /// and in chain order within each author.
    fn visit_entries(&self, visit: VisitId) -> Result<Vec<StoredEntry>, StoreError>;
    /// The newest stored entry of one author's chain for a visit.
    fn chain_head(&self, visit: VisitId, author: DeviceId) -> Result<Option<LogEntry>, StoreError>;
    /// One stored entry by chain position.
    fn entry(
        &self,
        visit: VisitId,
        author: DeviceId,
        seq: u64,
    ) -> Result<Option<StoredEntry>, StoreError>;
    /// Stores an entry in its chain.
    fn insert_entry(&self, entry: &StoredEntry) -> Result<(), StoreError>;

    /// The remembered outcome of an op id: `Some(None)` applied, `Some(Some(code))`
    /// refused but recorded, `None` never seen.
    fn op_outcome(&self, op_id: Uuid) -> Result<Option<Option<RejectCode>>, StoreError>;
    /// Remembers the outcome of an op id.
    fn record_op(
        &self,
        op_id: Uuid,
        device: DeviceId,
        rejected: Option<RejectCode>,
    ) -> Result<(), StoreError>;

    /// The remembered outcomes of several op ids, one for each id given and in
    /// the same order (an id given twice is answered twice), each as
    /// [`StoreTx::op_outcome`] answers it.
    fn op_outcomes(&self, op_ids: &[Uuid]) -> Result<Vec<Option<Option<RejectCode>>>, StoreError> {
        op_ids.iter().map(|op_id| self.op_outcome(*op_id)).collect()
    }
    /// Stores several entries in their chains, as [`StoreTx::insert_entry`]
    /// does each in the order given; [`StoreError::Conflict`] if any of them
    /// takes a stored place (or the place of another one given).
    fn insert_entries(&self, entries: &[StoredEntry]) -> Result<(), StoreError> {
        entries
            .iter()
            .try_for_each(|entry| self.insert_entry(entry))
    }
    /// Remembers the outcomes of several op ids, as [`StoreTx::record_op`]
    /// does each in the order given.
    fn record_ops(&self, ops: &[OpRecord]) -> Result<(), StoreError> {
        ops.iter()
            .try_for_each(|op| self.record_op(op.op_id, op.device, op.rejected))
    }

    /// Appends to the change feed. Its sequence number (from 1, increasing,
    /// without gaps) is given when the transaction commits, so rows become
    /// visible in sequence order: a reader that has seen `n` has seen every
    /// row below `n`.
    fn append_feed(&self, item: &FeedItem) -> Result<(), StoreError>;
    /// Up to `limit` feed rows after `cursor`, in order.
    fn feed_after(&self, cursor: u64, limit: u32) -> Result<Vec<(u64, FeedItem)>, StoreError>;
    /// Up to `limit` feed rows numbered in `cursor + 1 ..= through` that
    /// `reader` might be shown, in order: every template and case removal,
    /// and the changes of the cases the reader is assigned to or supervises,
    /// except the reader's own device's entries. A superset of what the
    /// reader may see (removals are for some agents only), read without
    /// materialising the rows it leaves out.
    fn feed_for(
        &self,
        reader: &FeedReader,
        cursor: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError>;
    /// The sequence number of the newest feed row (0 when the feed is empty).
    fn feed_last(&self) -> Result<u64, StoreError>;

    /// Appends to the audit log.
    fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError>;
    /// Appends several rows to the audit log, in the order given, as
    /// [`StoreTx::append_audit`] does each.
    fn append_audits(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        records
            .iter()
            .try_for_each(|record| self.append_audit(record))
    }
    /// The audit log, oldest first (for tests and export).
    fn audit_log(&self) -> Result<Vec<AuditRecord>, StoreError>;
    /// The audit rows about one thing (`"case"` and its id, say), oldest first.
    fn audit_of(&self, target_kind: &str, target_id: &str) -> Result<Vec<AuditRecord>, StoreError>;
    /// Up to `limit` of the audit rows `query` selects, newest first (by
    /// row number, descending, so pages do not shift between reads of the
    /// same rows), after skipping the `offset` newest.
    fn audit_rows(
        &self,
        query: &AuditQuery,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError>;
    /// How many audit rows `query` selects.
    fn audit_count(&self, query: &AuditQuery) -> Result<u64, StoreError>;

    /// Remembers that a visit refers to some attachment bytes; recording the
    /// same (hash, visit, author) again changes nothing.
    fn record_attachment(&self, reference: &AttachmentRef) -> Result<(), StoreError>;
    /// The visits that refer to the bytes with this hash, by visit id.
    fn attachment_refs(&self, sha256: &str) -> Result<Vec<AttachmentRef>, StoreError>;
    /// Remembers that `device` sent every byte of the attachment and they
    /// matched its hash; recording it again changes nothing.
    fn record_upload(&self, sha256: &str, device: DeviceId) -> Result<(), StoreError>;
    /// The devices that sent the attachment's bytes, by id.
    fn uploaders(&self, sha256: &str) -> Result<Vec<DeviceId>, StoreError>;
    /// Records a decision on a case (append-only).
    fn insert_case_decision(&self, decision: &CaseDecision) -> Result<(), StoreError>;
    /// The decisions on a case, oldest first.
    fn case_decisions(&self, case: CaseId) -> Result<Vec<CaseDecision>, StoreError>;
    /// Records a change of who a case is assigned to (append-only).
    fn append_assignment(&self, record: &AssignmentRecord) -> Result<(), StoreError>;
    /// Who a case was assigned to, oldest first.
    fn case_assignments(&self, case: CaseId) -> Result<Vec<AssignmentRecord>, StoreError>;
    /// Stores repayments received, imported at `at`.
    fn insert_repayments(
        &self,
        repayments: &[Repayment],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// The repayments received for these accounts (by reference), oldest first.
    fn repayments(&self, accounts: &[String]) -> Result<Vec<Repayment>, StoreError>;
    /// The cases whose account reference (`external_ref`) is one of
    /// `accounts`, by case id. Account references are not indexed: this
    /// reads every case, for a repayment import, never for a page.
    fn cases_of_accounts(&self, accounts: &[String]) -> Result<Vec<CaseRecord>, StoreError>;
    /// Stores a version of the bank's field policy; false (nothing stored)
    /// if that version exists.
    fn insert_policy(
        &self,
        policy: &PublishedPolicy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// A published version of the policy.
    fn policy(&self, version: u32) -> Result<Option<PublishedPolicy>, StoreError>;
    /// The published versions of the policy, newest first, with when each
    /// was published, up to `limit`.
    fn policies(&self, limit: u32) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, StoreError>;
    /// Keeps an entry apart in the quarantine; the same op id again changes
    /// nothing.
    fn quarantine(&self, entry: &QuarantinedEntry) -> Result<(), StoreError>;
    /// The newest `limit` quarantined entries, newest first.
    fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedEntry>, StoreError>;
    /// Stores a console session; [`StoreError::Conflict`] if the id is taken.
    fn insert_console_session(&self, session: &ConsoleSessionRecord) -> Result<(), StoreError>;
    /// A console session by the SHA-256 of its cookie.
    fn console_session(&self, id_sha256: &str) -> Result<Option<ConsoleSessionRecord>, StoreError>;
    /// Ends a console session (sign-out); false if there is no such session.
    fn end_console_session(&self, id_sha256: &str) -> Result<bool, StoreError>;
    /// The users whose supervisor is `supervisor`, by user name.
    fn team_members(&self, supervisor: UserId) -> Result<Vec<UserRecord>, StoreError>;
    /// The visits of the cases of `supervisor`'s team, any order.
    fn team_visits(&self, supervisor: UserId) -> Result<Vec<VisitRecord>, StoreError>;
    /// The visits of one case.
    fn case_visits(&self, case: CaseId) -> Result<Vec<VisitRecord>, StoreError>;
    /// The cases of `supervisor`'s team, by case id.
    fn team_cases(&self, supervisor: UserId) -> Result<Vec<CaseRecord>, StoreError>;
    /// Every supervisor, by user name (the teams an admin may pick).
    fn supervisors(&self) -> Result<Vec<UserRecord>, StoreError>;

    /// Keeps `visit` (the fold of a visit's admitted entries, at
    /// [`SUMMARY_VERSION`]) as that visit's summary, replacing the one before.
    fn put_visit_summary(&self, visit: &Visit) -> Result<(), StoreError>;
    /// Every visit of the cases of `supervisor`'s team with its case and its
    /// summary (`None` if it has none at [`SUMMARY_VERSION`]), in one read.
    fn team_visit_summaries(&self, supervisor: UserId) -> Result<Vec<TeamVisit>, StoreError>;
    /// Up to `limit` visits with no summary at [`SUMMARY_VERSION`], by id,
    /// after `after` when given.
    fn visits_without_summary(
        &self,
        after: Option<VisitId>,
        limit: u32,
    ) -> Result<Vec<VisitId>, StoreError>;

    /// The sign-in attempts counted against `key` after `since`, oldest first.
    fn sign_in_attempts(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SignInAttempt>, StoreError>;
    /// Counts a sign-in attempt against `key` at `at`, in progress, made
    /// under the user name whose key is `name_key` (the same as `key` for
    /// the name's own row); its id.
    fn insert_sign_in_attempt(
        &self,
        key: &str,
        name_key: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Marks an attempt in progress as failed; false if there is no such attempt.
    fn fail_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError>;
    /// Forgets one attempt; false if there is no such attempt.
    fn delete_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError>;
    /// Forgets the failed attempts counted against `key`, and with
    /// `in_progress_too` those still in progress; how many were forgotten.
    fn clear_sign_in_attempts(&self, key: &str, in_progress_too: bool) -> Result<u64, StoreError>;
    /// Forgets every attempt made under the user name whose key is
    /// `name_key`, whichever key it was counted against (the name's own, or
    /// an address's: an admin unlocking the user); how many were forgotten.
    fn forgive_sign_in_attempts(&self, name_key: &str) -> Result<u64, StoreError>;
    /// Forgets every attempt counted at or before `before`, then all but the
    /// `keep` newest; how many were forgotten.
    fn forget_sign_in_attempts(&self, before: DateTime<Utc>, keep: u64) -> Result<u64, StoreError>;
}

/// How often taking one of the store's locks found it held and had to wait,
/// and for how long in all: the per-visit (case, device, sign-in) advisory
/// locks on PostgreSQL, the one writer connection on SQLite. Served at
/// `/metrics` as `doorstep_store_locks_total`,
/// `doorstep_store_lock_waits_total` and
/// `doorstep_store_lock_wait_seconds_total`.
#[derive(Debug, Default)]
pub struct LockWaits {
    taken: std::sync::atomic::AtomicU64,
    waited: std::sync::atomic::AtomicU64,
    waited_micros: std::sync::atomic::AtomicU64,
}

impl LockWaits {
    /// Counts one lock taken, after waiting `waited` if it was held.
    pub fn record(&self, waited: Option<std::time::Duration>) {
        use std::sync::atomic::Ordering::Relaxed;
        self.taken.fetch_add(1, Relaxed);
        if let Some(waited) = waited {
            self.waited.fetch_add(1, Relaxed);
            let micros = u64::try_from(waited.as_micros()).unwrap_or(u64::MAX);
            self.waited_micros.fetch_add(micros, Relaxed);
        }
    }

    /// Locks taken, of which waited, and the microseconds waited in all.
    pub fn counts(&self) -> (u64, u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (
            self.taken.load(Relaxed),
            self.waited.load(Relaxed),
            self.waited_micros.load(Relaxed),
        )
    }

    /// The counters in the Prometheus text format.
    pub fn render(&self) -> String {
        let (taken, waited, micros) = self.counts();
        format!(
            "# HELP doorstep_store_locks_total Store locks taken (per-visit locks, or the SQLite writer).\n\
             # TYPE doorstep_store_locks_total counter\n\
             doorstep_store_locks_total {taken}\n\
             # HELP doorstep_store_lock_waits_total Store locks that were held by another transaction and waited for.\n\
             # TYPE doorstep_store_lock_waits_total counter\n\
             doorstep_store_lock_waits_total {waited}\n\
             # HELP doorstep_store_lock_wait_seconds_total Time spent waiting for held store locks.\n\
             # TYPE doorstep_store_lock_wait_seconds_total counter\n\
             doorstep_store_lock_wait_seconds_total {}.{:06}\n",
            micros / 1_000_000,
            micros % 1_000_000
        )
    }
}

/// A storage backend: runs closures in read or write transactions.
///
/// `write` commits when the closure returns `Ok` and rolls back otherwise.
pub trait Store: Send + Sync + 'static {
    /// Runs `f` in a read transaction.
    fn read(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// Runs `f` in one write transaction.
    fn write(
        &self,
        f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    /// How the store's locks were waited for, if it counts them.
    fn lock_waits(&self) -> Option<&LockWaits> {
        None
    }
}

/// Runs `f` in a read transaction of `store` and returns its result.
pub fn read<R, E>(store: &dyn Store, f: impl FnOnce(&dyn StoreTx) -> Result<R, E>) -> Result<R, E>
where
    E: From<StoreError>,
{
    run(store, false, f)
}

/// Runs `f` in one write transaction of `store` (committed on `Ok`) and
/// returns its result.
pub fn write<R, E>(store: &dyn Store, f: impl FnOnce(&dyn StoreTx) -> Result<R, E>) -> Result<R, E>
where
    E: From<StoreError>,
{
    run(store, true, f)
}

fn run<R, E>(
    store: &dyn Store,
    writable: bool,
    f: impl FnOnce(&dyn StoreTx) -> Result<R, E>,
) -> Result<R, E>
where
    E: From<StoreError>,
{
    let mut f = Some(f);
    let mut outcome: Option<Result<R, E>> = None;
    let mut body = |tx: &dyn StoreTx| -> Result<(), StoreError> {
        let Some(f) = f.take() else {
            return Err(StoreError::NoResult);
        };
        let result = f(tx);
        let failed = result.is_err();
        outcome = Some(result);
        // Any error rolls the transaction back; the caller's error is kept in
        // `outcome` and returned below.
        if failed {
            Err(StoreError::NoResult)
        } else {
            Ok(())
        }
    };
    let ran = if writable {
        store.write(&mut body)
    } else {
        store.read(&mut body)
    };
    match (outcome, ran) {
        (Some(Err(err)), _) => Err(err),
        (_, Err(err)) => Err(err.into()),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (None, Ok(())) => Err(StoreError::NoResult.into()),
    }
}
