//! The API proxy against the hub API it fronts: the same `GET /messages` of one instance, once
//! with ferry's secrets and once with an API key through `/proxies/{basePath}`, usage recording on.

use crate::load::{self, Load, median};
use crate::processes::{Emulator, Ferry};
use crate::{Settings, figures};
use serde_json::json;
use std::time::Duration;

const ACCOUNT: &str = "ada@example.com";

pub async fn run(args: &Settings) {
    let emulator = Emulator::start(&args.ferry).await;
    let ferry = Ferry::start(&args.ferry, &emulator).await;
    let grant = emulator.mint_grant(ACCOUNT).await;
    let instance = ferry
        .api_post(
            "/instances",
            json!({
                "element": {"key": "gmail"},
                "externalAuthentication": "initial",
                "name": "bench",
                "configuration": {
                    "oauth.api.key": emulator.client_id,
                    "oauth.api.secret": emulator.client_secret,
                    "oauth.user.refresh_token": grant.refresh_token,
                }
            }),
        )
        .await;
    let token = instance["token"].as_str().expect("an instance token");
    // A limit the load cannot reach: the bucket is still spent on every call.
    let proxy = ferry
        .api_post(
            "/proxies",
            json!({
                "name": "bench",
                "basePath": "bench",
                "instanceId": instance["id"],
                "rateLimit": {"requests": 1_000_000, "seconds": 1}
            }),
        )
        .await;
    let key = ferry
        .api_post(
            &format!("/proxies/{}/keys", proxy["id"]),
            json!({"name": "load generator"}),
        )
        .await;
    let key = key["key"].as_str().expect("an API key").to_owned();

    let hub = Load {
        url: format!("{}/elements/api-v2/messages", ferry.url),
        authorization: format!("{}, Element {token}", ferry.auth),
        headers: Vec::new(),
        body: None,
    };
    let proxied = Load {
        url: format!("{}/proxies/bench/messages", ferry.url),
        authorization: String::new(),
        headers: vec![("X-API-Key".to_owned(), key)],
        body: None,
    };
    let duration = Duration::from_secs(args.duration);
    println!("## API proxy: GET /messages through a proxy vs the hub API\n");
    println!(
        "{} runs of {} s each per figure, alternating; medians (min–max). Every proxied call checks \
         the key, spends a token of the key's bucket in the database and is recorded.\n",
        args.runs, args.duration
    );
    println!(
        "| concurrency | hub req/s | proxy req/s | proxy/hub | hub p50 | proxy p50 | proxy added p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for concurrency in [1, 32] {
        let mut hub_runs = Vec::new();
        let mut proxy_runs = Vec::new();
        for _ in 0..args.runs {
            hub_runs.push(hub.run(concurrency, duration));
            proxy_runs.push(proxied.run(concurrency, duration));
        }
        let rps = |runs: &[load::LoadResult]| median(runs.iter().map(|r| r.requests_per_second));
        let p50 = |runs: &[load::LoadResult]| median(runs.iter().map(|r| r.p50_us));
        for (name, runs) in [("hub", &hub_runs), ("proxy", &proxy_runs)] {
            let prefix = format!("proxy.c{concurrency}.{name}");
            figures::record(args, &format!("{prefix}_rps"), rps(runs), "req/s");
            figures::record(args, &format!("{prefix}.p50_us"), p50(runs), "µs");
        }
        println!(
            "| {concurrency} | {} | {} | {:.0}% | {:.0} µs | {:.0} µs | {:.0} µs |",
            load::spread(hub_runs.iter().map(|r| r.requests_per_second)),
            load::spread(proxy_runs.iter().map(|r| r.requests_per_second)),
            100.0 * rps(&proxy_runs) / rps(&hub_runs),
            p50(&hub_runs),
            p50(&proxy_runs),
            p50(&proxy_runs) - p50(&hub_runs),
        );
    }
    println!();
}
