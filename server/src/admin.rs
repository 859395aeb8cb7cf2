//! Admin operations behind the CLI subcommands: users, devices, cases,
//! templates, reassignment, deactivation. They print and return ids only.

use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{Case, CaseId, UserId};
use doorstep_core::policy::Policy;
use doorstep_core::sync::protocol::Role;

use crate::error::{Missing, ServiceError};
use crate::service::audit;
use crate::store::{
    self, AssignmentRecord, CaseRecord, FeedItem, Lock, QuarantinedEntry, Store, StoreTx,
    UserRecord,
};

pub use crate::service::devices::{create_device, deactivate_device};
use crate::service::users::user_named;
pub use crate::service::users::{
    MIN_PASSWORD_CHARS, NewUserRefused, check_new_user, create_user, unlock_user,
};

pub use crate::service::policy::{PolicyRefused, policy_from_json};

/// Removes the uploads in progress untouched for longer than `hours`
/// ([`BlobStore::clean_abandoned`]); audited as `clean_uploads`, with the
/// number removed. What was removed.
pub fn clean_uploads(
    store: &dyn Store,
    blobs: &dyn crate::blobs::BlobStore,
    hours: u32,
    now: DateTime<Utc>,
) -> Result<crate::blobs::Cleaned, ServiceError> {
    let cleaned = blobs
        .clean_abandoned(crate::blobs::abandoned_before(now, hours))
        .map_err(|e| ServiceError::internal(&e))?;
    store::write(store, |tx| {
        audit(tx, now, None, "clean_uploads", "uploads", cleaned.uploads)
    })?;
    Ok(cleaned)
}

/// The team a case belongs to: its primary agent's supervisor.
fn team_of(tx: &dyn StoreTx, agent: UserId) -> Result<Option<UserId>, ServiceError> {
    let user = tx.user(agent)?.ok_or(ServiceError::UnknownAgent(agent))?;
    if user.role != Role::Agent {
        return Err(ServiceError::NotAnAgent(agent));
    }
    Ok(user.supervisor)
}

/// Imports cases (new or updated), with the assignment they carry. Cases that
/// lose an agent are announced as removed to that agent.
pub fn import_cases(
    store: &dyn Store,
    cases: &[Case],
    now: DateTime<Utc>,
) -> Result<Vec<CaseId>, ServiceError> {
    for case in cases {
        case.check().map_err(|reason| ServiceError::InvalidCase {
            case: case.id,
            reason,
        })?;
    }
    store::write(store, |tx| {
        lock_cases(tx, cases.iter().map(|case| case.id))?;
        let mut ids = Vec::with_capacity(cases.len());
        for case in cases {
            if let Some(partner) = case.assigned.partner {
                team_of(tx, partner)?;
            }
            let supervisor = team_of(tx, case.assigned.primary)?;
            put_case(tx, case.clone(), supervisor, None, now)?;
            ids.push(case.id);
        }
        Ok(ids)
    })
}

/// Holds the cases' assignments until the transaction ends, in id order (so
/// two imports never wait for each other in a circle).
pub(crate) fn lock_cases(
    tx: &dyn StoreTx,
    ids: impl Iterator<Item = CaseId>,
) -> Result<(), ServiceError> {
    let ids: std::collections::BTreeSet<CaseId> = ids.collect();
    for id in ids {
        tx.lock(Lock::Case(id))?;
    }
    Ok(())
}

/// Stores a case as it now is, announcing it to whoever sees it, and adds
/// to the case's assignment history when it is new or goes to other agents
/// or another team (`by`: who assigned it; none for an admin command). The
/// caller holds the case's lock ([`lock_cases`]).
pub(crate) fn put_case(
    tx: &dyn StoreTx,
    case: Case,
    supervisor: Option<UserId>,
    by: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let before = tx.case(case.id)?;
    let reassigned = before
        .as_ref()
        .is_none_or(|old| old.case.assigned != case.assigned || old.supervisor != supervisor);
    if reassigned {
        tx.append_assignment(&AssignmentRecord {
            case_id: case.id,
            at: now,
            primary: case.assigned.primary,
            partner: case.assigned.partner,
            supervisor,
            by,
        })?;
    }
    let id = case.id;
    let removed: Vec<UserId> = before
        .as_ref()
        .map(|old| {
            std::iter::once(old.case.assigned.primary)
                .chain(old.case.assigned.partner)
                .filter(|agent| !case.assigned.includes(*agent))
                .collect()
        })
        .unwrap_or_default();
    // Someone who could not see the case before can now: an agent it moved
    // to, or a new team's supervisor.
    let newly_visible = before.as_ref().is_some_and(|old| {
        old.supervisor != supervisor
            || std::iter::once(case.assigned.primary)
                .chain(case.assigned.partner)
                .any(|agent| !old.case.assigned.includes(agent))
    });
    tx.upsert_case(&CaseRecord { case, supervisor })?;
    tx.append_feed(&FeedItem::Case { case_id: id })?;
    if newly_visible {
        refeed_visits(tx, id)?;
    }
    if !removed.is_empty() {
        tx.append_feed(&FeedItem::CaseRemoved {
            case_id: id,
            from: removed,
        })?;
    }
    audit(tx, now, None, "put_case", "case", id)
}

/// Appends every stored entry of the case's visits to the feed again, after
/// the case: the feed rows they had were read by devices that could not see
/// them then (a new agent's phone pulled past them), so whoever gained the
/// case now receives its whole history after the case itself. Devices that
/// had the entries already take them as duplicates.
fn refeed_visits(tx: &dyn StoreTx, case_id: CaseId) -> Result<(), ServiceError> {
    for visit in tx.case_visits(case_id)? {
        let mut entries = tx.visit_entries(visit.id)?;
        entries.sort_by_key(|stored| (stored.entry.author, stored.entry.seq));
        for stored in entries {
            tx.append_feed(&FeedItem::VisitEntry {
                case_id,
                visit_id: visit.id,
                author: stored.entry.author,
                seq: stored.entry.seq,
            })?;
        }
    }
    Ok(())
}

/// Moves a case to another agent (the partner is kept unless it is that agent).
pub fn reassign_case(
    store: &dyn Store,
    case_id: CaseId,
    agent: &str,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    store::write(store, |tx| {
        tx.lock(Lock::Case(case_id))?;
        let record = tx
            .case(case_id)?
            .ok_or(ServiceError::NotFound(Missing::Case(case_id)))?;
        let agent = user_named(tx, agent)?;
        let supervisor = team_of(tx, agent.id)?;
        let mut case = record.case;
        case.assigned.primary = agent.id;
        if case.assigned.partner == Some(agent.id) {
            case.assigned.partner = None;
        }
        put_case(tx, case, supervisor, None, now)
    })
}

/// Publishes a template from the command line (see
/// [`crate::service::templates::publish`]); republishing the same key and
/// version is refused.
pub fn publish_template(
    store: &dyn Store,
    template: &ChecklistTemplate,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    crate::service::templates::publish(store, None, template, now)
}

/// The newest `limit` entries kept apart in the quarantine (pushed to visits
/// their users may not push to), newest first. Admins only: they are never
/// delivered to a phone nor shown in the console. The listing is audited.
pub fn quarantined(
    store: &dyn Store,
    limit: u32,
    now: DateTime<Utc>,
) -> Result<Vec<QuarantinedEntry>, ServiceError> {
    store::write(store, |tx| {
        let found = tx.quarantined(limit)?;
        audit(tx, now, None, "list_quarantine", "quarantine", found.len())?;
        Ok(found)
    })
}

/// Publishes `policy` from the command line as the bank's next field
/// policy version (see [`crate::service::policy::publish`]); returns the
/// version.
pub fn publish_policy(
    store: &dyn Store,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<u32, ServiceError> {
    crate::service::policy::publish(store, None, policy, now)
}

/// Why a CSV import (of cases, or of repayments through
/// [`crate::service::repayments`]) stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum CsvImportError {
    /// The file has problems, listed line by line.
    #[error("the file has problems; nothing was imported:\n{0}")]
    Problems(crate::case_csv::Problems),
    /// The import was refused (another team's case or agent, an agent who
    /// is not one, an importer who may not import), or the store refused or
    /// failed.
    #[error(transparent)]
    Store(#[from] ServiceError),
}

/// Checks a whole case CSV file (see [`crate::case_csv`]) against the users on
/// record, then imports every case in one transaction, or nothing if any row
/// has a problem.
pub fn import_cases_csv(
    store: &dyn Store,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<CaseId>, CsvImportError> {
    let cases = check_cases_csv(store, bytes)?;
    Ok(import_cases(store, &cases, now)?)
}

/// Checks a case CSV file against the users on record without storing
/// anything: the cases it would import, or its problems.
pub fn check_cases_csv(store: &dyn Store, bytes: &[u8]) -> Result<Vec<Case>, CsvImportError> {
    let parsed = store::read(store, |tx| {
        let mut failure = None;
        let mut users = |name: &str| match tx.user_by_name(name) {
            Ok(user) => user.map(|u| crate::case_csv::KnownUser {
                id: u.id,
                role: u.role,
            }),
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        };
        let parsed = crate::case_csv::parse(bytes, &mut users);
        match failure {
            Some(e) => Err(ServiceError::from(e)),
            None => Ok(parsed),
        }
    })?;
    parsed.map_err(CsvImportError::Problems)
}

/// The team a console user may import into and assign within: a supervisor's
/// own team (`Some`), any team for an admin (`None`). Agents may not.
fn scope_of(actor: &UserRecord) -> Result<Option<UserId>, ServiceError> {
    match actor.role {
        Role::Supervisor => Ok(Some(actor.id)),
        Role::Admin => Ok(None),
        Role::Agent => Err(ServiceError::ManagesNoCases),
    }
}

/// Checks a case CSV file as `actor` would import it, without storing
/// anything. On top of [`check_cases_csv`], a supervisor may only name agents
/// of their own team (another team's agent is reported as `unknown_agent`, so
/// the answer does not tell which names exist elsewhere) and may only update
/// their own team's cases (`other_team_case` on the `case_id` column).
pub fn check_cases_csv_as(
    store: &dyn Store,
    actor: &UserRecord,
    bytes: &[u8],
) -> Result<Vec<Case>, CsvImportError> {
    let team = scope_of(actor)?;
    let checked = store::read(store, |tx| {
        let mut failure = None;
        let mut users = |name: &str| match tx.user_by_name(name) {
            Ok(user) => user
                .filter(|u| team.is_none_or(|t| u.supervisor == Some(t)))
                .map(|u| crate::case_csv::KnownUser {
                    id: u.id,
                    role: u.role,
                }),
            Err(e) => {
                failure.get_or_insert(e);
                None
            }
        };
        let parsed = crate::case_csv::parse_lines(bytes, &mut users);
        if let Some(e) = failure {
            return Err(ServiceError::from(e));
        }
        let rows = match parsed {
            Ok(rows) => rows,
            Err(problems) => return Ok(Err(problems)),
        };
        let mut problems = crate::case_csv::Problems {
            listed: Vec::new(),
            more: 0,
        };
        if let Some(team) = team {
            for (line, case) in &rows {
                let theirs = tx
                    .case(case.id)?
                    .is_some_and(|existing| existing.supervisor != Some(team));
                if !theirs {
                    continue;
                }
                if problems.listed.len() < crate::case_csv::MAX_PROBLEMS {
                    problems.listed.push(crate::case_csv::Problem {
                        line: *line,
                        column: Some("case_id".into()),
                        code: "other_team_case",
                    });
                } else {
                    problems.more += 1;
                }
            }
        }
        if problems.listed.is_empty() {
            Ok(Ok(rows.into_iter().map(|(_, case)| case).collect()))
        } else {
            Ok(Err(problems))
        }
    })?;
    checked.map_err(CsvImportError::Problems)
}

/// Checks a case CSV file as [`check_cases_csv_as`] does, then imports every
/// case in one transaction (the same rule as [`import_cases`]: a case that
/// loses an agent is announced as removed to that agent), or nothing if any
/// row has a problem. Each case is audited as `console_import_case` by `actor`.
pub fn import_cases_csv_as(
    store: &dyn Store,
    actor: &UserRecord,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<CaseId>, CsvImportError> {
    let team = scope_of(actor)?;
    let cases = check_cases_csv_as(store, actor, bytes)?;
    let ids = store::write(store, |tx| {
        lock_cases(tx, cases.iter().map(|case| case.id))?;
        let mut ids = Vec::with_capacity(cases.len());
        for case in &cases {
            // Checked above; checked again here in case a case moved meanwhile.
            if let Some(team) = team
                && tx
                    .case(case.id)?
                    .is_some_and(|existing| existing.supervisor != Some(team))
            {
                return Err(ServiceError::OtherTeamCase(case.id));
            }
            let partner_team = case
                .assigned
                .partner
                .map(|partner| team_of(tx, partner))
                .transpose()?;
            let supervisor = team_of(tx, case.assigned.primary)?;
            if let Some(team) = team
                && (supervisor != Some(team) || partner_team.is_some_and(|p| p != Some(team)))
            {
                return Err(ServiceError::OtherTeamAgent(Some(case.id)));
            }
            put_case(tx, case.clone(), supervisor, Some(actor.id), now)?;
            audit_by(tx, actor, now, "console_import_case", case.id)?;
            ids.push(case.id);
        }
        Ok(ids)
    })?;
    Ok(ids)
}

/// Assigns a case to `primary` (and `partner`, if any) as `actor`, with the
/// same rule as [`reassign_case`]: the case goes to the new agents on their
/// next pull, and an agent who loses it is told to purge it. A supervisor may
/// only touch their own team's cases (another team's case is not found) and
/// only assign agents of their own team (403 `other_team_agent`).
pub fn assign_case_as(
    store: &dyn Store,
    actor: &UserRecord,
    case_id: CaseId,
    primary: UserId,
    partner: Option<UserId>,
    now: DateTime<Utc>,
) -> Result<(), ServiceError> {
    let team = scope_of(actor)?;
    store::write(store, |tx| {
        tx.lock(Lock::Case(case_id))?;
        let record = tx
            .case(case_id)?
            .filter(|r| team.is_none_or(|t| r.supervisor == Some(t)))
            .ok_or(ServiceError::NotFound(Missing::Case(case_id)))?;
        if partner == Some(primary) {
            return Err(ServiceError::PartnerIsAgent);
        }
        let supervisor = team_of(tx, primary)?;
        let partner_team = partner.map(|p| team_of(tx, p)).transpose()?;
        if let Some(team) = team {
            let outside =
                supervisor != Some(team) || partner_team.is_some_and(|their| their != Some(team));
            if outside {
                return Err(ServiceError::OtherTeamAgent(None));
            }
        }
        let mut case = record.case;
        case.assigned = doorstep_core::domain::AssignedAgents { primary, partner };
        put_case(tx, case, supervisor, Some(actor.id), now)?;
        audit_by(tx, actor, now, "console_assign_case", case_id)
    })
}

fn audit_by(
    tx: &dyn StoreTx,
    actor: &UserRecord,
    now: DateTime<Utc>,
    action: &str,
    case_id: CaseId,
) -> Result<(), ServiceError> {
    tx.append_audit(&crate::store::AuditRecord {
        at: now,
        user: Some(actor.id),
        device: None,
        action: action.to_owned(),
        target_kind: "case".into(),
        target_id: case_id.to_string(),
        code: None,
    })?;
    Ok(())
}
