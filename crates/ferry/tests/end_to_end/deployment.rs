//! ferry and the Google emulator as separate processes (`ferry serve` + `ferry emulator`), so
//! that ferry can be killed and restarted while the mailboxes live on.

use crate::support::{Sandbox, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CLIENT_ID: &str = "1042-ferry-tests.apps.googleusercontent.com";
const CLIENT_SECRET: &str = "GOCSPX-deployment-tests";
const ACCOUNTS: [&str; 2] = ["ada@example.com", "grace@example.com"];
pub(crate) const GOOGLE: [&str; 4] = [
    "https://accounts.google.com",
    "https://oauth2.googleapis.com",
    "https://gmail.googleapis.com",
    "https://www.googleapis.com",
];

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn wait_until_up(http: &reqwest::Client, url: &str) {
    let started = Instant::now();
    while !http
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{url} did not come up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

impl Sandbox {
    /// Starts the emulator and `ferry serve` (with `ferry_args`) as two processes.
    pub async fn start_separate(ferry_args: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        let emulator_port = free_port();
        let ferry_port = free_port();
        let ferry_url = format!("http://127.0.0.1:{ferry_port}");
        let emulator_url = format!("http://127.0.0.1:{emulator_port}");
        let emulator = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([
                "emulator",
                "--port",
                &emulator_port.to_string(),
                "--client-id",
                CLIENT_ID,
                "--client-secret",
                CLIENT_SECRET,
            ])
            .args(["--redirect-uri", &format!("{ferry_url}/oauth/callback")])
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        wait_until_up(&http, &format!("{emulator_url}/_emulator/health")).await;
        let mut sandbox = Sandbox {
            child: None,
            emulator_child: Some(emulator),
            dir,
            config: json!({
                "ferry_url": ferry_url,
                "emulator_url": emulator_url,
                "oauth_client": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "redirect_uri": format!("{ferry_url}/oauth/callback")},
                "accounts": ACCOUNTS,
                "ferry_args": ferry_args,
            }),
            http,
        };
        sandbox.start_ferry().await;
        sandbox
    }

    /// (Re)starts `ferry serve` on the same port and data directory.
    pub async fn start_ferry(&mut self) {
        let ferry_url = self.ferry();
        let port = ferry_url.rsplit(':').next().unwrap().to_owned();
        let rewrites = GOOGLE
            .iter()
            .map(|o| format!("{o}={}", self.emulator()))
            .collect::<Vec<_>>()
            .join(",");
        let extra: Vec<String> = self.config["ferry_args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_owned())
            .collect();
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(self.dir.path())
            .args(["--endpoint-rewrite", &rewrites])
            .args(&extra)
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(secret) = line.trim().strip_prefix("User secret:") {
                self.config["user_secret"] = json!(secret.trim());
            }
            if let Some(secret) = line.trim().strip_prefix("Organization secret:") {
                self.config["organization_secret"] = json!(secret.trim());
            }
            if line.starts_with("ferry ready") {
                break;
            }
        }
        // Keep reading so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        self.child = Some(child);
        wait_until_up(&self.http, &format!("{ferry_url}/health")).await;
    }

    /// SIGKILL: no graceful shutdown, no released claims.
    pub fn kill_ferry(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// A Gmail instance from a grant minted at the emulator (consent is tested elsewhere).
    pub async fn gmail_instance(&self, account: &str) -> Value {
        let grant = self
            .emulator_post(
                &format!("/_emulator/accounts/{account}/grants"),
                json!({"client_id": CLIENT_ID, "scopes": ["https://mail.google.com/"]}),
            )
            .await;
        assert_eq!(grant.status, StatusCode::CREATED, "{}", grant.text);
        let created = self
            .api(
                Method::POST,
                "/instances",
                Some(json!({
                    "element": {"key": "gmail"},
                    "externalAuthentication": "initial",
                    "name": format!("{account} mail"),
                    "configuration": {
                        "oauth.api.key": CLIENT_ID,
                        "oauth.api.secret": CLIENT_SECRET,
                        "oauth.user.refresh_token": grant.body["refresh_token"],
                    }
                })),
            )
            .await;
        assert_eq!(created.status, StatusCode::OK, "{}", created.text);
        created.body
    }

    /// Delivers a message to a hosted account's inbox; returns its Gmail id.
    pub async fn deliver(&self, to: &str, subject: &str) -> String {
        use base64::Engine;
        let raw = format!(
            "From: Customer <customer@example.org>\r\nTo: {to}\r\nSubject: {subject}\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject}@example.org>\r\n\r\nHello {subject}\r\n"
        );
        let delivered = reply(
            self.http
                .post(format!(
                    "{}/_emulator/accounts/{to}/messages",
                    self.emulator()
                ))
                .json(&json!({"raw": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert!(delivered.status.is_success(), "{}", delivered.text);
        delivered.body["id"].as_str().unwrap().to_owned()
    }
}
