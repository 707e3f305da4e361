//! The `gather` binary: serve (the framework with the Gather platform), migrations and
//! superuser management.

#![deny(unsafe_code)]
#![deny(clippy::unwrap_used)]

use clap::{Parser, Subcommand};
use framework::auth::{delete_superuser, installer, upsert_superuser};
use framework::db::{system_migrations, Db};
use framework::{App, Config};
use std::path::PathBuf;
use std::process::ExitCode;

/// mimalloc rather than glibc's allocator: with glibc, malloc and free took ~40% of the
/// CPU of a list request (bench/README.md has the profile).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Freed memory goes back to the system at once rather than after a second: mimalloc
/// only purges when the thread that freed memory allocates again, so memory a burst
/// used (a hashing thread's, a batch of log lines) otherwise stays resident while idle.
/// Measured: idle RSS 28 -> 24 MB, no change in throughput.
#[allow(unsafe_code)] // mimalloc's options are a C API.
fn return_freed_memory_at_once() {
    // SAFETY: called first thing in `main`, before any other thread exists.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

/// `mi_option_purge_delay` in mimalloc.h's `mi_option_e` (the Rust bindings lack it);
/// the test below checks it is the option whose default is 1000 ms.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

#[derive(Parser)]
#[command(
    name = "gather",
    version,
    about = "A self-hosted backend that speaks PocketBase's API, on SQLite or PostgreSQL."
)]
struct Cli {
    /// Data directory (SQLite database and files).
    #[arg(
        long,
        global = true,
        env = "GATHER_DATA_DIR",
        default_value = "gather_data"
    )]
    dir: PathBuf,
    /// Use PostgreSQL instead of SQLite, e.g. postgres://user@127.0.0.1:5432/gather.
    #[arg(long, global = true, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, global = true, env = "GATHER_MAX_BODY_SIZE", default_value_t = 32 << 20)]
    max_body_size: usize,
    /// Directory of the server's secrets (signing keys), shared by every instance; by
    /// default `<dir>/secrets`, which only SQLite may use.
    #[arg(long, global = true, env = "GATHER_SECRETS_DIR")]
    secrets_dir: Option<PathBuf>,
    /// File holding the agent JWT signing key (instead of `JWT_SIGNING_KEY`).
    #[arg(long, global = true, env = "GATHER_JWT_KEY_FILE")]
    jwt_key_file: Option<PathBuf>,
    /// File holding the secret mixed into record tokens (instead of `GATHER_TOKEN_SECRET`).
    #[arg(long, global = true, env = "GATHER_TOKEN_SECRET_FILE")]
    token_secret_file: Option<PathBuf>,
    /// File holding the secret the review attestation key is derived from (instead of
    /// `GATHER_ATTESTATION_SECRET`).
    #[arg(long, global = true, env = "GATHER_ATTESTATION_SECRET_FILE")]
    attestation_secret_file: Option<PathBuf>,
    /// The command that runs server-side reviews (`POST /api/reviews`), words separated by
    /// spaces, e.g. "claude -p -": it gets the prompt on stdin, a clean environment and an
    /// empty directory of its own. Without it that route answers 503.
    #[arg(long, global = true, env = "GATHER_REVIEW_RUNNER")]
    review_runner: Option<String>,
    /// Server-run reviews at once (the rest wait, queued).
    #[arg(long, global = true, env = "GATHER_REVIEW_SLOTS", default_value_t = 1)]
    review_slots: usize,
    /// Seconds a server-run review may take before it is killed and marked failed.
    #[arg(
        long,
        global = true,
        env = "GATHER_REVIEW_TIMEOUT",
        default_value_t = 300
    )]
    review_timeout: u64,
    /// A Gemini API key: challenge tasks are then written by Gemini (the template stands
    /// in whenever it fails). Kept out of the database and of every answer.
    #[arg(
        long,
        global = true,
        env = "GATHER_GEMINI_API_KEY",
        hide_env_values = true
    )]
    gemini_api_key: Option<String>,
    /// Gemini's API base URL.
    #[arg(
        long,
        global = true,
        env = "GATHER_GEMINI_URL",
        default_value = "https://generativelanguage.googleapis.com"
    )]
    gemini_url: String,
    /// The Gemini model that writes challenge tasks.
    #[arg(
        long,
        global = true,
        env = "GATHER_GEMINI_MODEL",
        default_value = "gemini-2.0-flash"
    )]
    gemini_model: String,
    /// Seconds a client has to send a request's headers (and a keep-alive connection may
    /// wait idle for its next request).
    #[arg(
        long,
        global = true,
        env = "GATHER_HEADER_TIMEOUT",
        default_value_t = 10
    )]
    header_timeout: u64,
    /// Seconds a client has to send a request's body (408 after).
    #[arg(long, global = true, env = "GATHER_BODY_TIMEOUT", default_value_t = 30)]
    body_timeout: u64,
    /// Open connections at most (fewer when the file-descriptor limit is lower); past it
    /// new connections get a 503.
    #[arg(
        long,
        global = true,
        env = "GATHER_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    max_connections: usize,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the HTTP server (migrations are applied first).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "GATHER_HTTP", default_value = "127.0.0.1:8090")]
        http: String,
        /// Log, every SECS seconds, where writes spent their time in the writer queue
        /// (a latency histogram per stage: queued, ahead, own, behind, commit).
        #[arg(long, env = "GATHER_WRITE_STAGES", value_name = "SECS")]
        write_stages: Option<u64>,
    },
    /// Manage the system-table migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage superusers (operators with full access).
    Superuser {
        #[command(subcommand)]
        action: SuperuserAction,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply all pending migrations.
    Up,
    /// Revert the last applied migration.
    Down,
    /// Show which migrations are applied.
    Status,
}

#[derive(Subcommand)]
enum SuperuserAction {
    /// Create a superuser, or set the password of an existing one.
    Upsert { email: String, password: String },
    /// Delete a superuser.
    Delete { email: String },
}

fn main() -> ExitCode {
    return_freed_memory_at_once();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(run_cli()),
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run_cli() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("GATHER_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let mut secret_files = std::collections::BTreeMap::new();
    let named = [
        (gather::JWT_KEY.name, &cli.jwt_key_file),
        (gather::TOKEN_SECRET.name, &cli.token_secret_file),
        (
            gather::proofs::server_key::ATTESTATION_SECRET.name,
            &cli.attestation_secret_file,
        ),
    ];
    for (name, file) in named {
        if let Some(f) = file {
            secret_files.insert(name.to_string(), f.clone());
        }
    }
    let mut config = Config {
        data_dir: cli.dir.clone(),
        database_url: cli.database_url.clone(),
        max_body_size: cli.max_body_size,
        secrets_dir: cli.secrets_dir.clone(),
        secret_files,
        http: framework::HttpLimits {
            header_timeout: std::time::Duration::from_secs(cli.header_timeout.max(1)),
            body_timeout: std::time::Duration::from_secs(cli.body_timeout.max(1)),
            max_connections: cli.max_connections,
        },
        ..Config::default()
    };
    gather::configure(&mut config);
    let runner = cli.review_runner.as_deref().and_then(|c| {
        gather::runner::RunnerConfig::parse(
            c,
            cli.review_slots,
            std::time::Duration::from_secs(cli.review_timeout.max(1)),
        )
    });
    let gemini = cli
        .gemini_api_key
        .filter(|k| !k.trim().is_empty())
        .map(|key| (cli.gemini_url, cli.gemini_model, key));
    match run(cli.command, config, runner, gemini).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(
    cmd: Command,
    config: Config,
    runner: Option<gather::runner::RunnerConfig>,
    gemini: Option<(String, String, String)>,
) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        Command::Serve { http, write_stages } => {
            let app = App::open(config).await?;
            if let Some(secs) = write_stages {
                log_write_stages(app.clone(), std::time::Duration::from_secs(secs.max(1)));
            }
            gather::setup(&app).await?;
            if let Some(r) = runner {
                tracing::info!(command = ?r.command, slots = r.slots, "server-run reviews are on");
                gather::runner::configure(&app, r).await?;
            }
            if let Some((url, model, key)) = gemini {
                tracing::info!(%url, %model, "Gemini writes challenge tasks");
                let g = gather::reviews::task_provider::Gemini::new(&app, &url, &model, &key);
                gather::reviews::task_provider::configure(&app, std::sync::Arc::new(g))?;
            }
            if let Some(token) = installer(&app).await? {
                // As PocketBase does: the first superuser is made in the browser.
                let host = http.replace("0.0.0.0", "127.0.0.1");
                println!(
                    "\nNo superuser yet. Create the first one (link valid 30 minutes):\n  http://{host}/_/#/install/{token}\n(or run: gather superuser upsert EMAIL PASSWORD)\n"
                );
            }
            framework::http::serve(app, gather::api(), &http).await?;
        }
        Command::Migrate { action } => {
            let db = Db::connect(&config.db_target()).await?;
            match action {
                MigrateAction::Up => system_migrations::up(&db).await?,
                MigrateAction::Down => system_migrations::down(&db, Some(1)).await?,
                MigrateAction::Status => {
                    for m in system_migrations::status(&db).await? {
                        let state = if m.applied { "Applied" } else { "Pending" };
                        println!("{:<40} {state}", m.name);
                    }
                }
            }
        }
        Command::Superuser { action } => {
            let app = App::open(config).await?;
            match action {
                SuperuserAction::Upsert { email, password } => {
                    upsert_superuser(&app, &email, &password).await?;
                    println!("Superuser {email} saved.");
                }
                SuperuserAction::Delete { email } => {
                    delete_superuser(&app, &email).await?;
                    println!("Superuser {email} deleted.");
                }
            }
        }
    }
    Ok(())
}

/// Logs the writer's stage histograms every `every` (for finding where slow writes wait).
fn log_write_stages(app: App, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            tracing::info!(stages = %app.db().write_stages(), "writer stages");
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    #[allow(unsafe_code)] // mimalloc's options are a C API.
    fn the_purge_delay_option_is_the_one_we_think() {
        // SAFETY: reading an option.
        let delay = unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) };
        assert!(delay == 1000 || delay == 0, "option 15 is {delay}");
    }
}
