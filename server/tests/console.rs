//! Router tests of the supervisor console: every page, every decision and
//! every denial, driven in process with `oneshot` like a browser would (cookies
//! and form posts), on the same small world as the API tests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use chrono::{Duration, NaiveDate};
use common::*;
use doorstep_core::checklist::AnswerValue;
use doorstep_core::domain::{
    Attachment, AttachmentKind, AttachmentLink, Case, Notice, NoticeChannel, Outcome, OutcomeCode,
    PromiseToPay, Rating, SiteCheck, VisitChange,
};
use doorstep_core::money::Money;
use doorstep_core::policy::GeoPoint;
use doorstep_server::console::i18n::encode_query;
use doorstep_server::{admin, app, store};
use http_body_util::BodyExt;
use tower::ServiceExt;
use uuid::Uuid;

/// What came back: status, headers and the body as text.
#[derive(Debug)]
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.set_cookies().iter().find_map(|c| {
            let first = c.split(';').next()?;
            let (key, value) = first.split_once('=')?;
            (key == name && !value.is_empty()).then(|| value.to_owned())
        })
    }

    /// The value of the first `name="csrf"` hidden field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find("name=\"csrf\" value=\"")
            .expect("a csrf field");
        let rest = &self.body[at + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    /// Every URL the page links to or submits to.
    fn urls(&self) -> Vec<String> {
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

async fn send(w: &World, request: Request<Body>) -> Page {
    let response = app(w.state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get(w: &World, uri: &str, cookies: &str) -> Page {
    let mut request = Request::builder().uri(uri);
    if !cookies.is_empty() {
        request = request.header(header::COOKIE, cookies);
    }
    send(w, request.body(Body::empty()).unwrap()).await
}

fn form(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(k, v)| format!("{k}={}", encode_query(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post(w: &World, uri: &str, cookies: &str, fields: &[(&str, &str)]) -> Page {
    let request = Request::builder()
        .method("POST")
        .uri(uri)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, cookies)
        .body(Body::from(form(fields)))
        .unwrap();
    send(w, request).await
}

/// Signs in through the form; the cookie header of the session, or the refusal.
async fn sign_in(w: &World, username: &str, password: &str) -> Result<String, Page> {
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

async fn supervisor(w: &World, name: &str) -> String {
    sign_in(w, name, &format!("pw-{name}")).await.unwrap()
}

fn notice_before(hours: i64) -> VisitChange {
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

fn site_at(latitude: f64, longitude: f64, at_offset_hours: i64) -> SiteCheck {
    let mut check = site();
    check.at = t0() + Duration::hours(at_offset_hours);
    check.fix.point = GeoPoint {
        latitude,
        longitude,
    };
    check
}

fn promise() -> VisitChange {
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

fn photo() -> VisitChange {
    VisitChange::Attached {
        attachment: Attachment {
            id: Uuid::now_v7(),
            kind: AttachmentKind::Photo,
            mime_type: "image/jpeg".into(),
            sha256: "ab".repeat(32),
            size_bytes: 1234,
            link: AttachmentLink::Visit,
            taken_at: t0(),
        },
    }
}

/// A visit of `case` up to its submission `submitted_after` hours after t0.
fn visit(
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
    changes.extend(extra);
    changes.push(VisitChange::CheckedOut { check: site() });
    changes.push(VisitChange::Submitted {
        at: t0() + Duration::hours(submitted_after),
    });
    changes
}

/// The console's world: team A has two submitted visits (case1, two-person,
/// with a photo, a promise and a note with markup; case3, far from the
/// address, submitted earlier) and team B one (case2).
struct Console {
    w: World,
    phone1: Phone,
    visit1: Uuid,
    visit2: Uuid,
    visit3: Uuid,
    agent1_token: String,
}

async fn console_world() -> Console {
    let w = World::new();
    let case3 = seed(&w);
    console_world_in(w, case3).await
}

/// Publishes the template and imports case3 (agent2's, team A). Synchronous
/// store calls: outside any async runtime for PostgreSQL.
fn seed(w: &World) -> Case {
    let s = w.state.store.as_ref();
    admin::publish_template(s, &doorstep_core::checklist::home_verification(), t0()).unwrap();
    let case3 = sample_case(w.agent2, None);
    admin::import_cases(s, std::slice::from_ref(&case3), t0()).unwrap();
    case3
}

async fn console_world_in(w: World, case3: Case) -> Console {
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

fn audit_actions(w: &World, action: &str) -> Vec<String> {
    store::read(w.state.store.as_ref(), |tx| tx.audit_log())
        .unwrap()
        .into_iter()
        .filter(|a| a.action == action)
        .map(|a| a.target_id)
        .collect()
}

#[tokio::test]
async fn a_supervisor_signs_in_with_a_strict_http_only_cookie_and_signs_out() {
    let w = World::new();
    let home = get(&w, "/console", "").await;
    assert_eq!(home.status, StatusCode::SEE_OTHER);
    assert_eq!(home.location(), "/console/login");
    assert_eq!(
        get(&w, "/console/queue", "").await.location(),
        "/console/login"
    );

    let page = get(&w, "/console/login", "").await;
    let login_cookie = page.cookie("doorstep_login").unwrap();
    let csrf = page.csrf();
    let answer = post(
        &w,
        "/console/login",
        &format!("doorstep_login={login_cookie}"),
        &[
            ("username", "sup_a"),
            ("password", "pw-sup_a"),
            ("csrf", &csrf),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    assert_eq!(answer.location(), "/console/queue");
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("doorstep_console="))
        .unwrap();
    for attribute in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/console",
        "Max-Age=28800",
    ] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Secure"), "plain HTTP: {session}");
    let cookies = format!(
        "doorstep_console={}",
        answer.cookie("doorstep_console").unwrap()
    );
    let queue = get(&w, "/console/queue", &cookies).await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("sup_a"));

    // Sign-out needs the session's CSRF token.
    let refused = post(&w, "/console/logout", &cookies, &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = post(&w, "/console/logout", &cookies, &[("csrf", "0000")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.status,
        StatusCode::OK
    );
    let out = post(&w, "/console/logout", &cookies, &[("csrf", &queue.csrf())]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/console/login");
    assert!(
        out.set_cookies()
            .iter()
            .any(|c| c.starts_with("doorstep_console=;"))
    );
    // The old cookie no longer works, even if the browser kept it.
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.location(),
        "/console/login"
    );
    assert_eq!(audit_actions(&w, "console_sign_in").len(), 1);
    assert_eq!(audit_actions(&w, "console_sign_out").len(), 1);
}

#[tokio::test]
async fn cookies_are_secure_behind_tls() {
    let w = World::new();
    let request = Request::builder()
        .uri("/console/login")
        .header("x-forwarded-proto", "https")
        .body(Body::empty())
        .unwrap();
    let page = send(&w, request).await;
    assert!(page.set_cookies().iter().all(|c| c.contains("; Secure")));
    // And always with the server's flag.
    let state = w.state.clone();
    let secure = doorstep_server::app_with_console(
        state,
        doorstep_server::console::ConsoleConfig {
            secure_cookies: true,
            ..Default::default()
        },
    );
    let response = secure
        .oneshot(
            Request::builder()
                .uri("/console/login")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let cookie = response.headers().get(header::SET_COOKIE).unwrap();
    assert!(cookie.to_str().unwrap().contains("; Secure"));
}

#[tokio::test]
async fn agents_unknown_users_wrong_passwords_and_forged_sign_ins_are_refused() {
    let w = World::new();
    for (user, password) in [
        ("agent1", "pw-agent1"),
        ("sup_a", "wrong"),
        ("nobody", "pw-nobody"),
    ] {
        let refused = sign_in(&w, user, password).await.unwrap_err();
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{user}");
        assert!(refused.cookie("doorstep_console").is_none());
        assert!(refused.body.contains("role=\"alert\""));
    }
    // A sign-in form posted without the form's own cookie (a forged form).
    let forged = post(
        &w,
        "/console/login",
        "",
        &[
            ("username", "sup_a"),
            ("password", "pw-sup_a"),
            ("csrf", "x"),
        ],
    )
    .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.cookie("doorstep_console").is_none());
    // A made-up session cookie is no session.
    let page = get(&w, "/console/queue", "doorstep_console=deadbeef").await;
    assert_eq!(page.location(), "/console/login");
    assert!(audit_actions(&w, "console_sign_in").is_empty());
}

#[tokio::test]
async fn the_queue_lists_the_teams_submitted_visits_oldest_first_with_filters_and_counts() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let queue = get(&c.w, "/console/queue", &cookies).await;
    assert_eq!(queue.status, StatusCode::OK);
    let first = queue
        .body
        .find(&format!("/console/visits/{}", c.visit3))
        .unwrap();
    let second = queue
        .body
        .find(&format!("/console/visits/{}", c.visit1))
        .unwrap();
    assert!(first < second, "oldest submission first");
    assert!(
        !queue.body.contains(&c.visit2.to_string()),
        "team B's visit"
    );
    assert!(queue.body.contains("<span id=\"shown\">2</span> / 2"));
    // Counts per filter choice.
    assert!(queue.body.contains("Two-person <b>1</b>"), "{}", queue.body);
    assert!(queue.body.contains("Far from address <b>1</b>"));
    assert!(queue.body.contains("No notice <b>0</b>"));
    assert!(queue.body.contains("Promise to pay (1)"));
    assert!(
        queue.body.contains("agent2 (2)"),
        "agent2 is on both visits"
    );

    let only = |page: &Page, visit: Uuid, other: Uuid| {
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains(&format!("/console/visits/{visit}")));
        assert!(!page.body.contains(&format!("/console/visits/{other}")));
    };
    let far = get(&c.w, "/console/queue?flag=far_from_address", &cookies).await;
    only(&far, c.visit3, c.visit1);
    let pair = get(&c.w, "/console/queue?flag=two_person", &cookies).await;
    only(&pair, c.visit1, c.visit3);
    let agent1 = get(
        &c.w,
        &format!("/console/queue?agent={}", c.w.agent1),
        &cookies,
    )
    .await;
    only(&agent1, c.visit1, c.visit3);
    let promised = get(&c.w, "/console/queue?outcome=promise_to_pay", &cookies).await;
    only(&promised, c.visit1, c.visit3);
    let none = get(&c.w, "/console/queue?outcome=none", &cookies).await;
    only(&none, c.visit3, c.visit1);
    // Submitted at 10:00 and 14:00 UTC: 18:00 and 22:00 on 2 March in Beijing.
    let day = get(
        &c.w,
        "/console/queue?from=2026-03-02&to=2026-03-02",
        &cookies,
    )
    .await;
    assert!(day.body.contains("<span id=\"shown\">2</span>"));
    let later = get(&c.w, "/console/queue?from=2026-03-03", &cookies).await;
    assert!(later.body.contains("<span id=\"shown\">0</span>"));
    assert!(later.body.contains("No submitted visits match."));
    // Nonsense filters are ignored, not errors.
    let junk = get(
        &c.w,
        "/console/queue?agent=x&flag=%3Cb%3E&from=soon",
        &cookies,
    )
    .await;
    assert!(junk.body.contains("<span id=\"shown\">2</span>"));

    // Team B's supervisor sees only team B.
    let other = supervisor(&c.w, "sup_b").await;
    let theirs = get(&c.w, "/console/queue", &other).await;
    only(&theirs, c.visit2, c.visit1);
    assert!(!theirs.body.contains(&c.visit3.to_string()));
}

#[tokio::test]
async fn the_report_shows_the_visit_with_markup_escaped_and_every_view_is_audited() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let report = get(&c.w, &format!("/console/visits/{}", c.visit1), &cookies).await;
    assert_eq!(report.status, StatusCode::OK);
    let body = &report.body;
    assert!(
        body.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62; customer lost job"),
        "the note is shown escaped"
    );
    assert!(!body.contains("<script>"));
    assert!(body.contains("**************123X"), "national id masked");
    assert!(!body.contains("CC-2026-000123"), "account reference masked");
    assert!(body.contains("**********0123"));
    assert!(!body.contains("138 0000 0000"), "phone masked");
    assert!(
        body.contains("Customer&#39;s identity confirmed"),
        "labelled from the template"
    );
    assert!(body.contains("Home verification checklist v1"));
    assert!(body.contains("<svg") && body.contains("map-fence"));
    assert!(body.contains("5,000.00 CNY · 2026-03-10"), "the promise");
    assert!(body.contains("Intact: every chain verifies."));
    assert!(body.contains("Two-person"));
    assert!(body.contains(&format!("/console/visits/{}/attachments/0", c.visit1)));
    assert!(body.contains("/approve") && body.contains("/return"));
    assert_eq!(
        audit_actions(&c.w, "console_view_visit"),
        [c.visit1.to_string()]
    );

    // Chinese by Accept-Language when no cookie says otherwise.
    let session = cookies.split(';').next().unwrap();
    let request = Request::builder()
        .uri(format!("/console/visits/{}", c.visit1))
        .header(header::COOKIE, session)
        .header(header::ACCEPT_LANGUAGE, "zh-CN,zh;q=0.9,en;q=0.5")
        .body(Body::empty())
        .unwrap();
    let zh = send(&c.w, request).await;
    assert!(zh.body.contains("客户身份已核实") && zh.body.contains("走访报告"));
    assert!(zh.body.contains("<html lang=\"zh-CN\">"));
}

#[tokio::test]
async fn another_team_gets_not_found_on_every_page_photo_and_decision() {
    let c = console_world().await;
    let other = supervisor(&c.w, "sup_b").await;
    let report = get(&c.w, &format!("/console/visits/{}", c.visit1), &other).await;
    assert_eq!(report.status, StatusCode::NOT_FOUND);
    assert!(!report.body.contains("王小明"));
    let photo = get(
        &c.w,
        &format!("/console/visits/{}/attachments/0", c.visit1),
        &other,
    )
    .await;
    assert_eq!(photo.status, StatusCode::NOT_FOUND);
    let csrf = get(&c.w, "/console/queue", &other).await.csrf();
    for action in ["approve", "return"] {
        let denied = post(
            &c.w,
            &format!("/console/visits/{}/{action}", c.visit1),
            &other,
            &[("csrf", &csrf), ("reason_code", "other"), ("comment", "no")],
        )
        .await;
        assert!(
            matches!(denied.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
            "{action}: {}",
            denied.status
        );
    }
    assert!(audit_actions(&c.w, "console_view_visit").is_empty());
    assert!(audit_actions(&c.w, "review").is_empty());
    // Unknown ids and malformed ids are not found either.
    let unknown = get(&c.w, &format!("/console/visits/{}", Uuid::now_v7()), &other).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let malformed = get(&c.w, "/console/visits/not-a-uuid", &other).await;
    assert_eq!(malformed.status, StatusCode::NOT_FOUND);
    let no_page = get(&c.w, "/console/nothing/here", &other).await;
    assert_eq!(no_page.status, StatusCode::NOT_FOUND);
    // Without a session, every page sends to the sign-in page.
    for uri in [
        format!("/console/visits/{}", c.visit1),
        format!("/console/visits/{}/attachments/0", c.visit1),
    ] {
        assert_eq!(get(&c.w, &uri, "").await.location(), "/console/login");
    }
}

#[tokio::test]
async fn photos_are_authorized_and_audited_then_answer_not_found_until_the_blob_store_lands() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let photo = get(
        &c.w,
        &format!("/console/visits/{}/attachments/0", c.visit1),
        &cookies,
    )
    .await;
    assert_eq!(photo.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_actions(&c.w, "console_view_attachment"),
        [c.visit1.to_string()]
    );
    let missing = get(
        &c.w,
        &format!("/console/visits/{}/attachments/7", c.visit1),
        &cookies,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_actions(&c.w, "console_view_attachment").len(), 1);
}

#[tokio::test]
async fn a_return_reaches_the_agent_on_its_next_pull_and_an_approval_freezes_the_visit() {
    let mut c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let uri = format!("/console/visits/{}", c.visit1);
    let csrf = get(&c.w, &uri, &cookies).await.csrf();
    let back = format!("{uri}/return");

    // Refusals first: no token, a wrong token, no comment.
    let fields = [
        ("reason_code", "missing_photos"),
        ("comment", "请补拍门牌照片"),
    ];
    let no_token = post(&c.w, &back, &cookies, &fields).await;
    assert_eq!(no_token.status, StatusCode::FORBIDDEN);
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "f00d"));
    assert_eq!(
        post(&c.w, &back, &cookies, &wrong).await.status,
        StatusCode::FORBIDDEN
    );
    let empty = post(
        &c.w,
        &back,
        &cookies,
        &[
            ("csrf", &csrf),
            ("reason_code", "missing_photos"),
            ("comment", "  "),
        ],
    )
    .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(audit_actions(&c.w, "review").is_empty());

    let mut good = fields.to_vec();
    good.push(("csrf", &csrf));
    let returned = post(&c.w, &back, &cookies, &good).await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER);
    assert_eq!(returned.location(), format!("{uri}?done=returned"));
    let report = get(&c.w, returned.location(), &cookies).await;
    assert!(report.body.contains("Returned. The agent"));
    assert!(report.body.contains("Photos missing or unclear"));
    assert!(report.body.contains("请补拍门牌照片"));
    assert!(
        !report.body.contains("/approve"),
        "no decision on a returned visit"
    );
    let queue = get(&c.w, "/console/queue", &cookies).await;
    assert!(!queue.body.contains(&c.visit1.to_string()));

    // The agent's phone receives the decision on its next pull.
    let changes = c.w.pull_all(&c.agent1_token).await;
    let reviewed: Vec<_> = changes
        .iter()
        .filter(|ch| ch["type"] == "visit_entry" && ch["entry"]["kind"] == "reviewed")
        .collect();
    assert_eq!(reviewed.len(), 1);
    assert!(
        reviewed[0]["entry"]["payload"]
            .as_str()
            .unwrap()
            .contains("missing_photos")
    );

    // A second decision on a visit no longer awaiting review is a conflict.
    let again = post(
        &c.w,
        &format!("{uri}/approve"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let report = get(&c.w, &uri, &cookies).await;
    assert!(
        report
            .body
            .contains("Nothing changed since the last return.")
    );

    // The agent edits and resubmits; the report says what changed.
    let edits = [
        VisitChange::Answered {
            item_id: "identity_confirmed".into(),
            value: AnswerValue::YesNo(false),
        },
        note(c.w.agent1, "door number photographed again"),
        VisitChange::Submitted {
            at: t0() + Duration::hours(6),
        },
    ];
    let ops: Vec<_> = edits.iter().map(|e| c.phone1.act(e)).collect();
    let outcomes = c.w.push_outcomes(&c.agent1_token, &ops).await;
    assert_eq!(outcomes, ["applied"; 3]);
    let queue = get(&c.w, "/console/queue", &cookies).await;
    assert!(
        queue.body.contains(&c.visit1.to_string()),
        "back in the queue"
    );
    let report = get(&c.w, &uri, &cookies).await;
    let changed = &report.body[report.body.find("id=\"since-return\"").unwrap()..];
    let changed = &changed[..changed.find("</ul>").unwrap()];
    assert!(
        changed.contains("Answer: Customer&#39;s identity confirmed = No"),
        "{changed}"
    );
    assert!(changed.contains("Note added: door number photographed again"));
    assert!(changed.contains("Submitted"));
    assert!(report.body.contains("/approve"));
    let approved = post(
        &c.w,
        &format!("{uri}/approve"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);

    // The other visit is approved.
    let uri3 = format!("/console/visits/{}", c.visit3);
    let approved = post(
        &c.w,
        &format!("{uri3}/approve"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let report = get(&c.w, approved.location(), &cookies).await;
    assert!(report.body.contains("Approved. The agent"));
    assert_eq!(audit_actions(&c.w, "review").len(), 3);
    let empty_queue = get(&c.w, "/console/queue", &cookies).await;
    assert!(empty_queue.body.contains("<span id=\"shown\">0</span> / 0"));
}

#[tokio::test]
async fn no_page_links_to_a_url_with_personal_data() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let mut pages = vec![
        get(&c.w, "/console/queue", &cookies).await,
        get(&c.w, "/console/queue?flag=two_person", &cookies).await,
        get(&c.w, &format!("/console/visits/{}", c.visit1), &cookies).await,
        get(&c.w, &format!("/console/visits/{}", c.visit3), &cookies).await,
        get(&c.w, "/console/login", "").await,
        get(&c.w, "/console/dashboard?days=30", &cookies).await,
    ];
    pages.push(get(&c.w, "/console/nothing", &cookies).await);
    let case = &c.w.case1;
    let personal = [
        case.customer.name.as_str(),
        case.external_ref.as_str(),
        "123X",
        "138",
        "建国路",
        "customer lost job",
        "script",
    ];
    let mut seen = 0;
    for page in &pages {
        for url in page.urls() {
            seen += 1;
            let decoded = url.replace("%2F", "/");
            for data in personal {
                assert!(
                    !url.contains(data) && !decoded.contains(data),
                    "{url} holds {data}"
                );
                assert!(!url.contains(&encode_query(data)), "{url} holds {data}");
            }
        }
    }
    assert!(seen > 20, "the pages link somewhere");
}

#[tokio::test]
async fn the_language_switch_remembers_the_choice_and_never_leaves_the_console() {
    let w = World::new();
    let cookies = supervisor(&w, "sup_a").await;
    let session = cookies.split(';').next().unwrap().to_owned();
    let switch = get(
        &w,
        "/console/language/zh?next=/console/queue%3Fflag%3Dtwo_person",
        &session,
    )
    .await;
    assert_eq!(switch.status, StatusCode::SEE_OTHER);
    assert_eq!(switch.location(), "/console/queue?flag=two_person");
    let lang = switch.cookie("doorstep_lang").unwrap();
    assert_eq!(lang, "zh");
    let zh = get(
        &w,
        "/console/queue",
        &format!("{session}; doorstep_lang=zh"),
    )
    .await;
    assert!(zh.body.contains("待审队列"));
    let en = get(
        &w,
        "/console/queue",
        &format!("{session}; doorstep_lang=en"),
    )
    .await;
    assert!(en.body.contains("Review queue"));
    for next in ["https://evil.example/", "//evil.example", "/v1/pull"] {
        let away = get(
            &w,
            &format!("/console/language/en?next={}", encode_query(next)),
            &session,
        )
        .await;
        assert_eq!(away.location(), "/console/queue", "{next}");
    }
    let css = get(&w, "/console/style.css", "").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(
        css.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
}

#[tokio::test]
async fn the_dashboard_adds_up_the_teams_visits_per_day_and_per_agent() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let page = get(&c.w, "/console/dashboard?days=7", &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.body.replace(['\n', ' '], "");
    // Both team A visits were checked in on 2 March (17:00 Beijing); one
    // ended in a promise of 5,000 CNY, the other has no outcome yet; both are
    // flagged (two-person, far from the address). agent2 was on both.
    let row = |cells: &[&str], tag: &str| {
        cells
            .iter()
            .map(|c| format!("<{tag}>{}</{tag}>", c.replace(' ', "")))
            .collect::<String>()
    };
    assert!(
        body.contains(&row(
            &["Total", "2", "100%", "1", "5,000.00 CNY", "2"],
            "th"
        )),
        "{body}"
    );
    assert!(body.contains(&row(
        &["agent1", "1", "100%", "1", "5,000.00 CNY", "1"],
        "td"
    )));
    assert!(body.contains(&row(
        &["agent2", "2", "100%", "1", "5,000.00 CNY", "2"],
        "td"
    )));
    assert!(body.contains(&row(
        &["2026-03-02", "2", "100%", "1", "5,000.00 CNY", "2"],
        "td"
    )));
    assert!(
        body.contains(&row(&["2026-02-24", "0", "–", "0", "–", "0"], "td")),
        "7 days back"
    );
    assert!(!body.contains("2026-02-23"));
    assert_eq!(
        page.body.matches("class=\"bar-visits\"").count(),
        7 + 1 + 2,
        "7 days, legend, 2 agents"
    );
    assert!(page.body.contains("<svg"));

    // Team B's supervisor sees team B only; an unknown period shows 14 days.
    let other = supervisor(&c.w, "sup_b").await;
    let theirs = get(&c.w, "/console/dashboard?days=9999", &other).await;
    let body = theirs.body.replace(['\n', ' '], "");
    assert!(
        body.contains(&row(&["agent3", "1", "–", "0", "–", "0"], "td")),
        "{body}"
    );
    assert!(!body.contains("agent1"));
    assert!(body.contains("2026-02-17") && !body.contains("2026-02-16"));
    // And it needs a session.
    assert_eq!(
        get(&c.w, "/console/dashboard", "").await.location(),
        "/console/login"
    );
}

/// A PostgreSQL store on a fresh schema of the test database, or `None` (after
/// saying so) when `DOORSTEP_TEST_DATABASE_URL` is not set; on CI it must be.
fn postgres_store(test: &str) -> Option<std::sync::Arc<dyn store::Store>> {
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

#[test]
fn the_console_signs_in_reviews_and_decides_on_postgresql_too() {
    let Some(pg) = postgres_store("the_console_signs_in_reviews_and_decides_on_postgresql_too")
    else {
        return;
    };
    let w = World::with_store(pg);
    let case3 = seed(&w);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let c = runtime.block_on(async {
        let c = console_world_in(w, case3).await;
        let cookies = supervisor(&c.w, "sup_a").await;
        let queue = get(&c.w, "/console/queue?flag=two_person", &cookies).await;
        assert!(
            queue
                .body
                .contains(&format!("/console/visits/{}", c.visit1))
        );
        assert!(!queue.body.contains(&c.visit3.to_string()));
        let uri = format!("/console/visits/{}", c.visit1);
        let report = get(&c.w, &uri, &cookies).await;
        assert_eq!(report.status, StatusCode::OK);
        assert!(report.body.contains("Intact: every chain verifies."));
        let other = supervisor(&c.w, "sup_b").await;
        assert_eq!(get(&c.w, &uri, &other).await.status, StatusCode::NOT_FOUND);
        let fields = [
            ("csrf", report.csrf()),
            ("reason_code", "other".to_owned()),
            ("comment", "please check the address".to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let returned = post(&c.w, &format!("{uri}/return"), &cookies, &fields).await;
        assert_eq!(returned.status, StatusCode::SEE_OTHER);
        let changes = c.w.pull_all(&c.agent1_token).await;
        assert!(
            changes
                .iter()
                .any(|ch| ch["type"] == "visit_entry" && ch["entry"]["kind"] == "reviewed")
        );
        let dashboard = get(&c.w, "/console/dashboard", &cookies).await;
        assert_eq!(dashboard.status, StatusCode::OK);
        c
    });
    assert_eq!(audit_actions(&c.w, "console_view_visit").len(), 1);
    assert_eq!(audit_actions(&c.w, "review").len(), 1);
}

#[tokio::test]
async fn a_session_expires_after_eight_hours() {
    let w = World::new();
    let cookies = supervisor(&w, "sup_a").await;
    w.clock.advance(Duration::hours(8) - Duration::seconds(1));
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.status,
        StatusCode::OK
    );
    w.clock.advance(Duration::seconds(1));
    assert_eq!(
        get(&w, "/console/queue", &cookies).await.location(),
        "/console/login"
    );
}

#[test]
fn an_existing_sqlite_database_gains_the_console_tables() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = doorstep_server::store::sqlite::SqliteStore::open_dir(dir.path()).unwrap();
        drop(store);
        // Make it look like a schema-1 database from before the console.
        let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
        conn.execute_batch("DROP TABLE console_sessions; PRAGMA user_version = 1;")
            .unwrap();
    }
    let store = doorstep_server::store::sqlite::SqliteStore::open_dir(dir.path()).unwrap();
    let found = store::read(&store, |tx| tx.console_session("none")).unwrap();
    assert_eq!(found, None);
    let conn = rusqlite::Connection::open(dir.path().join("doorstep-server.db")).unwrap();
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, doorstep_server::store::sqlite::SCHEMA_VERSION);
}
