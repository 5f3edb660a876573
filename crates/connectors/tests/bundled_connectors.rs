//! The bundled connectors' declarative test cases, run by the one generic runner
//! ([`ferry_connectors::cases`], also behind `ferry connectors check DIR`): for every folder
//! `connectors/<key>/` with a `tests.yaml`, its recorded vendor exchanges (`fixtures.yaml`) are
//! served on loopback where the connector's base URL points (by endpoint rewrites), and each
//! case's normalized call must get the expected status, body, next-page token and error. A call
//! the fixtures do not hold fails the case, naming the call.

use axum::Router;
use axum::extract::State;
use axum::routing::any;
use ferry_connectors::cases::{ConnectorCases, rewrites_to};
use ferry_connectors::{Catalog, EndpointRewrites};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn connectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../connectors")
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} cannot be read: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Serves a folder's fixtures on loopback; answers the origin.
async fn serve_fixtures(cases: Arc<ConnectorCases>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .fallback(any(
            |State((cases, origin)): State<(Arc<ConnectorCases>, String)>,
             request: axum::extract::Request| async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let headers: BTreeMap<String, String> = parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
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
                response.body(axum::body::Body::from(body)).unwrap()
            },
        ))
        .with_state((cases, origin.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

#[tokio::test]
async fn every_bundled_connector_passes_its_cases_against_its_fixtures() {
    let mut folders: Vec<PathBuf> = std::fs::read_dir(connectors_dir())
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.join("tests.yaml").exists())
        .collect();
    folders.sort();
    let keys: Vec<String> = folders
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        keys.contains(&"github".to_owned()) && keys.contains(&"jira".to_owned()),
        "{keys:?}"
    );
    let installed = Catalog::embedded(&EndpointRewrites::new()).unwrap();
    let mut failures = Vec::new();
    for (folder, key) in folders.iter().zip(&keys) {
        let cases = Arc::new(ConnectorCases::read(folder).unwrap().unwrap());
        let origin = serve_fixtures(cases.clone()).await;
        let vendor = cases.vendor_origin(&installed, key).unwrap();
        let catalog = Catalog::embedded(&rewrites_to(&vendor, &origin)).unwrap();
        let (run, found) = cases.run(&catalog, key).await;
        assert!(run > 0, "{} has no cases", folder.display());
        failures.extend(found);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn bundled_definitions_without_a_provider_match_the_published_json_schema() {
    let schema = ferry_model::connector::ConnectorDef::json_schema();
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    for key in ["github", "jira"] {
        let path = connectors_dir().join(key).join("connector.yaml");
        let definition: Value = read_yaml(&path);
        let problems: Vec<String> = validator
            .iter_errors(&definition)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(problems.is_empty(), "{key}: {problems:?}");
    }
    let typo = json!({"key": "x", "id": 1, "name": "X", "description": "d", "hub": "general",
        "base_url": "https://x.test", "auth": {"type": "none"}, "resources": [], "sumary": 1});
    assert!(!validator.is_valid(&typo), "unknown fields are refused");
    let api_key = json!({"key": "x", "id": 1, "name": "X", "description": "d", "hub": "general",
        "base_url": "https://x.test", "configuration": [{"key": "k", "name": "K", "kind": "password"}],
        "auth": {"type": "api_key", "in": "header", "name": "X-Key", "field": "k"}, "resources": []});
    assert!(validator.is_valid(&api_key));
}
