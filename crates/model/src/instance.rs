//! Connector instances as stored: one authenticated account of a connector.

use crate::{InstanceId, OrganizationId, Secret, UserId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where an instance is in its authorization life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorizationState {
    /// Created by the hosted flow; waiting for the user to finish the provider's consent.
    Pending,
    /// Holds a working grant.
    Active,
    /// The provider rejected the grant (revoked, expired); the user must authorize again.
    NeedsReauthentication,
}

impl AuthorizationState {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorizationState::Pending => "pending",
            AuthorizationState::Active => "active",
            AuthorizationState::NeedsReauthentication => "needs_reauthentication",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "pending" => Some(AuthorizationState::Pending),
            "active" => Some(AuthorizationState::Active),
            "needs_reauthentication" => Some(AuthorizationState::NeedsReauthentication),
            _ => None,
        }
    }
}

/// An instance's OAuth grant. `access_expires_at_ms` is when the provider said the access token ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthGrant {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub access_expires_at_ms: Option<i64>,
    /// When ferry refreshes the access token: the connector's margin before expiry, but never
    /// earlier than halfway through the token's life (short-lived tokens would otherwise be
    /// refreshed on every call).
    pub refresh_due_at_ms: Option<i64>,
    pub scope: Option<String>,
}

/// An instance as the store returns it. Plain configuration values are readable; configuration
/// values that the connector marks secret live in `secret_configuration`.
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: InstanceId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub connector_key: String,
    pub name: String,
    pub tags: Vec<String>,
    pub configuration: BTreeMap<String, String>,
    pub secret_configuration: BTreeMap<String, Secret>,
    /// The instance token used in `Authorization: … Element <token>`.
    pub token: Secret,
    pub grant: Option<OAuthGrant>,
    /// Bumped every time the grant changes; lets a refresher tell whether someone else refreshed.
    pub grant_version: i64,
    /// The provider account the grant belongs to (Gmail: its address), once known.
    pub account: Option<String>,
    pub state: AuthorizationState,
    pub state_reason: Option<String>,
    pub disabled: bool,
    pub external_authentication: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}
