//! The bank's decisions on cases and the repayments received, in the
//! PostgreSQL store.

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::{CaseDecision, CaseId, Repayment};
use doorstep_core::money::Money;

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{CaseRecord, StoreError};

/// Migration to schema version 11: decisions on cases (append-only, like the
/// audit log) and repayments by account. Idempotent, like every migration here.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS case_decisions (
    id uuid PRIMARY KEY, case_id uuid NOT NULL, decided_at timestamptz NOT NULL, body text NOT NULL
);
CREATE INDEX IF NOT EXISTS case_decisions_by_case ON case_decisions (case_id, decided_at);
CREATE OR REPLACE FUNCTION case_decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case decisions are append-only';
END
$$;
DROP TRIGGER IF EXISTS case_decisions_no_update_delete ON case_decisions;
CREATE TRIGGER case_decisions_no_update_delete BEFORE UPDATE OR DELETE ON case_decisions
    FOR EACH ROW EXECUTE FUNCTION case_decisions_append_only();
CREATE TABLE IF NOT EXISTS repayments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, account_ref text NOT NULL,
    paid_on date NOT NULL, minor_units bigint NOT NULL, currency text NOT NULL,
    imported_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS repayments_by_account ON repayments (account_ref, paid_on);
";

const DECISIONS: &str = "case_decisions";

impl PgTx<'_> {
    pub(super) fn decision_insert(&self, decision: &CaseDecision) -> Result<(), StoreError> {
        let body = serde_json::to_string(decision).map_err(|_| StoreError::Corrupt(DECISIONS))?;
        self.exec(
            "INSERT INTO case_decisions (id, case_id, decided_at, body) VALUES ($1, $2, $3, $4)",
            &[&decision.id, &decision.case_id, &decision.decided_at, &body],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn decisions_of(&self, case: CaseId) -> Result<Vec<CaseDecision>, StoreError> {
        self.query(
            "SELECT body FROM case_decisions WHERE case_id = $1 ORDER BY decided_at, id",
            &[&case],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            serde_json::from_str(col(row, 0, DECISIONS)?)
                .map_err(|_| StoreError::Corrupt(DECISIONS))
        })
        .collect()
    }

    pub(super) fn repayments_insert(
        &self,
        repayments: &[Repayment],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let accounts: Vec<&str> = repayments.iter().map(|r| r.account_ref.as_str()).collect();
        let days: Vec<NaiveDate> = repayments.iter().map(|r| r.paid_on).collect();
        let amounts: Vec<i64> = repayments.iter().map(|r| r.amount.minor_units).collect();
        let currencies: Vec<&str> = repayments
            .iter()
            .map(|r| r.amount.currency.as_str())
            .collect();
        self.exec(
            "INSERT INTO repayments (account_ref, paid_on, minor_units, currency, imported_at)
             SELECT a, d, m, c, $5 FROM UNNEST($1::text[], $2::date[], $3::bigint[], $4::text[])
                 AS t(a, d, m, c)",
            &[&accounts, &days, &amounts, &currencies, &at],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn repayments_of(&self, accounts: &[String]) -> Result<Vec<Repayment>, StoreError> {
        const TABLE: &str = "repayments";
        self.query(
            "SELECT account_ref, paid_on, minor_units, currency FROM repayments
             WHERE account_ref = ANY($1) ORDER BY paid_on, id",
            &[&accounts],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            Ok(Repayment {
                account_ref: col(row, 0, TABLE)?,
                paid_on: col(row, 1, TABLE)?,
                amount: Money {
                    minor_units: col(row, 2, TABLE)?,
                    currency: col(row, 3, TABLE)?,
                },
            })
        })
        .collect()
    }

    pub(super) fn account_cases(&self, accounts: &[String]) -> Result<Vec<CaseRecord>, StoreError> {
        self.query(
            "SELECT body, supervisor_id FROM cases
             WHERE (body::json ->> 'external_ref') = ANY($1) ORDER BY id",
            &[&accounts],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let body: &str = col(row, 0, "cases")?;
            Ok(CaseRecord {
                case: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: col(row, 1, "cases")?,
            })
        })
        .collect()
    }
}
