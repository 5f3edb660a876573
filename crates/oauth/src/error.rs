use thiserror::Error;

#[derive(Debug, Error)]
pub enum OAuthError {
    /// The provider answered with an OAuth error (`invalid_grant`, `invalid_client`, …).
    #[error("the provider rejected the request: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Rejected {
        error: String,
        description: Option<String>,
    },
    /// The provider could not be reached or did not answer in time.
    #[error("the provider could not be reached: {0}")]
    Unreachable(String),
    /// The provider answered something that is not an OAuth token response.
    #[error("the provider's answer could not be understood: {0}")]
    UnexpectedResponse(String),
    /// The connector's OAuth settings are unusable (bad URL, …).
    #[error("OAuth configuration is invalid: {0}")]
    Configuration(String),
}

impl OAuthError {
    /// The grant itself is dead (revoked, expired, wrong code): only a new consent helps.
    pub fn is_invalid_grant(&self) -> bool {
        matches!(self, OAuthError::Rejected { error, .. } if error == "invalid_grant")
    }

    /// What the provider said, for `providerMessage`.
    pub fn provider_message(&self) -> Option<String> {
        match self {
            OAuthError::Rejected { error, description } => Some(match description {
                Some(description) => format!("{error}: {description}"),
                None => error.clone(),
            }),
            _ => None,
        }
    }
}
