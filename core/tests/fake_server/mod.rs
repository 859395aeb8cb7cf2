//! A fake Doorstep server behind the `Transport` trait: the sync protocol kept
//! minimally in memory, with knobs to lose responses, fail requests and reject
//! operations, for the sync engine tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{Duration, Utc};
use doorstep_core::clock::Hlc;
use doorstep_core::domain::attachment::sha256_hex;
use doorstep_core::domain::{Review, ReviewDecision, VisitChange, VisitId};
use doorstep_core::event_log::{self, EntryDraft, LogEntry};
use doorstep_core::sync::protocol::{
    LoginRequest, LoginResponse, MAX_ATTACHMENT_CHUNK_BYTES, OpOutcome, OpResult, PullResponse,
    PulledChange, PushRequest, PushResponse, RefreshRequest, RejectCode, Role, UploadState,
    WrongOffset,
};
use doorstep_core::{
    DoorstepError, HttpRequest, HttpResponse, NoProgress, SyncReport, Transport, TransportError,
};
use uuid::Uuid;

use crate::common::Field;

/// The agent's user name and the password the fake server takes.
pub const USERNAME: &str = "agent.wang";
pub const PASSWORD: &str = "secret";

/// Signs the field's agent in, as the app's sign-in screen does once.
pub fn sign_in(field: &Field, server: &FakeServer) {
    field.doorstep.sign_in(server, USERNAME, PASSWORD).unwrap();
}

/// Syncs now, signing in first if the device has never signed in.
pub fn sync(field: &Field, server: &FakeServer) -> Result<SyncReport, DoorstepError> {
    if !field.doorstep.is_signed_in().unwrap() {
        sign_in(field, server);
    }
    field.doorstep.sync_now(server, &NoProgress)
}

pub fn failure_code(error: DoorstepError) -> String {
    match error {
        DoorstepError::SyncFailed { code, .. } => code,
        other => panic!("expected a sync failure, got {other:?}"),
    }
}

/// An entry of another device's chain (`prev` is that chain's last entry),
/// stamped `after_millis` after `after`.
pub fn foreign_entry(
    author: Uuid,
    visit: VisitId,
    prev: Option<&LogEntry>,
    change: &VisitChange,
    after: &LogEntry,
    after_millis: u64,
) -> LogEntry {
    event_log::append(
        prev,
        EntryDraft {
            visit_id: visit,
            author,
            op_id: Uuid::now_v7(),
            kind: change.kind().to_owned(),
            payload: serde_json::to_string(change).unwrap(),
            hlc: Hlc {
                millis: after.hlc.millis + after_millis,
                counter: 0,
                node: author,
            },
            device_time: after.device_time + Duration::milliseconds(after_millis as i64),
            utc_offset_minutes: 480,
        },
    )
    .unwrap()
}

pub fn review(decision: ReviewDecision, at: &LogEntry) -> VisitChange {
    VisitChange::Reviewed {
        review: Review {
            decision,
            reviewer: Uuid::now_v7(),
            decided_at: at.device_time + Duration::hours(3),
        },
    }
}

pub fn returned() -> ReviewDecision {
    ReviewDecision::Return {
        reason_code: "missing_photos".into(),
        comment: "请补拍门牌照片".into(),
    }
}

/// A hook run when a pull request arrives, before it is answered.
pub type PullHook = Box<dyn FnMut() + Send>;

#[derive(Default)]
pub struct State {
    /// The user every login signs in as.
    pub agent: Uuid,
    pub tokens: HashSet<String>,
    pub logins: u32,
    /// The refresh credential in force (the last one issued), if any.
    pub refresh: Option<String>,
    /// Refresh requests answered with a new credential.
    pub refreshes: u32,
    /// Refresh answers to lose after rotating (a timeout to the device).
    pub lose_refresh_responses: u32,
    /// Operations applied, in the order they were applied.
    pub applied: Vec<LogEntry>,
    pub applied_ids: HashSet<Uuid>,
    /// Operations to refuse, with the reason.
    pub reject: HashMap<Uuid, RejectCode>,
    /// Operations that make the whole push they are in a `422 invalid_push`
    /// (as a server that cannot take one of them at all answers).
    pub poison: HashSet<Uuid>,
    /// Push responses to lose after applying the push (a timeout to the device).
    pub lose_push_responses: u32,
    /// Requests to fail as offline before doing anything.
    pub fail_next: u32,
    /// Requests to answer with 503.
    pub unavailable_next: u32,
    /// Pull requests to serve before every later one fails as offline.
    pub pulls_before_failing: Option<u32>,
    /// The change feed; change `i` has sequence number `i + 1`.
    pub changes: Vec<PulledChange>,
    /// Most changes per page, whatever the device asks for.
    pub page_limit: u32,
    pub deactivated: bool,
    /// Wipe confirmations received with a valid token.
    pub wipes_confirmed: u32,
    /// Wipe confirmations to answer with 503.
    pub unavailable_wipe_confirmations: u32,
    /// The bank's policy in force, sent with every pull page.
    pub policy: Option<doorstep_core::policy::PublishedPolicy>,
    pub push_requests: u32,
    /// The cursor of every pull request, in order.
    pub pull_cursors: Vec<u64>,
    /// Attachment bytes received, by hash (partial until in `complete`).
    pub blobs: HashMap<String, Vec<u8>>,
    /// Attachments received whole and verified.
    pub complete: HashSet<String>,
    /// Chunk uploads answered (or failed) so far.
    pub chunk_puts: u32,
    /// Chunk bytes stored so far, over every upload.
    pub bytes_received: u64,
    /// Chunk uploads to serve before every later one fails as offline.
    pub chunk_puts_before_failing: Option<u32>,
    /// Chunk responses to lose after storing the chunk.
    pub lose_chunk_responses: u32,
    /// Answer every attachment request with this refusal.
    pub refuse_uploads: Option<(u16, &'static str)>,
}

pub struct FakeServer {
    pub state: Mutex<State>,
    pub on_pull: Mutex<Option<PullHook>>,
    /// Requests being answered now, and the most ever at once.
    in_flight: AtomicU32,
    pub most_in_flight: AtomicU32,
}

fn json(status: u16, body: &impl serde::Serialize) -> HttpResponse {
    HttpResponse {
        status,
        headers: vec![("content-type".into(), "application/json".into())],
        body: serde_json::to_vec(body).unwrap(),
    }
}

fn error(status: u16, code: &str) -> HttpResponse {
    json(
        status,
        &serde_json::json!({ "code": code, "message": "refused by the fake server" }),
    )
}

impl FakeServer {
    pub fn new(agent: Uuid) -> FakeServer {
        FakeServer {
            state: Mutex::new(State {
                agent,
                page_limit: 1_000,
                ..State::default()
            }),
            on_pull: Mutex::new(None),
            in_flight: AtomicU32::new(0),
            most_in_flight: AtomicU32::new(0),
        }
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().unwrap())
    }

    /// Adds changes to the feed.
    pub fn publish(&self, changes: impl IntoIterator<Item = PulledChange>) {
        self.with(|s| s.changes.extend(changes));
    }

    /// Op ids applied, in order.
    pub fn applied_ids(&self) -> Vec<Uuid> {
        self.with(|s| s.applied.iter().map(|e| e.op_id).collect())
    }

    /// Forgets every token, as after a server-side revocation.
    pub fn revoke_tokens(&self) {
        self.with(|s| s.tokens.clear());
    }

    /// Revokes the device's sign-in: tokens and refresh credential, as an
    /// admin's `revoke-sign-in` does.
    pub fn revoke_sign_in(&self) {
        self.with(|s| {
            s.tokens.clear();
            s.refresh = None;
        });
    }

    /// A new token and refresh credential for the device.
    fn issue(state: &mut State, device: Uuid) -> LoginResponse {
        state.logins += 1;
        let token = format!("token-{}-{}", state.logins, device.simple());
        let refresh = format!("refresh-{}-{}", state.logins, device.simple());
        state.tokens.insert(token.clone());
        state.refresh = Some(refresh.clone());
        LoginResponse {
            token,
            expires_at: Utc::now() + Duration::days(3650),
            user_id: state.agent,
            role: Role::Agent,
            refresh_token: Some(refresh),
        }
    }

    fn refresh(state: &mut State, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        let Ok(refresh) = serde_json::from_slice::<RefreshRequest>(&request.body) else {
            return Ok(error(400, "bad_request"));
        };
        if state.refresh.as_deref() != Some(refresh.refresh_token.as_str()) {
            return Ok(error(401, "unauthorized"));
        }
        state.refreshes += 1;
        let answer = Self::issue(state, refresh.device_id);
        state.logins -= 1;
        if state.lose_refresh_responses > 0 {
            // Rotated, but the answer is lost: the device retries with the
            // credential it holds, which this fake then still takes (the real
            // server's rule for an unused successor).
            state.lose_refresh_responses -= 1;
            state.refresh = Some(refresh.refresh_token);
            return Err(TransportError::Timeout {
                reason: "response lost".into(),
            });
        }
        Ok(json(200, &answer))
    }

    fn authorised(state: &State, request: &HttpRequest) -> bool {
        request.headers.iter().any(|(name, value)| {
            name.eq_ignore_ascii_case("authorization")
                && value
                    .strip_prefix("Bearer ")
                    .is_some_and(|token| state.tokens.contains(token))
        })
    }

    fn login(state: &mut State, request: &HttpRequest) -> HttpResponse {
        let Ok(login) = serde_json::from_slice::<LoginRequest>(&request.body) else {
            return error(400, "bad_request");
        };
        if login.password != PASSWORD {
            return error(401, "unauthorized");
        }
        json(200, &Self::issue(state, login.device_id))
    }

    fn push(state: &mut State, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        state.push_requests += 1;
        let Ok(push) = serde_json::from_slice::<PushRequest>(&request.body) else {
            return Ok(error(400, "bad_request"));
        };
        let ops = push.into_entries();
        if ops.iter().any(|op| state.poison.contains(&op.op_id)) {
            return Ok(error(422, "invalid_push"));
        }
        let mut results = Vec::new();
        let mut applied = 0;
        for op in ops {
            let outcome = if let Some(code) = state.reject.get(&op.op_id) {
                OpOutcome::Rejected { code: *code }
            } else if state.applied_ids.contains(&op.op_id) {
                OpOutcome::Duplicate
            } else {
                state.applied_ids.insert(op.op_id);
                state.applied.push(op.clone());
                applied += 1;
                continue;
            };
            results.push(OpResult {
                op_id: op.op_id,
                outcome,
            });
        }
        if state.lose_push_responses > 0 {
            state.lose_push_responses -= 1;
            return Err(TransportError::Timeout {
                reason: "response lost".into(),
            });
        }
        Ok(json(
            200,
            &PushResponse {
                applied,
                not_applied: results,
            },
        ))
    }

    /// The size an applied `attached` entry states for a hash.
    fn attached_size(state: &State, sha256: &str) -> Option<u64> {
        state.applied.iter().find_map(|entry| {
            match serde_json::from_str::<VisitChange>(&entry.payload) {
                Ok(VisitChange::Attached { attachment }) if attachment.sha256 == sha256 => {
                    Some(attachment.size_bytes)
                }
                _ => None,
            }
        })
    }

    fn upload_state(state: &State, sha256: &str, total: u64) -> UploadState {
        let complete = state.complete.contains(sha256);
        UploadState {
            sha256: sha256.to_owned(),
            received: if complete {
                total
            } else {
                state.blobs.get(sha256).map_or(0, |b| b.len() as u64)
            },
            total,
            complete,
        }
    }

    fn attachment(
        state: &mut State,
        request: &HttpRequest,
        path: &str,
    ) -> Result<HttpResponse, TransportError> {
        if let Some((status, code)) = state.refuse_uploads {
            return Ok(error(status, code));
        }
        let rest = path.strip_prefix("/v1/attachments/").unwrap();
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (sha256, upload) = match rest.strip_suffix("/upload") {
            Some(sha) => (sha.to_owned(), true),
            None => (rest.to_owned(), false),
        };
        let Some(total) = Self::attached_size(state, &sha256) else {
            return Ok(error(404, "unknown_attachment"));
        };
        match (request.method.as_str(), upload) {
            ("GET", true) => Ok(json(200, &Self::upload_state(state, &sha256, total))),
            ("GET", false) => Ok(if state.complete.contains(&sha256) {
                HttpResponse {
                    status: 200,
                    headers: vec![],
                    body: state.blobs[&sha256].clone(),
                }
            } else {
                error(404, "attachment_not_uploaded")
            }),
            ("PUT", false) => {
                state.chunk_puts += 1;
                if let Some(left) = state.chunk_puts_before_failing.as_mut() {
                    if *left == 0 {
                        return Err(TransportError::Offline {
                            reason: "network lost".into(),
                        });
                    }
                    *left -= 1;
                }
                assert!(request.headers.iter().any(|(name, value)| {
                    name == "content-type" && value == "application/octet-stream"
                }));
                let mut offset = None;
                for pair in query.split('&') {
                    match pair.split_once('=') {
                        Some(("offset", value)) => offset = Some(value.parse::<u64>().unwrap()),
                        Some(("total", value)) => assert_eq!(value.parse::<u64>().unwrap(), total),
                        _ => {}
                    }
                }
                assert!(request.body.len() <= MAX_ATTACHMENT_CHUNK_BYTES);
                if state.complete.contains(&sha256) {
                    return Ok(json(200, &Self::upload_state(state, &sha256, total)));
                }
                let held = state.blobs.entry(sha256.clone()).or_default();
                if offset != Some(held.len() as u64) {
                    let received = held.len() as u64;
                    return Ok(json(
                        409,
                        &WrongOffset {
                            code: "wrong_offset".into(),
                            message: "resume".into(),
                            received,
                        },
                    ));
                }
                held.extend_from_slice(&request.body);
                state.bytes_received += request.body.len() as u64;
                if held.len() as u64 == total {
                    if sha256_hex(held) == sha256 {
                        state.complete.insert(sha256.clone());
                    } else {
                        state.blobs.remove(&sha256);
                        return Ok(error(422, "attachment_hash_mismatch"));
                    }
                }
                if state.lose_chunk_responses > 0 {
                    state.lose_chunk_responses -= 1;
                    return Err(TransportError::Timeout {
                        reason: "response lost".into(),
                    });
                }
                Ok(json(200, &Self::upload_state(state, &sha256, total)))
            }
            _ => Ok(error(405, "method_not_allowed")),
        }
    }

    fn pull(state: &mut State, path: &str) -> Result<HttpResponse, TransportError> {
        let query = path.split_once('?').map(|(_, q)| q).unwrap_or("");
        let mut cursor = 0u64;
        let mut limit = 1_000u32;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("cursor", value)) => cursor = value.parse().unwrap(),
                Some(("limit", value)) => limit = value.parse().unwrap(),
                _ => {}
            }
        }
        state.pull_cursors.push(cursor);
        if let Some(left) = state.pulls_before_failing.as_mut() {
            if *left == 0 {
                return Err(TransportError::Offline {
                    reason: "network lost".into(),
                });
            }
            *left -= 1;
        }
        if state.deactivated {
            return Ok(json(
                200,
                &PullResponse {
                    changes: vec![],
                    cursor,
                    more: false,
                    deactivated: true,
                    policy: state.policy.clone(),
                },
            ));
        }
        let start = usize::try_from(cursor).unwrap().min(state.changes.len());
        let take = limit.min(state.page_limit) as usize;
        let end = (start + take).min(state.changes.len());
        Ok(json(
            200,
            &PullResponse {
                changes: state.changes[start..end].to_vec(),
                cursor: end as u64,
                more: end < state.changes.len(),
                deactivated: false,
                policy: state.policy.clone(),
            },
        ))
    }
}

impl Transport for FakeServer {
    fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        let response = self.answer(request);
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        response
    }
}

impl FakeServer {
    fn answer(&self, mut request: HttpRequest) -> Result<HttpResponse, TransportError> {
        // Bodies may come zstd-compressed, as the real server accepts them.
        let zstd = request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("content-encoding") && v == "zstd");
        if zstd {
            request.body = zstd::decode_all(&request.body[..]).unwrap();
        }
        if request.path.starts_with("/v1/pull") {
            // The hook runs unlocked: it may act on the device, as an agent would
            // while a sync runs.
            let hook = self.on_pull.lock().unwrap().take();
            if let Some(mut hook) = hook {
                hook();
            }
        }
        let mut state = self.state.lock().unwrap();
        if state.fail_next > 0 {
            state.fail_next -= 1;
            return Err(TransportError::Offline {
                reason: "no network".into(),
            });
        }
        if state.unavailable_next > 0 {
            state.unavailable_next -= 1;
            return Ok(error(503, "unavailable"));
        }
        let path = request.path.clone();
        match (
            request.method.as_str(),
            path.split('?').next().unwrap_or(""),
        ) {
            ("POST", "/v1/login") => Ok(Self::login(&mut state, &request)),
            ("POST", "/v1/refresh") => Self::refresh(&mut state, &request),
            (_, p)
                if (p == "/v1/push" || p == "/v1/pull" || p.starts_with("/v1/attachments/"))
                    && !Self::authorised(&state, &request) =>
            {
                Ok(error(401, "unauthorized"))
            }
            (_, p) if p.starts_with("/v1/attachments/") => {
                Self::attachment(&mut state, &request, &path)
            }
            ("POST", "/v1/push") => Self::push(&mut state, &request),
            ("GET", "/v1/pull") => Self::pull(&mut state, &path),
            ("POST", "/v1/devices/wiped") if Self::authorised(&state, &request) => {
                if state.unavailable_wipe_confirmations > 0 {
                    state.unavailable_wipe_confirmations -= 1;
                    return Ok(error(503, "unavailable"));
                }
                state.wipes_confirmed += 1;
                Ok(HttpResponse {
                    status: 204,
                    headers: Vec::new(),
                    body: Vec::new(),
                })
            }
            _ => Ok(error(404, "not_found")),
        }
    }
}
