//! The peers' workload (shared/bench): a webhook → a JavaScript step that builds `{url, body}` from
//! the request → an HTTP POST of that body to a loopback stub → the webhook answers with the HTTP
//! step's result. ferry stores the full history of every execution (trigger + 2 step records).

use crate::Settings;
use crate::load::{self, Load, median};
use crate::processes::{Emulator, Ferry, Stub};
use serde_json::json;

pub const BODY: &str = r#"{"subject":"hello","to":"to@example.com","from":"from@example.com","data":{"k":1,"s":"abcdefghij"}}"#;

const SCRIPT: &str = "const b = trigger.body || {};\ndone({url: '/messages', body: {subject: b.subject || 'hello', to: b.to || 'to@example.com', from: b.from || 'from@example.com', data: b.data || {n: 1}}});";

pub async fn run(settings: &Settings) {
    let emulator = Emulator::start(&settings.ferry).await;
    let ferry = Ferry::start(&settings.ferry, &emulator).await;
    let stub = Stub::start().await;
    let flow = ferry
        .api_post(
            "/formulas",
            json!({
                "name": "bench: webhook → script → HTTP",
                "triggers": [{"type": "webhook", "properties": {"synchronous": true}, "onSuccess": ["build"]}],
                "steps": [
                    {"name": "build", "type": "script", "properties": {"body": SCRIPT}, "onSuccess": ["send"]},
                    {"name": "send", "type": "httpRequest", "properties": {"method": "POST", "url": format!("{}${{steps.build.url}}", stub.url), "body": "${steps.build.body}"}}
                ]
            }),
        )
        .await;
    let instance = ferry
        .api_post(
            &format!("/formulas/{}/instances", flow["id"]),
            json!({"name": "bench", "configuration": {}}),
        )
        .await;
    let webhook = Load {
        url: instance["webhookUrl"]
            .as_str()
            .expect("a webhook URL")
            .to_owned(),
        authorization: String::new(),
        headers: vec![(
            "X-Ferry-Webhook-Secret".into(),
            instance["webhookSecret"].as_str().unwrap().to_owned(),
        )],
        body: Some(BODY.to_owned()),
    };
    let warm = webhook.run(8, std::time::Duration::from_secs(2));
    assert!(warm.requests_per_second > 0.0);
    println!("## Flows: webhook → script → HTTP request, answered synchronously, history stored\n");
    println!(
        "{} runs of {} s each; medians (min–max). Database: SQLite (WAL) in the data directory.\n",
        settings.runs, settings.duration
    );
    println!("| concurrency | executions/s | p50 | p99 |");
    println!("|---|---|---|---|");
    for concurrency in [1, 32] {
        let runs: Vec<_> = (0..settings.runs)
            .map(|_| {
                webhook.run(
                    concurrency,
                    std::time::Duration::from_secs(settings.duration),
                )
            })
            .collect();
        println!(
            "| {concurrency} | {} | {:.0} µs | {:.0} µs |",
            load::spread(runs.iter().map(|r| r.requests_per_second)),
            median(runs.iter().map(|r| r.p50_us)),
            median(runs.iter().map(|r| r.p99_us)),
        );
    }
    // The load generator hangs up on the requests in flight when a run ends; those executions
    // still run to their end.
    let started = std::time::Instant::now();
    let last = loop {
        let executions = ferry
            .api_get(&format!(
                "/formulas/instances/{}/executions?pageSize=1",
                instance["id"]
            ))
            .await;
        let last = executions[0].clone();
        if last["status"] != "pending" || started.elapsed().as_secs() > 30 {
            break last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    println!(
        "\nEvery run above is in ferry's history: the newest execution, {}, is `{}` with its step records.\n",
        last["id"],
        last["status"].as_str().unwrap_or_default()
    );
    println!(
        "RSS of `ferry serve` after the runs: {:.1} MB\n",
        ferry.rss_kib() as f64 / 1024.0
    );
}
