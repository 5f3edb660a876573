//! `ferry flows …` and `ferry executions …`: flows without curl.

use crate::client::{Client, ClientArgs};
use crate::error::CliError;
use clap::Subcommand;
use reqwest::Method;
use serde_json::{Map, Value, json};
use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Subcommand, Debug)]
pub enum FlowCommand {
    /// Create a flow from a formula JSON file (Cloud Elements' format; exports import unchanged).
    Import {
        file: PathBuf,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// List flows.
    List {
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Write a flow as a formula JSON file (stdout without -o).
    Export {
        flow: i64,
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Create a flow instance: bind the flow's variables (`--set gmail=12 --set greeting=hi`).
    Instantiate {
        flow: i64,
        #[arg(long)]
        name: String,
        /// `key=value`; numbers and JSON are taken as such, anything else as text.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        values: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Start a flow instance with a manual trigger and follow the execution to its end.
    Run {
        flow_instance: i64,
        /// The trigger's arguments (`trigger.args`): JSON, or @FILE.
        #[arg(long, default_value = "{}")]
        args: String,
        /// Only start it; do not wait.
        #[arg(long)]
        no_wait: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ExecutionCommand {
    /// The executions of a flow instance, newest first.
    List {
        flow_instance: i64,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// One execution with its steps; --follow prints steps as they run until it ends.
    Show {
        execution: i64,
        #[arg(long)]
        follow: bool,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Stop a queued or running execution: no further step of it starts.
    Cancel {
        execution: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
    /// Run the flow again with the same input.
    Retry {
        execution: i64,
        #[command(flatten)]
        client: ClientArgs,
    },
}

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn parse_value(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned()))
}

fn read_json_arg(text: &str) -> Result<Value, CliError> {
    let text = match text.strip_prefix('@') {
        Some(path) => {
            std::fs::read_to_string(path).map_err(CliError::io(format!("cannot read {path}")))?
        }
        None => text.to_owned(),
    };
    serde_json::from_str(&text).map_err(|e| CliError::Config(format!("--args is not JSON: {e}")))
}

pub async fn run_flows(command: FlowCommand) -> Result<(), CliError> {
    match command {
        FlowCommand::Import { file, client } => {
            let client = client.connect()?;
            let text = std::fs::read_to_string(&file)
                .map_err(CliError::io(format!("cannot read {}", file.display())))?;
            let flow: Value = serde_json::from_str(&text)
                .map_err(|e| CliError::Config(format!("{} is not JSON: {e}", file.display())))?;
            let created = client.call(Method::POST, "/formulas", Some(&flow)).await?;
            if client.json {
                print_json(&created);
            } else {
                println!(
                    "flow {} {:?} created",
                    created["id"],
                    created["name"].as_str().unwrap_or_default()
                );
            }
        }
        FlowCommand::List { client } => {
            let client = client.connect()?;
            let flows = client
                .call(Method::GET, "/formulas?abridged=true", None)
                .await?;
            if client.json {
                print_json(&flows);
            } else {
                for flow in flows.as_array().into_iter().flatten() {
                    let trigger = flow["triggers"][0]["type"].as_str().unwrap_or("no trigger");
                    println!(
                        "{:>6}  {:<10}  {}",
                        // `Value`'s Display ignores widths; a number's text takes them.
                        flow["id"].to_string(),
                        trigger,
                        flow["name"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        FlowCommand::Export {
            flow,
            output,
            client,
        } => {
            let client = client.connect()?;
            let exported = client
                .call(Method::GET, &format!("/formulas/{flow}/export"), None)
                .await?;
            let text = serde_json::to_string_pretty(&exported).unwrap_or_default();
            match output {
                Some(path) => std::fs::write(&path, text + "\n")
                    .map_err(CliError::io(format!("cannot write {}", path.display())))?,
                None => println!("{text}"),
            }
        }
        FlowCommand::Instantiate {
            flow,
            name,
            values,
            client,
        } => {
            let client = client.connect()?;
            let mut configuration = Map::new();
            for pair in &values {
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| CliError::Config(format!("--set {pair:?} is not KEY=VALUE")))?;
                configuration.insert(key.to_owned(), parse_value(value));
            }
            let body = json!({"name": name, "configuration": configuration});
            let created = client
                .call(
                    Method::POST,
                    &format!("/formulas/{flow}/instances"),
                    Some(&body),
                )
                .await?;
            if client.json {
                print_json(&created);
            } else {
                println!("flow instance {} created", created["id"]);
                if let (Some(url), Some(secret)) = (
                    created["webhookUrl"].as_str(),
                    created["webhookSecret"].as_str(),
                ) {
                    println!(
                        "webhook: POST {url} with header X-Ferry-Webhook-Secret: {secret} (shown only now)"
                    );
                }
            }
        }
        FlowCommand::Run {
            flow_instance,
            args,
            no_wait,
            client,
        } => {
            let client = client.connect()?;
            let args = read_json_arg(&args)?;
            let started = client
                .call(
                    Method::POST,
                    &format!("/formulas/instances/{flow_instance}/executions"),
                    Some(&args),
                )
                .await?;
            let id = started[0]["id"]
                .as_i64()
                .ok_or_else(|| CliError::Config(format!("unexpected answer: {started}")))?;
            if no_wait {
                println!("execution {id} queued");
                return Ok(());
            }
            let status = follow(&client, id).await?;
            if status != "success" {
                return Err(CliError::Config(format!("execution {id} ended {status}")));
            }
        }
    }
    Ok(())
}

fn describe_step(step: &Value) -> String {
    let mut line = format!(
        "  {:>3} {:<24} {:<14} {:<8} {:>8.2} ms",
        step["seq"].to_string(),
        step["stepName"].as_str().unwrap_or_default(),
        step["stepType"].as_str().unwrap_or_default(),
        step["status"].as_str().unwrap_or_default(),
        step["durationMs"].as_f64().unwrap_or_default()
    );
    if let Some(error) = step["error"].as_str() {
        line.push_str(&format!("\n      error: {error}"));
    }
    for entry in step["console"].as_array().into_iter().flatten() {
        line.push_str(&format!(
            "\n      console: {}",
            entry.as_str().unwrap_or_default()
        ));
    }
    if step["seq"] != 0 && step["status"] == "success" {
        let output = step["output"].to_string();
        let shown: String = output.chars().take(160).collect();
        line.push_str(&format!(
            "\n      output: {shown}{}",
            if output.len() > shown.len() {
                "…"
            } else {
                ""
            }
        ));
    }
    line
}

/// Prints steps as they are committed until the execution ends; answers its status.
async fn follow(client: &Client, id: i64) -> Result<String, CliError> {
    let mut printed = HashSet::new();
    let mut announced = false;
    loop {
        let execution = client
            .call(
                Method::GET,
                &format!("/formulas/instances/executions/{id}"),
                None,
            )
            .await?;
        if !announced {
            println!(
                "execution {id} of flow instance {}",
                execution["formulaInstanceId"]
            );
            announced = true;
        }
        for step in execution["stepExecutions"].as_array().into_iter().flatten() {
            if printed.insert(step["id"].as_i64().unwrap_or_default()) {
                println!("{}", describe_step(step));
            }
        }
        let status = execution["status"].as_str().unwrap_or("unknown").to_owned();
        if !matches!(status.as_str(), "queued" | "pending") {
            match execution["error"].as_str() {
                Some(error) => println!("{status}: {error}"),
                None => println!("{status}"),
            }
            return Ok(status);
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

pub async fn run_executions(command: ExecutionCommand) -> Result<(), CliError> {
    match command {
        ExecutionCommand::List {
            flow_instance,
            limit,
            client,
        } => {
            let client = client.connect()?;
            let list = client
                .call(
                    Method::GET,
                    &format!("/formulas/instances/{flow_instance}/executions?pageSize={limit}"),
                    None,
                )
                .await?;
            if client.json {
                print_json(&list);
            } else {
                for execution in list.as_array().into_iter().flatten() {
                    println!(
                        "{:>8}  {:<10} {:<10} {}",
                        execution["id"].to_string(),
                        execution["status"].as_str().unwrap_or_default(),
                        execution["triggerType"].as_str().unwrap_or_default(),
                        execution["createdDate"].as_str().unwrap_or_default()
                    );
                }
            }
        }
        ExecutionCommand::Show {
            execution,
            follow: keep_following,
            client,
        } => {
            let client = client.connect()?;
            if keep_following && !client.json {
                follow(&client, execution).await?;
            } else {
                let found = client
                    .call(
                        Method::GET,
                        &format!("/formulas/instances/executions/{execution}"),
                        None,
                    )
                    .await?;
                if client.json {
                    print_json(&found);
                } else {
                    println!(
                        "execution {execution}: {}",
                        found["status"].as_str().unwrap_or_default()
                    );
                    for step in found["stepExecutions"].as_array().into_iter().flatten() {
                        println!("{}", describe_step(step));
                    }
                }
            }
        }
        ExecutionCommand::Cancel { execution, client } => {
            let client = client.connect()?;
            let body = json!({"status": "cancelled"});
            client
                .call(
                    Method::PATCH,
                    &format!("/formulas/instances/executions/{execution}"),
                    Some(&body),
                )
                .await?;
            println!("execution {execution} cancelled");
        }
        ExecutionCommand::Retry { execution, client } => {
            let client = client.connect()?;
            let retried = client
                .call(
                    Method::PUT,
                    &format!("/formulas/instances/executions/{execution}/retries"),
                    None,
                )
                .await?;
            println!("execution {} started (retry of {execution})", retried["id"]);
        }
    }
    Ok(())
}
