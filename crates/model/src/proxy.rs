//! API proxies: an instance's normalized API published to other applications, the API keys those
//! applications call it with, and the record of every call.

use crate::{InstanceId, OrganizationId, ProxyId, ProxyKeyId};
use serde::{Deserialize, Serialize};

/// A token bucket: up to `requests` calls in any `seconds`-long window, refilled continuously.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RateLimit {
    /// Calls allowed per window; also the largest burst.
    pub requests: u32,
    /// The window, in seconds.
    pub seconds: u32,
}

impl RateLimit {
    /// Tokens added per millisecond.
    pub fn refill_per_ms(&self) -> f64 {
        f64::from(self.requests) / (f64::from(self.seconds) * 1000.0)
    }
}

/// What a key may do; absent lists allow everything the proxy exposes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyScopes {
    /// HTTP methods the key may call, e.g. `["GET"]` for a read-only key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub methods: Option<Vec<String>>,
    /// Operation ids the key may call (see the proxy's OpenAPI document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<String>>,
}

impl KeyScopes {
    pub fn allows(&self, method: &str, operation: &str) -> bool {
        self.methods
            .as_ref()
            .is_none_or(|methods| methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
            && self
                .operations
                .as_ref()
                .is_none_or(|operations| operations.iter().any(|o| o == operation))
    }
}

/// A published proxy as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Proxy {
    pub id: ProxyId,
    pub organization_id: OrganizationId,
    pub instance_id: InstanceId,
    pub name: String,
    /// The one path segment after `/proxies/`.
    pub base_path: String,
    /// Exposed operation ids; `None` exposes every operation of the connector.
    pub operations: Option<Vec<String>>,
    /// Browser origins allowed to call the proxy (`*` for any).
    pub cors_origins: Vec<String>,
    pub rate_limit: RateLimit,
    /// Calls per key per UTC day; `None` for no quota.
    pub daily_quota: Option<u32>,
    pub max_request_bytes: u64,
    pub published: bool,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Proxy {
    pub fn exposes(&self, operation: &str) -> bool {
        self.operations
            .as_ref()
            .is_none_or(|operations| operations.iter().any(|o| o == operation))
    }
}

/// An API key as stored: never the key itself, only its hash and the first characters.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyKey {
    pub id: ProxyKeyId,
    pub proxy_id: ProxyId,
    /// Who uses the key (a consuming application).
    pub name: String,
    /// The key's first characters, so a person can tell keys apart.
    pub prefix: String,
    pub key_hash: String,
    pub scopes: KeyScopes,
    /// Overrides the proxy's rate limit for this key.
    pub rate_limit: Option<RateLimit>,
    /// Overrides the proxy's daily quota for this key.
    pub daily_quota: Option<u32>,
    pub expires_at_ms: Option<i64>,
    pub revoked_at_ms: Option<i64>,
    pub created_at_ms: i64,
}

impl ProxyKey {
    pub fn usable_at(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none() && self.expires_at_ms.is_none_or(|at| now_ms < at)
    }
}

/// One call through a proxy, as recorded for usage figures. It names the key by id only.
#[derive(Debug, Clone, PartialEq)]
pub struct ProxyCall {
    pub proxy_id: ProxyId,
    /// `None` when the caller sent no valid key.
    pub key_id: Option<ProxyKeyId>,
    pub at_ms: i64,
    pub method: String,
    /// The operation id, or empty when the path named none.
    pub operation: String,
    pub status: u16,
    pub latency_us: i64,
    pub request_bytes: i64,
    pub response_bytes: i64,
}
