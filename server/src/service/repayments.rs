//! Repayments received by the bank, imported from a CSV file
//! ([`crate::repayment_csv`], `docs/REPAYMENTS_CSV.md`) by the
//! `import-repayments` command and the console's import page alike: the
//! whole file is checked, then every repayment is stored in one write
//! transaction, or nothing if any line has a problem.
//!
//! Who may import for which accounts, as with the case import: the command
//! line (the server's operator) and an admin for the account of any case on
//! the server; a supervisor only for the accounts of their own team's cases
//! (another team's account is reported as `unknown_account`, so the answer
//! does not tell which accounts exist elsewhere); an agent not at all.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use doorstep_core::domain::{Repayment, UserId};
use doorstep_core::sync::protocol::Role;

use crate::admin::CsvImportError;
use crate::error::ServiceError;
use crate::repayment_csv::{self, Accounts, Problems};
use crate::store::{self, AuditRecord, Lock, Store, StoreError, StoreTx, UserRecord};

/// Who imports repayments.
#[derive(Debug, Clone, Copy)]
pub enum Importer<'a> {
    /// The server's command line: any account, audited without a user.
    CommandLine,
    /// A console user: an admin for any account, a supervisor for their
    /// team's accounts; an agent may not.
    User(&'a UserRecord),
}

impl Importer<'_> {
    /// The team whose accounts the importer may import for: `Some(team)` for
    /// a supervisor, `None` for any account; an agent is refused
    /// ([`ServiceError::ManagesNoCases`]).
    fn team(self) -> Result<Option<UserId>, ServiceError> {
        match self {
            Importer::CommandLine => Ok(None),
            Importer::User(user) => match user.role {
                Role::Supervisor => Ok(Some(user.id)),
                Role::Admin => Ok(None),
                Role::Agent => Err(ServiceError::ManagesNoCases),
            },
        }
    }

    fn user(self) -> Option<UserId> {
        match self {
            Importer::CommandLine => None,
            Importer::User(user) => Some(user.id),
        }
    }
}

/// What [`Accounts`] the importer has among `refs`: the accounts of the
/// cases it may import for, each with its cases' furthest-ahead UTC offset,
/// and the repayments stored for them.
fn accounts_in(
    tx: &dyn StoreTx,
    team: Option<UserId>,
    refs: &[String],
) -> Result<Accounts, StoreError> {
    let mut known: HashMap<String, i32> = HashMap::new();
    for record in tx.cases_of_accounts(refs)? {
        if team.is_some_and(|team| record.supervisor != Some(team)) {
            continue;
        }
        let offset = known
            .entry(record.case.external_ref.clone())
            .or_insert(record.case.utc_offset_minutes);
        *offset = (*offset).max(record.case.utc_offset_minutes);
    }
    let mut mine: Vec<String> = known.keys().cloned().collect();
    mine.sort_unstable();
    let stored = if mine.is_empty() {
        Vec::new()
    } else {
        tx.repayments(&mine)?
    };
    Ok(Accounts { known, stored })
}

/// Parses and checks the file inside `tx`: its repayments, or its problems.
fn checked_in(
    tx: &dyn StoreTx,
    team: Option<UserId>,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Result<Vec<Repayment>, Problems>, ServiceError> {
    let mut failure = None;
    let mut lookup = |refs: &[String]| match accounts_in(tx, team, refs) {
        Ok(accounts) => accounts,
        Err(e) => {
            failure.get_or_insert(e);
            Accounts::default()
        }
    };
    let parsed = repayment_csv::parse(bytes, now, &mut lookup);
    if let Some(e) = failure {
        return Err(e.into());
    }
    Ok(parsed.map(|rows| rows.into_iter().map(|(_, repayment)| repayment).collect()))
}

/// Checks a repayment CSV file as `importer` would import it at `now`,
/// without storing anything: the repayments it would import, or every
/// problem.
pub fn check_repayments_csv(
    store: &dyn Store,
    importer: Importer<'_>,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<Vec<Repayment>, CsvImportError> {
    let team = importer.team()?;
    store::read(store, |tx| checked_in(tx, team, bytes, now))?.map_err(CsvImportError::Problems)
}

/// Checks a repayment CSV file as [`check_repayments_csv`] does, then, in one
/// write transaction that checks it again (one import at a time), stores
/// every repayment, or nothing if any line has a problem. Audited as
/// `import_repayments` with the number imported (no accounts, days or
/// amounts). Returns that number.
pub fn import_repayments_csv(
    store: &dyn Store,
    importer: Importer<'_>,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<usize, CsvImportError> {
    let team = importer.team()?;
    // Problems are found without holding the writer...
    check_repayments_csv(store, importer, bytes, now)?;
    // ...and looked for again while holding it: another import may have
    // stored the same payments, or a case may have moved, meanwhile.
    let imported = store::write(store, |tx| {
        tx.lock(Lock::Repayments)?;
        let repayments = match checked_in(tx, team, bytes, now)? {
            Ok(repayments) => repayments,
            Err(problems) => return Ok(Err(problems)),
        };
        tx.insert_repayments(&repayments, now)?;
        tx.append_audit(&AuditRecord {
            at: now,
            user: importer.user(),
            device: None,
            action: "import_repayments".into(),
            target_kind: "repayments".into(),
            target_id: repayments.len().to_string(),
            code: None,
        })?;
        Ok::<_, ServiceError>(Ok(repayments.len()))
    })?;
    imported.map_err(CsvImportError::Problems)
}
