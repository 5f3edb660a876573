//! Operator configuration: hosted accounts, registered OAuth clients, token lifetimes.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// How an [`crate::Emulator`] starts.
#[derive(Debug, Clone)]
pub struct EmulatorConfig {
    /// Hosted Google accounts.
    pub accounts: Vec<AccountSeed>,
    /// Registered OAuth clients.
    pub clients: Vec<OAuthClientSeed>,
    /// Lifetime of access tokens (Google: 3599–3600 s).
    pub access_token_lifetime: Duration,
    /// Lifetime of authorization codes.
    pub authorization_code_lifetime: Duration,
    /// Put a few realistic welcome mails in each inbox at start.
    pub seed_demo_mail: bool,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            accounts: Vec::new(),
            clients: Vec::new(),
            access_token_lifetime: Duration::from_secs(3600),
            authorization_code_lifetime: Duration::from_secs(600),
            seed_demo_mail: true,
        }
    }
}

/// A hosted Google account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSeed {
    pub email: String,
    pub display_name: String,
}

/// A registered OAuth client ("Web application" credentials in the Google console).
/// `Debug` prints the secret redacted.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClientSeed {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub app_name: String,
    pub verified: bool,
}

impl std::fmt::Debug for OAuthClientSeed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientSeed")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[redacted]")
            .field("redirect_uris", &self.redirect_uris)
            .field("app_name", &self.app_name)
            .field("verified", &self.verified)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_client_secret() {
        let seed = OAuthClientSeed {
            client_id: "id".into(),
            client_secret: "very-secret".into(),
            redirect_uris: vec![],
            app_name: "App".into(),
            verified: false,
        };
        let printed = format!("{seed:?}");
        assert!(!printed.contains("very-secret") && printed.contains("[redacted]"));
    }
}
