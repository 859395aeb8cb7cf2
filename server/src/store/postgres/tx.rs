//! The transactions of the PostgreSQL store: how one is started and
//! committed ([`transact`]), and [`PgTx`], the [`StoreTx`] of one
//! transaction, each operation one prepared statement (or a few).

use std::cell::RefCell;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{CaseDecision, CaseId, DeviceId, Repayment, UserId, Visit, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::PublishedPolicy;
use doorstep_core::sync::protocol::RejectCode;
use postgres::types::ToSql;
use postgres::{IsolationLevel, Row, Statement, Transaction};
use uuid::Uuid;

use super::rows::{col, opt_reject, seq_param, stored_entry, user_from};
use super::{conflict, db, pool};
use crate::store::{
    AssignmentRecord, AttachmentRef, AuditQuery, AuditRecord, AuditRow, CaseRecord, ChainBreak,
    ChainCheck, ConsoleSessionRecord, DeviceActivity, DeviceMark, DeviceRecord, DeviceSync,
    FeedItem, FeedReader, Lock, OpRecord, QuarantinedEntry, RefreshRecord, SignInAttempt,
    StoreError, StoreTx, StoredEntry, TeamVisit, TokenRecord, UserRecord, VisitRecord,
};

/// Runs `f` in one transaction on `conn` (read only, or writable) and commits
/// it when `f` returns `Ok`, after storing the feed rows it appended;
/// anything else rolls it back (dropping the transaction does).
pub(super) fn transact(
    conn: &mut pool::Conn,
    writable: bool,
    waits: &crate::store::LockWaits,
    f: &mut dyn FnMut(&dyn StoreTx) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let pool::Conn { client, statements } = conn;
    let tx = if writable {
        client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(db)?
    } else {
        client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(db)?
    };
    let pg = PgTx {
        tx: RefCell::new(tx),
        statements: RefCell::new(statements),
        feed: RefCell::new(Vec::new()),
        waits,
    };
    f(&pg)?;
    // The feed's sequence numbers are taken last, just before the commit, so
    // the counter's row lock is held for the commit only.
    pg.flush_feed()?;
    pg.tx.into_inner().commit().map_err(db)
}

/// The advisory lock key of `what`: a kind tag and the id, hashed to 64 bits
/// (a collision only makes two unrelated writers wait for each other).
fn lock_key(what: Lock<'_>) -> i64 {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    match what {
        Lock::Visit(id) => {
            hash.update(b"visit");
            hash.update(id.as_bytes());
        }
        Lock::Case(id) => {
            hash.update(b"case");
            hash.update(id.as_bytes());
        }
        Lock::Device(id) => {
            hash.update(b"device");
            hash.update(id.as_bytes());
        }
        Lock::SignIn(key) => {
            hash.update(b"sign-in");
            hash.update(key.as_bytes());
        }
        Lock::Repayments => hash.update(b"repayments"),
        Lock::Templates => hash.update(b"templates"),
    }
    let digest = hash.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

/// One transaction of the store, handed to the service as its [`StoreTx`].
pub(super) struct PgTx<'a> {
    tx: RefCell<Transaction<'a>>,
    statements: RefCell<&'a mut HashMap<&'static str, Statement>>,
    /// Feed rows appended, numbered and stored when the transaction commits.
    pub(super) feed: RefCell<Vec<FeedItem>>,
    /// The store's count of lock waits.
    waits: &'a crate::store::LockWaits,
}

impl PgTx<'_> {
    /// The statement for `sql`, prepared once per connection.
    fn prepared(&self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = self.tx.borrow_mut().prepare(sql)?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    pub(super) fn exec(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().execute(&statement, params)
    }

    pub(super) fn query(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().query(&statement, params)
    }

    pub(super) fn query_opt(
        &self,
        sql: &'static str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.prepared(sql)?;
        self.tx.borrow_mut().query_opt(&statement, params)
    }

    /// Runs a query whose text is built at run time (the shape of a filter):
    /// prepared for this call only, not kept on the connection.
    pub(super) fn query_built(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.tx.borrow_mut().query(sql, params)
    }
}

impl StoreTx for PgTx<'_> {
    fn lock(&self, what: Lock<'_>) -> Result<(), StoreError> {
        // Taken at once when free (one round trip, as before); when another
        // transaction holds it, waited for and the wait counted.
        let key = lock_key(what);
        let free = self
            .query_opt("SELECT pg_try_advisory_xact_lock($1)", &[&key])
            .map_err(db)?
            .map(|row| row.try_get::<_, bool>(0))
            .transpose()
            .map_err(db)?
            .unwrap_or(false);
        if free {
            self.waits.record(None);
            return Ok(());
        }
        // A wait the lock timeout ends is counted too, then refused.
        let started = std::time::Instant::now();
        let taken = self.exec("SELECT pg_advisory_xact_lock($1)", &[&key]);
        self.waits.record(Some(started.elapsed()));
        taken.map_err(db)?;
        Ok(())
    }

    fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id, active)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                &user.id,
                &user.username,
                &user.password_hash,
                &user.role.code(),
                &user.supervisor,
                &user.active,
            ],
        )
        .map_err(|e| conflict(e, "user"))?;
        Ok(())
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        if username.contains('\0') {
            // No stored name holds one (PostgreSQL cannot), so nobody has it,
            // as SQLite answers.
            return Ok(None);
        }
        self.query_opt(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users WHERE username = $1",
            &[&username],
        )
        .map_err(db)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        self.query_opt(
            "SELECT id, username, password_hash, role, supervisor_id, active FROM users WHERE id = $1",
            &[&id],
        )
        .map_err(db)?
        .as_ref()
        .map(user_from)
        .transpose()
    }

    fn insert_device(&self, device: &DeviceRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO devices (id, user_id, active) VALUES ($1, $2, $3)",
            &[&device.id, &device.user, &device.active],
        )
        .map_err(|e| conflict(e, "device"))?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        self.query_opt("SELECT user_id, active FROM devices WHERE id = $1", &[&id])
            .map_err(db)?
            .map(|row| {
                Ok(DeviceRecord {
                    id,
                    user: col(&row, 0, "devices")?,
                    active: col(&row, 1, "devices")?,
                })
            })
            .transpose()
    }

    fn set_device_active(&self, id: DeviceId, active: bool) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE devices SET active = $2 WHERE id = $1",
                &[&id, &active],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn mark_device(
        &self,
        id: DeviceId,
        mark: DeviceMark,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.device_mark(id, mark, at)
    }

    fn note_device_sync(
        &self,
        id: DeviceId,
        sync: DeviceSync,
        at: DateTime<Utc>,
        protocol: Option<u32>,
        app_version: Option<&str>,
    ) -> Result<(), StoreError> {
        self.device_sync(id, sync, at, protocol, app_version)
    }

    fn device_activities(&self, user: Option<UserId>) -> Result<Vec<DeviceActivity>, StoreError> {
        self.device_activities_of(user)
    }

    fn users(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.users_all()
    }

    fn set_user_active(&self, id: UserId, active: bool) -> Result<bool, StoreError> {
        self.user_active_set(id, active)
    }

    fn set_user_password(&self, id: UserId, password_hash: &str) -> Result<bool, StoreError> {
        self.user_password_set(id, password_hash)
    }

    fn set_user_supervisor(
        &self,
        id: UserId,
        supervisor: Option<UserId>,
    ) -> Result<bool, StoreError> {
        self.user_supervisor_set(id, supervisor)
    }

    fn revoke_user_tokens(&self, user: UserId) -> Result<u64, StoreError> {
        self.user_tokens_revoke(user)
    }

    fn end_user_console_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        self.user_sessions_end(user)
    }

    fn primary_cases(&self, agent: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        self.primary_cases_of(agent)
    }

    fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO tokens (token_sha256, device_id, user_id, expires_at, revoked)
                 VALUES ($1, $2, $3, $4, $5)",
            &[
                &token.token_sha256,
                &token.device,
                &token.user,
                &token.expires_at,
                &token.revoked,
            ],
        )
        .map_err(|e| conflict(e, "token"))?;
        Ok(())
    }

    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        self.query_opt(
            "SELECT device_id, user_id, expires_at, revoked FROM tokens WHERE token_sha256 = $1",
            &[&token_sha256],
        )
        .map_err(db)?
        .map(|row| {
            let expires_at: DateTime<Utc> = col(&row, 2, "tokens")?;
            Ok(TokenRecord {
                token_sha256: token_sha256.to_owned(),
                device: col(&row, 0, "tokens")?,
                user: col(&row, 1, "tokens")?,
                expires_at,
                revoked: col(&row, 3, "tokens")?,
            })
        })
        .transpose()
    }

    fn revoke_token(&self, token_sha256: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE tokens SET revoked = true WHERE token_sha256 = $1",
                &[&token_sha256],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn revoke_device_tokens(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.tokens_revoke_device(device)
    }

    fn insert_refresh(&self, credential: &RefreshRecord) -> Result<(), StoreError> {
        self.refresh_insert(credential)
    }

    fn refresh(&self, credential_sha256: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.refresh_get(credential_sha256)
    }

    fn replace_refresh(&self, credential_sha256: &str, by: &str) -> Result<bool, StoreError> {
        self.refresh_replace(credential_sha256, by)
    }

    fn revoke_refresh(&self, credential_sha256: &str) -> Result<bool, StoreError> {
        self.refresh_revoke(credential_sha256)
    }

    fn revoke_device_refresh(&self, device: DeviceId) -> Result<u64, StoreError> {
        self.refresh_revoke_device(device)
    }

    fn revoke_user_refresh(&self, user: UserId) -> Result<u64, StoreError> {
        self.refresh_revoke_user(user)
    }

    fn upsert_case(&self, record: &CaseRecord) -> Result<(), StoreError> {
        let case = &record.case;
        let body = serde_json::to_string(case).map_err(|_| StoreError::Corrupt("cases"))?;
        self.exec(
            "INSERT INTO cases (id, body, primary_agent, partner, supervisor_id)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (id) DO UPDATE SET body = $2, primary_agent = $3, partner = $4,
                     supervisor_id = $5",
            &[
                &case.id,
                &body,
                &case.assigned.primary,
                &case.assigned.partner,
                &record.supervisor,
            ],
        )
        .map_err(db)?;
        for agent in std::iter::once(case.assigned.primary).chain(case.assigned.partner) {
            self.exec(
                "INSERT INTO case_agents_ever (case_id, user_id) VALUES ($1, $2)
                     ON CONFLICT DO NOTHING",
                &[&case.id, &agent],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    fn case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError> {
        self.query_opt(
            "SELECT body, supervisor_id FROM cases WHERE id = $1",
            &[&id],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "cases")?;
            Ok(CaseRecord {
                case: serde_json::from_str(body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: col(&row, 1, "cases")?,
            })
        })
        .transpose()
    }

    fn was_assigned(&self, case: CaseId, user: UserId) -> Result<bool, StoreError> {
        let row = self
            .query_opt(
                "SELECT 1 FROM case_agents_ever WHERE case_id = $1 AND user_id = $2",
                &[&case, &user],
            )
            .map_err(db)?;
        Ok(row.is_some())
    }

    fn insert_template(&self, template: &ChecklistTemplate) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT INTO templates (key, version, body) VALUES ($1, $2, $3)
                     ON CONFLICT DO NOTHING",
                &[
                    &template.key(),
                    &i64::from(template.version()),
                    &template.to_json(),
                ],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    fn template_versions(&self) -> Result<Vec<crate::store::TemplateVersion>, StoreError> {
        self.template_list()
    }

    fn retire_template(
        &self,
        key: &str,
        version: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.template_retire(key, version, at)
    }

    fn template_retired_at(
        &self,
        key: &str,
        version: u32,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.template_retirement(key, version)
    }

    fn template(&self, key: &str, version: u32) -> Result<Option<ChecklistTemplate>, StoreError> {
        if key.contains('\0') {
            // No stored key holds one: no such template, as SQLite answers.
            return Ok(None);
        }
        self.query_opt(
            "SELECT body FROM templates WHERE key = $1 AND version = $2",
            &[&key, &i64::from(version)],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "templates")?;
            ChecklistTemplate::from_json(body).map_err(|_| StoreError::Corrupt("templates"))
        })
        .transpose()
    }

    fn insert_visit(&self, visit: &VisitRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO visits (id, case_id) VALUES ($1, $2)",
            &[&visit.id, &visit.case_id],
        )
        .map_err(|e| conflict(e, "visit"))?;
        Ok(())
    }

    fn visit(&self, id: VisitId) -> Result<Option<VisitRecord>, StoreError> {
        self.query_opt("SELECT case_id FROM visits WHERE id = $1", &[&id])
            .map_err(db)?
            .map(|row| {
                Ok(VisitRecord {
                    id,
                    case_id: col(&row, 0, "visits")?,
                })
            })
            .transpose()
    }

    fn set_chain_check(&self, visit: VisitId, check: &ChainCheck) -> Result<(), StoreError> {
        let broken = check.broken.as_ref();
        let seq = broken
            .and_then(|b| b.seq)
            .map(|seq| seq_param(seq, "visits"))
            .transpose()?;
        let entries = seq_param(check.entries, "visits")?;
        self.exec(
            "UPDATE visits SET chain_checked_at = $2, chain_entries = $3, chain_broken_author = $4,
                 chain_broken_seq = $5, chain_broken_reason = $6 WHERE id = $1",
            &[
                &visit,
                &check.checked_at,
                &entries,
                &broken.map(|b| b.author),
                &seq,
                &broken.map(|b| b.reason.code()),
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn chain_check(&self, visit: VisitId) -> Result<Option<ChainCheck>, StoreError> {
        let Some(row) = self
            .query_opt(
                "SELECT chain_checked_at, chain_entries, chain_broken_author, chain_broken_seq,
                     chain_broken_reason FROM visits WHERE id = $1",
                &[&visit],
            )
            .map_err(db)?
        else {
            return Ok(None);
        };
        let Some(checked_at) = col::<Option<DateTime<Utc>>>(&row, 0, "visits")? else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt("visits");
        let entries: Option<i64> = col(&row, 1, "visits")?;
        let author: Option<Uuid> = col(&row, 2, "visits")?;
        let seq: Option<i64> = col(&row, 3, "visits")?;
        let reason: Option<&str> = col(&row, 4, "visits")?;
        let broken = match (author, reason) {
            (Some(author), Some(reason)) => Some(ChainBreak {
                author,
                seq: seq
                    .map(|s| u64::try_from(s).map_err(|_| corrupt()))
                    .transpose()?,
                reason: doorstep_core::event_log::BreakReason::from_code(reason)
                    .ok_or_else(corrupt)?,
            }),
            (None, None) => None,
            _ => return Err(corrupt()),
        };
        Ok(Some(ChainCheck {
            checked_at,
            entries: u64::try_from(entries.ok_or_else(corrupt)?).map_err(|_| corrupt())?,
            broken,
        }))
    }

    fn visit_entries(&self, visit: VisitId) -> Result<Vec<StoredEntry>, StoreError> {
        self.query(
            "SELECT body, rejected, reassigned FROM visit_entries WHERE visit_id = $1
                 ORDER BY author, seq",
            &[&visit],
        )
        .map_err(db)?
        .iter()
        .map(stored_entry)
        .collect()
    }

    fn chain_head(&self, visit: VisitId, author: DeviceId) -> Result<Option<LogEntry>, StoreError> {
        self.query_opt(
            "SELECT body FROM visit_entries WHERE visit_id = $1 AND author = $2
                 ORDER BY seq DESC LIMIT 1",
            &[&visit, &author],
        )
        .map_err(db)?
        .map(|row| {
            let body: &str = col(&row, 0, "visit_entries")?;
            serde_json::from_str(body).map_err(|_| StoreError::Corrupt("visit_entries"))
        })
        .transpose()
    }

    fn entry(
        &self,
        visit: VisitId,
        author: DeviceId,
        seq: u64,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let seq = seq_param(seq, "visit_entries")?;
        self.query_opt(
            "SELECT body, rejected, reassigned FROM visit_entries
                 WHERE visit_id = $1 AND author = $2 AND seq = $3",
            &[&visit, &author, &seq],
        )
        .map_err(db)?
        .as_ref()
        .map(stored_entry)
        .transpose()
    }

    fn insert_entry(&self, stored: &StoredEntry) -> Result<(), StoreError> {
        let entry = &stored.entry;
        let seq = seq_param(entry.seq, "visit_entries")?;
        let body =
            serde_json::to_string(entry).map_err(|_| StoreError::Corrupt("visit_entries"))?;
        self.exec(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &entry.visit_id,
                &entry.author,
                &seq,
                &entry.op_id,
                &body,
                &stored.rejected.map(RejectCode::code),
                &stored.reassigned,
            ],
        )
        .map_err(|e| conflict(e, "visit entry"))?;
        Ok(())
    }

    fn op_outcome(&self, op_id: Uuid) -> Result<Option<Option<RejectCode>>, StoreError> {
        self.query_opt(
            "SELECT rejected FROM applied_ops WHERE op_id = $1",
            &[&op_id],
        )
        .map_err(db)?
        .map(|row| opt_reject(col(&row, 0, "applied_ops")?, "applied_ops"))
        .transpose()
    }

    fn record_op(
        &self,
        op_id: Uuid,
        device: DeviceId,
        rejected: Option<RejectCode>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO applied_ops (op_id, device_id, rejected) VALUES ($1, $2, $3)",
            &[&op_id, &device, &rejected.map(RejectCode::code)],
        )
        .map_err(|e| conflict(e, "op"))?;
        Ok(())
    }

    fn op_outcomes(&self, op_ids: &[Uuid]) -> Result<Vec<Option<Option<RejectCode>>>, StoreError> {
        self.op_outcomes_of(op_ids)
    }

    fn insert_entries(&self, entries: &[StoredEntry]) -> Result<(), StoreError> {
        self.entries_insert(entries)
    }

    fn record_ops(&self, ops: &[OpRecord]) -> Result<(), StoreError> {
        self.ops_record(ops)
    }

    fn append_feed(&self, item: &FeedItem) -> Result<(), StoreError> {
        self.feed.borrow_mut().push(item.clone());
        Ok(())
    }

    fn feed_after(&self, cursor: u64, limit: u32) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        self.feed_page(cursor, limit)
    }

    fn feed_for(
        &self,
        reader: &FeedReader,
        cursor: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<(u64, FeedItem)>, StoreError> {
        self.feed_page_for(reader, cursor, through, limit)
    }

    fn feed_last(&self) -> Result<u64, StoreError> {
        self.feed_newest()
    }

    fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.audit_append(record)
    }

    fn append_audits(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.audits_append(records)
    }

    fn audit_log(&self) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_all()
    }

    fn audit_of(&self, target_kind: &str, target_id: &str) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_about(target_kind, target_id)
    }

    fn audit_rows(
        &self,
        query: &AuditQuery,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        self.audit_select(query, offset, limit)
    }

    fn audit_count(&self, query: &AuditQuery) -> Result<u64, StoreError> {
        self.audit_total(query)
    }

    fn record_attachment(&self, reference: &AttachmentRef) -> Result<(), StoreError> {
        self.attachment_record(reference)
    }

    fn attachment_refs(&self, sha256: &str) -> Result<Vec<AttachmentRef>, StoreError> {
        self.attachment_refs_of(sha256)
    }

    fn record_upload(&self, sha256: &str, device: DeviceId) -> Result<(), StoreError> {
        self.upload_record(sha256, device)
    }

    fn uploaders(&self, sha256: &str) -> Result<Vec<DeviceId>, StoreError> {
        self.uploaders_of(sha256)
    }

    fn insert_case_decision(&self, decision: &CaseDecision) -> Result<(), StoreError> {
        self.decision_insert(decision)
    }

    fn case_decisions(&self, case: CaseId) -> Result<Vec<CaseDecision>, StoreError> {
        self.decisions_of(case)
    }

    fn append_assignment(&self, record: &AssignmentRecord) -> Result<(), StoreError> {
        self.assignment_insert(record)
    }

    fn case_assignments(&self, case: CaseId) -> Result<Vec<AssignmentRecord>, StoreError> {
        self.assignments_of(case)
    }

    fn insert_repayments(
        &self,
        repayments: &[Repayment],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.repayments_insert(repayments, at)
    }

    fn repayments(&self, accounts: &[String]) -> Result<Vec<Repayment>, StoreError> {
        self.repayments_of(accounts)
    }

    fn cases_of_accounts(&self, accounts: &[String]) -> Result<Vec<CaseRecord>, StoreError> {
        self.account_cases(accounts)
    }

    fn insert_policy(
        &self,
        policy: &PublishedPolicy,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.policy_insert(policy, at)
    }

    fn policy(&self, version: u32) -> Result<Option<PublishedPolicy>, StoreError> {
        self.policy_of(version)
    }

    fn policies(&self, limit: u32) -> Result<Vec<(PublishedPolicy, DateTime<Utc>)>, StoreError> {
        self.policies_newest(limit)
    }

    fn quarantine(&self, entry: &QuarantinedEntry) -> Result<(), StoreError> {
        self.quarantine_insert(entry)
    }

    fn quarantined(&self, limit: u32) -> Result<Vec<QuarantinedEntry>, StoreError> {
        self.quarantine_newest(limit)
    }

    fn insert_console_session(&self, session: &ConsoleSessionRecord) -> Result<(), StoreError> {
        self.console_session_insert(session)
    }

    fn console_session(&self, id_sha256: &str) -> Result<Option<ConsoleSessionRecord>, StoreError> {
        self.console_session_get(id_sha256)
    }

    fn end_console_session(&self, id_sha256: &str) -> Result<bool, StoreError> {
        self.console_session_end(id_sha256)
    }

    fn team_members(&self, supervisor: UserId) -> Result<Vec<UserRecord>, StoreError> {
        self.team_members_of(supervisor)
    }

    fn team_visits(&self, supervisor: UserId) -> Result<Vec<VisitRecord>, StoreError> {
        self.team_visits_of(supervisor)
    }

    fn team_cases(&self, supervisor: UserId) -> Result<Vec<CaseRecord>, StoreError> {
        self.team_cases_of(supervisor)
    }

    fn case_visits(&self, case: CaseId) -> Result<Vec<VisitRecord>, StoreError> {
        self.case_visits_of(case)
    }

    fn supervisors(&self) -> Result<Vec<UserRecord>, StoreError> {
        self.supervisors_all()
    }

    fn put_visit_summary(&self, visit: &Visit) -> Result<(), StoreError> {
        self.summary_put(visit)
    }

    fn team_visit_summaries(&self, supervisor: UserId) -> Result<Vec<TeamVisit>, StoreError> {
        self.team_summaries(supervisor)
    }

    fn visits_without_summary(
        &self,
        after: Option<VisitId>,
        limit: u32,
    ) -> Result<Vec<VisitId>, StoreError> {
        self.unsummarised(after, limit)
    }

    fn sign_in_attempts(
        &self,
        key: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<SignInAttempt>, StoreError> {
        self.sign_in_attempts_of(key, since)
    }

    fn insert_sign_in_attempt(
        &self,
        key: &str,
        name_key: &str,
        at: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.sign_in_attempt_insert(key, name_key, at)
    }

    fn forgive_sign_in_attempts(&self, name_key: &str) -> Result<u64, StoreError> {
        self.sign_in_attempts_forgive(name_key)
    }

    fn fail_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError> {
        self.sign_in_attempt_fail(id)
    }

    fn delete_sign_in_attempt(&self, id: u64) -> Result<bool, StoreError> {
        self.sign_in_attempt_delete(id)
    }

    fn clear_sign_in_attempts(&self, key: &str, in_progress_too: bool) -> Result<u64, StoreError> {
        self.sign_in_attempts_clear(key, in_progress_too)
    }

    fn forget_sign_in_attempts(&self, before: DateTime<Utc>, keep: u64) -> Result<u64, StoreError> {
        self.sign_in_attempts_forget(before, keep)
    }
}
