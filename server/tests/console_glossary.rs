//! Every console page, rendered in both languages, uses only the glossary's
//! terms for its concepts (`console::i18n::glossary`): no forbidden synonym
//! on any page, including the sign-in and error pages, the report after a
//! decision and the answer to a stale decision.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use console_support::*;
use doorstep_server::console::i18n::Lang;
use doorstep_server::console::i18n::glossary::{GLOSSARY, forbidden_in};

/// The page's text as people read it: markup, scripts and styles out.
fn visible(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(ch),
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn every_page_in_both_languages_uses_only_the_glossarys_terms() {
    let c = console_world().await;
    let cookies = supervisor(&c.w, "sup_a").await;
    let csrf = get(&c.w, "/console/queue", &cookies).await.csrf();
    // A decided visit (the report after a decision) and a stale decision.
    let returned = post(
        &c.w,
        &format!("/console/visits/{}/return", c.visit1),
        &cookies,
        &[
            ("csrf", &csrf),
            ("reason_code", "missing_photos"),
            ("comment", "door number"),
        ],
    )
    .await;
    assert_eq!(returned.status, StatusCode::SEE_OTHER);
    let visit = |v: Uuid, rest: &str| format!("/console/visits/{v}{rest}");
    let pages = [
        "/console/queue".to_owned(),
        "/console/visits".to_owned(),
        "/console/dashboard".to_owned(),
        "/console/cases".to_owned(),
        "/console/cases/import".to_owned(),
        "/console/repayments/import".to_owned(),
        "/console/audit".to_owned(),
        format!("/console/cases/{}", c.w.case1.id),
        visit(c.visit1, ""),
        visit(c.visit1, "?done=returned"),
        visit(c.visit1, "/print"),
        visit(c.visit1, "/photos/0"),
        visit(c.visit3, ""),
        "/console/no/such/page".to_owned(),
    ];
    let mut checked = 0;
    for (lang, code) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        let cookies = cookies.replace("doorstep_lang=en", &format!("doorstep_lang={code}"));
        let mut seen = Vec::new();
        for uri in &pages {
            let page = get(&c.w, uri, &cookies).await;
            assert!(
                page.status == StatusCode::OK || page.status == StatusCode::NOT_FOUND,
                "{uri}: {}",
                page.status
            );
            seen.push((uri.clone(), page.body));
        }
        let stale = post(
            &c.w,
            &visit(c.visit1, "/approve"),
            &cookies,
            &[("csrf", &csrf)],
        )
        .await;
        assert_eq!(stale.status, StatusCode::CONFLICT);
        seen.push(("stale approval".into(), stale.body));
        let login = get(&c.w, "/console/login", &format!("doorstep_lang={code}")).await;
        seen.push(("/console/login".into(), login.body));
        let refused = sign_in(&c.w, "sup_a", "wrong").await.unwrap_err();
        if lang == Lang::Zh {
            // The test's sign-in has no language cookie: Chinese by default.
            seen.push(("refused sign-in".into(), refused.body));
        }
        for (uri, body) in seen {
            assert!(
                body.contains(&format!("lang=\"{}\"", lang.html())),
                "{uri} in {code}"
            );
            assert_eq!(
                forbidden_in(&visible(&body), lang),
                [],
                "{uri} in {code} uses a synonym the glossary forbids"
            );
            checked += 1;
        }
    }
    // The admin's pages, as the admin sees them.
    doorstep_server::admin::create_user(
        c.w.state.store.as_ref(),
        "root",
        "pw-root-secret",
        doorstep_core::sync::protocol::Role::Admin,
        None,
        chrono::Utc::now(),
    )
    .unwrap();
    let admin = sign_in(&c.w, "root", "pw-root-secret").await.unwrap();
    for (lang, code) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        let cookies = admin.replace("doorstep_lang=en", &format!("doorstep_lang={code}"));
        for uri in [
            "/console/admin/users?done=created",
            "/console/admin/devices?done=deactivated",
            "/console/admin/teams?done=moved",
        ] {
            let page = get(&c.w, uri, &cookies).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}");
            assert!(page.body.contains(&format!("lang=\"{}\"", lang.html())));
            assert_eq!(
                forbidden_in(&visible(&page.body), lang),
                [],
                "{uri} in {code} uses a synonym the glossary forbids"
            );
            checked += 1;
        }
    }
    assert!(checked >= 36, "{checked}");
    // The glossary's terms are the ones the pages use: the queue names the
    // agent's column with the agent's term in both languages.
    for (lang, code) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        let cookies = cookies.replace("doorstep_lang=en", &format!("doorstep_lang={code}"));
        let queue = get(&c.w, "/console/queue", &cookies)
            .await
            .body
            .to_lowercase();
        assert!(queue.contains(GLOSSARY[0].term(lang)), "{code}");
    }
}

#[test]
fn the_checker_finds_a_forbidden_synonym_in_a_page() {
    assert_eq!(
        forbidden_in(&visible("<p>分配给<b>催收员</b></p>"), Lang::Zh),
        [("外访员", "催收员")]
    );
    assert_eq!(
        forbidden_in(&visible("<td>Team Manager</td>"), Lang::En),
        [("supervisor", "manager")]
    );
}

/// The admin's checklist templates and field policy pages, for an admin.
#[tokio::test]
async fn the_admins_template_and_policy_pages_use_only_the_glossarys_terms() {
    let c = console_world().await;
    let s = c.w.state.store.as_ref();
    let role = doorstep_core::sync::protocol::Role::Admin;
    admin::create_user(s, "root", "pw-root-secret", role, None, common::t0()).unwrap();
    let cookies = sign_in(&c.w, "root", "pw-root-secret").await.unwrap();
    let pages = [
        "/console/admin/templates",
        "/console/admin/templates/home-verification/1",
        "/console/admin/policy",
    ];
    for (lang, code) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        let cookies = cookies.replace("doorstep_lang=en", &format!("doorstep_lang={code}"));
        for uri in pages {
            let page = get(&c.w, uri, &cookies).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}");
            assert!(page.body.contains(&format!("lang=\"{}\"", lang.html())));
            assert_eq!(
                forbidden_in(&visible(&page.body), lang),
                [],
                "{uri} in {code} uses a synonym the glossary forbids"
            );
        }
    }
}
