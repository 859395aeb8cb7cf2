//! `doorstep-server`: the sync server and its admin commands, on one data
//! directory (embedded SQLite) or, with `--database-url`, on PostgreSQL.
//! Prints ids, never customer data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use chrono::Utc;
use clap::{Parser, Subcommand, ValueEnum};
use doorstep_core::domain::Case;
use doorstep_core::sync::protocol::Role;
use doorstep_server::blobs::{self, BlobStore, FsBlobStore, S3BlobStore, S3Config};
use doorstep_server::service::users::{self, Actor};
use doorstep_server::service::{repayments, teams, templates};
use doorstep_server::store::Store;
use doorstep_server::store::postgres::PostgresStore;
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::{AppState, admin, app_with_console, demo, repayment_csv};
use uuid::Uuid;

#[derive(Parser)]
#[command(
    name = "doorstep-server",
    about = "Doorstep sync server and admin commands"
)]
struct Cli {
    /// Directory holding the server's database (embedded SQLite); default
    /// `doorstep-data`, and `demo-data` for `demo`.
    #[arg(long, global = true)]
    data: Option<PathBuf>,
    /// Use PostgreSQL instead of SQLite in --data: `postgres://user@host:port/db`.
    /// Several servers may share one database.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Directory of the attachment bytes (default: `blobs` in --data). Required
    /// with --database-url unless --blob-s3-url is given; servers sharing a
    /// database share this directory.
    #[arg(long, global = true)]
    blob_dir: Option<PathBuf>,
    /// Keep attachment bytes in an S3 bucket instead of a directory:
    /// `s3://BUCKET` or `s3://BUCKET/PREFIX`. Credentials come from the
    /// environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a role);
    /// servers sharing a database share the bucket and prefix.
    #[arg(long, global = true, conflicts_with = "blob_dir")]
    blob_s3_url: Option<String>,
    /// The endpoint of an S3-compatible server, e.g. `https://minio.bank:9000`
    /// (default: AWS S3, or AWS_ENDPOINT).
    #[arg(long, global = true, requires = "blob_s3_url")]
    blob_s3_endpoint: Option<String>,
    /// The bucket's region (default: AWS_REGION, else us-east-1).
    #[arg(long, global = true, requires = "blob_s3_url")]
    blob_s3_region: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Agent,
    Supervisor,
    Admin,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CaseFormat {
    Json,
    Csv,
}

#[derive(Subcommand)]
enum Command {
    /// Serves the sync API.
    Serve {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Mark the console's cookies Secure (set when clients reach the server
        /// over TLS, e.g. through a TLS-terminating proxy).
        #[arg(long)]
        secure_cookies: bool,
        /// Remove uploads in progress untouched for this many hours (checked
        /// at start and every hour).
        #[arg(long, default_value_t = blobs::DEFAULT_ABANDONED_UPLOAD_HOURS,
              value_parser = clap::value_parser!(u32).range(1..))]
        abandoned_upload_hours: u32,
    },
    /// Removes, once, the uploads in progress untouched for longer than the
    /// given age (`serve` does it every hour). Prints counts only. Audited.
    CleanUploads {
        /// The age in hours.
        #[arg(long, default_value_t = blobs::DEFAULT_ABANDONED_UPLOAD_HOURS,
              value_parser = clap::value_parser!(u32).range(1..))]
        abandoned_upload_hours: u32,
    },
    /// Creates a user (the password is hashed with argon2id).
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        password: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The supervisor whose team an agent joins.
        #[arg(long)]
        supervisor: Option<String>,
    },
    /// Registers a device to a user.
    CreateDevice {
        #[arg(long)]
        username: String,
        #[arg(long)]
        device_id: Uuid,
    },
    /// Imports cases with their assignment, from a JSON array of cases or a
    /// CSV file (columns in docs/CASES_CSV.md). The whole file is checked
    /// first; a file with any problem imports nothing.
    ImportCases {
        #[arg(long)]
        file: PathBuf,
        /// The file's format; by default from its extension (`.csv` is CSV).
        #[arg(long, value_enum)]
        format: Option<CaseFormat>,
    },
    /// Imports the repayments the bank received, from a CSV file (columns
    /// in docs/REPAYMENTS_CSV.md: account_ref, paid_on, amount, currency),
    /// for the accounts of any case on the server. The whole file is checked
    /// first; a file with any problem imports nothing. Prints the count.
    /// Audited.
    ImportRepayments {
        #[arg(long)]
        file: PathBuf,
    },
    /// Publishes a checklist template from its JSON or from an XLSForm
    /// workbook (.xlsx, see docs/XLSFORM.md): every phone receives it on its
    /// next sync. A workbook with problems publishes nothing and lists each
    /// by sheet, row and column.
    PublishTemplate {
        /// The template file (or give it as `--file`).
        #[arg(required_unless_present = "file", conflicts_with = "file")]
        path: Option<PathBuf>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Retires a checklist template version: no new visit starts on it
    /// (phones start new visits on the newer version, which must be in use);
    /// visits started on it keep it. Audited.
    RetireTemplate {
        #[arg(long)]
        key: String,
        #[arg(long)]
        version: u32,
    },
    /// Publishes the bank's field policy (contact hours, notice, geofence,
    /// GPS accuracy, retention) from a JSON file as its next version: phones
    /// take it up on their next pull and pushes are checked against it.
    PublishPolicy {
        #[arg(long)]
        file: PathBuf,
    },
    /// Moves a case to another agent.
    ReassignCase {
        #[arg(long = "case")]
        case_id: Uuid,
        #[arg(long)]
        agent: String,
    },
    /// Clears a user's failed sign-ins, so they may sign in again at once
    /// (their client addresses stay counted). Audited.
    UnlockUser {
        #[arg(long)]
        username: String,
    },
    /// Deactivates a user: they sign in nowhere, their console sessions end
    /// and their phones' tokens stop working at once. Audited.
    DeactivateUser {
        #[arg(long)]
        username: String,
    },
    /// Gives a user a new one-time password, printed once; their old
    /// password, console sessions and phones' tokens stop working. Audited.
    ResetPassword {
        #[arg(long)]
        username: String,
    },
    /// Moves an agent into a supervisor's team (none: out of every team),
    /// with the cases they are the primary agent of. Audited.
    MoveAgent {
        #[arg(long)]
        agent: String,
        /// The new team's supervisor; leave out for no team.
        #[arg(long)]
        supervisor: Option<String>,
    },
    /// Deactivates a device: its next pull tells it to push and wipe.
    DeactivateDevice {
        #[arg(long)]
        device_id: Uuid,
    },
    /// Revokes a device's sign-in (its refresh credentials and tokens): the
    /// phone asks its agent for the password on its next sync, and keeps its
    /// queue. Audited.
    RevokeSignIn {
        #[arg(long)]
        device_id: Uuid,
    },
    /// Lists the entries kept apart in the quarantine, newest first: pushed
    /// by users to visits they may not push to. Ids, kinds and codes only.
    /// Audited.
    Quarantine {
        /// How many to list.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// The demo: a seeded server on embedded SQLite in --data (default
    /// `demo-data`, emptied on every run), field agents played by real device
    /// cores through a day of visits offline and then synced, a summary, and
    /// the server left running until Ctrl-C.
    Demo {
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// How many field agents to play.
        #[arg(long, default_value_t = 3)]
        agents: usize,
    },
}

/// The id of the user named `username`, or the command's refusal.
fn user_id(store: &dyn Store, username: &str) -> Result<Uuid, String> {
    doorstep_server::store::read(store, |tx| tx.user_by_name(username))
        .map_err(|e| e.to_string())?
        .map(|user| user.id)
        .ok_or_else(|| {
            format!(
                "no user named {}",
                doorstep_server::text::visible_line(username)
            )
        })
}

/// The largest template file (JSON or .xlsx) the command reads.
const MAX_TEMPLATE_FILE_BYTES: usize = 4 * 1024 * 1024;

fn read_file(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A file's first `limit + 1` bytes at most: enough to tell it is too large
/// without reading all of it.
fn read_bounded(path: &Path, limit: usize) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let cannot = |e: std::io::Error| format!("cannot read {}: {e}", path.display());
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(cannot)?
        .take(u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    Ok(bytes)
}

fn run(cli: Cli) -> Result<(), String> {
    if let Command::Demo { listen, agents } = cli.command {
        if cli.database_url.is_some() {
            return Err("the demo runs on embedded SQLite; drop --database-url".into());
        }
        let data = cli.data.unwrap_or_else(|| PathBuf::from("demo-data"));
        return demo::run(&demo::DemoOptions {
            data,
            listen,
            agents,
        });
    }
    let data = cli.data.unwrap_or_else(|| PathBuf::from("doorstep-data"));
    let store: Arc<dyn Store> = match &cli.database_url {
        Some(url) => Arc::new(PostgresStore::open(url).map_err(|e| format!("PostgreSQL: {e}"))?),
        None => Arc::new(SqliteStore::open_dir(&data).map_err(|e| e.to_string())?),
    };
    let now = Utc::now();
    let store_ref = store.as_ref();
    let blob_args = BlobArgs {
        dir: cli.blob_dir.clone(),
        s3_url: cli.blob_s3_url.clone(),
        s3_endpoint: cli.blob_s3_endpoint.clone(),
        s3_region: cli.blob_s3_region.clone(),
        with_database: cli.database_url.is_some(),
    };
    match cli.command {
        Command::Serve {
            listen,
            secure_cookies,
            abandoned_upload_hours,
        } => {
            let blobs = open_blobs(&blob_args, &data)?;
            serve(store, blobs, listen, secure_cookies, abandoned_upload_hours)
        }
        Command::CleanUploads {
            abandoned_upload_hours,
        } => {
            let blobs = open_blobs(&blob_args, &data)?;
            let cleaned =
                admin::clean_uploads(store_ref, blobs.as_ref(), abandoned_upload_hours, now)
                    .map_err(|e| e.to_string())?;
            println!(
                "{} abandoned uploads removed ({} bytes), {} leftover files",
                cleaned.uploads, cleaned.bytes, cleaned.leftovers
            );
            Ok(())
        }
        Command::CreateUser {
            username,
            password,
            role,
            supervisor,
        } => {
            let role = match role {
                RoleArg::Agent => Role::Agent,
                RoleArg::Supervisor => Role::Supervisor,
                RoleArg::Admin => Role::Admin,
            };
            let id = admin::create_user(
                store_ref,
                &username,
                &password,
                role,
                supervisor.as_deref(),
                now,
            )
            .map_err(|e| e.report())?;
            println!("user {id}");
            Ok(())
        }
        Command::CreateDevice {
            username,
            device_id,
        } => {
            admin::create_device(store_ref, &username, device_id, now).map_err(|e| e.report())?;
            println!("device {device_id}");
            Ok(())
        }
        Command::ImportCases { file, format } => {
            let csv = format.map_or_else(
                || {
                    file.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
                },
                |f| f == CaseFormat::Csv,
            );
            if csv {
                let bytes = std::fs::read(&file)
                    .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
                let ids = admin::import_cases_csv(store_ref, &bytes, now).map_err(|e| match e {
                    admin::CsvImportError::Store(e) => e.report(),
                    problems => problems.to_string(),
                })?;
                for id in ids {
                    println!("case {id}");
                }
                return Ok(());
            }
            let cases: Vec<Case> = serde_json::from_str(&read_file(&file)?).map_err(|e| {
                format!(
                    "{} is not a JSON array of cases (line {}, column {})",
                    file.display(),
                    e.line(),
                    e.column()
                )
            })?;
            for id in admin::import_cases(store_ref, &cases, now).map_err(|e| e.report())? {
                println!("case {id}");
            }
            Ok(())
        }
        Command::ImportRepayments { file } => {
            let bytes = read_bounded(&file, repayment_csv::MAX_BYTES)?;
            let count = repayments::import_repayments_csv(
                store_ref,
                repayments::Importer::CommandLine,
                &bytes,
                now,
            )
            .map_err(|e| match e {
                admin::CsvImportError::Store(e) => e.report(),
                problems => problems.to_string(),
            })?;
            println!("{count} repayments imported");
            Ok(())
        }
        Command::PublishTemplate { path, file } => {
            let file = path.or(file).unwrap_or_default();
            let bytes = read_bounded(&file, MAX_TEMPLATE_FILE_BYTES)?;
            if bytes.len() > MAX_TEMPLATE_FILE_BYTES {
                return Err(format!(
                    "{} is larger than {MAX_TEMPLATE_FILE_BYTES} bytes",
                    file.display()
                ));
            }
            let template = templates::read_file(&bytes).map_err(|e| e.to_string())?;
            templates::publish(store_ref, None, &template, now).map_err(|e| e.report())?;
            println!("template {}@{}", template.key(), template.version());
            Ok(())
        }
        Command::RetireTemplate { key, version } => {
            templates::retire(store_ref, None, &key, version, now).map_err(|e| e.report())?;
            println!("template {key}@{version} retired");
            Ok(())
        }
        Command::PublishPolicy { file } => {
            let policy = doorstep_server::service::policy::policy_from_json(&read_file(&file)?)
                .map_err(|e| e.report())?;
            let version = doorstep_server::service::policy::publish(store_ref, None, &policy, now)
                .map_err(|e| e.report())?;
            println!("policy version {version}");
            Ok(())
        }
        Command::ReassignCase { case_id, agent } => {
            admin::reassign_case(store_ref, case_id, &agent, now).map_err(|e| e.report())?;
            println!("case {case_id}");
            Ok(())
        }
        Command::UnlockUser { username } => {
            let limiter = doorstep_server::login_limit::LoginLimiter::default();
            let (id, cleared) =
                admin::unlock_user(store_ref, &limiter, &username, now).map_err(|e| e.report())?;
            println!("user {id} unlocked ({cleared} sign-in attempts cleared)");
            Ok(())
        }
        Command::DeactivateUser { username } => {
            let id = user_id(store_ref, &username)?;
            users::deactivate_user(store_ref, Actor::CommandLine, id, now)
                .map_err(|e| e.report())?;
            println!("user {id} deactivated");
            Ok(())
        }
        Command::ResetPassword { username } => {
            let id = user_id(store_ref, &username)?;
            let password = users::reset_password(store_ref, Actor::CommandLine, id, now)
                .map_err(|e| e.report())?;
            println!("user {id}: one-time password {password}");
            Ok(())
        }
        Command::MoveAgent { agent, supervisor } => {
            let agent = user_id(store_ref, &agent)?;
            let supervisor = supervisor
                .map(|name| user_id(store_ref, &name))
                .transpose()?;
            let moved = teams::move_agent(store_ref, Actor::CommandLine, agent, supervisor, now)
                .map_err(|e| e.report())?;
            println!("agent {agent} moved ({moved} cases with them)");
            Ok(())
        }
        Command::DeactivateDevice { device_id } => {
            admin::deactivate_device(store_ref, device_id, now).map_err(|e| e.report())?;
            println!("device {device_id} deactivated");
            Ok(())
        }
        Command::RevokeSignIn { device_id } => {
            let revoked = doorstep_server::service::refresh::revoke_device_sign_in(
                store_ref,
                Actor::CommandLine,
                device_id,
                now,
            )
            .map_err(|e| e.report())?;
            println!("device {device_id}: sign-in revoked ({revoked} credentials and tokens)");
            Ok(())
        }
        Command::Quarantine { limit } => {
            let kept = admin::quarantined(store_ref, limit, now).map_err(|e| e.report())?;
            for q in &kept {
                let case = q.case_id.map_or_else(|| "-".to_owned(), |c| c.to_string());
                println!(
                    "{} op={} visit={} case={case} user={} device={} kind={} code={}",
                    q.at.to_rfc3339(),
                    q.entry.op_id,
                    q.entry.visit_id,
                    q.user,
                    q.device,
                    doorstep_server::text::visible_line(&q.entry.kind),
                    q.code.code(),
                );
            }
            println!("{} quarantined entries", kept.len());
            Ok(())
        }
        Command::Demo { .. } => Ok(()),
    }
}

/// The options that say where attachment bytes are kept.
struct BlobArgs {
    dir: Option<PathBuf>,
    s3_url: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    with_database: bool,
}

/// The blob store the options name: an S3 bucket, a directory, or `blobs`
/// in the data directory (not with PostgreSQL, whose replicas must share it).
fn open_blobs(args: &BlobArgs, data: &Path) -> Result<Arc<dyn BlobStore>, String> {
    // clap does not check conflicts between global options given on either
    // side of the subcommand, so this does.
    if args.dir.is_some() && args.s3_url.is_some() {
        return Err("--blob-dir and --blob-s3-url name two blob stores; give one".into());
    }
    if let Some(url) = &args.s3_url {
        let config = S3Config {
            endpoint: args.s3_endpoint.clone(),
            region: args.s3_region.clone(),
            ..S3Config::from_url(url)?
        };
        let blobs = S3BlobStore::open(&config)
            .map_err(|e| format!("cannot open the S3 blob store: {e}"))?;
        return Ok(Arc::new(blobs));
    }
    let dir = match (&args.dir, args.with_database) {
        (Some(dir), _) => dir.clone(),
        (None, false) => data.join("blobs"),
        (None, true) => {
            return Err("--blob-dir is required with --database-url (or --blob-s3-url)".into());
        }
    };
    let blobs =
        FsBlobStore::open(&dir).map_err(|e| format!("cannot open the blob store: {}", e.kind()))?;
    Ok(Arc::new(blobs))
}

fn serve(
    store: Arc<dyn Store>,
    blobs: Arc<dyn BlobStore>,
    listen: SocketAddr,
    secure_cookies: bool,
    abandoned_upload_hours: u32,
) -> Result<(), String> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    // The store outlives the runtime: the PostgreSQL client closes its
    // connections with a runtime of its own, which cannot start inside
    // this one, so the last reference is dropped after it has shut down.
    let kept = Arc::clone(&store);
    let served = runtime.block_on(async move {
        tokio::spawn(blobs::clean_periodically(
            blobs.clone(),
            abandoned_upload_hours,
            blobs::CLEANUP_PERIOD,
        ));
        // Visits stored before summaries existed get theirs in the
        // background; the console folds them meanwhile.
        let summarised = Arc::clone(&store);
        tokio::task::spawn_blocking(move || {
            match doorstep_server::service::summaries::backfill(summarised.as_ref()) {
                Ok(0) => {}
                Ok(written) => tracing::info!(written, "visit summaries written"),
                Err(err) => tracing::warn!(code = err.code(), "visit summaries not written"),
            }
        });
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        tracing::info!(%local, "doorstep-server listening");
        println!("listening on {local}");
        let console = doorstep_server::console::ConsoleConfig { secure_cookies };
        let router = app_with_console(AppState::new(store, blobs), console);
        let router = router.into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(listener, router)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    });
    // In-flight requests have been answered; blocking tasks finish here.
    drop(runtime);
    drop(kept);
    tracing::info!("doorstep-server stopped");
    served
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story (its offline syncs fail on purpose); only
    // errors go to the log.
    let level = match cli.command {
        Command::Demo { .. } => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .init();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("doorstep-server: {message}");
            ExitCode::FAILURE
        }
    }
}
