//! The processes under test: the Google emulator and `ferry serve`, on free loopback ports.

use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "1042-ferry-sandbox.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "bench-client-secret";
const GOOGLE_ORIGINS: [&str; 4] = [
    "https://accounts.google.com",
    "https://oauth2.googleapis.com",
    "https://gmail.googleapis.com",
    "https://www.googleapis.com",
];

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_for(url: &str) {
    let started = Instant::now();
    while !reqwest::get(url)
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

pub struct Emulator {
    child: Child,
    pub url: String,
    pub client_id: String,
    pub client_secret: String,
    ferry_port: u16,
}

pub struct Grant {
    pub access_token: String,
    pub refresh_token: String,
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Emulator {
    pub async fn start(ferry_bin: &str) -> Emulator {
        let port = free_port();
        let ferry_port = free_port();
        let child = Command::new(ferry_bin)
            .args([
                "emulator",
                "--port",
                &port.to_string(),
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
            ])
            .args([
                "--redirect-uri",
                &format!("http://127.0.0.1:{ferry_port}/oauth/callback"),
            ])
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("the ferry binary exists (cargo build --release -p ferry)");
        let url = format!("http://127.0.0.1:{port}");
        wait_for(&format!("{url}/_emulator/health")).await;
        Emulator {
            child,
            url,
            client_id: CLIENT_ID.into(),
            client_secret: CLIENT_SECRET.into(),
            ferry_port,
        }
    }

    pub async fn mint_grant(&self, account: &str) -> Grant {
        let issued: Value = reqwest::Client::new()
            .post(format!("{}/_emulator/accounts/{account}/grants", self.url))
            .json(&json!({"client_id": self.client_id, "scopes": ["https://mail.google.com/"]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Grant {
            access_token: issued["access_token"].as_str().unwrap().into(),
            refresh_token: issued["refresh_token"].as_str().unwrap().into(),
        }
    }

    fn rewrites(&self) -> String {
        GOOGLE_ORIGINS
            .iter()
            .map(|origin| format!("{origin}={}", self.url))
            .collect::<Vec<_>>()
            .join(",")
    }
}

pub struct Ferry {
    child: Child,
    _dir: tempfile::TempDir,
    pub url: String,
    pub auth: String,
}

impl Drop for Ferry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A PostgreSQL database shared by `ferry serve` and `ferry worker` processes: its URL, the
/// schema of this run (`FERRY_DATABASE_SCHEMA`) and the master key they all need.
#[derive(Clone)]
pub struct Postgres {
    pub url: String,
    pub schema: String,
    pub master_key: String,
}

impl Postgres {
    fn apply(&self, command: &mut Command) {
        command
            .env("FERRY_DATABASE_URL", &self.url)
            .env("FERRY_DATABASE_SCHEMA", &self.schema)
            .env("FERRY_MASTER_KEY", &self.master_key);
    }
}

/// Where `ferry serve` keeps its data and how many executions it runs itself.
#[derive(Clone, Default)]
pub struct FerryOptions {
    /// `None`: SQLite in the data directory.
    pub postgres: Option<Postgres>,
    /// `--workers` (`None`: ferry's default).
    pub workers: Option<usize>,
}

impl Ferry {
    fn spawn(
        ferry_bin: &str,
        emulator: &Emulator,
        port: u16,
        dir: &std::path::Path,
        options: &FerryOptions,
    ) -> Child {
        let mut command = Command::new(ferry_bin);
        command
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .args(["--endpoint-rewrite", &emulator.rewrites()])
            // The emulator has no quota to protect; pacing would measure Gmail's budget, not ferry.
            .args(["--vendor-quota", "gmail=off"])
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::piped());
        if let Some(postgres) = &options.postgres {
            postgres.apply(&mut command);
        }
        if let Some(workers) = options.workers {
            command.args(["--workers", &workers.to_string()]);
        }
        command.spawn().expect("the ferry binary exists")
    }

    pub async fn start(ferry_bin: &str, emulator: &Emulator) -> Ferry {
        Ferry::start_with(ferry_bin, emulator, &FerryOptions::default()).await
    }

    pub async fn start_with(ferry_bin: &str, emulator: &Emulator, options: &FerryOptions) -> Ferry {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Ferry::spawn(
            ferry_bin,
            emulator,
            emulator.ferry_port,
            dir.path(),
            options,
        );
        let stdout = child.stdout.take().unwrap();
        let mut user = None;
        let mut organization = None;
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            if let Some(secret) = line.trim().strip_prefix("User secret:") {
                user = Some(secret.trim().to_owned());
            }
            if let Some(secret) = line.trim().strip_prefix("Organization secret:") {
                organization = Some(secret.trim().to_owned());
            }
            if line.starts_with("ferry ready") {
                break;
            }
        }
        let url = format!("http://127.0.0.1:{}", emulator.ferry_port);
        wait_for(&format!("{url}/health")).await;
        Ferry {
            child,
            _dir: dir,
            url,
            auth: format!(
                "User {}, Organization {}",
                user.expect("secrets printed"),
                organization.expect("secrets printed")
            ),
        }
    }

    /// Median time from spawning `ferry serve` on a fresh data directory to its first answer.
    pub async fn measure_startup(ferry_bin: &str, emulator: &Emulator) -> Duration {
        let mut times = Vec::new();
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            let started = Instant::now();
            let mut child = Ferry::spawn(
                ferry_bin,
                emulator,
                port,
                dir.path(),
                &FerryOptions::default(),
            );
            wait_for(&format!("http://127.0.0.1:{port}/health")).await;
            times.push(started.elapsed());
            let _ = child.kill();
            let _ = child.wait();
        }
        times.sort();
        times[times.len() / 2]
    }

    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    pub async fn create_instance(&self, body: Value) -> String {
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/elements/api-v2/instances", self.url))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        reply["token"]
            .as_str()
            .unwrap_or_else(|| panic!("instance not created: {reply}"))
            .to_owned()
    }
}

/// Resident memory of a process, from `/proc` (0 when it is gone).
pub fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A `ferry worker` process: runs the shared queue, serves nothing.
pub struct Worker {
    child: Child,
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Worker {
    pub fn start(ferry_bin: &str, postgres: &Postgres) -> Worker {
        let dir = std::env::temp_dir();
        let mut command = Command::new(ferry_bin);
        command
            .arg("worker")
            .arg("--data-dir")
            .arg(dir)
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::piped());
        postgres.apply(&mut command);
        let mut child = command.spawn().expect("the ferry binary exists");
        let stdout = child.stdout.take().unwrap();
        let ready = BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.starts_with("ferry worker ready"));
        assert!(ready, "ferry worker did not start");
        Worker { child }
    }

    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }
}

pub struct Forwarder {
    child: Child,
    pub url: String,
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Forwarder {
    pub async fn start(upstream: &str, authorization: &str) -> Forwarder {
        let port = free_port();
        let child = Command::new(std::env::current_exe().unwrap())
            .args([
                "forward",
                "--port",
                &port.to_string(),
                "--upstream",
                upstream,
                "--authorization",
                authorization,
            ])
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}/");
        // Any answer will do: a flow's stub answers only POSTs.
        let started = Instant::now();
        while reqwest::get(&url).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "the forwarder did not start"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        Forwarder { child, url }
    }
}

/// The loopback target of HTTP steps (this binary's `stub` command).
pub struct Stub {
    child: Child,
    pub url: String,
}

impl Drop for Stub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stub {
    pub async fn start() -> Stub {
        let port = free_port();
        let child = Command::new(std::env::current_exe().unwrap())
            .args(["stub", "--port", &port.to_string()])
            .spawn()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::Client::new()
            .post(format!("{url}/ping"))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "the stub did not start"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        Stub { child, url }
    }
}

impl Ferry {
    pub async fn api_post(&self, path: &str, body: Value) -> Value {
        let reply: Value = reqwest::Client::new()
            .post(format!("{}/elements/api-v2{path}", self.url))
            .header("Authorization", &self.auth)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert!(reply.get("code").is_none(), "{path}: {reply}");
        reply
    }

    pub async fn api_get(&self, path: &str) -> Value {
        reqwest::Client::new()
            .get(format!("{}/elements/api-v2{path}", self.url))
            .header("Authorization", &self.auth)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}
