//! What the console tests share: a tiny browser (cookies, form posts) over the
//! router in process, sign-in, and a world with submitted visits in two teams.
#![allow(dead_code)]

use crate::common::*;
pub use axum::body::Body;
pub use axum::http::{HeaderMap, Request, StatusCode, header};
pub use chrono::{Duration, NaiveDate};
pub use doorstep_core::checklist::AnswerValue;
pub use doorstep_core::domain::{
    Attachment, AttachmentKind, AttachmentLink, Case, Notice, NoticeChannel, Outcome, OutcomeCode,
    PromiseToPay, Rating, SiteCheck, VisitChange,
};
pub use doorstep_core::money::Money;
pub use doorstep_core::policy::GeoPoint;
pub use doorstep_server::console::i18n::encode_query;
pub use doorstep_server::{admin, app, store};
pub use http_body_util::BodyExt;
pub use tower::ServiceExt;
pub use uuid::Uuid;

/// What came back: status, headers and the body as text.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    pub bytes: Vec<u8>,
}

impl Page {
    /// A header's value, or "" without it.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (key, value) = first.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
    }

    /// The value of the first `name="csrf"` hidden field.
    pub fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// Every URL the page links to or submits to.
    pub fn urls(&self) -> Vec<String> {
        let mut urls = Vec::new();
        for attr in ["href=\"", "src=\"", "action=\""] {
            let mut rest = self.body.as_str();
            while let Some(at) = rest.find(attr) {
                rest = &rest[at + attr.len()..];
                urls.push(rest[..rest.find('"').unwrap()].to_owned());
            }
        }
        urls
    }
}

pub async fn send(w: &World, request: Request<Body>) -> Page {
    let response = app(w.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
        bytes: bytes.to_vec(),
    }
}

pub async fn get(w: &World, uri: &str, cookies: &str) -> Page {
    let mut request = Request::builder().uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    send(w, request.body(Body::empty()).unwrap()).await
}

pub fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub async fn post(w: &World, uri: &str, cookies: &str, fields: &[(&str, &str)]) -> Page {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(form(fields)))
        .unwrap();
    send(w, request).await
}

/// Posts a `multipart/form-data` form to `uri` as a browser sends a file
/// upload: the `csrf` and `run` fields, then the file `file_name` in the
/// field `file`.
pub async fn post_file(
    w: &World,
    uri: &str,
    cookies: &str,
    fields: [(&str, &str); 2],
    file_name: &str,
    file: &[u8],
) -> Page {
    let boundary = "doorstep-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap();
    send(w, request).await
}

/// Signs in through the form; the cookie header of the session, or the refusal.
pub async fn sign_in(w: &World, username: &str, password: &str) -> Result<String, Page> {
    let page = get(w, "/console/login", "").await;
    assert_eq!(page.status, StatusCode::OK);
    let login_cookie = page.cookie("doorstep_login").unwrap();
    let csrf = page.csrf();
    let answer = post(
        w,
        "/console/login",
        &format!("doorstep_login={login_cookie}"),
        &[
            ("username", username),
            ("password", password),
            ("csrf", &csrf),
        ],
    )
    .await;
    match answer.cookie("doorstep_console") {
        Some(session) if answer.status == StatusCode::SEE_OTHER => {
            Ok(format!("doorstep_console={session}; doorstep_lang=en"))
        }
        _ => Err(answer),
    }
}

pub async fn supervisor(w: &World, name: &str) -> String {
    sign_in(w, name, &format!("pw-{name}-secret"))
        .await
        .unwrap()
}

pub fn notice_before(hours: i64) -> VisitChange {
    VisitChange::NoticeRecorded {
        notice: Notice {
            channel: NoticeChannel::Sms,
            given_at: t0() - Duration::hours(hours),
            planned_visit_at: t0(),
            purpose: "overdue review".into(),
            acknowledged: true,
        },
    }
}

/// A check at a point, stating the distance and flags the default policy
/// gives it against the sample cases' registered address (the server checks).
pub fn site_at(latitude: f64, longitude: f64, at_offset_hours: i64) -> SiteCheck {
    let mut check = site();
    check.at = t0() + Duration::hours(at_offset_hours);
    check.fix.point = GeoPoint {
        latitude,
        longitude,
    };
    let registered = GeoPoint {
        latitude: 39.9087,
        longitude: 116.4605,
    };
    let assessment = doorstep_core::policy::Policy::default()
        .assess_check_out(&check.fix, Some(registered))
        .unwrap();
    check.distance_m = assessment.distance_m;
    check.flags = assessment.flags;
    check
}

pub fn promise() -> VisitChange {
    VisitChange::OutcomeSet {
        outcome: Outcome {
            code: OutcomeCode::PromiseToPay,
            promise: Some(PromiseToPay {
                amount: Money::new(500_000, "CNY").unwrap(),
                due_on: NaiveDate::from_ymd_opt(2026, 3, 10).unwrap(),
            }),
            plan: None,
            ability_to_repay: Rating::new(3),
            willingness_to_repay: Rating::new(4),
            summary: "will pay on the 10th".into(),
        },
    }
}

/// The bytes of the photo every seeded visit attaches.
pub const PHOTO: &[u8] = b"\xff\xd8\xff\xe0 the front door of the customer's flat \xff\xd9";

/// The lower-case hex SHA-256 of [`PHOTO`].
pub fn photo_sha256() -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(PHOTO))
}

pub fn photo() -> VisitChange {
    VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: photo_sha256(),
            size_bytes: PHOTO.len() as u64,
            link: AttachmentLink::Visit,
            taken_at: t0(),
        },
    }
}

/// A visit of `case` up to its submission `submitted_after` hours after t0.
pub fn visit(
    case: &Case,
    extra: Vec<VisitChange>,
    check: SiteCheck,
    submitted_after: i64,
) -> Vec<VisitChange> {
    let mut changes = vec![
        planned(case),
        notice_before(24),
        VisitChange::CheckedIn { check },
    ];
    // Without an outcome of its own the visit found nobody home: the rules
    // want an outcome before a submission, and a whole checklist only when
    // the customer was met.
    let has_outcome = extra
        .iter()
        .any(|c| matches!(c, VisitChange::OutcomeSet { .. }));
    // The rest of the checklist: what `extra` does not answer itself.
    let answered: Vec<String> = extra
        .iter()
        .filter_map(|c| match c {
            VisitChange::Answered { item_id, .. } => Some(item_id.clone()),
            _ => None,
        })
        .collect();
    changes.extend(extra);
    if has_outcome {
        changes.extend(complete_checklist().into_iter().filter(
            |c| !matches!(c, VisitChange::Answered { item_id, .. } if answered.contains(item_id)),
        ));
    }
    if !has_outcome {
        changes.push(not_home());
    }
    changes.push(VisitChange::CheckedOut { check: site() });
    changes.push(VisitChange::Submitted {
        at: t0() + Duration::hours(submitted_after),
    });
    changes
}

/// The console's world: team A has two submitted visits (case1, two-person,
/// with a photo, a promise and a note with markup; case3, far from the
/// address, submitted earlier) and team B one (case2).
pub struct Console {
    pub w: std::sync::Arc<World>,
    pub phone1: Phone,
    pub visit1: Uuid,
    pub visit2: Uuid,
    pub visit3: Uuid,
    pub agent1_token: String,
}

pub async fn console_world() -> Console {
    let w = World::new();
    let case3 = seed(&w);
    console_world_in(w, case3).await
}

/// Imports case3 (agent2's, team A); the world has published the template.
/// Synchronous store calls: outside any async runtime for PostgreSQL.
pub fn seed(w: &World) -> Case {
    let s = w.state.store.as_ref();
    let case3 = sample_case(w.agent2, None);
    admin::import_cases(s, std::slice::from_ref(&case3), t0()).unwrap();
    case3
}

/// The console's world on `w`, a world of a check on both backends: case3 is
/// imported off the async workers.
pub async fn console_world_on(w: &std::sync::Arc<World>) -> Console {
    let seeded = std::sync::Arc::clone(w);
    let case3 = tokio::task::spawn_blocking(move || seed(&seeded))
        .await
        .unwrap();
    console_world_in(std::sync::Arc::clone(w), case3).await
}

pub async fn console_world_in(w: impl Into<std::sync::Arc<World>>, case3: Case) -> Console {
    let w = w.into();
    let t1 = w.login("agent1", w.phone1).await;
    let t2 = w.login("agent2", w.phone2).await;
    let t3 = w.login("agent3", w.phone3).await;

    let mut phone1 = Phone::new(w.phone1, Uuid::now_v7());
    let extra = vec![
        VisitChange::Answered {
            item_id: "identity_confirmed".into(),
            value: AnswerValue::YesNo(true),
        },
        note(w.agent1, "<script>alert('x')</script> customer lost job"),
        photo(),
        promise(),
    ];
    let ops: Vec<_> = visit(&w.case1, extra, site(), 5)
        .iter()
        .map(|c| phone1.act(c))
        .collect();
    assert!(
        w.push_outcomes(&t1, &ops)
            .await
            .iter()
            .all(|o| o == "applied")
    );

    let mut phone2 = Phone::new(w.phone2, Uuid::now_v7());
    // About 4.5 km north of the registered address, and submitted a day later.
    let far = site_at(39.95, 116.4605, 0);
    let ops: Vec<_> = visit(&case3, vec![], far, 1)
        .iter()
        .map(|c| phone2.act(c))
        .collect();
    assert!(
        w.push_outcomes(&t2, &ops)
            .await
            .iter()
            .all(|o| o == "applied")
    );

    let mut phone3 = Phone::new(w.phone3, Uuid::now_v7());
    let ops: Vec<_> = visit(&w.case2, vec![], site(), 2)
        .iter()
        .map(|c| phone3.act(c))
        .collect();
    assert!(
        w.push_outcomes(&t3, &ops)
            .await
            .iter()
            .all(|o| o == "applied")
    );

    Console {
        visit1: phone1.visit,
        phone1,
        visit2: phone3.visit,
        visit3: phone2.visit,
        agent1_token: t1,
        w,
    }
}

/// The targets of the audit rows of `action` that were done (not refused).
pub fn audit_actions(w: &World, action: &str) -> Vec<String> {
    store::read(w.state.store.as_ref(), |tx| tx.audit_log())
        .unwrap()
        .into_iter()
        .filter(|a| a.action == action && a.code.is_none())
        .map(|a| a.target_id)
        .collect()
}

/// The targets and codes of the audit rows of `action` that were refused.
pub fn audit_refusals(w: &World, action: &str) -> Vec<(String, String)> {
    store::read(w.state.store.as_ref(), |tx| tx.audit_log())
        .unwrap()
        .into_iter()
        .filter(|a| a.action == action)
        .filter_map(|a| Some((a.target_id, a.code?)))
        .collect()
}

/// A PostgreSQL store on a fresh schema of the test database, or `None` (after
/// saying so) when `DOORSTEP_TEST_DATABASE_URL` is not set; on CI it must be.
pub fn postgres_store(test: &str) -> Option<std::sync::Arc<dyn store::Store>> {
    let url = match std::env::var("DOORSTEP_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => url,
        _ => {
            assert!(
                std::env::var_os("CI").is_none_or(|v| v.is_empty()),
                "{test}: DOORSTEP_TEST_DATABASE_URL must be set on CI"
            );
            let line = format!("SKIPPED {test}: DOORSTEP_TEST_DATABASE_URL is not set\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
            return None;
        }
    };
    let schema = format!("t_{}", Uuid::now_v7().simple());
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let mut config: postgres::Config = url.parse().unwrap();
    config.options(&format!("-c search_path={schema}"));
    let store = doorstep_server::store::postgres::PostgresStore::connect(config, 4).unwrap();
    Some(std::sync::Arc::new(store))
}
