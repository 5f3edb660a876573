//! The runtime against a fake vendor on loopback: pacing under a unit quota, long lists split
//! into several calls, bodies templated from the path, the order of checks, and header
//! parameters (only declared headers reach the vendor, also from a `pre_request` script).

use axum::Router;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::any;
use ferry_connectors::{
    Catalog, ConnectorError, Credentials, CredentialsError, DefinitionSource, Egress, EgressConfig,
    EndpointRewrites, HubBody, HubRequest, InstanceContext, Runtime,
};
use ferry_model::Secret;
use ferry_model::connector::HttpMethod;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

struct NoToken;

impl Credentials for NoToken {
    async fn access_token(&self) -> Result<Option<Secret>, CredentialsError> {
        Ok(None)
    }

    async fn refresh_after_rejection(&self, _: &Secret) -> Result<Secret, CredentialsError> {
        Err(CredentialsError::Unavailable("no auth".into()))
    }
}

/// One request the fake vendor saw.
#[derive(Debug, Clone)]
struct VendorCall {
    uri: String,
    body: String,
    headers: HeaderMap,
}

/// Every request the fake vendor saw, in order.
type Seen = Arc<Mutex<Vec<VendorCall>>>;

async fn vendor() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let app = Router::new()
        .fallback(any(
            |State(seen): State<Seen>, request: axum::extract::Request| async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                seen.lock().unwrap().push(VendorCall {
                    uri: parts.uri.to_string(),
                    body: String::from_utf8_lossy(&body).into_owned(),
                    headers: parts.headers,
                });
                axum::Json(json!({"ok": true}))
            },
        ))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, seen)
}

fn catalog(base_url: &str) -> Catalog {
    let text = format!(
        r#"key: acme
id: 1
name: Acme
description: d
hub: general
base_url: {base_url}
auth: {{type: none}}
quota: {{units_per_minute: 12, per: instance, max_wait_seconds: 0}}
resources:
  - operation: getThing
    method: GET
    path: /things/{{id}}
    summary: s
    parameters: [{{name: id, in: path, required: true, pattern: "[0-9]+", description: The thing id}}]
    vendor: {{method: GET, path: "/v1/things/{{id}}"}}
    quota_cost: 5
  - operation: tagThings
    method: PATCH
    path: /things/multiple
    summary: s
    request_body: {{content: [application/json], required: true, schema: {{type: object, required: [ids], properties: {{ids: {{type: array}}}}}}}}
    vendor: {{method: POST, path: /v1/things/batch, split: {{field: ids, max_items: 2}}}}
    quota_cost: 1
  - operation: sendThing
    method: POST
    path: /things/{{id}}/send
    summary: s
    parameters: [{{name: id, in: path, required: true}}]
    vendor: {{method: POST, path: /v1/things/send, body: {{thing: "{{id}}"}}}}
    quota_cost: 1
"#
    );
    let source = DefinitionSource {
        location: "connectors/acme/connector.yaml".into(),
        text,
    };
    Catalog::from_sources(&[], &[source], &EndpointRewrites::new()).unwrap()
}

fn request(method: HttpMethod, path: &str, body: Option<Value>) -> HubRequest {
    HubRequest {
        method,
        path: path.into(),
        query: Vec::new(),
        headers: Vec::new(),
        body: body.map_or(HubBody::Empty, HubBody::Json),
        idempotency_key: None,
    }
}

#[tokio::test]
async fn calls_over_the_quota_are_refused_before_the_vendor_sees_them() {
    let (url, seen) = vendor().await;
    let catalog = catalog(&url);
    let connector = catalog.get("acme").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let instance = InstanceContext {
        instance_id: Some(7),
        ..InstanceContext::default()
    };
    let other = InstanceContext {
        instance_id: Some(8),
        ..InstanceContext::default()
    };
    let get = request(HttpMethod::Get, "/things/1", None);
    for _ in 0..2 {
        runtime
            .invoke(connector, &instance, &NoToken, &get)
            .await
            .unwrap();
    }
    // 12 units a minute, 5 per call: the third would wait 15 s, and this budget allows no wait.
    match runtime.invoke(connector, &instance, &NoToken, &get).await {
        Err(ConnectorError::RateLimited {
            retry_after_secs, ..
        }) => assert!((14..=15).contains(&retry_after_secs), "{retry_after_secs}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(seen.lock().unwrap().len(), 2);
    // Another instance spends its own budget.
    runtime
        .invoke(connector, &other, &NoToken, &get)
        .await
        .unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn long_lists_are_split_and_bodies_come_from_the_path() {
    let (url, seen) = vendor().await;
    let catalog = catalog(&url);
    let connector = catalog.get("acme").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let instance = InstanceContext::default();
    let tag = request(
        HttpMethod::Patch,
        "/things/multiple",
        Some(json!({"ids": ["1", "2", "3"], "tag": "x"})),
    );
    runtime
        .invoke(connector, &instance, &NoToken, &tag)
        .await
        .unwrap();
    let send = request(HttpMethod::Post, "/things/42/send", None);
    runtime
        .invoke(connector, &instance, &NoToken, &send)
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    let bodies: Vec<Value> = seen
        .iter()
        .map(|call| serde_json::from_str(&call.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            json!({"ids": ["1", "2"], "tag": "x"}),
            json!({"ids": ["3"], "tag": "x"}),
            json!({"thing": "42"})
        ]
    );
    assert_eq!(seen[2].uri, "/v1/things/send");
}

#[tokio::test]
async fn checks_come_before_the_vendor_and_say_what_is_wrong() {
    let (url, seen) = vendor().await;
    let catalog = catalog(&url);
    let connector = catalog.get("acme").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let instance = InstanceContext::default();
    match runtime
        .invoke(
            connector,
            &instance,
            &NoToken,
            &request(HttpMethod::Get, "/things/abc", None),
        )
        .await
    {
        Err(ConnectorError::NotFound { message }) => {
            assert!(
                message.contains("\"abc\" cannot be the thing id"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
    match runtime
        .invoke(
            connector,
            &instance,
            &NoToken,
            &request(
                HttpMethod::Patch,
                "/things/multiple",
                Some(json!({"tag": "x"})),
            ),
        )
        .await
    {
        Err(ConnectorError::InvalidInput { field, .. }) => {
            assert_eq!(field.as_deref(), Some("ids"))
        }
        other => panic!("{other:?}"),
    }
    assert!(seen.lock().unwrap().is_empty());
}

/// A connector whose key goes in `X-Api-Key` and whose one operation declares header parameters:
/// required, renamed for the vendor, with a default, and with allowed values.
fn tagged_catalog(base_url: &str, extra_parameter: &str) -> Result<Catalog, ConnectorError> {
    let text = format!(
        r#"key: tagged
id: 2
name: Tagged
description: d
hub: general
base_url: {base_url}
auth: {{type: api_key, in: header, name: X-Api-Key, field: key}}
configuration: [{{key: key, name: Key, kind: password, required: true}}]
resources:
  - operation: getThing
    method: GET
    path: /things/{{id}}
    summary: s
    parameters:
      - {{name: id, in: path, required: true}}
      - {{name: X-Request-Tag, in: header, required: true}}
      - {{name: X-Locale, in: header, vendor: Accept-Language}}
      - {{name: X-Api-Version, in: header, default: "2024-01"}}
      - {{name: X-Priority, in: header, values: [low, high]}}
{extra_parameter}    vendor: {{method: GET, path: "/v1/things/{{id}}"}}
"#
    );
    let source = DefinitionSource {
        location: "connectors/tagged/connector.yaml".into(),
        text,
    };
    Catalog::from_sources(&[], &[source], &EndpointRewrites::new())
}

fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

#[tokio::test]
async fn only_declared_headers_reach_the_vendor_and_never_over_the_credentials() {
    let (url, seen) = vendor().await;
    let catalog = tagged_catalog(&url, "").unwrap();
    let connector = catalog.get("tagged").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let secrets = std::collections::BTreeMap::from([("key".to_owned(), Secret::new("k-1"))]);
    let instance = InstanceContext {
        secrets: Some(&secrets),
        ..InstanceContext::default()
    };
    let mut get = request(HttpMethod::Get, "/things/7", None);
    get.headers = headers(&[
        ("x-request-tag", "t-1"),
        ("X-LOCALE", "fr"),
        ("X-Api-Key", "evil"),
        ("Authorization", "evil"),
        ("X-Other", "no"),
    ]);
    runtime
        .invoke(connector, &instance, &NoToken, &get)
        .await
        .unwrap();
    let sent = seen.lock().unwrap()[0].headers.clone();
    let values = |name: &str| -> Vec<&str> {
        sent.get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    };
    assert_eq!(values("x-request-tag"), ["t-1"], "{sent:?}");
    assert_eq!(values("accept-language"), ["fr"], "renamed for the vendor");
    assert_eq!(values("x-api-version"), ["2024-01"], "the default");
    assert_eq!(values("x-api-key"), ["k-1"], "the instance's key only");
    for undeclared in ["authorization", "x-other", "x-locale", "x-priority"] {
        assert!(values(undeclared).is_empty(), "{undeclared}: {sent:?}");
    }
}

#[tokio::test]
async fn a_missing_or_wrong_header_is_refused_naming_it_before_the_vendor_is_called() {
    let (url, seen) = vendor().await;
    let catalog = tagged_catalog(&url, "").unwrap();
    let connector = catalog.get("tagged").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let secrets = std::collections::BTreeMap::from([("key".to_owned(), Secret::new("k-1"))]);
    let instance = InstanceContext {
        secrets: Some(&secrets),
        ..InstanceContext::default()
    };
    let cases = [
        (
            headers(&[("X-Other", "t-1")]),
            "X-Request-Tag",
            "header X-Request-Tag is required",
        ),
        (
            headers(&[("X-Request-Tag", "t-1"), ("x-priority", "urgent")]),
            "X-Priority",
            "X-Priority must be one of low, high",
        ),
        (
            headers(&[("X-Request-Tag", "t-1\r\nX-Injected: 1")]),
            "X-Request-Tag",
            "a character a header cannot carry",
        ),
    ];
    for (given, expected_field, expected_message) in cases {
        let mut get = request(HttpMethod::Get, "/things/7", None);
        get.headers = given;
        match runtime.invoke(connector, &instance, &NoToken, &get).await {
            Err(ConnectorError::InvalidInput { field, message }) => {
                assert_eq!(field.as_deref(), Some(expected_field), "{message}");
                assert!(message.contains(expected_message), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn a_header_parameter_cannot_name_the_header_the_api_key_goes_in() {
    let error = tagged_catalog(
        "http://127.0.0.1:1",
        "      - {name: X-Key-Override, in: header, vendor: x-api-key}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(
            "resources[0].parameters[5].vendor: x-api-key carries the connector's API key"
        ),
        "{error}"
    );
}

/// A connector whose operations' `pre_request` scripts read and replace header parameters.
fn hooked_catalog(base_url: &str) -> Catalog {
    let text = format!(
        r#"key: hooked
id: 3
name: Hooked
description: d
hub: general
base_url: {base_url}
auth: {{type: none}}
scripts:
  retag: "done({{headers: {{'X-Request-Tag': [trigger.headers['X-Request-Tag'], trigger.headers['X-Locale'], trigger.headers['X-Api-Version']].join('/'), 'X-Locale': null}}}});"
  sneak: "done({{headers: {{'X-Other': 'from a script'}}}});"
resources:
  - operation: getThing
    method: GET
    path: /things/{{id}}
    summary: s
    parameters:
      - {{name: id, in: path, required: true}}
      - {{name: X-Request-Tag, in: header, required: true}}
      - {{name: X-Locale, in: header, vendor: Accept-Language}}
      - {{name: X-Api-Version, in: header, default: "2024-01"}}
    hooks: {{pre_request: retag}}
    vendor: {{method: GET, path: "/v1/things/{{id}}"}}
  - operation: getOther
    method: GET
    path: /others/{{id}}
    summary: s
    parameters:
      - {{name: id, in: path, required: true}}
      - {{name: X-Request-Tag, in: header}}
    hooks: {{pre_request: sneak}}
    vendor: {{method: GET, path: "/v1/others/{{id}}"}}
"#
    );
    let source = DefinitionSource {
        location: "connectors/hooked/connector.yaml".into(),
        text,
    };
    Catalog::from_sources(&[], &[source], &EndpointRewrites::new()).unwrap()
}

#[tokio::test]
async fn a_pre_request_script_reads_the_header_parameters_and_replaces_their_values() {
    let (url, seen) = vendor().await;
    let catalog = hooked_catalog(&url);
    let connector = catalog.get("hooked").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let mut get = request(HttpMethod::Get, "/things/7", None);
    get.headers = headers(&[
        ("x-request-tag", "t-1"),
        ("X-LOCALE", "fr"),
        ("X-Other", "no"),
    ]);
    runtime
        .invoke(connector, &InstanceContext::default(), &NoToken, &get)
        .await
        .unwrap();
    let sent = seen.lock().unwrap()[0].headers.clone();
    assert_eq!(
        sent.get("x-request-tag").unwrap(),
        "t-1/fr/2024-01",
        "the script saw the caller's values under their declared names, and the default: {sent:?}"
    );
    assert!(
        sent.get("accept-language").is_none(),
        "a header the script left null is not sent: {sent:?}"
    );
    assert_eq!(
        sent.get("x-api-version").unwrap(),
        "2024-01",
        "one it left out keeps its default"
    );
    assert!(sent.get("x-other").is_none(), "{sent:?}");
}

#[tokio::test]
async fn a_pre_request_script_cannot_add_a_header_the_operation_does_not_declare() {
    let (url, seen) = vendor().await;
    let catalog = hooked_catalog(&url);
    let connector = catalog.get("hooked").unwrap();
    let runtime = Runtime::new(Egress::new(EgressConfig::default()).unwrap());
    let get = request(HttpMethod::Get, "/others/7", None);
    match runtime
        .invoke(connector, &InstanceContext::default(), &NoToken, &get)
        .await
    {
        Err(ConnectorError::ScriptFailed { script, message }) => {
            assert_eq!(script, "sneak");
            assert!(
                message.contains("headers.X-Other is not a header parameter of this operation (declared: X-Request-Tag)"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(seen.lock().unwrap().is_empty());
}
