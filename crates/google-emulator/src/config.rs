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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthClientSeed {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uris: Vec<String>,
    pub app_name: String,
    pub verified: bool,
}
