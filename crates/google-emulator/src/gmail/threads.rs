//! `users.threads.*`.

use super::error::GmailError;
use super::messages::{
    GmailResult, ModifyRequest, check_format, label_filter, mailbox_error, parse_query,
};
use super::render::{self, Format, MessageJson};
use super::{Method, gate, json_body, max_results, message_id};
use crate::Emulator;
use crate::ids::format_id;
use crate::mailbox::{Filter, Mailbox};
use crate::state::{read, write};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use bytes::Bytes;
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThreadSummary<'a> {
    id: String,
    snippet: &'a str,
    history_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListThreadsResponse<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    threads: Vec<ThreadSummary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    result_size_estimate: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ThreadJson<'a> {
    id: String,
    history_id: String,
    messages: Vec<MessageJson<'a>>,
}

/// A thread's latest history id and the snippet of its newest message.
fn summary(mailbox: &Mailbox, thread_id: u64) -> Option<ThreadSummary<'_>> {
    let messages = mailbox.thread(thread_id)?;
    let last = messages.last()?;
    Some(ThreadSummary {
        id: format_id(thread_id),
        snippet: &last.msg.snippet,
        history_id: messages
            .iter()
            .map(|e| e.history_id)
            .max()
            .unwrap_or_default()
            .to_string(),
    })
}

/// `GET /gmail/v1/users/{userId}/threads`
pub(crate) async fn list_threads(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::ListMetadata).await?;
    let max = max_results(&call)?;
    let after = call
        .params
        .non_empty("pageToken")
        .map(super::decode_cursor)
        .transpose()?;
    let mailbox = read(&call.account.mailbox);
    let query = parse_query(&call, &mailbox, emu.shared().now_millis())?;
    let label_ids = label_filter(&call, &mailbox)?;
    let filter = Filter {
        label_ids: &label_ids,
        query: query.as_ref(),
        include_spam_trash: call.params.flag("includeSpamTrash").unwrap_or(false),
    };
    let (page, total, next) = mailbox.list_threads(&filter, after, max);
    let response = ListThreadsResponse {
        threads: page
            .iter()
            .filter_map(|(t, _)| summary(&mailbox, *t))
            .collect(),
        next_page_token: next.map(super::encode_cursor),
        result_size_estimate: total,
    };
    Ok(call.json(&response))
}

/// `GET /gmail/v1/users/{userId}/threads/{id}`
pub(crate) async fn get_thread(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::GetMessage).await?;
    let format = Format::parse(call.params.get("format"))?;
    check_format(&call, format)?;
    let thread_id = message_id(&id)?;
    let metadata_headers = call.params.all("metadataHeaders");
    let mailbox = read(&call.account.mailbox);
    let messages = mailbox
        .thread(thread_id)
        .ok_or_else(GmailError::not_found)?;
    let thread = ThreadJson {
        id: format_id(thread_id),
        history_id: messages
            .iter()
            .map(|e| e.history_id)
            .max()
            .unwrap_or_default()
            .to_string(),
        messages: messages
            .iter()
            .map(|e| render::message(e, format, &metadata_headers))
            .collect(),
    };
    Ok(call.json(&thread))
}

/// Applies a change to every message of a thread and answers the thread in minimal form.
async fn change_thread(
    emu: Emulator,
    (user_id, id): (String, String),
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    action: ThreadAction,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Modify).await?;
    let thread_id = message_id(&id)?;
    let req: ModifyRequest = match action {
        ThreadAction::Modify => json_body(&body)?,
        _ => ModifyRequest::default(),
    };
    let mut mailbox = write(&call.account.mailbox);
    let ids: Vec<u64> = mailbox
        .thread(thread_id)
        .ok_or_else(GmailError::not_found)?
        .iter()
        .map(|e| e.id)
        .collect();
    if action == ThreadAction::Modify {
        mailbox
            .check_modifiable(&req.add_label_ids)
            .and_then(|_| mailbox.check_modifiable(&req.remove_label_ids))
            .map_err(mailbox_error)?;
    }
    for m in ids {
        match action {
            ThreadAction::Modify => mailbox.modify(m, &req.add_label_ids, &req.remove_label_ids),
            ThreadAction::Trash => mailbox.trash(m),
            ThreadAction::Untrash => mailbox.untrash(m),
        }
        .map_err(mailbox_error)?;
    }
    let messages = mailbox.thread(thread_id).unwrap_or_default();
    let thread = ThreadJson {
        id: format_id(thread_id),
        history_id: messages
            .iter()
            .map(|e| e.history_id)
            .max()
            .unwrap_or_default()
            .to_string(),
        messages: messages
            .iter()
            .map(|e| render::message(e, Format::Minimal, &[]))
            .collect(),
    };
    Ok(call.json(&thread))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ThreadAction {
    Modify,
    Trash,
    Untrash,
}

/// `POST /gmail/v1/users/{userId}/threads/{id}/modify`
pub(crate) async fn modify_thread(
    State(emu): State<Emulator>,
    Path(path): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    change_thread(emu, path, (uri, headers, body), ThreadAction::Modify).await
}

/// `POST /gmail/v1/users/{userId}/threads/{id}/trash`
pub(crate) async fn trash_thread(
    State(emu): State<Emulator>,
    Path(path): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    change_thread(emu, path, (uri, headers, Bytes::new()), ThreadAction::Trash).await
}

/// `POST /gmail/v1/users/{userId}/threads/{id}/untrash`
pub(crate) async fn untrash_thread(
    State(emu): State<Emulator>,
    Path(path): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    change_thread(
        emu,
        path,
        (uri, headers, Bytes::new()),
        ThreadAction::Untrash,
    )
    .await
}

/// `DELETE /gmail/v1/users/{userId}/threads/{id}`
pub(crate) async fn delete_thread(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::PermanentDelete).await?;
    let thread_id = message_id(&id)?;
    let mut mailbox = write(&call.account.mailbox);
    let ids: Vec<u64> = mailbox
        .thread(thread_id)
        .ok_or_else(GmailError::not_found)?
        .iter()
        .map(|e| e.id)
        .collect();
    for m in ids {
        let _ = mailbox.delete(m);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
