//! What an admin publishes in the console reaches a real device core on its
//! next sync, and the work done on it is accepted by the server: a checklist
//! template uploaded as an XLSForm workbook (`tests/fixtures/xlsform/
//! home_verification_v2.xlsx`) becomes the template the phone starts its next
//! visit on, and that visit, answered on the new questions, submits and
//! validates on the server; a field policy published from the policy page
//! becomes the phone's policy. The console is driven over HTTP as a browser
//! would (cookies, CSRF tokens, a multipart upload).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../core/tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use common::*;
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::clock::FixedClock;
use doorstep_core::domain::{VisitHistory, VisitId, VisitState};
use doorstep_core::money::Money;
use doorstep_core::policy::Policy;
use doorstep_core::sync::protocol::Role;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, NoProgress};
use doorstep_server::admin;
use doorstep_server::store::{self, Store};
use doorstep_tests::server::TestServer;

const PASSWORD: &str = "s3cret-field-pass";

/// A console session over HTTP: the session cookie, and the page's CSRF
/// token read from each page.
struct Console {
    base: String,
    agent: ureq::Agent,
    cookie: String,
}

fn cookie_of(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (key, value) = v.split(';').next()?.split_once('=')?;
            (key == name && !value.is_empty()).then(|| format!("{key}={value}"))
        })
}

fn csrf_of(body: &str) -> String {
    let at = body.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    body[at..at + body[at..].find('"').unwrap()].to_owned()
}

impl Console {
    fn sign_in(base: &str, username: &str, password: &str) -> Console {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .build()
            .into();
        let mut page = agent.get(&format!("{base}/console/login")).call().unwrap();
        let login_cookie = cookie_of(&page, "doorstep_login").unwrap();
        let csrf = csrf_of(&page.body_mut().read_to_string().unwrap());
        let form = format!(
            "username={username}&password={}&csrf={csrf}",
            password.replace('-', "%2D")
        );
        let answer = agent
            .post(&format!("{base}/console/login"))
            .header("Cookie", &login_cookie)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes())
            .unwrap();
        assert_eq!(answer.status(), 303);
        let session = cookie_of(&answer, "doorstep_console").unwrap();
        Console {
            base: base.to_owned(),
            agent,
            cookie: format!("{session}; doorstep_lang=en"),
        }
    }

    fn get(&self, path: &str) -> (u16, String) {
        let mut page = self
            .agent
            .get(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .call()
            .unwrap();
        (
            page.status().as_u16(),
            page.body_mut().read_to_string().unwrap(),
        )
    }

    fn post(&self, path: &str, content_type: &str, body: &[u8]) -> (u16, String) {
        let mut page = self
            .agent
            .post(&format!("{}{path}", self.base))
            .header("Cookie", &self.cookie)
            .header("Content-Type", content_type)
            .send(body)
            .unwrap();
        (
            page.status().as_u16(),
            page.body_mut().read_to_string().unwrap(),
        )
    }

    /// Uploads a workbook on the templates page and publishes it.
    fn publish_workbook(&self, bytes: &[u8]) -> (u16, String) {
        let csrf = csrf_of(&self.get("/console/admin/templates").1);
        let boundary = "doorstep-round-trip";
        let mut body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"run\"\r\n\r\npublish\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"v2.xlsx\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .into_bytes();
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.post(
            "/console/admin/templates",
            &format!("multipart/form-data; boundary={boundary}"),
            &body,
        )
    }
}

/// A sync of the agent's phone, signed in once (the agent types the
/// password the first time only).
fn sync(doorstep: &Doorstep, transport: &UreqTransport) {
    if !doorstep.is_signed_in().unwrap() {
        doorstep.sign_in(transport, "wang.agent", PASSWORD).unwrap();
    }
    doorstep.sync_now(transport, &NoProgress).unwrap();
}

fn server_history(server: &TestServer, visit: VisitId) -> VisitHistory {
    let stored = store::read(server.store() as &dyn Store, |tx| tx.visit_entries(visit)).unwrap();
    let admitted: Vec<_> = stored
        .into_iter()
        .filter(|s| s.rejected.is_none())
        .map(|s| s.entry)
        .collect();
    VisitHistory::fold(visit, &admitted).unwrap()
}

#[test]
fn a_template_and_a_policy_published_in_the_console_reach_the_phone_on_its_next_sync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("device.db");
    let clock = Arc::new(FixedClock::new(morning()));
    let doorstep =
        Doorstep::open_with_clock(&path, &KEY, Policy::default(), clock.clone()).unwrap();
    doorstep.set_device_utc_offset(480).unwrap();

    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start(data.path()).unwrap();
    let store: &dyn Store = server.store();
    let now = Utc::now();
    admin::create_user(store, "root", "root-console-pass", Role::Admin, None, now).unwrap();
    admin::create_user(
        store,
        "lin.supervisor",
        PASSWORD,
        Role::Supervisor,
        None,
        now,
    )
    .unwrap();
    let agent = admin::create_user(
        store,
        "wang.agent",
        PASSWORD,
        Role::Agent,
        Some("lin.supervisor"),
        now,
    )
    .unwrap();
    admin::create_device(store, "wang.agent", doorstep.device_id(), now).unwrap();
    admin::publish_template(store, &home_verification(), now).unwrap();
    let cases: Vec<_> = (0..2).map(|i| sample_case(agent, i)).collect();
    admin::import_cases(store, &cases, now).unwrap();
    let transport = UreqTransport::new(&server.url(), Duration::from_secs(10));

    // The phone's first sync: version 1, the default policy.
    sync(&doorstep, &transport);
    assert_eq!(doorstep.policy_version().unwrap(), None);

    // The admin publishes version 2 from the workbook, and a policy.
    let console = Console::sign_in(&server.url(), "root", "root-console-pass");
    let workbook = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/xlsform/home_verification_v2.xlsx"),
    )
    .unwrap();
    let (status, page) = console.publish_workbook(&workbook);
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("home-verification@2"));
    let csrf = csrf_of(&console.get("/console/admin/policy").1);
    let (status, page) = console.post(
        "/console/admin/policy",
        "application/x-www-form-urlencoded",
        format!("csrf={csrf}&json=%7B%22geofence_radius_m%22%3A+450%7D").as_bytes(),
    );
    assert_eq!(status, 200, "{page}");

    // The phone's next sync brings both.
    sync(&doorstep, &transport);
    assert_eq!(doorstep.policy_version().unwrap(), Some(1));
    assert_eq!(doorstep.policy().geofence_radius_m, 450);

    // The next visit starts on version 2, answers its new questions and
    // submits; the server admits every entry and holds the visit submitted.
    let field = Field {
        dir,
        path,
        clock,
        doorstep,
        agent,
        cases: cases.clone(),
    };
    let visit = planned_and_notified(&field, cases[0].id);
    assert_eq!(field.doorstep.checklist(visit).unwrap().version(), 2);
    field.clock.advance(chrono::Duration::hours(2));
    let d = &field.doorstep;
    d.check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    complete_checklist(d, visit);
    d.answer(
        visit,
        "other_debts",
        AnswerValue::Choices(vec!["credit_card".into(), "private_loan".into()]),
    )
    .unwrap();
    d.answer(
        visit,
        "other_debts_total",
        AnswerValue::Money(Money::new(2_000_000, "CNY").unwrap()),
    )
    .unwrap();
    d.set_outcome(visit, promise_outcome()).unwrap();
    field.clock.advance(chrono::Duration::minutes(40));
    d.check_out(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    d.submit(visit).unwrap();
    sync(d, &transport);
    assert_eq!(d.pending_outbox_count().unwrap(), 0);
    assert!(d.rejected_ops().unwrap().is_empty());
    let history = server_history(&server, visit);
    assert_eq!(history.visit.state, VisitState::Submitted);
    assert_eq!(history.visit.template_version, 2);
    assert!(history.answers.contains_key("other_debts_total"));
    // The server's own check of the answers, against the published version 2.
    let v2 = store::read(server.store() as &dyn Store, |tx| {
        tx.template("home-verification", 2)
    })
    .unwrap()
    .unwrap();
    let mut sheet = doorstep_core::checklist::AnswerSheet::new();
    for (item, answer) in &history.answers {
        sheet.set(item, answer.value.clone());
    }
    for attachment in &history.attachments {
        if let doorstep_core::domain::attachment::AttachmentLink::ChecklistItem { item_id } =
            &attachment.link
        {
            sheet.set_attachments(item_id, 1);
        }
    }
    assert_eq!(v2.validate(&sheet), vec![]);
}
