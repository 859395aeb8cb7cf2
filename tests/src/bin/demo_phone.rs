//! Plays a demo agent's next sync on the phone the `demo` command left behind:
//! reopens that agent's encrypted phone database (a real `doorstep-core`),
//! syncs it with the running demo server over HTTP, and prints what the phone
//! now holds of one visit as one JSON line. The browser tests use it to check
//! that a supervisor's return reaches the phone, and to resubmit the visit.
//!
//! ```sh
//! demo-phone --data DEMO_DIR --server http://127.0.0.1:PORT --agent agent.li \
//!     --visit VISIT_ID sync
//! demo-phone ... --visit VISIT_ID resubmit --note '已补充说明。'
//! ```
//! `sync` syncs and reports the visit. `resubmit` first adds the note to the
//! visit and submits it again, then syncs; it fails unless everything the
//! phone held reached the server. The JSON line holds the visit's state on
//! the phone, its review rounds (decision, reason code, comment), its notes
//! and photos, and what the sync did. Exits non-zero with a message on stderr
//! on any failure. The phone runs on the wall clock.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use doorstep_core::clock::SystemClock;
use doorstep_core::domain::VisitId;
use doorstep_core::sync::ureq_transport::UreqTransport;
use doorstep_core::{Doorstep, DoorstepError, NoProgress};
use doorstep_server::demo::{field, seed};
use serde_json::json;

enum Action {
    Sync,
    Resubmit { note: String },
}

struct Options {
    data: PathBuf,
    server: String,
    agent: String,
    visit: VisitId,
    action: Action,
}

const USAGE: &str = "usage: demo-phone --data DIR --server URL --agent NAME --visit ID \
                     (sync | resubmit --note TEXT)";

fn options() -> Result<Options, String> {
    let mut data = None;
    let mut server = None;
    let mut agent = None;
    let mut visit = None;
    let mut action = None;
    let mut note = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--data" => data = Some(PathBuf::from(value()?)),
            "--server" => server = Some(value()?),
            "--agent" => agent = Some(value()?),
            "--visit" => {
                let text = value()?;
                visit = Some(
                    text.parse::<VisitId>()
                        .map_err(|_| "--visit needs a visit id (a UUID)".to_owned())?,
                );
            }
            "--note" => note = Some(value()?),
            "sync" if action.is_none() => action = Some(false),
            "resubmit" if action.is_none() => action = Some(true),
            other => return Err(format!("unexpected argument {other}\n{USAGE}")),
        }
    }
    let missing = |what: &str| format!("{what} is required\n{USAGE}");
    let action = match (action, note) {
        (Some(false), None) => Action::Sync,
        (Some(true), Some(note)) => Action::Resubmit { note },
        (Some(false), Some(_)) => return Err(format!("--note goes with resubmit\n{USAGE}")),
        (Some(true), None) => return Err(missing("--note")),
        (None, _) => return Err(missing("an action (sync or resubmit)")),
    };
    Ok(Options {
        data: data.ok_or_else(|| missing("--data"))?,
        server: server.ok_or_else(|| missing("--server"))?,
        agent: agent.ok_or_else(|| missing("--agent"))?,
        visit: visit.ok_or_else(|| missing("--visit"))?,
        action,
    })
}

fn failed(what: &str) -> impl Fn(DoorstepError) -> String + '_ {
    move |e| format!("{what}: [{}] {e}", e.code())
}

fn run(options: &Options) -> Result<serde_json::Value, String> {
    let phones = options.data.join("phones");
    let file = field::phone_file(&phones, &options.agent);
    if !file.exists() {
        return Err(format!(
            "no phone of {} in {}: run the demo with this --data first",
            options.agent,
            phones.display()
        ));
    }
    let doorstep: Doorstep = field::open_phone(&phones, &options.agent, Arc::new(SystemClock))
        .map_err(failed("open the phone"))?;
    let visit = options.visit;
    if let Action::Resubmit { note } = &options.action {
        doorstep
            .add_note(visit, note)
            .map_err(failed("add the note"))?;
        doorstep.submit(visit).map_err(failed("resubmit"))?;
    }
    let transport = UreqTransport::new(&options.server, Duration::from_secs(30));
    // The demo signed the phone in; its agent signs in again only if the
    // server has since refused that sign-in.
    let signed_in = doorstep
        .is_signed_in()
        .map_err(failed("read the sign-in"))?;
    if !signed_in {
        doorstep
            .sign_in(&transport, &options.agent, seed::PASSWORD)
            .map_err(failed("sign in"))?;
    }
    let synced = doorstep
        .sync_now(&transport, &NoProgress)
        .map_err(failed("sync"))?;
    let pending = doorstep
        .pending_outbox_count()
        .map_err(failed("read the outbox"))?;
    let status = doorstep
        .sync_status()
        .map_err(failed("read the sync status"))?;
    if matches!(options.action, Action::Resubmit { .. })
        && (pending > 0 || status.pending_uploads > 0 || synced.rejected > 0)
    {
        return Err(format!(
            "the resubmission did not fully reach the server: {pending} changes and {} \
             uploads waiting, {} refused",
            status.pending_uploads, synced.rejected
        ));
    }
    let report = doorstep
        .visit_report(visit)
        .map_err(failed("read the visit"))?;
    Ok(json!({
        "visit": visit.to_string(),
        "state": report.visit.state,
        "reviews": report.visit.reviews.iter().map(|r| &r.decision).collect::<Vec<_>>(),
        "notes": report.notes.iter().map(|n| &n.text).collect::<Vec<_>>(),
        "photos": report.attachments.len(),
        "feedback": report.visit.feedback.iter().map(|f| &f.summary).collect::<Vec<_>>(),
        "case_status": report.case.status,
        "case_due_date": report.case.due_date,
        "sync": {
            "applied": synced.applied,
            "rejected": synced.rejected,
            "pulled": synced.pulled,
            "uploaded": synced.uploaded,
        },
        "pending": pending,
    }))
}

fn main() {
    let outcome = options().and_then(|options| run(&options));
    match outcome {
        Ok(line) => println!("{line}"),
        Err(message) => {
            eprintln!("demo-phone: {message}");
            std::process::exit(1);
        }
    }
}
