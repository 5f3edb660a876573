//! The hub API: `/elements/api-v2[/hubs/{hub}]/{path}` with an Element token reaches the
//! instance's connector. The hub segment is optional and ignored, as in Cloud Elements.

use crate::extract::authorization_parts;
use crate::{ApiError, ApiState};
use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_connectors::{FormPart, HubBody, HubRequest};
use ferry_model::connector::HttpMethod;
use http_body_util::Limited;

/// Bodies above this are refused before parsing (Gmail's own limit is 35 MiB per message).
pub(crate) const HUB_BODY_LIMIT: usize = 40 * 1024 * 1024;

const PREFIX: &str = "/elements/api-v2";

fn normalized_path(path: &str) -> String {
    let rest = path.strip_prefix(PREFIX).unwrap_or(path);
    let rest = match rest.strip_prefix("/hubs/") {
        Some(after) => match after.find('/') {
            Some(slash) => &after[slash..],
            None => "/",
        },
        None => rest,
    };
    if rest.is_empty() {
        "/".to_owned()
    } else {
        rest.to_owned()
    }
}

pub(crate) async fn call_hub(
    State(state): State<ApiState>,
    request: Request,
) -> Result<Response, ApiError> {
    let (parts, body) = request.into_parts();
    let header = authorization_parts(&parts)?;
    let method = operation_method(&parts.method)?;
    let path = normalized_path(parts.uri.path());
    if header.user.is_none() && header.organization.is_none() && header.element.is_none() {
        // No credentials at all: ferry cannot tell a hub call from a mistyped path, and a hub
        // call's first problem is the missing header.
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "authentication required: hub calls need Authorization: User <user secret>, Organization <organization secret>, Element <instance token>",
        ));
    }
    if header.element.is_none() {
        // Without an Element token this is not a hub call, just a path ferry does not have.
        return Err(ApiError::not_found(format!(
            "{} {} is not an API of ferry; hub calls need Authorization: User …, Organization …, Element <instance token>",
            parts.method,
            parts.uri.path()
        )));
    }
    let (_principal, instance) = state.app.authenticate_hub(&header).await?;
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(parts.uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let headers = caller_headers(&parts.headers, &[]);
    let is_head = parts.method == Method::HEAD;
    let request = Request::from_parts(parts, body);
    let hub_body = read_hub_body(request, &state, HUB_BODY_LIMIT).await?;
    let hub_request = HubRequest {
        method,
        path,
        query,
        headers,
        body: hub_body,
        idempotency_key: None,
    };
    let instance_header = HeaderValue::from(instance.id.0);
    let outcome = state.app.hub_call(&instance, &hub_request).await;
    let mut response = match outcome {
        Ok(reply) => {
            // A HEAD is no call of the GET an elementRequest trigger waits for.
            if !is_head {
                state
                    .app
                    .after_hub_call(&instance, &hub_request, &reply)
                    .await;
            }
            reply_response(reply)
        }
        Err(error) => ApiError::from(error).into_response(),
    };
    response
        .headers_mut()
        .insert("elements-element-instance-id", instance_header);
    Ok(response)
}

/// The connector operation a request's method reaches. A HEAD runs the GET operation; the
/// router then answers with its status and headers and drops the body, as HTTP has it.
pub(crate) fn operation_method(method: &Method) -> Result<HttpMethod, ApiError> {
    HttpMethod::of_request(method.as_str()).ok_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{method} is not supported"),
        )
    })
}

/// Headers every edge keeps to itself: the caller's credentials for ferry.
const FERRYS_OWN_HEADERS: [&str; 3] = ["authorization", "proxy-authorization", "cookie"];

/// The caller's headers for [`HubRequest::headers`], less ferry's own credentials (those of
/// every edge and the names in `also_ferrys`). The runtime sends the vendor only the headers an
/// operation declares, and a definition cannot declare these; dropping them here keeps ferry's
/// secrets from travelling past the edge at all.
pub(crate) fn caller_headers(headers: &HeaderMap, also_ferrys: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            !FERRYS_OWN_HEADERS.contains(&name)
                && !also_ferrys.iter().any(|own| own.eq_ignore_ascii_case(name))
        })
        .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// A connector's answer as ferry's hub answers it: JSON, 204 as 200, the next page token.
pub(crate) fn reply_response(reply: ferry_connectors::HubResponse) -> Response {
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
    let status = if status == StatusCode::NO_CONTENT {
        StatusCode::OK
    } else {
        status
    };
    let headers = reply.answer_headers();
    let mut response = (status, reply.body).into_response();
    for (name, value) in headers {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

fn multipart_error(error: axum::extract::multipart::MultipartError, limit: usize) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is over {}", readable_size(limit)),
        )
    } else {
        ApiError::bad_request(
            "body",
            format!("the multipart body is not readable: {}", error.body_text()),
        )
    }
}

/// The body of a hub call: JSON, multipart form parts, or nothing. Bodies over `limit` bytes
/// are a 413, whatever their framing.
pub(crate) async fn read_hub_body(
    request: Request,
    state: &ApiState,
    limit: usize,
) -> Result<HubBody, ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the request body is over {}", readable_size(limit)),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(too_large());
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let request = request.map(|body| Body::new(Limited::new(body, limit)));
    if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, state).await.map_err(|e| {
            ApiError::bad_request(
                "body",
                format!("the multipart body is not readable: {}", e.body_text()),
            )
        })?;
        let mut form = Vec::new();
        loop {
            let field = multipart
                .next_field()
                .await
                .map_err(|e| multipart_error(e, limit))?;
            let Some(field) = field else { break };
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field.bytes().await.map_err(|e| multipart_error(e, limit))?;
            form.push(FormPart {
                name,
                filename,
                content_type,
                data,
            });
        }
        return Ok(HubBody::Form(form));
    }
    let bytes = Bytes::from_request(request, state).await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            ApiError::bad_request("body", e.body_text())
        }
    })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(HubBody::Empty)
    } else if content_type.is_empty()
        || content_type.starts_with("application/json")
        || content_type.contains("+json")
    {
        let value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request("body", format!("the body is not valid JSON: {e}"))
        })?;
        Ok(HubBody::Json(value))
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "a body of type {content_type:?} is not accepted; send application/json or multipart/form-data"
            ),
        ))
    }
}

fn readable_size(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / 1024 / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::normalized_path;

    #[test]
    fn the_hub_segment_is_optional() {
        assert_eq!(
            normalized_path("/elements/api-v2/hubs/general/messages"),
            "/messages"
        );
        assert_eq!(
            normalized_path("/elements/api-v2/hubs/crap/messages/1"),
            "/messages/1"
        );
        assert_eq!(normalized_path("/elements/api-v2/messages"), "/messages");
        assert_eq!(normalized_path("/elements/api-v2/hubs/general"), "/");
    }
}
