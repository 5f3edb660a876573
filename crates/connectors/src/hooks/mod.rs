//! Named hooks: Rust code that a definition references by name for what mapping cannot express.
//! A hook belongs to one stage of a call: `before` hooks check and may rewrite the normalized
//! request, a `request` hook builds the vendor request body, a `response` hook reshapes the reply.
//! `before` and `request` hooks may read the vendor through other operations of the connector
//! ([`HookContext::read`]), so those reads are paced and fail like any call.

mod gmail_history;
mod gmail_labels;
mod gmail_mime;
mod gmail_readable;
mod gmail_send;

use crate::ConnectorError;
use crate::catalog::Connector;
use crate::egress::Credentials;
use crate::runtime::{HubRequest, InstanceContext, Runtime};
use bytes::Bytes;
use serde_json::Value;

pub use gmail_mime::{Attachment, MailAddress, OutgoingMail, compose_message, parse_address_list};

/// When in a call a hook runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Before,
    Request,
    Response,
    /// Polls for change events (`events.polling_hook`).
    Events,
}

impl Stage {
    /// The stage named by a field of `hooks` in a definition.
    pub(crate) fn from_name(name: &str) -> Stage {
        match name {
            "before" => Stage::Before,
            "request" => Stage::Request,
            _ => Stage::Response,
        }
    }
}

const HOOKS: &[(Stage, &str)] = &[
    (Stage::Before, "gmail.known_labels"),
    (Stage::Request, "gmail.send_message"),
    (Stage::Request, "gmail.import_message"),
    (Stage::Request, "gmail.save_draft"),
    (Stage::Response, "gmail.readable_message"),
    (Stage::Response, "gmail.readable_thread"),
    (Stage::Events, "gmail.history"),
];

pub(crate) fn exists(stage: Stage, name: &str) -> bool {
    HOOKS.contains(&(stage, name))
}

pub(crate) fn names(stage: Stage) -> Vec<&'static str> {
    HOOKS
        .iter()
        .filter(|(s, _)| *s == stage)
        .map(|(_, name)| *name)
        .collect()
}

/// What a `request` hook produced: the vendor request body, or — for a repeated idempotent call
/// the vendor already carried out — the reply to give without calling again.
pub(crate) enum HookOutput {
    Upload { content_type: String, body: Bytes },
    AlreadyDone(Value),
}

/// What a hook may use: the instance, and reads of the vendor through the connector's operations.
pub(crate) struct HookContext<'a, C> {
    pub runtime: &'a Runtime,
    pub connector: &'a Connector,
    pub instance: &'a InstanceContext<'a>,
    pub credentials: &'a C,
    /// The values of the operation's path placeholders (`id` of `/drafts/{id}`).
    pub path_values: &'a [(String, String)],
}

impl<C: Credentials> HookContext<'_, C> {
    pub(crate) fn path_value(&self, name: &str) -> Option<&str> {
        self.path_values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// Calls `operation` (no hooks, no body) with normalized path values and query parameters;
    /// answers the vendor's whole JSON reply.
    pub(crate) async fn read(
        &self,
        operation: &str,
        path_values: &[(&str, &str)],
        query: &[(&str, &str)],
    ) -> Result<Value, ConnectorError> {
        let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        self.runtime
            .read_operation(self, operation, &owned(path_values), &owned(query))
            .await
    }
}

/// Definitions are validated against [`HOOKS`] at load time, so an unknown name is a bug.
fn unknown(name: &str) -> ConnectorError {
    ConnectorError::InvalidDefinition {
        location: format!("hook {name:?}"),
        message: "is not implemented".into(),
    }
}

pub(crate) async fn run_before<C: Credentials>(
    name: &str,
    context: &HookContext<'_, C>,
    request: &mut HubRequest,
) -> Result<(), ConnectorError> {
    match name {
        "gmail.known_labels" => gmail_labels::known_labels(context, request).await,
        other => Err(unknown(other)),
    }
}

pub(crate) async fn run_request<C: Credentials>(
    name: &str,
    context: &HookContext<'_, C>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    match name {
        "gmail.send_message" => gmail_send::send_message(context, request).await,
        "gmail.import_message" => gmail_send::import_message(context, request).await,
        "gmail.save_draft" => gmail_send::save_draft(context, request).await,
        other => Err(unknown(other)),
    }
}

pub(crate) fn run_response(name: &str, body: Value) -> Result<Value, ConnectorError> {
    match name {
        "gmail.readable_message" => Ok(gmail_readable::readable_message(&body)),
        "gmail.readable_thread" => Ok(gmail_readable::readable_thread(&body)),
        other => Err(unknown(other)),
    }
}

pub(crate) async fn run_events<C: Credentials>(
    name: &str,
    context: &HookContext<'_, C>,
    object_type: &str,
    cursor: Option<&str>,
) -> Result<crate::events::EventBatch, ConnectorError> {
    match name {
        "gmail.history" => gmail_history::poll(context, object_type, cursor).await,
        other => Err(unknown(other)),
    }
}
