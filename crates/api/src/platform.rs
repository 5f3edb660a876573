//! ferry's own API for flows' `request` steps: the call goes through this same router, in
//! process, as the flow's owner — no secret is needed or exposed, and the rules are the API's.

use crate::extract::InternalCaller;
use axum::Router;
use axum::body::Body;
use ferry_app::{PlatformApi, PlatformFuture, Principal};
use ferry_engine::{CallError, HttpCall, HttpExchange};
use serde_json::{Map, Value};
use std::sync::Arc;
use tower::ServiceExt;

struct RouterPlatform {
    router: Router,
}

/// A [`PlatformApi`] over `router` (the router [`crate::router`] built).
pub fn platform_api(router: Router) -> Arc<dyn PlatformApi> {
    Arc::new(RouterPlatform { router })
}

impl PlatformApi for RouterPlatform {
    fn request(&self, principal: Arc<Principal>, call: HttpCall) -> PlatformFuture {
        let router = self.router.clone();
        Box::pin(async move {
            let path = if call.path.starts_with("/elements/api-v2/") {
                call.path.clone()
            } else {
                format!("/elements/api-v2{}", call.path)
            };
            let mut uri = path;
            let query: Vec<(String, String)> = call
                .query
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect();
            if !query.is_empty() {
                let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                    .extend_pairs(query)
                    .finish();
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str(&encoded);
            }
            // `form` before `body`, as elementRequest and httpRequest have it; the body is
            // framed as a client frames it, so the API reads it by its usual rules.
            let (content_type, body) = match (&call.form, &call.body) {
                (Some(form), _) => {
                    let (content_type, bytes) = ferry_app::multipart_form(form);
                    (Some(content_type), Body::from(bytes))
                }
                (None, Some(body)) => (
                    Some("application/json".to_owned()),
                    Body::from(serde_json::to_vec(body).expect("JSON values serialize")),
                ),
                (None, None) => (None, Body::empty()),
            };
            let mut builder = axum::http::Request::builder()
                .method(call.method.as_str())
                .uri(&uri);
            for (name, value) in &call.headers {
                // The body's own type wins: a multipart body is unreadable without its boundary.
                if content_type.is_some() && name.eq_ignore_ascii_case("content-type") {
                    continue;
                }
                if let Some(text) = value.as_str() {
                    builder = builder.header(name.as_str(), text);
                }
            }
            if let Some(content_type) = content_type {
                builder = builder.header("content-type", content_type);
            }
            let mut request = builder
                .body(body)
                .map_err(|e| CallError(format!("the request to {uri} is not valid: {e}")))?;
            request.extensions_mut().insert(InternalCaller(principal));
            let response = router
                .oneshot(request)
                .await
                .map_err(|never| match never {})?;
            let status = response.status().as_u16();
            let headers: Map<String, Value> = response
                .headers()
                .iter()
                .filter_map(|(name, value)| {
                    Some((
                        name.to_string(),
                        Value::String(value.to_str().ok()?.to_owned()),
                    ))
                })
                .collect();
            let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024 * 1024)
                .await
                .map_err(|e| CallError(format!("the reply of {uri} could not be read: {e}")))?;
            Ok(HttpExchange {
                status,
                headers,
                body: ferry_engine::recorded_body(&bytes),
            })
        })
    }
}
