//! The `anteroom` command: `serve`, and the admin subcommands that work on the data directory.

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use anteroom::app::Application;
use anteroom::config::{DataDirArgs, ServeConfig};
use anteroom::meeting::{Meeting, RecordingKind, RoomMode, RoomNamePattern, format_date};
use anteroom::services::api_keys::ApiKeys;
use anteroom::services::meetings::{Fields, MeetingSpec, Meetings};
use anteroom::store::{DynStore, MeetingQuery, RoomNameFilter};
use anteroom::webhooks::endpoints::Endpoints;

#[derive(Parser)]
#[command(
    name = "anteroom",
    version,
    about = "Self-hosted video meetings with a waiting room"
)]
struct Cli {
    /// Log filter, e.g. `info`, `warn`, `anteroom=debug,tower_http=debug`.
    #[arg(long, env = "ANTEROOM_LOG", default_value = "info", global = true)]
    log: String,

    /// `text` for people, `json` for a log collector (one JSON object per line).
    #[arg(long, env = "ANTEROOM_LOG_FORMAT", default_value = "text", global = true,
          value_parser = ["text", "json"])]
    log_format: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(Box<ServeConfig>),
    /// Manage the API keys that authorise calls to the REST API.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Manage the endpoints that receive webhook events.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Copy the embedded SQLite store to a new file, also while the server runs. Restore by
    /// starting a server on a data directory holding the copy as `anteroom.sqlite3`.
    Backup {
        #[command(flatten)]
        data: DataDirArgs,
        /// The file to write (it must not exist).
        to: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum WebhookCommand {
    /// Add an endpoint and print its signing secret (alone) on stdout. It is shown only this once.
    Add {
        #[command(flatten)]
        data: DataDirArgs,
        /// Where events are POSTed (http:// or https://).
        #[arg(long)]
        url: String,
        /// Comma-separated event types, e.g. room.client.knocked,room.client.joined
        #[arg(long)]
        events: String,
    },
    /// List endpoints (never their secrets).
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Remove an endpoint by the id `list` shows; its undelivered events are dropped.
    Remove {
        #[command(flatten)]
        data: DataDirArgs,
        id: i64,
    },
}

#[derive(Subcommand)]
enum ApiKeyCommand {
    /// Create a key and print it (alone) on stdout. It is shown only this once.
    Create {
        #[command(flatten)]
        data: DataDirArgs,
        /// A name to tell the key apart in `list`.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (never the keys themselves: only their first characters).
    List {
        #[command(flatten)]
        data: DataDirArgs,
    },
    /// Revoke a key by the id `list` shows; requests with it fail from then on.
    Revoke {
        #[command(flatten)]
        data: DataDirArgs,
        id: i64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&cli.log)
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // A log line that cannot be written (stderr's reader gone) is dropped: the default
        // reports it with eprintln!, which panics the task that logged, and a stopping server
        // then never finished stopping.
        .log_internal_errors(false);
    if cli.log_format == "json" {
        logs.json().with_current_span(false).init();
    } else {
        logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init();
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Command::Serve(config) = &cli.command
        && let Some(threads) = config.worker_threads
    {
        runtime.worker_threads(usize::from(threads));
    }
    let runtime = match runtime.build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", with_causes(&err));
            ExitCode::FAILURE
        }
    }
}

/// The error and each of its causes, once: our own errors name their cause in their message
/// already ("cannot open the data directory ...: Permission denied"), where `{:#}` would repeat it.
fn with_causes(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(config) => serve(*config).await,
        Command::ApiKey(command) => api_key(command).await,
        Command::Webhook(command) => webhook(command).await,
        Command::Backup { data, to } => {
            anteroom::store::back_up(&data.store_url(), &to).await?;
            tracing::info!(to = %to.display(), "store backed up");
            println!("backed up to {}", to.display());
            Ok(())
        }
    }
}

async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    // A stop signal while the server is still being built ends the process at once, as before; from
    // here on, before it says it listens, the signal stops it gracefully.
    let app = Application::build(&config).await?;
    let stop = shutdown_signal();
    let keys = &app.state().api_keys;
    if keys.list().await?.is_empty() {
        let (key, _) = keys.issue("first key").await?;
        println!(
            "No API key existed, so one was created. It is shown only this once; keep it:\n{key}"
        );
    }
    if config.demo {
        print_demo_meeting(&app.state().meetings).await?;
    }
    app.run_until(stop).await
}

/// `--demo`: a locked meeting for the next 24 hours, with a host link and a guest link to try the
/// waiting room in two browser windows. The one an earlier start made is shown again while it has
/// an hour or more left, so that links already open (after a restart or a crash) stay the ones to use.
async fn print_demo_meeting(meetings: &Meetings) -> anyhow::Result<()> {
    let now = chrono::Utc::now();
    let meeting = match earlier_demo_meeting(meetings, now).await? {
        Some(meeting) => meeting,
        None => {
            let spec = MeetingSpec {
                end_date: now + chrono::Duration::hours(24),
                is_locked: true,
                room_mode: RoomMode::Normal,
                prefix: DEMO_PREFIX.into(),
                pattern: RoomNamePattern::HumanShort,
                viewer_mode: false,
                // The demo shows what a host can do, local recording included.
                recording: RecordingKind::Local,
                fields: Fields::default(),
            };
            meetings.create(&spec, now).await?
        }
    };
    let fields = Fields {
        host_room_url: true,
        viewer_room_url: false,
    };
    let links = meetings.links(&meeting, fields);
    println!(
        "Demo meeting (locked, until {}; open each link in its own browser window):",
        format_date(meeting.end_date)
    );
    println!("  host:  {}", links.host_room_url.unwrap_or_default());
    println!("  guest: {}", links.room_url);
    Ok(())
}

const DEMO_PREFIX: &str = "demo-";

/// The newest demo meeting with an hour or more left, if any.
async fn earlier_demo_meeting(
    meetings: &Meetings,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<Meeting>> {
    let mut query = MeetingQuery {
        after: None,
        limit: 100,
        room_name: RoomNameFilter {
            starts_with: Some(format!("/{DEMO_PREFIX}")),
            ..RoomNameFilter::default()
        },
    };
    let mut newest = None;
    loop {
        let page = meetings.list(&query).await?;
        let Some(last) = page.last() else {
            return Ok(newest);
        };
        query.after = Some(last.id);
        newest = page
            .into_iter()
            .rfind(|m| {
                m.is_locked
                    && m.room_mode == RoomMode::Normal
                    // A demo meeting of before local recording is left: the demo shows it.
                    && m.recording == RecordingKind::Local
                    && m.end_date > now + chrono::Duration::hours(1)
            })
            .or(newest);
    }
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is called, not when the
/// future is first polled: a signal that comes meanwhile (the server has just said it listens) is
/// caught rather than killing the process by the default action.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut handlers = Vec::new();
    for kind in [SignalKind::terminate(), SignalKind::interrupt()] {
        match signal(kind) {
            Ok(handler) => handlers.push(handler),
            Err(err) => tracing::error!(error = %err, ?kind, "cannot listen for a stop signal"),
        }
    }
    async move {
        if handlers.is_empty() {
            return std::future::pending().await;
        }
        let waits = handlers.iter_mut().map(|handler| Box::pin(handler.recv()));
        futures_util::future::select_all(waits).await;
    }
}

async fn open_store(data: &DataDirArgs) -> anyhow::Result<DynStore> {
    let url = data.store_url();
    anteroom::store::open(&url).await.with_context(|| {
        let url = anteroom::config::without_password(&url);
        format!("opening the store at {url}")
    })
}

async fn api_key(command: ApiKeyCommand) -> anyhow::Result<()> {
    match command {
        ApiKeyCommand::Create { data, name } => {
            let store = open_store(&data).await?;
            let (key, info) = ApiKeys::new(store.clone()).issue(&name).await?;
            store.close().await;
            tracing::info!(id = info.id, "API key created");
            println!("{key}");
        }
        ApiKeyCommand::List { data } => {
            let store = open_store(&data).await?;
            let keys = ApiKeys::new(store.clone()).list().await?;
            store.close().await;
            println!(
                "{:<6} {:<12} {:<26} {:<26} NAME",
                "ID", "PREFIX", "CREATED", "REVOKED"
            );
            for key in keys {
                println!(
                    "{:<6} {:<12} {:<26} {:<26} {}",
                    key.id,
                    key.prefix,
                    format_date(key.created_at),
                    key.revoked_at
                        .map(format_date)
                        .unwrap_or_else(|| "-".into()),
                    key.name
                );
            }
        }
        ApiKeyCommand::Revoke { data, id } => {
            let store = open_store(&data).await?;
            let found = ApiKeys::new(store.clone()).revoke(id).await?;
            store.close().await;
            if !found {
                anyhow::bail!("no API key with id {id}");
            }
            println!("API key {id} revoked");
        }
    }
    Ok(())
}

async fn webhook(command: WebhookCommand) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add { data, url, events } => {
            // Checked before the store is opened, so a typo costs nothing.
            anteroom::webhooks::endpoints::check_url(&url)?;
            anteroom::webhooks::endpoints::parse_event_types(events.split(','))?;
            let store = open_store(&data).await?;
            let added = Endpoints::new(store.clone())
                .add(&url, events.split(','))
                .await;
            store.close().await;
            println!("{}", added?.secret);
        }
        WebhookCommand::List { data } => {
            let store = open_store(&data).await?;
            let endpoints = Endpoints::new(store.clone()).list().await?;
            store.close().await;
            println!("{:<6} {:<26} {:<50} EVENTS", "ID", "CREATED", "URL");
            for e in endpoints {
                println!(
                    "{:<6} {:<26} {:<50} {}",
                    e.id,
                    format_date(e.created_at),
                    e.url,
                    e.events.join(",")
                );
            }
        }
        WebhookCommand::Remove { data, id } => {
            let store = open_store(&data).await?;
            let found = Endpoints::new(store.clone()).remove(id).await?;
            store.close().await;
            if !found {
                anyhow::bail!("no webhook endpoint with id {id}");
            }
            println!("webhook endpoint {id} removed");
        }
    }
    Ok(())
}
