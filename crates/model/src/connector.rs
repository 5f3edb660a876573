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
    /// How ferry learns of changes in the provider account, for `event` triggers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<EventsDef>,
    /// JSON Schemas of the connector's objects, referenced from resources as `#/schemas/<Name>`.
    /// A `schemas.yaml` next to the definition is merged in (a mapping of name → schema).
    #[serde(default)]
    pub schemas: BTreeMap<String, Value>,
    /// The vendor's rate budget, when it counts calls in units (Gmail: 15,000 per user per minute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota: Option<QuotaDef>,
}

/// A vendor's rate budget in its own units. ferry spends `quota_cost` units of an operation before
/// each vendor call and waits when the budget of the minute is spent, instead of tripping the
/// vendor's limit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotaDef {
    pub units_per_minute: u32,
    /// Whose budget a call spends.
    #[serde(default)]
    pub per: QuotaScope,
    /// A call that would have to wait longer than this is answered 429 with `Retry-After` instead.
    #[serde(default = "default_max_quota_wait")]
    pub max_wait_seconds: u64,
}

fn default_max_quota_wait() -> u64 {
    30
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    /// The connected account (Gmail counts per user): instances of one account share a budget.
    #[default]
    Account,
    /// Each instance has its own budget.
    Instance,
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

/// Polling for changes: a named hook asks the provider what changed since a stored cursor.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsDef {
    pub polling_hook: String,
    /// The object type events name (`messages`).
    pub object_type: String,
    /// Seconds between polls of one instance.
    #[serde(default = "default_poll_interval")]
    pub interval_seconds: u64,
}

fn default_poll_interval() -> u64 {
    60
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
    /// Named Rust hooks for what mapping cannot express.
    #[serde(default, skip_serializing_if = "HooksDef::is_empty")]
    pub hooks: HooksDef,
    #[serde(default)]
    pub response: ResponseDef,
    /// Units of the connector's `quota` one vendor call of this operation spends.
    #[serde(default = "default_quota_cost")]
    pub quota_cost: u32,
}

fn default_quota_cost() -> u32 {
    1
}

/// The hooks of one operation, by the stage they run in; each names a hook in
/// `crates/connectors/src/hooks/`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HooksDef {
    /// Run in order before anything is sent: they check the normalized request and may rewrite it
    /// (e.g. label names → label ids); they may read the vendor through other operations.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub before: Vec<String>,
    /// Builds the vendor request body (e.g. an RFC 5322 message from `{to, subject, data}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<String>,
    /// Reshapes the vendor's reply, after `response.root` (e.g. a readable view of a message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
}

impl HooksDef {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty() && self.request.is_none() && self.response.is_none()
    }

    /// Every hook named, with the stage it is named in.
    pub fn named(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.before
            .iter()
            .map(|name| ("before", name.as_str()))
            .chain(self.request.iter().map(|name| ("request", name.as_str())))
            .chain(self.response.iter().map(|name| ("response", name.as_str())))
    }
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
    /// A regular expression the whole value must match. A path value that does not match names
    /// no object (404); a query value that does not is a bad request (400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
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
    /// JSON Schema of a JSON body; the runtime checks bodies against it before calling the vendor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// The parts of a `multipart/form-data` body (documentation; hooks read them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub form_parts: Vec<FormPartDef>,
}

/// One part of a `multipart/form-data` request body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormPartDef {
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// The part holds JSON matching this schema (e.g. the message fields of a send).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// The part may repeat (e.g. one `file` part per attachment).
    #[serde(default)]
    pub repeated: bool,
    /// The part is a file upload.
    #[serde(default)]
    pub file: bool,
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
    /// The vendor's JSON body, when it is not the caller's: a template whose string values
    /// `"{name}"` are replaced by path values; the caller's JSON fields, if any, are added to it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// A list in the caller's body longer than the vendor takes is sent in several calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitDef>,
}

/// Splits one call into several: the top-level list `field` of the JSON body is sent in chunks
/// of at most `max_items` (Gmail's `batchModify` takes 1,000 ids).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitDef {
    pub field: String,
    pub max_items: usize,
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
