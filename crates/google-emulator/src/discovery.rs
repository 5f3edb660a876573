//! Google's discovery document for Gmail API v1, served the way `gmail.googleapis.com` serves it
//! (`/$discovery/rest?version=v1`), with its root URLs pointing at this emulator, so any client
//! that builds itself from discovery (Google's Python client with `static_discovery=False`) can
//! be aimed at the emulator by URL alone.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The official document (google-api-python-client 2.202.0, revision 20261005), unedited.
pub(crate) const GMAIL_V1: &str = include_str!("../discovery/gmail.v1.json");

/// `GET /$discovery/rest?version=v1` and `GET /discovery/v1/apis/gmail/v1/rest`.
pub(crate) async fn get_discovery(headers: HeaderMap) -> Response {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return (StatusCode::BAD_REQUEST, "Host header required").into_response();
    };
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .filter(|s| *s == "https")
        .unwrap_or("http");
    let origin = format!("{scheme}://{host}/");
    let body = GMAIL_V1
        .replace("https://gmail.mtls.googleapis.com/", &origin)
        .replace("https://gmail.googleapis.com/", &origin);
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}
