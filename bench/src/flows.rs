//! The peers' workload (shared/bench): a webhook → a JavaScript step that builds `{url, body}` from
//! the request → an HTTP POST of that body to a loopback stub → the webhook answers with the HTTP
//! step's result. ferry stores the full history of every execution (trigger + 2 step records).
//!
//! Measured on several set-ups, one after the other, each on fresh processes: SQLite in one
//! process, and with `--database-url` PostgreSQL in one process and `ferry serve --workers 0` next
//! to one or two `ferry worker` processes. A synchronous webhook runs its execution in the process
//! that took the request (it answers with the result), so workers do not share that load; they run
//! queued work. The asynchronous column measures that: the same flow behind an asynchronous
//! webhook (202 at once), loaded at concurrency 32, timed until the queue is empty again.
//!
//! The same hop through a minimal forwarder (webhook in, POST to the stub, its answer back; no
//! engine, no storage) is the machine's practical limit for this workload.

use crate::load::{self, Load, LoadResult, median};
use crate::processes::{Emulator, Ferry, FerryOptions, Forwarder, Postgres, Stub, Worker};
use crate::{Settings, figures};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

pub const BODY: &str = r#"{"subject":"hello","to":"to@example.com","from":"from@example.com","data":{"k":1,"s":"abcdefghij"}}"#;

const SCRIPT: &str = "const b = trigger.body || {};\ndone({url: '/messages', body: {subject: b.subject || 'hello', to: b.to || 'to@example.com', from: b.from || 'from@example.com', data: b.data || {n: 1}}});";

/// How long the queue of the asynchronous run may take to empty before the figure is dropped.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);

/// One way of running ferry for this workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// `ferry serve`, SQLite in its data directory.
    Sqlite,
    /// `ferry serve` on PostgreSQL, running executions itself.
    Postgres,
    /// `ferry serve --workers 0` and this many `ferry worker` processes on PostgreSQL.
    PostgresWorkers(usize),
}

impl Variant {
    pub fn parse(text: &str) -> Result<Variant, String> {
        match text {
            "sqlite" => Ok(Variant::Sqlite),
            "postgres" => Ok(Variant::Postgres),
            other => other
                .strip_prefix("postgres+")
                .and_then(|n| n.strip_suffix('w'))
                .and_then(|n| n.parse().ok())
                .filter(|n| *n > 0)
                .map(Variant::PostgresWorkers)
                .ok_or_else(|| {
                    format!("{other:?}: a set-up is sqlite, postgres or postgres+Nw (N workers)")
                }),
        }
    }

    /// The name in figures: `sqlite`, `postgres`, `postgres+2w`.
    pub fn slug(self) -> String {
        match self {
            Variant::Sqlite => "sqlite".into(),
            Variant::Postgres => "postgres".into(),
            Variant::PostgresWorkers(n) => format!("postgres+{n}w"),
        }
    }

    fn label(self) -> String {
        match self {
            Variant::Sqlite => "ferry, SQLite, one process".into(),
            Variant::Postgres => "ferry, PostgreSQL, one process".into(),
            Variant::PostgresWorkers(1) => {
                "ferry, PostgreSQL, serve (`--workers 0`) + 1 worker".into()
            }
            Variant::PostgresWorkers(n) => {
                format!("ferry, PostgreSQL, serve (`--workers 0`) + {n} workers")
            }
        }
    }

    fn workers(self) -> usize {
        match self {
            Variant::PostgresWorkers(n) => n,
            _ => 0,
        }
    }
}

pub struct FlowsArgs {
    /// PostgreSQL for the `postgres*` set-ups; they are skipped without it.
    pub database_url: Option<String>,
    pub variants: Vec<Variant>,
}

/// The figures of one set-up at one concurrency.
struct Runs {
    runs: Vec<LoadResult>,
}

impl Runs {
    fn measure(load: &Load, concurrency: u32, settings: &Settings) -> Runs {
        Runs {
            runs: (0..settings.runs)
                .map(|_| load.run(concurrency, Duration::from_secs(settings.duration)))
                .collect(),
        }
    }

    fn rps(&self) -> f64 {
        median(self.runs.iter().map(|r| r.requests_per_second))
    }

    fn spread(&self) -> String {
        load::spread(self.runs.iter().map(|r| r.requests_per_second))
    }

    fn p50(&self) -> f64 {
        median(self.runs.iter().map(|r| r.p50_us))
    }

    fn p99(&self) -> f64 {
        median(self.runs.iter().map(|r| r.p99_us))
    }

    fn record(&self, settings: &Settings, prefix: &str) {
        figures::record(
            settings,
            &format!("{prefix}.throughput_rps"),
            self.rps(),
            "req/s",
        );
        figures::record(settings, &format!("{prefix}.p50_us"), self.p50(), "µs");
        figures::record(settings, &format!("{prefix}.p99_us"), self.p99(), "µs");
    }
}

struct Measured {
    variant: Variant,
    c1: Runs,
    c32: Runs,
    async_eps: Option<f64>,
    idle_rss_mb: f64,
    loaded_rss_mb: f64,
    newest: String,
}

pub async fn run(settings: &Settings, args: &FlowsArgs) {
    let stub = Stub::start().await;
    let forwarder = Forwarder::start(&format!("{}/messages", stub.url), "Bearer bench").await;
    let forward = Load {
        url: forwarder.url.clone(),
        authorization: String::new(),
        headers: Vec::new(),
        body: Some(BODY.to_owned()),
    };
    let warm = forward.run(8, Duration::from_secs(2));
    assert!(warm.requests_per_second > 0.0);
    let forward_c1 = Runs::measure(&forward, 1, settings);
    let forward_c32 = Runs::measure(&forward, 32, settings);
    forward_c1.record(settings, "flows.forwarder.c1");
    forward_c32.record(settings, "flows.forwarder.c32");
    drop(forwarder);

    let mut measured = Vec::new();
    let mut skipped = Vec::new();
    for &variant in &args.variants {
        let postgres = match (variant, &args.database_url) {
            (Variant::Sqlite, _) => None,
            (_, Some(url)) => Some(postgres_for(url, variant)),
            (_, None) => {
                skipped.push(variant);
                continue;
            }
        };
        let result = measure(settings, &stub, variant, postgres.as_ref()).await;
        if let Some(postgres) = &postgres {
            drop_schema(postgres).await;
        }
        measured.push(result);
    }

    println!("## Flows: webhook → script → HTTP request, answered synchronously, history stored\n");
    println!(
        "{} runs of {} s each per figure; medians (min–max) of executions/s. ferry stores every \
         execution with its trigger and step records; the forwarder does the same hop with no \
         engine and no storage. \"async\": the same flow behind an asynchronous webhook at \
         concurrency 32, executions/s from the first request until the queue is empty again.\n",
        settings.runs, settings.duration
    );
    println!(
        "| set-up | c=1 exec/s | c=1 p50 | c=32 exec/s | c=32 p50 | c=32 p99 | c=32 of forwarder | async c=32 exec/s | idle RSS | RSS after |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    println!(
        "| minimal forwarder (no engine, no storage) | {} | {:.0} µs | {} | {:.0} µs | {:.0} µs | 100% | – | – | – |",
        forward_c1.spread(),
        forward_c1.p50(),
        forward_c32.spread(),
        forward_c32.p50(),
        forward_c32.p99(),
    );
    for m in &measured {
        println!(
            "| {} | {} | {:.0} µs | {} | {:.0} µs | {:.0} µs | {:.0}% | {} | {:.1} MB | {:.1} MB |",
            m.variant.label(),
            m.c1.spread(),
            m.c1.p50(),
            m.c32.spread(),
            m.c32.p50(),
            m.c32.p99(),
            100.0 * m.c32.rps() / forward_c32.rps(),
            m.async_eps
                .map_or("did not drain".to_owned(), |eps| format!("{eps:.0}")),
            m.idle_rss_mb,
            m.loaded_rss_mb,
        );
    }
    println!();
    for m in &measured {
        println!(
            "- {}: the newest execution, {}, is in the history with its step records.",
            m.variant.label(),
            m.newest
        );
    }
    if !skipped.is_empty() {
        println!(
            "- Not measured (no `--database-url`): {}.",
            skipped
                .iter()
                .map(|v| v.slug())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if measured.iter().any(|m| m.variant.workers() > 0) {
        println!(
            "- With `ferry serve --workers 0`, a synchronous webhook still runs its execution in the \
             serving process (it answers with the result); the worker processes take queued work, \
             which the async column shows."
        );
    }
    println!(
        "- RSS: `ferry serve` (plus its workers) after start-up and three webhook calls, and after \
         the runs.\n"
    );
}

fn postgres_for(url: &str, variant: Variant) -> Postgres {
    let key = ferry_store::MasterKey::generate();
    let master_key = key.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
    let slug = variant.slug().replace('+', "_");
    Postgres {
        url: url.to_owned(),
        schema: format!("ferry_bench_{}_{slug}", std::process::id()),
        master_key,
    }
}

async fn drop_schema(postgres: &Postgres) {
    let mut bytes = [0u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&postgres.master_key[2 * i..2 * i + 2], 16).expect("hex");
    }
    let options = ferry_store::StoreOptions {
        max_connections: 1,
        schema: Some(postgres.schema.clone()),
        ..ferry_store::StoreOptions::default()
    };
    let store = ferry_store::Store::connect(
        &postgres.url,
        &ferry_store::MasterKey::from_bytes(bytes),
        options,
    )
    .await
    .expect("PostgreSQL answers");
    store
        .drop_schema(&postgres.schema)
        .await
        .expect("the benchmark schema is dropped");
    store.close().await;
}

async fn create_instance(ferry: &Ferry, stub: &Stub, synchronous: bool) -> Value {
    let flow = ferry
        .api_post(
            "/formulas",
            json!({
                "name": format!("bench: webhook → script → HTTP ({})", if synchronous { "sync" } else { "async" }),
                "triggers": [{"type": "webhook", "properties": {"synchronous": synchronous}, "onSuccess": ["build"]}],
                "steps": [
                    {"name": "build", "type": "script", "properties": {"body": SCRIPT}, "onSuccess": ["send"]},
                    {"name": "send", "type": "httpRequest", "properties": {"method": "POST", "url": format!("{}${{steps.build.url}}", stub.url), "body": "${steps.build.body}"}}
                ]
            }),
        )
        .await;
    ferry
        .api_post(
            &format!("/formulas/{}/instances", flow["id"]),
            json!({"name": "bench", "configuration": {}}),
        )
        .await
}

fn webhook_load(instance: &Value) -> Load {
    Load {
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
    }
}

async fn measure(
    settings: &Settings,
    stub: &Stub,
    variant: Variant,
    postgres: Option<&Postgres>,
) -> Measured {
    let emulator = Emulator::start(&settings.ferry).await;
    let slug = variant.slug();
    if variant == Variant::Sqlite {
        let startup = Ferry::measure_startup(&settings.ferry, &emulator).await;
        figures::record(
            settings,
            "flows.sqlite.startup_ms",
            startup.as_secs_f64() * 1000.0,
            "ms",
        );
    }
    let options = FerryOptions {
        postgres: postgres.cloned(),
        workers: (variant.workers() > 0).then_some(0),
    };
    let ferry = Ferry::start_with(&settings.ferry, &emulator, &options).await;
    let workers: Vec<Worker> = postgres
        .map(|pg| {
            (0..variant.workers())
                .map(|_| Worker::start(&settings.ferry, pg))
                .collect()
        })
        .unwrap_or_default();
    let rss = |ferry: &Ferry, workers: &[Worker]| {
        (ferry.rss_kib() + workers.iter().map(Worker::rss_kib).sum::<u64>()) as f64 / 1024.0
    };
    let sync_instance = create_instance(&ferry, stub, true).await;
    let async_instance = create_instance(&ferry, stub, false).await;
    let webhook = webhook_load(&sync_instance);

    // Idle the way the peers' scripts measure it: once the flow has answered three times.
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let reply = client
            .post(&webhook.url)
            .header("X-Ferry-Webhook-Secret", &webhook.headers[0].1)
            .header("Content-Type", "application/json")
            .body(BODY)
            .send()
            .await
            .expect("the webhook answers");
        assert!(reply.status().is_success(), "webhook: {}", reply.status());
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_rss_mb = rss(&ferry, &workers);
    figures::record(
        settings,
        &format!("flows.{slug}.idle_rss_mb"),
        idle_rss_mb,
        "MB",
    );

    let warm = webhook.run(8, Duration::from_secs(2));
    assert!(warm.requests_per_second > 0.0);
    let c1 = Runs::measure(&webhook, 1, settings);
    let c32 = Runs::measure(&webhook, 32, settings);
    c1.record(settings, &format!("flows.{slug}.c1"));
    c32.record(settings, &format!("flows.{slug}.c32"));
    let newest = settle(&ferry, &sync_instance).await;

    let async_eps = drain(&ferry, &async_instance, settings).await;
    if let Some(eps) = async_eps {
        figures::record(
            settings,
            &format!("flows.{slug}.async_c32_eps"),
            eps,
            "exec/s",
        );
    }
    let loaded_rss_mb = rss(&ferry, &workers);
    figures::record(
        settings,
        &format!("flows.{slug}.loaded_rss_mb"),
        loaded_rss_mb,
        "MB",
    );
    drop(workers);
    drop(ferry);
    Measured {
        variant,
        c1,
        c32,
        async_eps,
        idle_rss_mb,
        loaded_rss_mb,
        newest,
    }
}

/// The load generator hangs up on the requests in flight when a run ends; those executions still
/// run to their end. Returns the newest execution as "id (status)".
async fn settle(ferry: &Ferry, instance: &Value) -> String {
    let started = Instant::now();
    loop {
        let executions = ferry
            .api_get(&format!(
                "/formulas/instances/{}/executions?pageSize=1",
                instance["id"]
            ))
            .await;
        let last = &executions[0];
        if last["status"] != "pending" || started.elapsed() > Duration::from_secs(30) {
            return format!(
                "{} (`{}`)",
                last["id"],
                last["status"].as_str().unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Loads the asynchronous webhook at concurrency 32 and waits for its queue to empty; executions
/// a second from the first request to the last execution's end.
async fn drain(ferry: &Ferry, instance: &Value, settings: &Settings) -> Option<f64> {
    let load = webhook_load(instance);
    let started = Instant::now();
    let accepted = load.run(32, Duration::from_secs(settings.duration));
    loop {
        let mut busy = false;
        for status in ["queued", "pending"] {
            let page = ferry
                .api_get(&format!(
                    "/formulas/instances/{}/executions?pageSize=1&status={status}",
                    instance["id"]
                ))
                .await;
            busy |= page.as_array().is_some_and(|a| !a.is_empty());
        }
        if !busy {
            return Some(accepted.requests as f64 / started.elapsed().as_secs_f64());
        }
        if started.elapsed() > DRAIN_LIMIT {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_ups_parse_from_their_names() {
        assert_eq!(Variant::parse("sqlite"), Ok(Variant::Sqlite));
        assert_eq!(Variant::parse("postgres"), Ok(Variant::Postgres));
        assert_eq!(
            Variant::parse("postgres+2w"),
            Ok(Variant::PostgresWorkers(2))
        );
        assert!(Variant::parse("postgres+0w").is_err());
        assert!(Variant::parse("mysql").is_err());
        assert_eq!(Variant::PostgresWorkers(1).slug(), "postgres+1w");
    }
}
