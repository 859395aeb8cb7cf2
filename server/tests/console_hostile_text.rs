//! Text that shows in the console cannot spoof it: bidirectional controls and
//! control characters in customer names, addresses, notes, answers and user
//! names are shown as visible escapes (`⟨U+202E⟩`), inside `<bdi>`, on every
//! page that shows them. On SQLite and on PostgreSQL (one test per check per
//! backend; PostgreSQL when `DOORSTEP_TEST_DATABASE_URL` is set).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[macro_use]
mod backends;
mod common;
mod console_support;

use std::sync::Arc;

use backends::blocking;
use common::*;
use console_support::*;
use doorstep_core::domain::ReviewDecision;
use doorstep_core::sync::protocol::Role;

on_both_backends!(hostile_text_is_shown_escaped_and_isolated_on_every_page);

/// Every bidirectional formatting character (`Bidi_Control`).
const BIDI: [char; 12] = [
    '\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}',
    '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
];

/// No bidirectional control anywhere on the page, and no control character
/// but the line breaks and tabs of the markup and of free text.
fn assert_nothing_hidden(page: &Page, what: &str) {
    assert_eq!(page.status, StatusCode::OK, "{what}");
    for c in BIDI {
        assert!(
            !page.body.contains(c),
            "{what}: a raw U+{:04X} is on the page",
            u32::from(c)
        );
    }
    let hidden: Vec<String> = page
        .body
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .map(|c| format!("U+{:04X}", u32::from(c)))
        .collect();
    assert!(hidden.is_empty(), "{what}: {hidden:?}");
}

fn assert_shown(page: &Page, what: &str, shown: &str) {
    assert!(
        page.body.contains(shown),
        "{what} does not show {shown:?}:\n{}",
        page.body
    );
}

const NAME: &str = "王\u{202E}gnp.exe\u{202C}";
const NAME_SHOWN: &str = "<bdi>王⟨U+202E⟩gnp.exe⟨U+202C⟩</bdi>";
const AGENT: &str = "lin\u{2067}admin\u{2069}";
const AGENT_SHOWN: &str = "<bdi>lin⟨U+2067⟩admin⟨U+2069⟩</bdi>";

async fn hostile_text_is_shown_escaped_and_isolated_on_every_page(w: Arc<World>) {
    // A case whose customer data carries bidirectional and control characters
    // (imported from a bank file as it came).
    let mut case = sample_case(w.agent1, None);
    case.external_ref = "CC\u{202D}-2026-\u{7}000\u{202E}9".into();
    case.customer.name = NAME.into();
    case.customer.addresses[0].text = "北京市\u{2066}朝阳区\u{2069}\u{1B}[2J 88 号".into();
    case.product = "Platinum\u{200F} card".into();
    case.customer.phones[0].label = "mob\u{202B}ile".into();
    // And an agent account from before user names were checked.
    let imported = case.clone();
    blocking(&w, move |w| {
        let s = w.state.store.as_ref();
        admin::import_cases(s, std::slice::from_ref(&imported), t0()).unwrap();
        let team = sup_a(w);
        store::write(s, |tx| {
            tx.insert_user(&store::UserRecord {
                id: Uuid::now_v7(),
                username: AGENT.into(),
                password_hash: "$argon2id$none".into(),
                role: Role::Agent,
                supervisor: Some(team),
                active: true,
            })
        })
        .unwrap();
    })
    .await;

    // The agent's phone sends a visit with hostile notes, answers and outcome.
    let token = w.login("agent1", w.phone1).await;
    let mut phone = Phone::new(w.phone1, Uuid::now_v7());
    let mut hostile_notice = notice_before(24);
    if let VisitChange::NoticeRecorded { notice } = &mut hostile_notice {
        notice.purpose = "review\u{202E}weiver".into();
    }
    let mut outcome = promise();
    if let VisitChange::OutcomeSet { outcome } = &mut outcome {
        outcome.summary = "will pay \u{2067}5000\u{2069} on the 10th\u{0}".into();
    }
    let mut changes = visit(
        &case,
        vec![
            VisitChange::Answered {
                item_id: "household_situation".into(),
                value: AnswerValue::Text("lives \u{202E}enola\u{202C} with\u{8}\u{8} kids".into()),
            },
            note(
                w.agent1,
                "paid\u{202E}0005\u{202C} today\r\nsecond line\u{0}",
            ),
            outcome,
        ],
        site(),
        5,
    );
    changes[1] = hostile_notice;
    let ops: Vec<_> = changes.iter().map(|c| phone.act(c)).collect();
    assert!(
        w.push_outcomes(&token, &ops)
            .await
            .iter()
            .all(|o| o == "applied")
    );

    let cookies = supervisor(&w, "sup_a").await;
    let queue = get(&w, "/console/queue", &cookies).await;
    assert_nothing_hidden(&queue, "the queue");
    assert_shown(&queue, "the queue", NAME_SHOWN);
    assert_shown(&queue, "the queue", "<bdi>agent1</bdi>");
    // The agent filter lists the legacy agent's name escaped (options hold
    // text only).
    assert_shown(&queue, "the queue", "lin⟨U+2067⟩admin⟨U+2069⟩ (0)");

    let cases = get(&w, "/console/cases", &cookies).await;
    assert_nothing_hidden(&cases, "the cases");
    assert_shown(&cases, "the cases", NAME_SHOWN);
    // The account reference is masked to its last four characters, one of
    // which is an override.
    let masked = format!("<bdi>{}00⟨U+202E⟩9</bdi>", "*".repeat(11));
    assert_shown(&cases, "the cases", &masked);

    let dashboard = get(&w, "/console/dashboard", &cookies).await;
    assert_nothing_hidden(&dashboard, "the dashboard");
    assert_shown(&dashboard, "the dashboard", AGENT_SHOWN);
    // The chart's label too.
    assert_shown(
        &dashboard,
        "the dashboard's chart",
        ">lin⟨U+2067⟩admin⟨U+2069⟩</text>",
    );

    // A supervisor's return comment with controls, then the report.
    let sup = w.login("sup_a", w.sup_a_phone).await;
    let decision = ReviewDecision::Return {
        reason_code: "missing_photos".into(),
        comment: "redo\u{202E}odeR".into(),
    };
    let body = serde_json::json!({ "decision": decision }).to_string();
    let uri = format!("/v1/visits/{}/review", phone.visit);
    let (status, value) = w.send("POST", &uri, Some(&sup), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{value}");
    let report = get(&w, &format!("/console/visits/{}", phone.visit), &cookies).await;
    assert_nothing_hidden(&report, "the report");
    for shown in [
        NAME_SHOWN,
        "<bdi>北京市⟨U+2066⟩朝阳区⟨U+2069⟩⟨U+001B⟩[2J 88 号</bdi>",
        "<bdi>Platinum⟨U+200F⟩ card</bdi>",
        "mob⟨U+202B⟩ile",
        "<bdi>review⟨U+202E⟩weiver</bdi>",
        "<bdi class=\"text\">lives ⟨U+202E⟩enola⟨U+202C⟩ with⟨U+0008⟩⟨U+0008⟩ kids</bdi>",
        // A note keeps its line break (CR LF becomes LF).
        "<p class=\"note\"><bdi>paid⟨U+202E⟩0005⟨U+202C⟩ today\nsecond line⟨U+0000⟩</bdi></p>",
        "<bdi class=\"text\">will pay ⟨U+2067⟩5000⟨U+2069⟩ on the 10th⟨U+0000⟩</bdi>",
        "<p class=\"note\"><bdi>redo⟨U+202E⟩odeR</bdi></p>",
        "<bdi>agent1</bdi>",
    ] {
        assert_shown(&report, "the report", shown);
    }
}

fn sup_a(w: &World) -> Uuid {
    store::read(w.state.store.as_ref(), |tx| tx.user_by_name("sup_a"))
        .unwrap()
        .unwrap()
        .id
}
