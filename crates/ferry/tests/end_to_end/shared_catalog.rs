//! Two `ferry serve` processes on one PostgreSQL database share the connectors users add: a
//! definition added through one (`POST /elements`) is, with no restart, in the other's catalog,
//! which makes an instance of it and calls the vendor through it; a replaced definition (`PUT`)
//! and a deleted one (`DELETE`, once no instance uses it) reach the other process the same way,
//! and connectors added at the same moment in both get ids of their own. Runs when
//! `FERRY_TEST_DATABASE_URL` is set (CI sets it), in a schema of its own. (A SQLite file belongs
//! to one process, so there is no SQLite variant.)

use crate::deployment::free_port;
use crate::notes_service::start_service;
use crate::scale_out::{Processes, drop_schema, unique_schema};
use crate::support::{Reply, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a process may take to notice another's change: it looks every 2 s, on a machine that
/// may be busy with other builds.
const NOTICE_WITHIN: Duration = Duration::from_secs(20);

/// `ferry serve` processes on one database schema, and what they keep on disk.
struct SharedDatabase {
    database: String,
    schema: String,
    master_key: String,
    processes: Processes,
    data_dirs: Vec<tempfile::TempDir>,
}

impl SharedDatabase {
    /// One more `ferry serve`; answers its API's base URL and, from the process that made the
    /// first user, that user's `Authorization`.
    fn serve(&mut self) -> (String, Option<String>) {
        let port = free_port();
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir.path())
            .args(["--database-url", &self.database])
            .args(["--database-schema", &self.schema])
            .args(["--master-key", &self.master_key, "--workers", "0"])
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut secrets = (String::new(), String::new());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        for line in lines.by_ref() {
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
        // Keep reading so the process never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.processes.0.push(child);
        self.data_dirs.push(dir);
        let auth = (!secrets.0.is_empty())
            .then(|| format!("User {}, Organization {}", secrets.0, secrets.1));
        (format!("http://127.0.0.1:{port}/elements/api-v2"), auth)
    }
}

impl Drop for SharedDatabase {
    fn drop(&mut self) {
        // The processes go first: they would otherwise meet a schema that is gone.
        for mut child in std::mem::take(&mut self.processes.0) {
            let _ = child.kill();
            let _ = child.wait();
        }
        drop_schema(&self.database, &self.schema);
    }
}

async fn call(
    http: &reqwest::Client,
    method: Method,
    url: String,
    authorization: &str,
    body: Option<Value>,
) -> Reply {
    let mut request = http
        .request(method, url)
        .header("Authorization", authorization);
    if let Some(body) = body {
        request = request.json(&body);
    }
    reply(request.send().await.unwrap()).await
}

/// Asks `ask` until `done` holds for its answer; fails after [`NOTICE_WITHIN`] naming `what`.
async fn eventually<F, Fut>(what: &str, ask: F, done: impl Fn(&Reply) -> bool) -> Reply
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Reply>,
{
    let started = Instant::now();
    loop {
        let answer = ask().await;
        if done(&answer) {
            eprintln!("{what}: after {} ms", started.elapsed().as_millis());
            return answer;
        }
        assert!(
            started.elapsed() < NOTICE_WITHIN,
            "{what}: not within {NOTICE_WITHIN:?}; last answer {} {}",
            answer.status,
            answer.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An API-key connector of the loopback notes service, whose base URL names each instance's
/// tenant.
fn stats_definition(origin: &str) -> Value {
    json!({
        "key": "tenant-stats", "name": "Tenant stats", "description": "Notes counted per tenant.",
        "hub": "general",
        "base_url": format!("{origin}/tenants/{{stats.tenant}}"),
        "auth": {"type": "api_key", "in": "query", "name": "api_key", "field": "stats.key"},
        "errors": {"message": "/fault/detail"},
        "configuration": [
            {"key": "stats.tenant", "name": "Tenant", "required": true},
            {"key": "stats.key", "name": "API key", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getStats", "method": "GET", "path": "/stats", "summary": "Stats",
            "vendor": {"method": "GET", "path": "/stats"}
        }]
    })
}

#[tokio::test]
async fn a_connector_added_in_one_process_is_used_replaced_and_deleted_in_another() {
    let Ok(database) = std::env::var("FERRY_TEST_DATABASE_URL") else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true needs FERRY_TEST_DATABASE_URL"
        );
        eprintln!("shared-catalog test skipped: FERRY_TEST_DATABASE_URL is not set");
        return;
    };
    let (origin, _service) = start_service().await;
    let mut shared = SharedDatabase {
        database,
        schema: unique_schema("ferry_catalog"),
        master_key: "7c".repeat(32),
        processes: Processes(Vec::new()),
        data_dirs: Vec::new(),
    };
    let (a, auth) = shared.serve();
    let (b, _) = shared.serve();
    let auth = auth.expect("the first process made the first user");
    let http = reqwest::Client::new();
    let in_b = |method: Method, path: &str, body: Option<Value>| {
        call(&http, method, format!("{b}{path}"), &auth, body)
    };
    let before = in_b(Method::GET, "/elements/tenant-stats", None).await;
    assert_eq!(before.status, StatusCode::NOT_FOUND, "{}", before.text);

    // Added in A: B's catalog has it without a restart, and B makes an instance that works.
    let added = call(
        &http,
        Method::POST,
        format!("{a}/elements"),
        &auth,
        Some(stats_definition(&origin)),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let keys = eventually(
        "B lists the connector A added",
        || in_b(Method::GET, "/elements/keys", None),
        |keys| {
            keys.body
                .as_array()
                .unwrap()
                .contains(&json!("tenant-stats"))
        },
    )
    .await;
    assert!(keys.body.as_array().unwrap().contains(&json!("github")));
    let instance = in_b(
        Method::POST,
        "/instances",
        Some(json!({
            "element": {"key": "tenant-stats"}, "name": "Stats of acme",
            "configuration": {"stats.tenant": "acme", "stats.key": "k-acme"}
        })),
    )
    .await;
    assert_eq!(instance.status, StatusCode::OK, "{}", instance.text);
    assert_eq!(instance.body["configuration"]["stats.key"], "********");
    let element = format!(
        "{auth}, Element {}",
        instance.body["token"].as_str().unwrap()
    );
    let hub_b = |path: &str| call(&http, Method::GET, format!("{b}{path}"), &element, None);
    let stats = hub_b("/hubs/general/stats").await;
    assert_eq!(stats.status, StatusCode::OK, "{}", stats.text);
    assert_eq!(stats.body, json!({"tenant": "acme", "notes": 7}));
    let not_yet = hub_b("/hubs/general/stats/notes").await;
    assert_eq!(not_yet.status, StatusCode::NOT_FOUND, "{}", not_yet.text);

    // Replaced in A with a new operation: B answers it.
    let mut changed = stats_definition(&origin);
    changed["resources"].as_array_mut().unwrap().push(json!({
        "operation": "countNotes", "method": "GET", "path": "/stats/notes", "summary": "How many notes",
        "vendor": {"method": "GET", "path": "/stats"},
        "response": {"fields": {"count": "/notes"}}
    }));
    let replaced = call(
        &http,
        Method::PUT,
        format!("{a}/elements/tenant-stats"),
        &auth,
        Some(changed),
    )
    .await;
    assert_eq!(replaced.status, StatusCode::OK, "{}", replaced.text);
    let counted = eventually(
        "B answers the operation A's replacement added",
        || hub_b("/hubs/general/stats/notes"),
        |counted| counted.status == StatusCode::OK,
    )
    .await;
    assert_eq!(counted.body, json!({"count": 7}));

    // Deleting it in A is refused while B's instance uses it; nothing is lost.
    let refused = call(
        &http,
        Method::DELETE,
        format!("{a}/elements/tenant-stats"),
        &auth,
        None,
    )
    .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.text);
    assert_eq!(
        refused.body["message"],
        "the tenant-stats connector still has 1 instance; delete it first (DELETE /instances/{id}), then the connector"
    );
    let still = hub_b("/hubs/general/stats").await;
    assert_eq!(still.status, StatusCode::OK, "{}", still.text);

    // Once the instance is deleted in B, A deletes the connector and B forgets it.
    let instance_deleted = in_b(
        Method::DELETE,
        &format!("/instances/{}", instance.body["id"]),
        None,
    )
    .await;
    assert_eq!(
        instance_deleted.status,
        StatusCode::OK,
        "{}",
        instance_deleted.text
    );
    let deleted = call(
        &http,
        Method::DELETE,
        format!("{a}/elements/tenant-stats"),
        &auth,
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    let gone = eventually(
        "B forgets the connector A deleted",
        || in_b(Method::GET, "/elements/tenant-stats", None),
        |gone| gone.status == StatusCode::NOT_FOUND,
    )
    .await;
    assert!(gone.text.contains("tenant-stats"), "{}", gone.text);

    // Two connectors added without ids at the same moment, one in each process, both get one
    // of their own (each process used to choose the next id from the catalog it had loaded, so
    // both chose the same and the second add was refused).
    let mut first = stats_definition(&origin);
    first["key"] = json!("stats-first");
    let mut second = stats_definition(&origin);
    second["key"] = json!("stats-second");
    let (in_a, in_b_too) = tokio::join!(
        call(
            &http,
            Method::POST,
            format!("{a}/elements"),
            &auth,
            Some(first)
        ),
        call(
            &http,
            Method::POST,
            format!("{b}/elements"),
            &auth,
            Some(second)
        ),
    );
    assert_eq!(in_a.status, StatusCode::OK, "{}", in_a.text);
    assert_eq!(in_b_too.status, StatusCode::OK, "{}", in_b_too.text);
    assert_ne!(in_a.body["id"], in_b_too.body["id"]);
}
