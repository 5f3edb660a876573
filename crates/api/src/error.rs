//! The one error body of ferry: `{"requestId", "message", "code", "providerMessage"?}` —
//! Cloud Elements' shape plus a stable machine-readable `code`.

use crate::request_id;
use axum::Json;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_app::AppError;
use serde::Serialize;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub provider_message: Option<String>,
    pub field: Option<String>,
    pub retry_after_secs: Option<u64>,
    /// Every problem of an invalid flow, each naming its step and property.
    pub problems: Option<Box<Vec<Problem>>>,
}

/// One problem of a flow definition, where it is.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

/// The body of every failure.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Error)]
pub(crate) struct ErrorBody<'a> {
    /// Names the request in ferry's log (also the `Elements-Request-Id` header).
    request_id: String,
    /// What went wrong, for a person.
    message: &'a str,
    /// What went wrong, for a program: `invalid_input`, `not_found`, `unauthenticated`,
    /// `credentials_refused`, `connector_missing`, …
    code: &'a str,
    /// The provider's own words, when the provider refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    provider_message: Option<&'a str>,
    /// The field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    /// Every problem of an invalid flow.
    #[serde(skip_serializing_if = "<[Problem]>::is_empty")]
    #[schema(required = false)]
    problems: &'a [Problem],
    /// The execution that failed, when a synchronous webhook's flow did not succeed
    /// (`flow_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    execution_id: Option<i64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            provider_message: None,
            field: None,
            retry_after_secs: None,
            problems: None,
        }
    }

    pub fn bad_request(field: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            field: Some(field.into()),
            ..ApiError::new(StatusCode::BAD_REQUEST, "invalid_input", message)
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", message)
    }
}

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        let message = error.to_string();
        let status = StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_GATEWAY);
        match error {
            AppError::Unauthenticated(_) => ApiError::new(status, "unauthenticated", message),
            AppError::SignatureRefused { field, .. } => ApiError {
                field: Some(field),
                ..ApiError::new(status, "invalid_signature", message)
            },
            AppError::Forbidden(_) => ApiError::new(status, "forbidden", message),
            AppError::NotFound(_) => ApiError::new(status, "not_found", message),
            AppError::InvalidInput { field, .. } => ApiError {
                field,
                ..ApiError::new(status, "invalid_input", message)
            },
            AppError::Conflict(_) => ApiError::new(status, "conflict", message),
            AppError::ConnectorMissing { .. } => {
                ApiError::new(status, "connector_missing", message)
            }
            AppError::CredentialsRefused {
                fields,
                provider_message,
                ..
            } => ApiError {
                // One field is the one to fix; of several (a user name and a password), any may be.
                field: Some(match fields.as_slice() {
                    [one] => one.clone(),
                    _ => "configuration".to_owned(),
                }),
                provider_message,
                ..ApiError::new(status, "credentials_refused", message)
            },
            AppError::PayloadTooLarge(_) => ApiError::new(status, "payload_too_large", message),
            AppError::NeedsReauthentication { .. } => {
                ApiError::new(status, "needs_reauthentication", message)
            }
            AppError::Provider {
                provider_message,
                retry_after_secs,
                ..
            } => ApiError {
                provider_message,
                retry_after_secs,
                ..ApiError::new(status, "provider_error", message)
            },
            AppError::RateLimited {
                retry_after_secs, ..
            } => ApiError {
                retry_after_secs: Some(retry_after_secs),
                ..ApiError::new(status, "rate_limited", message)
            },
            AppError::Unavailable(_) => ApiError::new(status, "unavailable", message),
            AppError::InvalidFlow { problems } => {
                let first = problems.first();
                ApiError {
                    field: first.map(|p| match (&p.step, &p.property) {
                        (Some(step), Some(property)) => format!("steps.{step}.{property}"),
                        (Some(step), None) => format!("steps.{step}"),
                        (None, Some(property)) => property.clone(),
                        (None, None) => "body".into(),
                    }),
                    problems: Some(
                        problems
                            .into_iter()
                            .map(|p| Problem {
                                step: p.step,
                                property: p.property,
                                message: p.message,
                                line: p.line,
                                column: p.column,
                            })
                            .collect::<Vec<_>>()
                            .into(),
                    ),
                    ..ApiError::new(status, "invalid_flow", message)
                }
            }
            AppError::Internal(detail) => {
                // The detail (database errors included) goes to the log, never to the client.
                tracing::error!(error = %detail, "internal error");
                ApiError::new(
                    status,
                    "internal",
                    "ferry failed to handle the request; the request id identifies it in ferry's log",
                )
            }
        }
    }
}

impl ApiError {
    /// The answer of a synchronous webhook whose flow did not succeed: 502 `flow_failed`, with
    /// the execution's id in the body.
    pub(crate) fn flow_failed(message: impl Into<String>, execution_id: i64) -> Response {
        ApiError::new(StatusCode::BAD_GATEWAY, "flow_failed", message).respond(Some(execution_id))
    }

    fn respond(self, execution_id: Option<i64>) -> Response {
        let body = ErrorBody {
            request_id: request_id::current(),
            message: &self.message,
            code: self.code,
            provider_message: self.provider_message.as_deref(),
            field: self.field.as_deref(),
            problems: self
                .problems
                .as_deref()
                .map(Vec::as_slice)
                .unwrap_or_default(),
            execution_id,
        };
        let mut response = (self.status, Json(&body)).into_response();
        if let Some(seconds) = self.retry_after_secs
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert("retry-after", value);
        }
        if let Ok(value) = HeaderValue::from_str(self.code) {
            response.headers_mut().insert("elements-error", value);
        }
        response
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        self.respond(None)
    }
}
