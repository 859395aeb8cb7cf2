//! Sync through the facade: run a sync over the shell's transport, and read the
//! sync status and the operations the server refused.

use chrono::{DateTime, Utc};

use super::Doorstep;
use crate::error::{DoorstepError, Error, Result};
use crate::store::{blobs, meta, outbox, rejections};
use crate::sync::backoff::{next_delay, random_unit};
use crate::sync::engine::{Engine, purge_expired_visits};
use crate::sync::status::{RejectedOp, SyncObserver, SyncReport, SyncStatus};
use crate::sync::transport::Transport;

impl Doorstep {
    /// Syncs with the server unless the backoff after earlier failures has not
    /// elapsed (then nothing is done and the report says until when): renews
    /// the sign-in when its token has expired (with the refresh credential
    /// kept since [`Doorstep::sign_in`]; never a password), pushes the outbox, uploads the attachments of
    /// acknowledged entries, pulls what changed, and removes
    /// customer data the device no longer needs. For timers and connectivity
    /// callbacks; use [`Doorstep::sync_now`] when the agent asks.
    ///
    /// A failure (network, server, sign-in) stops the sync, is recorded in the
    /// status with the next attempt time, and is returned; everything done before
    /// it is kept, and the next sync resumes from there. When the device is not
    /// signed in, or the server refused its sign-in (revoked, expired),
    /// the error is [`DoorstepError::SignInRequired`]: the app asks the agent
    /// to sign in, and the queue waits.
    pub fn sync(
        &self,
        transport: &dyn Transport,
        observer: &dyn SyncObserver,
    ) -> Result<SyncReport, DoorstepError> {
        let _running = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        let now = self.wall.now();
        let next = self
            .store
            .read(|conn| time(conn, meta::SYNC_NEXT_ATTEMPT_AFTER))?;
        if let Some(next) = next.filter(|next| now < *next) {
            return Ok(SyncReport {
                deferred_until: Some(next),
                ..SyncReport::default()
            });
        }
        self.run_sync(transport, observer)
    }

    /// Syncs now, whatever the backoff says (the agent pressed "sync").
    pub fn sync_now(
        &self,
        transport: &dyn Transport,
        observer: &dyn SyncObserver,
    ) -> Result<SyncReport, DoorstepError> {
        let _running = self.sync_lock.lock().unwrap_or_else(|p| p.into_inner());
        self.run_sync(transport, observer)
    }

    /// The sync state for the sync screen.
    pub fn sync_status(&self) -> Result<SyncStatus, DoorstepError> {
        let now = self.wall.now();
        Ok(self.store.read(|conn| {
            let oldest = outbox::oldest_pending_time(conn)?;
            Ok(SyncStatus {
                pending_ops: outbox::pending_count(conn)?,
                oldest_pending_age_seconds: oldest
                    .map(|at| u64::try_from((now - at).num_seconds()).unwrap_or(0)),
                last_success: time(conn, meta::SYNC_LAST_SUCCESS)?,
                last_error: meta::get(conn, meta::SYNC_LAST_ERROR)?,
                rejected_count: rejections::count(conn)?,
                next_attempt_after: time(conn, meta::SYNC_NEXT_ATTEMPT_AFTER)?,
                consecutive_failures: meta::get(conn, meta::SYNC_FAILURES)?
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0),
                deactivated: meta::get(conn, meta::DEACTIVATED)?.is_some(),
                pending_uploads: blobs::pending_upload_count(conn)?,
            })
        })?)
    }

    /// The operations the server refused, for the agent to see. They stay on
    /// the device, in their visits' logs.
    pub fn rejected_ops(&self) -> Result<Vec<RejectedOp>, DoorstepError> {
        Ok(self.store.read(rejections::list)?)
    }

    /// Removes the customer data of visits approved longer ago than the policy's
    /// retention period (also run at the end of every sync); returns how many
    /// visits were removed.
    pub fn purge_expired_visits(&self) -> Result<u64, DoorstepError> {
        let (visits, _) = purge_expired_visits(&self.store, &self.policy(), self.wall.now())?;
        self.forget_chain_heads()?;
        Ok(visits)
    }

    /// Forgets the cached chain heads, with the writer held so that no action
    /// is between reading a head and caching the one it wrote.
    fn forget_chain_heads(&self) -> Result<()> {
        self.store.write_then(|_| Ok(()), |()| self.heads.clear())
    }

    fn run_sync(
        &self,
        transport: &dyn Transport,
        observer: &dyn SyncObserver,
    ) -> Result<SyncReport, DoorstepError> {
        let labelled = self.labelled(transport);
        let transport: &dyn Transport = &labelled;
        let mut report = SyncReport::default();
        let policy = self.policy();
        let mut engine = Engine::new(
            &self.store,
            &self.clock,
            self.wall.as_ref(),
            &policy,
            self.device,
            transport,
            observer,
            &self.heads,
        );
        let outcome = engine.run(&mut report);
        // Purges may have removed visits whose chain heads are cached.
        self.forget_chain_heads()?;
        // The pull may have brought a newer policy.
        self.reload_policy()?;
        let now = self.wall.now();
        match outcome {
            Ok(()) => {
                self.store.write(|tx| {
                    meta::set(tx, meta::SYNC_LAST_SUCCESS, &now.to_rfc3339())?;
                    for key in [
                        meta::SYNC_LAST_ERROR,
                        meta::SYNC_FAILURES,
                        meta::SYNC_NEXT_ATTEMPT_AFTER,
                    ] {
                        meta::remove(tx, key)?;
                    }
                    Ok(())
                })?;
                Ok(report)
            }
            Err(error) => {
                let public = DoorstepError::from(error);
                let recorded = self.store.write(|tx| {
                    let failures = meta::get(tx, meta::SYNC_FAILURES)?
                        .and_then(|n| n.parse::<u32>().ok())
                        .unwrap_or(0)
                        .saturating_add(1);
                    let delay = chrono::Duration::from_std(next_delay(failures, random_unit()))
                        .unwrap_or(chrono::Duration::zero());
                    meta::set(tx, meta::SYNC_FAILURES, &failures.to_string())?;
                    meta::set(tx, meta::SYNC_LAST_ERROR, &public.to_string())?;
                    meta::set(
                        tx,
                        meta::SYNC_NEXT_ATTEMPT_AFTER,
                        &(now + delay).to_rfc3339(),
                    )
                });
                if let Err(e) = recorded {
                    tracing::error!(error = %e, "could not record the sync failure");
                }
                tracing::warn!(code = public.code(), "sync failed: {public}");
                Err(public)
            }
        }
    }
}

/// Reads an instant stored in meta as RFC 3339.
pub(super) fn time(conn: &rusqlite::Connection, key: &str) -> Result<Option<DateTime<Utc>>> {
    match meta::get(conn, key)? {
        None => Ok(None),
        Some(text) => DateTime::parse_from_rfc3339(&text)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| Error::Invalid {
                field: "meta",
                reason: "stored time is unreadable".into(),
            }),
    }
}
