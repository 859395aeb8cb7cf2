//! Who may read, push to, review or download what: decided here and nowhere
//! else, for the API and the console alike.
//!
//! A request makes one [`Access`] from its signed-in user (and the device, for
//! the phone API) and asks it about each case it touches:
//!
//! | question | agent | supervisor | admin |
//! |---|---|---|---|
//! | [`Access::may_read`] a case and its visits | assigned now (primary or partner) | the case's team | every case |
//! | [`Access::may_carry`] it to the device (pull) | assigned now | the case's team | nothing (admins have no field phone) |
//! | [`Access::may_push`] entries to its visits | assigned now, or before (kept, flagged) | never | never |
//! | [`Access::may_review`] its visits | never | the case's team | never |
//!
//! Attachment bytes follow the visits that carry them:
//! [`Access::may_upload`] only to an upload the device itself declared, and
//! [`Access::may_download`] only bytes that a device that may push to a
//! readable visit actually uploaded (knowing a hash gives nothing).
//!
//! The store's feed and team queries read a superset of what a user may see,
//! fast, by indexed columns; the rows they return are filtered here.

use doorstep_core::domain::{DeviceId, UserId, VisitId};
use doorstep_core::sync::protocol::Role;

use crate::service::Session;
use crate::store::{AttachmentRef, CaseRecord, FeedReader, StoreError, StoreTx, UserRecord};

/// What one signed-in user may do, asked per case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    user: UserId,
    role: Role,
    device: Option<DeviceId>,
}

/// Whether, and how, a user may push entries to a case's visits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAccess {
    /// An agent of the case now (primary or partner).
    Assigned,
    /// An agent the case was taken away from: a visit finished offline still
    /// reaches the server, kept and flagged for the supervisor.
    Reassigned,
    /// Never an agent of the case: nothing is stored in its visits.
    Denied,
}

impl Access {
    /// The access of `user`, signed in from `device` (none for the console).
    pub fn of(user: &UserRecord, device: Option<DeviceId>) -> Access {
        Access {
            user: user.id,
            role: user.role,
            device,
        }
    }

    /// The access of an API request's session.
    pub fn of_session(session: &Session) -> Access {
        Access::of(&session.user, Some(session.device.id))
    }

    /// The signed-in user.
    pub fn user(&self) -> UserId {
        self.user
    }

    /// The device signed in from, if any.
    pub fn device(&self) -> Option<DeviceId> {
        self.device
    }

    /// Whether the user may read the case and its visits.
    pub fn may_read(&self, case: &CaseRecord) -> bool {
        match self.role {
            Role::Agent => case.case.assigned.includes(self.user),
            Role::Supervisor => case.supervisor == Some(self.user),
            Role::Admin => true,
        }
    }

    /// Whether the case and its visits go to the user's device when it pulls:
    /// what they may read, except that admins carry no customer into a phone.
    pub fn may_carry(&self, case: &CaseRecord) -> bool {
        self.role != Role::Admin && self.may_read(case)
    }

    /// Whether the user may push entries to the case's visits.
    pub fn may_push(&self, tx: &dyn StoreTx, case: &CaseRecord) -> Result<PushAccess, StoreError> {
        if self.role != Role::Agent {
            return Ok(PushAccess::Denied);
        }
        Ok(if case.case.assigned.includes(self.user) {
            PushAccess::Assigned
        } else if tx.was_assigned(case.case.id, self.user)? {
            PushAccess::Reassigned
        } else {
            PushAccess::Denied
        })
    }

    /// Whether the user may approve or return the case's visits.
    pub fn may_review(&self, case: &CaseRecord) -> bool {
        self.role == Role::Supervisor && case.supervisor == Some(self.user)
    }

    /// Whether the signed-in device may write the bytes of an attachment that
    /// `reference` declares: only the device whose `attached` entry declared
    /// them, so nobody else can add to, or spoil, an upload in progress.
    pub fn may_upload(&self, reference: &AttachmentRef) -> bool {
        self.device.is_some_and(|device| device == reference.author)
    }

    /// Whether the user may have the bytes of an attachment, given every
    /// visit that refers to its hash (`refs`) and the devices that uploaded
    /// the bytes (`uploaders`): some reference must be on a visit whose case
    /// they may read and have been declared by a device that uploaded them.
    /// A hash copied into one's own visit is not an access key: a device that
    /// never sent the bytes is not among the uploaders.
    pub fn may_download(
        &self,
        tx: &dyn StoreTx,
        refs: &[AttachmentRef],
        uploaders: &[DeviceId],
    ) -> Result<bool, StoreError> {
        for reference in refs {
            if uploaders.contains(&reference.author)
                && self.may_read_visit(tx, reference.visit_id)?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether the user may read the visit ([`Access::may_read`] on its case);
    /// false for a visit the store does not hold.
    pub fn may_read_visit(&self, tx: &dyn StoreTx, visit_id: VisitId) -> Result<bool, StoreError> {
        let Some(visit) = tx.visit(visit_id)? else {
            return Ok(false);
        };
        Ok(tx
            .case(visit.case_id)?
            .is_some_and(|case| self.may_read(&case)))
    }

    /// What the store's feed query reads for this user's device: a superset of
    /// what [`Access::may_carry`] then lets through.
    pub fn feed_reader(&self, device: DeviceId) -> FeedReader {
        FeedReader {
            agent: (self.role == Role::Agent).then_some(self.user),
            supervisor: (self.role == Role::Supervisor).then_some(self.user),
            device,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use doorstep_core::domain::{AssignedAgents, Case, CaseStatus, Customer};
    use doorstep_core::money::Money;
    use uuid::Uuid;

    fn user(role: Role, supervisor: Option<UserId>) -> UserRecord {
        UserRecord {
            id: Uuid::now_v7(),
            username: "someone".into(),
            password_hash: String::new(),
            role,
            supervisor,
            active: true,
        }
    }

    fn case(primary: UserId, partner: Option<UserId>, supervisor: UserId) -> CaseRecord {
        CaseRecord {
            case: Case {
                revisit_after: None,
                id: Uuid::now_v7(),
                external_ref: "CC-1".into(),
                customer: Customer {
                    name: "A customer".into(),
                    national_id_masked: "**************123X".into(),
                    phones: Vec::new(),
                    addresses: Vec::new(),
                },
                product: "Card".into(),
                overdue_amount: Money {
                    minor_units: 100,
                    currency: "CNY".into(),
                },
                days_past_due: 30,
                assigned: AssignedAgents { primary, partner },
                priority: 1,
                due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
                status: CaseStatus::New,
                utc_offset_minutes: 480,
            },
            supervisor: Some(supervisor),
        }
    }

    #[test]
    fn each_role_reads_carries_and_reviews_what_the_table_says() {
        let boss = user(Role::Supervisor, None);
        let other_boss = user(Role::Supervisor, None);
        let agent = user(Role::Agent, Some(boss.id));
        let partner = user(Role::Agent, Some(boss.id));
        let stranger = user(Role::Agent, Some(boss.id));
        let admin = user(Role::Admin, None);
        let record = case(agent.id, Some(partner.id), boss.id);
        let phone = Uuid::now_v7();

        for (who, read, carry, review) in [
            (&agent, true, true, false),
            (&partner, true, true, false),
            (&stranger, false, false, false),
            (&boss, true, true, true),
            (&other_boss, false, false, false),
            (&admin, true, false, false),
        ] {
            let access = Access::of(who, Some(phone));
            assert_eq!(access.may_read(&record), read, "{:?} read", who.role);
            assert_eq!(access.may_carry(&record), carry, "{:?} carry", who.role);
            assert_eq!(access.may_review(&record), review, "{:?} review", who.role);
        }
    }

    #[test]
    fn only_the_declaring_device_may_write_an_upload() {
        let agent = user(Role::Agent, None);
        let mine = Uuid::now_v7();
        let reference = AttachmentRef {
            sha256: "a".repeat(64),
            visit_id: Uuid::now_v7(),
            size_bytes: 10,
            author: mine,
        };
        assert!(Access::of(&agent, Some(mine)).may_upload(&reference));
        assert!(!Access::of(&agent, Some(Uuid::now_v7())).may_upload(&reference));
        assert!(!Access::of(&agent, None).may_upload(&reference));
    }
}
