//! `doorstep-server demo`: the server on embedded SQLite in a local folder,
//! seeded with a team (agents, a supervisor, an admin), the default checklist
//! template and overdue cases; field agents played by real device cores
//! through a day of visits offline, then synced over HTTP; a summary of what
//! arrived and how a supervisor can look. The folder is reset on every run.

pub mod field;
pub mod seed;
pub mod summary;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveTime, TimeZone, Utc};
use tokio::sync::oneshot;

use crate::blobs::FsBlobStore;
use crate::store::Store;
use crate::store::sqlite::SqliteStore;
use crate::{AppState, app};

pub use field::AgentDay;
pub use seed::Seeded;
pub use summary::Arrived;

/// A file that marks a folder as the demo's, so that only such a folder is
/// ever emptied.
const MARKER: &str = ".doorstep-demo";

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// The folder for the server database and the phones (reset each run).
    pub data: PathBuf,
    /// Where the server listens.
    pub listen: SocketAddr,
    /// How many field agents to play.
    pub agents: usize,
}

/// A demo that has played its day: the server keeps serving until dropped.
pub struct DemoRun {
    /// Where the server listens.
    pub address: SocketAddr,
    /// The server's store.
    pub store: Arc<SqliteStore>,
    /// The seeded users and cases.
    pub seeded: Seeded,
    /// Each agent's day.
    pub days: Vec<AgentDay>,
    /// What arrived on the server.
    pub arrived: Arrived,
    stop: Option<oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Drop for DemoRun {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }
}

/// 08:00 in Beijing on the last day that is over by now (today after 19:00
/// Beijing time, else yesterday), as UTC: the phones live through that day.
pub fn demo_day(now: DateTime<Utc>) -> DateTime<Utc> {
    let beijing = now + Duration::hours(8);
    let date = if beijing.time() >= NaiveTime::from_hms_opt(19, 0, 0).unwrap_or_default() {
        beijing.date_naive()
    } else {
        beijing.date_naive() - Duration::days(1)
    };
    Utc.from_utc_datetime(&date.and_time(NaiveTime::MIN))
}

/// Empties `data` if it is a demo folder (or creates it), and marks it.
fn reset_folder(data: &Path) -> Result<(), String> {
    let shown = data.display();
    if data.exists() {
        let mut entries =
            std::fs::read_dir(data).map_err(|e| format!("cannot read {shown}: {e}"))?;
        let empty = entries.next().is_none();
        if !empty && !data.join(MARKER).exists() {
            return Err(format!(
                "{shown} exists and is not a demo folder; pick another with --data"
            ));
        }
        std::fs::remove_dir_all(data).map_err(|e| format!("cannot reset {shown}: {e}"))?;
    }
    std::fs::create_dir_all(data.join("phones"))
        .map_err(|e| format!("cannot create {shown}: {e}"))?;
    std::fs::write(
        data.join(MARKER),
        "Doorstep demo data: emptied by every `doorstep-server demo` run.\n",
    )
    .map_err(|e| format!("cannot write in {shown}: {e}"))
}

/// Resets the folder, starts the server, seeds it, plays every agent's day
/// (agents in parallel) and reads what arrived. `say` receives progress lines.
pub fn play(options: &DemoOptions, say: &(dyn Fn(&str) + Sync)) -> Result<DemoRun, String> {
    if options.agents == 0 {
        return Err("--agents must be at least 1".into());
    }
    reset_folder(&options.data)?;
    let store =
        Arc::new(SqliteStore::open_dir(&options.data.join("server")).map_err(|e| e.to_string())?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(options.listen))
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let blobs = Arc::new(
        FsBlobStore::open(&options.data.join("server").join("blobs")).map_err(|e| e.to_string())?,
    );
    let router = app(AppState::new(store.clone() as Arc<dyn Store>, blobs))
        .into_make_service_with_connect_info::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    runtime.spawn(async move {
        let shutdown = async {
            let _ = stopped.await;
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "demo server stopped");
        }
    });
    let mut run = DemoRun {
        address,
        store: store.clone(),
        seeded: Seeded {
            agents: Vec::new(),
            supervisor_device: uuid::Uuid::nil(),
            cases: Vec::new(),
        },
        days: Vec::new(),
        arrived: Arrived::default(),
        stop: Some(stop),
        runtime: Some(runtime),
    };
    say(&format!("server listening on http://{address}"));

    let day_start = demo_day(Utc::now());
    run.seeded = seed::seed(store.as_ref(), options.agents, day_start, Utc::now())
        .map_err(|e| e.report())?;
    say(&format!(
        "seeded: {} agents, supervisor {}, admin {}, template home-verification@1, {} cases",
        options.agents,
        seed::SUPERVISOR,
        seed::ADMIN,
        run.seeded.cases.len()
    ));
    say(&format!(
        "field day {} (Beijing), phones in {}",
        (day_start + Duration::hours(8)).format("%Y-%m-%d"),
        options.data.join("phones").display()
    ));

    let base_url = format!("http://{address}");
    let phones = options.data.join("phones");
    let results: Vec<Result<AgentDay, String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = run
            .seeded
            .agents
            .iter()
            .enumerate()
            .map(|(index, (username, _))| {
                let (phones, base_url) = (&phones, &base_url);
                scope.spawn(move || {
                    let say_agent = |line: &str| say(&format!("[{username:<12}] {line}"));
                    field::play_day(
                        phones,
                        base_url,
                        index,
                        username,
                        seed::PASSWORD,
                        day_start,
                        &say_agent,
                    )
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("an agent's thread panicked".into()))
            })
            .collect()
    });
    for result in results {
        run.days.push(result?);
    }
    run.arrived = summary::arrived(store.as_ref()).map_err(|e| e.report())?;
    Ok(run)
}

/// How a supervisor (or anyone) can look at the running demo.
pub fn where_to_look(run: &DemoRun) -> String {
    let base = format!("http://{}", run.address);
    let agents: Vec<&str> = run.seeded.agents.iter().map(|(n, _)| n.as_str()).collect();
    format!(
        "Console:     {base}/console   (the supervisor's review queue, reports, decisions,\n\
         \x20            dashboard and cases; sign in as {sup}, password {pw})\n\
         Server:      {base}   (API description: {base}/openapi.json, metrics: {base}/metrics)\n\
         Supervisor:  user {sup}, password {pw}, registered device {dev}\n\
         Agents:      {agents} (password {pw})\n\
         Admin:       {base}/console/admin/users   (users, phones, teams, checklist templates and\n\
         \x20            the field policy; sign in as {admin}, password {pw}; the same acts as the\n\
         \x20            commands: doorstep-server --data {data} --help)\n\
         \n\
         Sign in as the supervisor through the API:\n\
         \x20 curl -s {base}/v1/login -H 'content-type: application/json' \\\n\
         \x20   -d '{{\"username\":\"{sup}\",\"password\":\"{pw}\",\"device_id\":\"{dev}\"}}'\n\
         then pull the team's visits and approve or return one:\n\
         \x20 curl -s '{base}/v1/pull?cursor=0' -H 'authorization: Bearer <token>'\n\
         \x20 curl -s {base}/v1/visits/<visit_id>/review -H 'authorization: Bearer <token>' \\\n\
         \x20   -H 'content-type: application/json' -d '{{\"decision\":{{\"decision\":\"approve\"}}}}'",
        sup = seed::SUPERVISOR,
        pw = seed::PASSWORD,
        dev = run.seeded.supervisor_device,
        agents = agents.join(", "),
        admin = seed::ADMIN,
        data = "<demo folder>/server",
    )
}

/// Plays the demo, prints where to look and what arrived, and serves until
/// Ctrl-C.
pub fn run(options: &DemoOptions) -> Result<(), String> {
    let say = |line: &str| println!("{line}");
    let mut demo = play(options, &say)?;
    println!("\nWhat arrived on the server:\n{}", demo.arrived);
    println!(
        "{}",
        where_to_look(&demo).replace(
            "<demo folder>/server",
            &options.data.join("server").display().to_string(),
        )
    );
    println!("\nThe server keeps running with this data; press Ctrl-C to stop.");
    if let Some(runtime) = &demo.runtime {
        runtime.block_on(async {
            let _ = tokio::signal::ctrl_c().await;
        });
    }
    if let Some(stop) = demo.stop.take() {
        let _ = stop.send(());
    }
    println!(
        "stopped; the data stays in {} until the next run",
        options.data.display()
    );
    Ok(())
}
