//! The client commands' connection to a running ferry: where it is and who is asking. By default
//! it reads `sandbox.json` of the data directory, so `ferry sandbox` in one terminal and
//! `ferry flows …` in another work with no settings.

use crate::error::CliError;
use clap::Args;
use reqwest::Method;
use serde_json::Value;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// ferry's address (default: from sandbox.json, else http://127.0.0.1:8080).
    #[arg(long, env = "FERRY_URL")]
    pub url: Option<String>,
    /// `User <secret>, Organization <secret>` (default: from sandbox.json).
    #[arg(long, env = "FERRY_AUTH", hide_env_values = true)]
    pub auth: Option<String>,
    /// Where `ferry sandbox` wrote sandbox.json.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "ferry-data")]
    pub data_dir: PathBuf,
    /// Print the API's JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    auth: String,
    pub json: bool,
}

impl ClientArgs {
    pub fn connect(&self) -> Result<Client, CliError> {
        let sandbox: Option<Value> = std::fs::read_to_string(self.data_dir.join("sandbox.json"))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok());
        let base = self
            .url
            .clone()
            .or_else(|| {
                sandbox
                    .as_ref()
                    .and_then(|s| s["ferry_url"].as_str())
                    .map(str::to_owned)
            })
            .unwrap_or_else(|| "http://127.0.0.1:8080".into());
        let auth = self
            .auth
            .clone()
            .or_else(|| {
                let sandbox = sandbox.as_ref()?;
                Some(format!(
                    "User {}, Organization {}",
                    sandbox["user_secret"].as_str()?,
                    sandbox["organization_secret"].as_str()?
                ))
            })
            .ok_or_else(|| {
                CliError::Config(format!(
                    "no credentials: set FERRY_AUTH='User …, Organization …' or run `ferry sandbox` (which writes {})",
                    self.data_dir.join("sandbox.json").display()
                ))
            })?;
        Ok(Client {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_owned(),
            auth,
            json: self.json,
        })
    }
}

impl Client {
    /// Calls `/elements/api-v2{path}`; a failure answers the API's own message.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, CliError> {
        Ok(self.call_with_headers(method, path, body).await?.0)
    }

    pub async fn call_with_headers(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(Value, reqwest::header::HeaderMap), CliError> {
        let url = format!("{}/elements/api-v2{path}", self.base);
        let mut request = self
            .http
            .request(method, &url)
            .header("Authorization", &self.auth);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| {
            CliError::Config(format!(
                "cannot reach ferry at {}: {}",
                self.base,
                e.without_url()
            ))
        })?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response
            .text()
            .await
            .map_err(|e| CliError::Config(format!("cannot read ferry's answer: {e}")))?;
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            let message = value["message"]
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            let problems = value["problems"]
                .as_array()
                .map(|problems| {
                    problems
                        .iter()
                        .map(|p| format!("\n  - {}", p["message"].as_str().unwrap_or_default()))
                        .collect::<String>()
                })
                .unwrap_or_default();
            return Err(CliError::Config(format!(
                "ferry answered {status}: {message}{problems}"
            )));
        }
        Ok((value, headers))
    }
}
