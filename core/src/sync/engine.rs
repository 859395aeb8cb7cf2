//! The device's sync engine: renew its sign-in ([`super::sign_in`]), push the outbox, upload the attachments
//! of acknowledged entries, pull what changed, then remove customer data the
//! device no longer needs.
//!
//! Every step is durable before the next request: acknowledged operations leave
//! the outbox, and each pulled page is applied together with its cursor in one
//! transaction, so a sync interrupted anywhere simply resumes next time.
//! Pushing ([`super::push`]), uploading ([`super::upload`]) and pulling
//! ([`super::pull`]) live in their own files.

use std::sync::Mutex;

use chrono::{DateTime, Duration, Utc};

use crate::clock::{HybridClock, WallClock};
use crate::domain::DeviceId;
use crate::doorstep::heads::ChainHeads;
use crate::error::{Error, Result};
use crate::policy::Policy;
use crate::store::{DeviceStore, blobs, meta, outbox, purge};
use crate::sync::protocol::ErrorBody;
use crate::sync::status::{SyncObserver, SyncPhase, SyncReport};
use crate::sync::transport::{HttpRequest, HttpResponse, Transport};

/// The content type of every JSON body.
pub(crate) const JSON: &str = "application/json";

/// A token this close to its expiry is renewed before use.
const TOKEN_MARGIN_SECONDS: i64 = 60;

/// One sync run over a device's store.
pub(crate) struct Engine<'a> {
    pub(crate) store: &'a DeviceStore,
    pub(crate) clock: &'a Mutex<HybridClock>,
    pub(crate) wall: &'a dyn WallClock,
    pub(crate) policy: &'a Policy,
    pub(crate) device: DeviceId,
    pub(crate) transport: &'a dyn Transport,
    pub(crate) observer: &'a dyn SyncObserver,
    /// The facade's cache of this device's chain heads, which a chain repair
    /// changes.
    pub(crate) heads: &'a ChainHeads,
    /// The bearer token in use, once known.
    token: Option<String>,
    /// Whether the server refused an entry of this sync as stamped too far
    /// ahead of its clock.
    pub(crate) clock_refused: std::cell::Cell<bool>,
}

/// A sync failure that is not the store's: its code and a reason without data.
pub(crate) fn failure(code: &'static str, reason: impl Into<String>) -> Error {
    Error::Sync {
        code,
        reason: reason.into(),
    }
}

/// A response that does not follow the protocol.
pub(crate) fn protocol(reason: &str) -> Error {
    failure("protocol", reason)
}

impl<'a> Engine<'a> {
    /// An engine for one run.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        store: &'a DeviceStore,
        clock: &'a Mutex<HybridClock>,
        wall: &'a dyn WallClock,
        policy: &'a Policy,
        device: DeviceId,
        transport: &'a dyn Transport,
        observer: &'a dyn SyncObserver,
        heads: &'a ChainHeads,
    ) -> Engine<'a> {
        Engine {
            store,
            clock,
            wall,
            policy,
            device,
            transport,
            observer,
            heads,
            token: None,
            clock_refused: std::cell::Cell::new(false),
        }
    }

    /// Runs the whole sync, filling `report` as it goes.
    pub(crate) fn run(&mut self, report: &mut SyncReport) -> Result<()> {
        if self
            .store
            .read(|conn| meta::get(conn, meta::DEACTIVATED))?
            .is_some()
        {
            return self.finish_deactivation(report);
        }
        self.token()?;
        self.push(report)?;
        self.upload(report)?;
        self.purge_marked_cases(report)?;
        if self.pull(report)? {
            self.store
                .write(|tx| meta::set(tx, meta::DEACTIVATED, &self.wall.now().to_rfc3339()))?;
            return self.finish_deactivation(report);
        }
        self.purge_marked_cases(report)?;
        self.purge_expired_visits(report)?;
        Ok(())
    }

    /// A deactivated device pushes everything it still holds, uploads its
    /// attachments, then wipes its customer data and tells the server
    /// ([`Engine::confirm_wipe`]). A failed request stops it before the wipe
    /// (the next sync tries again); an attachment the server refuses cannot
    /// go anywhere else and is wiped with the rest.
    fn finish_deactivation(&mut self, report: &mut SyncReport) -> Result<()> {
        if self.store.read(outbox::pending_count)? > 0 {
            self.push(report)?;
        }
        self.upload(report)?;
        self.store.write(|tx| {
            purge::wipe_customer_data(tx)?;
            for key in [meta::SYNC_REFRESH, meta::SYNC_CURSOR, meta::AGENT_ID] {
                meta::remove(tx, key)?;
            }
            Ok(())
        })?;
        tracing::warn!("device deactivated by the server: customer data wiped");
        report.wiped = true;
        self.confirm_wipe();
        Ok(())
    }

    /// `POST /v1/devices/wiped` with the token still kept from before the
    /// wipe, then the token is forgotten: the server shows the admin when the
    /// wipe was confirmed. Without a kept token (confirmed already, or it
    /// expired) there is nothing to send. A refusal (an older server that has
    /// no such endpoint, an expired token) forgets the token too; a network
    /// failure or a server error keeps it, and the next sync, which finishes
    /// the deactivation again, tries once more. Never fails the sync: the
    /// data is wiped either way.
    fn confirm_wipe(&mut self) {
        let kept = self
            .store
            .read(|conn| meta::get(conn, meta::SYNC_TOKEN))
            .ok()
            .flatten();
        let Some(token) = kept else {
            return;
        };
        let outgoing = Outgoing::new("POST", "/v1/devices/wiped", Vec::new(), JSON);
        let answered = exchange(self.transport, outgoing.request(Some(&token)));
        match answered {
            Ok(response) if response.status < 500 => {
                if !(200..300).contains(&response.status) {
                    tracing::warn!(status = response.status, "wipe confirmation refused");
                }
                self.token = None;
                let forgotten = self.store.write(|tx| {
                    meta::remove(tx, meta::SYNC_TOKEN)?;
                    meta::remove(tx, meta::SYNC_TOKEN_EXPIRES_AT)
                });
                if let Err(err) = forgotten {
                    tracing::warn!(error = %err, "the token could not be forgotten after the wipe");
                }
            }
            Ok(response) => {
                tracing::warn!(
                    status = response.status,
                    "wipe confirmation failed; retried next sync"
                );
            }
            Err(err) => {
                tracing::warn!(error = %err, "wipe confirmation not sent; retried next sync");
            }
        }
    }

    /// Purges the cases marked for purge whose operations have all left the
    /// outbox and whose attachments are all uploaded.
    pub(crate) fn purge_marked_cases(&self, report: &mut SyncReport) -> Result<()> {
        let purged = self.store.write(|tx| {
            let mut purged = 0;
            for case_id in purge::marked_cases(tx)? {
                if outbox::held_for_case(tx, case_id)? == 0
                    && blobs::waiting_for_case(tx, case_id)? == 0
                {
                    purge::purge_case(tx, case_id)?;
                    purged += 1;
                }
            }
            Ok(purged)
        })?;
        if purged > 0 {
            self.observer.progress(SyncPhase::Purge, purged, purged);
        }
        report.purged_cases += purged;
        Ok(())
    }

    /// Purges approved visits past the retention period (see
    /// [`purge_expired_visits`]).
    fn purge_expired_visits(&self, report: &mut SyncReport) -> Result<()> {
        let (visits, cases) = purge_expired_visits(self.store, self.policy, self.wall.now())?;
        report.purged_visits += visits;
        report.purged_cases += cases;
        Ok(())
    }

    /// The bearer token: the one in use, the stored one while it is valid, or a
    /// new one for the kept refresh credential ([`Engine::renew`]).
    pub(crate) fn token(&mut self) -> Result<String> {
        if let Some(token) = &self.token {
            return Ok(token.clone());
        }
        let stored = self.store.read(|conn| {
            Ok((
                meta::get(conn, meta::SYNC_TOKEN)?,
                meta::get(conn, meta::SYNC_TOKEN_EXPIRES_AT)?,
            ))
        })?;
        if let (Some(token), Some(expires)) = stored {
            let valid = DateTime::parse_from_rfc3339(&expires).is_ok_and(|at| {
                at.with_timezone(&Utc) > self.wall.now() + Duration::seconds(TOKEN_MARGIN_SECONDS)
            });
            if valid {
                self.token = Some(token.clone());
                return Ok(token);
            }
        }
        self.renew()
    }

    /// Uses `token` for the rest of the run.
    pub(crate) fn set_token(&mut self, token: String) {
        self.token = Some(token);
    }

    /// Sends an authorised request; on a 401 the token is dropped, the device
    /// renews its sign-in and the request is sent once more.
    pub(crate) fn call(&mut self, method: &str, path: &str, body: Vec<u8>) -> Result<HttpResponse> {
        check_status(self.call_any(method, path, body, JSON)?)
    }

    /// Like [`Engine::call`] with a body of `content_type`, but every status
    /// other than 401 comes back as it is, for the caller to read.
    pub(crate) fn call_any(
        &mut self,
        method: &str,
        path: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> Result<HttpResponse> {
        let outgoing = Outgoing::new(method, path, body, content_type);
        let token = self.token()?;
        let response = exchange(self.transport, outgoing.request(Some(&token)))?;
        self.unless_unauthorized(&outgoing, response)
    }

    /// `response` to `outgoing` unless it is a 401: then the token is dropped,
    /// the device renews its sign-in and sends `outgoing` once more.
    pub(crate) fn unless_unauthorized(
        &mut self,
        outgoing: &Outgoing,
        response: HttpResponse,
    ) -> Result<HttpResponse> {
        if response.status != 401 {
            return Ok(response);
        }
        self.token = None;
        self.store.write(|tx| {
            meta::remove(tx, meta::SYNC_TOKEN)?;
            meta::remove(tx, meta::SYNC_TOKEN_EXPIRES_AT)
        })?;
        let token = self.renew()?;
        let response = exchange(self.transport, outgoing.request(Some(&token)))?;
        if response.status == 401 {
            return check_status(response);
        }
        Ok(response)
    }
}

/// A request before its bearer token is added, kept so that it can be sent
/// again after the sign-in is renewed. Not `Debug`: its body may hold a password or
/// customer data.
pub(crate) struct Outgoing {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) body: Vec<u8>,
    pub(crate) content_type: String,
    /// Whether `body` is zstd-compressed (`Content-Encoding: zstd`).
    pub(crate) zstd: bool,
}

impl Outgoing {
    /// A request with a plain body of `content_type`.
    pub(crate) fn new(method: &str, path: &str, body: Vec<u8>, content_type: &str) -> Outgoing {
        Outgoing {
            method: method.to_owned(),
            path: path.to_owned(),
            body,
            content_type: content_type.to_owned(),
            zstd: false,
        }
    }

    /// The HTTP request, with the headers every request of the device carries.
    pub(crate) fn request(&self, token: Option<&str>) -> HttpRequest {
        let (accept_encoding, zstd) = crate::sync::transport::ACCEPT_ENCODING;
        let mut headers = vec![
            ("accept".to_owned(), JSON.to_owned()),
            (accept_encoding.to_owned(), zstd.to_owned()),
            (
                crate::sync::protocol::PROTOCOL_HEADER.to_owned(),
                crate::sync::protocol::PROTOCOL_VERSION.to_string(),
            ),
        ];
        if !self.body.is_empty() {
            headers.push(("content-type".to_owned(), self.content_type.clone()));
        }
        if self.zstd {
            headers.push(("content-encoding".to_owned(), zstd.to_owned()));
        }
        if let Some(token) = token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        HttpRequest {
            method: self.method.clone(),
            path: self.path.clone(),
            headers,
            body: self.body.clone(),
        }
    }
}

/// Sends `request` and undoes its response's encoding. Needs only the
/// transport, so a push can be in flight on another thread.
pub(crate) fn exchange(transport: &dyn Transport, request: HttpRequest) -> Result<HttpResponse> {
    transport
        .send(request)
        .map_err(|e| failure(e.code(), e.to_string()))
        .and_then(|r| {
            crate::sync::transport::decode_response(r).map_err(|e| failure(e.code(), e.to_string()))
        })
}

/// A 2xx response, or the failure its status means.
pub(crate) fn check_status(response: HttpResponse) -> Result<HttpResponse> {
    let status = response.status;
    match status {
        200..=299 => Ok(response),
        401 => Err(failure("unauthorized", "the server refused the sign-in")),
        // The server no longer speaks this app's protocol: the queue is kept,
        // and syncs again once the app is updated.
        426 => Err(failure(
            "upgrade_required",
            "this version of the app is too old for the server: update the app",
        )),
        500..=599 => Err(failure("server_error", format!("HTTP {status}"))),
        _ => {
            let code = serde_json::from_slice::<ErrorBody>(&response.body)
                .map(|body| body.code)
                .unwrap_or_default();
            // The code is the server's stable machine-readable code; the message
            // is not kept.
            let code: String = code
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
                .take(64)
                .collect();
            Err(failure("refused", format!("HTTP {status} {code}")))
        }
    }
}

/// Removes the approved visits whose approval is older than the retention period
/// and that have nothing left to push or upload, and then their cases if the cases are
/// completed and have no visit left. Returns (visits, cases) removed.
pub(crate) fn purge_expired_visits(
    store: &DeviceStore,
    policy: &Policy,
    now: DateTime<Utc>,
) -> Result<(u64, u64)> {
    let cutoff = now - Duration::days(i64::from(policy.retention_days_after_approval));
    store.write(|tx| {
        let (mut visits, mut cases) = (0, 0);
        for (visit_id, case_id) in purge::approved_before(tx, cutoff)? {
            if outbox::pending_for_visit(tx, visit_id)? > 0
                || blobs::waiting_for_visit(tx, visit_id)? > 0
            {
                continue;
            }
            purge::purge_visit(tx, visit_id)?;
            visits += 1;
            let case = crate::store::cases::get(tx, case_id)?;
            let done = matches!(
                case.status,
                crate::domain::CaseStatus::Completed | crate::domain::CaseStatus::Closed
            );
            if done && crate::store::visits::of_case(tx, case_id)?.is_empty() {
                purge::purge_case(tx, case_id)?;
                cases += 1;
            }
        }
        Ok((visits, cases))
    })
}
