//! A case: one overdue credit-card account assigned to an agent for a home visit.
//! Cases are server-authoritative: they reach the device in a server snapshot.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::VisitId;

use super::{CaseId, UserId};
use crate::money::Money;
use crate::policy::GeoPoint;

/// Longest text accepted in a case's free-text fields (names, addresses, product).
pub const MAX_CASE_TEXT_CHARS: usize = 500;

/// One overdue account to visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Case {
    /// Case id, assigned by the server.
    pub id: CaseId,
    /// The bank's own reference for the account (not the card number).
    pub external_ref: String,
    /// The customer to visit.
    pub customer: Customer,
    /// The product, e.g. "Platinum credit card".
    pub product: String,
    /// Amount overdue.
    pub overdue_amount: Money,
    /// Days past due at the time of assignment.
    pub days_past_due: u32,
    /// Who works the case.
    pub assigned: AssignedAgents,
    /// Higher is more urgent, 1 to 5.
    pub priority: u8,
    /// Date by which the visit should happen.
    pub due_date: NaiveDate,
    /// Where the case is in its life.
    pub status: CaseStatus,
    /// The case's local time zone as an offset from UTC in minutes (China: +480).
    pub utc_offset_minutes: i32,
    /// The visit after which the bank asked for another visit (a decision to
    /// visit again): while that visit is still the latest, the case is new,
    /// to be visited, whatever that visit's state. Absent otherwise, and from
    /// servers before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisit_after: Option<super::VisitId>,
}

/// The customer of a case. The national id is only ever held masked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Customer {
    /// Full name as on the account.
    pub name: String,
    /// National id with all but the last four characters masked, e.g. `**************123X`.
    pub national_id_masked: String,
    /// Phone numbers on record.
    pub phones: Vec<PhoneNumber>,
    /// Addresses on record; the first home address is the registered one for the geofence.
    pub addresses: Vec<Address>,
}

/// A phone number on record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// What the number is, e.g. "mobile", "work".
    pub label: String,
    /// The number as dialled.
    pub number: String,
}

/// What kind of address an [`Address`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// Where the customer lives; visits go here.
    Home,
    /// Where the customer works.
    Work,
    /// Any other address on record.
    Other,
}

/// An address on record, with coordinates where the bank has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Address {
    /// Home, work or other.
    pub kind: AddressKind,
    /// The address as written.
    pub text: String,
    /// Geocoded position, if known.
    pub location: Option<GeoPoint>,
}

/// The agent, or the pair of agents for a two-person visit, who work a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignedAgents {
    /// The agent responsible for the case.
    pub primary: UserId,
    /// The second agent of a two-person visit.
    pub partner: Option<UserId>,
}

impl AssignedAgents {
    /// Whether `user` is one of the assigned agents.
    pub fn includes(&self, user: UserId) -> bool {
        self.primary == user || self.partner == Some(user)
    }
}

/// Where a case is in its life, as far as the device knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Assigned, no visit started yet.
    New,
    /// A visit is planned or under way.
    InProgress,
    /// A visit was submitted and awaits review.
    Submitted,
    /// A supervisor returned the visit for changes.
    Returned,
    /// The latest visit was approved.
    Completed,
    /// Closed by the bank; nothing more to do.
    Closed,
}

impl CaseStatus {
    /// Stable code, as stored and sent over the wire.
    pub fn code(self) -> &'static str {
        match self {
            CaseStatus::New => "new",
            CaseStatus::InProgress => "in_progress",
            CaseStatus::Submitted => "submitted",
            CaseStatus::Returned => "returned",
            CaseStatus::Completed => "completed",
            CaseStatus::Closed => "closed",
        }
    }

    /// The status of a case that has `self` and whose latest visit not
    /// cancelled is in `latest`: a case the bank closed stays closed;
    /// otherwise the latest visit says where the case is (a case the bank
    /// asked to visit again is new: [`Case::status_after`]).
    pub fn after_visit(self, latest: crate::domain::VisitState) -> CaseStatus {
        use crate::domain::VisitState as V;
        match (self, latest) {
            (CaseStatus::Closed, _) => CaseStatus::Closed,
            (_, V::Submitted) => CaseStatus::Submitted,
            (_, V::Returned) => CaseStatus::Returned,
            (_, V::Approved) => CaseStatus::Completed,
            _ => CaseStatus::InProgress,
        }
    }

    /// Parses a stable code.
    pub fn from_code(code: &str) -> Option<Self> {
        [
            CaseStatus::New,
            CaseStatus::InProgress,
            CaseStatus::Submitted,
            CaseStatus::Returned,
            CaseStatus::Completed,
            CaseStatus::Closed,
        ]
        .into_iter()
        .find(|s| s.code() == code)
    }
}

/// The bank's overdue buckets by days past due (M1 = 1–30 days, ... M6+ over 150).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum OverdueBucket {
    /// Not overdue (0 days).
    Current,
    /// 1–30 days past due.
    M1,
    /// 31–60 days past due.
    M2,
    /// 61–90 days past due.
    M3,
    /// 91–120 days past due.
    M4,
    /// 121–150 days past due.
    M5,
    /// More than 150 days past due.
    M6Plus,
}

impl OverdueBucket {
    /// The bucket for a number of days past due.
    pub fn from_days_past_due(days: u32) -> Self {
        match days {
            0 => OverdueBucket::Current,
            1..=30 => OverdueBucket::M1,
            31..=60 => OverdueBucket::M2,
            61..=90 => OverdueBucket::M3,
            91..=120 => OverdueBucket::M4,
            121..=150 => OverdueBucket::M5,
            _ => OverdueBucket::M6Plus,
        }
    }

    /// Stable code, as stored and shown ("M1" ... "M6+").
    pub fn code(self) -> &'static str {
        match self {
            OverdueBucket::Current => "M0",
            OverdueBucket::M1 => "M1",
            OverdueBucket::M2 => "M2",
            OverdueBucket::M3 => "M3",
            OverdueBucket::M4 => "M4",
            OverdueBucket::M5 => "M5",
            OverdueBucket::M6Plus => "M6+",
        }
    }
}

/// Why a case from a server snapshot was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    /// A text field is empty where it must not be, or longer than allowed.
    #[error("case field `{field}` is empty or too long")]
    BadText {
        /// Which field.
        field: &'static str,
    },
    /// The overdue amount is negative or its currency malformed.
    #[error("case overdue amount is invalid")]
    BadAmount,
    /// Priority outside 1–5.
    #[error("case priority must be 1 to 5")]
    BadPriority,
    /// The UTC offset is outside ±14 hours.
    #[error("case UTC offset is out of range")]
    BadUtcOffset,
    /// An address position is not a valid coordinate.
    #[error("case address position is invalid")]
    BadLocation,
    /// The national id is not masked.
    #[error("case national id must be masked")]
    UnmaskedNationalId,
    /// The partner is the same person as the primary agent.
    #[error("a case's partner must differ from its primary agent")]
    PartnerIsPrimary,
}

impl Case {
    /// The overdue bucket, derived from the days past due.
    pub fn bucket(&self) -> OverdueBucket {
        OverdueBucket::from_days_past_due(self.days_past_due)
    }

    /// The case's status given its latest visit not cancelled (its id and
    /// state): new while the bank's request to visit again follows that
    /// visit ([`Case::revisit_after`]), closed once the bank closed it, and
    /// otherwise where that visit is ([`CaseStatus::after_visit`]).
    pub fn status_after(&self, latest: VisitId, state: crate::domain::VisitState) -> CaseStatus {
        if self.status != CaseStatus::Closed && self.revisit_after == Some(latest) {
            CaseStatus::New
        } else {
            self.status.after_visit(state)
        }
    }

    /// The day `at` falls on in the case's time zone.
    pub fn local_day(&self, at: chrono::DateTime<chrono::Utc>) -> NaiveDate {
        match chrono::FixedOffset::east_opt(self.utc_offset_minutes.saturating_mul(60)) {
            Some(offset) => at.with_timezone(&offset).date_naive(),
            None => at.date_naive(),
        }
    }

    /// What a text search of cases looks through, on the phone's case list and
    /// in the supervisor's visit search alike: the customer's name, the
    /// account reference, phone numbers (also as bare digits, so "13800"
    /// finds "+86 138 0000 0000") and addresses, lower-cased, separated by a
    /// character no query contains.
    pub fn search_text(&self) -> String {
        let customer = &self.customer;
        let mut parts = vec![customer.name.clone(), self.external_ref.clone()];
        for phone in &customer.phones {
            parts.push(phone.number.clone());
            parts.push(phone.number.chars().filter(char::is_ascii_digit).collect());
        }
        parts.extend(customer.addresses.iter().map(|a| a.text.clone()));
        parts.join("\u{1f}").to_lowercase()
    }

    /// Whether a text search for `query` finds this case: the trimmed,
    /// lower-cased query is part of [`Case::search_text`]. An empty query
    /// finds every case.
    pub fn matches_search(&self, query: &str) -> bool {
        let query = query.trim().to_lowercase();
        query.is_empty() || self.search_text().contains(&query)
    }

    /// The address a visit goes to: the first home address, else the first one.
    pub fn registered_address(&self) -> Option<&Address> {
        let addresses = &self.customer.addresses;
        addresses
            .iter()
            .find(|a| a.kind == AddressKind::Home)
            .or_else(|| addresses.first())
    }

    /// Checks a case received from the server before it is stored.
    pub fn check(&self) -> Result<(), CaseError> {
        check_text("external_ref", &self.external_ref, false)?;
        check_text("customer.name", &self.customer.name, false)?;
        check_text("product", &self.product, true)?;
        check_text(
            "national_id_masked",
            &self.customer.national_id_masked,
            true,
        )?;
        if !is_masked(&self.customer.national_id_masked) {
            return Err(CaseError::UnmaskedNationalId);
        }
        for phone in &self.customer.phones {
            check_text("phone.label", &phone.label, true)?;
            check_text("phone.number", &phone.number, false)?;
        }
        for address in &self.customer.addresses {
            check_text("address.text", &address.text, false)?;
            if let Some(location) = &address.location {
                location.check().map_err(|_| CaseError::BadLocation)?;
            }
        }
        self.overdue_amount
            .check_non_negative()
            .map_err(|_| CaseError::BadAmount)?;
        if !(1..=5).contains(&self.priority) {
            return Err(CaseError::BadPriority);
        }
        if !(-14 * 60..=14 * 60).contains(&self.utc_offset_minutes) {
            return Err(CaseError::BadUtcOffset);
        }
        if self.assigned.partner == Some(self.assigned.primary) {
            return Err(CaseError::PartnerIsPrimary);
        }
        Ok(())
    }
}

fn check_text(field: &'static str, text: &str, may_be_empty: bool) -> Result<(), CaseError> {
    let too_long = text.chars().count() > MAX_CASE_TEXT_CHARS;
    if too_long || (!may_be_empty && text.trim().is_empty()) {
        return Err(CaseError::BadText { field });
    }
    Ok(())
}

/// Masks a national id so that only its last four characters stay readable.
pub fn mask_national_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    let keep = chars.len().min(4);
    let masked = chars.len() - keep;
    std::iter::repeat_n('*', masked)
        .chain(chars[masked..].iter().copied())
        .collect()
}

/// Whether an id shows at most its last four characters.
fn is_masked(id: &str) -> bool {
    let chars: Vec<char> = id.chars().collect();
    let visible_head = chars.len().saturating_sub(4);
    chars[..visible_head].iter().all(|c| *c == '*')
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use uuid::Uuid;

    /// A realistic case for tests.
    pub(crate) fn sample_case() -> Case {
        Case {
            revisit_after: None,
            id: Uuid::now_v7(),
            external_ref: "CC-2026-000123".into(),
            customer: Customer {
                name: "王小明".into(),
                national_id_masked: mask_national_id("11010519800101123X"),
                phones: vec![PhoneNumber {
                    label: "mobile".into(),
                    number: "+86 138 0000 0000".into(),
                }],
                addresses: vec![Address {
                    kind: AddressKind::Home,
                    text: "北京市朝阳区建国路 88 号 3 单元 502".into(),
                    location: Some(GeoPoint {
                        latitude: 39.9087,
                        longitude: 116.4605,
                    }),
                }],
            },
            product: "Platinum credit card".into(),
            overdue_amount: Money::new(1_250_000, "CNY").unwrap(),
            days_past_due: 45,
            assigned: AssignedAgents {
                primary: Uuid::now_v7(),
                partner: None,
            },
            priority: 3,
            due_date: NaiveDate::from_ymd_opt(2026, 12, 5).unwrap(),
            status: CaseStatus::New,
            utc_offset_minutes: 480,
        }
    }

    #[test]
    fn buckets_follow_days_past_due() {
        let cases = [
            (0, "M0"),
            (1, "M1"),
            (30, "M1"),
            (31, "M2"),
            (90, "M3"),
            (151, "M6+"),
        ];
        for (days, code) in cases {
            assert_eq!(
                OverdueBucket::from_days_past_due(days).code(),
                code,
                "{days}"
            );
        }
        assert_eq!(
            OverdueBucket::from_days_past_due(u32::MAX),
            OverdueBucket::M6Plus
        );
    }

    #[test]
    fn masking_keeps_only_the_last_four() {
        assert_eq!(mask_national_id("11010519800101123X"), "**************123X");
        assert_eq!(mask_national_id("12"), "12");
        assert!(is_masked("**************123X"));
        assert!(!is_masked("11010519800101123X"));
    }

    #[test]
    fn a_sample_case_is_valid_and_registered_address_is_home() {
        let case = sample_case();
        assert_eq!(case.check(), Ok(()));
        assert_eq!(case.registered_address().unwrap().kind, AddressKind::Home);
        assert_eq!(case.bucket(), OverdueBucket::M2);
    }

    #[test]
    fn bad_cases_are_refused_with_the_field_named() {
        let mut case = sample_case();
        case.customer.name = " ".into();
        assert_eq!(
            case.check(),
            Err(CaseError::BadText {
                field: "customer.name"
            })
        );

        let mut case = sample_case();
        case.customer.national_id_masked = "11010519800101123X".into();
        assert_eq!(case.check(), Err(CaseError::UnmaskedNationalId));

        let mut case = sample_case();
        case.priority = 0;
        assert_eq!(case.check(), Err(CaseError::BadPriority));

        let mut case = sample_case();
        case.overdue_amount.minor_units = -1;
        assert_eq!(case.check(), Err(CaseError::BadAmount));

        let mut case = sample_case();
        case.customer.addresses[0].text = "长".repeat(MAX_CASE_TEXT_CHARS + 1);
        assert_eq!(
            case.check(),
            Err(CaseError::BadText {
                field: "address.text"
            })
        );

        let mut case = sample_case();
        case.assigned.partner = Some(case.assigned.primary);
        assert_eq!(case.check(), Err(CaseError::PartnerIsPrimary));
    }

    #[test]
    fn status_codes_round_trip() {
        for status in [CaseStatus::New, CaseStatus::Returned, CaseStatus::Closed] {
            assert_eq!(CaseStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(CaseStatus::from_code("nope"), None);
    }
}
