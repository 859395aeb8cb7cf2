//! Each visit's summary in the SQLite store: the fold of its admitted
//! entries as one row, so the console's lists read one row per visit.

use doorstep_core::domain::{UserId, Visit, VisitId};
use rusqlite::params;

use super::rows::{db, uuid_col};
use super::tx::SqliteTx;
use crate::store::{CaseRecord, SUMMARY_VERSION, StoreError, TeamVisit, VisitRecord};

/// Migration 9: the summaries table.
pub(super) const MIGRATION: &str = "
CREATE TABLE IF NOT EXISTS visit_summaries (
    visit_id TEXT PRIMARY KEY REFERENCES visits(id),
    version INTEGER NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL
);
";

impl SqliteTx<'_> {
    pub(super) fn summary_put(&self, visit: &Visit) -> Result<(), StoreError> {
        let body = serde_json::to_string(visit).map_err(|_| StoreError::Corrupt("visits"))?;
        self.exec(
            "INSERT INTO visit_summaries (visit_id, version, state, body)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (visit_id) DO UPDATE SET
                     version = excluded.version, state = excluded.state, body = excluded.body",
            params![
                visit.id.to_string(),
                SUMMARY_VERSION,
                visit.state.code(),
                body
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    pub(super) fn team_summaries(&self, supervisor: UserId) -> Result<Vec<TeamVisit>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT visits.id, cases.body, s.version, s.body FROM visits
                     JOIN cases ON cases.id = visits.case_id
                     LEFT JOIN visit_summaries AS s ON s.visit_id = visits.id
                     WHERE cases.supervisor_id = ?1",
            )
            .map_err(db)?;
        type Row = (String, String, Option<u32>, Option<String>);
        let rows = stmt
            .query_map([supervisor.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, case, version, summary): Row = row.map_err(db)?;
            let case: doorstep_core::domain::Case =
                serde_json::from_str(&case).map_err(|_| StoreError::Corrupt("cases"))?;
            let summary = match (version, summary) {
                (Some(SUMMARY_VERSION), Some(body)) => Some(
                    serde_json::from_str(&body)
                        .map_err(|_| StoreError::Corrupt("visit_summaries"))?,
                ),
                _ => None,
            };
            out.push(TeamVisit {
                record: VisitRecord {
                    id: uuid_col(&id, "visits")?,
                    case_id: case.id,
                },
                case: CaseRecord {
                    case,
                    supervisor: Some(supervisor),
                },
                summary,
            });
        }
        Ok(out)
    }

    pub(super) fn unsummarised(
        &self,
        after: Option<VisitId>,
        limit: u32,
    ) -> Result<Vec<VisitId>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT visits.id FROM visits
                     LEFT JOIN visit_summaries AS s ON s.visit_id = visits.id
                     WHERE (s.version IS NULL OR s.version <> ?1) AND visits.id > ?2
                     ORDER BY visits.id LIMIT ?3",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map(
                params![
                    SUMMARY_VERSION,
                    after.map(|id| id.to_string()).unwrap_or_default(),
                    limit
                ],
                |r| r.get::<_, String>(0),
            )
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(uuid_col(&row.map_err(db)?, "visits")?);
        }
        Ok(out)
    }
}
