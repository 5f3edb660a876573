//! ferry-bench: reproducible measurements of ferry on this machine. It starts the release `ferry`
//! binary (and the Google emulator as a separate process) on loopback ports, prepares an instance
//! through the API, drives both with `wrk` and prints medians of several runs as a Markdown table.
//! Nothing leaves loopback. Run it with `bench/run.sh`, which builds and installs what it needs.

mod load;
mod processes;

use clap::Parser;
use load::{Load, median};
use processes::{Emulator, Ferry};
use serde_json::json;
use std::time::Duration;

#[derive(Parser)]
#[command(about = "Measure ferry against the machine and against calling the provider directly")]
struct Args {
    /// The ferry binary to measure.
    #[arg(long, env = "FERRY_BIN", default_value = "target/release/ferry")]
    ferry: String,
    /// Seconds per load run.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Runs per figure (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
}

const ACCOUNT: &str = "ada@example.com";

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let emulator = Emulator::start(&args.ferry).await;
    let startup = Ferry::measure_startup(&args.ferry, &emulator).await;
    let ferry = Ferry::start(&args.ferry, &emulator).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_kib = ferry.rss_kib();

    let grant = emulator.mint_grant(ACCOUNT).await;
    let token = ferry
        .create_instance(json!({
            "element": {"key": "gmail"},
            "externalAuthentication": "initial",
            "name": "bench",
            "configuration": {
                "oauth.api.key": emulator.client_id,
                "oauth.api.secret": emulator.client_secret,
                "oauth.user.refresh_token": grant.refresh_token,
            }
        }))
        .await;

    let direct = Load {
        url: format!("{}/gmail/v1/users/me/messages", emulator.url),
        authorization: format!("Bearer {}", grant.access_token),
    };
    let through_ferry = Load {
        url: format!("{}/elements/api-v2/messages", ferry.url),
        authorization: format!("{}, Element {token}", ferry.auth),
    };
    let duration = Duration::from_secs(args.duration);
    println!("## Hub API: GET /messages through ferry vs straight to the emulator\n");
    println!(
        "{} runs of {} s each per figure, alternating; medians (min–max).\n",
        args.runs, args.duration
    );
    println!(
        "| concurrency | direct req/s | ferry req/s | ferry/direct | direct p50 | ferry p50 | added p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for concurrency in [1, 32] {
        let mut direct_runs = Vec::new();
        let mut ferry_runs = Vec::new();
        for _ in 0..args.runs {
            direct_runs.push(direct.run(concurrency, duration));
            ferry_runs.push(through_ferry.run(concurrency, duration));
        }
        let d_rps = median(direct_runs.iter().map(|r| r.requests_per_second));
        let f_rps = median(ferry_runs.iter().map(|r| r.requests_per_second));
        let d_p50 = median(direct_runs.iter().map(|r| r.p50_us));
        let f_p50 = median(ferry_runs.iter().map(|r| r.p50_us));
        println!(
            "| {concurrency} | {} | {} | {:.0}% | {:.0} µs | {:.0} µs | {:.0} µs |",
            load::spread(direct_runs.iter().map(|r| r.requests_per_second)),
            load::spread(ferry_runs.iter().map(|r| r.requests_per_second)),
            100.0 * f_rps / d_rps,
            d_p50,
            f_p50,
            f_p50 - d_p50,
        );
    }
    println!();
    println!("## ferry serve\n");
    println!("| figure | value |");
    println!("|---|---|");
    println!(
        "| start-up to ready (spawn → /health answers), median of 5 | {} ms |",
        startup.as_millis()
    );
    println!(
        "| idle RSS after start-up | {:.1} MB |",
        idle_rss_kib as f64 / 1024.0
    );
    println!(
        "| RSS after the load runs | {:.1} MB |",
        ferry.rss_kib() as f64 / 1024.0
    );
    println!(
        "| binary size | {:.1} MB |",
        std::fs::metadata(&args.ferry).map(|m| m.len()).unwrap_or(0) as f64 / 1_048_576.0
    );
}
