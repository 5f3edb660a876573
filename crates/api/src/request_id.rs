//! Every request gets an id: answered in `Elements-Request-Id` and inside every error body, so a
//! user's report can be matched with the log line.

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use rand::Rng;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

pub(crate) fn current() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .unwrap_or_else(|_| "unknown".to_owned())
}

pub(crate) async fn assign(request: Request, next: Next) -> Response {
    let id = format!("{:016x}", rand::rng().random::<u64>());
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.uri().path());
    let mut response = REQUEST_ID
        .scope(id.clone(), next.run(request).instrument(span.clone()))
        .await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("elements-request-id", value);
    }
    let status = response.status().as_u16();
    if status >= 500 {
        tracing::warn!(parent: &span, status, "request failed");
    } else {
        tracing::debug!(parent: &span, status, "request done");
    }
    response
}
