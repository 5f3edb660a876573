use ferry_connectors::{ConnectorError, CredentialsError};
use ferry_engine::FlowProblem;
use ferry_model::InstanceId;
use ferry_oauth::OAuthError;
use ferry_store::StoreError;
use thiserror::Error;

/// Every way a use case can fail, in terms a caller can act on. The HTTP edge maps each variant to
/// one status; `Internal` carries detail for the log only.
#[derive(Debug, Error)]
pub enum AppError {
    #[error("{0}")]
    Unauthenticated(String),
    /// A webhook delivery whose signature is missing, wrong or too old; `field` names the header
    /// (or the instance's configuration field) at fault.
    #[error("{message}")]
    SignatureRefused { field: String, message: String },
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    InvalidInput {
        field: Option<String>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    /// The instance's connector is no longer installed (its folder taken out of the connectors
    /// directory, its stored definition no longer loading, or deleted by a process that had not
    /// yet seen the instance): the instance can be read and deleted, not used.
    #[error("instance {instance}: {}", connector_missing_reason(connector))]
    ConnectorMissing {
        instance: InstanceId,
        connector: String,
    },
    /// The vendor refused the credentials an instance was being created with; `fields` are the
    /// configuration fields holding them.
    #[error("{message}")]
    CredentialsRefused {
        fields: Vec<String>,
        message: String,
        provider_message: Option<String>,
    },
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The instance's grant was revoked or expired at the provider.
    #[error("{message}")]
    NeedsReauthentication { message: String },
    /// The provider refused or failed; `status` is the status to answer with.
    #[error("{message}")]
    Provider {
        status: u16,
        message: String,
        provider_message: Option<String>,
        retry_after_secs: Option<u64>,
    },
    #[error("{0}")]
    Unavailable(String),
    /// ferry holds the call back to stay under the provider's quota; retry after the given time.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },
    /// A flow definition with problems, each naming its step and property.
    #[error("the flow is not valid: {}", problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    InvalidFlow { problems: Vec<FlowProblem> },
    #[error("internal error: {0}")]
    Internal(String),
}

/// What an instance whose connector is gone says about itself, in its state and its errors.
pub fn connector_missing_reason(connector: &str) -> String {
    format!(
        "its connector {connector} is no longer installed; add the connector again or delete the instance"
    )
}

impl AppError {
    /// The HTTP status this error answers with, wherever it is answered: the API's error body
    /// and a flow step's recorded exchange both take it from here.
    pub fn http_status(&self) -> u16 {
        match self {
            AppError::Unauthenticated(_)
            | AppError::NeedsReauthentication { .. }
            | AppError::SignatureRefused { .. } => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::InvalidInput { .. }
            | AppError::InvalidFlow { .. }
            | AppError::CredentialsRefused { .. } => 400,
            AppError::Conflict(_) | AppError::ConnectorMissing { .. } => 409,
            AppError::PayloadTooLarge(_) => 413,
            AppError::RateLimited { .. } => 429,
            AppError::Provider { status, .. } => *status,
            AppError::Unavailable(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    pub(crate) fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        AppError::InvalidInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => AppError::Conflict(format!("{what} already exists")),
            other => AppError::Internal(other.to_string()),
        }
    }
}

impl From<CredentialsError> for AppError {
    fn from(error: CredentialsError) -> Self {
        match error {
            CredentialsError::NeedsReauthentication(reason) => AppError::NeedsReauthentication {
                message: format!(
                    "the instance needs to be re-authenticated: the provider rejected its grant ({reason})"
                ),
            },
            CredentialsError::Unavailable(reason) => AppError::Unavailable(format!(
                "no access token could be obtained from the provider: {reason}"
            )),
        }
    }
}

impl From<ConnectorError> for AppError {
    fn from(error: ConnectorError) -> Self {
        match error {
            ConnectorError::InvalidInput { field, message } => {
                AppError::InvalidInput { field, message }
            }
            ConnectorError::NoSuchOperation { .. } => AppError::NotFound(error.to_string()),
            ConnectorError::NotFound { message } => AppError::NotFound(message),
            ConnectorError::RateLimited {
                message,
                retry_after_secs,
            } => AppError::RateLimited {
                message,
                retry_after_secs,
            },
            ConnectorError::PayloadTooLarge { .. } => AppError::PayloadTooLarge(error.to_string()),
            ConnectorError::Provider {
                status,
                message,
                provider_message,
                retry_after_secs,
            } => AppError::Provider {
                // A provider's own failure is not ferry's: answer 502, not 500.
                status: if status >= 500 { 502 } else { status },
                message,
                provider_message,
                retry_after_secs,
            },
            ConnectorError::Unreachable(_) => AppError::Provider {
                status: 502,
                message: error.to_string(),
                provider_message: None,
                retry_after_secs: None,
            },
            ConnectorError::Timeout(_) => AppError::Provider {
                status: 504,
                message: error.to_string(),
                provider_message: None,
                retry_after_secs: None,
            },
            ConnectorError::Credentials(credentials) => credentials.into(),
            ConnectorError::Conflict(message) => AppError::Conflict(message),
            // The connector's own code failed, not the caller: answered like a failing provider.
            ConnectorError::ScriptFailed { .. } => AppError::Provider {
                status: 502,
                message: error.to_string(),
                provider_message: None,
                retry_after_secs: None,
            },
            ConnectorError::SignatureRefused { field, message } => {
                AppError::SignatureRefused { field, message }
            }
            ConnectorError::InvalidDefinition { .. } => AppError::Internal(error.to_string()),
        }
    }
}

/// An OAuth failure while exchanging a code or refresh token the *caller* supplied.
pub(crate) fn grant_refused(error: OAuthError, what: &str) -> AppError {
    match error {
        OAuthError::Rejected { .. } => AppError::Provider {
            status: 400,
            message: format!("the provider did not accept the {what}"),
            provider_message: error.provider_message(),
            retry_after_secs: None,
        },
        OAuthError::Unreachable(reason) => AppError::Provider {
            status: 502,
            message: format!("the provider's token endpoint could not be reached: {reason}"),
            provider_message: None,
            retry_after_secs: None,
        },
        OAuthError::UnexpectedResponse(reason) => AppError::Provider {
            status: 502,
            message: format!(
                "the provider's token endpoint answered something unexpected: {reason}"
            ),
            provider_message: None,
            retry_after_secs: None,
        },
        OAuthError::Configuration(reason) => AppError::input("configuration", reason),
    }
}
