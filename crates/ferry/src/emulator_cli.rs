//! `ferry emulator …`: run the Google emulator, or drive a running one through its control API —
//! inject faults into an account's Gmail calls, revoke its grants, expire its tokens, and do the
//! developer console's part of the seed (projects, the Gmail API, the consent screen, OAuth
//! clients) from a script.

use crate::error::CliError;
use crate::sandbox::{EmulatorArgs, run_emulator};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct EmulatorCommand {
    #[command(subcommand)]
    action: Option<EmulatorAction>,
    #[command(flatten)]
    serve: EmulatorArgs,
}

#[derive(Args, Debug, Clone)]
struct Target {
    /// The running emulator (`ferry sandbox` writes it to sandbox.env as EMULATOR_URL).
    #[arg(
        long = "emulator",
        env = "EMULATOR_URL",
        default_value = "http://127.0.0.1:8081"
    )]
    url: String,
}

#[derive(Subcommand, Debug)]
enum EmulatorAction {
    /// Make an account's next Gmail calls fail (429 with Retry-After, 500, 503, …) or slow.
    Fault {
        /// The Google account, e.g. ada@example.com.
        account: String,
        /// Answer with this HTTP status (Gmail's error body for it).
        #[arg(long, conflicts_with_all = ["delay_ms", "clear"])]
        status: Option<u16>,
        /// With --status: the Retry-After header, in seconds.
        #[arg(long, requires = "status")]
        retry_after: Option<u64>,
        /// Answer normally, but after this many milliseconds.
        #[arg(long, conflicts_with = "clear")]
        delay_ms: Option<u64>,
        /// How many calls the fault applies to.
        #[arg(long, default_value_t = 1)]
        times: u32,
        /// Drop the account's pending faults instead.
        #[arg(long)]
        clear: bool,
        #[command(flatten)]
        target: Target,
    },
    /// Revoke every grant of an account: its tokens stop working, a refresh answers invalid_grant.
    Revoke {
        account: String,
        #[command(flatten)]
        target: Target,
    },
    /// Expire an account's access tokens now (refresh tokens keep working).
    ExpireTokens {
        account: String,
        #[command(flatten)]
        target: Target,
    },
    /// The developer console: projects, the Gmail API, the consent screen, OAuth clients.
    #[command(subcommand)]
    Project(ProjectAction),
}

#[derive(Subcommand, Debug)]
enum ProjectAction {
    /// List the projects.
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Create a project (its Gmail API starts disabled).
    Create {
        name: String,
        /// The project id (default: made from the name).
        #[arg(long)]
        id: Option<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Enable the Gmail API of a project.
    EnableGmail {
        project: String,
        #[command(flatten)]
        target: Target,
    },
    /// Disable the Gmail API of a project: its tokens get 403 accessNotConfigured.
    DisableGmail {
        project: String,
        #[command(flatten)]
        target: Target,
    },
    /// Configure the OAuth consent screen.
    ConsentScreen {
        project: String,
        #[arg(long)]
        product_name: String,
        #[arg(long, default_value = "")]
        support_email: String,
        /// An authorized domain (repeatable).
        #[arg(long = "authorized-domain")]
        authorized_domains: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
    /// Create an OAuth client of type "Web application"; prints its id and secret.
    CreateClient {
        project: String,
        /// An authorized redirect URI (repeatable).
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
        #[command(flatten)]
        target: Target,
    },
}

pub async fn run(command: EmulatorCommand) -> Result<(), CliError> {
    let Some(action) = command.action else {
        return run_emulator(command.serve).await;
    };
    let (target, method, path, body) = request(action)?;
    let reply = call(&target, method, &path, body).await?;
    if !reply.is_null() {
        println!(
            "{}",
            serde_json::to_string_pretty(&reply).expect("JSON values serialize")
        );
    }
    Ok(())
}

type Request = (Target, reqwest::Method, String, Option<Value>);

fn request(action: EmulatorAction) -> Result<Request, CliError> {
    use reqwest::Method;
    let account_path = |account: &str, what: &str| {
        format!(
            "/_emulator/accounts/{}/{what}",
            url::form_urlencoded::byte_serialize(account.as_bytes()).collect::<String>()
        )
    };
    Ok(match action {
        EmulatorAction::Fault {
            account,
            clear: true,
            target,
            ..
        } => (
            target,
            Method::DELETE,
            account_path(&account, "faults"),
            None,
        ),
        EmulatorAction::Fault {
            account,
            status,
            retry_after,
            delay_ms,
            times,
            target,
            ..
        } => {
            let body = match (status, delay_ms) {
                (Some(status), None) => {
                    json!({"status": status, "retry_after_secs": retry_after, "times": times})
                }
                (None, Some(delay_ms)) => json!({"delay_ms": delay_ms, "times": times}),
                _ => {
                    return Err(CliError::Config(
                        "give --status (with --retry-after) or --delay-ms, or --clear".into(),
                    ));
                }
            };
            (
                target,
                Method::POST,
                account_path(&account, "faults"),
                Some(body),
            )
        }
        EmulatorAction::Revoke { account, target } => {
            (target, Method::POST, account_path(&account, "revoke"), None)
        }
        EmulatorAction::ExpireTokens { account, target } => (
            target,
            Method::POST,
            account_path(&account, "expire-tokens"),
            None,
        ),
        EmulatorAction::Project(project) => project_request(project),
    })
}

fn project_request(action: ProjectAction) -> Request {
    use reqwest::Method;
    let segment =
        |id: &str| url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    match action {
        ProjectAction::List { target } => (target, Method::GET, "/_emulator/projects".into(), None),
        ProjectAction::Create { name, id, target } => (
            target,
            Method::POST,
            "/_emulator/projects".into(),
            Some(json!({"name": name, "project_id": id})),
        ),
        ProjectAction::EnableGmail { project, target } => (
            target,
            Method::POST,
            format!(
                "/_emulator/projects/{}/apis/gmail/enable",
                segment(&project)
            ),
            None,
        ),
        ProjectAction::DisableGmail { project, target } => (
            target,
            Method::POST,
            format!(
                "/_emulator/projects/{}/apis/gmail/disable",
                segment(&project)
            ),
            None,
        ),
        ProjectAction::ConsentScreen {
            project,
            product_name,
            support_email,
            authorized_domains,
            target,
        } => (
            target,
            Method::PUT,
            format!("/_emulator/projects/{}/consent-screen", segment(&project)),
            Some(json!({
                "product_name": product_name,
                "support_email": support_email,
                "authorized_domains": authorized_domains,
            })),
        ),
        ProjectAction::CreateClient {
            project,
            redirect_uris,
            target,
        } => (
            target,
            Method::POST,
            format!("/_emulator/projects/{}/clients", segment(&project)),
            Some(json!({"type": "web", "redirect_uris": redirect_uris})),
        ),
    }
}

/// One control-API call; a refusal becomes an error carrying the emulator's message.
async fn call(
    target: &Target,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, CliError> {
    let url = format!("{}{path}", target.url.trim_end_matches('/'));
    let mut request = reqwest::Client::new().request(method, &url);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let reply = request.send().await.map_err(|e| {
        CliError::Config(format!(
            "the emulator at {} did not answer ({e}); is it running? (--emulator or EMULATOR_URL)",
            target.url
        ))
    })?;
    let status = reply.status();
    let text = reply
        .text()
        .await
        .map_err(|e| CliError::Config(format!("the emulator's answer was cut short: {e}")))?;
    let value: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    if !status.is_success() {
        let message = value["error"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string());
        return Err(CliError::Config(format!(
            "the emulator refused ({status}): {message}"
        )));
    }
    Ok(value)
}
