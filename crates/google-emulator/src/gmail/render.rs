//! The JSON shapes of `Message`, `MessagePart` and friends, per `format`.

use super::error::GmailError;
use crate::mailbox::Entry;
use crate::mailbox::message::{Header, Part};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use serde::Serialize;

/// `format` of `messages.get`, `threads.get`, `drafts.get`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Minimal,
    Full,
    Raw,
    Metadata,
}

impl Format {
    pub(crate) fn parse(value: Option<&str>) -> Result<Format, GmailError> {
        match value.map(str::to_ascii_lowercase).as_deref() {
            None | Some("") | Some("full") => Ok(Format::Full),
            Some("minimal") => Ok(Format::Minimal),
            Some("raw") => Ok(Format::Raw),
            Some("metadata") => Ok(Format::Metadata),
            Some(_) => Err(GmailError::invalid_argument(format!(
                "Invalid value at 'format' (type.googleapis.com/google.apps.gmail.v1.Format), \"{}\"",
                value.unwrap_or_default()
            ))),
        }
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Minimal => "MINIMAL",
            Format::Full => "FULL",
            Format::Raw => "RAW",
            Format::Metadata => "METADATA",
        }
    }
}

/// `{id, threadId}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageRef {
    pub id: String,
    pub thread_id: String,
}

/// `{id, threadId}` borrowed from a mailbox entry (listings).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EntryRef<'a> {
    pub id: &'a str,
    pub thread_id: &'a str,
}

impl<'a> EntryRef<'a> {
    pub(crate) fn of(e: &'a Entry) -> Self {
        Self {
            id: &e.id_hex,
            thread_id: &e.thread_hex,
        }
    }
}

/// `{id, threadId, labelIds}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageLabels {
    pub id: String,
    pub thread_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub label_ids: Vec<String>,
}

impl MessageLabels {
    pub(crate) fn of(e: &Entry) -> Self {
        Self {
            id: e.id_hex.clone(),
            thread_id: e.thread_hex.clone(),
            label_ids: e.labels.clone(),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Payload<'a> {
    Full(&'a Part),
    Metadata {
        #[serde(rename = "mimeType")]
        mime_type: &'a str,
        headers: Vec<&'a Header>,
    },
}

/// `Message` as `messages.get` returns it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MessageJson<'a> {
    pub id: &'a str,
    pub thread_id: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub label_ids: &'a [String],
    pub snippet: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<Payload<'a>>,
    pub size_estimate: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    pub history_id: String,
    pub internal_date: String,
}

pub(crate) fn message<'a>(
    e: &'a Entry,
    format: Format,
    metadata_headers: &[String],
) -> MessageJson<'a> {
    let payload = match format {
        Format::Full => Some(Payload::Full(&e.msg.payload)),
        Format::Metadata => Some(Payload::Metadata {
            mime_type: &e.msg.payload.mime_type,
            headers: e
                .msg
                .headers()
                .iter()
                .filter(|h| {
                    metadata_headers.is_empty()
                        || metadata_headers
                            .iter()
                            .any(|m| m.eq_ignore_ascii_case(&h.name))
                })
                .collect(),
        }),
        Format::Minimal | Format::Raw => None,
    };
    MessageJson {
        id: &e.id_hex,
        thread_id: &e.thread_hex,
        label_ids: &e.labels,
        snippet: &e.msg.snippet,
        payload,
        size_estimate: e.msg.size(),
        raw: (format == Format::Raw).then(|| URL_SAFE.encode(&e.msg.raw)),
        history_id: e.history_id.to_string(),
        internal_date: e.internal_date.to_string(),
    }
}
