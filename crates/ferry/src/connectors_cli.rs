//! `ferry connectors new NAME` scaffolds a connector folder that passes its own check;
//! `ferry connectors check DIR` validates a folder strictly (errors name file and field) and runs
//! its declarative test cases against its recorded fixtures, served on loopback — the same runner
//! as the bundled connectors' test (`ferry_connectors::cases`).

use crate::error::CliError;
use axum::Router;
use axum::extract::State;
use axum::routing::any;
use ferry_connectors::cases::{ConnectorCases, rewrites_to};
use ferry_connectors::{Catalog, EndpointRewrites};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum ConnectorsCommand {
    /// Write a new connector folder DIR/NAME (connector.yaml, fixtures.yaml, tests.yaml) to edit.
    New(NewArgs),
    /// Validate a connector folder and run its test cases against its fixtures.
    Check(CheckArgs),
}

#[derive(clap::Args)]
pub struct NewArgs {
    /// The connector's key: lowercase letters, digits, '-' and '_'.
    name: String,
    /// Where the folder goes.
    #[arg(long, default_value = "connectors")]
    dir: PathBuf,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// The connector folder (holding connector.yaml).
    dir: PathBuf,
}

pub async fn run(command: ConnectorsCommand) -> Result<(), CliError> {
    match command {
        ConnectorsCommand::New(args) => scaffold(&args),
        ConnectorsCommand::Check(args) => check(&args.dir).await,
    }
}

fn scaffold(args: &NewArgs) -> Result<(), CliError> {
    let key = &args.name;
    if key.is_empty()
        || !key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        return Err(CliError::Config(format!(
            "{key:?} cannot be a connector key: use lowercase letters, digits, '-' and '_'"
        )));
    }
    let folder = args.dir.join(key);
    if folder.exists() {
        return Err(CliError::Config(format!(
            "{} exists; choose another name or remove it",
            folder.display()
        )));
    }
    std::fs::create_dir_all(&folder)
        .map_err(CliError::io(format!("cannot create {}", folder.display())))?;
    let id = 100_000 + (key.bytes().map(u64::from).sum::<u64>() % 800_000) as i64;
    let files = [
        ("connector.yaml", connector_template(key, id)),
        ("fixtures.yaml", FIXTURES_TEMPLATE.to_owned()),
        ("tests.yaml", TESTS_TEMPLATE.replace("CONNECTOR", key)),
    ];
    for (name, text) in files {
        let path = folder.join(name);
        std::fs::write(&path, text)
            .map_err(CliError::io(format!("cannot write {}", path.display())))?;
        println!("{}", path.display());
    }
    println!(
        "Edit the files (docs/connectors.md has the format), then run: ferry connectors check {}",
        folder.display()
    );
    Ok(())
}

fn connector_template(key: &str, id: i64) -> String {
    format!(
        r#"# The {key} connector. The format: docs/connectors.md; its JSON Schema:
# docs/connector-definition.schema.json (served at /connector-definition.schema.json).
key: {key}
id: {id}
name: {key}
description: What the {key} API lets a user do.
hub: general
base_url: https://api.example.com/v1
auth:
  type: api_key
  in: header
  name: X-Api-Key
  field: {key}.api.key

configuration:
  - key: {key}.api.key
    name: API key
    description: The key from the vendor's settings page.
    kind: password
    required: true

errors:
  message: /error/message

resources:
  - operation: listItems
    method: GET
    path: /items
    summary: List items
    tag: items
    vendor: {{ method: GET, path: /items }}
    response:
      root: /items
      when_missing: []
      fields: {{ id: /id, name: /name }}
      pagination: {{ style: page, parameter: page, size_parameter: per_page, default_size: 20 }}

  - operation: getItem
    method: GET
    path: /items/{{id}}
    summary: Get an item
    tag: items
    parameters:
      - {{ name: id, in: path, required: true, pattern: "[0-9]+", description: The item id }}
    vendor: {{ method: GET, path: "/items/{{id}}" }}
    response:
      fields: {{ id: /id, name: /name }}
"#
    )
}

const FIXTURES_TEMPLATE: &str = r#"# Recorded vendor exchanges: the runner serves these where the base URL points.
- request:
    method: GET
    path: /v1/items
    query: { page: "1", per_page: "2" }
    headers: { x-api-key: test-key }
  response:
    status: 200
    body: { items: [{ id: 1, name: First }, { id: 2, name: Second }] }
- request:
    method: GET
    path: /v1/items
    query: { page: "2", per_page: "2" }
    headers: { x-api-key: test-key }
  response:
    status: 200
    body: { items: [{ id: 3, name: Third }] }
- request:
    method: GET
    path: /v1/items/9
    headers: { x-api-key: test-key }
  response:
    status: 404
    body: { error: { message: No item 9 } }
"#;

const TESTS_TEMPLATE: &str = r#"# Declarative test cases: normalized calls and what they must answer.
instance:
  configuration: { CONNECTOR.api.key: test-key }
cases:
  - name: items come a page at a time
    request: { method: GET, path: /items, query: { pageSize: "2" } }
    expect: { status: 200, body: [{ id: 1, name: First }, { id: 2, name: Second }], next_page: true }
    then:
      name: the short last page has no next page
      expect: { status: 200, body: [{ id: 3, name: Third }], next_page: false }
  - name: a missing item is a 404 with the vendor's words
    request: { method: GET, path: /items/9 }
    expect: { status: 404, provider_message: No item 9 }
"#;

async fn check(dir: &Path) -> Result<(), CliError> {
    let folder = dir
        .canonicalize()
        .map_err(CliError::io(format!("cannot open {}", dir.display())))?;
    let key = folder
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let installed = Catalog::embedded_providers(&EndpointRewrites::new())?.with_folder(&folder)?;
    println!("{}: the definition is valid", folder.display());
    let Some(cases) = ConnectorCases::read(&folder)? else {
        println!("{}: no tests.yaml, so no cases ran", folder.display());
        return Ok(());
    };
    let cases = Arc::new(cases);
    let origin = serve_fixtures(cases.clone()).await?;
    let vendor = cases.vendor_origin(&installed, &key)?;
    let catalog =
        Catalog::embedded_providers(&rewrites_to(&vendor, &origin))?.with_folder(&folder)?;
    let (run, failures) = cases.run(&catalog, &key).await;
    if failures.is_empty() {
        println!("{}: {run} calls answered as expected", folder.display());
        Ok(())
    } else {
        for failure in &failures {
            eprintln!("FAILED {failure}");
        }
        Err(CliError::Config(format!(
            "{} of {run} calls did not answer as expected",
            failures.len()
        )))
    }
}

/// Serves a folder's fixtures on a loopback port; answers the origin.
async fn serve_fixtures(cases: Arc<ConnectorCases>) -> Result<String, CliError> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(CliError::io("cannot listen on loopback for the fixtures"))?;
    let origin = format!(
        "http://{}",
        listener
            .local_addr()
            .map_err(CliError::io("cannot read the fixture server's address"))?
    );
    let app = Router::new()
        .fallback(any(reply_from_fixtures))
        .with_state((cases, origin.clone()));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::warn!(error = %error, "the fixture server stopped");
        }
    });
    Ok(origin)
}

async fn reply_from_fixtures(
    State((cases, origin)): State<(Arc<ConnectorCases>, String)>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20)
        .await
        .unwrap_or_default();
    let headers: BTreeMap<String, String> = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    let reply = cases.fixtures.reply(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query(),
        &headers,
        &body,
        &origin,
    );
    let mut response = axum::http::Response::builder();
    let body = match reply {
        Some(reply) => {
            response = response.status(reply.status);
            for (name, value) in reply.headers {
                response = response.header(name, value);
            }
            reply.body
        }
        None => {
            response = response.status(501);
            br#"{"message":"no fixture for this call"}"#.to_vec()
        }
    };
    response
        .body(axum::body::Body::from(body))
        .unwrap_or_default()
}
