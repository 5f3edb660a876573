//! The control API under `/_emulator/` (JSON), for tests and other clients: state, accounts,
//! clients, revoking and expiring tokens, faults, mailbox contents. Client mistakes answer 400
//! with a message naming the field, never 500.

use crate::config::{AccountSeed, OAuthClientSeed};
use crate::error::EmulatorError;
use crate::faults::Fault;
use crate::gmail::upload::decode_raw;
use crate::state::read;
use crate::{Emulator, TokenRequestCounts};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

fn problem(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    problem(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn error_response(e: EmulatorError) -> Response {
    match e {
        EmulatorError::UnknownAccount(_) | EmulatorError::UnknownProject(_) => {
            problem(StatusCode::NOT_FOUND, e.to_string())
        }
        EmulatorError::AlreadyExists { .. } => problem(StatusCode::CONFLICT, e.to_string()),
        EmulatorError::InvalidField { .. } | EmulatorError::InvalidMessage(_) => {
            bad_request(e.to_string())
        }
        EmulatorError::Io(_) => problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error"),
    }
}

/// A control-API failure: a status and a message naming what is wrong.
pub(crate) struct Problem(pub StatusCode, pub String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        problem(self.0, self.1)
    }
}

pub(crate) fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(bytes)
        .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("invalid JSON body: {e}")))
}

fn known_account(emu: &Emulator, email: &str) -> Result<(), Problem> {
    match emu.shared().account(email) {
        Some(_) => Ok(()),
        None => Err(Problem(
            StatusCode::NOT_FOUND,
            format!("unknown account: {email}"),
        )),
    }
}

#[derive(Serialize)]
struct AccountState {
    email: String,
    display_name: String,
    messages_total: usize,
    history_id: String,
}

#[derive(Serialize)]
struct StateResponse {
    accounts: Vec<AccountState>,
    clients: Vec<OAuthClientSeed>,
    token_requests: TokenRequestCounts,
}

/// `GET /_emulator/state`
pub(crate) async fn get_state(State(emu): State<Emulator>) -> Response {
    let shared = emu.shared();
    let mut accounts: Vec<AccountState> = read(&shared.accounts)
        .values()
        .map(|a| {
            let mailbox = read(&a.mailbox);
            AccountState {
                email: a.email.clone(),
                display_name: a.display_name.clone(),
                messages_total: mailbox.messages_total(),
                history_id: mailbox.history_id().to_string(),
            }
        })
        .collect();
    accounts.sort_by(|a, b| a.email.cmp(&b.email));
    let mut clients: Vec<OAuthClientSeed> = read(&shared.clients)
        .values()
        .map(|c| (**c).clone())
        .collect();
    clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
    Json(StateResponse {
        accounts,
        clients,
        token_requests: emu.token_requests(),
    })
    .into_response()
}

/// `GET /_emulator/health`
pub(crate) async fn get_health() -> Response {
    Json(json!({"status": "ok"})).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountRequest {
    email: String,
    #[serde(default)]
    display_name: String,
}

/// `POST /_emulator/accounts` `{email, display_name}`
pub(crate) async fn create_account(State(emu): State<Emulator>, bytes: Bytes) -> Response {
    let req: AccountRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match emu.add_account(AccountSeed {
        email: req.email.clone(),
        display_name: req.display_name,
    }) {
        Ok(()) => (
            StatusCode::CREATED,
            Json(json!({"email": req.email.trim()})),
        )
            .into_response(),
        Err(e) => error_response(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRequest {
    client_id: String,
    client_secret: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    app_name: Option<String>,
    #[serde(default)]
    verified: bool,
}

/// `POST /_emulator/clients` (the fields of `OAuthClientSeed`)
pub(crate) async fn create_client(State(emu): State<Emulator>, bytes: Bytes) -> Response {
    let req: ClientRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let seed = OAuthClientSeed {
        app_name: req.app_name.unwrap_or_else(|| req.client_id.clone()),
        client_id: req.client_id,
        client_secret: req.client_secret,
        redirect_uris: req.redirect_uris,
        verified: req.verified,
    };
    let id = seed.client_id.clone();
    match emu.add_client(seed) {
        Ok(()) => (StatusCode::CREATED, Json(json!({"client_id": id}))).into_response(),
        Err(e) => error_response(e),
    }
}

/// `POST /_emulator/accounts/{email}/revoke`
pub(crate) async fn revoke_account(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
) -> Response {
    if let Err(p) = known_account(&emu, &email) {
        return p.into_response();
    }
    emu.revoke_grants(&email);
    StatusCode::NO_CONTENT.into_response()
}

/// `POST /_emulator/accounts/{email}/expire-tokens`
pub(crate) async fn expire_account_tokens(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
) -> Response {
    if let Err(p) = known_account(&emu, &email) {
        return p.into_response();
    }
    emu.expire_access_tokens(&email);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FaultRequest {
    status: Option<u16>,
    retry_after_secs: Option<u64>,
    delay_ms: Option<u64>,
    times: Option<u32>,
}

/// `POST /_emulator/accounts/{email}/faults` `{status, retry_after_secs?, times}` or `{delay_ms, times}`
pub(crate) async fn create_fault(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
    bytes: Bytes,
) -> Response {
    if let Err(p) = known_account(&emu, &email) {
        return p.into_response();
    }
    let req: FaultRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let times = req.times.unwrap_or(1);
    if times == 0 {
        return bad_request("times: must be at least 1");
    }
    let fault = match (req.status, req.delay_ms) {
        (Some(_), Some(_)) => return bad_request("status, delay_ms: give one of them, not both"),
        (None, None) => return bad_request("status or delay_ms: one of them is required"),
        (Some(status), None) => {
            if !(400..=599).contains(&status) {
                return bad_request("status: must be an HTTP error status (400-599)");
            }
            Fault::Status {
                status,
                retry_after_secs: req.retry_after_secs,
                times,
            }
        }
        (None, Some(millis)) => {
            if req.retry_after_secs.is_some() {
                return bad_request("retry_after_secs: only allowed with status");
            }
            if millis > 600_000 {
                return bad_request("delay_ms: at most 600000");
            }
            Fault::Delay { millis, times }
        }
    };
    emu.inject_fault(&email, fault);
    StatusCode::NO_CONTENT.into_response()
}

/// `DELETE /_emulator/accounts/{email}/faults`
pub(crate) async fn delete_faults(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
) -> Response {
    if let Err(p) = known_account(&emu, &email) {
        return p.into_response();
    }
    emu.clear_faults(&email);
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MessageSummary {
    id: String,
    thread_id: String,
    label_ids: Vec<String>,
    subject: String,
    internal_date: String,
    raw: String,
}

/// `GET /_emulator/accounts/{email}/messages`
pub(crate) async fn list_account_messages(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
) -> Response {
    let Some(account) = emu.shared().account(&email) else {
        return problem(StatusCode::NOT_FOUND, format!("unknown account: {email}"));
    };
    let mailbox = read(&account.mailbox);
    let messages: Vec<MessageSummary> = mailbox
        .all()
        .map(|e| MessageSummary {
            id: crate::ids::format_id(e.id),
            thread_id: crate::ids::format_id(e.thread_id),
            label_ids: e.labels.clone(),
            subject: e.msg.subject.clone(),
            internal_date: e.internal_date.to_string(),
            raw: URL_SAFE.encode(&e.msg.raw),
        })
        .collect();
    Json(json!({ "messages": messages })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeliverRequest {
    raw: String,
}

/// `POST /_emulator/accounts/{email}/messages` `{raw}` (base64url RFC 822): mail arrives in the inbox.
pub(crate) async fn deliver_account_message(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: DeliverRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    let Ok(raw) = decode_raw(&req.raw) else {
        return bad_request("raw: not base64url");
    };
    match emu.deliver(&email, raw) {
        Ok(id) => (StatusCode::CREATED, Json(json!({ "id": id }))).into_response(),
        Err(e) => error_response(e),
    }
}

/// Accounts cannot be removed.
pub(crate) async fn method_not_allowed() -> Response {
    problem(StatusCode::METHOD_NOT_ALLOWED, "accounts cannot be deleted")
}

#[derive(Deserialize)]
struct GrantRequest {
    client_id: String,
    scopes: Vec<String>,
}

/// `POST /_emulator/accounts/{email}/grants` `{client_id, scopes}`: a grant as if the user had
/// consented, with its access and refresh tokens (for scripts and benchmarks, not consent tests).
pub(crate) async fn create_grant(
    State(emu): State<Emulator>,
    Path(email): Path<String>,
    bytes: Bytes,
) -> Response {
    let req: GrantRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match emu.grant(&email, &req.client_id, &req.scopes) {
        Ok(issued) => (StatusCode::CREATED, Json(issued)).into_response(),
        Err(e) => error_response(e),
    }
}
