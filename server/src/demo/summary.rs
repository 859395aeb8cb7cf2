//! What arrived on the server: every visit folded from its admitted entries,
//! counted by state, outcome and flag. Counts and amounts only, no customer data.

use std::collections::{BTreeMap, BTreeSet};

use doorstep_core::domain::{OutcomeCode, VisitHistory};

use crate::error::ServiceError;
use crate::store::{self, FeedItem, Store};

/// The counts of what the server holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Arrived {
    /// Visits the server knows.
    pub visits: usize,
    /// Visits per state code (`submitted`, …).
    pub by_state: BTreeMap<String, usize>,
    /// Visits per outcome code (`promise_to_pay`, …).
    pub by_outcome: BTreeMap<String, usize>,
    /// Visits per flag: check-in flags (`far_from_address`, `poor_gps_accuracy`,
    /// …), `notice_not_acknowledged`, `reassigned`.
    pub flags: BTreeMap<String, usize>,
    /// Interview notes.
    pub notes: usize,
    /// Attachments described (their bytes travel separately).
    pub attachments: usize,
    /// Sum of the amounts promised, in fen.
    pub promised_fen: i64,
    /// Log entries stored, and of them refused.
    pub entries: usize,
    /// Refused log entries.
    pub refused_entries: usize,
}

/// Reads what arrived from the server's store.
pub fn arrived(store: &dyn Store) -> Result<Arrived, ServiceError> {
    store::read(store, |tx| {
        let mut visits = BTreeSet::new();
        let mut cursor = 0;
        loop {
            let page = tx.feed_after(cursor, 1_000)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            cursor = *last;
            for (_, item) in page {
                if let FeedItem::VisitEntry { visit_id, .. } = item {
                    visits.insert(visit_id);
                }
            }
        }
        let mut arrived = Arrived::default();
        for visit_id in visits {
            let stored = tx.visit_entries(visit_id)?;
            arrived.entries += stored.len();
            arrived.refused_entries += stored.iter().filter(|s| s.rejected.is_some()).count();
            let admitted: Vec<_> = stored
                .iter()
                .filter(|s| s.rejected.is_none())
                .map(|s| s.entry.clone())
                .collect();
            let Ok(history) = VisitHistory::fold(visit_id, &admitted) else {
                *arrived.flags.entry("unreadable".into()).or_default() += 1;
                continue;
            };
            arrived.count(&history, stored.iter().any(|s| s.reassigned));
        }
        Ok(arrived)
    })
}

impl Arrived {
    fn count(&mut self, history: &VisitHistory, reassigned: bool) {
        let visit = &history.visit;
        self.visits += 1;
        *self
            .by_state
            .entry(visit.state.code().to_owned())
            .or_default() += 1;
        if let Some(outcome) = &visit.outcome {
            *self
                .by_outcome
                .entry(outcome.code.code().to_owned())
                .or_default() += 1;
            if outcome.code == OutcomeCode::PromiseToPay {
                self.promised_fen += outcome.promise.as_ref().map_or(0, |p| p.amount.minor_units);
            }
        }
        let mut flags: BTreeSet<String> = visit
            .check_in
            .iter()
            .flat_map(|c| c.flags.iter().map(|f| f.code().to_owned()))
            .collect();
        if visit.notices.iter().all(|n| !n.acknowledged) {
            flags.insert("notice_not_acknowledged".into());
        }
        if reassigned {
            flags.insert("reassigned".into());
        }
        for flag in flags {
            *self.flags.entry(flag).or_default() += 1;
        }
        self.notes += history.notes.len();
        self.attachments += history.attachments.len();
    }
}

impl std::fmt::Display for Arrived {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |map: &BTreeMap<String, usize>| {
            if map.is_empty() {
                return "none".to_owned();
            }
            map.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        writeln!(f, "  visits:      {}", self.visits)?;
        writeln!(f, "  by state:    {}", list(&self.by_state))?;
        writeln!(f, "  by outcome:  {}", list(&self.by_outcome))?;
        writeln!(f, "  flags:       {}", list(&self.flags))?;
        writeln!(
            f,
            "  promised:    ¥{}.{:02} in total",
            self.promised_fen / 100,
            self.promised_fen % 100
        )?;
        writeln!(
            f,
            "  notes {}, photos {}, log entries {} ({} refused)",
            self.notes, self.attachments, self.entries, self.refused_entries
        )
    }
}
