//! Router tests of what was seen to be wrong on the console pages (issue 12
//! §5): the report's timeline and times, what changed since a return, phone
//! labels and numbers, a refused sign-in, a stale second decision and the
//! link to the next visit after a decision; on SQLite and on PostgreSQL (when
//! `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use common::*;
use console_support::*;

on_both_backends!(
    the_timeline_shows_every_time_in_the_cases_offset_and_names_the_decision,
    right_after_a_return_the_report_waits_for_the_agent_instead_of_saying_nothing_changed,
    a_stale_second_decision_says_who_decided_what_and_when,
    after_a_decision_the_report_links_to_the_next_visit_waiting,
    phone_labels_are_translated_and_a_new_phone_in_the_checklist_is_masked,
    a_refused_sign_in_shows_the_typed_user_name_again_escaped_never_the_password,
    a_photo_opens_on_a_page_of_the_console_under_its_policy_with_a_way_back,
    a_notice_the_customer_did_not_acknowledge_raises_a_flag_filterable_like_the_others,
);

/// The part of `body` from the element with `id` to the next `end`.
fn section<'a>(body: &'a str, id: &str, end: &str) -> &'a str {
    let from = body
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {body}"));
    let rest = &body[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

async fn return_visit1(c: &Console, cookies: &str) -> String {
    let uri = format!("/console/visits/{}", c.visit1);
    let csrf = get(&c.w, &uri, cookies).await.csrf();
    let returned = post(
        &c.w,
        &format!("{uri}/return"),
        cookies,
        &[
            ("csrf", &csrf),
            ("reason_code", "missing_photos"),
            ("comment", "door number photo"),
        ],
    )
    .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER);
    csrf
}

async fn the_timeline_shows_every_time_in_the_cases_offset_and_names_the_decision(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    return_visit1(&c, &cookies).await;
    let report = get(&c.w, &format!("/console/visits/{}", c.visit1), &cookies).await;
    assert_eq!(report.status, StatusCode::OK);
    assert!(
        !report.body.contains("UTC+00:00"),
        "a server-stamped entry shown in UTC"
    );
    let timeline = &report.body[report.body.find("class=\"timeline\"").unwrap()..];
    let timeline = &timeline[..timeline.find("</ol>").unwrap()];
    assert!(
        timeline.contains("(UTC+08:00)</span> <bdi>Returned</bdi>"),
        "{timeline}"
    );
    assert!(!timeline.contains("Reviewed"), "{timeline}");
}

async fn right_after_a_return_the_report_waits_for_the_agent_instead_of_saying_nothing_changed(
    w: Arc<World>,
) {
    let mut c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    return_visit1(&c, &cookies).await;
    let uri = format!("/console/visits/{}", c.visit1);
    let report = get(&c.w, &uri, &cookies).await;
    assert!(
        !report
            .body
            .contains("Nothing changed since the last return.")
    );
    assert!(!report.body.contains("id=\"since-return\""));
    assert!(
        report.body.contains("waiting for the agent"),
        "{}",
        report.body
    );
    // Once the agent resubmits, the changes are listed.
    let edits = [
        VisitChange::Answered {
            item_id: "identity_confirmed".into(),
            value: AnswerValue::YesNo(false),
        },
        VisitChange::Submitted {
            at: t0() + Duration::hours(6),
        },
    ];
    let ops: Vec<_> = edits.iter().map(|e| c.phone1.act(e)).collect();
    assert_eq!(
        c.w.push_outcomes(&c.agent1_token, &ops).await,
        ["applied"; 2]
    );
    let report = get(&c.w, &uri, &cookies).await;
    assert!(!report.body.contains("waiting for the agent"));
    assert!(section(&report.body, "since-return", "</ul>").contains("Submitted"));
    // Approved after the resubmission: the list names the decision too.
    let csrf = report.csrf();
    let approved = post(
        &c.w,
        &format!("{uri}/approve"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    let report = get(&c.w, &uri, &cookies).await;
    let changed = section(&report.body, "since-return", "</ul>");
    assert!(
        changed.contains("<bdi class=\"text\">Approved</bdi>"),
        "{changed}"
    );
    assert!(!changed.contains("Reviewed"), "{changed}");
}

async fn a_stale_second_decision_says_who_decided_what_and_when(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let csrf = return_visit1(&c, &cookies).await;
    let uri = format!("/console/visits/{}", c.visit1);
    let again = post(
        &c.w,
        &format!("{uri}/approve"),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let latest = section(&again.body, "latest-decision", "</dl>");
    assert!(latest.contains("Returned"), "{latest}");
    assert!(latest.contains("sup_a"), "{latest}");
    assert!(latest.contains("(UTC+08:00)"), "{latest}");
    assert!(again.body.contains(&format!("href=\"{uri}\"")));
    // In Chinese too.
    let zh = cookies.replace("doorstep_lang=en", "doorstep_lang=zh");
    let again = post(
        &c.w,
        &format!("{uri}/return"),
        &zh,
        &[
            ("csrf", &csrf),
            ("reason_code", "other"),
            ("comment", "again"),
        ],
    )
    .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("审核人"), "{}", again.body);
}

async fn after_a_decision_the_report_links_to_the_next_visit_waiting(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let csrf = get(&c.w, "/console/queue", &cookies).await.csrf();
    // visit3 was submitted first; after it, visit1 waits.
    let approved = post(
        &c.w,
        &format!("/console/visits/{}/approve", c.visit3),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    let report = get(&c.w, approved.location(), &cookies).await;
    assert!(
        report.body.contains(&format!(
            "<a href=\"/console/visits/{}\" id=\"next-visit\">",
            c.visit1
        )),
        "{}",
        report.body
    );
    // Without a decision just made, no such link.
    let plain = get(&c.w, &format!("/console/visits/{}", c.visit3), &cookies).await;
    assert!(!plain.body.contains("next-visit"));
    let approved = post(
        &c.w,
        &format!("/console/visits/{}/approve", c.visit1),
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    let report = get(&c.w, approved.location(), &cookies).await;
    assert!(!report.body.contains("id=\"next-visit\""));
    assert!(report.body.contains("id=\"queue-empty\""));
}

async fn phone_labels_are_translated_and_a_new_phone_in_the_checklist_is_masked(w: Arc<World>) {
    let mut c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    // The agent records a new phone number on visit1 after a return.
    return_visit1(&c, &cookies).await;
    let edits = [
        VisitChange::Answered {
            item_id: "contact_details_updated".into(),
            value: AnswerValue::YesNo(true),
        },
        VisitChange::Answered {
            item_id: "new_phone".into(),
            value: AnswerValue::Text("+86 139 1234 5678".into()),
        },
        // Another number, written where free text goes.
        VisitChange::Answered {
            item_id: "customer_statement".into(),
            value: AnswerValue::Text("(010) 8765-4321".into()),
        },
        VisitChange::Submitted {
            at: t0() + Duration::hours(6),
        },
    ];
    let ops: Vec<_> = edits.iter().map(|e| c.phone1.act(e)).collect();
    assert_eq!(
        c.w.push_outcomes(&c.agent1_token, &ops).await,
        ["applied"; 4]
    );
    let uri = format!("/console/visits/{}", c.visit1);
    let report = get(&c.w, &uri, &cookies).await;
    assert!(!report.body.contains("1234 5678"), "new phone unmasked");
    assert!(!report.body.contains("139 1234"), "new phone unmasked");
    assert!(report.body.contains("*************5678"), "{}", report.body);
    assert!(
        !report.body.contains("8765-"),
        "a number in free text unmasked"
    );
    assert!(report.body.contains("*********4321"), "{}", report.body);
    // The case's phone label "mobile" is named in the page's language.
    assert!(report.body.contains("Mobile **"), "{}", report.body);
    let zh = cookies.replace("doorstep_lang=en", "doorstep_lang=zh");
    let report = get(&c.w, &uri, &zh).await;
    assert!(report.body.contains("手机 **"));
    assert!(!report.body.contains("mobile **"), "untranslated label");
}

async fn a_refused_sign_in_shows_the_typed_user_name_again_escaped_never_the_password(
    w: Arc<World>,
) {
    let refused = sign_in(&w, "sup_a\"><b>x", "not-the-password")
        .await
        .unwrap_err();
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .body
            .contains("name=\"username\" autocomplete=\"username\" required value=\"sup_a&#34;&#62;&#60;b&#62;x\""),
        "{}",
        refused.body
    );
    assert!(!refused.body.contains("not-the-password"));
    let refused = sign_in(&w, "sup_a", "wrong").await.unwrap_err();
    assert!(refused.body.contains("value=\"sup_a\""));
    assert!(!refused.body.contains("value=\"wrong\""));
}

async fn a_photo_opens_on_a_page_of_the_console_under_its_policy_with_a_way_back(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let uri = format!("/console/visits/{}", c.visit1);
    let report = get(&c.w, &uri, &cookies).await;
    let page_uri = format!("{uri}/photos/0");
    assert!(
        report.body.contains(&format!("<a href=\"{page_uri}\">")),
        "the report links to the photo's page"
    );
    let page = get(&c.w, &page_uri, &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.header("content-security-policy")
            .contains("default-src 'none'")
    );
    assert!(
        page.body
            .contains(&format!("<img src=\"{uri}/attachments/0\""))
    );
    assert!(
        page.body
            .contains(&format!("<a href=\"{uri}\" id=\"back-to-report\">"))
    );
    assert!(page.body.contains("Visit report"), "the report's header");
    assert!(!page.body.contains("style=") && !page.body.contains("<script"));
    // No such photo, a malformed path, another team: not found.
    assert_eq!(
        get(&c.w, &format!("{uri}/photos/9"), &cookies).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&c.w, &format!("{uri}/photos/x"), &cookies).await.status,
        StatusCode::NOT_FOUND
    );
    let other = supervisor(&c.w, "sup_b").await;
    assert_eq!(
        get(&c.w, &page_uri, &other).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn a_notice_the_customer_did_not_acknowledge_raises_a_flag_filterable_like_the_others(
    w: Arc<World>,
) {
    let c = console_world_on(&w).await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let queue = get(&c.w, "/console/queue", &cookies).await;
    assert!(
        queue.body.contains("Notice not acknowledged <b>0</b>"),
        "{}",
        queue.body
    );
    // Another visit of case1, whose notice the customer did not acknowledge.
    let mut phone = Phone::new(c.w.phone1, Uuid::now_v7());
    let mut changes = visit(&c.w.case1, vec![], site(), 7);
    for change in &mut changes {
        if let VisitChange::NoticeRecorded { notice } = change {
            notice.acknowledged = false;
        }
    }
    let ops: Vec<_> = changes.iter().map(|ch| phone.act(ch)).collect();
    let outcomes = c.w.push_outcomes(&c.agent1_token, &ops).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    let unacknowledged = phone.visit;
    let queue = get(
        &c.w,
        "/console/queue?flag=notice_not_acknowledged",
        &cookies,
    )
    .await;
    assert!(
        queue
            .body
            .contains(&format!("/console/visits/{unacknowledged}"))
    );
    assert!(
        !queue
            .body
            .contains(&format!("/console/visits/{}", c.visit1))
    );
    assert!(
        !queue
            .body
            .contains(&format!("/console/visits/{}", c.visit3))
    );
    assert!(queue.body.contains("Notice not acknowledged <b>1</b>"));
    let visits = get(
        &c.w,
        "/console/visits?flag=notice_not_acknowledged",
        &cookies,
    )
    .await;
    assert_eq!(visits.status, StatusCode::OK);
    assert!(
        visits
            .body
            .contains(&format!("/console/visits/{unacknowledged}"))
    );
    assert!(
        !visits
            .body
            .contains(&format!("/console/visits/{}\"", c.visit1))
    );
    let report = get(&c.w, &format!("/console/visits/{unacknowledged}"), &cookies).await;
    assert!(
        report
            .body
            .contains("<span class=\"flag\">Notice not acknowledged</span>")
    );
}
