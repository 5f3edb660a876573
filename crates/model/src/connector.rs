//! Connector and provider definitions: the data a connector folder holds (`connectors/<key>/`),
//! after the provider's shared settings have been merged in. Every struct rejects unknown fields so
//! that a typo in a definition is an error, not a silently ignored setting.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// A shared auth provider (`providers/<key>.yaml`), e.g. Google: its endpoints and refresh rules are
/// declared once and deep-merged under the `auth` of every connector that names it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderDef {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Merged under a connector's `auth`; the connector's own values win.
    pub auth: Value,
}

/// One connector ("element" on the wire).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorDef {
    pub key: String,
    /// The numeric element id shown on the wire; stable across releases.
    pub id: i64,
    pub name: String,
    pub description: String,
    /// Cloud Elements hub (`general`, `crm`, …); the hub path segment of hub calls is optional.
    pub hub: String,
    /// The provider whose `auth` this connector inherits, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Origin (and optional path prefix) of the vendor API, e.g. `https://gmail.googleapis.com`.
    pub base_url: String,
    pub auth: AuthDef,
    #[serde(default)]
    pub configuration: Vec<ConfigFieldDef>,
    pub resources: Vec<ResourceDef>,
    /// How ferry learns which account an instance is connected to, once it is authorized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityDef>,
    /// JSON Schemas of the connector's objects, referenced from resources as `#/schemas/<Name>`.
    #[serde(default)]
    pub schemas: BTreeMap<String, Value>,
}

impl ConnectorDef {
    pub fn oauth2(&self) -> Option<&OAuth2Def> {
        match &self.auth {
            AuthDef::Oauth2(def) => Some(def),
            _ => None,
        }
    }

    pub fn configuration_field(&self, key: &str) -> Option<&ConfigFieldDef> {
        self.configuration.iter().find(|field| field.key == key)
    }
}

/// An operation whose reply names the connected account (Gmail: the profile's `emailAddress`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityDef {
    pub operation: String,
    /// JSON pointer of the account name in that operation's reply.
    pub account: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthDef {
    Oauth2(OAuth2Def),
    None(NoAuthDef),
}

impl AuthDef {
    /// The Cloud Elements name of the auth type (`oauth2`, `custom`).
    pub fn wire_type(&self) -> &'static str {
        match self {
            AuthDef::Oauth2(_) => "oauth2",
            AuthDef::None(_) => "custom",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoAuthDef {}

/// OAuth2 authorization code grant, as the provider implements it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Def {
    pub authorization_url: String,
    pub token_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke_url: Option<String>,
    /// How the client id and secret reach the token endpoint.
    #[serde(default)]
    pub client_auth: ClientAuthDef,
    /// Send a PKCE (S256) challenge when ferry hosts the consent.
    #[serde(default = "default_true")]
    pub pkce: bool,
    #[serde(default = "default_scope_separator")]
    pub scope_separator: String,
    #[serde(default)]
    pub default_scopes: Vec<String>,
    /// Extra query parameters of the authorization URL (Google: `access_type=offline`, `prompt=consent`).
    #[serde(default)]
    pub authorization_params: BTreeMap<String, String>,
    /// Refresh this many seconds before the access token's announced expiry.
    #[serde(default = "default_refresh_margin")]
    pub refresh_margin_seconds: u64,
    /// Used when the provider does not announce `expires_in`.
    #[serde(default = "default_access_lifetime")]
    pub default_access_lifetime_seconds: u64,
}

fn default_true() -> bool {
    true
}

fn default_scope_separator() -> String {
    " ".to_owned()
}

fn default_refresh_margin() -> u64 {
    300
}

fn default_access_lifetime() -> u64 {
    3600
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthDef {
    /// HTTP Basic with the client id and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    #[default]
    RequestBody,
}

/// A configuration field a user fills in when creating an instance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFieldDef {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub kind: ConfigFieldKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Shown only behind "Show Optional Fields" in the console.
    #[serde(default)]
    pub optional_in_console: bool,
    /// Filled in by ferry itself when the user leaves it empty (e.g. the callback URL of hosted consent).
    #[serde(default)]
    pub provided_by_ferry: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFieldKind {
    #[default]
    Text,
    /// Stored encrypted and masked in every response.
    Password,
    Boolean,
    TextArea,
}

impl ConfigFieldKind {
    /// Cloud Elements' field type names.
    pub fn wire_type(self) -> &'static str {
        match self {
            ConfigFieldKind::Text => "TEXTFIELD_1000",
            ConfigFieldKind::Password => "PASSWORD",
            ConfigFieldKind::Boolean => "BOOLEAN",
            ConfigFieldKind::TextArea => "TEXTAREA",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_uppercase().as_str() {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            "PUT" => Some(HttpMethod::Put),
            "PATCH" => Some(HttpMethod::Patch),
            "DELETE" => Some(HttpMethod::Delete),
            _ => None,
        }
    }
}

/// One operation of the normalized API: `method path` on ferry, mapped to a vendor call.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceDef {
    /// Stable operation id (OpenAPI `operationId`), unique per connector.
    pub operation: String,
    pub method: HttpMethod,
    /// Normalized path with `{name}` placeholders, e.g. `/messages/{id}`.
    pub path: String,
    pub summary: String,
    #[serde(default)]
    pub description: String,
    /// Grouping in the API docs (`messages`, `threads`, …).
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub parameters: Vec<ParameterDef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_body: Option<RequestBodyDef>,
    pub vendor: VendorRequestDef,
    /// A named Rust hook that builds the vendor request when mapping cannot express it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<String>,
    #[serde(default)]
    pub response: ResponseDef,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParameterDef {
    pub name: String,
    #[serde(rename = "in")]
    pub location: ParameterLocation,
    #[serde(default)]
    pub kind: ParameterKind,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
    /// The vendor's name for it, when it differs (`pageSize` → `maxResults`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum: Option<i64>,
    /// For `kind: ceql`: CEQL field name → vendor query parameter (`q` → `q`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub ceql_fields: BTreeMap<String, String>,
}

impl ParameterDef {
    pub fn vendor_name(&self) -> &str {
        self.vendor.as_deref().unwrap_or(&self.name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterLocation {
    Query,
    Path,
    Header,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterKind {
    #[default]
    String,
    Integer,
    Boolean,
    /// Repeatable; sent to the vendor as repeated query parameters.
    Array,
    /// A Cloud Elements query (`where=q='subject:foo'`), translated field by field.
    Ceql,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBodyDef {
    /// Media types accepted, e.g. `application/json`, `multipart/form-data`.
    pub content: Vec<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VendorRequestDef {
    pub method: HttpMethod,
    /// Vendor path relative to `base_url`, with the same `{name}` placeholders as the resource.
    pub path: String,
    /// Constant query parameters always sent.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseDef {
    /// JSON pointer of what ferry returns inside the vendor's reply (whole reply when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
    /// Returned when `root` is absent from the vendor's reply (Gmail omits empty lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when_missing: Option<Value>,
    /// JSON pointer of the vendor's next-page token, returned as `Elements-Next-Page-Token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_rejected() {
        let bad = serde_json::json!({
            "operation": "ping", "method": "GET", "path": "/ping", "summary": "Ping",
            "vendor": {"method": "GET", "path": "/x", "typo": 1}
        });
        let err = serde_json::from_value::<ResourceDef>(bad).unwrap_err();
        assert!(err.to_string().contains("typo"), "{err}");
    }

    #[test]
    fn auth_is_tagged_by_type() {
        let auth: AuthDef = serde_json::from_value(serde_json::json!({
            "type": "oauth2",
            "authorization_url": "https://a", "token_url": "https://t"
        }))
        .unwrap();
        let AuthDef::Oauth2(def) = auth else {
            panic!("not oauth2")
        };
        assert!(def.pkce);
        assert_eq!(def.refresh_margin_seconds, 300);
        assert_eq!(def.client_auth, ClientAuthDef::RequestBody);
    }
}
