//! The hub API: `/elements/api-v2[/hubs/{hub}]/{path}` with an Element token reaches the
//! instance's connector. The hub segment is optional and ignored, as in Cloud Elements.

use crate::extract::authorization_parts;
use crate::{ApiError, ApiState};
use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_connectors::{FormPart, HubBody, HubRequest};
use ferry_model::connector::HttpMethod;

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
    let method = HttpMethod::parse(parts.method.as_str()).ok_or_else(|| {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            format!("{} is not supported", parts.method),
        )
    })?;
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
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let request = Request::from_parts(parts, body);
    let hub_body = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| {
                ApiError::bad_request(
                    "body",
                    format!("the multipart body is not readable: {}", e.body_text()),
                )
            })?;
        let mut form = Vec::new();
        loop {
            let field = multipart.next_field().await.map_err(multipart_error)?;
            let Some(field) = field else { break };
            let name = field.name().unwrap_or_default().to_owned();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(str::to_owned);
            let data = field.bytes().await.map_err(multipart_error)?;
            form.push(FormPart {
                name,
                filename,
                content_type,
                data,
            });
        }
        HubBody::Form(form)
    } else {
        let bytes = Bytes::from_request(request, &state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!(
                        "the request body is over {} MiB",
                        HUB_BODY_LIMIT / 1024 / 1024
                    ),
                )
            } else {
                ApiError::bad_request("body", e.body_text())
            }
        })?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            HubBody::Empty
        } else if content_type.is_empty()
            || content_type.starts_with("application/json")
            || content_type.contains("+json")
        {
            let value = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::bad_request("body", format!("the body is not valid JSON: {e}"))
            })?;
            HubBody::Json(value)
        } else {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!(
                    "a body of type {content_type:?} is not accepted; send application/json or multipart/form-data"
                ),
            ));
        }
    };
    let hub_request = HubRequest {
        method,
        path,
        query,
        body: hub_body,
        idempotency_key: None,
    };
    let instance_header = HeaderValue::from(instance.id.0);
    let outcome = state.app.hub_call(&instance, &hub_request).await;
    let mut response = match outcome {
        Ok(reply) => {
            state
                .app
                .after_hub_call(&instance, &hub_request, &reply)
                .await;
            let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK);
            let status = if status == StatusCode::NO_CONTENT {
                StatusCode::OK
            } else {
                status
            };
            let mut response = (
                status,
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                reply.body,
            )
                .into_response();
            if let Some(token) = reply.next_page_token
                && let Ok(value) = HeaderValue::from_str(&token)
            {
                response
                    .headers_mut()
                    .insert("elements-next-page-token", value);
            }
            response
        }
        Err(error) => ApiError::from(error).into_response(),
    };
    response
        .headers_mut()
        .insert("elements-element-instance-id", instance_header);
    Ok(response)
}

fn multipart_error(error: axum::extract::multipart::MultipartError) -> ApiError {
    if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!(
                "the request body is over {} MiB",
                HUB_BODY_LIMIT / 1024 / 1024
            ),
        )
    } else {
        ApiError::bad_request(
            "body",
            format!("the multipart body is not readable: {}", error.body_text()),
        )
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
