//! ferry, the binary: `serve` runs the API against configured provider endpoints; `sandbox` runs
//! ferry and the local Google emulator together on the embedded default (SQLite in a data
//! directory); `emulator` runs the emulator alone; `admin` manages organizations, users and
//! secrets. Only this crate reads environment variables, flags and key files; it wires the store,
//! connectors, OAuth client and application services together and hands them to the HTTP edge.

mod admin;
mod client;
mod connectors_cli;
mod docs_export;
mod emulator_cli;
mod error;
mod flow_commands;
mod sandbox;
mod server;
mod settings;

use clap::{Parser, Subcommand};
use error::CliError;

// glibc's allocator showed up as a fifth of the CPU of a loaded hub call (many small, short-lived
// allocations across worker threads); mimalloc's thread-local free lists cost a fraction of that.
// Built without transparent huge pages (`no_thp`): mimalloc otherwise asks for them on its arenas,
// and every touched 2 MiB then stays resident — 26 of an idle ferry's 51 MB (42 MB without).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "A self-hostable integration platform, wire-compatible with Cloud Elements v2"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API against the configured provider endpoints (the real Google ones by default).
    Serve(settings::ServeArgs),
    /// Run executions, schedules and event polls from a shared PostgreSQL database, serving
    /// nothing (scale out with any number of these beside `ferry serve`).
    Worker(settings::WorkerArgs),
    /// Serve ferry and a local Google emulator with demo accounts and an OAuth client: no Google
    /// account, no network.
    Sandbox(sandbox::SandboxArgs),
    /// Run only the local Google emulator, or drive a running one (faults, revocations, the
    /// developer console's projects and clients).
    Emulator(emulator_cli::EmulatorCommand),
    /// Organizations, users and secrets.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
    /// Flows of a running ferry: import, export, instantiate, run.
    #[command(subcommand)]
    Flows(flow_commands::FlowCommand),
    /// Executions of a running ferry: list, show (and follow), cancel, retry.
    #[command(subcommand)]
    Executions(flow_commands::ExecutionCommand),
    /// Connector folders: scaffold a new one, or validate one and run its test cases.
    #[command(subcommand)]
    Connectors(connectors_cli::ConnectorsCommand),
    /// OpenAPI documents of the platform and of every connector, for client generators.
    #[command(subcommand)]
    Docs(docs_export::DocsCommand),
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("FERRY_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("FERRY_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("ferry: cannot start the async runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result: Result<(), CliError> = runtime.block_on(async move {
        match cli.command {
            Command::Serve(args) => server::serve(args).await,
            Command::Worker(args) => server::work(args).await,
            Command::Sandbox(args) => sandbox::run(args).await,
            Command::Emulator(command) => emulator_cli::run(command).await,
            Command::Admin(command) => admin::run(command).await,
            Command::Flows(command) => flow_commands::run_flows(command).await,
            Command::Executions(command) => flow_commands::run_executions(command).await,
            Command::Connectors(command) => connectors_cli::run(command).await,
            Command::Docs(command) => docs_export::run(command),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("ferry: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
