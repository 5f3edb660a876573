//! Connector and provider definitions: the data a connector folder holds (`connectors/<key>/`),
//! after the provider's shared settings have been merged in. Every struct rejects unknown fields so
//! that a typo in a definition is an error, not a silently ignored setting.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

mod events;

pub use events::{
    EventKind, EventsDef, PollingDef, SignatureAlgorithm, SignatureEncoding, WebhookDef,
    WebhookSignatureDef,
};

/// A shared auth provider (`providers/<key>.yaml`), e.g. Google: its endpoints and refresh rules are
/// declared once and deep-merged under the `auth` of every connector that names it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// It may name configuration fields as `{key}` (e.g. `https://{subdomain}.example.com/api`):
    /// each instance's values are filled in per call.
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
    /// How the vendor's error replies read and which become which status.
    #[serde(default, skip_serializing_if = "ErrorsDef::is_empty")]
    pub errors: ErrorsDef,
    /// JavaScript hooks by name, for what mapping cannot express: each is the body of
    /// `function (trigger, steps, info, config, done)`, run in the flow scripts' sandbox and named
    /// from a resource's `hooks.pre_request` / `hooks.post_request`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub scripts: BTreeMap<String, String>,
}

/// Declarative error mapping: where a vendor's error body holds its message and code, and rules
/// that turn a vendor status (and optionally a code) into the status and message ferry answers.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorsDef {
    /// JSON pointer of the vendor's own message in an error body (tried before the usual places).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// JSON pointer of the vendor's error code in an error body, matched by `rules[].code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Tried in order; the first that matches decides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ErrorRuleDef>,
}

impl ErrorsDef {
    pub fn is_empty(&self) -> bool {
        self.message.is_none() && self.code.is_none() && self.rules.is_empty()
    }
}

/// One error mapping rule: a vendor status (and code, when given) → ferry's status and message.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ErrorRuleDef {
    /// The vendor's HTTP status this rule applies to.
    pub vendor_status: u16,
    /// The vendor's error code (at `errors.code`) this rule applies to; any when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The status ferry answers (400–599).
    pub status: u16,
    /// ferry's sentence for it; the vendor's words stay in `providerMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A vendor's rate budget in its own units. ferry spends `quota_cost` units of an operation before
/// each vendor call and waits when the budget of the minute is spent, instead of tripping the
/// vendor's limit.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum QuotaScope {
    /// The connected account (Gmail counts per user): instances of one account share a budget.
    #[default]
    Account,
    /// Each instance has its own budget.
    Instance,
}

impl ConnectorDef {
    /// The JSON Schema (2020-12) of a connector definition, generated from these types: what
    /// editors and `GET /connector-definition.schema.json` offer, and
    /// `docs/connector-definition.schema.json` holds.
    pub fn json_schema() -> Value {
        use utoipa::{PartialSchema, ToSchema};
        let mut named = Vec::new();
        <ConnectorDef as ToSchema>::schemas(&mut named);
        let mut defs = serde_json::Map::new();
        for (name, schema) in named {
            defs.insert(
                name,
                serde_json::to_value(schema).expect("schemas serialize"),
            );
        }
        defs.insert(
            "ConnectorDef".into(),
            serde_json::to_value(<ConnectorDef as PartialSchema>::schema())
                .expect("schemas serialize"),
        );
        inline_tagged_variants(&mut defs);
        let mut document = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "ferry connector definition",
            "description": "A connector: auth, configuration, resources, pagination, error mapping (docs/connectors.md).",
            "$ref": "#/$defs/ConnectorDef",
            "$defs": defs,
        });
        relocate_refs(&mut document);
        document
    }

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

/// A tagged enum's variant is `allOf: [{$ref: X}, {properties: {type: …}}]`, which a struct that
/// denies unknown fields (`additionalProperties: false`) would refuse for its tag: each such
/// variant becomes X itself with the tag among its properties.
fn inline_tagged_variants(defs: &mut serde_json::Map<String, Value>) {
    let originals = defs.clone();
    for def in defs.values_mut() {
        let Some(Value::Array(variants)) = def.get_mut("oneOf") else {
            continue;
        };
        for variant in variants.iter_mut() {
            let Some(Value::Array(parts)) = variant.get("allOf") else {
                continue;
            };
            let [reference, tag] = parts.as_slice() else {
                continue;
            };
            let Some(name) = reference["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                continue;
            };
            let (Some(mut inlined), Some(tag_properties), Some(tag_required)) = (
                originals.get(name).cloned(),
                tag["properties"].as_object(),
                tag["required"].as_array(),
            ) else {
                continue;
            };
            if let Some(properties) = inlined["properties"].as_object_mut() {
                properties.extend(tag_properties.clone());
            } else {
                inlined["properties"] = Value::Object(tag_properties.clone());
            }
            match inlined["required"].as_array_mut() {
                Some(required) => required.extend(tag_required.iter().cloned()),
                None => inlined["required"] = Value::Array(tag_required.clone()),
            }
            if let Some(description) = variant.get("description").cloned() {
                inlined["description"] = description;
            }
            *variant = inlined;
        }
    }
}

/// OpenAPI's `#/components/schemas/X` references → JSON Schema's `#/$defs/X`.
fn relocate_refs(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if key == "$ref"
                    && let Value::String(target) = field
                    && let Some(name) = target.strip_prefix("#/components/schemas/")
                {
                    *target = format!("#/$defs/{name}");
                } else {
                    relocate_refs(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(relocate_refs),
        _ => {}
    }
}

/// An operation whose reply names the connected account (Gmail: the profile's `emailAddress`).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IdentityDef {
    pub operation: String,
    /// JSON pointer of the account name in that operation's reply.
    pub account: String,
}

/// How calls to the vendor are authenticated, tagged by `type`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuthDef {
    /// OAuth2: the authorization-code grant (with or without PKCE) or the client-credentials grant.
    Oauth2(OAuth2Def),
    /// A key the user fills in, sent in a header or a query parameter.
    ApiKey(ApiKeyDef),
    /// HTTP Basic with a user name and password the user fills in.
    Basic(BasicAuthDef),
    /// Nothing is added to vendor calls.
    None(NoAuthDef),
}

impl AuthDef {
    /// The Cloud Elements name of the auth type (`oauth2`, `basic`, `custom`).
    pub fn wire_type(&self) -> &'static str {
        match self {
            AuthDef::Oauth2(_) => "oauth2",
            AuthDef::Basic(_) => "basic",
            AuthDef::ApiKey(_) | AuthDef::None(_) => "custom",
        }
    }

    /// The configuration fields this auth reads its values from.
    pub fn configuration_keys(&self) -> Vec<(&'static str, &str)> {
        match self {
            AuthDef::ApiKey(def) => vec![("auth.field", def.field.as_str())],
            AuthDef::Basic(def) => vec![
                ("auth.username_field", def.username_field.as_str()),
                ("auth.password_field", def.password_field.as_str()),
            ],
            AuthDef::Oauth2(_) | AuthDef::None(_) => Vec::new(),
        }
    }
}

/// An API key from the instance's configuration, sent with every vendor call.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyDef {
    /// Where the key goes.
    #[serde(rename = "in")]
    pub placement: ApiKeyPlacement,
    /// The header or query parameter name (`X-Api-Key`, `api_key`).
    pub name: String,
    /// Written before the key, e.g. `"Token "` for `Authorization: Token <key>`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// The configuration field (declared in `configuration`, kind `password`) holding the key.
    pub field: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyPlacement {
    Header,
    Query,
}

/// HTTP Basic: `Authorization: Basic base64(user:password)` from two configuration fields.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BasicAuthDef {
    pub username_field: String,
    /// Declared in `configuration` with kind `password`.
    pub password_field: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoAuthDef {}

/// OAuth2, as the provider implements it.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Def {
    /// Which grant gets the tokens.
    #[serde(default)]
    pub grant: OAuth2Grant,
    /// The consent page; required by the authorization-code grant, unused by client credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuth2Grant {
    /// A user consents at `authorization_url`; ferry exchanges the code and refreshes the grant.
    #[default]
    AuthorizationCode,
    /// ferry asks `token_url` for a token with the instance's client id and secret, again when it
    /// expires or is refused; no user consent.
    ClientCredentials,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthDef {
    /// HTTP Basic with the client id and secret.
    Basic,
    /// `client_id` and `client_secret` in the form body.
    #[default]
    RequestBody,
}

/// A configuration field a user fills in when creating an instance.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
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

    /// The method of the operation a caller's request reaches. `HEAD` reaches the `GET`
    /// operation of the path, whose answer is then given without its body (HTTP's meaning of
    /// HEAD); definitions declare no HEAD operations of their own.
    pub fn of_request(value: &str) -> Option<Self> {
        if value.eq_ignore_ascii_case("HEAD") {
            Some(HttpMethod::Get)
        } else {
            HttpMethod::parse(value)
        }
    }
}

/// One operation of the normalized API: `method path` on ferry, mapped to a vendor call.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// A script of the connector's `scripts` run before the vendor call: it sees the checked
    /// request as `trigger` (`method`, `path`, `pathValues`, `query`, `body`) and the instance's
    /// configuration as `config`, and `done({query, body})` replaces what it gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pre_request: Option<String>,
    /// A script of the connector's `scripts` run on the normalized reply: it sees `trigger.body`
    /// and `trigger.status`, and `done(value)` is what the caller gets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_request: Option<String>,
}

impl HooksDef {
    pub fn is_empty(&self) -> bool {
        self.before.is_empty()
            && self.request.is_none()
            && self.response.is_none()
            && self.pre_request.is_none()
            && self.post_request.is_none()
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParameterLocation {
    Query,
    Path,
    Header,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Renames the caller's JSON body for the vendor: vendor field → JSON pointer into the
    /// caller's body. When given, only these fields are sent (absent values are left out).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub body_fields: BTreeMap<String, String>,
}

/// Splits one call into several: the top-level list `field` of the JSON body is sent in chunks
/// of at most `max_items` (Gmail's `batchModify` takes 1,000 ids).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitDef {
    pub field: String,
    pub max_items: usize,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
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
    /// Renames the vendor's fields for the caller: normalized field → JSON pointer into one vendor
    /// object (each item when the root is a list). When given, only these fields are returned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// How the vendor pages a list; the token of the next page becomes `Elements-Next-Page-Token`
    /// and comes back as the `nextPage` query parameter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagination: Option<PaginationDef>,
}

/// A vendor's paging style. Whatever the style, callers page the Cloud Elements way: `pageSize`
/// and `nextPage` in, `Elements-Next-Page-Token` out (absent on the last page).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginationDef {
    /// The vendor returns an opaque token (at `token`) that it takes back as `parameter`.
    Cursor {
        token: String,
        parameter: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_parameter: Option<String>,
    },
    /// Numbered pages: `parameter` is the page number, starting at `first_page`.
    Page {
        parameter: String,
        #[serde(default = "default_first_page")]
        first_page: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_parameter: Option<String>,
        /// The vendor's page size when the caller gives none: a shorter page is the last.
        default_size: u64,
        /// JSON pointer of the total number of items, when the vendor says it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<String>,
    },
    /// An item offset: `parameter` is how many items to skip.
    Offset {
        parameter: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_parameter: Option<String>,
        default_size: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total: Option<String>,
    },
    /// The vendor's `Link` header names the next page (`<…>; rel="next"`, RFC 8288).
    LinkHeader {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size_parameter: Option<String>,
    },
}

fn default_first_page() -> u64 {
    1
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
    fn the_json_schema_covers_every_part_and_is_current() {
        let schema = ConnectorDef::json_schema();
        let text = schema.to_string();
        assert!(!text.contains("#/components/"), "{text}");
        for part in [
            "ApiKeyDef",
            "BasicAuthDef",
            "OAuth2Def",
            "PaginationDef",
            "ErrorsDef",
            "ResourceDef",
            "WebhookDef",
            "WebhookSignatureDef",
        ] {
            assert!(schema["$defs"][part].is_object(), "{part} missing");
        }
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../docs/connector-definition.schema.json");
        let mut pretty = serde_json::to_string_pretty(&schema).unwrap();
        pretty.push('\n');
        if std::env::var("FERRY_UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            std::fs::write(&path, &pretty).unwrap();
        }
        let written = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            written == pretty,
            "{} is not current: FERRY_UPDATE_SNAPSHOTS=1 cargo test -p ferry-model",
            path.display()
        );
    }

    #[test]
    fn a_head_request_reaches_the_get_operation_and_definitions_know_no_head() {
        assert_eq!(HttpMethod::of_request("head"), Some(HttpMethod::Get));
        assert_eq!(HttpMethod::of_request("Patch"), Some(HttpMethod::Patch));
        assert_eq!(HttpMethod::of_request("OPTIONS"), None);
        assert_eq!(HttpMethod::parse("HEAD"), None);
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
