//! What the fuzz targets run, one function per target, so that a crash found
//! by libFuzzer can be replayed from a plain test too.
//!
//! Each function takes arbitrary bytes, runs them through the project's code
//! the way the server (or the device) does with outside input, and checks the
//! invariants that must hold whatever the input. A panic anywhere is a crash.
#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};

use chrono::Duration;
use doorstep_core::VisitReport;
use doorstep_core::checklist::{
    AnswerSheet, AnswerValue, ChecklistTemplate, ItemKind, home_verification,
};
use doorstep_core::clock::Hlc;
use doorstep_core::domain::{Case, DeviceId, VisitChange, VisitHistory, VisitId};
use doorstep_core::event_log::{EntryDraft, LogEntry, append, derived_op_id, verify_visit_log};
use doorstep_core::policy::Policy;
use doorstep_core::report::review_flags;
use doorstep_core::rules::{self, Facts};
use doorstep_core::sync::merge::{self, FoldedVisit};
use doorstep_core::sync::protocol::{MAX_PUSH_OPS, PushRequest, Role};
use doorstep_server::case_csv::{self, KnownUser, MAX_PROBLEMS};
use doorstep_server::service::push::MAX_CLOCK_SKEW_HOURS;
use uuid::Uuid;

pub mod fixture;

/// One visit as the server holds it while taking a push.
struct HeldVisit {
    /// Every stored entry (admitted and recorded-refused), in the order stored.
    stored: Vec<LogEntry>,
    /// The admitted entries, folded.
    folded: FoldedVisit,
}

/// The server's side of a push, without a database: chain heads, visits and
/// op ids seen, starting from the fixed visit [`fixture::history`].
struct PushServer {
    heads: HashMap<(VisitId, DeviceId), LogEntry>,
    visits: HashMap<VisitId, HeldVisit>,
    ops: HashSet<Uuid>,
    case: Case,
    template: ChecklistTemplate,
    policy: Policy,
}

impl PushServer {
    fn empty() -> PushServer {
        PushServer {
            heads: HashMap::new(),
            visits: HashMap::new(),
            ops: HashSet::new(),
            case: fixture::case(),
            template: home_verification(),
            policy: Policy::default(),
        }
    }

    fn with_history() -> PushServer {
        let history = fixture::history();
        let mut server = PushServer::empty();
        for entry in &history {
            server.take(entry, fixture::DEVICE);
        }
        server
    }

    /// Admits one entry as `service::push` does: its bounds, its link, its
    /// content, its clock, the rules (`rules::check`, with the fixed case,
    /// the shipped template and the default policy), then its place in the
    /// fold; stores it unless it does not link.
    fn take(&mut self, entry: &LogEntry, pusher: DeviceId) {
        if merge::check_entry(entry).is_err() || !self.ops.insert(entry.op_id) {
            // Out of bounds, or a seen op id: never stored (twice).
            return;
        }
        let head = self.heads.get(&(entry.visit_id, entry.author));
        if merge::check_link(entry, pusher, head).is_err() {
            return;
        }
        let visit = self
            .visits
            .entry(entry.visit_id)
            .or_insert_with(|| HeldVisit {
                stored: Vec::new(),
                folded: FoldedVisit::new(entry.visit_id, Vec::new()),
            });
        if let Ok(change) = merge::read_change(entry) {
            let now = fixture::t0() + Duration::days(1);
            let clock_ok =
                merge::check_clock(entry, now, Duration::hours(MAX_CLOCK_SKEW_HOURS)).is_ok();
            let history = visit.folded.history();
            let (key, version) = match (&change, history) {
                (
                    VisitChange::Planned {
                        template_key,
                        template_version,
                        ..
                    },
                    _,
                ) => (template_key.as_str(), *template_version),
                (_, Some(history)) => (
                    history.visit.template_key.as_str(),
                    history.visit.template_version,
                ),
                (_, None) => ("", 0),
            };
            let shipped = &self.template;
            let template =
                (shipped.key() == key && shipped.version() == version).then_some(shipped);
            let facts = Facts {
                visit: history.map(|h| &h.visit),
                history,
                case: &self.case,
                template,
                policy: &self.policy,
                author: fixture::user_of(pusher),
                device: pusher,
                at: entry.device_time,
            };
            if clock_ok && rules::check(&change, &facts).is_ok() {
                // Refused here it is still stored, flagged; the fold is unchanged.
                let _ = visit.folded.admit(entry, change);
            }
        }
        visit.stored.push(entry.clone());
        self.heads
            .insert((entry.visit_id, entry.author), entry.clone());
    }

    /// What the server does after the ops: verify every stored log, and what
    /// the console does with a visit: fold it whole, the report, the flags.
    fn finish(self) {
        let PushServer {
            visits,
            case,
            template,
            policy,
            ..
        } = self;
        for (visit_id, visit) in visits {
            // Every stored entry linked to its chain's head when it came, so
            // the stored log verifies.
            if let Err(broken) = verify_visit_log(visit_id, &visit.stored, &[]) {
                panic!("a log of linked entries does not verify: {broken:?}");
            }
            let Some(held) = visit.folded.history() else {
                continue;
            };
            // The fold kept up entry by entry is the fold of the whole log.
            let whole = VisitHistory::fold(visit_id, visit.folded.admitted());
            assert_eq!(
                whole.as_ref().ok(),
                Some(held),
                "the incremental fold differs from the whole fold"
            );
            let _ = review_flags(&case, &held.visit, &policy);
            let report = VisitReport::assemble(
                case.clone(),
                Some(&template),
                held.clone(),
                &visit.stored,
                0,
            );
            let _ = serde_json::to_string(&report);
        }
    }
}

/// `POST /v1/push`: bytes → [`PushRequest`] → [`PushRequest::into_entries`] →
/// each entry through the server's checks (bounds, link, clock, the rules)
/// and the fold, against the fixed visit
/// [`fixture::history`], as the server takes a push; then the whole-log
/// verification, the whole fold and the visit report. The pusher is the
/// author of the first run (so the seeds' entries link), or [`fixture::DEVICE`].
pub fn push_body(data: &[u8]) {
    let Ok(request) = serde_json::from_slice::<PushRequest>(data) else {
        return;
    };
    // The server refuses larger pushes before looking at them (413).
    if request.len() > MAX_PUSH_OPS {
        return;
    }
    let pusher = request
        .chains
        .first()
        .map_or(fixture::DEVICE, |run| run.author);
    let count = request.len();
    let entries = request.into_entries();
    assert_eq!(entries.len(), count, "into_entries lost or made entries");
    // The body the device would send for these entries gives them back.
    let again = PushRequest::new(&entries);
    assert_eq!(again.len(), entries.len());
    let mut server = PushServer::with_history();
    for entry in &entries {
        server.take(entry, pusher);
    }
    server.finish();
}

/// One visit change as a device records it: the first byte picks the
/// position `k` in the fixed visit's chain, the rest is the entry's payload
/// (its `kind` read from the payload). The chain is the fixed visit's first
/// `k` entries, the fuzzed one, then the visit's remaining entries linked
/// after it, all pushed as [`push_body`] takes them: so the change meets
/// every state of the visit, and the entries after it meet the change.
pub fn visit_change(data: &[u8]) {
    let Some((&at, payload)) = data.split_first() else {
        return;
    };
    let Ok(payload) = std::str::from_utf8(payload) else {
        return;
    };
    let kind = serde_json::from_str::<serde_json::Value>(payload)
        .ok()
        .and_then(|value| value.get("kind")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    let full = fixture::visit_chain();
    let at = usize::from(at) % (full.len() + 1);
    let mut chain: Vec<LogEntry> = full.iter().take(at).cloned().collect();
    let millis = fixture::FIRST_MILLIS + u64::try_from(at).unwrap_or(0) * 1_000;
    let fuzzed = EntryDraft {
        visit_id: fixture::VISIT,
        author: fixture::DEVICE,
        op_id: derived_op_id(fixture::VISIT, fixture::DEVICE, chain.len() as u64),
        kind,
        payload: payload.to_owned(),
        hlc: Hlc {
            millis: millis.saturating_sub(500),
            counter: 0,
            node: fixture::DEVICE,
        },
        device_time: fixture::t0(),
        utc_offset_minutes: 480,
    };
    let Ok(entry) = append(chain.last(), fuzzed) else {
        return;
    };
    chain.push(entry);
    for later in full.iter().skip(at) {
        let draft = EntryDraft {
            visit_id: later.visit_id,
            author: later.author,
            op_id: derived_op_id(later.visit_id, later.author, chain.len() as u64),
            kind: later.kind.clone(),
            payload: later.payload.clone(),
            hlc: later.hlc,
            device_time: later.device_time,
            utc_offset_minutes: later.utc_offset_minutes,
        };
        let Ok(entry) = append(chain.last(), draft) else {
            return;
        };
        chain.push(entry);
    }
    let mut server = PushServer::empty();
    for entry in &chain {
        server.take(entry, fixture::DEVICE);
    }
    server.finish();
}

/// A value of the kind an item takes that fits its limits where it can.
fn fitting_value(kind: &ItemKind) -> Option<AnswerValue> {
    Some(match kind {
        ItemKind::YesNo => AnswerValue::YesNo(true),
        ItemKind::SingleChoice { options } => AnswerValue::Choice(options.first()?.id.clone()),
        ItemKind::MultipleChoice {
            options,
            min_selected,
            ..
        } => AnswerValue::Choices(
            options
                .iter()
                .take(usize::try_from(*min_selected).unwrap_or(usize::MAX).max(1))
                .map(|option| option.id.clone())
                .collect(),
        ),
        ItemKind::Integer { min, .. } => AnswerValue::Integer(*min),
        ItemKind::Money {
            currency,
            min_minor_units,
            ..
        } => AnswerValue::Money(doorstep_core::Money {
            minor_units: min_minor_units.unwrap_or(0),
            currency: currency.clone(),
        }),
        ItemKind::Text { .. } => AnswerValue::Text("x".into()),
        ItemKind::Date { not_before, .. } => {
            AnswerValue::Date(not_before.unwrap_or(fixture::t0().date_naive()))
        }
        ItemKind::Photo { .. } | ItemKind::Signature => return None,
    })
}

/// Answers of every kind, fitting or not, for [`ChecklistTemplate::check_answer`].
fn odd_values() -> Vec<AnswerValue> {
    vec![
        AnswerValue::YesNo(false),
        AnswerValue::Choice(String::new()),
        AnswerValue::Choices(vec!["a".into(), "a".into()]),
        AnswerValue::Integer(i64::MIN),
        AnswerValue::Integer(i64::MAX),
        AnswerValue::Money(doorstep_core::Money {
            minor_units: i64::MIN,
            currency: "CNY".into(),
        }),
        AnswerValue::Text("客".repeat(3)),
        AnswerValue::Date(chrono::NaiveDate::MAX),
        AnswerValue::Date(chrono::NaiveDate::MIN),
    ]
}

/// A checklist template as published (`publish-template`), stored and pulled:
/// [`ChecklistTemplate::from_json`] and serde must agree; an accepted template
/// round-trips through its canonical JSON with the same content hash, and
/// every check on it (answers, attachments, visibility, submit validation)
/// runs without panicking.
pub fn checklist_template(data: &[u8]) {
    let via_serde = serde_json::from_slice::<ChecklistTemplate>(data);
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parsed = ChecklistTemplate::from_json(text);
    match (&parsed, &via_serde) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "from_json and serde read different templates"),
        (Err(_), Err(_)) => {}
        (a, b) => panic!(
            "from_json and serde disagree: from_json ok {}, serde ok {}",
            a.is_ok(),
            b.is_ok()
        ),
    }
    let Ok(template) = parsed else {
        return;
    };
    let canonical = template.to_json();
    match ChecklistTemplate::from_json(&canonical) {
        Ok(again) => {
            assert_eq!(again, template, "the canonical JSON reads back differently");
            assert_eq!(again.content_hash(), template.content_hash());
        }
        Err(e) => panic!("the canonical JSON of a valid template is refused: {e}"),
    }

    let mut fitting = AnswerSheet::new();
    let odd = odd_values();
    for item in template.items() {
        assert_eq!(template.item(&item.id), Some(item));
        for value in &odd {
            let _ = template.check_answer(&item.id, value);
        }
        for count in [0, 1, u32::MAX] {
            let _ = template.check_attachments(&item.id, count);
        }
        match (&item.kind, fitting_value(&item.kind)) {
            (_, Some(value)) => {
                let _ = template.check_answer(&item.id, &value);
                fitting.set(item.id.clone(), value);
            }
            (ItemKind::Photo { min_count, .. }, None) => {
                fitting.set_attachments(item.id.clone(), *min_count);
            }
            (_, None) => {
                fitting.set_attachments(item.id.clone(), 1);
            }
        }
    }
    for sheet in [AnswerSheet::new(), fitting] {
        let _ = template.validate(&sheet);
        let visible = template.visible_items(&sheet);
        assert!(visible.len() <= template.items().len());
        for item in template.items() {
            let _ = template.is_visible(&item.id, &sheet);
        }
    }
}

/// The user names a fuzzed case file may name.
fn known_user(name: &str) -> Option<KnownUser> {
    let (id, role) = match name {
        "agent1" => (fixture::AGENT, Role::Agent),
        "agent2" => (fixture::PARTNER, Role::Agent),
        "lin" => (fixture::SUPERVISOR, Role::Supervisor),
        _ => return None,
    };
    Some(KnownUser { id, role })
}

/// A case CSV file (`import-cases`, the console's upload):
/// [`case_csv::parse_lines`] returns cases that pass the core's own check,
/// with distinct ids on data lines, or at least one and at most
/// [`MAX_PROBLEMS`] listed problems.
pub fn case_csv(data: &[u8]) {
    match case_csv::parse_lines(data, &mut known_user) {
        Ok(cases) => {
            let mut ids = HashSet::new();
            for (line, case) in &cases {
                assert!(*line >= 2, "a case on line {line}, the header's");
                assert!(ids.insert(case.id), "two cases with one id");
                if let Err(e) = case.check() {
                    panic!("an imported case fails the core's check: {e:?}");
                }
            }
        }
        Err(problems) => {
            assert!(!problems.listed.is_empty(), "refused without a problem");
            assert!(problems.listed.len() <= MAX_PROBLEMS);
            let _ = problems.to_string();
        }
    }
}

/// An XLSForm `relevant` or `constraint` cell (`publish-template FILE.xlsx`,
/// the console's upload): [`xlsform::expressions::parse`] reads it or says
/// where it cannot; a parsed expression maps onto a condition over the fixed
/// earlier questions (the built-in checklist's) or is refused, and onto the
/// limits of every question type or is refused; never a panic, and a
/// condition it maps to only ever tests one of the earlier questions.
pub fn xlsform_expression(data: &[u8]) {
    use doorstep_server::xlsform::{expressions, relevant, types};
    let text = String::from_utf8_lossy(data);
    let Ok(expr) = expressions::parse(&text) else {
        return;
    };
    let template = doorstep_core::checklist::home_verification();
    let earlier = |id: &str| template.item(id).map(|item| item.kind.clone());
    if let Ok(condition) = relevant::condition(&expr, &earlier) {
        assert!(template.item(condition.item()).is_some(), "{condition:?}");
    }
    for type_name in types::TYPES {
        let _ = types::kind(&types::Question {
            type_name,
            options: Some(template.items()[2].kind.options().to_vec()),
            constraint: Some(&expr),
            parameters: "",
            appearance: "",
            currency: if *type_name == "decimal" { "CNY" } else { "" },
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(target);
        let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|f| {
                let path = f.unwrap().path();
                (path.display().to_string(), std::fs::read(&path).unwrap())
            })
            .collect();
        out.sort();
        assert!(!out.is_empty());
        out
    }

    /// Every seed runs clean, as libFuzzer's first pass over them does.
    #[test]
    fn every_seed_runs_clean() {
        for (_, data) in seeds("push_body") {
            push_body(&data);
        }
        for (_, data) in seeds("checklist_template") {
            checklist_template(&data);
        }
        for (_, data) in seeds("case_csv") {
            case_csv(&data);
        }
        for (_, data) in seeds("visit_change") {
            visit_change(&data);
        }
        for (_, data) in seeds("xlsform_expression") {
            xlsform_expression(&data);
        }
    }

    /// The seeds reach the deep end: the fixed visit's continuation and a
    /// real device's log are admitted entry by entry, templates and the
    /// good case files are accepted.
    #[test]
    fn the_seeds_are_accepted_where_they_should_be() {
        for (name, data) in seeds("push_body") {
            let request: PushRequest = serde_json::from_slice(&data).unwrap();
            let pusher = request.chains[0].author;
            let entries = request.into_entries();
            let mut server = PushServer::with_history();
            for entry in &entries {
                server.take(entry, pusher);
            }
            let admitted: usize = server
                .visits
                .values()
                .map(|v| v.folded.admitted().len())
                .sum();
            let new = admitted - fixture::HISTORY_LEN;
            // The odd fields' seed ends in an altered entry and a gap, on purpose.
            let expected = if name.ends_with("odd_fields.json") {
                entries.len() - 2
            } else {
                entries.len()
            };
            assert_eq!(new, expected, "{name}: {new} admitted of {}", entries.len());
        }
        for (name, data) in seeds("checklist_template") {
            let text = std::str::from_utf8(&data).unwrap();
            assert!(ChecklistTemplate::from_json(text).is_ok(), "{name}");
        }
        for (name, data) in seeds("xlsform_expression") {
            let text = String::from_utf8_lossy(&data);
            assert!(
                doorstep_server::xlsform::expressions::parse(&text).is_ok(),
                "{name}"
            );
        }
        for (name, data) in seeds("case_csv") {
            let parsed = case_csv::parse_lines(&data, &mut known_user);
            assert_eq!(
                parsed.is_ok(),
                !name.ends_with("problems.csv"),
                "{name}: {parsed:?}"
            );
        }
    }
}
