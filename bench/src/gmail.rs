//! `ferry-bench gmail`: the Gmail figures of issue 4. The emulator's own throughput for
//! `messages.list` (a page of 100 out of a mailbox of many) and `messages.get` (format full) at
//! concurrency 32, and the latency ferry's hub adds to the same two calls at concurrency 1 and 32.

use crate::Settings;
use crate::load::{Load, LoadResult, median, spread};
use crate::processes::{Emulator, Ferry};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::time::Duration;

const ACCOUNT: &str = "grace@example.com";

/// Fills the account's inbox through the control API; answers the id of the last message.
async fn seed(emulator: &Emulator, messages: usize) -> String {
    let http = reqwest::Client::new();
    let mut last = String::new();
    for n in 0..messages {
        let raw = format!(
            "From: Sender {n} <sender{n}@example.org>\r\nTo: {ACCOUNT}\r\nSubject: Benchmark message {n}\r\nDate: Tue, 24 Nov 2026 10:{:02}:{:02} +0000\r\nMessage-ID: <bench-{n}@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nHello, this is message {n} of the benchmark mailbox.\r\n--b\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>Hello, this is message <b>{n}</b> of the benchmark mailbox.</p>\r\n--b--\r\n",
            (n / 60) % 60,
            n % 60
        );
        let reply: Value = http
            .post(format!(
                "{}/_emulator/accounts/{ACCOUNT}/messages",
                emulator.url
            ))
            .json(&json!({"raw": URL_SAFE_NO_PAD.encode(raw)}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        last = reply["id"].as_str().expect("delivered").to_owned();
    }
    last
}

pub async fn run(settings: &Settings, messages: usize) {
    let (ferry_bin, runs) = (settings.ferry.as_str(), settings.runs);
    let duration = Duration::from_secs(settings.duration);
    let emulator = Emulator::start(ferry_bin).await;
    let message = seed(&emulator, messages).await;
    let ferry = Ferry::start(ferry_bin, &emulator).await;
    let grant = emulator.mint_grant(ACCOUNT).await;
    let token = ferry
        .create_instance(json!({
            "element": {"key": "gmail"},
            "externalAuthentication": "initial",
            "name": "bench-gmail",
            "configuration": {
                "oauth.api.key": emulator.client_id,
                "oauth.api.secret": emulator.client_secret,
                "oauth.user.refresh_token": grant.refresh_token,
            }
        }))
        .await;
    let bearer = format!("Bearer {}", grant.access_token);
    let hub = format!("{}, Element {token}", ferry.auth);
    let calls = [
        (
            "messages.list (100 of the mailbox)",
            Load {
                url: format!("{}/gmail/v1/users/me/messages", emulator.url),
                authorization: bearer.clone(),
                headers: Vec::new(),
                body: None,
            },
            Load {
                url: format!("{}/elements/api-v2/messages", ferry.url),
                authorization: hub.clone(),
                headers: Vec::new(),
                body: None,
            },
        ),
        (
            "messages.get (format full)",
            Load {
                url: format!("{}/gmail/v1/users/me/messages/{message}", emulator.url),
                authorization: bearer,
                headers: Vec::new(),
                body: None,
            },
            Load {
                url: format!("{}/elements/api-v2/messages/{message}", ferry.url),
                authorization: hub,
                headers: Vec::new(),
                body: None,
            },
        ),
    ];
    println!("## Gmail: the emulator's throughput and ferry's added latency\n");
    println!(
        "A mailbox of {messages} messages; {runs} runs of {} s per figure, alternating; medians (min–max).\n",
        duration.as_secs()
    );
    println!(
        "| call | concurrency | emulator req/s | emulator p50 | through ferry req/s | ferry p50 | ferry added p50 |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, direct, through_ferry) in &calls {
        for concurrency in [1, 32] {
            let mut direct_runs: Vec<LoadResult> = Vec::new();
            let mut ferry_runs: Vec<LoadResult> = Vec::new();
            for _ in 0..runs {
                direct_runs.push(direct.run(concurrency, duration));
                ferry_runs.push(through_ferry.run(concurrency, duration));
            }
            let p50 = |runs: &[LoadResult]| median(runs.iter().map(|r| r.p50_us));
            println!(
                "| {name} | {concurrency} | {} | {:.0} µs | {} | {:.0} µs | {:.0} µs |",
                spread(direct_runs.iter().map(|r| r.requests_per_second)),
                p50(&direct_runs),
                spread(ferry_runs.iter().map(|r| r.requests_per_second)),
                p50(&ferry_runs),
                p50(&ferry_runs) - p50(&direct_runs),
            );
        }
    }
}
