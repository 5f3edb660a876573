//! Several ferry processes on one PostgreSQL database: `ferry serve` takes the calls, `ferry
//! worker` runs the executions, and PostgreSQL's NOTIFY wakes the worker when work is queued.
//! Runs when `FERRY_TEST_DATABASE_URL` is set (CI sets it), in a schema of its own.

use crate::deployment::free_port;
use crate::flow_support::mail_each_number;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct Processes(pub(crate) Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `ferry serve --workers 0` and workers started with `workers` (their own arguments each), on
/// a schema of their own in the test database.
struct Cluster {
    processes: Processes,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
    api: String,
    auth: String,
    database: String,
    schema: String,
}

impl Cluster {
    /// `None` (the test is skipped) without `FERRY_TEST_DATABASE_URL`, which CI sets.
    fn database() -> Option<String> {
        match std::env::var("FERRY_TEST_DATABASE_URL") {
            Ok(database) => Some(database),
            Err(_) => {
                assert_ne!(
                    std::env::var("CI").as_deref(),
                    Ok("true"),
                    "CI=true needs FERRY_TEST_DATABASE_URL"
                );
                eprintln!("scale-out test skipped: FERRY_TEST_DATABASE_URL is not set");
                None
            }
        }
    }

    fn start(database: String, workers: &[&[&str]]) -> Cluster {
        let schema = unique_schema("ferry_scale");
        let key = "5a".repeat(32);
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let env = |command: &mut Command| {
            command
                .env("FERRY_DATABASE_URL", &database)
                .env("FERRY_DATABASE_SCHEMA", &schema)
                .env("FERRY_MASTER_KEY", &key)
                .env("FERRY_DATA_DIR", dir.path())
                .env("FERRY_LOG", "warn");
        };
        let mut serve = Command::new(env!("CARGO_BIN_EXE_ferry"));
        serve
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--workers",
                "0",
            ])
            .stdout(Stdio::piped());
        env(&mut serve);
        let mut serve = serve.spawn().unwrap();
        let mut secrets = (String::new(), String::new());
        for line in BufReader::new(serve.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(user) = line.trim().strip_prefix("User secret:") {
                secrets.0 = user.trim().to_owned();
            }
            if let Some(organization) = line.trim().strip_prefix("Organization secret:") {
                secrets.1 = organization.trim().to_owned();
            }
            if line.starts_with("ferry ready") {
                break;
            }
        }
        assert!(
            !secrets.0.is_empty() && !secrets.1.is_empty(),
            "serve printed the secrets"
        );
        let mut children = vec![serve];
        for arguments in workers {
            let mut worker = Command::new(env!("CARGO_BIN_EXE_ferry"));
            worker.arg("worker").args(*arguments).stdout(Stdio::piped());
            env(&mut worker);
            let mut worker = worker.spawn().unwrap();
            let ready = BufReader::new(worker.stdout.take().unwrap())
                .lines()
                .next()
                .unwrap()
                .unwrap();
            assert_eq!(ready, "ferry worker ready");
            children.push(worker);
        }
        Cluster {
            processes: Processes(children),
            _dir: dir,
            http: reqwest::Client::new(),
            api: format!("http://127.0.0.1:{port}/elements/api-v2"),
            auth: format!("User {}, Organization {}", secrets.0, secrets.1),
            database,
            schema,
        }
    }

    async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.api))
            .header("Authorization", &self.auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // The processes go first: they would otherwise meet a schema that is gone.
        for mut child in std::mem::take(&mut self.processes.0) {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop_schema(&self.database, &self.schema);
    }
}

#[tokio::test]
async fn a_worker_process_runs_what_the_serving_process_queues() {
    let Some(database) = Cluster::database() else {
        return;
    };
    // The serving process runs no executions; the worker looks at the queue only every ten
    // minutes unless something wakes it.
    let cluster = Cluster::start(
        database,
        &[&["--workers", "4", "--queue-poll-seconds", "600"]],
    );
    let (http, api, auth) = (&cluster.http, &cluster.api, cluster.auth.as_str());
    let post = |path: &str, body: Value| {
        http.post(format!("{api}{path}"))
            .header("Authorization", auth)
            .json(&body)
            .send()
    };
    let flow: Value = post(
        "/formulas",
        json!({
            "name": "Counted",
            "triggers": [{"type": "manual", "onSuccess": ["count"]}],
            "steps": [{"name": "count", "type": "script", "properties": {"body": "done({n: trigger.args.n + 1})"}}]
        }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let instance: Value = post(
        &format!("/formulas/{}/instances", flow["id"]),
        json!({"name": "counted", "configuration": {}}),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    // Twice: the first run also shows the worker is listening (it may have been found by the
    // worker's look at the queue once its listener was in place); the second can only have been
    // found through PostgreSQL's NOTIFY, long before the worker's next look of its own.
    for n in [41, 99] {
        let started = post(
            &format!("/formulas/instances/{}/executions", instance["id"]),
            json!({"n": n}),
        )
        .await
        .unwrap();
        assert_eq!(started.status(), StatusCode::OK);
        let started: Value = started.json().await.unwrap();
        let id = &started[0]["id"];
        let waited = Instant::now();
        loop {
            let execution = cluster
                .get(&format!("/formulas/instances/executions/{id}"))
                .await;
            if execution["status"] == "success" {
                break;
            }
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "the worker did not run the execution: {execution}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let steps = cluster
            .get(&format!("/formulas/instances/executions/{id}/steps"))
            .await;
        let count = steps
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["stepName"] == "count")
            .unwrap();
        assert_eq!(count["output"], json!({"n": n + 1}));
    }
}

#[tokio::test]
async fn two_processes_refreshing_one_expired_token_ask_google_once() {
    use crate::support::Sandbox;
    let Ok(database) = std::env::var("FERRY_TEST_DATABASE_URL") else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true needs FERRY_TEST_DATABASE_URL"
        );
        eprintln!("scale-out test skipped: FERRY_TEST_DATABASE_URL is not set");
        return;
    };
    let schema = unique_schema("ferry_refresh");
    let key = "6b".repeat(32);
    let shared = [
        "--database-url",
        database.as_str(),
        "--database-schema",
        schema.as_str(),
        "--master-key",
        key.as_str(),
    ];
    // The emulator and a first `ferry serve`, then a second one on the same database.
    let sandbox = Sandbox::start_separate(&shared).await;
    let rewrites = crate::deployment::GOOGLE
        .iter()
        .map(|o| format!("{o}={}", sandbox.emulator()))
        .collect::<Vec<_>>()
        .join(",");
    let port = free_port();
    let second_dir = tempfile::tempdir().unwrap();
    let mut second = Command::new(env!("CARGO_BIN_EXE_ferry"));
    second
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(second_dir.path())
        .args(["--endpoint-rewrite", &rewrites])
        .args(shared)
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::piped());
    let mut second = second.spawn().unwrap();
    for line in BufReader::new(second.stdout.take().unwrap()).lines() {
        if line.unwrap().starts_with("ferry ready") {
            break;
        }
    }
    let _second = Processes(vec![second]);
    let second_url = format!("http://127.0.0.1:{port}");

    let account = sandbox.account(0);
    let http = reqwest::Client::new();
    let grant: Value = http
        .post(format!(
            "{}/_emulator/accounts/{account}/grants",
            sandbox.emulator()
        ))
        .json(&json!({"client_id": sandbox.client_id(), "scopes": ["https://mail.google.com/"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let instance = sandbox
        .api(
            reqwest::Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": "gmail"},
                "name": "shared",
                "externalAuthentication": "initial",
                "configuration": {
                    "oauth.api.key": sandbox.client_id(),
                    "oauth.api.secret": sandbox.client_secret(),
                    "oauth.user.refresh_token": grant["refresh_token"],
                }
            })),
        )
        .await;
    assert_eq!(instance.status, StatusCode::OK, "{}", instance.text);
    let token = instance.body["token"].as_str().unwrap().to_owned();
    let first = sandbox
        .hub(reqwest::Method::GET, "/labels", &token, None)
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    // The second process holds the instance (with the access token about to be refused) too.
    let warmed = http
        .get(format!("{second_url}/elements/api-v2/labels"))
        .header("Authorization", sandbox.element_auth(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(warmed.status(), StatusCode::OK);

    // Google forgets every access token of the account: the next calls in both processes are
    // refused, and each process wants a new token at once.
    let expired = http
        .post(format!(
            "{}/_emulator/accounts/{account}/expire-tokens",
            sandbox.emulator()
        ))
        .send()
        .await
        .unwrap();
    assert!(expired.status().is_success());
    let before = sandbox.token_requests().await["refresh_token"]
        .as_i64()
        .unwrap();
    let authorization = sandbox.element_auth(&token);
    let calls = (0..16).map(|n| {
        let base = if n % 2 == 0 {
            sandbox.ferry()
        } else {
            second_url.clone()
        };
        let request = http
            .get(format!("{base}/elements/api-v2/labels"))
            .header("Authorization", &authorization)
            .send();
        async move { request.await.unwrap().status() }
    });
    let statuses = futures::future::join_all(calls).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "every call succeeds after one refresh: {statuses:?}"
    );
    let after = sandbox.token_requests().await["refresh_token"]
        .as_i64()
        .unwrap();
    assert_eq!(after - before, 1, "one refresh request for both processes");

    drop_schema(&database, &schema);
}

/// Starts `ferry serve` or `ferry worker` with `arguments` and waits until it says it is ready.
fn spawn_ready(arguments: &[&str]) -> Child {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(arguments)
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.starts_with("ferry ready") || line == "ferry worker ready" {
            return child;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("ferry {arguments:?} ended before it was ready");
}

/// A schema name no other test run uses.
pub(crate) fn unique_schema(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}_{}_{}", std::process::id(), nanos % 1_000_000_000)
}

pub(crate) fn drop_schema(database: &str, schema: &str) {
    let dropped = Command::new("psql")
        .arg(database)
        .args([
            "-q",
            "-c",
            &format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"),
        ])
        .output();
    if let Err(error) = dropped {
        eprintln!("could not drop the test schema {schema}: {error}");
    }
}

/// Sends SIGSTOP, SIGCONT or SIGTERM to a process.
fn signal(name: &str, pid: u32) {
    let sent = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -{name} {pid}");
}

/// One number from a query on the test schema (what the test watches; what it asserts, it reads
/// through ferry's API and the emulator).
fn count(database: &str, schema: &str, query: &str) -> i64 {
    let out = Command::new("psql")
        .arg(database)
        .args(["-At", "-c", query])
        .env("PGOPTIONS", format!("-c search_path={schema}"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{query}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// Every execution of a flow instance, through the API's pages.
async fn all_executions(
    http: &reqwest::Client,
    base: &str,
    auth: &str,
    instance: i64,
) -> Vec<Value> {
    let mut all = Vec::new();
    let mut next = String::new();
    loop {
        let page = http
            .get(format!(
                "{base}/elements/api-v2/formulas/instances/{instance}/executions?pageSize=500&nextPage={next}"
            ))
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let token = page
            .headers()
            .get("Elements-Next-Page-Token")
            .map(|t| t.to_str().unwrap().to_owned());
        let items: Vec<Value> = page.json().await.unwrap();
        let empty = items.is_empty();
        all.extend(items);
        match token {
            Some(token) if !token.is_empty() && !empty => next = token,
            _ => return all,
        }
    }
}

#[tokio::test]
async fn two_servers_and_three_workers_run_five_thousand_executions_once_each_though_workers_die_and_stop()
 {
    use crate::support::Sandbox;
    let Some(database) = Cluster::database() else {
        return;
    };
    const RUNS: usize = 5_000;
    let schema = unique_schema("ferry_cluster");
    let key = "7c".repeat(32);
    let shared = [
        "--database-url",
        database.as_str(),
        "--database-schema",
        schema.as_str(),
        "--master-key",
        key.as_str(),
    ];
    // The emulator and the first `ferry serve`; neither server runs executions.
    let mut first_serve: Vec<&str> = shared.to_vec();
    first_serve.extend(["--workers", "0"]);
    let deployment = Sandbox::start_separate(&first_serve).await;
    let rewrites = crate::deployment::GOOGLE
        .iter()
        .map(|o| format!("{o}={}", deployment.emulator()))
        .collect::<Vec<_>>()
        .join(",");
    let second_port = free_port();
    let second_dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{second_port}");
    let second_dir_text = second_dir.path().to_str().unwrap().to_owned();
    let mut second: Vec<&str> = vec!["serve", "--listen", &listen, "--data-dir", &second_dir_text];
    second.extend(["--endpoint-rewrite", &rewrites, "--workers", "0"]);
    second.extend(shared);
    let mut processes = Processes(vec![spawn_ready(&second)]);
    let servers = [
        deployment.ferry(),
        format!("http://127.0.0.1:{second_port}"),
    ];
    // Three workers with short leases, so a dead one's executions move on within seconds.
    let mut worker: Vec<&str> = vec!["worker", "--endpoint-rewrite", &rewrites];
    // Gmail's per-account budget (2.5 sends a second) would pace this run for half an hour.
    worker.extend([
        "--workers",
        "16",
        "--lease-seconds",
        "3",
        "--vendor-quota",
        "gmail=off",
    ]);
    worker.extend(shared);
    let worker_dirs: Vec<tempfile::TempDir> =
        (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    for dir in &worker_dirs {
        let mut arguments = worker.clone();
        arguments.extend(["--data-dir", dir.path().to_str().unwrap()]);
        processes.0.push(spawn_ready(&arguments));
    }

    let grace = deployment.account(1);
    let gmail = deployment.gmail_instance(&deployment.account(0)).await;
    let flow = deployment.create_flow(mail_each_number(&grace)).await;
    let mailing = deployment
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await["id"]
        .as_i64()
        .unwrap();
    let ticking_flow = deployment
        .create_flow(json!({
            "name": "Every minute",
            "triggers": [{"type": "scheduled", "properties": {"cron": "* * * * *"}, "onSuccess": ["tick"]}],
            "steps": [{"name": "tick", "type": "script", "properties": {"body": "done({at: trigger.scheduledTime});"}}]
        }))
        .await;
    let ticking = deployment
        .create_flow_instance(ticking_flow, json!({}))
        .await["id"]
        .as_i64()
        .unwrap();
    let started = Instant::now();

    // 5,000 manual runs, queued through both servers, 32 at a time, while the workers are
    // paused (SIGSTOP), so that a backlog exists however fast they are.
    let worker_pids: Vec<u32> = processes.0[1..].iter().map(Child::id).collect();
    for pid in &worker_pids {
        signal("STOP", *pid);
    }
    let http = reqwest::Client::new();
    let auth = deployment.auth();
    let queued: Vec<StatusCode> = futures::stream::iter(0..RUNS)
        .map(|n| {
            let request = http
                .post(format!(
                    "{}/elements/api-v2/formulas/instances/{mailing}/executions",
                    servers[n % 2]
                ))
                .header("Authorization", &auth)
                .json(&json!({"n": n}))
                .send();
            async move { request.await.unwrap().status() }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    assert!(
        queued.iter().all(|s| *s == StatusCode::OK),
        "every run was queued"
    );

    for pid in &worker_pids {
        signal("CONT", *pid);
    }

    // Once a fifth has finished, the first worker dies holding claims: it is paused, seen to
    // hold some, and killed.
    let succeeded = format!(
        "SELECT count(*) FROM executions WHERE flow_instance_id = {mailing} AND status = 'success'"
    );
    let victim_pid = worker_pids[0];
    let holding = format!(
        "SELECT count(*) FROM executions WHERE status = 'pending' AND lease_owner LIKE '{victim_pid}-%'"
    );
    loop {
        if count(&database, &schema, &succeeded) >= (RUNS / 5) as i64 {
            signal("STOP", victim_pid);
            if count(&database, &schema, &holding) > 0 {
                break;
            }
            signal("CONT", victim_pid);
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the first worker never held claims while the queue ran"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut victim = processes.0.remove(1);
    victim.kill().unwrap();
    victim.wait().unwrap();
    let orphaned = count(
        &database,
        &schema,
        &format!(
            "SELECT count(*) FROM executions WHERE status = 'pending' AND lease_owner LIKE '{victim_pid}-%'"
        ),
    );
    assert!(
        orphaned > 0,
        "the killed worker held no claims: the test proves nothing"
    );

    // Later a second worker is stopped as an operator stops one (SIGTERM): it finishes what it
    // runs or hands it back, and leaves no claim behind.
    loop {
        if count(&database, &schema, &succeeded) >= (RUNS / 2) as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(240),
            "the workers stopped running the queue"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut stopping = processes.0.remove(1);
    let stopping_pid = stopping.id();
    signal("TERM", stopping_pid);
    let exit = stopping.wait().unwrap();
    assert!(exit.success(), "a stopped worker exits cleanly: {exit}");
    let left = count(
        &database,
        &schema,
        &format!(
            "SELECT count(*) FROM executions WHERE status = 'pending' AND lease_owner LIKE '{stopping_pid}-%'"
        ),
    );
    assert_eq!(left, 0, "the stopped worker left claims behind");

    loop {
        if count(&database, &schema, &succeeded) == RUNS as i64 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "only {} of {RUNS} runs finished",
            count(&database, &schema, &succeeded)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    eprintln!(
        "{RUNS} runs (script + Gmail send) in {:.1} s on 3, then 2, then 1 debug-build workers",
        started.elapsed().as_secs_f64()
    );
    // What a user sees: every run succeeded once, with each step recorded once …
    let executions = all_executions(&http, &servers[1], &auth, mailing).await;
    assert_eq!(executions.len(), RUNS);
    assert!(executions.iter().all(|e| e["status"] == "success"));
    let ids: BTreeSet<i64> = executions
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), RUNS);
    for summary in executions.iter().step_by(97) {
        let execution = deployment
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        let seqs: Vec<i64> = execution["stepExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["seq"].as_i64().unwrap())
            .collect();
        assert_eq!(seqs, [0, 1, 2], "each step recorded once: {execution}");
    }
    // … and each mail arrived exactly once.
    let inbox = deployment.mailbox(&grace).await;
    let numbers: Vec<&str> = inbox
        .iter()
        .filter_map(|m| m["subject"].as_str())
        .filter(|s| s.starts_with("number "))
        .collect();
    let distinct: BTreeSet<&str> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), RUNS, "no mail lost");
    assert_eq!(numbers.len(), RUNS, "no mail sent twice");

    // The schedule, run by every worker (one of them killed), fired once per minute.
    loop {
        let ticks = all_executions(&http, &servers[0], &auth, ticking).await;
        if ticks.iter().filter(|e| e["status"] == "success").count() >= 2 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(420),
            "two minutes' ticks did not both run: {ticks:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut ticks = Vec::new();
    for execution in all_executions(&http, &servers[0], &auth, ticking).await {
        let full = deployment
            .finished_execution(execution["id"].as_i64().unwrap())
            .await;
        ticks.push(
            full["stepExecutions"][0]["output"]["scheduledTime"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let distinct: BTreeSet<&String> = ticks.iter().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick ran twice: {ticks:?}");

    drop(processes);
    drop(deployment);
    drop_schema(&database, &schema);
}

#[tokio::test]
async fn processes_started_together_on_an_empty_database_all_come_up() {
    let Some(database) = Cluster::database() else {
        return;
    };
    let schema = unique_schema("ferry_start");
    let key = "8d".repeat(32);
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // Four workers at the same instant: one creates the schema and migrates, the others wait.
    let starting: Vec<std::thread::JoinHandle<Child>> = dirs
        .iter()
        .map(|dir| {
            let arguments: Vec<String> = [
                "worker",
                "--database-url",
                &database,
                "--database-schema",
                &schema,
                "--master-key",
                &key,
                "--data-dir",
                dir.path().to_str().unwrap(),
            ]
            .iter()
            .map(|a| a.to_string())
            .collect();
            std::thread::spawn(move || {
                let arguments: Vec<&str> = arguments.iter().map(String::as_str).collect();
                spawn_ready(&arguments)
            })
        })
        .collect();
    let processes = Processes(
        starting
            .into_iter()
            .map(|s| s.join().expect("every worker came up"))
            .collect(),
    );
    assert_eq!(processes.0.len(), 4);
    let migrations = count(
        &database,
        &schema,
        "SELECT count(*) FROM _sqlx_migrations WHERE success",
    );
    let files = std::fs::read_dir(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../store/migrations/postgres"
    ))
    .unwrap()
    .count() as i64;
    assert_eq!(migrations, files, "each migration applied once");
    drop(processes);
    drop_schema(&database, &schema);
}
