//! The report a supervisor reads shows what a partner's phone did after the
//! other partner's submission without having seen it: the partner's note
//! among the notes, marked as added late, and the partner's check-out among
//! the late changes, not applied; the visit is as submitted.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;
mod console_support;

use common::*;
use console_support::*;

#[tokio::test]
async fn a_partners_late_note_and_check_out_are_shown_marked_late() {
    let w = World::new();
    let agent = w.login("agent1", w.phone1).await;
    let partner = w.login("agent2", w.phone2).await;
    let visit = Uuid::now_v7();
    let mut primary = Phone::new(w.phone1, visit);
    let ops: Vec<_> = full_visit(&w.case1)
        .iter()
        .map(|c| primary.act(c))
        .collect();
    assert_eq!(w.push_outcomes(&agent, &ops).await, vec!["applied"; 7]);

    // The partner's phone never saw the submission: it notes what the
    // neighbour said and checks out, stamped after the submission.
    let mut beside = Phone::new(w.phone2, visit);
    beside.millis = primary.millis;
    let late = [
        beside.act(&note(w.agent2, "邻居说客户上周搬走了")),
        beside.act(&VisitChange::CheckedOut { check: site() }),
    ];
    assert_eq!(
        w.push_outcomes(&partner, &late).await,
        ["applied", "applied"],
        "kept, not refused"
    );

    let cookies = supervisor(&w, "sup_a").await;
    let page = get(&w, &format!("/console/visits/{visit}"), &cookies).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("邻居说客户上周搬走了"),
        "the note is shown"
    );
    assert!(page.body.contains("class=\"late\""), "the note is marked");
    assert!(page.body.contains("added late, on the partner"));
    assert!(page.body.contains("id=\"late-changes\""));
    let late_list = &page.body[page.body.find("id=\"late-changes\"").unwrap()..];
    let late_list = &late_list[..late_list.find("</ul>").unwrap()];
    assert_eq!(late_list.matches("<li>").count(), 1, "the check-out only");
    // Still awaiting review, as submitted: the decision forms are there.
    assert!(page.body.contains("Submitted"));

    // A visit without late changes has no such section.
    let mut other = Phone::new(w.phone1, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&w.case1).iter().map(|c| other.act(c)).collect();
    assert_eq!(w.push_outcomes(&agent, &ops).await, vec!["applied"; 7]);
    let page = get(&w, &format!("/console/visits/{}", other.visit), &cookies).await;
    assert!(!page.body.contains("id=\"late-changes\""));
    assert!(!page.body.contains("added late"));
}
