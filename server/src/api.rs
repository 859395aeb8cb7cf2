//! The HTTP surface: [`app`] builds the router; handlers read bodies with
//! [`JsonBody`], authenticate with [`Bearer`], and run the service on the
//! blocking pool. Every refusal, the extractors' included, is a
//! [`ServiceError`], answered by its one `IntoResponse`.

use crate::app_version::AppVersion;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, FailedToBufferBody};
use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State};
use axum::http::{StatusCode, header, request::Parts};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use doorstep_core::clock::WallClock;
use doorstep_core::domain::VisitId;
use doorstep_core::sync::protocol::{
    LoginRequest, MAX_BODY_BYTES, MAX_PULL_LIMIT, MAX_PUSH_OPS, RefreshRequest,
    RegisterDeviceRequest, ReviewRequest,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::blobs::BlobStore;
use crate::error::{BodyLimit, MediaType, Missing, QueryParams, ServiceError, Unauthenticated};
use crate::login_limit::{ClientAddress, LoginLimiter};
use crate::metrics::Metrics;
use crate::password_gate::PasswordGate;
use crate::protocol_version::{AnyPushBody, ClientProtocol, NamedProtocol};
use crate::service::{self, Session};
use crate::sign_in_guard::{self, Attempt, SignInGuard};
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The storage backend.
    pub store: Arc<dyn Store>,
    /// The clock for token expiry and audit times.
    pub clock: Arc<dyn WallClock>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Attachment bytes.
    pub blobs: Arc<dyn BlobStore>,
    /// The limits on sign-ins, per user name and client address.
    pub login_limiter: Arc<LoginLimiter>,
    /// The bound on password checks running at once.
    pub password_gate: Arc<PasswordGate>,
}

impl AppState {
    /// State over a store and a blob store, with the system clock and fresh
    /// counters.
    pub fn new(store: Arc<dyn Store>, blobs: Arc<dyn BlobStore>) -> Self {
        AppState {
            store,
            clock: Arc::new(doorstep_core::clock::SystemClock),
            metrics: Arc::new(Metrics::default()),
            blobs,
            login_limiter: Arc::new(LoginLimiter::default()),
            password_gate: Arc::new(PasswordGate::default()),
        }
    }

    /// What a guarded sign-in needs ([`sign_in_guard::guarded`]).
    pub fn sign_in_guard(&self) -> SignInGuard {
        SignInGuard {
            store: self.store.clone(),
            clock: self.clock.clone(),
            limiter: self.login_limiter.clone(),
            gate: self.password_gate.clone(),
        }
    }
}

/// Builds the whole service, with the supervisor console in its default setup.
pub fn app(state: AppState) -> Router {
    app_with_console(state, crate::console::ConsoleConfig::default())
}

/// Builds the whole service, with the supervisor console set up by `console`.
pub fn app_with_console(state: AppState, console: crate::console::ConsoleConfig) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/v1/login", post(login))
        .route("/v1/refresh", post(refresh))
        .route("/v1/logout", post(logout))
        .route("/v1/push", post(push))
        .route("/v1/pull", get(pull))
        .route("/v1/visits/{visit_id}/review", post(review))
        .route("/v1/visits/{visit_id}/chain", get(own_chain))
        .route(
            "/v1/attachments/{sha256}",
            get(download_attachment).put(upload_chunk),
        )
        .route("/v1/attachments/{sha256}/upload", get(upload_state))
        .route("/v1/devices", post(register_device))
        .route("/v1/devices/wiped", post(confirm_wipe))
        .merge(crate::console::router(&state, console))
        .fallback(not_found)
        .layer(middleware::from_fn(
            crate::protocol_version::require_supported,
        ))
        .layer(middleware::from_fn(
            crate::compression::compress_json_responses,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(state)
}

async fn count_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    // Route template and status only: never ids, bodies or customer data.
    tracing::info!(route = %route, status = response.status().as_u16(), "request");
    state
        .metrics
        .count_request(&route, response.status().as_u16());
    response
}

/// Runs blocking service code off the async workers.
async fn blocking<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, ServiceError> + Send + 'static,
) -> Result<R, ServiceError> {
    tokio::task::spawn_blocking(f).await?
}

/// A JSON request body: `Content-Type: application/json`, plain or
/// `Content-Encoding: zstd`, at most [`MAX_BODY_BYTES`] on the wire and
/// [`MAX_DECODED_BYTES`] decompressed. Syntax errors are 400, shape errors 422.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ServiceError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ServiceError> {
        let headers = request.headers();
        let is_json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !is_json {
            return Err(ServiceError::UnsupportedMediaType {
                expected: MediaType::Json,
            });
        }
        let zstd = match headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.as_bytes().to_ascii_lowercase())
        {
            None => false,
            Some(v) if v == b"identity" => false,
            Some(v) if v == b"zstd" => true,
            Some(_) => return Err(ServiceError::UnsupportedEncoding),
        };
        let bytes = Bytes::from_request(request, state).await.map_err(|e| {
            if over_the_limit(&e) {
                ServiceError::BodyTooLarge(BodyLimit::Received)
            } else {
                ServiceError::UnreadableBody
            }
        })?;
        let bytes = if zstd {
            Bytes::from(decompress(&bytes)?)
        } else {
            bytes
        };
        serde_json::from_slice(&bytes).map(JsonBody).map_err(|e| {
            // Only the error's category and position: its text may quote input.
            let (line, column) = (e.line(), e.column());
            match e.classify() {
                serde_json::error::Category::Data => ServiceError::InvalidBody { line, column },
                _ => ServiceError::MalformedJson { line, column },
            }
        })
    }
}

/// Whether a body could not be read because it is over the request limit
/// (rather than, say, a connection closed midway).
fn over_the_limit(rejection: &BytesRejection) -> bool {
    matches!(
        rejection,
        BytesRejection::FailedToBufferBody(FailedToBufferBody::LengthLimitError(_))
    )
}

/// Largest body after zstd decompression, in bytes.
pub const MAX_DECODED_BYTES: usize = 8 * MAX_BODY_BYTES;

/// Decompresses a zstd body, refusing to inflate beyond [`MAX_DECODED_BYTES`].
fn decompress(compressed: &[u8]) -> Result<Vec<u8>, ServiceError> {
    use std::io::Read as _;
    let decoder =
        zstd::stream::read::Decoder::new(compressed).map_err(|_| ServiceError::MalformedZstd)?;
    let mut out = Vec::new();
    let limit = u64::try_from(MAX_DECODED_BYTES).unwrap_or(u64::MAX);
    decoder
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|_| ServiceError::MalformedZstd)?;
    if out.len() > MAX_DECODED_BYTES {
        return Err(ServiceError::BodyTooLarge(BodyLimit::Decompressed));
    }
    Ok(out)
}

/// An authenticated request (`Authorization: Bearer <token>`).
pub struct Bearer(pub Session);

impl FromRequestParts<AppState> for Bearer {
    type Rejection = ServiceError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ServiceError> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(ServiceError::Unauthenticated(Unauthenticated::NoToken))?;
        let store = state.store.clone();
        let now = state.clock.now();
        let session = blocking(move || service::authenticate(store.as_ref(), &token, now)).await?;
        Ok(Bearer(session))
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn metrics(State(state): State<AppState>) -> Response {
    let mut text = state.metrics.render();
    text.push_str(&state.password_gate.render_metrics());
    if let Some(waits) = state.store.lock_waits() {
        text.push_str(&waits.render());
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response()
}

/// The OpenAPI document of this API, as served at `/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON).into_response()
}

async fn not_found() -> ServiceError {
    ServiceError::NotFound(Missing::Endpoint)
}

async fn login(
    State(state): State<AppState>,
    protocol: ClientProtocol,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<LoginRequest>,
) -> Result<Response, ServiceError> {
    let with_refresh = protocol.0 >= REFRESH_PROTOCOL;
    let store = state.store.clone();
    let attempt = Attempt {
        channel: "login",
        username: request.username.clone(),
        address,
        device: Some(request.device_id),
    };
    let response = sign_in_guard::guarded(
        state.sign_in_guard(),
        attempt,
        move |now| service::login(store.as_ref(), &request, with_refresh, now),
        sign_in_guard::judge_api,
    )
    .await??;
    Ok(Json(response).into_response())
}

/// The first protocol version whose sign-in gives a refresh credential.
const REFRESH_PROTOCOL: u32 = 4;

/// `POST /v1/refresh`: the next token and refresh credential for a device
/// (protocol version 4 on; [`service::refresh`]). No password is checked, so
/// it is not one of the sign-in attempts the limit counts.
async fn refresh(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RefreshRequest>,
) -> Result<Response, ServiceError> {
    let store = state.store.clone();
    let now = state.clock.now();
    let response =
        blocking(move || service::refresh::refresh(store.as_ref(), &request, now)).await?;
    Ok(Json(response).into_response())
}

async fn register_device(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    JsonBody(request): JsonBody<RegisterDeviceRequest>,
) -> Result<Response, ServiceError> {
    let store = state.store.clone();
    let attempt = Attempt {
        channel: "register_device",
        username: request.username.clone(),
        address,
        device: Some(request.device_id),
    };
    let response = sign_in_guard::guarded(
        state.sign_in_guard(),
        attempt,
        move |now| service::devices::register_device(store.as_ref(), &request, now),
        sign_in_guard::judge_api,
    )
    .await??;
    Ok(Json(response).into_response())
}

/// `POST /v1/devices/wiped`: a deactivated device confirms it wiped its
/// customer data ([`service::devices::confirm_wipe`]).
async fn confirm_wipe(
    State(state): State<AppState>,
    Bearer(session): Bearer,
) -> Result<StatusCode, ServiceError> {
    let store = state.store.clone();
    let now = state.clock.now();
    blocking(move || service::devices::confirm_wipe(store.as_ref(), &session, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn logout(
    State(state): State<AppState>,
    Bearer(session): Bearer,
) -> Result<StatusCode, ServiceError> {
    let store = state.store.clone();
    let now = state.clock.now();
    blocking(move || service::logout(store.as_ref(), &session, now)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn push(
    State(state): State<AppState>,
    protocol: NamedProtocol,
    AppVersion(app_version): AppVersion,
    Bearer(session): Bearer,
    JsonBody(body): JsonBody<AnyPushBody>,
) -> Result<Response, ServiceError> {
    let too_many = match &body {
        AnyPushBody::Chains(request) => request.len() > MAX_PUSH_OPS,
        AnyPushBody::Ops(request) => request.ops.len() > MAX_PUSH_OPS,
    };
    if too_many {
        return Err(ServiceError::TooManyOps);
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let (answer, counts) = blocking(move || {
        let pushed = protocol.push(body);
        let checks = service::push::PushRules {
            now,
            max_clock_skew: chrono::Duration::hours(service::push::MAX_CLOCK_SKEW_HOURS),
            protocol: Some(pushed.protocol.0),
            app_version,
        };
        let (response, counts) =
            service::push::push(store.as_ref(), &session, &pushed.entries, &checks)?;
        Ok((
            pushed.protocol.push_response(response, &pushed.entries),
            counts,
        ))
    })
    .await?;
    state.metrics.count_ops(counts);
    Ok(Json(answer).into_response())
}

/// Query of `GET /v1/pull`.
#[derive(Debug, Deserialize)]
pub struct PullQuery {
    /// Last sequence number seen; 0 for everything.
    #[serde(default)]
    pub cursor: u64,
    /// Page size: clamped to `1..=`[`MAX_PULL_LIMIT`] (a larger limit is
    /// served as the largest page, 0 as 1); [`MAX_PULL_LIMIT`] when absent.
    pub limit: Option<u32>,
}

async fn pull(
    State(state): State<AppState>,
    protocol: NamedProtocol,
    AppVersion(app_version): AppVersion,
    Bearer(session): Bearer,
    query: Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ServiceError> {
    let Query(query) = query.map_err(|_| ServiceError::InvalidQuery(QueryParams::Pull))?;
    let store = state.store.clone();
    let now = state.clock.now();
    let limit = query.limit.unwrap_or(MAX_PULL_LIMIT);
    let response = blocking(move || {
        let page = service::pull::Page {
            cursor: query.cursor,
            limit,
            protocol: protocol.0,
            app_version,
        };
        service::pull::pull(store.as_ref(), &session, page, now)
    })
    .await?;
    Ok(Json(response).into_response())
}

async fn review(
    State(state): State<AppState>,
    Bearer(session): Bearer,
    visit_id: Result<Path<VisitId>, axum::extract::rejection::PathRejection>,
    JsonBody(request): JsonBody<ReviewRequest>,
) -> Result<Response, ServiceError> {
    let Path(visit_id) = visit_id.map_err(|_| ServiceError::InvalidVisitId)?;
    let store = state.store.clone();
    let now = state.clock.now();
    let entry = blocking(move || {
        service::review::review(store.as_ref(), &session, visit_id, request.decision, now)
    })
    .await?;
    Ok(Json(entry).into_response())
}

/// Query of `GET /v1/visits/{visit_id}/chain`.
#[derive(Debug, Deserialize)]
pub struct ChainQuery {
    /// First chain position wanted; 0 for the whole chain.
    #[serde(default)]
    pub from: u64,
}

async fn own_chain(
    State(state): State<AppState>,
    protocol: ClientProtocol,
    Bearer(session): Bearer,
    visit_id: Result<Path<VisitId>, axum::extract::rejection::PathRejection>,
    query: Result<Query<ChainQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ServiceError> {
    let Path(visit_id) = visit_id.map_err(|_| ServiceError::InvalidVisitId)?;
    let Query(query) = query.map_err(|_| ServiceError::InvalidQuery(QueryParams::Chain))?;
    let store = state.store.clone();
    let now = state.clock.now();
    let chain = blocking(move || {
        service::chain::own_chain(store.as_ref(), &session, visit_id, query.from, now)
    })
    .await?;
    Ok(Json(protocol.chain_response(chain)).into_response())
}

/// Query of `PUT /v1/attachments/{sha256}`.
#[derive(Debug, Deserialize)]
pub struct ChunkQuery {
    /// Where the chunk starts in the attachment's bytes.
    pub offset: u64,
    /// The attachment's whole size.
    pub total: u64,
}

async fn upload_state(
    State(state): State<AppState>,
    Bearer(session): Bearer,
    Path(sha256): Path<String>,
) -> Result<Response, ServiceError> {
    let (store, blobs) = (state.store.clone(), state.blobs.clone());
    let answer = blocking(move || {
        service::attachments::upload_state(store.as_ref(), &blobs, &session, &sha256)
    })
    .await?;
    Ok(Json(answer).into_response())
}

async fn upload_chunk(
    State(state): State<AppState>,
    Bearer(session): Bearer,
    Path(sha256): Path<String>,
    query: Result<Query<ChunkQuery>, axum::extract::rejection::QueryRejection>,
    request: Request,
) -> Result<Response, ServiceError> {
    let Query(query) = query.map_err(|_| ServiceError::InvalidQuery(QueryParams::Chunk))?;
    let is_octets = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("application/octet-stream"));
    if !is_octets {
        return Err(ServiceError::UnsupportedMediaType {
            expected: MediaType::OctetStream,
        });
    }
    let chunk = Bytes::from_request(request, &state).await.map_err(|e| {
        if over_the_limit(&e) {
            ServiceError::ChunkTooLarge
        } else {
            ServiceError::UnreadableBody
        }
    })?;
    let (store, blobs) = (state.store.clone(), state.blobs.clone());
    let now = state.clock.now();
    let answer = blocking(move || {
        let chunk = service::attachments::Chunk {
            sha256: &sha256,
            offset: query.offset,
            total: query.total,
            bytes: &chunk,
        };
        service::attachments::put_chunk(store.as_ref(), &blobs, &session, chunk, now)
    })
    .await?;
    Ok(Json(answer).into_response())
}

async fn download_attachment(
    State(state): State<AppState>,
    Bearer(session): Bearer,
    Path(sha256): Path<String>,
) -> Result<Response, ServiceError> {
    let (store, blobs) = (state.store.clone(), state.blobs.clone());
    let now = state.clock.now();
    let etag = format!("\"{sha256}\"");
    let blob = blocking(move || {
        service::attachments::download(store.as_ref(), &blobs, &session, &sha256, now)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
            (header::ETAG, etag),
            (header::CONTENT_LENGTH, blob.size().to_string()),
        ],
        axum::body::Body::from_stream(blob.into_stream()),
    )
        .into_response())
}
