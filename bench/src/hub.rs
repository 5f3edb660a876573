//! The hub API through ferry against the same call straight to the emulator and through a minimal
//! forwarder; start-up time and memory of `ferry serve`.

use crate::load::{self, Load, median};
use crate::processes::{self, Emulator, Ferry};
use crate::{Settings, figures};
use serde_json::json;
use std::time::Duration;

const ACCOUNT: &str = "ada@example.com";

pub async fn run(args: &Settings) {
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
        headers: Vec::new(),
        body: None,
    };
    let forwarder = processes::Forwarder::start(&direct.url, &direct.authorization).await;
    let through_forwarder = Load {
        url: forwarder.url.clone(),
        authorization: String::new(),
        headers: Vec::new(),
        body: None,
    };
    let through_ferry = Load {
        url: format!("{}/elements/api-v2/messages", ferry.url),
        authorization: format!("{}, Element {token}", ferry.auth),
        headers: Vec::new(),
        body: None,
    };
    let duration = Duration::from_secs(args.duration);
    println!("## Hub API: GET /messages through ferry vs straight to the emulator\n");
    println!(
        "{} runs of {} s each per figure, alternating; medians (min–max).\n",
        args.runs, args.duration
    );
    println!(
        "The forwarder is the same hop with nothing else: the practical limit of any proxy here.\n"
    );
    println!(
        "| concurrency | direct req/s | forwarder req/s | ferry req/s | ferry/direct | ferry/forwarder | direct p50 | forwarder p50 | ferry p50 | ferry added p50 |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for concurrency in [1, 32] {
        let mut direct_runs = Vec::new();
        let mut forwarder_runs = Vec::new();
        let mut ferry_runs = Vec::new();
        for _ in 0..args.runs {
            direct_runs.push(direct.run(concurrency, duration));
            forwarder_runs.push(through_forwarder.run(concurrency, duration));
            ferry_runs.push(through_ferry.run(concurrency, duration));
        }
        let rps = |runs: &[load::LoadResult]| median(runs.iter().map(|r| r.requests_per_second));
        let p50 = |runs: &[load::LoadResult]| median(runs.iter().map(|r| r.p50_us));
        for (name, runs) in [
            ("direct", &direct_runs),
            ("forwarder", &forwarder_runs),
            ("ferry", &ferry_runs),
        ] {
            let prefix = format!("hub.c{concurrency}.{name}");
            figures::record(args, &format!("{prefix}_rps"), rps(runs), "req/s");
            figures::record(args, &format!("{prefix}.p50_us"), p50(runs), "µs");
        }
        println!(
            "| {concurrency} | {} | {} | {} | {:.0}% | {:.0}% | {:.0} µs | {:.0} µs | {:.0} µs | {:.0} µs |",
            load::spread(direct_runs.iter().map(|r| r.requests_per_second)),
            load::spread(forwarder_runs.iter().map(|r| r.requests_per_second)),
            load::spread(ferry_runs.iter().map(|r| r.requests_per_second)),
            100.0 * rps(&ferry_runs) / rps(&direct_runs),
            100.0 * rps(&ferry_runs) / rps(&forwarder_runs),
            p50(&direct_runs),
            p50(&forwarder_runs),
            p50(&ferry_runs),
            p50(&ferry_runs) - p50(&direct_runs),
        );
    }
    let loaded_rss_kib = ferry.rss_kib();
    let binary_bytes = std::fs::metadata(&args.ferry).map(|m| m.len()).unwrap_or(0);
    figures::record(
        args,
        "serve.startup_ms",
        startup.as_secs_f64() * 1000.0,
        "ms",
    );
    figures::record(
        args,
        "serve.idle_rss_mb",
        idle_rss_kib as f64 / 1024.0,
        "MB",
    );
    figures::record(
        args,
        "serve.loaded_rss_mb",
        loaded_rss_kib as f64 / 1024.0,
        "MB",
    );
    figures::record(
        args,
        "serve.binary_mb",
        binary_bytes as f64 / 1_048_576.0,
        "MB",
    );
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
        loaded_rss_kib as f64 / 1024.0
    );
    println!(
        "| binary size | {:.1} MB |",
        binary_bytes as f64 / 1_048_576.0
    );
    println!();
}
