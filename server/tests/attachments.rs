//! Router tests for attachment bytes: the resumable chunked upload, its checks
//! and every denial, and who may download.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use backends::blocking;
use common::*;
use doorstep_core::domain::VisitChange;
use doorstep_core::domain::attachment::{
    Attachment, AttachmentKind, AttachmentLink, MAX_ATTACHMENT_BYTES, sha256_hex,
};
use doorstep_core::sync::protocol::{MAX_ATTACHMENT_CHUNK_BYTES, Role};
use doorstep_server::admin;
use doorstep_server::store;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use uuid::Uuid;

const CHUNK: usize = MAX_ATTACHMENT_CHUNK_BYTES;

/// Runs each check three times, each on a fresh world in a runtime of its
/// own (the S3 and PostgreSQL stores are opened and closed outside it: they
/// block): on SQLite with the attachment bytes in a directory (`fs::`) and in
/// S3 (`s3::`, when `DOORSTEP_TEST_S3_URL` is set; on CI it must be), and on
/// PostgreSQL with the bytes in a directory (`postgres::`, when
/// `DOORSTEP_TEST_DATABASE_URL` is set; on CI it must be).
macro_rules! on_both_blob_stores {
    ($($check:ident),* $(,)?) => {
        mod fs {
            $(
                #[test]
                fn $check() {
                    crate::backends::run(crate::common::World::new(), super::$check);
                }
            )*
        }
        mod s3 {
            $(
                #[test]
                fn $check() {
                    let name = concat!("s3::", stringify!($check));
                    if let Some(blobs) = crate::common::s3_blobs(name) {
                        crate::backends::run(
                            crate::common::World::with_blobs(blobs),
                            super::$check,
                        );
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $check() {
                    let name = concat!("postgres::", stringify!($check));
                    if let Some(store) = crate::console_support::postgres_store(name) {
                        crate::backends::run(
                            crate::common::World::with_store(store),
                            super::$check,
                        );
                    }
                }
            )*
        }
    };
}

on_both_blob_stores!(
    a_photo_goes_up_in_chunks_resumes_after_an_interruption_and_comes_back_whole,
    bytes_that_do_not_match_their_hash_are_refused_and_discarded,
    oversized_malformed_and_inconsistent_chunks_are_refused_with_a_code,
    only_the_agents_of_the_visit_may_upload_its_bytes,
    a_hash_copied_into_ones_own_visit_is_not_a_key_to_someone_elses_photo,
    an_agent_whose_case_was_reassigned_still_uploads_but_no_longer_downloads,
    downloads_go_to_the_visits_agents_its_supervisor_and_admins_and_are_audited,
    the_largest_attachment_is_streamed_back_with_its_length,
);

fn photo_bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

fn attached(sha256: &str, size_bytes: u64) -> VisitChange {
    VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: sha256.to_owned(),
            size_bytes,
            link: AttachmentLink::Visit,
            taken_at: t0(),
        },
    }
}

/// Agent 1 pushes a visit of case 1 that refers to a photo with this hash and
/// size; returns agent 1's token.
async fn visit_with_photo(w: &World, sha256: &str, size: u64) -> String {
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let ops = [
        phone.act(&planned(&w.case1)),
        phone.act(&notice()),
        phone.act(&VisitChange::CheckedIn { check: site() }),
        phone.act(&attached(sha256, size)),
    ];
    let outcomes = w.push_outcomes(&token, &ops).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    token
}

async fn put_chunk(
    w: &World,
    token: &str,
    sha256: &str,
    offset: u64,
    total: u64,
    bytes: &[u8],
) -> (StatusCode, Value) {
    let request = Request::builder()
        .method("PUT")
        .uri(format!(
            "/v1/attachments/{sha256}?offset={offset}&total={total}"
        ))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/octet-stream")
        .body(Body::from(bytes.to_vec()))
        .unwrap();
    w.raw(request).await
}

async fn upload_state(w: &World, token: &str, sha256: &str) -> (StatusCode, Value) {
    w.send(
        "GET",
        &format!("/v1/attachments/{sha256}/upload"),
        Some(token),
        None,
    )
    .await
}

/// Downloads the bytes: the status, and the bytes or the error body.
async fn download(w: &World, token: &str, sha256: &str) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method("GET")
        .uri(format!("/v1/attachments/{sha256}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = doorstep_server::app(w.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    let status = response.status();
    if status == StatusCode::OK {
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/octet-stream"
        );
        assert_eq!(
            response.headers()[header::X_CONTENT_TYPE_OPTIONS],
            "nosniff"
        );
    }
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, bytes.to_vec())
}

fn code(body: &[u8]) -> String {
    serde_json::from_slice::<Value>(body).unwrap()["code"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn admin_token(w: &Arc<World>) -> String {
    let device = Uuid::now_v7();
    blocking(w, move |w| {
        let s = w.state.store.as_ref();
        admin::create_user(s, "admin", "pw-admin-secret", Role::Admin, None, t0()).unwrap();
        admin::create_device(s, "admin", device, t0()).unwrap();
    })
    .await;
    w.login("admin", device).await
}

/// The audit log, read off the async workers.
async fn audit_log(w: &Arc<World>) -> Vec<store::AuditRecord> {
    blocking(w, |w| {
        store::read(w.state.store.as_ref(), |tx| tx.audit_log()).unwrap()
    })
    .await
}

async fn a_photo_goes_up_in_chunks_resumes_after_an_interruption_and_comes_back_whole(
    w: Arc<World>,
) {
    let photo = photo_bytes(2 * CHUNK + 12_345, 7);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let token = visit_with_photo(&w, &sha, total).await;

    let (status, state) = upload_state(&w, &token, &sha).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["received"], 0);
    assert_eq!(state["total"], total);
    assert_eq!(state["complete"], false);
    assert_eq!(state["sha256"], sha.as_str());

    let (status, state) = put_chunk(&w, &token, &sha, 0, total, &photo[..CHUNK]).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["received"], CHUNK);
    assert_eq!(state["complete"], false);
    // The connection drops; the device asks where to resume.
    let (_, state) = upload_state(&w, &token, &sha).await;
    assert_eq!(state["received"], CHUNK);
    // A chunk sent again from the start is refused with where the bytes end.
    let (status, body) = put_chunk(&w, &token, &sha, 0, total, &photo[..CHUNK]).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["code"], "wrong_offset");
    assert_eq!(body["received"], CHUNK);
    // So is one that skips ahead.
    let (status, body) = put_chunk(
        &w,
        &token,
        &sha,
        2 * CHUNK as u64,
        total,
        &photo[2 * CHUNK..],
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(body["received"], CHUNK);
    // Not yet downloadable.
    let (status, body) = download(&w, &token, &sha).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "attachment_not_uploaded");

    let (status, state) = put_chunk(
        &w,
        &token,
        &sha,
        CHUNK as u64,
        total,
        &photo[CHUNK..2 * CHUNK],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["received"], 2 * CHUNK);
    let (status, state) = put_chunk(
        &w,
        &token,
        &sha,
        2 * CHUNK as u64,
        total,
        &photo[2 * CHUNK..],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["received"], total);
    assert_eq!(state["complete"], true);

    let (_, state) = upload_state(&w, &token, &sha).await;
    assert_eq!(state["complete"], true);
    assert_eq!(state["received"], total);
    // A late retry of the last chunk is answered as complete, nothing changes.
    let (status, state) = put_chunk(
        &w,
        &token,
        &sha,
        2 * CHUNK as u64,
        total,
        &photo[2 * CHUNK..],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["complete"], true);

    let (status, bytes) = download(&w, &token, &sha).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bytes, photo);
    // No upload in progress is left, on any backend...
    let blobs = w.state.blobs.clone();
    let far = chrono::Utc::now() + chrono::Duration::days(3650);
    let cleaned = tokio::task::spawn_blocking(move || blobs.clean_abandoned(far))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cleaned.uploads, 0, "{cleaned:?}");
    // ...and with the bytes in a directory, they are at <dir>/<aa>/<sha256>,
    // with nothing in partial/ or tmp/.
    let dir = w.blob_dir.path();
    if dir.join("partial").is_dir() {
        assert_eq!(
            std::fs::read(dir.join(&sha[..2]).join(&sha)).unwrap(),
            photo
        );
        assert_eq!(std::fs::read_dir(dir.join("partial")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(dir.join("tmp")).unwrap().count(), 0);
    }
}

async fn bytes_that_do_not_match_their_hash_are_refused_and_discarded(w: Arc<World>) {
    let photo = photo_bytes(CHUNK + 10, 1);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let token = visit_with_photo(&w, &sha, total).await;
    let mut wrong = photo.clone();
    wrong[CHUNK + 3] ^= 0xff;

    let (status, _) = put_chunk(&w, &token, &sha, 0, total, &wrong[..CHUNK]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = put_chunk(&w, &token, &sha, CHUNK as u64, total, &wrong[CHUNK..]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "attachment_hash_mismatch");
    // The partial upload is gone: the device starts over.
    let (_, state) = upload_state(&w, &token, &sha).await;
    assert_eq!(state["received"], 0);
    assert_eq!(state["complete"], false);
    let (status, body) = download(&w, &token, &sha).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "attachment_not_uploaded");

    for (offset, range) in [(0, 0..CHUNK), (CHUNK, CHUNK..photo.len())] {
        let (status, _) = put_chunk(&w, &token, &sha, offset as u64, total, &photo[range]).await;
        assert_eq!(status, StatusCode::OK);
    }
    assert_eq!(download(&w, &token, &sha).await.1, photo);
}

async fn oversized_malformed_and_inconsistent_chunks_are_refused_with_a_code(w: Arc<World>) {
    let photo = photo_bytes(3_000, 2);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let token = visit_with_photo(&w, &sha, total).await;

    let too_big = MAX_ATTACHMENT_BYTES as u64 + 1;
    let (status, body) = put_chunk(&w, &token, &sha, 0, too_big, &photo).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "attachment_too_large");

    let big_chunk = vec![0u8; CHUNK + 1];
    let (status, body) = put_chunk(&w, &token, &sha, 0, 2 * CHUNK as u64, &big_chunk).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "chunk_too_large");

    let (status, body) = put_chunk(&w, &token, &sha, 2_000, total, &photo[..2_000]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "chunk_beyond_total");

    let (status, body) = put_chunk(&w, &token, &sha, 0, total + 1, &photo).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "attachment_size_mismatch");

    let (status, body) = put_chunk(&w, &token, &sha, 0, total, &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "empty_chunk");

    for name in ["NOT-A-HASH", &sha.to_uppercase(), &sha[..63]] {
        let (status, body) = put_chunk(&w, &token, name, 0, total, &photo).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(body["code"], "invalid_sha256");
        let (status, body) = upload_state(&w, &token, name).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(body["code"], "invalid_sha256");
    }

    for query in [
        "offset=-1&total=3000",
        "offset=0",
        "total=3000",
        "offset=x&total=1",
    ] {
        let request = Request::builder()
            .method("PUT")
            .uri(format!("/v1/attachments/{sha}?{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(Body::from(photo.clone()))
            .unwrap();
        let (status, body) = w.raw(request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
        assert_eq!(body["code"], "invalid_query");
    }

    let request = Request::builder()
        .method("PUT")
        .uri(format!("/v1/attachments/{sha}?offset=0&total={total}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(photo.clone()))
        .unwrap();
    let (status, body) = w.raw(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(body["code"], "unsupported_media_type");

    // A body beyond the request limit is refused before it is read whole.
    let huge = vec![0u8; doorstep_core::sync::protocol::MAX_BODY_BYTES + 1];
    let (status, body) = put_chunk(&w, &token, &sha, 0, total, &huge).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(body["code"], "chunk_too_large");

    // None of it stored a byte.
    let (_, state) = upload_state(&w, &token, &sha).await;
    assert_eq!(state["received"], 0);
}

async fn only_the_agents_of_the_visit_may_upload_its_bytes(w: Arc<World>) {
    let photo = photo_bytes(500, 3);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let owner = visit_with_photo(&w, &sha, total).await;

    // No token, or a bad one.
    let (status, body) = w
        .send("GET", &format!("/v1/attachments/{sha}/upload"), None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["code"], "unauthorized");
    let (status, _) = put_chunk(&w, &"0".repeat(64), &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A hash no admitted change refers to.
    let stranger = sha256_hex(b"some other bytes");
    let (status, body) = upload_state(&w, &owner, &stranger).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_attachment");
    let (status, body) = put_chunk(&w, &owner, &stranger, 0, 16, b"some other bytes").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_attachment");
    // Found by schemathesis: a chunk that cannot fit (longer than `total`,
    // or empty) was refused as 422 before the hash was looked up; whether
    // the hash is known comes first, as the OpenAPI document says.
    for (total, chunk) in [(2, &b"some other bytes"[..]), (16, &b""[..])] {
        let (status, body) = put_chunk(&w, &owner, &stranger, 0, total, chunk).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "unknown_attachment");
    }

    // An agent of another team, and supervisors (they push no visits).
    let other = w.login("agent3", w.phone3).await;
    let sup_a = w.login("sup_a", w.sup_a_phone).await;
    for token in [&other, &sup_a] {
        let (status, body) = upload_state(&w, token, &sha).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "not_assigned");
        let (status, body) = put_chunk(&w, token, &sha, 0, total, &photo).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(body["code"], "not_assigned");
        let (status, body) = put_chunk(&w, token, &sha, 1, total, &photo).await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "access before the chunk's fit"
        );
        assert_eq!(body["code"], "not_assigned");
    }

    // An attach change the server refused gives no right to upload.
    let mut intruder = Phone::new(w.phone3, Uuid::now_v7());
    let refused_photo = photo_bytes(700, 9);
    let refused_sha = sha256_hex(&refused_photo);
    let ops = [
        intruder.act(&planned(&w.case1)),
        intruder.act(&attached(&refused_sha, 700)),
    ];
    let outcomes = w.push_outcomes(&other, &ops).await;
    assert!(outcomes.iter().all(|o| o != "applied"), "{outcomes:?}");
    let (status, body) = put_chunk(&w, &other, &refused_sha, 0, 700, &refused_photo).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["code"], "unknown_attachment");

    // Nor may the visit partner write the upload its partner's phone
    // declared: only the device whose change it was.
    let partner = w.login("agent2", w.phone2).await;
    let (status, body) = put_chunk(&w, &partner, &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["code"], "not_assigned");
    let (status, state) = put_chunk(&w, &owner, &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["complete"], true);
    assert_eq!(download(&w, &partner, &sha).await.1, photo);
}

async fn a_hash_copied_into_ones_own_visit_is_not_a_key_to_someone_elses_photo(w: Arc<World>) {
    let photo = photo_bytes(800, 6);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let owner = visit_with_photo(&w, &sha, total).await;
    let (status, _) = put_chunk(&w, &owner, &sha, 0, total, &photo[..400]).await;
    assert_eq!(status, StatusCode::OK);

    // Agent 3, of the other team, learns the hash and refers to it in a
    // visit of their own case: the server admits the change...
    let thief = w.login("agent3", w.phone3).await;
    let thief_visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone3, thief_visit);
    let ops = [
        phone.act(&planned(&w.case2)),
        phone.act(&notice()),
        phone.act(&VisitChange::CheckedIn { check: site() }),
        phone.act(&attached(&sha, total)),
    ];
    let outcomes = w.push_outcomes(&thief, &ops).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");

    // ...but its upload is its own: garbage cannot spoil the owner's.
    let (status, body) = put_chunk(&w, &thief, &sha, 0, total, &[0u8; 800]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "attachment_hash_mismatch");
    assert_eq!(upload_state(&w, &owner, &sha).await.1["received"], 400);
    let (status, state) = put_chunk(&w, &owner, &sha, 400, total, &photo[400..]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["complete"], true);

    // The bytes are complete, and still not the thief's, nor their team's.
    let (_, state) = upload_state(&w, &thief, &sha).await;
    assert_eq!(state["complete"], false);
    assert_eq!(state["received"], 0);
    let sup_b = w.login("sup_b", w.sup_b_phone).await;
    for token in [&thief, &sup_b] {
        let (status, body) = download(&w, token, &sha).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(code(&body), "attachment_not_visible");
    }
    // Nor in the console, where team B's supervisor reads the thief's visit.
    let cookies = console_support::supervisor(&w, "sup_b").await;
    let page = console_support::get(
        &w,
        &format!("/console/visits/{thief_visit}/attachments/0"),
        &cookies,
    )
    .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    // Every refusal is audited, with ids and a code.
    let audit = audit_log(&w).await;
    let refused: Vec<_> = audit
        .iter()
        .filter(|r| r.code.as_deref() == Some("attachment_not_visible"))
        .map(|r| (r.action.as_str(), r.target_id.as_str()))
        .collect();
    assert_eq!(
        refused,
        [
            ("download_refused", sha.as_str()),
            ("download_refused", sha.as_str()),
            ("console_view_attachment", thief_visit.to_string().as_str()),
        ]
    );
    // The owner's team still has it.
    let sup_a = w.login("sup_a", w.sup_a_phone).await;
    assert_eq!(download(&w, &sup_a, &sha).await.1, photo);

    // Had the thief really held the same bytes, sending them all would
    // have counted.
    let (status, state) = put_chunk(&w, &thief, &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(state["complete"], true);
    assert_eq!(download(&w, &thief, &sha).await.1, photo);
}

async fn an_agent_whose_case_was_reassigned_still_uploads_but_no_longer_downloads(w: Arc<World>) {
    let photo = photo_bytes(900, 4);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let token = visit_with_photo(&w, &sha, total).await;
    blocking(&w, |w| {
        admin::reassign_case(w.state.store.as_ref(), w.case1.id, "agent3", t0()).unwrap()
    })
    .await;

    let (status, state) = put_chunk(&w, &token, &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["complete"], true);
    let (status, body) = download(&w, &token, &sha).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(code(&body), "attachment_not_visible");
    let new_agent = w.login("agent3", w.phone3).await;
    assert_eq!(download(&w, &new_agent, &sha).await.1, photo);
}

async fn downloads_go_to_the_visits_agents_its_supervisor_and_admins_and_are_audited(
    w: Arc<World>,
) {
    let photo = photo_bytes(CHUNK / 2, 5);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let owner = visit_with_photo(&w, &sha, total).await;
    let (status, _) = put_chunk(&w, &owner, &sha, 0, total, &photo).await;
    assert_eq!(status, StatusCode::OK);

    let allowed = [
        owner.clone(),
        w.login("agent2", w.phone2).await,
        w.login("sup_a", w.sup_a_phone).await,
        admin_token(&w).await,
    ];
    for token in &allowed {
        let (status, bytes) = download(&w, token, &sha).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(bytes, photo);
    }
    for token in [
        w.login("agent3", w.phone3).await,
        w.login("sup_b", w.sup_b_phone).await,
    ] {
        let (status, body) = download(&w, &token, &sha).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert_eq!(code(&body), "attachment_not_visible");
    }
    let (status, body) = download(&w, &owner, &sha256_hex(b"nothing")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(code(&body), "unknown_attachment");
    let (status, body) = download(&w, &owner, "..%2F..%2Fetc%2Fpasswd").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(code(&body), "invalid_sha256");
    let request = Request::builder()
        .uri(format!("/v1/attachments/{sha}"))
        .body(Body::empty())
        .unwrap();
    assert_eq!(w.raw(request).await.0, StatusCode::UNAUTHORIZED);

    // One audit row per download, with ids only; one for the completed upload.
    let audit = audit_log(&w).await;
    let downloads: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "download_attachment")
        .collect();
    assert_eq!(downloads.len(), allowed.len());
    assert!(
        downloads
            .iter()
            .all(|r| r.target_kind == "attachment" && r.target_id == sha && r.user.is_some())
    );
    assert_eq!(
        audit
            .iter()
            .filter(|r| r.action == "upload_attachment")
            .count(),
        1
    );
}

async fn the_largest_attachment_is_streamed_back_with_its_length(w: Arc<World>) {
    // 20 MiB, the most a phone may attach, in the 1 MiB chunks it sends.
    let photo = photo_bytes(MAX_ATTACHMENT_BYTES, 8);
    let sha = sha256_hex(&photo);
    let total = photo.len() as u64;
    let token = w.login("agent1", w.phone1).await;
    let visit = Uuid::now_v7();
    let mut phone = Phone::new(w.phone1, visit);
    let ops = [
        phone.act(&planned(&w.case1)),
        phone.act(&notice()),
        phone.act(&VisitChange::CheckedIn { check: site() }),
        phone.act(&attached(&sha, total)),
    ];
    let outcomes = w.push_outcomes(&token, &ops).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    for (i, chunk) in photo.chunks(CHUNK).enumerate() {
        let (status, state) = put_chunk(&w, &token, &sha, (i * CHUNK) as u64, total, chunk).await;
        assert_eq!(status, StatusCode::OK, "{state}");
    }

    let request = Request::builder()
        .uri(format!("/v1/attachments/{sha}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap();
    let response = doorstep_server::app(w.state.clone())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        total.to_string().as_str()
    );
    assert_eq!(
        response.headers()[header::ETAG],
        format!("\"{sha}\"").as_str()
    );
    // The body comes as a stream of pieces, not one buffer of 20 MiB.
    let mut body = response.into_body();
    let (mut pieces, mut largest, mut bytes) = (0, 0, Vec::with_capacity(photo.len()));
    while let Some(frame) = body.frame().await {
        let data = frame.unwrap().into_data().unwrap();
        pieces += 1;
        largest = largest.max(data.len());
        bytes.extend_from_slice(&data);
    }
    assert!(bytes == photo, "the bytes downloaded differ");
    assert!(pieces > 1, "{pieces} pieces");
    assert!(largest <= 2 * CHUNK, "a piece of {largest} bytes");

    // The console's photo route streams it too, with its length.
    let cookies = console_support::supervisor(&w, "sup_a").await;
    let page = console_support::get(
        &w,
        &format!("/console/visits/{visit}/attachments/0"),
        &cookies,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("content-length"), total.to_string());
    assert_eq!(page.header("content-type"), "image/jpeg");
    assert!(page.bytes == photo, "the bytes the console served differ");
}
