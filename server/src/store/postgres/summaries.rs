//! Each visit's summary in the PostgreSQL store: the fold of its admitted
//! entries as one row, so the console's lists read one row per visit.

use doorstep_core::domain::{Case, UserId, Visit, VisitId};

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{CaseRecord, SUMMARY_VERSION, StoreError, TeamVisit, VisitRecord};

/// Migration to schema version 9: the summaries table (idempotent, like every
/// migration here).
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS visit_summaries (
    visit_id uuid PRIMARY KEY REFERENCES visits(id),
    version bigint NOT NULL,
    state text NOT NULL,
    body text NOT NULL
);
";

impl PgTx<'_> {
    pub(super) fn summary_put(&self, visit: &Visit) -> Result<(), StoreError> {
        let body = serde_json::to_string(visit).map_err(|_| StoreError::Corrupt("visits"))?;
        self.exec(
            "INSERT INTO visit_summaries (visit_id, version, state, body)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (visit_id) DO UPDATE SET
                     version = excluded.version, state = excluded.state, body = excluded.body",
            &[
                &visit.id,
                &i64::from(SUMMARY_VERSION),
                &visit.state.code(),
                &body,
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn team_summaries(&self, supervisor: UserId) -> Result<Vec<TeamVisit>, StoreError> {
        self.query(
            "SELECT visits.id, cases.body, s.version, s.body FROM visits
                 JOIN cases ON cases.id = visits.case_id
                 LEFT JOIN visit_summaries AS s ON s.visit_id = visits.id
                 WHERE cases.supervisor_id = $1",
            &[&supervisor],
        )
        .map_err(db)?
        .iter()
        .map(|row| {
            let case: &str = col(row, 1, "cases")?;
            let case: Case =
                serde_json::from_str(case).map_err(|_| StoreError::Corrupt("cases"))?;
            let version: Option<i64> = col(row, 2, "visit_summaries")?;
            let body: Option<&str> = col(row, 3, "visit_summaries")?;
            let summary = match (version, body) {
                (Some(version), Some(body)) if version == i64::from(SUMMARY_VERSION) => Some(
                    serde_json::from_str(body)
                        .map_err(|_| StoreError::Corrupt("visit_summaries"))?,
                ),
                _ => None,
            };
            Ok(TeamVisit {
                record: VisitRecord {
                    id: col(row, 0, "visits")?,
                    case_id: case.id,
                },
                case: CaseRecord {
                    case,
                    supervisor: Some(supervisor),
                },
                summary,
            })
        })
        .collect()
    }

    pub(super) fn unsummarised(
        &self,
        after: Option<VisitId>,
        limit: u32,
    ) -> Result<Vec<VisitId>, StoreError> {
        self.query(
            "SELECT visits.id FROM visits
                 LEFT JOIN visit_summaries AS s ON s.visit_id = visits.id
                 WHERE s.version IS DISTINCT FROM $1 AND visits.id > $2
                 ORDER BY visits.id LIMIT $3",
            &[
                &i64::from(SUMMARY_VERSION),
                &after.unwrap_or(VisitId::nil()),
                &i64::from(limit),
            ],
        )
        .map_err(db)?
        .iter()
        .map(|row| col(row, 0, "visits"))
        .collect()
    }
}
