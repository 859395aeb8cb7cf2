//! Reading the audit log of the SQLite store: the rows a query selects, a
//! page at a time and newest first, and how many there are. (Appending is
//! with the feed, in `feed`.)
//!
//! Times are kept as RFC 3339 text in UTC (`…+00:00`, as `audit_append`
//! writes them), which sorts as the instants do; the date bounds are
//! written the same way and compared as text.

use rusqlite::types::Value;

/// Schema version 12: what the audit page, the case page and a supervisor's
/// scope read the log through (who, about what, when), so that neither a
/// page nor its count scans the whole log.
pub(super) const MIGRATION: &str = "
CREATE INDEX IF NOT EXISTS audit_by_user ON audit (user_id, id);
CREATE INDEX IF NOT EXISTS audit_by_target ON audit (target_kind, target_id, id);
CREATE INDEX IF NOT EXISTS audit_by_time ON audit (at);
";

use super::rows::{db, opt_uuid, time_col};
use super::tx::SqliteTx;
use crate::store::{AuditQuery, AuditRecord, AuditRow, AuditScope, StoreError};

/// The `WHERE` clause of `query` (only the conditions it sets, so that an
/// index on a column it filters can serve it) and its parameters, numbered
/// from 1.
fn filter(query: &AuditQuery) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut params: Vec<Value> = Vec::new();
    let mut next = |value: Value| {
        params.push(value);
        format!("?{}", params.len())
    };
    if let AuditScope::Team(supervisor) = query.scope {
        let s = next(Value::Text(supervisor.to_string()));
        clauses.push(format!(
            "(user_id = {s}
              OR user_id IN (SELECT id FROM users WHERE supervisor_id = {s})
              OR (target_kind = 'visit' AND target_id IN
                  (SELECT visits.id FROM visits JOIN cases ON cases.id = visits.case_id
                   WHERE cases.supervisor_id = {s}))
              OR (target_kind = 'case' AND target_id IN
                  (SELECT id FROM cases WHERE supervisor_id = {s}))
              OR (target_kind = 'team' AND target_id = {s}))"
        ));
    }
    if !query.users.is_empty() {
        let users: Vec<String> = query
            .users
            .iter()
            .map(|user| next(Value::Text(user.to_string())))
            .collect();
        clauses.push(format!("user_id IN ({})", users.join(", ")));
    }
    match (query.actions.is_empty(), query.refused) {
        (true, false) => {}
        (true, true) => clauses.push("code IS NOT NULL".into()),
        (false, refused) => {
            let actions: Vec<String> = query
                .actions
                .iter()
                .map(|action| next(Value::Text(action.clone())))
                .collect();
            let also = if refused { " OR code IS NOT NULL" } else { "" };
            clauses.push(format!("(action IN ({}){also})", actions.join(", ")));
        }
    }
    if let Some(from) = query.from {
        let from = next(Value::Text(from.to_rfc3339()));
        clauses.push(format!("at >= {from}"));
    }
    if let Some(to) = query.to {
        let to = next(Value::Text(to.to_rfc3339()));
        clauses.push(format!("at < {to}"));
    }
    let clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    (clause, params)
}

impl SqliteTx<'_> {
    pub(super) fn audit_select(
        &self,
        query: &AuditQuery,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        let (clause, mut params) = filter(query);
        params.push(Value::Integer(i64::from(limit)));
        let limit_at = params.len();
        params.push(Value::Integer(i64::try_from(offset).unwrap_or(i64::MAX)));
        let sql = format!(
            "SELECT id, at, user_id, device_id, action, target_kind, target_id, code FROM audit
             {clause} ORDER BY id DESC LIMIT ?{limit_at} OFFSET ?{}",
            limit_at + 1
        );
        let mut stmt = self.0.prepare_cached(&sql).map_err(db)?;
        type Row = (
            i64,
            String,
            Option<String>,
            Option<String>,
            String,
            String,
            String,
            Option<String>,
        );
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                ))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (id, at, user, device, action, target_kind, target_id, code): Row =
                row.map_err(db)?;
            out.push(AuditRow {
                id: u64::try_from(id).map_err(|_| StoreError::Corrupt("audit"))?,
                record: AuditRecord {
                    at: time_col(&at, "audit")?,
                    user: opt_uuid(user, "audit")?,
                    device: opt_uuid(device, "audit")?,
                    action,
                    target_kind,
                    target_id,
                    code,
                },
            });
        }
        Ok(out)
    }

    pub(super) fn audit_total(&self, query: &AuditQuery) -> Result<u64, StoreError> {
        let (clause, params) = filter(query);
        let sql = format!("SELECT count(*) FROM audit {clause}");
        let count: i64 = self
            .row(&sql, rusqlite::params_from_iter(params), |r| r.get(0))
            .map_err(db)?;
        u64::try_from(count).map_err(|_| StoreError::Corrupt("audit"))
    }
}
