use thiserror::Error;

#[derive(Debug, Error)]
pub enum ConnectorError {
    /// A definition file is not valid; `location` names the file and the field.
    #[error("{location}: {message}")]
    InvalidDefinition { location: String, message: String },

    /// A catalog change collides with what exists (a bundled connector's key, another's id).
    #[error("{0}")]
    Conflict(String),

    /// No operation of the connector matches the method and path.
    #[error("{method} {path} is not an operation of the {connector} connector")]
    NoSuchOperation {
        connector: String,
        method: String,
        path: String,
    },

    /// The caller's input is wrong; `field` names what.
    #[error("{message}")]
    InvalidInput {
        field: Option<String>,
        message: String,
    },

    /// The path names an object that cannot exist (e.g. a malformed id).
    #[error("{message}")]
    NotFound { message: String },

    /// ferry's own pacing under the vendor's quota would have to wait too long.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after_secs: u64,
    },

    #[error("{what} is {actual} bytes, over the limit of {limit} bytes")]
    PayloadTooLarge {
        what: String,
        limit: usize,
        actual: usize,
    },

    /// The vendor answered with an error status.
    #[error("the provider answered {status}: {message}")]
    Provider {
        status: u16,
        message: String,
        provider_message: Option<String>,
        retry_after_secs: Option<u64>,
    },

    #[error("the provider could not be reached: {0}")]
    Unreachable(String),

    #[error("the provider did not answer within {0} s")]
    Timeout(u64),

    /// A JavaScript hook of the definition failed (threw, timed out, gave a wrong shape).
    #[error("the connector's script {script:?} failed: {message}")]
    ScriptFailed { script: String, message: String },

    /// A webhook delivery's signature is missing, malformed or wrong, or its signed timestamp is
    /// too old; `field` names the header (or the configuration field) at fault.
    #[error("{message}")]
    SignatureRefused { field: String, message: String },

    #[error(transparent)]
    Credentials(#[from] crate::CredentialsError),
}

impl ConnectorError {
    pub(crate) fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConnectorError::InvalidInput {
            field: Some(field.into()),
            message: message.into(),
        }
    }
}
