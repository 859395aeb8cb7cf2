//! Hostile or careless input: huge texts, SQL metacharacters, every script and
//! emoji, numbers and dates out of range, ids that do not exist. Good input is
//! stored exactly; bad input is refused with a typed error, changes nothing, and
//! the error never repeats customer data.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use doorstep_core::checklist::{AnswerValue, home_verification};
use doorstep_core::domain::note::MAX_NOTE_CHARS;
use doorstep_core::domain::{AttachmentKind, AttachmentLink, OutcomeCode, PromiseToPay, VisitId};
use doorstep_core::event_log::LogEntry;
use doorstep_core::report::VisitReport;
use doorstep_core::sync::protocol::RejectCode;
use doorstep_core::{CaseQuery, CaseSummary, DoorstepError, Money, ServerSnapshot};
use uuid::Uuid;

/// A facade call whose value is not looked at.
type Call<'a> = Box<dyn Fn() -> Result<(), DoorstepError> + 'a>;

const DROP_TABLE: &str = "'); DROP TABLE cases;--";

/// A device with a visit checked in on the first case.
fn on_site() -> (Field, VisitId) {
    let field = field();
    let visit = planned_and_notified(&field, field.cases[0].id);
    field.clock.advance(Duration::hours(2));
    field
        .doorstep
        .check_in(visit, fix_at_home(field.clock.now_utc()))
        .unwrap();
    (field, visit)
}

/// Everything stored that a refused call could have changed.
#[derive(Debug, PartialEq)]
struct Stored {
    report: VisitReport,
    log: Vec<LogEntry>,
    pending: u64,
    cases: Vec<CaseSummary>,
    agent: Option<Uuid>,
}

fn stored(field: &Field, visit: VisitId) -> Stored {
    Stored {
        report: field.doorstep.visit_report(visit).unwrap(),
        log: field.doorstep.visit_log(visit).unwrap(),
        pending: field.doorstep.pending_outbox_count().unwrap(),
        cases: all_cases(&field.doorstep),
        agent: field.doorstep.signed_in_agent().unwrap(),
    }
}

/// Runs `action`, which must be refused with `code`, change nothing stored, and
/// not repeat any of `secrets` (nor any customer's name) in its message.
fn refused<T: std::fmt::Debug>(
    field: &Field,
    visit: VisitId,
    code: &str,
    secrets: &[&str],
    action: impl FnOnce() -> Result<T, DoorstepError>,
) -> DoorstepError {
    let before = stored(field, visit);
    let error = action().expect_err(code);
    assert_eq!(error.code(), code, "{error:?}");
    assert_eq!(
        stored(field, visit),
        before,
        "a refused call changed something: {error:?}"
    );
    let names: Vec<&str> = field
        .cases
        .iter()
        .map(|c| c.customer.name.as_str())
        .collect();
    for text in [error.to_string(), format!("{error:?}")] {
        for secret in secrets.iter().chain(&names) {
            assert!(!text.contains(secret), "{text:?} repeats {secret:?}");
        }
    }
    error
}

fn invalid_input_field(error: &DoorstepError) -> &str {
    match error {
        DoorstepError::InvalidInput { field, .. } => field,
        other => panic!("not InvalidInput: {other:?}"),
    }
}

fn answer_reason(error: &DoorstepError) -> (&str, &str) {
    match error {
        DoorstepError::InvalidAnswer { item_id, reason } => (item_id, reason),
        other => panic!("not InvalidAnswer: {other:?}"),
    }
}

fn search(field: &Field, text: &str) -> Vec<String> {
    let mut names: Vec<String> = field
        .doorstep
        .list_cases(&CaseQuery {
            text: Some(text.into()),
            limit: 200,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.customer_name)
        .collect();
    names.sort();
    names
}

#[test]
fn a_note_of_exactly_the_limit_is_kept_whole_and_one_more_character_is_refused() {
    let (field, visit) = on_site();
    assert_eq!(MAX_NOTE_CHARS, 10_000);
    // Multi-byte characters: the limit counts characters, not bytes.
    let longest = "债".repeat(MAX_NOTE_CHARS);
    let ascii = "x".repeat(MAX_NOTE_CHARS);
    field.doorstep.add_note(visit, &longest).unwrap();
    field.doorstep.add_note(visit, &ascii).unwrap();
    let notes = field.doorstep.visit_report(visit).unwrap().notes;
    let texts: Vec<&str> = notes.iter().map(|n| n.text.as_str()).collect();
    assert_eq!(texts, [longest.as_str(), ascii.as_str()]);

    for too_long in [format!("{longest}债"), format!("{ascii}x")] {
        let secret = &too_long[..300];
        let error = refused(&field, visit, "invalid_note", &[secret], || {
            field.doorstep.add_note(visit, &too_long)
        });
        assert_eq!(error.rule(), Some(RejectCode::InvalidNote));
    }
    for blank in ["", "   \n\t "] {
        refused(&field, visit, "invalid_note", &[], || {
            field.doorstep.add_note(visit, blank)
        });
    }

    // A text answer has its own limit from the template (2,000 for this item).
    let household = "家".repeat(2_000);
    field
        .doorstep
        .answer(
            visit,
            "household_situation",
            AnswerValue::Text(household.clone()),
        )
        .unwrap();
    let too_long = format!("{household}家");
    let error = refused(&field, visit, "invalid_answer", &[&too_long[..300]], || {
        field.doorstep.answer(
            visit,
            "household_situation",
            AnswerValue::Text(too_long.clone()),
        )
    });
    assert_eq!(answer_reason(&error), ("household_situation", "too_long"));
}

#[test]
fn a_snapshot_with_one_bad_case_stores_nothing_of_it() {
    let (field, visit) = on_site();
    let new_agent = Uuid::now_v7();
    let good = sample_case(new_agent, 7);
    let mut bad = sample_case(new_agent, 8);
    bad.customer.name = "欧阳".repeat(251); // 502 characters, limit 500
    let long_name = bad.customer.name.clone();
    let snapshot = ServerSnapshot {
        agent: new_agent,
        templates: vec![home_verification()],
        cases: vec![good.clone(), bad],
    };
    let error = refused(
        &field,
        visit,
        "invalid_input",
        &[&long_name[..60], "欧阳欧阳"],
        || field.doorstep.apply_snapshot(&snapshot),
    );
    assert_eq!(invalid_input_field(&error), "case");
    let missing = field.doorstep.case_detail(good.id).unwrap_err();
    assert_eq!(missing.code(), "not_found");

    // A failure inside the transaction (a published template changed) is all or
    // nothing too: the agent and the good case written before it are rolled back.
    let changed = home_verification()
        .to_json()
        .replace("上门核实清单", "上门核实清单（修订）");
    let changed = doorstep_core::checklist::ChecklistTemplate::from_json(&changed).unwrap();
    let snapshot = ServerSnapshot {
        agent: new_agent,
        templates: vec![changed],
        cases: vec![good.clone()],
    };
    let error = refused(&field, visit, "invalid_input", &[], || {
        field.doorstep.apply_snapshot(&snapshot)
    });
    assert_eq!(invalid_input_field(&error), "template");
    assert_eq!(field.doorstep.signed_in_agent().unwrap(), Some(field.agent));

    // Exactly 500 characters is a fine name.
    let mut longest = sample_case(field.agent, 9);
    longest.customer.name = "欧阳".repeat(250);
    let mut all = field.cases.clone();
    all.push(longest.clone());
    field
        .doorstep
        .apply_snapshot(&ServerSnapshot {
            agent: field.agent,
            templates: vec![home_verification()],
            cases: all,
        })
        .unwrap();
    assert_eq!(
        field.doorstep.case_detail(longest.id).unwrap().case,
        longest
    );
}

#[test]
fn sql_metacharacters_are_stored_verbatim_and_search_literally() {
    let (mut field, visit) = on_site();
    let names = [
        "100% Zhao",
        "Li_Ming",
        "Back\\Slash",
        DROP_TABLE,
        "O'Brien \"Bob\"",
    ];
    let extra: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut case = sample_case(field.agent, 10 + i);
            case.customer.name = (*name).into();
            case
        })
        .collect();
    add_cases(&mut field, extra);
    let total = field.cases.len();
    assert_eq!(all_cases(&field.doorstep).len(), total);

    // Notes and answers keep every character.
    let note = format!("{DROP_TABLE} 100% _x_ C:\\temp\\ \"quoted\" ''; SELECT * FROM visit_log;");
    field.doorstep.add_note(visit, &note).unwrap();
    let answer = format!("租金 50%，{DROP_TABLE} a_b \\n");
    field
        .doorstep
        .answer(
            visit,
            "household_situation",
            AnswerValue::Text(answer.clone()),
        )
        .unwrap();
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.notes[0].text, note);
    let stored_answer = report
        .answers
        .iter()
        .find(|a| a.item_id == "household_situation")
        .unwrap();
    assert_eq!(stored_answer.value, AnswerValue::Text(answer));
    assert_eq!(
        all_cases(&field.doorstep).len(),
        total,
        "the cases table survived"
    );

    // The case-list filter treats them as plain characters.
    assert_eq!(search(&field, "%"), ["100% Zhao"]);
    assert_eq!(search(&field, "_"), ["Li_Ming"]);
    assert_eq!(search(&field, "\\"), ["Back\\Slash"]);
    assert_eq!(search(&field, "'"), [DROP_TABLE, "O'Brien \"Bob\""]);
    assert_eq!(search(&field, DROP_TABLE), [DROP_TABLE]);
    assert_eq!(search(&field, "li_m"), ["Li_Ming"], "case-insensitive");
    assert!(search(&field, "%%").is_empty());
    assert!(search(&field, "Li%Ming").is_empty());
    assert!(search(&field, "L_ Ming").is_empty());
    assert_eq!(search(&field, "王建国0"), ["王建国0"]);
    assert_eq!(all_cases(&field.doorstep).len(), total);
}

#[test]
fn chinese_and_emoji_round_trip_through_notes_answers_and_the_report() {
    let (mut field, visit) = on_site();
    let note = "客户说：下月15号发工资后还款 🙏💰；家里有👨‍👩‍👧‍👦四口人，🇨🇳 \u{0301}é e\u{301} 𠮷野家";
    let answer = "夫妻二人 + 孩子👶，月供 ¥3,200；老人😷住院";
    field.doorstep.add_note(visit, note).unwrap();
    field
        .doorstep
        .answer(
            visit,
            "household_situation",
            AnswerValue::Text(answer.into()),
        )
        .unwrap();
    let report = field.doorstep.visit_report(visit).unwrap();
    assert_eq!(report.notes[0].text, note);
    let value = &report
        .answers
        .iter()
        .find(|a| a.item_id == "household_situation")
        .unwrap()
        .value;
    assert_eq!(value, &AnswerValue::Text(answer.into()));

    field.reopen();
    assert_eq!(field.doorstep.visit_report(visit).unwrap(), report);
    let ops = field.doorstep.pending_ops(100).unwrap();
    assert!(ops.iter().any(|op| op.entry.payload.contains("👨‍👩‍👧‍👦")));
}

#[test]
fn numbers_out_of_range_are_refused_per_item() {
    let (field, visit) = on_site();
    let cny = |minor_units| {
        AnswerValue::Money(Money {
            minor_units,
            currency: "CNY".into(),
        })
    };
    let cases: Vec<(&str, AnswerValue, &str)> = vec![
        (
            "ability_to_repay",
            AnswerValue::Integer(i64::MAX),
            "out_of_range",
        ),
        (
            "ability_to_repay",
            AnswerValue::Integer(i64::MIN),
            "out_of_range",
        ),
        ("ability_to_repay", AnswerValue::Integer(0), "out_of_range"),
        (
            "willingness_to_repay",
            AnswerValue::Integer(6),
            "out_of_range",
        ),
        ("monthly_income", cny(-1), "out_of_range"),
        ("monthly_income", cny(100_000_001), "out_of_range"),
        ("monthly_income", cny(i64::MAX), "out_of_range"),
        (
            "monthly_income",
            AnswerValue::Money(Money {
                minor_units: 500_000,
                currency: "cny".into(),
            }),
            "invalid_currency",
        ),
        (
            "monthly_income",
            AnswerValue::Money(Money {
                minor_units: 500_000,
                currency: "人民币".into(),
            }),
            "invalid_currency",
        ),
        (
            "monthly_income",
            AnswerValue::Money(Money::new(500_000, "USD").unwrap()),
            "currency_mismatch",
        ),
        (
            "ability_to_repay",
            AnswerValue::Text("3".into()),
            "wrong_kind",
        ),
        (
            "residence_status",
            AnswerValue::Choice(DROP_TABLE.into()),
            "unknown_option",
        ),
    ];
    for (item, value, reason) in cases {
        let error = refused(&field, visit, "invalid_answer", &[DROP_TABLE], || {
            field.doorstep.answer(visit, item, value.clone())
        });
        assert_eq!(answer_reason(&error), (item, reason), "{value:?}");
    }
    // The edges are fine.
    field
        .doorstep
        .answer(visit, "ability_to_repay", AnswerValue::Integer(1))
        .unwrap();
    field
        .doorstep
        .answer(visit, "willingness_to_repay", AnswerValue::Integer(5))
        .unwrap();
    field
        .doorstep
        .answer(visit, "monthly_income", cny(100_000_000))
        .unwrap();
}

#[test]
fn outcomes_with_bad_amounts_or_dates_are_refused() {
    let (field, visit) = on_site();
    let visit_day = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let with_promise = |minor_units: i64, currency: &str, due_on: NaiveDate| {
        let mut outcome = promise_outcome();
        outcome.promise = Some(PromiseToPay {
            amount: Money {
                minor_units,
                currency: currency.into(),
            },
            due_on,
        });
        outcome
    };
    let bad = [
        ("negative amount", with_promise(-500_000, "CNY", visit_day)),
        ("zero amount", with_promise(0, "CNY", visit_day)),
        (
            "most negative amount",
            with_promise(i64::MIN, "CNY", visit_day),
        ),
        ("bad currency", with_promise(500_000, "Y", visit_day)),
        (
            "years ahead",
            with_promise(500_000, "CNY", visit_day + Duration::days(3_650)),
        ),
        (
            "181 days ahead",
            with_promise(500_000, "CNY", visit_day + Duration::days(181)),
        ),
        (
            "before the visit",
            with_promise(500_000, "CNY", visit_day - Duration::days(1)),
        ),
        ("far past", with_promise(500_000, "CNY", NaiveDate::MIN)),
        ("far future", with_promise(500_000, "CNY", NaiveDate::MAX)),
    ];
    for (what, outcome) in bad {
        let error = refused(
            &field,
            visit,
            "invalid_outcome",
            &[&outcome.summary],
            || field.doorstep.set_outcome(visit, outcome.clone()),
        );
        assert_eq!(error.rule(), Some(RejectCode::InvalidOutcome), "{what}");
    }
    let mut no_promise = promise_outcome();
    no_promise.code = OutcomeCode::Refused;
    refused(&field, visit, "invalid_outcome", &[], || {
        field.doorstep.set_outcome(visit, no_promise.clone())
    });
    let mut long_summary = promise_outcome();
    long_summary.summary = "还".repeat(2_001);
    refused(&field, visit, "invalid_outcome", &["还还还还"], || {
        field.doorstep.set_outcome(visit, long_summary.clone())
    });

    // The edges are fine: the visit day and 180 days after.
    for days in [0, 180] {
        let outcome = with_promise(1, "CNY", visit_day + Duration::days(days));
        field.doorstep.set_outcome(visit, outcome).unwrap();
    }
}

#[test]
fn unknown_items_visits_and_cases_are_refused() {
    let (field, visit) = on_site();
    let error = refused(&field, visit, "invalid_answer", &[], || {
        field
            .doorstep
            .answer(visit, "ghost_item", AnswerValue::YesNo(true))
    });
    assert_eq!(answer_reason(&error), ("ghost_item", "unknown_item"));
    let error = refused(&field, visit, "invalid_answer", &[], || {
        field.doorstep.answer(visit, "", AnswerValue::YesNo(true))
    });
    assert_eq!(answer_reason(&error), ("", "unknown_item"));
    let error = refused(&field, visit, "invalid_answer", &[], || {
        field.doorstep.clear_answer(visit, "ghost_item")
    });
    assert_eq!(answer_reason(&error), ("ghost_item", "unknown_item"));
    let error = refused(&field, visit, "invalid_answer", &[], || {
        field.doorstep.attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &[0xff, 0xd8, 1],
            AttachmentLink::ChecklistItem {
                item_id: "ghost_item".into(),
            },
        )
    });
    assert_eq!(answer_reason(&error), ("ghost_item", "unknown_item"));
    let error = refused(&field, visit, "invalid_attachment", &[], || {
        field.doorstep.attach(
            visit,
            AttachmentKind::Photo,
            "image/jpeg",
            &[0xff, 0xd8, 1],
            AttachmentLink::Note {
                note_id: Uuid::now_v7(),
            },
        )
    });
    assert_eq!(error.rule(), Some(RejectCode::InvalidAttachment));

    let nowhere = Uuid::now_v7();
    let not_found = |what: &str| DoorstepError::NotFound { what: what.into() };
    let now = field.clock.now_utc();
    let visit_calls: Vec<(&str, Call<'_>)> = vec![
        (
            "answer",
            Box::new(|| {
                field
                    .doorstep
                    .answer(nowhere, "identity_confirmed", AnswerValue::YesNo(true))
            }),
        ),
        (
            "note",
            Box::new(|| field.doorstep.add_note(nowhere, "客户不在家").map(drop)),
        ),
        (
            "notice",
            Box::new(|| field.doorstep.record_notice(nowhere, phone_notice(now))),
        ),
        (
            "check-in",
            Box::new(|| field.doorstep.check_in(nowhere, fix_at_home(now)).map(drop)),
        ),
        (
            "outcome",
            Box::new(|| field.doorstep.set_outcome(nowhere, promise_outcome())),
        ),
        ("submit", Box::new(|| field.doorstep.submit(nowhere))),
        (
            "cancel",
            Box::new(|| field.doorstep.cancel(nowhere, "客户已搬走")),
        ),
        (
            "report",
            Box::new(|| field.doorstep.visit_report(nowhere).map(drop)),
        ),
        (
            "checklist",
            Box::new(|| field.doorstep.checklist(nowhere).map(drop)),
        ),
    ];
    for (what, call) in visit_calls {
        let error = refused(&field, visit, "not_found", &[], call);
        assert_eq!(error, not_found("visit"), "{what}");
    }
    assert!(field.doorstep.visit_log(nowhere).unwrap().is_empty());
    let error = refused(&field, visit, "not_found", &[], || {
        field.doorstep.plan_visit(nowhere, now)
    });
    assert_eq!(error, not_found("case"));
    let error = refused(&field, visit, "not_found", &[], || {
        field.doorstep.case_detail(nowhere)
    });
    assert_eq!(error, not_found("case"));
    let error = refused(&field, visit, "not_found", &[], || {
        field.doorstep.attachment_bytes(DROP_TABLE)
    });
    assert_eq!(error, not_found("attachment"));
}

#[test]
fn case_list_pages_must_have_a_sensible_size() {
    let (field, visit) = on_site();
    for limit in [0, 201, 10_000, u32::MAX] {
        let error = refused(&field, visit, "invalid_input", &[], || {
            field.doorstep.list_cases(&CaseQuery {
                limit,
                ..Default::default()
            })
        });
        assert_eq!(invalid_input_field(&error), "limit", "{limit}");
    }
    let page = |limit, offset| {
        field
            .doorstep
            .list_cases(&CaseQuery {
                limit,
                offset,
                ..Default::default()
            })
            .unwrap()
    };
    assert_eq!(page(1, 0).len(), 1);
    assert_eq!(page(200, 0).len(), 3);
    assert!(page(200, u32::MAX).is_empty());
    assert_eq!(page(2, 2).len(), 1);
}
