//! `users.messages.send`, `insert` and `import`: messages coming in, and delivery of sent mail to
//! every hosted recipient.

use super::error::GmailError;
use super::messages::GmailResult;
use super::render::MessageLabels;
use super::upload::{IncomingMessage, MessageInput, read_upload};
use super::{Call, Method, gate, json_body};
use crate::Emulator;
use crate::ids::{format_id, parse_id, random_token};
use crate::mailbox::message::{ParsedMessage, recipients};
use crate::state::{Account, StoreOptions, Stored, read};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use std::sync::Arc;

/// Where the header block of a raw message ends (index of the blank line), or the whole length.
fn header_end(raw: &[u8]) -> usize {
    let mut i = 0;
    while i < raw.len() {
        let line_end = raw[i..]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(raw.len(), |p| i + p + 1);
        let line = &raw[i..line_end];
        if line == b"\r\n" || line == b"\n" {
            return i;
        }
        i = line_end;
    }
    raw.len()
}

/// Whether the top-level header block has a field called `name`.
pub(crate) fn has_header(raw: &[u8], name: &str) -> bool {
    let head = &raw[..header_end(raw)];
    head.split(|b| *b == b'\n').any(|line| {
        line.len() > name.len()
            && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
            && line[name.len()..].trim_ascii_start().starts_with(b":")
    })
}

/// Removes every field called `name` (with its continuation lines) from the top-level header.
pub(crate) fn strip_header(raw: &[u8], name: &str) -> Vec<u8> {
    let end = header_end(raw);
    let mut out = Vec::with_capacity(raw.len());
    let mut skipping = false;
    let mut i = 0;
    while i < end {
        let line_end = raw[i..end]
            .iter()
            .position(|b| *b == b'\n')
            .map_or(end, |p| i + p + 1);
        let line = &raw[i..line_end];
        let continuation = line.first().is_some_and(|b| *b == b' ' || *b == b'\t');
        if !continuation {
            skipping = line.len() > name.len()
                && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
                && line[name.len()..].trim_ascii_start().starts_with(b":");
        }
        if !skipping {
            out.extend_from_slice(line);
        }
        i = line_end;
    }
    out.extend_from_slice(&raw[end..]);
    out
}

/// What Gmail adds to a message it sends: From (the account), Date and Message-ID when missing.
fn complete_headers(raw: Vec<u8>, account: &Account, now_millis: i64) -> Vec<u8> {
    let newline: &[u8] = if raw.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut prefix = Vec::new();
    if !has_header(&raw, "From") {
        prefix.extend_from_slice(format!("From: {}", account.email).as_bytes());
        prefix.extend_from_slice(newline);
    }
    if !has_header(&raw, "Date") {
        let date = DateTime::<Utc>::from_timestamp_millis(now_millis).unwrap_or_default();
        prefix.extend_from_slice(
            date.format("Date: %a, %d %b %Y %H:%M:%S +0000")
                .to_string()
                .as_bytes(),
        );
        prefix.extend_from_slice(newline);
    }
    if !has_header(&raw, "Message-ID") && !has_header(&raw, "Message-Id") {
        prefix.extend_from_slice(
            format!("Message-ID: <{}@mail.gmail.com>", random_token(24)).as_bytes(),
        );
        prefix.extend_from_slice(newline);
    }
    if prefix.is_empty() {
        return raw;
    }
    prefix.extend_from_slice(&raw);
    prefix
}

fn requested_thread(message: &IncomingMessage) -> Option<u64> {
    message.thread_id.as_deref().and_then(parse_id)
}

/// Sends a message from `account`: stores it with SENT and delivers a copy (without Bcc) to every
/// hosted recipient's inbox.
pub(crate) fn send(
    emu: &Emulator,
    account: &Arc<Account>,
    message: IncomingMessage,
) -> Result<Stored, GmailError> {
    let shared = emu.shared();
    if message.raw.is_empty() {
        return Err(GmailError::invalid_argument(
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        ));
    }
    let now = shared.now_millis();
    let raw = complete_headers(message.raw.clone(), account, now);
    let to =
        recipients(&raw).ok_or_else(|| GmailError::invalid_argument("Invalid RFC822 message"))?;
    if let Some(problem) = to.invalid_header {
        return Err(GmailError::invalid_argument(problem));
    }
    if to.addresses.is_empty() {
        return Err(GmailError::invalid_argument("Recipient address required"));
    }
    let own = account.email.to_lowercase();
    let to_self = to.addresses.contains(&own);
    let parsed = Arc::new(
        ParsedMessage::parse(raw.clone())
            .map_err(|_| GmailError::invalid_argument("Invalid RFC822 message"))?,
    );
    let mut labels = vec!["SENT".to_string()];
    if to_self {
        labels.extend(["INBOX".to_string(), "UNREAD".to_string()]);
    }
    let stored = shared.store_parsed(
        account,
        parsed,
        StoreOptions {
            labels,
            thread: requested_thread(&message),
            internal_date: Some(now),
        },
    );
    let copy = strip_header(&raw, "Bcc");
    let copy_parsed = ParsedMessage::parse(copy).ok().map(Arc::new);
    for address in to.addresses.iter().filter(|a| **a != own) {
        let (Some(recipient), Some(parsed)) = (shared.account(address), copy_parsed.clone()) else {
            continue;
        };
        shared.store_parsed(
            &recipient,
            parsed,
            StoreOptions {
                labels: vec!["UNREAD".into(), "CATEGORY_PERSONAL".into(), "INBOX".into()],
                thread: None,
                internal_date: Some(now),
            },
        );
    }
    Ok(stored)
}

/// The body of a send/insert/import call, whichever way it came.
fn incoming(
    call: &Call,
    headers: &HeaderMap,
    body: &[u8],
    upload: bool,
) -> Result<IncomingMessage, GmailError> {
    if upload {
        let up = read_upload(&call.params, headers, body)?;
        let input: MessageInput = if up.metadata.is_empty() {
            MessageInput::default()
        } else {
            json_body(&up.metadata)?
        };
        let mut message = IncomingMessage::from_input(MessageInput { raw: None, ..input })?;
        message.raw = up.media;
        Ok(message)
    } else {
        IncomingMessage::from_input(json_body(body)?)
    }
}

fn sent_response(call: &Call, stored: &Stored) -> axum::response::Response {
    call.json(&MessageLabels {
        id: format_id(stored.id),
        thread_id: format_id(stored.thread_id),
        label_ids: stored.labels.clone(),
    })
}

async fn do_send(
    emu: Emulator,
    user_id: String,
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    upload: bool,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Send).await?;
    let message = incoming(&call, &headers, &body, upload)?;
    let stored = send(&emu, &call.account, message)?;
    Ok(sent_response(&call, &stored))
}

/// `POST /gmail/v1/users/{userId}/messages/send`
pub(crate) async fn send_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_send(emu, user_id, (uri, headers, body), false).await
}

/// `POST /upload/gmail/v1/users/{userId}/messages/send`
pub(crate) async fn upload_send_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_send(emu, user_id, (uri, headers, body), true).await
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Insert,
    Import,
}

async fn do_store(
    emu: Emulator,
    user_id: String,
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    (upload, kind): (bool, Kind),
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Insert).await?;
    let message = incoming(&call, &headers, &body, upload)?;
    if message.raw.is_empty() {
        return Err(GmailError::invalid_argument(
            "'raw' RFC822 payload message string or uploading message via /upload/* URL required",
        ));
    }
    {
        let mailbox = read(&call.account.mailbox);
        for l in &message.label_ids {
            if !mailbox.label_exists(l) {
                return Err(GmailError::invalid_label(l));
            }
        }
    }
    let parsed = Arc::new(
        ParsedMessage::parse(message.raw.clone())
            .map_err(|_| GmailError::invalid_argument("Invalid RFC822 message"))?,
    );
    let default_source = if kind == Kind::Import {
        "dateHeader"
    } else {
        "receivedTime"
    };
    let source = call
        .params
        .get("internalDateSource")
        .unwrap_or(default_source);
    let internal_date = match source {
        "dateHeader" => parsed.date_millis,
        "receivedTime" => None,
        other => {
            return Err(GmailError::invalid_argument(format!(
                "Invalid value at 'internal_date_source', \"{other}\""
            )));
        }
    };
    let stored = emu.shared().store_parsed(
        &call.account,
        parsed,
        StoreOptions {
            labels: message.label_ids.clone(),
            thread: requested_thread(&message),
            internal_date,
        },
    );
    Ok(sent_response(&call, &stored))
}

/// `POST /gmail/v1/users/{userId}/messages`
pub(crate) async fn insert_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_store(emu, user_id, (uri, headers, body), (false, Kind::Insert)).await
}

/// `POST /upload/gmail/v1/users/{userId}/messages`
pub(crate) async fn upload_insert_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_store(emu, user_id, (uri, headers, body), (true, Kind::Insert)).await
}

/// `POST /gmail/v1/users/{userId}/messages/import`
pub(crate) async fn import_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_store(emu, user_id, (uri, headers, body), (false, Kind::Import)).await
}

/// `POST /upload/gmail/v1/users/{userId}/messages/import`
pub(crate) async fn upload_import_message(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    do_store(emu, user_id, (uri, headers, body), (true, Kind::Import)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bcc_is_stripped_with_continuations_only_from_the_header() {
        let raw = b"To: a@x\r\nBcc: b@x,\r\n c@x\r\nSubject: s\r\n\r\nBcc: stays in body\r\n";
        let out = strip_header(raw, "Bcc");
        assert_eq!(
            out,
            b"To: a@x\r\nSubject: s\r\n\r\nBcc: stays in body\r\n".to_vec()
        );
        assert!(has_header(raw, "bcc"));
        assert!(!has_header(&out, "Bcc"));
        assert!(!has_header(raw, "From"));
    }
}
