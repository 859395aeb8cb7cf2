//! The core's plain values, exposed as they are: each `#[uniffi::remote]` item
//! below restates a core type field for field (the compiler checks that it
//! matches), so uniffi can pass it without the core depending on uniffi and
//! without a copy to keep in step by hand. Ids, instants, dates, clock stamps and
//! ratings cross as custom types over a builtin.
//!
//! The comments here are what the Kotlin and Swift documentation shows.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::checklist::{
    AnswerValue, ChecklistItem, ChoiceOption, Condition, ItemKind, ItemProblem, Label,
    ProblemReason,
};
use doorstep_core::clock::Hlc;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Attachment, AttachmentKind, AttachmentLink, Case,
    CaseStatus, Customer, Feedback, InterviewNote, Notice, NoticeChannel, Outcome, OutcomeCode,
    OverdueBucket, PhoneNumber, PromiseToPay, Rating, RepaymentPlan, Review, ReviewDecision,
    SiteCheck, Visit, VisitAction, VisitChange, VisitState,
};
use doorstep_core::event_log::{BreakReason, ChainHead};
use doorstep_core::money::Money;
use doorstep_core::policy::{CheckInFlag, GeoPoint, GpsFix};
use doorstep_core::report::{LogVerification, ReportAnswer, TimelineEntry, VisitReport};
use doorstep_core::sync::plan::SyncPlan;
use doorstep_core::{CaseQuery, CaseSummary, RejectedOp, SyncPhase, SyncReport, SyncStatus};
use uuid::Uuid;

/// An instant in UTC (`java.time.Instant` in Kotlin, `Date` in Swift).
pub type Timestamp = DateTime<Utc>;
/// A calendar date, as ISO 8601 text: `2026-12-01`.
pub type IsoDate = NaiveDate;

/// A value from the shell that is not what the core expects: thrown as
/// `InvalidInput` by the call it was passed to (uniffi hands a lift failure of
/// this type back as the call's own error).
fn bad_value(field: &str, reason: &str) -> uniffi::deps::anyhow::Error {
    crate::DoorstepError::InvalidInput {
        field: field.to_owned(),
        reason: reason.to_owned(),
    }
    .into()
}

uniffi::custom_type!(Uuid, String, {
    remote,
    lower: |id| id.to_string(),
    try_lift: |text| Uuid::parse_str(&text).map_err(|_| bad_value("id", "an id is a UUID")),
});

uniffi::custom_type!(Timestamp, std::time::SystemTime, {
    remote,
    lower: |at| at.into(),
    try_lift: |at| Ok(at.into()),
});

uniffi::custom_type!(IsoDate, String, {
    remote,
    lower: |date| date.format("%Y-%m-%d").to_string(),
    try_lift: |text| NaiveDate::parse_from_str(&text, "%Y-%m-%d")
        .map_err(|_| bad_value("date", "a date is YYYY-MM-DD")),
});

uniffi::custom_type!(Hlc, String, {
    remote,
    lower: |stamp| stamp.to_string(),
    try_lift: |text| text.parse().map_err(|_| bad_value("stamp", "not a clock stamp")),
});

uniffi::custom_type!(Rating, u8, {
    remote,
    lower: |rating| rating.value(),
    try_lift: |value| Rating::new(value).ok_or_else(|| bad_value("rating", "a rating is 1 to 5")),
});

// ---- money and places ----

/// An amount of money in minor units (fen, cents) of an ISO 4217 currency.
#[uniffi::remote(Record)]
pub struct Money {
    pub minor_units: i64,
    pub currency: String,
}

/// A position on the earth, in degrees.
#[uniffi::remote(Record)]
pub struct GeoPoint {
    pub latitude: f64,
    pub longitude: f64,
}

/// A position fix from the phone's location service.
#[uniffi::remote(Record)]
pub struct GpsFix {
    pub point: GeoPoint,
    pub accuracy_m: f64,
    pub mocked: bool,
    pub taken_at: Timestamp,
}

/// Why a check-in was flagged (allowed, but shown to the supervisor).
#[uniffi::remote(Enum)]
pub enum CheckInFlag {
    FarFromAddress,
    PoorGpsAccuracy,
    MockedLocation,
    NoRegisteredLocation,
}

// ---- cases ----

/// Where a customer can be found.
#[uniffi::remote(Enum)]
pub enum AddressKind {
    Home,
    Work,
    Other,
}

/// A customer address, with its registered position when known.
#[uniffi::remote(Record)]
pub struct Address {
    pub kind: AddressKind,
    pub text: String,
    pub location: Option<GeoPoint>,
}

/// A customer phone number.
#[uniffi::remote(Record)]
pub struct PhoneNumber {
    pub label: String,
    pub number: String,
}

/// The customer of a case (national id masked).
#[uniffi::remote(Record)]
pub struct Customer {
    pub name: String,
    pub national_id_masked: String,
    pub phones: Vec<PhoneNumber>,
    pub addresses: Vec<Address>,
}

/// The agents a case is assigned to: a primary and, for two-person visits, a partner.
#[uniffi::remote(Record)]
pub struct AssignedAgents {
    pub primary: Uuid,
    pub partner: Option<Uuid>,
}

/// Where a case stands.
#[uniffi::remote(Enum)]
pub enum CaseStatus {
    New,
    InProgress,
    Submitted,
    Returned,
    Completed,
    Closed,
}

/// The bank's overdue bucket by days past due.
#[uniffi::remote(Enum)]
pub enum OverdueBucket {
    Current,
    M1,
    M2,
    M3,
    M4,
    M5,
    M6Plus,
}

/// An overdue account assigned for a home visit.
#[uniffi::remote(Record)]
pub struct Case {
    pub id: Uuid,
    pub external_ref: String,
    pub customer: Customer,
    pub product: String,
    pub overdue_amount: Money,
    pub days_past_due: u32,
    pub assigned: AssignedAgents,
    pub priority: u8,
    pub due_date: IsoDate,
    pub status: CaseStatus,
    pub utc_offset_minutes: i32,
    pub revisit_after: Option<Uuid>,
}

/// What the case list shows: filters and a page. `limit` is 1 to 200.
#[uniffi::remote(Record)]
pub struct CaseQuery {
    pub status: Option<CaseStatus>,
    pub bucket: Option<OverdueBucket>,
    pub text: Option<String>,
    pub limit: u32,
    pub offset: u32,
}

/// One row of the case list.
#[uniffi::remote(Record)]
pub struct CaseSummary {
    pub id: Uuid,
    pub external_ref: String,
    pub customer_name: String,
    pub overdue_amount: Money,
    pub days_past_due: u32,
    pub bucket: OverdueBucket,
    pub priority: u8,
    pub due_date: IsoDate,
    pub status: CaseStatus,
}

// ---- visits ----

/// Where a visit stands in its life cycle.
#[uniffi::remote(Enum)]
pub enum VisitState {
    Planned,
    Notified,
    CheckedIn,
    CheckedOut,
    Submitted,
    Approved,
    Returned,
    Reopened,
    Cancelled,
}

/// How a notice or feedback reached the customer.
#[uniffi::remote(Enum)]
pub enum NoticeChannel {
    PhoneCall,
    Sms,
    Letter,
    InPerson,
}

/// Advance notice of a visit given to the customer.
#[uniffi::remote(Record)]
pub struct Notice {
    pub channel: NoticeChannel,
    pub given_at: Timestamp,
    pub planned_visit_at: Timestamp,
    pub purpose: String,
    pub acknowledged: bool,
}

/// A check-in or check-out as the core assessed it: the fix, the distance to the
/// registered address and the flags.
#[uniffi::remote(Record)]
pub struct SiteCheck {
    pub at: Timestamp,
    pub utc_offset_minutes: i32,
    pub fix: GpsFix,
    pub distance_m: Option<f64>,
    pub flags: Vec<CheckInFlag>,
}

/// What came of a visit.
#[uniffi::remote(Enum)]
pub enum OutcomeCode {
    PromiseToPay,
    RepaymentPlan,
    HardshipDeferral,
    Dispute,
    Refused,
    NotHome,
    Moved,
}

/// A promise to pay an amount by a date.
#[uniffi::remote(Record)]
pub struct PromiseToPay {
    pub amount: Money,
    pub due_on: IsoDate,
}

/// A proposed repayment plan.
#[uniffi::remote(Record)]
pub struct RepaymentPlan {
    pub instalments: u32,
    pub instalment_amount: Money,
    pub first_due_on: IsoDate,
}

/// The outcome of a visit. Ratings are 1 to 5.
#[uniffi::remote(Record)]
pub struct Outcome {
    pub code: OutcomeCode,
    pub promise: Option<PromiseToPay>,
    pub plan: Option<RepaymentPlan>,
    pub ability_to_repay: Option<Rating>,
    pub willingness_to_repay: Option<Rating>,
    pub summary: String,
}

/// A supervisor's decision on a submitted visit.
#[uniffi::remote(Enum)]
pub enum ReviewDecision {
    Approve,
    Return {
        reason_code: String,
        comment: String,
    },
}

/// One review round.
#[uniffi::remote(Record)]
pub struct Review {
    pub decision: ReviewDecision,
    pub reviewer: Uuid,
    pub decided_at: Timestamp,
}

/// Result feedback given to the customer after approval.
#[uniffi::remote(Record)]
pub struct Feedback {
    pub channel: NoticeChannel,
    pub delivered_at: Timestamp,
    pub summary: String,
    pub customer_confirmed: bool,
}

/// A visit's header: state, notices, check-in and -out, outcome, reviews.
#[uniffi::remote(Record)]
pub struct Visit {
    pub id: Uuid,
    pub case_id: Uuid,
    pub agent: Uuid,
    pub partner: Option<Uuid>,
    pub template_key: String,
    pub template_version: u32,
    pub planned_for: Timestamp,
    pub state: VisitState,
    pub notices: Vec<Notice>,
    pub check_in: Option<SiteCheck>,
    pub check_out: Option<SiteCheck>,
    pub outcome: Option<Outcome>,
    pub submitted_at: Option<Timestamp>,
    pub submissions: u32,
    pub reviews: Vec<Review>,
    pub feedback: Vec<Feedback>,
    pub cancel_reason: Option<String>,
    pub moved_by: Option<Uuid>,
}

/// An interview note.
#[uniffi::remote(Record)]
pub struct InterviewNote {
    pub id: Uuid,
    pub author: Uuid,
    pub written_at: Timestamp,
    pub text: String,
}

/// What an attachment is.
#[uniffi::remote(Enum)]
pub enum AttachmentKind {
    Photo,
    Signature,
    Audio,
}

/// What an attachment belongs to: a photo or signature item of the checklist,
/// an interview note, or the visit as a whole.
#[uniffi::remote(Enum)]
pub enum AttachmentLink {
    ChecklistItem { item_id: String },
    Note { note_id: Uuid },
    Visit,
}

/// An attachment's description; its bytes come from `attachmentBytes(sha256)`.
#[uniffi::remote(Record)]
pub struct Attachment {
    pub id: Uuid,
    pub kind: AttachmentKind,
    pub mime_type: String,
    pub sha256: String,
    pub size_bytes: u64,
    pub link: AttachmentLink,
    pub taken_at: Timestamp,
}

// ---- checklists ----

/// Text in the app's two languages.
#[uniffi::remote(Record)]
pub struct Label {
    pub zh_cn: String,
    pub en: String,
}

/// One option of a choice item.
#[uniffi::remote(Record)]
pub struct ChoiceOption {
    pub id: String,
    pub label: Label,
}

/// The kind of answer an item takes, with its limits.
#[uniffi::remote(Enum)]
pub enum ItemKind {
    YesNo,
    SingleChoice {
        options: Vec<ChoiceOption>,
    },
    MultipleChoice {
        options: Vec<ChoiceOption>,
        min_selected: u32,
        max_selected: u32,
    },
    Integer {
        min: i64,
        max: i64,
    },
    Money {
        currency: String,
        min_minor_units: Option<i64>,
        max_minor_units: Option<i64>,
    },
    Text {
        max_chars: u32,
    },
    Date {
        not_before: Option<IsoDate>,
        not_after: Option<IsoDate>,
    },
    Photo {
        min_count: u32,
        max_count: u32,
    },
    Signature,
}

/// When an item is shown, depending on an earlier answer.
#[uniffi::remote(Enum)]
pub enum Condition {
    Answered { item: String },
    YesNoEquals { item: String, value: bool },
    ChoiceIn { item: String, options: Vec<String> },
    ChoicesContain { item: String, option: String },
}

/// One question of a checklist template.
#[uniffi::remote(Record)]
pub struct ChecklistItem {
    pub id: String,
    pub label: Label,
    pub help: Option<Label>,
    pub kind: ItemKind,
    pub required: bool,
    pub visible_when: Option<Condition>,
}

/// An answer to a checklist item; its variant must fit the item's kind.
#[uniffi::remote(Enum)]
pub enum AnswerValue {
    YesNo(bool),
    Choice(String),
    Choices(Vec<String>),
    Integer(i64),
    Money(Money),
    Text(String),
    Date(IsoDate),
}

/// Why an answer or a checklist is refused.
#[uniffi::remote(Enum)]
pub enum ProblemReason {
    Missing,
    UnknownItem,
    WrongKind,
    OutOfRange,
    TooLong,
    UnknownOption,
    TooFewSelected,
    TooManySelected,
    DuplicateOption,
    TooFewAttachments,
    TooManyAttachments,
    InvalidCurrency,
    CurrencyMismatch,
}

/// A problem with one checklist item.
#[uniffi::remote(Record)]
pub struct ItemProblem {
    pub item_id: String,
    pub reason: ProblemReason,
}

// ---- the visit report ----

/// One answered item, labelled from the template version the visit used.
#[uniffi::remote(Record)]
pub struct ReportAnswer {
    pub item_id: String,
    pub label: Label,
    pub value: AnswerValue,
    pub stamp: Hlc,
}

/// One line of a visit's timeline.
#[uniffi::remote(Record)]
pub struct TimelineEntry {
    pub at: Timestamp,
    pub utc_offset_minutes: i32,
    pub kind: String,
    pub device: Uuid,
}

/// The newest entry of one device's chain of a visit's log.
#[uniffi::remote(Record)]
pub struct ChainHead {
    pub author: Uuid,
    pub length: u64,
    pub hash: String,
}

/// What is wrong at a broken link of a visit's log.
#[uniffi::remote(Enum)]
pub enum BreakReason {
    HashMismatch,
    PrevHashMismatch,
    SequenceGap,
    WrongVisit,
    WrongAuthor,
    HeadMismatch,
    Truncated,
    MissingChain,
    EmptyChain,
}

/// Whether a visit's event log verified.
#[uniffi::remote(Enum)]
pub enum LogVerification {
    Intact { chains: Vec<ChainHead> },
    Broken { index: u64, reason: BreakReason },
}

/// Everything a supervisor needs to review a visit.
#[uniffi::remote(Record)]
pub struct VisitReport {
    pub case: Case,
    pub visit: Visit,
    pub answers: Vec<ReportAnswer>,
    pub checklist_problems: Vec<ItemProblem>,
    pub notes: Vec<InterviewNote>,
    pub attachments: Vec<Attachment>,
    pub timeline: Vec<TimelineEntry>,
    pub log: LogVerification,
    pub unsynced_entries: u64,
}

// ---- sync ----

/// A step of a sync.
#[uniffi::remote(Enum)]
pub enum SyncPhase {
    Login,
    Push,
    Pull,
    Purge,
    Upload,
}

/// What one sync did. `deferred_until` is set when the sync did not run
/// because the backoff after earlier failures has not elapsed.
#[uniffi::remote(Record)]
pub struct SyncReport {
    pub deferred_until: Option<Timestamp>,
    pub applied: u64,
    pub duplicates: u64,
    pub rejected: u64,
    pub pulled: u64,
    pub uploaded: u64,
    pub upload_refused: u64,
    pub skipped_entries: u64,
    pub purged_cases: u64,
    pub purged_visits: u64,
    pub repaired_visits: u64,
    pub unrepaired_visits: u64,
    pub wiped: bool,
}

/// The sync state for the sync status bar. `next_attempt_after` is when the
/// core advises the next automatic sync (backoff after failures).
#[uniffi::remote(Record)]
pub struct SyncStatus {
    pub pending_ops: u64,
    pub oldest_pending_age_seconds: Option<u64>,
    pub last_success: Option<Timestamp>,
    pub last_error: Option<String>,
    pub rejected_count: u64,
    pub next_attempt_after: Option<Timestamp>,
    pub consecutive_failures: u32,
    pub deactivated: bool,
    pub pending_uploads: u64,
}

/// Something done to a visit, as its state machine knows it: what
/// `allowed_actions` lists for the screens.
#[uniffi::remote(Enum)]
pub enum VisitAction {
    RecordNotice,
    CheckIn,
    Edit,
    CheckOut,
    Submit,
    Approve,
    Return,
    Cancel,
    RecordFeedback,
}

/// When to sync next (`Doorstep.syncPlan`): now (with `syncNow` when
/// `ignore_backoff`), at a time, when connectivity returns, or once the agent
/// has signed in (show the sign-in screen).
#[uniffi::remote(Enum)]
pub enum SyncPlan {
    Now { ignore_backoff: bool },
    At { at: Timestamp },
    WhenOnline,
    WhenSignedIn,
}

/// An operation the server refused; it stays on the device.
#[uniffi::remote(Record)]
pub struct RejectedOp {
    pub op_id: Uuid,
    pub visit_id: Uuid,
    pub log_seq: u64,
    pub kind: String,
    pub code: String,
    pub rejected_at: Timestamp,
    pub change: Option<VisitChange>,
}

/// One change to a visit, as recorded in its log: what a refused operation
/// did, for the app to show it and the agent to redo it.
#[uniffi::remote(Enum)]
pub enum VisitChange {
    Planned {
        case_id: Uuid,
        agent: Uuid,
        partner: Option<Uuid>,
        template_key: String,
        template_version: u32,
        planned_for: Timestamp,
    },
    NoticeRecorded {
        notice: Notice,
    },
    CheckedIn {
        check: SiteCheck,
    },
    Answered {
        item_id: String,
        value: AnswerValue,
    },
    AnswerCleared {
        item_id: String,
    },
    NoteAdded {
        note: InterviewNote,
    },
    Attached {
        attachment: Attachment,
    },
    OutcomeSet {
        outcome: Outcome,
    },
    CheckedOut {
        check: SiteCheck,
    },
    Submitted {
        at: Timestamp,
    },
    Cancelled {
        reason: String,
    },
    Reviewed {
        review: Review,
    },
    FeedbackRecorded {
        feedback: Feedback,
    },
}
