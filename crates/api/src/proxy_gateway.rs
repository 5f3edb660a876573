//! `/proxies/{basePath}/…`: calls from other applications, with an API key, to a published
//! instance's normalized API. The caller never sees the instance token or ferry's secrets. CORS
//! here is the proxy's own (its `corsOrigins`), not the platform's.

use crate::hub::{HUB_BODY_LIMIT, caller_headers, operation_method, read_hub_body};
use crate::{ApiError, ApiState};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use ferry_app::RateStatus;
use ferry_connectors::{HubBody, HubRequest};
use ferry_model::proxy::ProxyCall;
use std::time::Instant;

const EXPOSED: &str = "RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, RateLimit-Policy, Retry-After, Elements-Next-Page-Token, Elements-Request-Id";
const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE";

pub(crate) fn routes() -> Router<ApiState> {
    Router::new()
        .route("/proxies/{base_path}", any(call_proxy))
        .route("/proxies/{base_path}/{*path}", any(call_proxy))
        .layer(DefaultBodyLimit::max(HUB_BODY_LIMIT))
}

/// The base path and the operation path of `/proxies/{basePath}/{path}`.
fn split_path(path: &str) -> (&str, String) {
    let rest = path.strip_prefix("/proxies/").unwrap_or_default();
    match rest.find('/') {
        Some(slash) => (&rest[..slash], rest[slash..].to_owned()),
        None => (rest, "/".to_owned()),
    }
}

/// The key from `X-API-Key`, else from `Authorization: Bearer`.
fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(key.trim());
    }
    let authorization = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, key) = authorization.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| key.trim())
}

fn allowed_origin(origins: &[String], origin: Option<&HeaderValue>) -> Option<HeaderValue> {
    let origin = origin?;
    let text = origin.to_str().ok()?;
    origins
        .iter()
        .any(|allowed| allowed == "*" || allowed.trim_end_matches('/') == text)
        .then(|| origin.clone())
}

fn add_cors(response: &mut Response, origin: Option<HeaderValue>) {
    let headers = response.headers_mut();
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = origin {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED),
        );
    }
}

fn add_rate(response: &mut Response, rate: &RateStatus) {
    let headers = response.headers_mut();
    headers.insert("ratelimit-limit", HeaderValue::from(rate.limit));
    headers.insert("ratelimit-remaining", HeaderValue::from(rate.remaining));
    headers.insert("ratelimit-reset", HeaderValue::from(rate.reset_seconds));
    if let Ok(policy) = HeaderValue::from_str(&format!("{};w={}", rate.limit, rate.window_seconds))
    {
        headers.insert("ratelimit-policy", policy);
    }
}

fn body_size(body: &HubBody) -> i64 {
    match body {
        HubBody::Empty => 0,
        HubBody::Json(value) => serde_json::to_vec(value).map_or(0, |b| b.len() as i64),
        HubBody::Form(parts) => parts.iter().map(|p| p.data.len() as i64).sum(),
    }
}

fn response_size(response: &Response) -> i64 {
    http_body::Body::size_hint(response.body())
        .exact()
        .map_or(0, |n| n as i64)
}

pub(crate) async fn call_proxy(State(state): State<ApiState>, request: Request) -> Response {
    let started = Instant::now();
    let at_ms = chrono::Utc::now().timestamp_millis();
    let (base_path, path) = split_path(request.uri().path());
    let base_path = base_path.to_owned();
    let app = &state.app;
    // The proxy first: its CORS origins apply to every answer, errors included.
    let origins = match app.published_proxy(&base_path).await {
        Ok((proxy, _)) => proxy.cors_origins,
        Err(error) => return ApiError::from(error).into_response(),
    };
    let cors = allowed_origin(&origins, request.headers().get(header::ORIGIN));
    if request.method() == Method::OPTIONS {
        return preflight(&request, cors);
    }
    let method = match operation_method(request.method()) {
        Ok(method) => method,
        Err(error) => {
            let mut response = error.into_response();
            add_cors(&mut response, cors);
            return response;
        }
    };
    let is_head = request.method() == Method::HEAD;
    let key = presented_key(request.headers()).map(str::to_owned);
    let mut call = ProxyCall {
        proxy_id: ferry_model::ProxyId(0),
        key_id: None,
        at_ms,
        method: request.method().as_str().to_owned(),
        operation: String::new(),
        status: 0,
        latency_us: 0,
        request_bytes: request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0),
        response_bytes: 0,
    };
    let admitted = app
        .admit_proxy_call(&base_path, key.as_deref(), method, &path)
        .await;
    let mut response = match admitted {
        Err(refusal) => {
            let mut response = ApiError::from(refusal.error).into_response();
            if let Some(rate) = &refusal.rate {
                add_rate(&mut response, rate);
            }
            call.key_id = refusal.key_id;
            call.operation = refusal.operation;
            match refusal.proxy_id {
                Some(id) => call.proxy_id = id,
                None => {
                    add_cors(&mut response, cors);
                    return response;
                }
            }
            response
        }
        Ok(admission) => {
            call.proxy_id = admission.proxy_id;
            call.key_id = Some(admission.key_id);
            call.operation = admission.operation.clone();
            let query: Vec<(String, String)> =
                url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect();
            // The proxy's key is for ferry; the instance's credentials are the vendor's.
            let headers = caller_headers(request.headers(), &["x-api-key"]);
            let limit = usize::try_from(admission.max_request_bytes).unwrap_or(HUB_BODY_LIMIT);
            let mut response = match read_hub_body(request, &state, limit).await {
                Err(error) => error.into_response(),
                Ok(body) => {
                    if call.request_bytes == 0 {
                        call.request_bytes = body_size(&body);
                    }
                    let hub_request = HubRequest {
                        method,
                        path,
                        query,
                        headers,
                        body,
                        idempotency_key: None,
                    };
                    match app.proxy_call(&admission, &hub_request).await {
                        Ok(reply) => {
                            // As on the hub API: a HEAD is no call of the GET an elementRequest
                            // trigger waits for.
                            if !is_head {
                                app.after_hub_call(admission.instance(), &hub_request, &reply)
                                    .await;
                            }
                            crate::hub::reply_response(reply)
                        }
                        Err(error) => ApiError::from(error).into_response(),
                    }
                }
            };
            add_rate(&mut response, &admission.rate);
            response
        }
    };
    add_cors(&mut response, cors);
    call.status = response.status().as_u16();
    // The router drops a HEAD's body after this; none of it reaches the caller.
    call.response_bytes = if is_head { 0 } else { response_size(&response) };
    call.latency_us = i64::try_from(started.elapsed().as_micros()).unwrap_or(i64::MAX);
    app.record_proxy_call(call);
    response
}

/// A browser's CORS preflight: allowed origins get the methods and the headers they asked for.
fn preflight(request: &Request, cors: Option<HeaderValue>) -> Response {
    let Some(origin) = cors else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "origin_not_allowed",
            "this proxy does not accept calls from this origin; its owner lists the allowed origins",
        )
        .into_response();
    };
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(ALLOWED_METHODS),
    );
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_static("x-api-key, authorization, content-type"));
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked);
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(600));
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_is_the_first_segment() {
        assert_eq!(
            split_path("/proxies/mail/messages/17"),
            ("mail", "/messages/17".to_owned())
        );
        assert_eq!(split_path("/proxies/mail"), ("mail", "/".to_owned()));
    }

    #[test]
    fn a_key_comes_from_x_api_key_or_a_bearer_token() {
        let mut headers = HeaderMap::new();
        assert_eq!(presented_key(&headers), None);
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer fpk_b"),
        );
        assert_eq!(presented_key(&headers), Some("fpk_b"));
        headers.insert("x-api-key", HeaderValue::from_static("fpk_a"));
        assert_eq!(presented_key(&headers), Some("fpk_a"));
        let mut basic = HeaderMap::new();
        basic.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eDp5"),
        );
        assert_eq!(presented_key(&basic), None);
    }
}
