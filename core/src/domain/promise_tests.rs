#![allow(clippy::unwrap_used)]

use super::*;

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
}

fn cny(yuan: i64) -> Money {
    Money::new(yuan * 100, "CNY").unwrap()
}

fn paid(on: u32, yuan: i64) -> Repayment {
    Repayment {
        account_ref: "CC-1".into(),
        paid_on: day(on),
        amount: cny(yuan),
    }
}

fn promise(yuan: i64, due: u32) -> PromiseToPay {
    PromiseToPay {
        amount: cny(yuan),
        due_on: day(due),
    }
}

#[test]
fn a_promise_is_judged_by_what_was_paid_between_its_making_and_its_due_date() {
    let p = promise(1_000, 20);
    let of =
        |repayments: &[Repayment], today| PromiseKeeping::of(&p, day(10), repayments, day(today));
    assert_eq!(of(&[], 15), PromiseKeeping::Pending);
    assert_eq!(of(&[paid(12, 400)], 15), PromiseKeeping::Pending);
    assert_eq!(
        of(&[paid(12, 400), paid(14, 600)], 15),
        PromiseKeeping::Kept,
        "in full before the due date"
    );
    assert_eq!(
        of(&[paid(20, 1_000)], 25),
        PromiseKeeping::Kept,
        "on the due date"
    );
    assert_eq!(of(&[paid(12, 400)], 21), PromiseKeeping::PartlyKept);
    assert_eq!(of(&[], 21), PromiseKeeping::Broken);
    assert_eq!(
        of(&[paid(21, 1_000)], 25),
        PromiseKeeping::Broken,
        "paid a day late"
    );
    assert_eq!(
        of(&[paid(9, 1_000)], 25),
        PromiseKeeping::Broken,
        "paid before the promise"
    );
    let usd = Repayment {
        amount: Money::new(100_000, "USD").unwrap(),
        ..paid(12, 0)
    };
    assert_eq!(
        of(&[usd], 25),
        PromiseKeeping::Broken,
        "another currency does not count"
    );
}

#[test]
fn the_kept_rate_counts_decided_promises_only() {
    use PromiseKeeping::*;
    assert_eq!(kept_rate([]), None);
    assert_eq!(kept_rate([Pending, Pending]), None);
    assert_eq!(kept_rate([Kept, Pending]), Some(100));
    assert_eq!(kept_rate([Kept, PartlyKept, Broken, Pending]), Some(33));
    assert_eq!(kept_rate([Broken]), Some(0));
}
