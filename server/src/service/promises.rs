//! Whether the promises to pay that visits recorded were kept, partly kept or
//! broken, judged by the core ([`PromiseKeeping::of`]) against the repayments
//! imported for the case's account ([`super::repayments`]).
//!
//! A visit's promise is its outcome's, once the visit has been submitted (an
//! outcome still being written on the phone is not judged), and not for a
//! cancelled visit. It was made on the day of the visit (its check-in, or
//! its submission for a visit without one) in the case's local time, and is
//! judged on the day it is now there, by the server's clock.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use doorstep_core::domain::{
    Case, OutcomeCode, PromiseKeeping, PromiseToPay, Repayment, Visit, VisitState,
};

use crate::repayment_csv::local_day;
use crate::store::{StoreError, StoreTx};

/// The promise to pay a visit stands by, if it has one that is judged.
pub fn promise_of(visit: &Visit) -> Option<&PromiseToPay> {
    if visit.submitted_at.is_none() || visit.state == VisitState::Cancelled {
        return None;
    }
    let outcome = visit.outcome.as_ref()?;
    if outcome.code != OutcomeCode::PromiseToPay {
        return None;
    }
    outcome.promise.as_ref()
}

/// The day a visit's promise was made, in its case's local time: the day of
/// its check-in, else of its (last) submission. The check-in, because the
/// submission time is the last one: a visit returned for changes and
/// submitted again days later would otherwise leave out what the customer
/// paid in between.
pub fn made_on(visit: &Visit, case: &Case) -> Option<NaiveDate> {
    let at = visit
        .check_in
        .as_ref()
        .map(|check| check.at)
        .or(visit.submitted_at)?;
    Some(local_day(at, case.utc_offset_minutes))
}

/// How a visit's promise stands at `now`, against `repayments` (those of
/// other accounts than the case's are left out); `None` without a promise.
pub fn keeping(
    visit: &Visit,
    case: &Case,
    repayments: &[Repayment],
    now: DateTime<Utc>,
) -> Option<PromiseKeeping> {
    let promise = promise_of(visit)?;
    let made_on = made_on(visit, case)?;
    let today = local_day(now, case.utc_offset_minutes);
    let account: Vec<Repayment> = repayments
        .iter()
        .filter(|r| r.account_ref == case.external_ref)
        .cloned()
        .collect();
    Some(PromiseKeeping::of(promise, made_on, &account, today))
}

/// How each visit's promise stands at `now` (`None` for a visit without
/// one), in the order given: the repayments of every account with a promise
/// read at once, in one query.
pub fn keepings(
    tx: &dyn StoreTx,
    visits: &[(&Visit, &Case)],
    now: DateTime<Utc>,
) -> Result<Vec<Option<PromiseKeeping>>, StoreError> {
    let mut accounts: Vec<String> = visits
        .iter()
        .filter(|(visit, _)| promise_of(visit).is_some())
        .map(|(_, case)| case.external_ref.clone())
        .collect();
    accounts.sort_unstable();
    accounts.dedup();
    let repayments = if accounts.is_empty() {
        Vec::new()
    } else {
        tx.repayments(&accounts)?
    };
    let mut by_account: HashMap<&str, Vec<Repayment>> = HashMap::new();
    for repayment in &repayments {
        by_account
            .entry(repayment.account_ref.as_str())
            .or_default()
            .push(repayment.clone());
    }
    Ok(visits
        .iter()
        .map(|(visit, case)| {
            let paid = by_account
                .get(case.external_ref.as_str())
                .map_or(&[][..], Vec::as_slice);
            keeping(visit, case, paid, now)
        })
        .collect())
}

/// How the promise of one visit stands at `now` (`None` without one),
/// reading its account's repayments from `tx` only when it has one.
pub fn keeping_in(
    tx: &dyn StoreTx,
    visit: &Visit,
    case: &Case,
    now: DateTime<Utc>,
) -> Result<Option<PromiseKeeping>, StoreError> {
    Ok(keepings(tx, &[(visit, case)], now)?.pop().flatten())
}
