//! Cost of what every flow execution asks of the database, on SQLite (a file in a temporary
//! directory, as `ferry serve` keeps it) and, when `FERRY_TEST_DATABASE_URL` is set, on PostgreSQL
//! (in a schema of its own, dropped afterwards):
//!
//! - `execution_write`: the full history of one synchronous execution of the benchmark flow — the
//!   execution row with its trigger record, then two step records (a script, an HTTP request),
//!   each committed with the engine state after it, the last one ending the execution;
//! - `queue`: the queue's own cost per execution — enqueue, claim (with a lease) and complete —
//!   and claim + complete alone (the enqueue untimed).
//!
//! Each iteration waits for its writes, one after the other: the figures are latencies of one
//! caller, not the throughput of many.
//!
//! Run with `cargo bench -p ferry-store --bench executions`
//! (`FERRY_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test` adds PostgreSQL).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use ferry_model::execution::{ExecutionStatus, StepStatus};
use ferry_model::flow::FlowDef;
use ferry_model::{FlowId, FlowInstanceId, OrganizationId, Secret};
use ferry_store::{
    MasterKey, NewExecution, NewFlowInstance, NewStepExecution, NewUser, StepCommit, Store,
    StoreOptions,
};
use serde_json::{Map, Value, json};
use tokio::runtime::Runtime;

const OWNER: &str = "bench-process";
const LEASE_MS: i64 = 60_000;

struct Backend {
    name: &'static str,
    store: Store,
    schema: Option<String>,
    _dir: Option<tempfile::TempDir>,
    organization: OrganizationId,
    flow: FlowId,
    instance: FlowInstanceId,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_millis() as i64
}

async fn backends() -> Vec<Backend> {
    let key = MasterKey::generate();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("ferry.db").display());
    let sqlite = Store::connect(&url, &key, StoreOptions::default())
        .await
        .expect("SQLite opens");
    let mut all = vec![prepare("sqlite", sqlite, None, Some(dir)).await];
    if let Ok(url) = std::env::var("FERRY_TEST_DATABASE_URL") {
        let schema = format!(
            "ferry_bench_{}_{}",
            std::process::id(),
            now_ms() % 1_000_000
        );
        let options = StoreOptions {
            schema: Some(schema.clone()),
            ..StoreOptions::default()
        };
        let store = Store::connect(&url, &key, options)
            .await
            .expect("PostgreSQL at FERRY_TEST_DATABASE_URL");
        all.push(prepare("postgres", store, Some(schema), None).await);
    }
    all
}

/// A tenant, the benchmark flow and one instance of it.
async fn prepare(
    name: &'static str,
    store: Store,
    schema: Option<String>,
    dir: Option<tempfile::TempDir>,
) -> Backend {
    let organization = store
        .create_organization("bench", "bench-org-hash", 1)
        .await
        .expect("organization");
    let user = store
        .create_user(NewUser {
            organization_id: organization.id,
            email: "bench@example.com",
            first_name: "Bench",
            last_name: "Mark",
            secret_hash: "bench-user-hash",
            now_ms: 1,
        })
        .await
        .expect("user");
    let definition: FlowDef = serde_json::from_value(json!({
        "name": "bench",
        "triggers": [{"type": "webhook", "properties": {"synchronous": true}, "onSuccess": ["build"]}],
        "steps": [
            {"name": "build", "type": "script", "properties": {"body": "done({})"}, "onSuccess": ["send"]},
            {"name": "send", "type": "httpRequest", "properties": {"method": "POST", "url": "http://127.0.0.1:9/messages"}}
        ]
    }))
    .expect("a valid flow");
    let flow = store
        .insert_flow(organization.id, user.id, &definition, 1)
        .await
        .expect("flow");
    let instance = store
        .insert_flow_instance(NewFlowInstance {
            organization_id: organization.id,
            flow_id: flow.id,
            name: "bench",
            active: true,
            configuration: &Map::new(),
            settings: &Map::new(),
            webhook_secret: Some(&Secret::new("bench-hook-secret")),
            now_ms: 1,
        })
        .await
        .expect("flow instance");
    Backend {
        name,
        store,
        schema,
        _dir: dir,
        organization: organization.id,
        flow: flow.id,
        instance: instance.id,
    }
}

/// What the benchmark flow stores: a webhook trigger and the two steps' inputs and outputs.
struct Records {
    trigger: Value,
    script_output: Value,
    http_input: Value,
    http_output: Value,
    state_after_script: Value,
    state_after_http: Value,
}

impl Records {
    fn new() -> Records {
        let body = json!({"subject": "hello", "to": "to@example.com", "from": "from@example.com",
                          "data": {"k": 1, "s": "abcdefghij"}});
        let script_output = json!({"url": "/messages", "body": body});
        let http_output = json!({"response": {"code": 200, "headers": {"content-type": "application/json"},
                                 "body": {"id": "m-000001"}}});
        Records {
            trigger: json!({"type": "webhook", "method": "POST",
                            "headers": {"content-type": "application/json", "host": "127.0.0.1"},
                            "query": {}, "body": body}),
            http_input: json!({"method": "POST", "url": "http://127.0.0.1:9/messages", "body": body}),
            state_after_script: json!({"done": ["build"], "outputs": {"build": script_output}}),
            state_after_http: json!({"done": ["build", "send"],
                                     "outputs": {"build": script_output, "send": http_output}}),
            script_output,
            http_output,
        }
    }
}

impl Backend {
    fn new_execution<'a>(
        &self,
        trigger: &'a Value,
        claimed_by: Option<(&'a str, i64)>,
        now: i64,
    ) -> NewExecution<'a> {
        NewExecution {
            organization_id: self.organization,
            flow_id: self.flow,
            flow_instance_id: self.instance,
            trigger_kind: "webhook",
            trigger,
            state: &Value::Null,
            attempt: 1,
            parent_execution_id: None,
            event_id: None,
            object_id: None,
            run_after_ms: now,
            claimed_by,
            now_ms: now,
        }
    }

    /// One synchronous execution's history, written as the engine writes it.
    async fn write_execution(&self, records: &Records) {
        let now = now_ms();
        let execution = self
            .store
            .insert_execution(&self.new_execution(
                &records.trigger,
                Some((OWNER, now + LEASE_MS)),
                now,
            ))
            .await
            .expect("execution inserted");
        let script = NewStepExecution {
            seq: 1,
            step_name: "build",
            step_kind: "script",
            status: StepStatus::Success,
            input: &Value::Null,
            output: &records.script_output,
            console: &[],
            error: None,
            attempts: 1,
            duration_us: 150,
            now_ms: now,
        };
        let http = NewStepExecution {
            seq: 2,
            step_name: "send",
            step_kind: "httpRequest",
            input: &records.http_input,
            output: &records.http_output,
            duration_us: 160,
            ..script
        };
        let first = self
            .store
            .send_step_commits(
                execution.id,
                OWNER,
                &[StepCommit {
                    step: &script,
                    state: &records.state_after_script,
                    ending: None,
                }],
            )
            .await
            .expect("script step sent");
        assert!(first.confirmed().await.expect("script step committed"));
        let applied = self
            .store
            .commit_step(
                execution.id,
                OWNER,
                &StepCommit {
                    step: &http,
                    state: &records.state_after_http,
                    ending: Some((ExecutionStatus::Success, None)),
                },
            )
            .await
            .expect("HTTP step committed");
        assert!(applied);
    }

    async fn enqueue(&self, trigger: &Value) {
        self.store
            .insert_execution(&self.new_execution(trigger, None, now_ms()))
            .await
            .expect("queued");
    }

    async fn claim_and_complete(&self) {
        let now = now_ms();
        let claimed = self
            .store
            .claim_executions(OWNER, now, LEASE_MS, 1)
            .await
            .expect("claimed");
        let execution = claimed.first().expect("one execution in the queue");
        let finished = self
            .store
            .finish_execution(execution.id, OWNER, ExecutionStatus::Success, None, now)
            .await
            .expect("finished");
        assert!(finished);
    }

    async fn finish(self) {
        if let Some(schema) = &self.schema {
            self.store
                .drop_schema(schema)
                .await
                .expect("schema dropped");
        }
        self.store.close().await;
    }
}

fn timed<F: std::future::Future<Output = ()>>(
    runtime: &Runtime,
    iters: u64,
    mut each: impl FnMut() -> F,
) -> Duration {
    runtime.block_on(async {
        let started = Instant::now();
        for _ in 0..iters {
            each().await;
        }
        started.elapsed()
    })
}

fn executions(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let backends = runtime.block_on(backends());
    let records = Records::new();

    let mut group = c.benchmark_group("execution_write");
    for backend in &backends {
        group.bench_function(format!("{}/trigger_and_two_steps", backend.name), |b| {
            b.iter_custom(|iters| timed(&runtime, iters, || backend.write_execution(&records)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("queue");
    for backend in &backends {
        group.bench_function(format!("{}/enqueue_claim_complete", backend.name), |b| {
            b.iter_custom(|iters| {
                timed(&runtime, iters, || async {
                    backend.enqueue(&records.trigger).await;
                    backend.claim_and_complete().await;
                })
            })
        });
        group.bench_function(format!("{}/claim_complete", backend.name), |b| {
            b.iter_custom(|iters| {
                runtime.block_on(async {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        backend.enqueue(&records.trigger).await;
                        let started = Instant::now();
                        backend.claim_and_complete().await;
                        total += started.elapsed();
                    }
                    total
                })
            })
        });
    }
    group.finish();

    runtime.block_on(async {
        for backend in backends {
            backend.finish().await;
        }
    });
}

criterion_group!(benches, executions);
criterion_main!(benches);
