//! Router tests of the console's review queue, visit report, photos and decisions,
//! with every denial.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use common::*;
use console_support::*;

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
    let not_home = get(&c.w, "/console/queue?outcome=not_home", &cookies).await;
    only(&not_home, c.visit3, c.visit1);
    // A visit without an outcome cannot be submitted any more: none are.
    let none = get(&c.w, "/console/queue?outcome=none", &cookies).await;
    assert!(none.body.contains("<span id=\"shown\">0</span>"));
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
    // Every cross-team attempt is audited, with ids and a code.
    let visit1 = c.visit1.to_string();
    let refused = |target: &str| vec![(target.to_owned(), "not_your_team".to_owned())];
    assert_eq!(audit_refusals(&c.w, "console_view_visit"), refused(&visit1));
    assert_eq!(
        audit_refusals(&c.w, "console_view_attachment"),
        refused(&visit1)
    );
    assert_eq!(
        audit_refusals(&c.w, "review_refused"),
        [refused(&visit1), refused(&visit1)].concat()
    );
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
async fn photos_are_authorized_audited_and_served_once_the_phone_uploaded_them() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let uri = format!("/console/visits/{}/attachments/0", c.visit1);
    // The phone has not uploaded the bytes yet.
    let photo = get(&c.w, &uri, &cookies).await;
    assert_eq!(photo.status, StatusCode::NOT_FOUND);
    assert_eq!(
        audit_actions(&c.w, "console_view_attachment"),
        [c.visit1.to_string()]
    );
    // Now it has, as a phone does.
    let upload = axum::http::Request::builder()
        .method("PUT")
        .uri(format!(
            "/v1/attachments/{}?offset=0&total={}",
            photo_sha256(),
            PHOTO.len()
        ))
        .header("authorization", format!("Bearer {}", c.agent1_token))
        .header("content-type", "application/octet-stream")
        .body(axum::body::Body::from(PHOTO.to_vec()))
        .unwrap();
    let (status, state) = c.w.raw(upload).await;
    assert_eq!(status, StatusCode::OK, "{state}");
    assert_eq!(state["complete"], true);
    let photo = get(&c.w, &uri, &cookies).await;
    assert_eq!(photo.status, StatusCode::OK);
    assert_eq!(photo.bytes, PHOTO);
    assert_eq!(photo.header("content-type"), "image/jpeg");
    // Whatever a phone sent (an SVG signature, say) runs nothing in the browser.
    assert!(photo.header("content-security-policy").contains("sandbox"));
    assert_eq!(photo.header("x-content-type-options"), "nosniff");
    assert_eq!(audit_actions(&c.w, "console_view_attachment").len(), 2);
    let missing = get(
        &c.w,
        &format!("/console/visits/{}/attachments/7", c.visit1),
        &cookies,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(audit_actions(&c.w, "console_view_attachment").len(), 2);
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
    // Each refused form is audited: the page, the code, none of the form.
    let refused = audit_refusals(&c.w, "form_refused");
    assert_eq!(
        refused.last(),
        Some(&(back.clone(), "csrf_refused".to_owned())),
        "{refused:?}"
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
    // Until the agent resubmits, nothing is listed as changed: the page
    // waits for the agent.
    assert!(report.body.contains("waiting for the agent"));
    assert!(
        !report
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
        // The phone number; not "138" alone, which a random visit id can hold.
        "138 0000",
        "13800000000",
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
