//! Declarative test cases of a connector folder, run against recorded vendor exchanges: the one
//! generic runner behind `ferry connectors check DIR` and the bundled connectors' test. A folder
//! holds `tests.yaml` (an instance's configuration and normalized calls with what they must answer)
//! and `fixtures.yaml` (the vendor's recorded requests and replies). The caller serves the fixtures
//! on loopback (through [`FixtureSet::reply`]) and hands the runner that origin; the connector's
//! base URL is pointed there by an endpoint rewrite, so the definition runs unchanged.

use crate::{
    Catalog, ConnectorError, Credentials, CredentialsError, Egress, EgressConfig, EndpointRewrites,
    HubBody, HubRequest, HubResponse, InstanceContext, Runtime,
};
use ferry_model::Secret;
use ferry_model::connector::{ConfigFieldKind, HttpMethod};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

/// One recorded vendor exchange.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fixture {
    pub request: RecordedRequest,
    pub response: RecordedResponse,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// The whole query, exactly.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers the call must carry (names in lower case).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// The JSON body the call must carry.
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordedResponse {
    pub status: u16,
    /// `{origin}` in a value becomes the fixture server's origin.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
}

/// A folder's `tests.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFile {
    pub instance: CaseInstance,
    pub cases: Vec<Case>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseInstance {
    #[serde(default)]
    pub configuration: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub request: CaseRequest,
    pub expect: Expectation,
    /// The same call again with this one's next-page token.
    #[serde(default)]
    pub then: Option<NextPageCase>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextPageCase {
    pub name: String,
    pub expect: Expectation,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRequest {
    pub method: HttpMethod,
    pub path: String,
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Headers the caller sends; the operation's header parameters pick theirs.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    pub status: u16,
    #[serde(default)]
    pub body: Option<Value>,
    /// Whether `Elements-Next-Page-Token` is present.
    #[serde(default)]
    pub next_page: Option<bool>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub provider_message: Option<String>,
    #[serde(default)]
    pub field: Option<String>,
}

/// A folder's fixtures, and the calls no fixture answered.
#[derive(Debug)]
pub struct FixtureSet {
    fixtures: Vec<Fixture>,
    unmatched: Mutex<Vec<String>>,
}

/// A recorded reply to give back.
#[derive(Debug, Clone)]
pub struct FixtureReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl FixtureSet {
    pub fn new(fixtures: Vec<Fixture>) -> Self {
        FixtureSet {
            fixtures,
            unmatched: Mutex::new(Vec::new()),
        }
    }

    /// The recorded reply to a call, or `None` (and the call is remembered as unmatched).
    /// `headers` are the call's headers with lower-case names.
    pub fn reply(
        &self,
        method: &str,
        path: &str,
        raw_query: Option<&str>,
        headers: &BTreeMap<String, String>,
        body: &[u8],
        origin: &str,
    ) -> Option<FixtureReply> {
        let query: BTreeMap<String, String> =
            url::form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let json_body: Option<Value> = serde_json::from_slice(body).ok();
        let found = self.fixtures.iter().find(|fixture| {
            let wanted = &fixture.request;
            wanted.method.eq_ignore_ascii_case(method)
                && wanted.path == path
                && wanted.query == query
                && wanted
                    .headers
                    .iter()
                    .all(|(name, value)| headers.get(&name.to_ascii_lowercase()) == Some(value))
                && wanted
                    .body
                    .as_ref()
                    .is_none_or(|b| Some(b) == json_body.as_ref())
        });
        let Some(fixture) = found else {
            self.unmatched.lock().expect("unmatched list").push(format!(
                "{method} {path}{} {}",
                raw_query.map(|q| format!("?{q}")).unwrap_or_default(),
                String::from_utf8_lossy(body)
            ));
            return None;
        };
        let mut reply_headers: Vec<(String, String)> = fixture
            .response
            .headers
            .iter()
            .map(|(name, value)| (name.clone(), value.replace("{origin}", origin)))
            .collect();
        let body = match &fixture.response.body {
            Some(value) => {
                reply_headers.push(("content-type".into(), "application/json".into()));
                serde_json::to_vec(value).expect("JSON values serialize")
            }
            None => Vec::new(),
        };
        Some(FixtureReply {
            status: fixture.response.status,
            headers: reply_headers,
            body,
        })
    }

    fn unmatched(&self) -> Vec<String> {
        self.unmatched.lock().expect("unmatched list").clone()
    }
}

/// What a folder holds for testing.
#[derive(Debug)]
pub struct ConnectorCases {
    pub cases: CaseFile,
    pub fixtures: FixtureSet,
}

fn read_yaml<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ConnectorError> {
    let location = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConnectorError::InvalidDefinition {
        location: location.clone(),
        message: format!("cannot be read: {e}"),
    })?;
    let value: Value =
        yaml_serde::from_str(&text).map_err(|e| ConnectorError::InvalidDefinition {
            location: location.clone(),
            message: format!("not valid YAML: {e}"),
        })?;
    serde_path_to_error::deserialize(value).map_err(|e| ConnectorError::InvalidDefinition {
        location: format!("{location}: {}", e.path()),
        message: e.into_inner().to_string(),
    })
}

impl ConnectorCases {
    /// Reads `tests.yaml` and `fixtures.yaml` of a folder; `None` when it has no `tests.yaml`.
    pub fn read(folder: &Path) -> Result<Option<ConnectorCases>, ConnectorError> {
        if !folder.join("tests.yaml").exists() {
            return Ok(None);
        }
        let cases: CaseFile = read_yaml(&folder.join("tests.yaml"))?;
        let fixtures: Vec<Fixture> = if folder.join("fixtures.yaml").exists() {
            read_yaml(&folder.join("fixtures.yaml"))?
        } else {
            Vec::new()
        };
        Ok(Some(ConnectorCases {
            cases,
            fixtures: FixtureSet::new(fixtures),
        }))
    }

    /// The vendor origin the instance's calls go to, which the fixtures stand in for.
    pub fn vendor_origin(&self, installed: &Catalog, key: &str) -> Result<String, ConnectorError> {
        let connector = installed.get(key).ok_or_else(|| ConnectorError::NotFound {
            message: format!("no connector {key:?}"),
        })?;
        let mut url = connector.def.base_url.clone();
        for (name, value) in &self.cases.instance.configuration {
            url = url.replace(&format!("{{{name}}}"), value);
        }
        let parsed = url::Url::parse(&url).map_err(|e| ConnectorError::InvalidDefinition {
            location: "tests.yaml: instance.configuration".into(),
            message: format!("the base URL {url:?} it gives is not a URL: {e}"),
        })?;
        Ok(parsed.origin().ascii_serialization())
    }

    /// Runs every case of connector `key` (a connector of `catalog`, whose endpoint rewrites
    /// point its vendor at the fixture server); answers how many calls ran and the failures.
    pub async fn run(&self, catalog: &Catalog, key: &str) -> (usize, Vec<String>) {
        let Some(connector) = catalog.get(key) else {
            return (0, vec![format!("{key}: no such connector")]);
        };
        let (mut plain, mut secrets) = (BTreeMap::new(), BTreeMap::new());
        for (name, value) in &self.cases.instance.configuration {
            match connector.def.configuration_field(name).map(|f| f.kind) {
                Some(ConfigFieldKind::Password) => {
                    secrets.insert(name.clone(), Secret::new(value.clone()));
                }
                _ => {
                    plain.insert(name.clone(), value.clone());
                }
            }
        }
        let instance = InstanceContext {
            instance_id: Some(1),
            account: None,
            configuration: Some(&plain),
            secrets: Some(&secrets),
        };
        let egress = match Egress::new(EgressConfig {
            max_attempts: 1,
            ..EgressConfig::default()
        }) {
            Ok(egress) => egress,
            Err(error) => return (0, vec![error.to_string()]),
        };
        let runtime = Runtime::new(egress);
        let mut failures = Vec::new();
        let mut run = 0;
        for case in &self.cases.cases {
            let mut query: Vec<(String, String)> = case
                .request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let call = |query: Vec<(String, String)>| HubRequest {
                method: case.request.method,
                path: case.request.path.clone(),
                query,
                headers: case
                    .request
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
                body: case
                    .request
                    .body
                    .clone()
                    .map_or(HubBody::Empty, HubBody::Json),
                idempotency_key: None,
            };
            let outcome = runtime
                .invoke(connector, &instance, &NoToken, &call(query.clone()))
                .await;
            run += 1;
            failures.extend(check(key, &case.name, &case.expect, &outcome));
            if let Some(next) = &case.then {
                let Some(token) = outcome.ok().and_then(|r| r.next_page_token) else {
                    failures.push(format!(
                        "{key}: {}: no next-page token to follow",
                        next.name
                    ));
                    continue;
                };
                query.retain(|(name, _)| name != "nextPage");
                query.push(("nextPage".into(), token));
                let outcome = runtime
                    .invoke(connector, &instance, &NoToken, &call(query))
                    .await;
                run += 1;
                failures.extend(check(key, &next.name, &next.expect, &outcome));
            }
        }
        for call in self.fixtures.unmatched() {
            failures.push(format!("{key}: no fixture for {call}"));
        }
        (run, failures)
    }
}

/// Fixtures hold no OAuth tokens: bearer tokens are not sent (API keys and Basic still are).
struct NoToken;

impl Credentials for NoToken {
    async fn access_token(&self) -> Result<Option<Secret>, CredentialsError> {
        Ok(None)
    }

    async fn refresh_after_rejection(&self, _: &Secret) -> Result<Secret, CredentialsError> {
        Err(CredentialsError::Unavailable(
            "fixtures hold no tokens".into(),
        ))
    }
}

/// The endpoint rewrite that sends a connector's vendor origin to the fixture server; build the
/// catalog the cases run against with it.
pub fn rewrites_to(vendor_origin: &str, fixture_origin: &str) -> EndpointRewrites {
    let mut rewrites = EndpointRewrites::new();
    rewrites.add(vendor_origin, fixture_origin);
    rewrites
}

fn check(
    key: &str,
    name: &str,
    expect: &Expectation,
    outcome: &Result<HubResponse, ConnectorError>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let mut fail = |what: String| failures.push(format!("{key}: {name}: {what}"));
    match outcome {
        Ok(response) => {
            if response.status != expect.status {
                fail(format!(
                    "status {} instead of {}",
                    response.status, expect.status
                ));
            }
            if let Some(body) = &expect.body {
                let got = response.json().unwrap_or(Value::Null);
                if &got != body {
                    fail(format!("body {got} instead of {body}"));
                }
            }
            if let Some(more) = expect.next_page
                && response.next_page_token.is_some() != more
            {
                fail(format!(
                    "next-page token {:?}, expected {}",
                    response.next_page_token,
                    if more { "one" } else { "none" }
                ));
            }
        }
        Err(error) => {
            let (status, message, provider_message, field) = match error {
                ConnectorError::Provider {
                    status,
                    message,
                    provider_message,
                    ..
                } => (*status, message.clone(), provider_message.clone(), None),
                ConnectorError::InvalidInput { field, message } => {
                    (400, message.clone(), None, field.clone())
                }
                ConnectorError::NotFound { message } => (404, message.clone(), None, None),
                ConnectorError::NoSuchOperation { .. } => (404, error.to_string(), None, None),
                other => (0, other.to_string(), None, None),
            };
            if status != expect.status {
                fail(format!(
                    "failed with {status} ({message}) instead of answering {}",
                    expect.status
                ));
            }
            if let Some(wanted) = &expect.message
                && wanted != &message
            {
                fail(format!("message {message:?} instead of {wanted:?}"));
            }
            if expect.provider_message.is_some() && expect.provider_message != provider_message {
                fail(format!(
                    "provider message {provider_message:?} instead of {:?}",
                    expect.provider_message
                ));
            }
            if expect.field.is_some() && expect.field != field {
                fail(format!("field {field:?} instead of {:?}", expect.field));
            }
            if expect.body.is_some() {
                fail(format!("failed ({error}) where a body was expected"));
            }
        }
    }
    failures
}
