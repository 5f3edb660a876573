//! `/console/instances/{id}/api/…`: an instance's hub API for the console's own docs page, signed
//! in by the console's session cookie instead of ferry's secrets. Every call also carries the
//! session's CSRF token in `X-CSRF-Token`, so another site cannot make a signed-in browser call
//! it (the cookie is `SameSite=Strict` as well).

use crate::hub::{HUB_BODY_LIMIT, caller_headers, operation_method, read_hub_body, reply_response};
use crate::{ApiError, ApiState};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use ferry_connectors::HubRequest;
use ferry_model::InstanceId;

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/console/instances/{id}/api/{*path}", any(call_as_console))
        .layer(DefaultBodyLimit::max(HUB_BODY_LIMIT))
}

fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "sign in to the console again: this page's session has ended",
    )
}

async fn call_as_console(State(state): State<ApiState>, request: Request) -> Response {
    match console_call(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn console_call(state: &ApiState, request: Request) -> Result<Response, ApiError> {
    let headers = request.headers();
    let token = ferry_app::session_cookie(
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|value| value.to_str().ok()),
    )
    .ok_or_else(unauthenticated)?;
    let session = state
        .app
        .console_session(&token)
        .await
        .map_err(|_| unauthenticated())?;
    let csrf = headers
        .get("x-csrf-token")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !session.accepts(csrf) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "this call did not come from the console's own page (no X-CSRF-Token of the session)",
        ));
    }
    let rest = request
        .uri()
        .path()
        .strip_prefix("/console/instances/")
        .unwrap_or_default();
    let (id, path) = rest.split_once("/api").unwrap_or((rest, "/"));
    let id: InstanceId = id
        .parse()
        .map_err(|_| ApiError::not_found(format!("no instance {id:?}")))?;
    let path = if path.is_empty() { "/" } else { path }.to_owned();
    let method = operation_method(request.method())?;
    let is_head = request.method() == Method::HEAD;
    // The session's CSRF token is the console's, not the vendor's.
    let headers = caller_headers(request.headers(), &["x-csrf-token"]);
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let view = state.app.get_instance(&session.principal, id).await?;
    let body = read_hub_body(request, state, HUB_BODY_LIMIT).await?;
    let hub_request = HubRequest {
        method,
        path,
        query,
        headers,
        body,
        idempotency_key: None,
    };
    let reply = state.app.hub_call(&view.instance, &hub_request).await?;
    if !is_head {
        state
            .app
            .after_hub_call(&view.instance, &hub_request, &reply)
            .await;
    }
    Ok(reply_response(reply))
}
