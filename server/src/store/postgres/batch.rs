//! The operations of the PostgreSQL store on many rows at once, for a push:
//! the outcomes of all its op ids in one query (`= ANY`), and its entries,
//! op outcomes and audit rows each stored with one `INSERT … SELECT FROM
//! UNNEST` (one array per column). Each is one round trip however many rows
//! it carries; the results are those of the single-row operations run in
//! turn.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use doorstep_core::sync::protocol::RejectCode;
use uuid::Uuid;

use super::rows::{col, opt_reject, seq_param};
use super::tx::PgTx;
use super::{conflict, db};
use crate::store::{AuditRecord, OpRecord, StoreError, StoredEntry};

impl PgTx<'_> {
    pub(super) fn op_outcomes_of(
        &self,
        op_ids: &[Uuid],
    ) -> Result<Vec<Option<Option<RejectCode>>>, StoreError> {
        if op_ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows = self
            .query(
                "SELECT op_id, rejected FROM applied_ops WHERE op_id = ANY($1::uuid[])",
                &[&op_ids],
            )
            .map_err(db)?;
        let mut found = HashMap::with_capacity(rows.len());
        for row in &rows {
            let op_id: Uuid = col(row, 0, "applied_ops")?;
            found.insert(
                op_id,
                opt_reject(col(row, 1, "applied_ops")?, "applied_ops")?,
            );
        }
        Ok(op_ids
            .iter()
            .map(|op_id| found.get(op_id).copied())
            .collect())
    }

    pub(super) fn entries_insert(&self, entries: &[StoredEntry]) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let n = entries.len();
        let mut visit_id = Vec::with_capacity(n);
        let mut author = Vec::with_capacity(n);
        let mut seq = Vec::with_capacity(n);
        let mut op_id = Vec::with_capacity(n);
        let mut body = Vec::with_capacity(n);
        let mut rejected = Vec::with_capacity(n);
        let mut reassigned = Vec::with_capacity(n);
        for stored in entries {
            let entry = &stored.entry;
            visit_id.push(entry.visit_id);
            author.push(entry.author);
            seq.push(seq_param(entry.seq, "visit_entries")?);
            op_id.push(entry.op_id);
            body.push(
                serde_json::to_string(entry).map_err(|_| StoreError::Corrupt("visit_entries"))?,
            );
            rejected.push(stored.rejected.map(RejectCode::code));
            reassigned.push(stored.reassigned);
        }
        self.exec(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::bigint[], $4::uuid[],
                                      $5::text[], $6::text[], $7::boolean[])",
            &[
                &visit_id,
                &author,
                &seq,
                &op_id,
                &body,
                &rejected,
                &reassigned,
            ],
        )
        .map_err(|e| conflict(e, "visit entry"))?;
        Ok(())
    }

    pub(super) fn ops_record(&self, ops: &[OpRecord]) -> Result<(), StoreError> {
        if ops.is_empty() {
            return Ok(());
        }
        let op_id: Vec<Uuid> = ops.iter().map(|op| op.op_id).collect();
        let device: Vec<Uuid> = ops.iter().map(|op| op.device).collect();
        let rejected: Vec<Option<&str>> = ops
            .iter()
            .map(|op| op.rejected.map(RejectCode::code))
            .collect();
        self.exec(
            "INSERT INTO applied_ops (op_id, device_id, rejected)
                 SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[])",
            &[&op_id, &device, &rejected],
        )
        .map_err(|e| conflict(e, "op"))?;
        Ok(())
    }

    /// Appends `records` in order: the rows are inserted by their position
    /// in the arrays, so their ids (the log's order) follow it.
    pub(super) fn audits_append(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let at: Vec<DateTime<Utc>> = records.iter().map(|r| r.at).collect();
        let user: Vec<Option<Uuid>> = records.iter().map(|r| r.user).collect();
        let device: Vec<Option<Uuid>> = records.iter().map(|r| r.device).collect();
        let action: Vec<&str> = records.iter().map(|r| r.action.as_str()).collect();
        let target_kind: Vec<&str> = records.iter().map(|r| r.target_kind.as_str()).collect();
        let target_id: Vec<&str> = records.iter().map(|r| r.target_id.as_str()).collect();
        let code: Vec<Option<&str>> = records.iter().map(|r| r.code.as_deref()).collect();
        self.exec(
            "INSERT INTO audit (at, user_id, device_id, action, target_kind, target_id, code)
                 SELECT at, u, d, a, k, t, c
                 FROM UNNEST($1::timestamptz[], $2::uuid[], $3::uuid[], $4::text[], $5::text[],
                             $6::text[], $7::text[]) WITH ORDINALITY AS r(at, u, d, a, k, t, c, i)
                 ORDER BY i",
            &[
                &at,
                &user,
                &device,
                &action,
                &target_kind,
                &target_id,
                &code,
            ],
        )
        .map_err(db)?;
        Ok(())
    }
}
