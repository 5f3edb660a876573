//! `users.drafts.*`: a draft is a message with the DRAFT label plus a draft id (`r…`).

use super::error::GmailError;
use super::messages::{GmailResult, check_format, parse_query};
use super::render::{self, Format, MessageLabels, MessageRef};
use super::upload::{IncomingMessage, MessageInput, read_upload};
use super::{Call, Method, gate, json_body, max_results};
use crate::Emulator;
use crate::ids::{format_id, parse_id};
use crate::mailbox::Filter;
use crate::state::{StoreOptions, read, write};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Deserialize, Default)]
#[serde(default)]
struct DraftInput {
    id: Option<String>,
    message: Option<MessageInput>,
}

#[derive(Serialize)]
struct DraftJson<M: Serialize> {
    id: String,
    message: M,
}

fn new_draft_id() -> String {
    format!("r{}", rand::rng().random::<i64>())
}

fn read_draft(
    call: &Call,
    headers: &HeaderMap,
    body: &[u8],
    upload: bool,
) -> Result<(Option<String>, IncomingMessage), GmailError> {
    if upload {
        let up = read_upload(&call.params, headers, body)?;
        let input: DraftInput = if up.metadata.is_empty() {
            DraftInput::default()
        } else {
            json_body(&up.metadata)?
        };
        let meta = input.message.unwrap_or_default();
        let mut message = IncomingMessage::from_input(MessageInput { raw: None, ..meta })?;
        message.raw = up.media;
        Ok((input.id, message))
    } else {
        let input: DraftInput = json_body(body)?;
        let message = IncomingMessage::from_input(input.message.unwrap_or_default())?;
        Ok((input.id, message))
    }
}

fn require_raw(message: &IncomingMessage) -> Result<(), GmailError> {
    if message.raw.is_empty() {
        return Err(GmailError::invalid_argument("Message is required"));
    }
    Ok(())
}

/// Stores a draft message and points `draft_id` at it; answers the Draft.
fn store_draft(
    emu: &Emulator,
    call: &Call,
    draft_id: String,
    message: IncomingMessage,
    thread: Option<u64>,
) -> Result<Response, GmailError> {
    let stored = emu
        .shared()
        .store(
            &call.account,
            message.raw,
            StoreOptions {
                labels: vec!["DRAFT".into()],
                thread: message.thread_id.as_deref().and_then(parse_id).or(thread),
                internal_date: None,
            },
        )
        .map_err(|_| GmailError::invalid_argument("Invalid RFC822 message"))?;
    write(&call.account.mailbox).set_draft(draft_id.clone(), stored.id);
    Ok(call.json(&DraftJson {
        id: draft_id,
        message: MessageLabels {
            id: format_id(stored.id),
            thread_id: format_id(stored.thread_id),
            label_ids: stored.labels,
        },
    }))
}

async fn create(
    emu: Emulator,
    user_id: String,
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    upload: bool,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsWrite).await?;
    let (_, message) = read_draft(&call, &headers, &body, upload)?;
    require_raw(&message)?;
    store_draft(&emu, &call, new_draft_id(), message, None)
}

/// `POST /gmail/v1/users/{userId}/drafts`
pub(crate) async fn create_draft(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    create(emu, user_id, (uri, headers, body), false).await
}

/// `POST /upload/gmail/v1/users/{userId}/drafts`
pub(crate) async fn upload_create_draft(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    create(emu, user_id, (uri, headers, body), true).await
}

async fn update(
    emu: Emulator,
    (user_id, draft_id): (String, String),
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    upload: bool,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsWrite).await?;
    let (_, message) = read_draft(&call, &headers, &body, upload)?;
    require_raw(&message)?;
    let old_thread = {
        let mut mailbox = write(&call.account.mailbox);
        let old = mailbox.draft(&draft_id).ok_or_else(GmailError::not_found)?;
        let thread = mailbox.get(old).map(|e| e.thread_id).filter(|t| *t != old);
        let _ = mailbox.delete(old);
        thread
    };
    store_draft(&emu, &call, draft_id, message, old_thread)
}

/// `PUT /gmail/v1/users/{userId}/drafts/{id}`
pub(crate) async fn update_draft(
    State(emu): State<Emulator>,
    Path(path): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    update(emu, path, (uri, headers, body), false).await
}

/// `PUT /upload/gmail/v1/users/{userId}/drafts/{id}`
pub(crate) async fn upload_update_draft(
    State(emu): State<Emulator>,
    Path(path): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    update(emu, path, (uri, headers, body), true).await
}

/// `GET /gmail/v1/users/{userId}/drafts/{id}`
pub(crate) async fn get_draft(
    State(emu): State<Emulator>,
    Path((user_id, draft_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsRead).await?;
    let format = Format::parse(call.params.get("format"))?;
    check_format(&call, format)?;
    let mailbox = read(&call.account.mailbox);
    let id = mailbox.draft(&draft_id).ok_or_else(GmailError::not_found)?;
    let entry = mailbox.get(id).ok_or_else(GmailError::not_found)?;
    Ok(call.json(&DraftJson {
        id: draft_id.clone(),
        message: render::message(entry, format, &[]),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListDraftsResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    drafts: Vec<DraftJson<MessageRef>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    result_size_estimate: usize,
}

/// `GET /gmail/v1/users/{userId}/drafts`
pub(crate) async fn list_drafts(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsRead).await?;
    let max = max_results(&call)?;
    let after = call
        .params
        .non_empty("pageToken")
        .map(super::decode_cursor)
        .transpose()?;
    let mailbox = read(&call.account.mailbox);
    let query = parse_query(&call, &mailbox, emu.shared().now_millis())?;
    let by_message: HashMap<u64, &String> = mailbox.drafts().map(|(d, m)| (*m, d)).collect();
    let labels = vec!["DRAFT".to_string()];
    let filter = Filter {
        label_ids: &labels,
        query: query.as_ref(),
        include_spam_trash: call.params.flag("includeSpamTrash").unwrap_or(false),
    };
    let (page, total, next) = mailbox.list(&filter, after, max);
    let response = ListDraftsResponse {
        drafts: page
            .iter()
            .filter_map(|e| {
                by_message.get(&e.id).map(|d| DraftJson {
                    id: (*d).clone(),
                    message: MessageRef {
                        id: format_id(e.id),
                        thread_id: format_id(e.thread_id),
                    },
                })
            })
            .collect(),
        next_page_token: next.map(super::encode_cursor),
        result_size_estimate: total,
    };
    drop(mailbox);
    Ok(call.json(&response))
}

/// `DELETE /gmail/v1/users/{userId}/drafts/{id}`
pub(crate) async fn delete_draft(
    State(emu): State<Emulator>,
    Path((user_id, draft_id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsWrite).await?;
    let mut mailbox = write(&call.account.mailbox);
    let id = mailbox
        .remove_draft(&draft_id)
        .ok_or_else(GmailError::not_found)?;
    let _ = mailbox.delete(id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn send(
    emu: Emulator,
    user_id: String,
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    upload: bool,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::DraftsWrite).await?;
    let (draft_id, mut message) = read_draft(&call, &headers, &body, upload)?;
    let draft_id = draft_id
        .filter(|d| !d.is_empty())
        .ok_or_else(|| GmailError::invalid_argument("Invalid draft id"))?;
    let id = {
        let mailbox = read(&call.account.mailbox);
        let id = mailbox.draft(&draft_id).ok_or_else(GmailError::not_found)?;
        let entry = mailbox.get(id).ok_or_else(GmailError::not_found)?;
        if message.raw.is_empty() {
            message.raw = entry.msg.raw.clone();
        }
        if message.thread_id.is_none() && entry.thread_id != id {
            message.thread_id = Some(format_id(entry.thread_id));
        }
        id
    };
    let stored = super::send::send(&emu, &call.account, message)?;
    {
        let mut mailbox = write(&call.account.mailbox);
        mailbox.remove_draft(&draft_id);
        let _ = mailbox.delete(id);
    }
    Ok(call.json(&MessageLabels {
        id: format_id(stored.id),
        thread_id: format_id(stored.thread_id),
        label_ids: stored.labels,
    }))
}

/// `POST /gmail/v1/users/{userId}/drafts/send`
pub(crate) async fn send_draft(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    send(emu, user_id, (uri, headers, body), false).await
}

/// `POST /upload/gmail/v1/users/{userId}/drafts/send`
pub(crate) async fn upload_send_draft(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    send(emu, user_id, (uri, headers, body), true).await
}
