//! The SQLite store's transaction: [`StoreTx`] on one SQLite transaction. The
//! row-level operations of each concern (the feed, the console, sign-in
//! attempts, attachments, policies, the quarantine) are in their own files.

use chrono::{DateTime, Utc};
use doorstep_core::checklist::ChecklistTemplate;
use doorstep_core::domain::{CaseDecision, CaseId, DeviceId, Repayment, UserId, Visit, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::policy::PublishedPolicy;
use doorstep_core::sync::protocol::RejectCode;
use rusqlite::{OptionalExtension, Transaction, params};
use uuid::Uuid;

use super::rows::{
    UserRow, conflict, db, opt_reject, opt_uuid, stored_entry, time_col, user_from, uuid_col,
};
use crate::store::{
    AssignmentRecord, AttachmentRef, AuditQuery, AuditRecord, AuditRow, CaseRecord, ChainBreak,
    ChainCheck, ConsoleSessionRecord, DeviceActivity, DeviceMark, DeviceRecord, DeviceSync,
    FeedItem, FeedReader, Lock, QuarantinedEntry, RefreshRecord, SignInAttempt, StoreError,
    StoreTx, StoredEntry, TeamVisit, TokenRecord, UserRecord, VisitRecord,
};

/// One transaction of the SQLite store, on whichever connection runs it.
pub(super) struct SqliteTx<'a>(pub(super) &'a Transaction<'a>);

impl SqliteTx<'_> {
    /// Executes a statement, prepared once per connection.
    pub(super) fn exec(&self, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
        self.0.prepare_cached(sql)?.execute(params)
    }

    /// Reads one row with a statement prepared once per connection.
    pub(super) fn row<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<T> {
        self.0.prepare_cached(sql)?.query_row(params, f)
    }
}

impl StoreTx for SqliteTx<'_> {
    fn lock(&self, _: Lock<'_>) -> Result<(), StoreError> {
        // One writer at a time: a write transaction holds everything.
        Ok(())
    }

    fn insert_user(&self, user: &UserRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO users (id, username, password_hash, role, supervisor_id, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                user.id.to_string(),
                user.username,
                user.password_hash,
                user.role.code(),
                user.supervisor.map(|s| s.to_string()),
                user.active
            ],
        )
        .map_err(|e| conflict(e, "user"))?;
        Ok(())
    }

    fn user_by_name(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = self
            .row(
                "SELECT id, username, password_hash, role, supervisor_id, active FROM users WHERE username = ?1",
                [username],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(user_from).transpose()
    }

    fn user(&self, id: UserId) -> Result<Option<UserRecord>, StoreError> {
        let row: Option<UserRow> = self
            .row(
                "SELECT id, username, password_hash, role, supervisor_id, active FROM users WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(user_from).transpose()
    }

    fn insert_device(&self, device: &DeviceRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO devices (id, user_id, active) VALUES (?1, ?2, ?3)",
            params![
                device.id.to_string(),
                device.user.to_string(),
                device.active
            ],
        )
        .map_err(|e| conflict(e, "device"))?;
        Ok(())
    }

    fn device(&self, id: DeviceId) -> Result<Option<DeviceRecord>, StoreError> {
        let row: Option<(String, bool)> = self
            .row(
                "SELECT user_id, active FROM devices WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(user, active)| {
            Ok(DeviceRecord {
                id,
                user: uuid_col(&user, "devices")?,
                active,
            })
        })
        .transpose()
    }

    fn set_device_active(&self, id: DeviceId, active: bool) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE devices SET active = ?2 WHERE id = ?1",
                params![id.to_string(), active],
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
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                token.token_sha256,
                token.device.to_string(),
                token.user.to_string(),
                token.expires_at.to_rfc3339(),
                token.revoked
            ],
        )
        .map_err(|e| conflict(e, "token"))?;
        Ok(())
    }

    fn token(&self, token_sha256: &str) -> Result<Option<TokenRecord>, StoreError> {
        let row: Option<(String, String, String, bool)> = self
            .row(
                "SELECT device_id, user_id, expires_at, revoked FROM tokens WHERE token_sha256 = ?1",
                [token_sha256],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(device, user, expires, revoked)| {
            Ok(TokenRecord {
                token_sha256: token_sha256.to_owned(),
                device: uuid_col(&device, "tokens")?,
                user: uuid_col(&user, "tokens")?,
                expires_at: time_col(&expires, "tokens")?,
                revoked,
            })
        })
        .transpose()
    }

    fn revoke_token(&self, token_sha256: &str) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "UPDATE tokens SET revoked = 1 WHERE token_sha256 = ?1",
                [token_sha256],
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
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id) DO UPDATE SET body = ?2, primary_agent = ?3, partner = ?4,
                     supervisor_id = ?5",
            params![
                case.id.to_string(),
                body,
                case.assigned.primary.to_string(),
                case.assigned.partner.map(|p| p.to_string()),
                record.supervisor.map(|s| s.to_string())
            ],
        )
        .map_err(db)?;
        for agent in std::iter::once(case.assigned.primary).chain(case.assigned.partner) {
            self.exec(
                "INSERT OR IGNORE INTO case_agents_ever (case_id, user_id) VALUES (?1, ?2)",
                params![case.id.to_string(), agent.to_string()],
            )
            .map_err(db)?;
        }
        Ok(())
    }

    fn case(&self, id: CaseId) -> Result<Option<CaseRecord>, StoreError> {
        let row: Option<(String, Option<String>)> = self
            .row(
                "SELECT body, supervisor_id FROM cases WHERE id = ?1",
                [id.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(body, supervisor)| {
            Ok(CaseRecord {
                case: serde_json::from_str(&body).map_err(|_| StoreError::Corrupt("cases"))?,
                supervisor: opt_uuid(supervisor, "cases")?,
            })
        })
        .transpose()
    }

    fn was_assigned(&self, case: CaseId, user: UserId) -> Result<bool, StoreError> {
        self.row(
            "SELECT EXISTS (SELECT 1 FROM case_agents_ever WHERE case_id = ?1 AND user_id = ?2)",
            params![case.to_string(), user.to_string()],
            |r| r.get(0),
        )
        .map_err(db)
    }

    fn insert_template(&self, template: &ChecklistTemplate) -> Result<bool, StoreError> {
        let n = self
            .exec(
                "INSERT OR IGNORE INTO templates (key, version, body) VALUES (?1, ?2, ?3)",
                params![template.key(), template.version(), template.to_json()],
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
        let body: Option<String> = self
            .row(
                "SELECT body FROM templates WHERE key = ?1 AND version = ?2",
                params![key, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        body.map(|b| ChecklistTemplate::from_json(&b).map_err(|_| StoreError::Corrupt("templates")))
            .transpose()
    }

    fn insert_visit(&self, visit: &VisitRecord) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO visits (id, case_id) VALUES (?1, ?2)",
            params![visit.id.to_string(), visit.case_id.to_string()],
        )
        .map_err(|e| conflict(e, "visit"))?;
        Ok(())
    }

    fn visit(&self, id: VisitId) -> Result<Option<VisitRecord>, StoreError> {
        let case: Option<String> = self
            .row(
                "SELECT case_id FROM visits WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        case.map(|c| {
            Ok(VisitRecord {
                id,
                case_id: uuid_col(&c, "visits")?,
            })
        })
        .transpose()
    }

    fn set_chain_check(&self, visit: VisitId, check: &ChainCheck) -> Result<(), StoreError> {
        let broken = check.broken.as_ref();
        let seq = broken
            .and_then(|b| b.seq)
            .map(|seq| i64::try_from(seq).map_err(|_| StoreError::Corrupt("visits")))
            .transpose()?;
        let entries = i64::try_from(check.entries).map_err(|_| StoreError::Corrupt("visits"))?;
        self.exec(
            "UPDATE visits SET chain_checked_at = ?2, chain_entries = ?3, chain_broken_author = ?4,
                 chain_broken_seq = ?5, chain_broken_reason = ?6 WHERE id = ?1",
            params![
                visit.to_string(),
                check.checked_at.to_rfc3339(),
                entries,
                broken.map(|b| b.author.to_string()),
                seq,
                broken.map(|b| b.reason.code())
            ],
        )
        .map_err(db)?;
        Ok(())
    }

    fn chain_check(&self, visit: VisitId) -> Result<Option<ChainCheck>, StoreError> {
        type Row = (
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
            Option<String>,
        );
        let row: Option<Row> = self
            .row(
                "SELECT chain_checked_at, chain_entries, chain_broken_author, chain_broken_seq,
                     chain_broken_reason FROM visits WHERE id = ?1",
                [visit.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(db)?;
        let Some((Some(at), entries, author, seq, reason)) = row else {
            return Ok(None);
        };
        let corrupt = || StoreError::Corrupt("visits");
        let broken = match (author, reason) {
            (Some(author), Some(reason)) => Some(ChainBreak {
                author: uuid_col(&author, "visits")?,
                seq: seq
                    .map(|s| u64::try_from(s).map_err(|_| corrupt()))
                    .transpose()?,
                reason: doorstep_core::event_log::BreakReason::from_code(&reason)
                    .ok_or_else(corrupt)?,
            }),
            (None, None) => None,
            _ => return Err(corrupt()),
        };
        Ok(Some(ChainCheck {
            checked_at: time_col(&at, "visits")?,
            entries: u64::try_from(entries.ok_or_else(corrupt)?).map_err(|_| corrupt())?,
            broken,
        }))
    }

    fn visit_entries(&self, visit: VisitId) -> Result<Vec<StoredEntry>, StoreError> {
        let mut stmt = self
            .0
            .prepare_cached(
                "SELECT body, rejected, reassigned FROM visit_entries WHERE visit_id = ?1
                 ORDER BY author, seq",
            )
            .map_err(db)?;
        let rows = stmt
            .query_map([visit.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get(1)?, r.get(2)?))
            })
            .map_err(db)?;
        let mut out = Vec::new();
        for row in rows {
            let (body, rejected, reassigned) = row.map_err(db)?;
            out.push(stored_entry(body, rejected, reassigned)?);
        }
        Ok(out)
    }

    fn chain_head(&self, visit: VisitId, author: DeviceId) -> Result<Option<LogEntry>, StoreError> {
        let body: Option<String> = self
            .row(
                "SELECT body FROM visit_entries WHERE visit_id = ?1 AND author = ?2
                 ORDER BY seq DESC LIMIT 1",
                params![visit.to_string(), author.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        body.map(|b| serde_json::from_str(&b).map_err(|_| StoreError::Corrupt("visit_entries")))
            .transpose()
    }

    fn entry(
        &self,
        visit: VisitId,
        author: DeviceId,
        seq: u64,
    ) -> Result<Option<StoredEntry>, StoreError> {
        let seq = i64::try_from(seq).map_err(|_| StoreError::Corrupt("visit_entries"))?;
        let row: Option<(String, Option<String>, bool)> = self
            .row(
                "SELECT body, rejected, reassigned FROM visit_entries
                 WHERE visit_id = ?1 AND author = ?2 AND seq = ?3",
                params![visit.to_string(), author.to_string(), seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(db)?;
        row.map(|(body, rejected, reassigned)| stored_entry(body, rejected, reassigned))
            .transpose()
    }

    fn insert_entry(&self, stored: &StoredEntry) -> Result<(), StoreError> {
        let entry = &stored.entry;
        let seq = i64::try_from(entry.seq).map_err(|_| StoreError::Corrupt("visit_entries"))?;
        let body =
            serde_json::to_string(entry).map_err(|_| StoreError::Corrupt("visit_entries"))?;
        self.exec(
            "INSERT INTO visit_entries (visit_id, author, seq, op_id, body, rejected, reassigned)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                entry.visit_id.to_string(),
                entry.author.to_string(),
                seq,
                entry.op_id.to_string(),
                body,
                stored.rejected.map(RejectCode::code),
                stored.reassigned
            ],
        )
        .map_err(|e| conflict(e, "visit entry"))?;
        Ok(())
    }

    fn op_outcome(&self, op_id: Uuid) -> Result<Option<Option<RejectCode>>, StoreError> {
        let row: Option<Option<String>> = self
            .row(
                "SELECT rejected FROM applied_ops WHERE op_id = ?1",
                [op_id.to_string()],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?;
        row.map(|code| opt_reject(code, "applied_ops")).transpose()
    }

    fn record_op(
        &self,
        op_id: Uuid,
        device: DeviceId,
        rejected: Option<RejectCode>,
    ) -> Result<(), StoreError> {
        self.exec(
            "INSERT INTO applied_ops (op_id, device_id, rejected) VALUES (?1, ?2, ?3)",
            params![
                op_id.to_string(),
                device.to_string(),
                rejected.map(RejectCode::code)
            ],
        )
        .map_err(|e| conflict(e, "op"))?;
        Ok(())
    }

    fn append_feed(&self, item: &FeedItem) -> Result<(), StoreError> {
        self.feed_append(item).map(|_| ())
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
