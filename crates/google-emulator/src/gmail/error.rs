//! Gmail's error answers: `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// One Gmail API failure, answered with Google's error body (boxed: errors travel in `Result`s).
#[derive(Debug, Clone)]
pub(crate) struct GmailError(Box<Detail>);

impl std::ops::Deref for GmailError {
    type Target = Detail;
    fn deref(&self) -> &Detail {
        &self.0
    }
}

impl std::ops::DerefMut for GmailError {
    fn deref_mut(&mut self) -> &mut Detail {
        &mut self.0
    }
}

/// What a Gmail error says.
#[derive(Debug, Clone)]
pub(crate) struct Detail {
    pub code: u16,
    pub message: String,
    pub domain: &'static str,
    pub reason: &'static str,
    pub status: &'static str,
    pub location: Option<(&'static str, &'static str)>,
    pub retry_after: Option<u64>,
    pub www_authenticate: Option<String>,
    pub extended_help: Option<&'static str>,
}

const INVALID_CREDENTIALS: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const MISSING_CREDENTIALS: &str = "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";

impl GmailError {
    fn new(
        code: u16,
        message: impl Into<String>,
        reason: &'static str,
        status: &'static str,
    ) -> Self {
        Self(Box::new(Detail {
            code,
            message: message.into(),
            domain: "global",
            reason,
            status,
            location: None,
            retry_after: None,
            www_authenticate: None,
            extended_help: None,
        }))
    }

    pub(crate) fn missing_credentials() -> Self {
        let mut e = Self::new(401, MISSING_CREDENTIALS, "required", "UNAUTHENTICATED");
        e.location = Some(("Authorization", "header"));
        e.www_authenticate = Some("Bearer realm=\"https://accounts.google.com/\"".into());
        e
    }

    pub(crate) fn invalid_credentials() -> Self {
        let mut e = Self::new(401, INVALID_CREDENTIALS, "authError", "UNAUTHENTICATED");
        e.location = Some(("Authorization", "header"));
        e.www_authenticate =
            Some("Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"".into());
        e
    }

    pub(crate) fn insufficient_scopes() -> Self {
        let mut e = Self::new(
            403,
            "Request had insufficient authentication scopes.",
            "insufficientPermissions",
            "PERMISSION_DENIED",
        );
        e.www_authenticate = Some(
            "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\", scope=\"https://mail.google.com/\"".into(),
        );
        e
    }

    pub(crate) fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message, "forbidden", "PERMISSION_DENIED")
    }

    /// A token of a client whose project has not enabled the Gmail API.
    pub(crate) fn access_not_configured(project_number: u64) -> Self {
        let mut e = Self::new(
            403,
            format!(
                "Gmail API has not been used in project {project_number} before or it is disabled. Enable it by visiting https://console.developers.google.com/apis/api/gmail.googleapis.com/overview?project={project_number} then retry. If you enabled this API recently, wait a few minutes for the action to propagate to our systems and retry."
            ),
            "accessNotConfigured",
            "PERMISSION_DENIED",
        );
        e.domain = "usageLimits";
        e.extended_help = Some("https://console.developers.google.com");
        e
    }

    pub(crate) fn delegation_denied(user: &str) -> Self {
        Self::forbidden(format!("Delegation denied for {user}"))
    }

    pub(crate) fn not_found() -> Self {
        Self::new(
            404,
            "Requested entity was not found.",
            "notFound",
            "NOT_FOUND",
        )
    }

    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(400, message, "invalidArgument", "INVALID_ARGUMENT")
    }

    pub(crate) fn invalid_id() -> Self {
        Self::invalid_argument("Invalid id value")
    }

    pub(crate) fn invalid_query() -> Self {
        Self::invalid_argument("Invalid query")
    }

    pub(crate) fn invalid_label(label: &str) -> Self {
        Self::invalid_argument(format!("Invalid label: {label}"))
    }

    /// A query parameter the method does not have, worded as Google's front end words it.
    pub(crate) fn unknown_parameter(name: &str) -> Self {
        let mut e = Self::invalid_argument(format!(
            "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. Field '{name}' could not be found in request message."
        ));
        e.reason = "invalid";
        e
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message, "duplicate", "ALREADY_EXISTS")
    }

    /// The answer of an injected `Fault::Status`.
    pub(crate) fn injected(status: u16, retry_after: Option<u64>) -> Self {
        let mut e = match status {
            429 => {
                let mut e = Self::new(
                    429,
                    "User-rate limit exceeded.",
                    "rateLimitExceeded",
                    "RESOURCE_EXHAUSTED",
                );
                e.domain = "usageLimits";
                e
            }
            500 => Self::new(500, "Backend Error", "backendError", "INTERNAL"),
            503 => Self::new(
                503,
                "The service is currently unavailable.",
                "backendError",
                "UNAVAILABLE",
            ),
            400 => Self::invalid_argument("Bad Request"),
            401 => Self::invalid_credentials(),
            // Gmail's transient 403 is its per-user rate limit.
            403 => {
                let mut e = Self::new(
                    403,
                    "User Rate Limit Exceeded",
                    "userRateLimitExceeded",
                    "PERMISSION_DENIED",
                );
                e.domain = "usageLimits";
                e
            }
            404 => Self::not_found(),
            502 => Self::new(502, "Bad Gateway", "backendError", "UNAVAILABLE"),
            504 => Self::new(
                504,
                "Deadline exceeded.",
                "deadlineExceeded",
                "DEADLINE_EXCEEDED",
            ),
            other => Self::new(other, "Injected failure", "backendError", "UNKNOWN"),
        };
        e.retry_after = retry_after;
        e
    }

    pub(crate) fn body(&self) -> serde_json::Value {
        let mut item = serde_json::json!({
            "message": self.message,
            "domain": self.domain,
            "reason": self.reason,
        });
        if let Some(help) = self.extended_help {
            item["extendedHelp"] = help.into();
        }
        if let Some((location, kind)) = self.location {
            item["location"] = location.into();
            item["locationType"] = kind.into();
        }
        serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [item],
                "status": self.status,
            }
        })
    }
}

impl IntoResponse for GmailError {
    fn into_response(self) -> Response {
        let body = serde_json::to_string_pretty(&self.body()).unwrap_or_default();
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        headers.insert(
            header::VARY,
            HeaderValue::from_static("Origin, X-Origin, Referer"),
        );
        if let Some(secs) = self.retry_after
            && let Ok(v) = HeaderValue::from_str(&secs.to_string())
        {
            headers.insert(header::RETRY_AFTER, v);
        }
        if let Some(w) = &self.www_authenticate
            && let Ok(v) = HeaderValue::from_str(w)
        {
            headers.insert(header::WWW_AUTHENTICATE, v);
        }
        response
    }
}
