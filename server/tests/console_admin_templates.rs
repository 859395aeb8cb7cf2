//! Router tests of the admin's checklist templates and field policy pages
//! (`server/src/console/admin/`): admin only, CSRF-checked, audited; an
//! XLSForm workbook checked, then published, listed and previewed; a
//! workbook with problems publishes nothing and lists each row; the policy
//! published from the form or JSON, and refused when it makes no sense. On
//! SQLite and on PostgreSQL (when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;
mod xlsform_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::sync::protocol::Role;
use doorstep_server::service::{policy, templates};
use xlsform_support::*;

on_both_backends!(
    only_an_admin_opens_the_admin_pages,
    a_workbook_is_checked_then_published_listed_and_previewed,
    a_workbook_with_problems_publishes_nothing_and_lists_each_row,
    template_json_is_published_from_the_text_area_too,
    forms_without_the_token_publish_nothing,
    the_policy_is_published_from_the_form_or_json_and_refused_when_senseless,
    a_retired_version_starts_no_new_visit_and_keeps_its_visits,
);

/// Creates the admin `root` and signs them in (English).
async fn root(w: &Arc<World>) -> String {
    blocking(w, |w| {
        let s = w.state.store.as_ref();
        admin::create_user(s, "root", "pw-root-secret", Role::Admin, None, t0()).unwrap();
    })
    .await;
    sign_in(w, "root", "pw-root-secret").await.unwrap()
}

/// The templates page's upload: `file` (an .xlsx) and `run`.
async fn upload(w: &World, cookies: &str, csrf: &str, file: &[u8], run: &str) -> Page {
    let fields = [("csrf", csrf), ("run", run)];
    post_file(
        w,
        "/console/admin/templates",
        cookies,
        fields,
        "form.xlsx",
        file,
    )
    .await
}

async fn versions(w: &Arc<World>) -> Vec<(String, u32, u64)> {
    blocking(w, |w| {
        templates::versions(w.state.store.as_ref())
            .unwrap()
            .into_iter()
            .map(|v| (v.key, v.version, v.visits))
            .collect()
    })
    .await
}

async fn only_an_admin_opens_the_admin_pages(w: Arc<World>) {
    let _ = console_world_on(&w).await;
    let root = root(&w).await;
    let sup = supervisor(&w, "sup_a").await;
    let pages = [
        "/console/admin/templates",
        "/console/admin/templates/home-verification/1",
        "/console/admin/policy",
    ];
    for uri in pages {
        assert_eq!(get(&w, uri, &root).await.status, StatusCode::OK, "{uri}");
        let refused = get(&w, uri, &sup).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{uri}");
    }
    let csrf = get(&w, "/console/queue", &sup).await.csrf();
    for uri in ["/console/admin/templates", "/console/admin/policy"] {
        let refused = post(
            &w,
            uri,
            &sup,
            &[("csrf", &csrf), ("geofence_radius_m", "500")],
        )
        .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{uri}");
    }
    assert_eq!(versions(&w).await.len(), 1);
    assert_eq!(
        blocking(&w, |w| policy::current(w.state.store.as_ref())
            .unwrap()
            .version)
        .await,
        0
    );
    // The menu links to the admin's pages for an admin only.
    let admin_menu = get(&w, "/console/queue", &root).await;
    assert!(
        admin_menu
            .urls()
            .contains(&"/console/admin/templates".to_owned())
    );
    let supervisor_menu = get(&w, "/console/queue", &sup).await;
    assert!(!supervisor_menu.body.contains("/console/admin/"));
    // The list counts the visits on each version: the world's three.
    let list = get(&w, "/console/admin/templates", &root).await;
    assert_eq!(versions(&w).await, [("home-verification".into(), 1, 3)]);
    assert!(
        list.body
            .contains("<td>3</td><td><a href=\"/console/admin/templates/home-verification/1\">"),
        "{}",
        list.body
    );
    let unknown = get(&w, "/console/admin/templates/home-verification/9", &root).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn a_workbook_is_checked_then_published_listed_and_previewed(w: Arc<World>) {
    let root = root(&w).await;
    let v2 = workbook(&home_verification_v2_sheets());
    let csrf = get(&w, "/console/admin/templates", &root).await.csrf();

    let checked = upload(&w, &root, &csrf, &v2, "check").await;
    assert_eq!(checked.status, StatusCode::OK, "{}", checked.body);
    assert!(checked.body.contains("id=\"clean\""));
    assert!(checked.body.contains("home-verification@2"));
    assert_eq!(versions(&w).await.len(), 1, "checking publishes nothing");

    let published = upload(&w, &root, &csrf, &v2, "publish").await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert!(published.body.contains("id=\"published\""));
    assert_eq!(
        versions(&w).await,
        [
            ("home-verification".into(), 1, 0),
            ("home-verification".into(), 2, 0)
        ]
    );
    let audited = blocking(&w, |w| audit_actions(w, "console_publish_template")).await;
    assert_eq!(audited, ["home-verification@2"]);

    // The preview lists the items in order, as the phone asks them.
    let preview = get(&w, "/console/admin/templates/home-verification/2", &root).await;
    assert_eq!(preview.status, StatusCode::OK);
    let body = &preview.body;
    let at = |id: &str| body.find(&format!("id=\"item-{id}\"")).unwrap();
    assert!(at("identity_confirmed") < at("other_debts"));
    assert!(at("other_debts") < at("other_debts_total"));
    assert!(at("other_debts_total") < at("premises_photos"));
    for shown in [
        "when “Other debts” includes “Private loan”",
        "when “Reason for overdue” is “Other”",
        "when “Contact details updated” is “yes”",
        "Several of 1 – 3",
        "Amount (CNY) from 0.00",
        "Whole number 1 – 5",
        "Photos 1 – 6",
        "其他负债总额（人民币）",
        "Total of other debts (CNY)",
        "民间借贷",
    ] {
        assert!(body.contains(shown), "{shown}");
    }
    let zh_cookies = root.replace("doorstep_lang=en", "doorstep_lang=zh");
    let zh = get(
        &w,
        "/console/admin/templates/home-verification/2",
        &zh_cookies,
    )
    .await;
    assert!(
        zh.body.contains("当「其他负债」包含「民间借贷」时"),
        "{}",
        zh.body
    );
    assert!(zh.body.contains("当「逾期原因」为「其他」时"));

    // The same key and version again: refused, nothing changes.
    let again = upload(&w, &root, &csrf, &v2, "publish").await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("id=\"exists\""));
    assert_eq!(versions(&w).await.len(), 2);
}

async fn a_workbook_with_problems_publishes_nothing_and_lists_each_row(w: Arc<World>) {
    let root = root(&w).await;
    let mut sheets = home_verification_v2_sheets();
    // Row 3 (address_confirmed) becomes a note; row 10's relevant gains an `and`.
    sheets[0].1[2][0] = "note";
    sheets[0].1[9][7] = "${overdue_reason} = 'other' and ${residence_status} = 'rented'";
    let csrf = get(&w, "/console/admin/templates", &root).await.csrf();
    let refused = upload(&w, &root, &csrf, &workbook(&sheets), "publish").await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = &refused.body;
    assert!(body.contains("id=\"problems\""));
    for row in [
        "<td class=\"mono\">survey</td><td>3</td><td class=\"mono\">type</td>",
        "<td class=\"mono\">survey</td><td>10</td><td class=\"mono\">relevant</td>",
    ] {
        assert!(body.contains(row), "{row}\n{body}");
    }
    assert!(body.contains("type note is not supported"));
    assert_eq!(versions(&w).await.len(), 1);
}

async fn template_json_is_published_from_the_text_area_too(w: Arc<World>) {
    let root = root(&w).await;
    let csrf = get(&w, "/console/admin/templates", &root).await.csrf();
    let json = doorstep_core::checklist::HOME_VERIFICATION_JSON
        .replace("\"home-verification\"", "\"revisit\"");
    let published = post(
        &w,
        "/console/admin/templates",
        &root,
        &[("csrf", &csrf), ("run", "publish"), ("json", &json)],
    )
    .await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert!(versions(&w).await.contains(&("revisit".into(), 1, 0)));
    let malformed = post(
        &w,
        "/console/admin/templates",
        &root,
        &[
            ("csrf", &csrf),
            ("run", "publish"),
            ("json", "{\"format\": 1}"),
        ],
    )
    .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(malformed.body.contains("id=\"refused\""));
}

async fn forms_without_the_token_publish_nothing(w: Arc<World>) {
    let root = root(&w).await;
    let v2 = workbook(&home_verification_v2_sheets());
    let refused = upload(&w, &root, "not-the-token", &v2, "publish").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let policy_refused = post(
        &w,
        "/console/admin/policy",
        &root,
        &[("csrf", "not-the-token"), ("geofence_radius_m", "500")],
    )
    .await;
    assert_eq!(policy_refused.status, StatusCode::FORBIDDEN);
    assert_eq!(versions(&w).await.len(), 1);
    assert_eq!(
        blocking(&w, |w| policy::current(w.state.store.as_ref())
            .unwrap()
            .version)
        .await,
        0
    );
    let audited = blocking(&w, |w| audit_refusals(w, "form_refused")).await;
    assert_eq!(audited.len(), 2);
}

async fn the_policy_is_published_from_the_form_or_json_and_refused_when_senseless(w: Arc<World>) {
    let root = root(&w).await;
    let page = get(&w, "/console/admin/policy", &root).await;
    assert!(page.body.contains("the default (no version published yet)"));
    assert!(page.body.contains("value=\"300\""), "the default geofence");
    let csrf = page.csrf();
    let fields = |radius: &'static str, start: &'static str| {
        vec![
            ("contact_hours_start", start),
            ("contact_hours_end", "21:00:00"),
            ("notice_required", "true"),
            ("min_notice_lead_minutes", "30"),
            ("geofence_radius_m", radius),
            ("max_gps_accuracy_m", "100"),
            ("retention_days_after_approval", "30"),
        ]
    };
    let with_csrf = |mut f: Vec<(&'static str, &'static str)>, csrf: &str| {
        let mut all: Vec<(String, String)> = vec![("csrf".into(), csrf.to_owned())];
        all.extend(f.drain(..).map(|(k, v)| (k.to_owned(), v.to_owned())));
        all
    };
    let send_form = |all: Vec<(String, String)>| {
        let w = Arc::clone(&w);
        let root = root.clone();
        async move {
            let borrowed: Vec<(&str, &str)> =
                all.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            post(&w, "/console/admin/policy", &root, &borrowed).await
        }
    };

    let published = send_form(with_csrf(fields("500", "08:00"), &csrf)).await;
    assert_eq!(published.status, StatusCode::OK, "{}", published.body);
    assert!(published.body.contains("id=\"published\""));
    assert!(published.body.contains("value=\"500\""));
    let current = blocking(&w, |w| policy::current(w.state.store.as_ref()).unwrap()).await;
    assert_eq!(
        (current.version, current.policy.geofence_radius_m),
        (1, 500)
    );

    let unchanged = send_form(with_csrf(fields("500", "08:00"), &csrf)).await;
    assert_eq!(unchanged.status, StatusCode::CONFLICT);
    assert!(unchanged.body.contains("id=\"unchanged\""));

    let senseless = send_form(with_csrf(fields("500", "22:00"), &csrf)).await;
    assert_eq!(senseless.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        senseless
            .body
            .contains("contact hours must start before they end")
    );

    let misspelt = send_form(vec![
        ("csrf".into(), csrf.clone()),
        ("json".into(), "{\"geofence_radius\": 200}".into()),
    ])
    .await;
    assert_eq!(misspelt.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(misspelt.body.contains("unknown field geofence_radius"));

    let from_json = send_form(vec![
        ("csrf".into(), csrf.clone()),
        ("json".into(), "{\"geofence_radius_m\": 200}".into()),
    ])
    .await;
    assert_eq!(from_json.status, StatusCode::OK);
    let current = blocking(&w, |w| policy::current(w.state.store.as_ref()).unwrap()).await;
    assert_eq!(
        (current.version, current.policy.geofence_radius_m),
        (2, 200)
    );
    assert!(from_json.body.contains("id=\"history\""));
    let audited = blocking(&w, |w| audit_actions(w, "console_publish_policy")).await;
    assert_eq!(audited, ["1", "2"]);
    let zh_cookies = root.replace("doorstep_lang=en", "doorstep_lang=zh");
    let zh = get(&w, "/console/admin/policy", &zh_cookies).await;
    assert!(zh.body.contains("地理围栏半径"));
}

async fn a_retired_version_starts_no_new_visit_and_keeps_its_visits(w: Arc<World>) {
    let c = console_world_on(&w).await;
    let root = root(&w).await;
    // A new case of agent1's, and a visit started on version 1 before the
    // retirement (checked in, not yet done).
    let case = blocking(&w, |w| {
        let case = sample_case(w.agent1, None);
        admin::import_cases(w.state.store.as_ref(), std::slice::from_ref(&case), t0()).unwrap();
        case
    })
    .await;
    let mut started = Phone::new(w.phone1, Uuid::now_v7());
    let begun: Vec<_> = [planned(&case), notice_before(24)]
        .iter()
        .map(|change| started.act(change))
        .collect();
    assert_eq!(
        w.push_outcomes(&c.agent1_token, &begun).await,
        ["applied", "applied"]
    );

    // Version 1 alone cannot be retired: new visits would have no template.
    let csrf = get(&w, "/console/admin/templates", &root).await.csrf();
    let retire_v1 = "/console/admin/templates/home-verification/1/retire";
    let alone = post(&w, retire_v1, &root, &[("csrf", &csrf)]).await;
    assert_eq!(alone.status, StatusCode::CONFLICT);
    assert!(alone.body.contains("id=\"not-retirable\""));

    // With version 2 published, version 1 is retired from the console.
    blocking(&w, |w| {
        let v2 = doorstep_server::xlsform::read(&workbook(&home_verification_v2_sheets())).unwrap();
        templates::publish(w.state.store.as_ref(), None, &v2, t0()).unwrap();
    })
    .await;
    let list = get(&w, "/console/admin/templates", &root).await;
    assert!(list.urls().contains(&retire_v1.to_owned()));
    assert!(
        !list
            .body
            .contains("/console/admin/templates/home-verification/2/retire")
    );
    let sup = supervisor(&w, "sup_a").await;
    let sup_csrf = get(&w, "/console/queue", &sup).await.csrf();
    let forbidden = post(&w, retire_v1, &sup, &[("csrf", &sup_csrf)]).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    let retired = post(&w, retire_v1, &root, &[("csrf", &csrf)]).await;
    assert_eq!(retired.status, StatusCode::OK, "{}", retired.body);
    assert!(retired.body.contains("id=\"retired\""));
    assert!(retired.body.contains("Retired 2026"));
    let found = blocking(&w, |w| templates::versions(w.state.store.as_ref()).unwrap()).await;
    assert!(found[0].retired_at.is_some() && found[1].retired_at.is_none());
    assert_eq!(
        blocking(&w, |w| audit_actions(w, "console_retire_template")).await,
        ["home-verification@1"]
    );
    let again = post(&w, retire_v1, &root, &[("csrf", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    let newest = post(
        &w,
        "/console/admin/templates/home-verification/2/retire",
        &root,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(newest.status, StatusCode::CONFLICT);

    // The visit started on version 1 goes on; a new one cannot start on it,
    // and starts on version 2.
    let more = [started.act(&VisitChange::CheckedIn { check: site() })];
    assert_eq!(w.push_outcomes(&c.agent1_token, &more).await, ["applied"]);
    let mut late = Phone::new(w.phone1, Uuid::now_v7());
    let on_v1 = [late.act(&planned(&case))];
    assert_eq!(
        w.push_outcomes(&c.agent1_token, &on_v1).await,
        ["unknown_template"]
    );
    let mut fresh = Phone::new(w.phone1, Uuid::now_v7());
    let mut on_v2 = planned(&case);
    if let VisitChange::Planned {
        template_version, ..
    } = &mut on_v2
    {
        *template_version = 2;
    }
    let on_v2 = [fresh.act(&on_v2)];
    assert_eq!(w.push_outcomes(&c.agent1_token, &on_v2).await, ["applied"]);
}
