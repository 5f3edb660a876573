//! A small REST service and OAuth2 authorization server that the connector builder's tests start
//! on loopback: notes (page-numbered lists with a total, a change clock for polling, errors in a
//! `fault` envelope), a per-tenant API-key endpoint (whose tenant `down` always fails), an HTTP
//! Basic endpoint naming its account, an endpoint that echoes the headers it received, and an
//! authorization server that consents at once, checks PKCE, and issues tokens by the code,
//! refresh and client-credentials grants. The test holds its state and changes it as another
//! client of the service would.

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode as AxumStatus};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

pub(crate) const CLIENT_ID: &str = "notes-client";
pub(crate) const CLIENT_SECRET: &str = "notes-secret";
/// The user name and password the Basic endpoint takes.
pub(crate) const BASIC_USER: &str = "ada@notes.test";
pub(crate) const BASIC_PASSWORD: &str = "open-sesame";

/// The service's state: notes, the tokens it accepts, what the authorization server issued.
#[derive(Default)]
pub(crate) struct Service {
    pub(crate) notes: BTreeMap<u64, Value>,
    pub(crate) next_id: u64,
    /// code → (redirect_uri, PKCE challenge)
    pub(crate) codes: HashMap<String, (String, Option<String>)>,
    pub(crate) valid_tokens: Vec<String>,
    pub(crate) refresh_tokens: Vec<String>,
    pub(crate) issued: u64,
    pub(crate) refreshes: u64,
    pub(crate) pkce_checked: bool,
    /// Tokens issued by the client-credentials grant.
    pub(crate) client_grants: u64,
    /// Bumped by every change; a note's `created_at` and `updated_at` are its values.
    pub(crate) clock: u64,
    /// The method and headers (lower-case names) of every call of `/v1/echo`.
    pub(crate) echoed: Vec<(String, BTreeMap<String, String>)>,
}

impl Service {
    pub(crate) fn tick(&mut self) -> u64 {
        self.clock += 1;
        self.clock
    }

    /// A note added at the vendor, as another client of the service would.
    pub(crate) fn add_note(&mut self, heading: &str) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let at = self.tick();
        self.notes.insert(
            id,
            json!({"note_id": id, "heading": heading, "content": "", "created_at": at, "updated_at": at}),
        );
        id
    }
}

pub(crate) type Shared = Arc<Mutex<Service>>;

async fn authorize(
    State(service): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if query.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || query.get("response_type").map(String::as_str) != Some("code")
    {
        return (AxumStatus::BAD_REQUEST, "bad authorization request").into_response();
    }
    let redirect = query["redirect_uri"].clone();
    let code = format!("code-{}", rand_suffix(&service));
    service.lock().unwrap().codes.insert(
        code.clone(),
        (redirect.clone(), query.get("code_challenge").cloned()),
    );
    // The user consents at once.
    let separator = if redirect.contains('?') { '&' } else { '?' };
    Redirect::to(&format!(
        "{redirect}{separator}code={code}&state={}",
        urlencode(query.get("state").map(String::as_str).unwrap_or(""))
    ))
    .into_response()
}

fn rand_suffix(service: &Shared) -> u64 {
    let mut service = service.lock().unwrap();
    service.issued += 1;
    service.issued
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn token_error(error: &str) -> Response {
    (AxumStatus::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

async fn token(
    State(service): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if form.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET)
    {
        return (
            AxumStatus::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let mut state = service.lock().unwrap();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((redirect, challenge)) = state.codes.remove(&form["code"]) else {
                return token_error("invalid_grant");
            };
            if form.get("redirect_uri") != Some(&redirect) {
                return token_error("invalid_grant");
            }
            if let Some(challenge) = challenge {
                let Some(verifier) = form.get("code_verifier") else {
                    return token_error("invalid_request");
                };
                let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .encode(Sha256::digest(verifier.as_bytes()));
                if computed != challenge {
                    return token_error("invalid_grant");
                }
                state.pkce_checked = true;
            }
        }
        Some("refresh_token") => {
            if !state.refresh_tokens.contains(&form["refresh_token"]) {
                return token_error("invalid_grant");
            }
            state.refreshes += 1;
        }
        Some("client_credentials") => state.client_grants += 1,
        _ => return token_error("unsupported_grant_type"),
    }
    state.issued += 1;
    let access = format!("access-{}", state.issued);
    let refresh = format!("refresh-{}", state.issued);
    state.valid_tokens.push(access.clone());
    state.refresh_tokens.push(refresh.clone());
    axum::Json(json!({
        "access_token": access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": refresh
    }))
    .into_response()
}

fn authorized(service: &Shared, headers: &HeaderMap) -> bool {
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    service
        .lock()
        .unwrap()
        .valid_tokens
        .iter()
        .any(|t| t == token)
}

fn unauthorized() -> Response {
    (
        AxumStatus::UNAUTHORIZED,
        axum::Json(json!({"fault": {"code": "TOKEN", "detail": "token expired"}})),
    )
        .into_response()
}

fn missing(id: u64) -> Response {
    (
        AxumStatus::NOT_FOUND,
        axum::Json(json!({"fault": {"code": "NOTE_MISSING", "detail": format!("note {id} does not exist")}})),
    )
        .into_response()
}

async fn list_notes(
    State(service): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    let page: usize = query.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    let per_page: usize = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(3);
    let state = service.lock().unwrap();
    let mut notes: Vec<&Value> = state.notes.values().collect();
    if let Some(since) = query
        .get("updated_since")
        .and_then(|s| s.parse::<u64>().ok())
    {
        notes.retain(|note| note["updated_at"].as_u64().unwrap() > since);
        notes.sort_by_key(|note| note["updated_at"].as_u64().unwrap());
    }
    let items: Vec<Value> = notes
        .into_iter()
        .skip((page - 1) * per_page)
        .take(per_page)
        .cloned()
        .collect();
    axum::Json(json!({"data": {"items": items}, "total": state.notes.len()})).into_response()
}

async fn create_note(
    State(service): State<Shared>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    if body["heading"].as_str().is_none_or(str::is_empty) {
        return (
            AxumStatus::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"fault": {"code": "INVALID", "detail": "heading is required"}})),
        )
            .into_response();
    }
    let mut state = service.lock().unwrap();
    state.next_id += 1;
    let id = state.next_id;
    let at = state.tick();
    let note = json!({"note_id": id, "heading": body["heading"], "content": body["content"], "created_at": at, "updated_at": at});
    state.notes.insert(id, note.clone());
    (AxumStatus::CREATED, axum::Json(note)).into_response()
}

async fn get_note(
    State(service): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    match service.lock().unwrap().notes.get(&id) {
        Some(note) => axum::Json(note.clone()).into_response(),
        None => missing(id),
    }
}

async fn replace_note(
    State(service): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    let mut state = service.lock().unwrap();
    let at = state.tick();
    let Some(note) = state.notes.get_mut(&id) else {
        return missing(id);
    };
    note["heading"] = body["heading"].clone();
    note["content"] = body["content"].clone();
    note["updated_at"] = json!(at);
    axum::Json(note.clone()).into_response()
}

async fn delete_note(
    State(service): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<u64>,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    match service.lock().unwrap().notes.remove(&id) {
        Some(_) => AxumStatus::NO_CONTENT.into_response(),
        None => missing(id),
    }
}

/// Answers the headers it was sent, so a test sees exactly what reached the vendor.
async fn echo(
    State(service): State<Shared>,
    method: axum::http::Method,
    headers: HeaderMap,
) -> Response {
    if !authorized(&service, &headers) {
        return unauthorized();
    }
    let received: BTreeMap<String, String> = headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    service
        .lock()
        .unwrap()
        .echoed
        .push((method.to_string(), received.clone()));
    axum::Json(json!({ "headers": received })).into_response()
}

/// An API-key endpoint under a per-tenant path: `?api_key=k-<tenant>` opens it. Tenant `down`
/// stands for a vendor failing whatever the key.
async fn tenant_stats(
    Path(tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if tenant == "down" {
        return (
            AxumStatus::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"fault": {"code": "DOWN", "detail": "the stats store is down"}})),
        )
            .into_response();
    }
    if query.get("api_key") != Some(&format!("k-{tenant}")) {
        return (
            AxumStatus::FORBIDDEN,
            axum::Json(json!({"fault": {"code": "KEY", "detail": "wrong key"}})),
        )
            .into_response();
    }
    axum::Json(json!({"tenant": tenant, "notes": 7})).into_response()
}

/// The account an HTTP Basic user name and password open.
async fn basic_account(headers: HeaderMap) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{BASIC_USER}:{BASIC_PASSWORD}"))
    );
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(expected.as_str()) {
        return (
            AxumStatus::UNAUTHORIZED,
            axum::Json(json!({"fault": {"code": "AUTH", "detail": "bad user name or password"}})),
        )
            .into_response();
    }
    axum::Json(json!({"account": {"email": BASIC_USER}})).into_response()
}

pub(crate) async fn start_service() -> (String, Shared) {
    let service: Shared = Arc::default();
    {
        let mut state = service.lock().unwrap();
        for n in 1..=7u64 {
            state.notes.insert(
                n,
                json!({"note_id": n, "heading": format!("Note {n}"), "content": "…", "created_at": n, "updated_at": n}),
            );
        }
        state.next_id = 7;
        state.clock = 7;
    }
    let app = Router::new()
        .route("/oauth/authorize", get(authorize))
        .route("/oauth/token", post(token))
        .route("/v1/notes", get(list_notes).post(create_note))
        .route("/tenants/{tenant}/stats", get(tenant_stats))
        .route("/v1/echo", get(echo))
        .route("/basic/me", get(basic_account))
        .route(
            "/v1/notes/{id}",
            get(get_note).put(replace_note).delete(delete_note),
        )
        .with_state(service.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, service)
}
