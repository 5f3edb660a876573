//! Extractors whose rejections are ferry's error body, not axum's plain text.

use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use ferry_app::{AuthorizationParts, Principal};
use serde::de::DeserializeOwned;

/// A JSON body; malformed JSON is a 400 that says where.
pub(crate) struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

pub(crate) fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body as JSON with Content-Type: application/json",
        ),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(
            "body",
            format!("the body is not valid JSON: {}", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => ApiError::bad_request(
            "body",
            format!(
                "the body does not have the expected shape: {}",
                e.body_text()
            ),
        ),
        JsonRejection::BytesRejection(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        }
        other => ApiError::bad_request("body", other.body_text()),
    }
}

/// The parts of the `Authorization` header (possibly none).
pub(crate) fn authorization_parts(parts: &Parts) -> Result<AuthorizationParts, ApiError> {
    match parts.headers.get(axum::http::header::AUTHORIZATION) {
        None => Ok(AuthorizationParts::default()),
        Some(value) => {
            let text = value.to_str().map_err(|_| {
                ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "unauthenticated",
                    "the Authorization header is not readable text",
                )
            })?;
            Ok(AuthorizationParts::parse(text)?)
        }
    }
}

/// A caller authenticated with User and Organization secrets.
pub(crate) struct Caller(pub std::sync::Arc<Principal>);

/// A request a flow makes to ferry's own API, in process, as the flow's owner. Only the platform
/// adapter sets it; requests from the network cannot carry extensions.
#[derive(Clone)]
pub(crate) struct InternalCaller(pub std::sync::Arc<Principal>);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &ApiState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(InternalCaller(principal)) = parts.extensions.get::<InternalCaller>() {
            return Ok(Caller(principal.clone()));
        }
        let header = authorization_parts(parts)?;
        Ok(Caller(state.app.authenticate(&header).await?))
    }
}
