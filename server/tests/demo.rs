//! The demo's seeding, field agents (real device cores over HTTP) and sync,
//! run in process: what arrives on the server is what the agents did.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::BTreeMap;

use doorstep_core::domain::{VisitHistory, VisitState};
use doorstep_server::demo::{self, DemoOptions};
use doorstep_server::store;

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
}

#[test]
fn a_demo_day_of_two_agents_arrives_on_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let options = DemoOptions {
        data: dir.path().join("demo-data"),
        listen: "127.0.0.1:0".parse().unwrap(),
        agents: 2,
    };
    let lines = std::sync::Mutex::new(Vec::<String>::new());
    let run = demo::play(&options, &|line| {
        lines.lock().unwrap().push(line.to_owned())
    })
    .unwrap();

    // Every agent worked four cases offline and delivered them in the evening.
    assert_eq!(run.days.len(), 2);
    for day in &run.days {
        assert_eq!(day.visits.len(), demo::seed::CASES_PER_AGENT);
        assert!(day.pushed > 40, "{}: {}", day.username, day.pushed);
        assert_eq!(day.rejected, 0);
    }
    let arrived = &run.arrived;
    assert_eq!(arrived.visits, 8);
    assert_eq!(arrived.by_state, counts(&[("submitted", 8)]));
    assert_eq!(
        arrived.by_outcome,
        counts(&[
            ("dispute", 2),
            ("not_home", 2),
            ("promise_to_pay", 2),
            ("repayment_plan", 2),
        ])
    );
    assert_eq!(
        arrived.flags,
        counts(&[
            ("far_from_address", 1),
            ("notice_not_acknowledged", 2),
            ("poor_gps_accuracy", 1),
        ])
    );
    assert_eq!(arrived.promised_fen, 2 * 500_000);
    assert_eq!(arrived.notes, 6 * 2 + 2);
    assert_eq!(arrived.attachments, 8);
    assert_eq!(arrived.refused_entries, 0);

    // The server's own fold of each visit: submitted, by its agent, with the
    // Chinese notes typed in the field.
    let s = run.store.as_ref();
    for (day, (_, agent)) in run.days.iter().zip(&run.seeded.agents) {
        for visit in &day.visits {
            let entries: Vec<_> = store::read(s, |tx| tx.visit_entries(*visit))
                .unwrap()
                .into_iter()
                .map(|e| e.entry)
                .collect();
            let history = VisitHistory::fold(*visit, &entries).unwrap();
            assert_eq!(history.visit.state, VisitState::Submitted);
            assert_eq!(history.visit.agent, *agent);
            assert!(history.notes.iter().all(|n| n.text.contains('客')));
        }
    }

    // Progress was shown for every agent, through the day and the offline attempt.
    let lines = lines.into_inner().unwrap();
    for (name, _) in &run.seeded.agents {
        let mine: Vec<_> = lines.iter().filter(|l| l.contains(name.as_str())).collect();
        assert!(mine.iter().any(|l| l.contains("morning sync")), "{mine:?}");
        assert!(
            mine.iter().any(|l| l.contains("sync tried: offline")),
            "{mine:?}"
        );
        assert!(mine.iter().any(|l| l.contains("0 left")), "{mine:?}");
    }
    let look = demo::where_to_look(&run);
    assert!(look.contains(&run.address.to_string()));
    assert!(look.contains(demo::seed::SUPERVISOR));
    assert!(look.contains(&format!("http://{}/console", run.address)));
    // The admin's pages, with the admin's credentials.
    let admin_line = look
        .lines()
        .find(|l| l.starts_with("Admin:"))
        .unwrap_or_default();
    assert!(
        admin_line.contains(&format!("http://{}/console/admin/users", run.address)),
        "{look}"
    );
    assert!(admin_line.contains(demo::seed::ADMIN), "{look}");
    assert!(look.contains(&format!("password {}", demo::seed::PASSWORD)));
    // What the demo prints uses the console's glossary (its English terms).
    let printed = format!("{}\n{}\n{look}", lines.join("\n"), run.arrived);
    assert_eq!(
        doorstep_server::console::i18n::glossary::forbidden_in(
            &printed,
            doorstep_server::console::i18n::Lang::En
        ),
        []
    );
    drop(run);

    // Another run resets the folder instead of adding to it.
    let again = demo::play(
        &DemoOptions {
            agents: 1,
            ..options.clone()
        },
        &|_| {},
    )
    .unwrap();
    assert_eq!(again.arrived.visits, 4);
    drop(again);

    // A folder that is not the demo's is never emptied.
    let precious = dir.path().join("precious");
    std::fs::create_dir_all(&precious).unwrap();
    std::fs::write(precious.join("keep.txt"), "keep").unwrap();
    let refused = demo::play(
        &DemoOptions {
            data: precious.clone(),
            ..options
        },
        &|_| {},
    );
    assert!(refused.is_err());
    assert!(precious.join("keep.txt").exists());
}
