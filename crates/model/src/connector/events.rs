//! The `events` section of a connector definition: polling (declared or by a hook) and webhook
//! deliveries with their signature scheme.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How ferry learns of changes in a provider account: by polling for changes since a stored
/// cursor — declared (`polling`) or by a named hook (`polling_hook`), not both — or from the
/// vendor's signed webhook deliveries (`webhook`), or both ways.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventsDef {
    /// A Rust polling hook (Gmail: `gmail.history`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling_hook: Option<String>,
    /// Polling declared as data: a list operation read with the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub polling: Option<PollingDef>,
    /// Events the vendor pushes to each instance's events URL, signed with the instance's secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookDef>,
    /// The object type events name (`messages`); a webhook event may name its own.
    pub object_type: String,
    /// Seconds between polls of one instance.
    #[serde(default = "default_poll_interval")]
    pub interval_seconds: u64,
}

impl EventsDef {
    /// Whether ferry polls for these events (rather than only receiving webhook deliveries).
    pub fn polls(&self) -> bool {
        self.polling.is_some() || self.polling_hook.is_some()
    }
}

fn default_poll_interval() -> u64 {
    60
}

/// Declarative polling: each poll reads a list `operation` of this connector (following its pages),
/// with the stored cursor in its query `parameter`, and each item (at the operation's `response.root`) past
/// the cursor is an event. The cursor is either the latest `updated` time seen (timestamp style)
/// or what the reply holds at `cursor` (cursor style); exactly one of them is given. A first poll
/// only learns where the account is: what existed before triggers nothing.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollingDef {
    pub operation: String,
    /// The operation's (normalized) query parameter that takes the cursor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// JSON pointer of an item's id.
    pub id: String,
    /// JSON pointer of an item's time of change (timestamp style; numbers or ISO 8601 text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
    /// JSON pointer of the next cursor in the reply (cursor style).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// JSON pointer of an item's creation time: an item created after the cursor is `CREATED`,
    /// any other `UPDATED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// Events the vendor pushes: each instance has its own URL to give the vendor
/// (`POST /elements/api-v2/instances/{id}/events`). A delivery's `signature` is checked against
/// its raw body before anything reads it; then its events are read with JSON pointers, and each
/// event's `id` keeps a redelivery from starting anything twice.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookDef {
    pub signature: WebhookSignatureDef,
    /// JSON pointer of the events in a delivery: a list of events, or one event. Empty (the
    /// default): the whole body is one event, or a list of them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub events: String,
    /// JSON pointer, inside one event, of its id: a delivery of an id seen before starts nothing.
    pub id: String,
    /// JSON pointer, inside one event, of the id of the object it is about (`objectId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_id: Option<String>,
    /// JSON pointer, inside one event, of its object type; `events.object_type` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_type: Option<String>,
    /// JSON pointer, inside one event, of the vendor's event type (`note.created`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// The vendor's event types → Cloud Elements' `CREATED`, `UPDATED`, `DELETED`. A type not
    /// listed is `UNKNOWN`, unless it is one of those three words itself (any case).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub event_types: BTreeMap<String, EventKind>,
}

/// How a webhook delivery proves that the vendor sent it: an HMAC of the raw body (and, against
/// replays, a timestamp header) keyed with a secret the user fills into the instance's
/// configuration, sent in a header.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSignatureDef {
    /// The header carrying the signature (`X-Hub-Signature-256`).
    pub header: String,
    pub algorithm: SignatureAlgorithm,
    /// How the signature is written in the header.
    pub encoding: SignatureEncoding,
    /// Written before the encoded signature (`sha256=`, `v0=`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prefix: String,
    /// The configuration field (declared in `configuration`, kind `password`) holding the
    /// signing secret.
    pub secret_field: String,
    /// The header carrying the time of signing in Unix seconds (Slack's
    /// `X-Slack-Request-Timestamp`); with it, a delivery outside `tolerance_seconds` is a replay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_header: Option<String>,
    /// What is signed: `{body}` (the raw body, the default) or a template of `{timestamp}` and
    /// `{body}` with literal text around them (`v0:{timestamp}:{body}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_content: Option<String>,
    /// How far the timestamp may be from ferry's clock, either way (default 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerance_seconds: Option<u64>,
}

impl WebhookSignatureDef {
    pub const BODY: &'static str = "{body}";
    pub const TIMESTAMP: &'static str = "{timestamp}";
    pub const DEFAULT_TOLERANCE_SECONDS: u64 = 300;

    pub fn signed_content(&self) -> &str {
        self.signed_content.as_deref().unwrap_or(Self::BODY)
    }

    pub fn tolerance_seconds(&self) -> u64 {
        self.tolerance_seconds
            .unwrap_or(Self::DEFAULT_TOLERANCE_SECONDS)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureAlgorithm {
    HmacSha256,
    /// Older vendors' choice (GitHub's `X-Hub-Signature`); prefer SHA-256 where a vendor offers it.
    HmacSha1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SignatureEncoding {
    /// Lowercase or uppercase hexadecimal.
    Hex,
    /// Standard base64, with padding.
    Base64,
}

/// Cloud Elements' normalized event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventKind {
    Created,
    Updated,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Created => "CREATED",
            EventKind::Updated => "UPDATED",
            EventKind::Deleted => "DELETED",
        }
    }
}
