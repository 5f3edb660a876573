//! The developer console as JSON under `/_emulator/projects`, for scripts and the ferry CLI.

use super::ConsentScreen;
use crate::Emulator;
use crate::control::{Problem, body, error_response};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;
use serde_json::json;

/// `GET /_emulator/projects`
pub(crate) async fn list_projects(State(emu): State<Emulator>) -> Response {
    Json(json!({ "projects": emu.shared().projects() })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProjectRequest {
    name: String,
    #[serde(default)]
    project_id: Option<String>,
}

/// `POST /_emulator/projects` `{name, project_id?}`
pub(crate) async fn create_project(State(emu): State<Emulator>, bytes: Bytes) -> Response {
    let request: ProjectRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match emu
        .shared()
        .create_project(&request.name, request.project_id.as_deref())
    {
        Ok(project) => (StatusCode::CREATED, Json(project)).into_response(),
        Err(e) => error_response(e),
    }
}

/// `GET /_emulator/projects/{project}`
pub(crate) async fn get_project(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
) -> Response {
    match emu.shared().project(&project) {
        Ok(project) => Json(project).into_response(),
        Err(e) => error_response(e),
    }
}

/// `POST /_emulator/projects/{project}/apis/{api}/{action}`: `gmail`, `enable` or `disable`.
pub(crate) async fn set_api(
    State(emu): State<Emulator>,
    Path((project, api, action)): Path<(String, String, String)>,
) -> Response {
    if api != "gmail" && api != "gmail.googleapis.com" {
        return Problem(
            StatusCode::NOT_FOUND,
            format!("api: the emulator serves only the Gmail API (gmail), not {api:?}"),
        )
        .into_response();
    }
    let enabled = match action.as_str() {
        "enable" => true,
        "disable" => false,
        other => {
            return Problem(
                StatusCode::NOT_FOUND,
                format!("{other:?}: use enable or disable"),
            )
            .into_response();
        }
    };
    match emu.shared().set_gmail_api(&project, enabled) {
        Ok(project) => Json(project).into_response(),
        Err(e) => error_response(e),
    }
}

/// `PUT /_emulator/projects/{project}/consent-screen` `{product_name, support_email?, authorized_domains?}`
pub(crate) async fn put_consent_screen(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
    bytes: Bytes,
) -> Response {
    let screen: ConsentScreen = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    match emu.shared().set_consent_screen(&project, screen) {
        Ok(project) => Json(project).into_response(),
        Err(e) => error_response(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientRequest {
    /// Only "web" (Google's "Web application") is offered.
    #[serde(rename = "type", default = "web")]
    kind: String,
    #[serde(default)]
    name: Option<String>,
    redirect_uris: Vec<String>,
}

fn web() -> String {
    "web".into()
}

/// `POST /_emulator/projects/{project}/clients` `{type: "web", name?, redirect_uris}`: answers the
/// client id and secret, as the console's "OAuth client created" dialog does.
pub(crate) async fn create_client(
    State(emu): State<Emulator>,
    Path(project): Path<String>,
    bytes: Bytes,
) -> Response {
    let request: ClientRequest = match body(&bytes) {
        Ok(r) => r,
        Err(p) => return p.into_response(),
    };
    if request.kind != "web" {
        return Problem(
            StatusCode::BAD_REQUEST,
            format!(
                "type: only \"web\" (Web application) clients are offered, not {:?}",
                request.kind
            ),
        )
        .into_response();
    }
    match emu
        .shared()
        .create_web_client(&project, request.redirect_uris)
    {
        Ok(client) => (
            StatusCode::CREATED,
            Json(json!({
                "project_id": project,
                "name": request.name.unwrap_or_else(|| "Web client 1".into()),
                "type": "web",
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": client.redirect_uris,
            })),
        )
            .into_response(),
        Err(e) => error_response(e),
    }
}
