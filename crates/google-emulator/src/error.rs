//! The crate's one error type.

/// Everything that can go wrong in the emulator outside of an HTTP answer to a client
/// (HTTP answers carry Google's own error bodies and are built in `gmail::error` and `oauth::token`).
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// The named account is not hosted by this emulator.
    #[error("unknown account: {0}")]
    UnknownAccount(String),
    /// No project of the developer console has this id.
    #[error("unknown project: {0}")]
    UnknownProject(String),
    /// A control-API or configuration value is invalid; `field` names the offending field.
    #[error("invalid {field}: {message}")]
    InvalidField {
        field: &'static str,
        message: String,
    },
    /// An account or client with this key already exists.
    #[error("{kind} already exists: {key}")]
    AlreadyExists { kind: &'static str, key: String },
    /// The bytes are not an RFC 822 message the emulator can store.
    #[error("invalid message: {0}")]
    InvalidMessage(String),
    /// Binding or serving the listener failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}
