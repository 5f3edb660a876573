//! `POST /batch/gmail/v1`: a `multipart/mixed` body of `application/http` requests, each answered
//! by the same router, returned as a `multipart/mixed` body of HTTP responses.

use super::error::GmailError;
use super::upload::split_multipart;
use crate::Emulator;
use crate::ids::random_token;
use axum::body::{Body, to_bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tower::ServiceExt;

/// Google caps a batch at 100 calls.
const MAX_CALLS: usize = 100;

fn boundary_of(headers: &HeaderMap) -> Option<String> {
    let ct = headers.get(header::CONTENT_TYPE)?.to_str().ok()?;
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

/// Parses one `application/http` part into a request; headers of the outer request (such as
/// Authorization) apply unless the part sets its own.
fn inner_request(outer: &HeaderMap, http: &[u8]) -> Option<Request<Body>> {
    let text_end = http
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| (p, p + 4))
        .or_else(|| {
            http.windows(2)
                .position(|w| w == b"\n\n")
                .map(|p| (p, p + 2))
        });
    let (head_end, body_start) = text_end.unwrap_or((http.len(), http.len()));
    let head = String::from_utf8_lossy(&http[..head_end]);
    let mut lines = head.lines();
    let request_line = lines.next()?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next()?;
    let target = parts.next()?;
    let path = match url::Url::parse(target) {
        Ok(u) => match u.query() {
            Some(q) => format!("{}?{}", u.path(), q),
            None => u.path().to_string(),
        },
        Err(_) => target.to_string(),
    };
    let mut builder = Request::builder().method(method).uri(path);
    let mut own = HeaderMap::new();
    for line in lines {
        if let Some((n, v)) = line.split_once(':')
            && let (Ok(name), Ok(value)) = (
                header::HeaderName::from_bytes(n.trim().as_bytes()),
                HeaderValue::from_str(v.trim()),
            )
        {
            own.append(name, value);
        }
    }
    for (name, value) in outer {
        if name == header::CONTENT_TYPE || name == header::CONTENT_LENGTH || own.contains_key(name)
        {
            continue;
        }
        own.insert(name.clone(), value.clone());
    }
    if let Some(h) = builder.headers_mut() {
        *h = own;
    }
    builder
        .body(Body::from(http[body_start.min(http.len())..].to_vec()))
        .ok()
}

/// `POST /batch/gmail/v1` (also `/batch`).
pub(crate) async fn post_batch(
    State(emu): State<Emulator>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(boundary) = boundary_of(&headers) else {
        return GmailError::invalid_argument(
            "Batch requests must be multipart/mixed with a boundary.",
        )
        .into_response();
    };
    let parts = split_multipart(&body, &boundary);
    if parts.len() > MAX_CALLS {
        return GmailError::invalid_argument(format!(
            "Too many requests in batch: {} (at most {MAX_CALLS})",
            parts.len()
        ))
        .into_response();
    }
    let out_boundary = format!("batch_{}", random_token(12).replace(['-', '_'], "0"));
    let mut out = Vec::new();
    for (part_headers, content) in parts {
        let content_id = part_headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-id"))
            .map(|(_, v)| {
                v.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            });
        let response = match inner_request(&headers, content) {
            Some(req) => match emu.router().oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            },
            None => GmailError::invalid_argument("Invalid batch part").into_response(),
        };
        let status = response.status();
        let mut text = format!(
            "--{out_boundary}\r\nContent-Type: application/http\r\n{}\r\nHTTP/1.1 {} {}\r\n",
            content_id
                .map(|id| format!("Content-ID: <response-{id}>\r\n"))
                .unwrap_or_default(),
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        );
        for (name, value) in response.headers() {
            if let Ok(v) = value.to_str() {
                text.push_str(&format!("{name}: {v}\r\n"));
            }
        }
        text.push_str("\r\n");
        out.extend_from_slice(text.as_bytes());
        let body = to_bytes(response.into_body(), 64 * 1024 * 1024)
            .await
            .unwrap_or_default();
        out.extend_from_slice(&body);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{out_boundary}--\r\n").as_bytes());
    let mut response = out.into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("multipart/mixed; boundary={out_boundary}")) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}
