//! Named hooks: Rust code that a definition references by name for what mapping cannot express.
//! A hook turns the normalized request into the vendor request body.

mod gmail_send;

use crate::ConnectorError;
use crate::runtime::{HubRequest, InstanceContext};
use bytes::Bytes;

/// The vendor request body a hook produced.
pub(crate) struct HookOutput {
    pub content_type: String,
    pub body: Bytes,
}

const HOOKS: &[&str] = &["gmail.send_message"];

pub(crate) fn exists(name: &str) -> bool {
    HOOKS.contains(&name)
}

pub(crate) fn names() -> Vec<&'static str> {
    HOOKS.to_vec()
}

pub(crate) fn run(
    name: &str,
    instance: &InstanceContext<'_>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    match name {
        "gmail.send_message" => gmail_send::build(instance, request),
        // Definitions are validated against HOOKS at load time, so this is a programming error.
        other => Err(ConnectorError::InvalidDefinition {
            location: format!("hook {other:?}"),
            message: "is not implemented".into(),
        }),
    }
}

pub use gmail_send::{Attachment, MailAddress, OutgoingMail, compose_message, parse_address_list};
