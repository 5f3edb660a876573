//! Starting a sandbox, following the consent pages' forms, calling the APIs.

use reqwest::{Method, StatusCode};
use scraper::{Html, Selector};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Sandbox {
    /// The ferry process (with the emulator inside in sandbox mode).
    pub(crate) child: Option<Child>,
    /// A separate emulator process, when ferry runs as `ferry serve`.
    pub(crate) emulator_child: Option<Child>,
    pub dir: tempfile::TempDir,
    pub config: Value,
    pub http: reqwest::Client,
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        for child in [self.child.as_mut(), self.emulator_child.as_mut()]
            .into_iter()
            .flatten()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub async fn reply(response: reqwest::Response) -> Reply {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply {
        status,
        headers,
        body,
        text,
    }
}

impl Sandbox {
    pub async fn start() -> Sandbox {
        Sandbox::start_with(&[]).await
    }

    pub async fn start_with(extra: &[&str]) -> Sandbox {
        let dir = tempfile::tempdir().unwrap();
        Sandbox::start_in(dir, extra).await
    }

    pub async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Sandbox {
        Sandbox::start_logging(dir, extra, None).await
    }

    /// Starts with ferry's log at `level` written to [`Sandbox::log_file`].
    pub async fn start_logging(
        dir: tempfile::TempDir,
        extra: &[&str],
        level: Option<&str>,
    ) -> Sandbox {
        let sandbox_json = dir.path().join("sandbox.json");
        // A restart rewrites the file (new ports) and keeps the secrets in it: wait for the change.
        let previous = std::fs::read_to_string(&sandbox_json).ok();
        let mut command = Command::new(env!("CARGO_BIN_EXE_ferry"));
        command
            .args([
                "sandbox",
                "--port",
                "0",
                "--emulator-port",
                "0",
                "--data-dir",
            ])
            .arg(dir.path())
            .args(extra)
            .env("FERRY_LOG", level.unwrap_or("warn"))
            .stdout(Stdio::null());
        match level {
            Some(_) => {
                let log = std::fs::File::create(dir.path().join("ferry.log")).unwrap();
                command.stderr(log)
            }
            None => command.stderr(Stdio::inherit()),
        };
        let child = command.spawn().expect("ferry binary starts");
        let started = Instant::now();
        let config: Value = loop {
            if let Ok(text) = std::fs::read_to_string(&sandbox_json)
                && previous.as_ref() != Some(&text)
                && let Ok(value) = serde_json::from_str(&text)
            {
                break value;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "sandbox did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let sandbox = Sandbox {
            child: Some(child),
            emulator_child: None,
            dir,
            config,
            http,
        };
        loop {
            if let Ok(r) = sandbox
                .http
                .get(format!("{}/health", sandbox.ferry()))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "ferry did not answer"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        sandbox
    }

    /// Stops ferry as an operator would (SIGTERM, so it saves what it keeps) and hands back its
    /// data directory for a restart.
    pub fn stop(mut self) -> tempfile::TempDir {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
        std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap())
    }

    /// Runs `ferry ARGS…` to completion; answers (success, stdout, stderr).
    pub fn ferry_command(&self, args: &[&str]) -> (bool, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
            .args(args)
            .env("FERRY_LOG", "warn")
            .output()
            .expect("ferry runs");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    pub fn ferry(&self) -> String {
        self.config["ferry_url"].as_str().unwrap().to_owned()
    }

    pub fn emulator(&self) -> String {
        self.config["emulator_url"].as_str().unwrap().to_owned()
    }

    pub fn auth(&self) -> String {
        format!(
            "User {}, Organization {}",
            self.config["user_secret"].as_str().unwrap(),
            self.config["organization_secret"].as_str().unwrap()
        )
    }

    pub fn element_auth(&self, token: &str) -> String {
        format!("{}, Element {token}", self.auth())
    }

    pub fn client_id(&self) -> String {
        self.config["oauth_client"]["client_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn client_secret(&self) -> String {
        self.config["oauth_client"]["client_secret"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn redirect_uri(&self) -> String {
        self.config["oauth_client"]["redirect_uri"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn account(&self, index: usize) -> String {
        self.config["accounts"][index].as_str().unwrap().to_owned()
    }

    /// What ferry logged, when started with [`Sandbox::start_logging`].
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("ferry.log")).unwrap_or_default()
    }

    pub fn database(&self) -> PathBuf {
        self.dir.path().join("ferry.db")
    }

    /// A platform call with the User and Organization secrets.
    pub async fn api(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        self.call(method, path, body, &self.auth()).await
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        authorization: &str,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}/elements/api-v2{path}", self.ferry()))
            .header("Authorization", authorization);
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    /// A hub call through an instance token.
    pub async fn hub(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Reply {
        self.call(method, path, body, &self.element_auth(token))
            .await
    }

    /// A hub call with a multipart/form-data body.
    pub async fn hub_form(
        &self,
        method: Method,
        path: &str,
        token: &str,
        form: reqwest::multipart::Form,
    ) -> Reply {
        reply(
            self.http
                .request(method, format!("{}/elements/api-v2{path}", self.ferry()))
                .header("Authorization", self.element_auth(token))
                .multipart(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn emulator_post(&self, path: &str, body: Value) -> Reply {
        reply(
            self.http
                .post(format!("{}{path}", self.emulator()))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    pub async fn token_requests(&self) -> Value {
        let state = reply(
            self.http
                .get(format!("{}/_emulator/state", self.emulator()))
                .send()
                .await
                .unwrap(),
        )
        .await;
        state.body["token_requests"].clone()
    }

    /// The messages of a hosted account, straight from the emulator.
    pub async fn mailbox(&self, account: &str) -> Vec<Value> {
        let reply = reply(
            self.http
                .get(format!(
                    "{}/_emulator/accounts/{account}/messages",
                    self.emulator()
                ))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        let list = if reply.body.is_array() {
            reply.body.clone()
        } else {
            reply.body["messages"].clone()
        };
        list.as_array().cloned().unwrap_or_default()
    }

    /// Follows the emulator's consent pages as a browser would: picks `account`, passes the
    /// unverified-app warning, then submits `decision` ("allow" or "deny") on every consent screen.
    /// Returns the URL the provider finally redirects to.
    pub async fn consent(&self, oauth_url: &str, account: &str, decision: &str) -> String {
        let mut page_url = url::Url::parse(oauth_url).unwrap();
        let mut response = self.http.get(page_url.clone()).send().await.unwrap();
        for _ in 0..12 {
            if response.status().is_redirection() {
                let location = response.headers()["location"].to_str().unwrap().to_owned();
                let target = page_url.join(&location).unwrap();
                if !target.as_str().starts_with(&self.emulator()) {
                    return target.to_string();
                }
                page_url = target;
                response = self.http.get(page_url.clone()).send().await.unwrap();
                continue;
            }
            let status = response.status();
            let html = response.text().await.unwrap();
            assert_eq!(status, StatusCode::OK, "consent page failed: {html}");
            let (action, fields) = submit_choice(&html, account, decision);
            let target = page_url.join(&action).unwrap();
            response = self
                .http
                .post(target.clone())
                .form(&fields)
                .send()
                .await
                .unwrap();
            page_url = target;
        }
        panic!("the consent did not finish in 12 pages");
    }

    /// Hosted consent for a new Gmail instance; returns the instance as ferry shows it.
    pub async fn connect_gmail(&self, name: &str, account: &str) -> Value {
        let started = self
            .api(
                Method::POST,
                "/instances/authorizations",
                Some(json!({
                    "element": {"key": "gmail"},
                    "name": name,
                    "tags": ["e2e"],
                    "configuration": {"oauth.api.key": self.client_id(), "oauth.api.secret": self.client_secret()}
                })),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text);
        let callback = self
            .consent(started.body["oauthUrl"].as_str().unwrap(), account, "allow")
            .await;
        assert!(callback.starts_with(&self.redirect_uri()), "{callback}");
        let page = self.http.get(&callback).send().await.unwrap();
        assert_eq!(
            page.status(),
            StatusCode::OK,
            "{}",
            page.text().await.unwrap()
        );
        let id = started.body["instance"]["id"].as_i64().unwrap();
        let instance = self
            .api(Method::GET, &format!("/instances/{id}"), None)
            .await;
        assert_eq!(instance.body["status"], "active", "{}", instance.text);
        instance.body
    }
}

/// The form of a consent page and the fields to submit for the wanted choice.
fn submit_choice(html: &str, account: &str, decision: &str) -> (String, Vec<(String, String)>) {
    let document = Html::parse_document(html);
    let form_selector = Selector::parse("form").unwrap();
    let input_selector = Selector::parse("input[type=hidden]").unwrap();
    let button_selector = Selector::parse("button[name]").unwrap();
    let form = document
        .select(&form_selector)
        .next()
        .unwrap_or_else(|| panic!("no form in {html}"));
    let action = form.value().attr("action").unwrap_or("").to_owned();
    let mut fields: Vec<(String, String)> = form
        .select(&input_selector)
        .filter_map(|input| {
            Some((
                input.value().attr("name")?.to_owned(),
                input.value().attr("value").unwrap_or("").to_owned(),
            ))
        })
        .collect();
    let buttons: Vec<(String, String)> = form
        .select(&button_selector)
        .map(|b| {
            (
                b.value().attr("name").unwrap().to_owned(),
                b.value().attr("value").unwrap_or("").to_owned(),
            )
        })
        .collect();
    let wanted = buttons
        .iter()
        .find(|(name, value)| name == "account" && value == account)
        .or_else(|| {
            buttons
                .iter()
                .find(|(name, value)| name == "decision" && value == decision)
        })
        .or_else(|| {
            buttons.iter().find(|(name, value)| {
                name == "decision" && (value == "continue" || value == "allow")
            })
        })
        .unwrap_or_else(|| panic!("no button for {account}/{decision} in {buttons:?}"))
        .clone();
    fields.push(wanted);
    (action, fields)
}

/// Runs the shared MIME checker (Python's email package + the RFC 5322 ABNF) on raw messages.
pub fn mimecheck(messages: &[Vec<u8>]) {
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for (index, raw) in messages.iter().enumerate() {
        let path = dir.path().join(format!("message-{index}.eml"));
        std::fs::write(&path, raw).unwrap();
        paths.push(path);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tools/mimecheck.py");
    let output = Command::new("python3").arg(&script).args(&paths).output();
    let output = match output {
        Ok(output) => output,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("mimecheck skipped: python3 unavailable ({error})");
            return;
        }
        Err(error) => panic!("python3 is needed for mimecheck: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if stderr.contains("No module named 'abnf'") && std::env::var("CI").as_deref() != Ok("true") {
        eprintln!("mimecheck skipped: pip install abnf==2.9.1");
        return;
    }
    assert!(output.status.success(), "mimecheck failed to run: {stderr}");
    assert_eq!(
        stdout.matches(": OK").count(),
        messages.len(),
        "MIME problems:\n{stdout}\n{stderr}"
    );
}

pub fn base64url(data: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(data.trim_end_matches('='))
        .unwrap()
}
