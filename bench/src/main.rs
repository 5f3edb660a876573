//! ferry-bench: reproducible measurements of ferry on this machine. It starts release binaries
//! (`ferry serve`, the Google emulator, a loopback stub) on free loopback ports, prepares them
//! through the API, drives them with `wrk` and prints medians of several runs as Markdown tables.
//! Nothing leaves loopback. Run it with `bench/run.sh`, which builds and installs what it needs.

mod figures;
mod flows;
mod forwarder;
mod gmail;
mod hub;
mod load;
mod processes;
mod proxy;
mod report;
mod stub;

use clap::{Args, Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    about = "Measure ferry against the machine, against calling the provider directly, and against its peers"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    settings: Settings,
}

#[derive(Args, Clone)]
pub struct Settings {
    /// The ferry binary to measure.
    #[arg(
        long,
        env = "FERRY_BIN",
        default_value = "target/release/ferry",
        global = true
    )]
    pub ferry: String,
    /// Seconds per load run.
    #[arg(long, default_value_t = 10, global = true)]
    pub duration: u64,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3, global = true)]
    pub runs: usize,
    /// Also append every figure to this file as JSON lines (for `report`).
    #[arg(long, env = "FERRY_BENCH_FIGURES", global = true)]
    pub figures: Option<std::path::PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// The hub API: ferry vs the emulator directly vs a minimal forwarder; start-up and memory.
    Hub,
    /// A webhook flow of one script and one HTTP request, answered synchronously, with history;
    /// against a minimal forwarder, on SQLite and (with --database-url) PostgreSQL and workers.
    Flows {
        /// PostgreSQL for the postgres set-ups (each in a fresh schema, dropped afterwards).
        #[arg(long, env = "FERRY_BENCH_DATABASE_URL")]
        database_url: Option<String>,
        /// Set-ups to measure: sqlite, postgres, postgres+Nw (serve --workers 0 + N workers).
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres,postgres+1w,postgres+2w",
              value_parser = flows::Variant::parse)]
        setups: Vec<flows::Variant>,
    },
    /// ferry against n8n and Node-RED and the targets of issue 10, and every figure against the
    /// previous commit recorded in the history file.
    Report(report::ReportArgs),
    /// The API proxy against the hub API it fronts.
    Proxy,
    /// Gmail: the emulator's messages.list/get throughput and what ferry's hub adds to them.
    Gmail {
        /// Messages in the benchmark mailbox.
        #[arg(long, default_value_t = 1000)]
        messages: usize,
    },
    /// Run the minimal forwarder (used by the benchmark itself, as a separate process).
    Forward {
        #[arg(long)]
        port: u16,
        #[arg(long)]
        upstream: String,
        #[arg(long)]
        authorization: String,
    },
    /// Run the loopback stub that HTTP steps call (used by the benchmark itself).
    Stub {
        #[arg(long)]
        port: u16,
    },
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Forward {
            port,
            upstream,
            authorization,
        }) => forwarder::serve(port, upstream, authorization).await,
        Some(Command::Stub { port }) => stub::serve(port).await,
        Some(Command::Hub) => hub::run(&cli.settings).await,
        Some(Command::Flows {
            database_url,
            setups,
        }) => {
            let args = flows::FlowsArgs {
                database_url,
                variants: setups,
            };
            flows::run(&cli.settings, &args).await
        }
        Some(Command::Report(args)) => report::run(&cli.settings, &args),
        Some(Command::Proxy) => proxy::run(&cli.settings).await,
        Some(Command::Gmail { messages }) => gmail::run(&cli.settings, messages).await,
        None => {
            hub::run(&cli.settings).await;
            proxy::run(&cli.settings).await;
            let args = flows::FlowsArgs {
                database_url: None,
                variants: vec![flows::Variant::Sqlite],
            };
            flows::run(&cli.settings, &args).await;
        }
    }
}
