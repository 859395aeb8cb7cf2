#![allow(clippy::unwrap_used)]

use super::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, 10).unwrap()
}

fn case() -> Case {
    serde_json::from_value(serde_json::json!({
        "id": "0195a6a8-0000-7000-8000-000000000001",
        "external_ref": "CC-1",
        "customer": {"name": "王", "national_id_masked": "***1", "phones": [], "addresses": []},
        "product": "card",
        "overdue_amount": {"minor_units": 100000, "currency": "CNY"},
        "days_past_due": 40,
        "assigned": {"primary": "0195a6a8-0000-7000-8000-000000000002", "partner": null},
        "priority": 3,
        "due_date": "2026-03-01",
        "status": "completed",
        "utc_offset_minutes": 480
    }))
    .unwrap()
}

fn decided(decision: PlanDecision) -> CaseDecision {
    CaseDecision {
        id: uuid::Uuid::nil(),
        case_id: case().id,
        after_visit: None,
        decision,
        note: String::new(),
        decided_by: uuid::Uuid::nil(),
        decided_at: chrono::Utc::now(),
    }
}

#[test]
fn each_decision_is_checked_by_its_own_rules() {
    let days = |n| today() + chrono::Duration::days(n);
    let cny = |minor| Money::new(minor, "CNY").unwrap();
    let plan = |instalments, amount, first| PlanDecision::InstalmentPlan {
        plan: RepaymentPlan {
            instalments,
            instalment_amount: cny(amount),
            first_due_on: first,
        },
    };
    let check = |d: PlanDecision| decided(d).check(&case(), today());
    assert_eq!(check(plan(6, 50_000, days(30))), Ok(()));
    assert_eq!(
        check(plan(1, 50_000, days(30))),
        Err(DecisionError::BadInstalments)
    );
    assert_eq!(
        check(plan(61, 50_000, days(30))),
        Err(DecisionError::BadInstalments)
    );
    assert_eq!(check(plan(6, 0, days(30))), Err(DecisionError::BadAmount));
    assert_eq!(
        check(plan(6, 50_000, days(-1))),
        Err(DecisionError::DateOutOfRange)
    );
    let promise = |amount, due| PlanDecision::PromiseFollowUp {
        promise: PromiseToPay {
            amount: cny(amount),
            due_on: due,
        },
    };
    assert_eq!(check(promise(10_000, days(0))), Ok(()));
    assert_eq!(check(promise(-1, days(3))), Err(DecisionError::BadAmount));
    assert_eq!(
        check(promise(10_000, days(367))),
        Err(DecisionError::DateOutOfRange)
    );
    assert_eq!(check(PlanDecision::ScheduleVisit { on: days(366) }), Ok(()));
    assert_eq!(
        check(PlanDecision::ScheduleVisit { on: days(-3) }),
        Err(DecisionError::DateOutOfRange)
    );
    assert_eq!(
        check(PlanDecision::HardshipDeferral { until: days(90) }),
        Ok(())
    );
    assert_eq!(check(PlanDecision::EscalateToLegal), Ok(()));

    let mut noted = decided(PlanDecision::EscalateToLegal);
    noted.note = "第一行\n第二行".into();
    assert_eq!(noted.check(&case(), today()), Ok(()));
    noted.note = "响铃\u{7}".into();
    assert_eq!(noted.check(&case(), today()), Err(DecisionError::BadNote));
    // Direction marks are text: kept, and shown escaped by the console.
    noted.note = "\u{202e}反转".into();
    assert_eq!(noted.check(&case(), today()), Ok(()));
    noted.note = "长".repeat(MAX_DECISION_NOTE_CHARS + 1);
    assert_eq!(noted.check(&case(), today()), Err(DecisionError::BadNote));

    let mut closed = case();
    closed.status = CaseStatus::Closed;
    assert_eq!(
        decided(PlanDecision::ScheduleVisit { on: days(3) }).check(&closed, today()),
        Err(DecisionError::CaseClosed)
    );
}

#[test]
fn a_decision_changes_the_case_the_phones_see_only_where_it_should() {
    let on = today() + chrono::Duration::days(7);
    let again = PlanDecision::ScheduleVisit { on }
        .applied_to(&case(), None)
        .unwrap();
    assert_eq!((again.status, again.due_date), (CaseStatus::New, on));
    for ending in [
        PlanDecision::EscalateToLegal,
        PlanDecision::CloseNotContactable,
    ] {
        assert_eq!(
            ending.applied_to(&case(), None).unwrap().status,
            CaseStatus::Closed
        );
    }
    let deferred = PlanDecision::HardshipDeferral { until: on }
        .applied_to(&case(), None)
        .unwrap();
    assert_eq!(
        (deferred.status, deferred.due_date),
        (CaseStatus::Completed, on)
    );
    let promise = PlanDecision::PromiseFollowUp {
        promise: PromiseToPay {
            amount: Money::new(1, "CNY").unwrap(),
            due_on: on,
        },
    };
    assert_eq!(promise.applied_to(&case(), None), None);
    for code in PlanDecision::CODES {
        assert!(!code.is_empty());
    }
    assert_eq!(PlanDecision::EscalateToLegal.code(), PlanDecision::CODES[3]);
}
