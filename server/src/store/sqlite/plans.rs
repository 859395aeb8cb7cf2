//! The bank's decisions on cases and the repayments received, in the SQLite
//! store.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::{CaseDecision, CaseId, Repayment};
use doorstep_core::money::Money;
use rusqlite::params;

use super::rows::{db, opt_uuid};
use super::tx::SqliteTx;
use crate::store::{CaseRecord, StoreError};

/// Migration to schema version 11: decisions on cases (append-only, like the
/// audit log) and repayments by account.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS case_decisions (
    id TEXT PRIMARY KEY, case_id TEXT NOT NULL, decided_at TEXT NOT NULL, body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS case_decisions_by_case ON case_decisions (case_id, decided_at);
CREATE TRIGGER IF NOT EXISTS case_decisions_append_only_update BEFORE UPDATE ON case_decisions
    BEGIN SELECT RAISE(ABORT, 'case decisions are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_decisions_append_only_delete BEFORE DELETE ON case_decisions
    BEGIN SELECT RAISE(ABORT, 'case decisions are append-only'); END;
CREATE TABLE IF NOT EXISTS repayments (
    id INTEGER PRIMARY KEY AUTOINCREMENT, account_ref TEXT NOT NULL, paid_on TEXT NOT NULL,
    minor_units INTEGER NOT NULL, currency TEXT NOT NULL, imported_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_by_account ON repayments (account_ref, paid_on);
";

const DECISIONS: &str = "case_decisions";
const REPAYMENTS: &str = "repayments";

impl SqliteTx<'_> {
    pub(super) fn decision_insert(&self, decision: &CaseDecision) -> Result<(), StoreError> {
        let body = serde_json::to_string(decision).map_err(|_| StoreError::Corrupt(DECISIONS))?;
        self.exec(
            "INSERT INTO case_decisions (id, case_id, decided_at, body) VALUES (?1, ?2, ?3, ?4)",
            params![
                decision.id.to_string(),
                decision.case_id.to_string(),
                decision.decided_at.to_rfc3339(),
                body
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn decisions_of(&self, case: CaseId) -> Result<Vec<CaseDecision>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT body FROM case_decisions WHERE case_id = ?1 ORDER BY decided_at, id",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([case.to_string()], |r| r.get::<_, String>(0))
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(
                serde_json::from_str(&row.map_err(db)?)
                    .map_err(|_| StoreError::Corrupt(DECISIONS))?,
            );
        }
        Ok(out)
    }

    pub(super) fn repayments_insert(
        &self,
        repayments: &[Repayment],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "INSERT INTO repayments (account_ref, paid_on, minor_units, currency, imported_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(db)?;
        for r in repayments {
            stmt.execute(params![
                r.account_ref,
                r.paid_on.to_string(),
                r.amount.minor_units,
                r.amount.currency,
                at.to_rfc3339()
            ])
            .map_err(db)?;
        }
        Ok(())
    }

    pub(super) fn repayments_of(&self, accounts: &[String]) -> Result<Vec<Repayment>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT account_ref, paid_on, minor_units, currency FROM repayments
                 WHERE account_ref IN (SELECT value FROM json_each(?1)) ORDER BY paid_on, id",
            )
            .map_err(db)?;
        let wanted =
            serde_json::to_string(accounts).map_err(|_| StoreError::Corrupt(REPAYMENTS))?;
        let rows = stmt
            .query_map([wanted], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (account_ref, paid_on, minor_units, currency) = row.map_err(db)?;
            out.push(Repayment {
                account_ref,
                paid_on: paid_on
                    .parse::<NaiveDate>()
                    .map_err(|_| StoreError::Corrupt(REPAYMENTS))?,
                amount: Money {
                    minor_units,
                    currency,
                },
            });
        }
        Ok(out)
    }

    pub(super) fn account_cases(&self, accounts: &[String]) -> Result<Vec<CaseRecord>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT body, supervisor_id FROM cases
                 WHERE json_extract(body, '$.external_ref') IN (SELECT value FROM json_each(?1))
                 ORDER BY id",
            )
            .map_err(db)?;
        let wanted = serde_json::to_string(accounts).map_err(|_| StoreError::Corrupt("cases"))?;
        let rows = stmt
            .query_map([wanted], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (body, supervisor) = row.map_err(db)?;
            out.push(CaseRecord {
                case: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: opt_uuid(supervisor, "cases")?,
            });
        }
        Ok(out)
    }
}
