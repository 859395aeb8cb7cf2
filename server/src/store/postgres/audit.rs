//! Reading the audit log of the PostgreSQL store: the rows a query selects,
//! a page at a time and newest first, and how many there are. (Appending is
//! with the feed, in `feed`, and for many rows at once in `batch`.)

use chrono::{DateTime, Utc};
use postgres::types::ToSql;

/// Schema version 12: what the audit page, the case page and a supervisor's
/// scope read the log through (who, about what, when), so that neither a
/// page nor its count scans the whole log.
pub(super) const MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, id);
CREATE INDEX IF NOT EXISTS audit_by_target ON audit (target_kind, target_id, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
";

use super::db;
use super::rows::col;
use super::tx::PgTx;
use crate::store::{AuditQuery, AuditRecord, AuditRow, AuditScope, StoreError};

/// The parameters of a built statement, numbered from 1 in the order given.
#[derive(Default)]
struct Params(Vec<Box<dyn ToSql + Sync>>);

impl Params {
    /// Adds a parameter; its placeholder.
    fn next(&mut self, value: impl ToSql + Sync + 'static) -> String {
        self.0.push(Box::new(value));
        format!("${}", self.0.len())
    }

    fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.0
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

/// The `WHERE` clause of `query` (only the conditions it sets, so that an
/// index on a column it filters can serve it) and its parameters.
fn filter(query: &AuditQuery) -> (String, Params) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params = Params::default();
    if let AuditScope::Team(supervisor) = query.scope {
        let s = params.next(supervisor);
        let text = params.next(supervisor.to_string());
        clauses.push(format!(
            "(user_id = {s}
              OR user_id IN (SELECT id FROM users WHERE supervisor_id = {s})
              OR (target_kind = 'visit' AND target_id IN
                  (SELECT visits.id::text FROM visits JOIN cases ON cases.id = visits.case_id
                   WHERE cases.supervisor_id = {s}))
              OR (target_kind = 'case' AND target_id IN
                  (SELECT id::text FROM cases WHERE supervisor_id = {s}))
              OR (target_kind = 'team' AND target_id = {text}))"
        ));
    }
    if !query.users.is_empty() {
        let users = params.next(query.users.clone());
        clauses.push(format!("user_id = ANY({users})"));
    }
    match (query.actions.is_empty(), query.refused) {
        (true, false) => {}
        (true, true) => clauses.push("code IS NOT NULL".into()),
        (false, refused) => {
            let actions = params.next(query.actions.clone());
            let also = if refused { " OR code IS NOT NULL" } else { "" };
            clauses.push(format!("(action = ANY({actions}){also})"));
        }
    }
    if let Some(from) = query.from {
        let from = params.next(from);
        clauses.push(format!("at >= {from}"));
    }
    if let Some(to) = query.to {
        let to = params.next(to);
        clauses.push(format!("at < {to}"));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, params)
}

impl PgTx<'_> {
    pub(super) fn audit_select(
        &self,
        query: &AuditQuery,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let (clause, mut params) = filter(query);
        let limit = params.next(i64::from(limit));
        let offset = params.next(i64::try_from(offset).unwrap_or(i64::MAX));
        let sql = format!(
            "SELECT id, at, user_id, device_id, action, target_kind, target_id, code FROM audit
             {clause} ORDER BY id DESC LIMIT {limit} OFFSET {offset}"
        );
        let rows = self.query_built(&sql, &params.refs()).map_err(db)?;
        rows.iter()
            .map(|row| {
                let id: i64 = col(row, 0, "audit")?;
                let at: DateTime<Utc> = col(row, 1, "audit")?;
                Ok(AuditRow {
                    id: u64::try_from(id).map_err(|_| StoreError::Corrupt("audit"))?,
                    record: AuditRecord {
                        at,
                        user: col(row, 2, "audit")?,
                        device: col(row, 3, "audit")?,
                        action: col(row, 4, "audit")?,
                        target_kind: col(row, 5, "audit")?,
                        target_id: col(row, 6, "audit")?,
                        code: col(row, 7, "audit")?,
                    },
                })
            })
            .collect()
    }

    pub(super) fn audit_total(&self, query: &AuditQuery) -> Result<u64, StoreError> {
        let (clause, params) = filter(query);
        let sql = format!("SELECT count(*) FROM audit {clause}");
        let rows = self.query_built(&sql, &params.refs()).map_err(db)?;
        let count: i64 = match rows.first() {
            Some(row) => col(row, 0, "audit")?,
            None => 0,
        };
        u64::try_from(count).map_err(|_| StoreError::Corrupt("audit"))
    }
}
