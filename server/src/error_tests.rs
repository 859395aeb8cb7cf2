use std::collections::HashMap;
use std::mem::discriminant;

use axum::body::to_bytes;
use axum::http::header;
use doorstep_core::domain::review::ReviewError;
use doorstep_core::policy::PolicyError;
use uuid::Uuid;

use super::*;

const ID: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

/// Every variant (each inner reason of the nested ones too), with the status,
/// code and message it is answered with: the same as before the errors were
/// variants, as clients, `docs/PROTOCOL.md` and `openapi.json` know them.
fn table() -> Vec<(ServiceError, u16, &'static str, String)> {
    use ServiceError as E;
    let row = |err: E, status, code, message: &str| (err, status, code, message.to_owned());
    vec![
        row(
            E::UnsupportedMediaType {
                expected: MediaType::Json,
            },
            415,
            "unsupported_media_type",
            "the body must be application/json",
        ),
        row(
            E::UnsupportedMediaType {
                expected: MediaType::OctetStream,
            },
            415,
            "unsupported_media_type",
            "a chunk must be application/octet-stream",
        ),
        row(
            E::UnsupportedEncoding,
            415,
            "unsupported_encoding",
            "bodies may be plain or zstd-compressed",
        ),
        row(
            E::BodyTooLarge(BodyLimit::Received),
            413,
            "payload_too_large",
            &format!("the body exceeds {MAX_BODY_BYTES} bytes"),
        ),
        row(
            E::BodyTooLarge(BodyLimit::Decompressed),
            413,
            "payload_too_large",
            &format!("the body inflates beyond {MAX_DECODED_BYTES} bytes"),
        ),
        row(
            E::UnreadableBody,
            400,
            "unreadable_body",
            "the body could not be read",
        ),
        row(
            E::MalformedZstd,
            400,
            "malformed_zstd",
            "the body is not valid zstd",
        ),
        row(
            E::MalformedJson { line: 1, column: 7 },
            400,
            "malformed_json",
            "the body is not valid JSON (line 1 column 7)",
        ),
        row(
            E::InvalidBody { line: 2, column: 3 },
            422,
            "invalid_body",
            "the body does not have the expected shape (line 2 column 3)",
        ),
        row(
            E::InvalidQuery(QueryParams::Pull),
            400,
            "invalid_query",
            "cursor and limit must be non-negative integers",
        ),
        row(
            E::InvalidQuery(QueryParams::Chain),
            400,
            "invalid_query",
            "from must be a non-negative integer",
        ),
        row(
            E::InvalidQuery(QueryParams::Chunk),
            400,
            "invalid_query",
            "offset and total must be non-negative integers",
        ),
        row(E::InvalidVisitId, 400, "invalid_visit_id", "not a visit id"),
        row(
            E::InvalidAppVersion,
            400,
            "invalid_app_version",
            "the Doorstep-App-Version header must be 1 to 40 printable ASCII characters",
        ),
        row(
            E::InvalidProtocol,
            400,
            "invalid_protocol",
            "the Doorstep-Protocol header must be a version number",
        ),
        row(
            E::ProtocolTooOld,
            426,
            "upgrade_required",
            &format!(
                "this app speaks a protocol older than version {MIN_PROTOCOL_VERSION}: \
                 update the app; its unsent work is kept"
            ),
        ),
        row(
            E::TooManyOps,
            413,
            "too_many_ops",
            &format!("at most {MAX_PUSH_OPS} operations per push"),
        ),
        row(
            E::NotFound(Missing::Endpoint),
            404,
            "not_found",
            "no such endpoint",
        ),
        row(
            E::NotFound(Missing::Visit),
            404,
            "not_found",
            "no such visit",
        ),
        row(
            E::NotFound(Missing::User),
            404,
            "not_found",
            "no user with that name",
        ),
        row(
            E::NotFound(Missing::Case(ID)),
            404,
            "not_found",
            &format!("no case {ID}"),
        ),
        row(
            E::NotFound(Missing::Device(ID)),
            404,
            "not_found",
            &format!("no device {ID}"),
        ),
        row(
            E::Unauthenticated(Unauthenticated::WrongCredentials),
            401,
            "unauthorized",
            "wrong user name or password",
        ),
        row(
            E::Unauthenticated(Unauthenticated::NoToken),
            401,
            "unauthorized",
            "a bearer token is required",
        ),
        row(
            E::Unauthenticated(Unauthenticated::InvalidToken),
            401,
            "unauthorized",
            "missing, expired or revoked token",
        ),
        row(
            E::DeviceNotRegistered,
            403,
            "device_not_registered",
            "this device is not registered to this user",
        ),
        row(
            E::DeviceDeactivated,
            403,
            "device_deactivated",
            "this device has been deactivated",
        ),
        row(
            E::UserDeactivated,
            403,
            "user_deactivated",
            "this user has been deactivated",
        ),
        row(
            E::NotAdmin,
            403,
            "not_admin",
            "only admins manage users, devices and teams",
        ),
        row(
            E::OwnAccount,
            409,
            "own_account",
            "an admin cannot deactivate their own account",
        ),
        row(
            E::DeviceActive,
            409,
            "device_active",
            "this device is not deactivated",
        ),
        row(
            E::DeviceTaken,
            409,
            "device_taken",
            "this device is registered to another user",
        ),
        row(
            E::InvalidDeviceId,
            422,
            "invalid_device_id",
            "this id is reserved and cannot be a device's",
        ),
        row(
            E::TooManyAttempts(TooManyAttempts {
                retry_after_seconds: 60,
            }),
            429,
            "too_many_attempts",
            "too many sign-in attempts; try again in 60 seconds",
        ),
        row(
            E::SignInBusy(SignInBusy {
                retry_after_seconds: 2,
            }),
            503,
            "sign_in_busy",
            "too many sign-ins at once; try again in 2 seconds",
        ),
        row(
            E::NotSupervisor,
            403,
            "not_supervisor",
            "only supervisors review visits",
        ),
        row(
            E::NotYourTeam,
            403,
            "not_your_team",
            "the visit belongs to another team",
        ),
        row(
            E::InvalidReview(ReviewError::IncompleteReturn),
            422,
            "invalid_review",
            "a return needs a reason code and a comment",
        ),
        row(
            E::VisitNotSubmitted {
                state: VisitState::Approved,
            },
            409,
            "visit_not_submitted",
            "the visit is approved",
        ),
        row(
            E::InvalidDecision(doorstep_core::domain::DecisionError::DateOutOfRange),
            422,
            "invalid_decision",
            "the date must be from the decision's day to 366 days after",
        ),
        row(
            E::InvalidFeedback(ReviewError::BadText),
            422,
            "invalid_feedback",
            "text must be present and at most 2000 characters",
        ),
        row(
            E::VisitNotApproved {
                state: VisitState::Submitted,
            },
            409,
            "visit_not_approved",
            "the visit is submitted",
        ),
        row(
            E::InvalidSha256,
            400,
            "invalid_sha256",
            "an attachment is named by the lower-case hex SHA-256 of its bytes",
        ),
        row(
            E::AttachmentTooLarge,
            413,
            "attachment_too_large",
            &format!("an attachment can be at most {MAX_ATTACHMENT_BYTES} bytes"),
        ),
        row(
            E::ChunkTooLarge,
            413,
            "chunk_too_large",
            &format!("a chunk can be at most {MAX_ATTACHMENT_CHUNK_BYTES} bytes"),
        ),
        row(E::EmptyChunk, 422, "empty_chunk", "a chunk needs bytes"),
        row(
            E::ChunkBeyondTotal,
            422,
            "chunk_beyond_total",
            "the chunk ends after the attachment's last byte",
        ),
        row(
            E::AttachmentSizeMismatch,
            422,
            "attachment_size_mismatch",
            "total is not the size the attachment was recorded with",
        ),
        row(
            E::AttachmentHashMismatch,
            422,
            "attachment_hash_mismatch",
            "the bytes do not match their SHA-256; send them again from offset 0",
        ),
        row(
            E::WrongOffset { received: 4096 },
            409,
            "wrong_offset",
            "send the bytes from `received` on",
        ),
        row(
            E::NotTheUploader,
            403,
            "not_assigned",
            "only the device that attached these bytes may upload them",
        ),
        row(
            E::UnknownAttachment,
            404,
            "unknown_attachment",
            "no admitted change refers to this attachment",
        ),
        row(
            E::AttachmentNotVisible,
            403,
            "attachment_not_visible",
            "this attachment belongs to visits you cannot see",
        ),
        row(
            E::AttachmentNotUploaded,
            404,
            "attachment_not_uploaded",
            "the device has not uploaded these bytes yet",
        ),
        row(
            E::NewUserRefused(NewUserRefused::EmptyUserName),
            422,
            "empty_user_name",
            "the user name is empty",
        ),
        row(
            E::NewUserRefused(NewUserRefused::UserNameSpaceAround),
            422,
            "user_name_space_around",
            "the user name starts or ends with white space",
        ),
        row(
            E::NewUserRefused(NewUserRefused::UserNameHiddenCharacter),
            422,
            "user_name_hidden_character",
            "the user name holds a bidirectional or control character",
        ),
        row(
            E::NewUserRefused(NewUserRefused::PasswordTooShort),
            422,
            "password_too_short",
            "the password is shorter than 12 characters",
        ),
        row(
            E::NamedNotSupervisor,
            400,
            "not_a_supervisor",
            "the named supervisor is not a supervisor",
        ),
        row(
            E::ManagesNoCases,
            403,
            "not_a_supervisor",
            "only supervisors and admins manage cases",
        ),
        row(
            E::UnknownAgent(ID),
            422,
            "unknown_agent",
            &format!("no user {ID}"),
        ),
        row(
            E::NotAnAgent(ID),
            422,
            "not_an_agent",
            &format!("user {ID} is not an agent"),
        ),
        row(
            E::InvalidCase {
                case: ID,
                reason: CaseError::BadPriority,
            },
            422,
            "invalid_case",
            &format!("case {ID}: case priority must be 1 to 5"),
        ),
        row(
            E::PartnerIsAgent,
            422,
            "partner_is_agent",
            "the partner is the primary agent",
        ),
        row(
            E::OtherTeamCase(ID),
            403,
            "other_team_case",
            &format!("case {ID} belongs to another team"),
        ),
        row(
            E::OtherTeamAgent(Some(ID)),
            403,
            "other_team_agent",
            &format!("case {ID}: an agent of another team"),
        ),
        row(
            E::OtherTeamAgent(None),
            403,
            "other_team_agent",
            "an agent of another team",
        ),
        row(
            E::TemplateExists,
            409,
            "template_exists",
            "this template key and version are already published",
        ),
        row(
            E::TemplateNotRetirable,
            409,
            "template_not_retirable",
            "only a version with a newer version in use can be retired, once",
        ),
        row(
            E::InvalidPolicy(PolicyRefused::NotJson("expected value".into())),
            422,
            "invalid_policy",
            "not JSON: expected value",
        ),
        row(
            E::InvalidPolicy(PolicyRefused::NotAnObject),
            422,
            "invalid_policy",
            "a policy is a JSON object",
        ),
        row(
            E::InvalidPolicy(PolicyRefused::UnknownField("contact_hour_end".into())),
            422,
            "invalid_policy",
            "unknown field contact_hour_end",
        ),
        row(
            E::InvalidPolicy(PolicyRefused::WrongValue("invalid type".into())),
            422,
            "invalid_policy",
            "invalid type",
        ),
        row(
            E::InvalidPolicy(PolicyRefused::Senseless(PolicyError::EmptyContactHours)),
            422,
            "invalid_policy",
            "contact hours must start before they end",
        ),
        row(
            E::PolicyUnchanged { in_force: 3 },
            409,
            "policy_unchanged",
            "this is the policy in force (version 3)",
        ),
        row(
            E::PolicyExists,
            409,
            "policy_exists",
            "another admin published this version meanwhile; try again",
        ),
        row(
            E::AlreadyExists { what: "user" },
            409,
            "already_exists",
            "user already exists",
        ),
        row(
            E::Unstorable,
            422,
            "unstorable_text",
            "the request holds text the server cannot store (a NUL character)",
        ),
        row(
            E::ServerBusy,
            503,
            "server_busy",
            "the server is busy; try again shortly",
        ),
        row(
            E::internal(&"disk on fire"),
            500,
            "internal",
            "the server failed to handle the request",
        ),
    ]
}

/// Names every variant without a wildcard: a new variant does not compile
/// until it is named here, which is the reminder to add it to [`table`].
fn named(err: &ServiceError) -> bool {
    use ServiceError as E;
    match err {
        E::UnsupportedMediaType { .. }
        | E::UnsupportedEncoding
        | E::BodyTooLarge(_)
        | E::UnreadableBody
        | E::MalformedZstd
        | E::MalformedJson { .. }
        | E::InvalidBody { .. }
        | E::InvalidQuery(_)
        | E::InvalidVisitId
        | E::InvalidProtocol
        | E::InvalidAppVersion
        | E::ProtocolTooOld
        | E::TooManyOps
        | E::NotFound(_)
        | E::Unauthenticated(_)
        | E::DeviceNotRegistered
        | E::DeviceDeactivated
        | E::UserDeactivated
        | E::NotAdmin
        | E::DeviceActive
        | E::OwnAccount
        | E::DeviceTaken
        | E::InvalidDeviceId
        | E::TooManyAttempts(_)
        | E::SignInBusy(_)
        | E::NotSupervisor
        | E::NotYourTeam
        | E::InvalidReview(_)
        | E::VisitNotSubmitted { .. }
        | E::InvalidDecision(_)
        | E::InvalidFeedback(_)
        | E::VisitNotApproved { .. }
        | E::InvalidSha256
        | E::AttachmentTooLarge
        | E::ChunkTooLarge
        | E::EmptyChunk
        | E::ChunkBeyondTotal
        | E::AttachmentSizeMismatch
        | E::AttachmentHashMismatch
        | E::WrongOffset { .. }
        | E::NotTheUploader
        | E::UnknownAttachment
        | E::AttachmentNotVisible
        | E::AttachmentNotUploaded
        | E::NewUserRefused(_)
        | E::NamedNotSupervisor
        | E::ManagesNoCases
        | E::UnknownAgent(_)
        | E::NotAnAgent(_)
        | E::InvalidCase { .. }
        | E::PartnerIsAgent
        | E::OtherTeamCase(_)
        | E::OtherTeamAgent(_)
        | E::TemplateExists
        | E::TemplateNotRetirable
        | E::InvalidPolicy(_)
        | E::PolicyUnchanged { .. }
        | E::PolicyExists
        | E::AlreadyExists { .. }
        | E::Unstorable
        | E::ServerBusy
        | E::Internal(_) => true,
    }
}

/// How many variants [`named`] names.
const VARIANTS: usize = 62;

#[test]
fn each_variant_has_its_status_code_and_message() {
    for (err, status, code, message) in table() {
        assert!(named(&err));
        assert_eq!(err.status().as_u16(), status, "{err:?}");
        assert_eq!(err.code(), code, "{err:?}");
        assert_eq!(err.to_string(), message, "{err:?}");
        assert_eq!(err.report(), format!("{status} {code}: {message}"));
    }
}

#[test]
fn every_variant_is_in_the_table_and_no_two_share_a_code() {
    let table = table();
    let mut variants = Vec::new();
    for (err, ..) in &table {
        if !variants.contains(&discriminant(err)) {
            variants.push(discriminant(err));
        }
    }
    assert_eq!(
        variants.len(),
        VARIANTS,
        "a variant is missing from the table"
    );

    // One code names one variant (a nested reason, such as which query or
    // which credentials, does not change it), and comes with one status.
    // The one exception is older than the variants: `not_a_supervisor`
    // answers both a supervisor named for a new user who is not one (400,
    // the admin command line) and an agent managing cases (403); the wire
    // keeps both.
    let mut by_code: HashMap<&str, Vec<&ServiceError>> = HashMap::new();
    for (err, ..) in &table {
        by_code.entry(err.code()).or_default().push(err);
    }
    for (code, errors) in by_code {
        let first = errors[0];
        for other in &errors[1..] {
            if code == "not_a_supervisor" {
                continue;
            }
            assert_eq!(
                discriminant(first),
                discriminant(*other),
                "{code} names {first:?} and {other:?}"
            );
            assert_eq!(first.status(), other.status(), "{code}");
        }
    }
}

async fn answer(err: ServiceError) -> (u16, axum::http::HeaderMap, serde_json::Value) {
    let response = err.into_response();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, headers, serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn the_answer_is_the_status_and_the_error_body() {
    for (err, status, code, message) in table() {
        let special = matches!(
            err,
            ServiceError::WrongOffset { .. }
                | ServiceError::ProtocolTooOld
                | ServiceError::TooManyAttempts(_)
                | ServiceError::SignInBusy(_)
                | ServiceError::ServerBusy
        );
        let (answered, headers, body) = answer(err).await;
        assert_eq!(answered, status);
        assert_eq!(body["code"], code);
        assert_eq!(body["message"], message.as_str());
        if !special {
            assert_eq!(body.as_object().unwrap().len(), 2, "{body}");
            assert!(headers.get(header::RETRY_AFTER).is_none());
        }
    }
}

#[tokio::test]
async fn a_few_refusals_carry_more_than_code_and_message() {
    let (_, _, body) = answer(ServiceError::WrongOffset { received: 4096 }).await;
    assert_eq!(body["received"], 4096);
    let (_, _, body) = answer(ServiceError::ProtocolTooOld).await;
    assert_eq!(body["minimum_version"], MIN_PROTOCOL_VERSION);
    let (_, headers, _) = answer(ServiceError::TooManyAttempts(TooManyAttempts {
        retry_after_seconds: 60,
    }))
    .await;
    assert_eq!(headers[header::RETRY_AFTER], "60");
    let (_, headers, _) = answer(ServiceError::SignInBusy(SignInBusy {
        retry_after_seconds: 2,
    }))
    .await;
    assert_eq!(headers[header::RETRY_AFTER], "2");
    let (_, headers, _) = answer(ServiceError::ServerBusy).await;
    assert_eq!(
        headers[header::RETRY_AFTER],
        SERVER_BUSY_RETRY_SECONDS.to_string().as_str()
    );
}

#[tokio::test]
async fn an_internal_failure_answers_no_detail() {
    let detail = "database error: duplicate key 王小明 13800138000";
    let failed = ServiceError::internal(&detail);
    assert_eq!(
        failed,
        ServiceError::Internal(Failure {
            detail: detail.to_owned()
        })
    );
    assert!(!failed.to_string().contains("王小明"));
    assert!(!failed.report().contains("王小明"));
    let response = failed.into_response();
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert!(!text.contains("王小明"), "{text}");
    assert!(!text.contains("duplicate"), "{text}");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        serde_json::json!({
            "code": "internal",
            "message": "the server failed to handle the request",
        })
    );

    // A store failure is one too; the store's refusals of the client's input
    // are not.
    let store = ServiceError::from(StoreError::Database("row 王小明".into()));
    assert_eq!(store.code(), "internal");
    assert!(!store.to_string().contains("王小明"));
    assert_eq!(
        ServiceError::from(StoreError::Conflict("user")),
        ServiceError::AlreadyExists { what: "user" }
    );
    assert_eq!(
        ServiceError::from(StoreError::Unstorable),
        ServiceError::Unstorable
    );
}
