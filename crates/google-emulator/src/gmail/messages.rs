//! `users.getProfile` and `users.messages.*` except the ones that take a message in
//! (send/insert/import live in `send`).

use super::error::GmailError;
use super::render::{self, EntryRef, Format, MessageLabels};
use super::{Call, Method, gate, json_body, max_results, message_id};
use crate::Emulator;
use crate::mailbox::{Filter, Mailbox, MailboxError};
use crate::search::{InvalidQuery, ParseContext, Query};
use crate::state::{read, write};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

pub(crate) type GmailResult = Result<Response, GmailError>;

pub(crate) fn mailbox_error(e: MailboxError) -> GmailError {
    match e {
        MailboxError::NotFound => GmailError::not_found(),
        MailboxError::InvalidLabel(l) => GmailError::invalid_label(&l),
        MailboxError::LabelNameExists => GmailError::conflict("Label name exists or conflicts"),
        MailboxError::InvalidLabelName => GmailError::invalid_argument("Invalid label name"),
        MailboxError::SystemLabel => GmailError::invalid_argument("Invalid update request"),
    }
}

/// Parses `q` against a mailbox; `Invalid query` when malformed.
pub(crate) fn parse_query(
    call: &Call,
    mailbox: &Mailbox,
    now_millis: i64,
) -> Result<Option<Query>, GmailError> {
    let Some(q) = call.params.non_empty("q") else {
        return Ok(None);
    };
    if call.metadata_only() {
        return Err(GmailError::forbidden(
            "Metadata scope does not support 'q' parameter",
        ));
    }
    let resolve = |form: &str| mailbox.label_id_for_search(form);
    let ctx = ParseContext {
        me: &call.account.email,
        now_millis,
        label_id: &resolve,
    };
    Query::parse(q, &ctx)
        .map(Some)
        .map_err(|InvalidQuery(_)| GmailError::invalid_query())
}

/// `labelIds` of a list call; each must exist.
pub(crate) fn label_filter(call: &Call, mailbox: &Mailbox) -> Result<Vec<String>, GmailError> {
    let ids: Vec<String> = call
        .params
        .all("labelIds")
        .into_iter()
        .flat_map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        })
        .collect();
    for id in &ids {
        if !mailbox.label_exists(id) {
            return Err(GmailError::invalid_label(id));
        }
    }
    Ok(ids)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Profile<'a> {
    email_address: &'a str,
    messages_total: usize,
    threads_total: usize,
    history_id: String,
}

/// `GET /gmail/v1/users/{userId}/profile`
pub(crate) async fn get_profile(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::GetProfile).await?;
    let mailbox = read(&call.account.mailbox);
    Ok(call.json(&Profile {
        email_address: &call.account.email,
        messages_total: mailbox.messages_total(),
        threads_total: mailbox.threads_total(),
        history_id: mailbox.history_id().to_string(),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListMessagesResponse<'a> {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages: Vec<EntryRef<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    result_size_estimate: usize,
}

/// `GET /gmail/v1/users/{userId}/messages`
pub(crate) async fn list_messages(
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
    let (page, total, next) = mailbox.list(&filter, after, max);
    let response = ListMessagesResponse {
        messages: page.iter().map(|e| EntryRef::of(e)).collect(),
        next_page_token: next.map(super::encode_cursor),
        result_size_estimate: total,
    };
    Ok(call.json(&response))
}

/// Checks that a metadata-only token asks for a format it may see.
pub(crate) fn check_format(call: &Call, format: Format) -> Result<(), GmailError> {
    if call.metadata_only() && matches!(format, Format::Full | Format::Raw) {
        return Err(GmailError::forbidden(format!(
            "Metadata scope doesn't allow format {}",
            format.name()
        )));
    }
    Ok(())
}

/// `GET /gmail/v1/users/{userId}/messages/{id}`
pub(crate) async fn get_message(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::GetMessage).await?;
    let format = Format::parse(call.params.get("format"))?;
    check_format(&call, format)?;
    let id = message_id(&id)?;
    let metadata_headers = call.params.all("metadataHeaders");
    let mailbox = read(&call.account.mailbox);
    let entry = mailbox.get(id).ok_or_else(GmailError::not_found)?;
    Ok(call.json(&render::message(entry, format, &metadata_headers)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AttachmentBody {
    attachment_id: String,
    size: usize,
    data: String,
}

/// `GET /gmail/v1/users/{userId}/messages/{messageId}/attachments/{id}`
pub(crate) async fn get_attachment(
    State(emu): State<Emulator>,
    Path((user_id, message, attachment)): Path<(String, String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::GetAttachment).await?;
    let id = message_id(&message)?;
    let mailbox = read(&call.account.mailbox);
    let entry = mailbox.get(id).ok_or_else(GmailError::not_found)?;
    let data = entry
        .msg
        .attachment(&attachment)
        .ok_or_else(|| GmailError::invalid_argument("Invalid attachment token"))?;
    Ok(call.json(&AttachmentBody {
        attachment_id: attachment.clone(),
        size: data.len(),
        data: URL_SAFE.encode(data),
    }))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct ModifyRequest {
    pub add_label_ids: Vec<String>,
    pub remove_label_ids: Vec<String>,
}

/// `POST /gmail/v1/users/{userId}/messages/{id}/modify`
pub(crate) async fn modify_message(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Modify).await?;
    let id = message_id(&id)?;
    let req: ModifyRequest = json_body(&body)?;
    let mut mailbox = write(&call.account.mailbox);
    if mailbox.get(id).is_none() {
        return Err(GmailError::not_found());
    }
    mailbox
        .check_modifiable(&req.add_label_ids)
        .and_then(|_| mailbox.check_modifiable(&req.remove_label_ids))
        .map_err(mailbox_error)?;
    let entry = mailbox
        .modify(id, &req.add_label_ids, &req.remove_label_ids)
        .map_err(mailbox_error)?;
    let out = MessageLabels::of(entry);
    drop(mailbox);
    Ok(call.json(&out))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct BatchModifyRequest {
    ids: Vec<String>,
    add_label_ids: Vec<String>,
    remove_label_ids: Vec<String>,
}

/// `POST /gmail/v1/users/{userId}/messages/batchModify`
pub(crate) async fn batch_modify_messages(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Modify).await?;
    let req: BatchModifyRequest = json_body(&body)?;
    if req.ids.len() > 1000 {
        return Err(GmailError::invalid_argument("Too many ids: at most 1000"));
    }
    let ids: Vec<u64> = req
        .ids
        .iter()
        .map(|s| message_id(s))
        .collect::<Result<_, _>>()?;
    let mut mailbox = write(&call.account.mailbox);
    mailbox
        .check_modifiable(&req.add_label_ids)
        .and_then(|_| mailbox.check_modifiable(&req.remove_label_ids))
        .map_err(mailbox_error)?;
    for id in ids {
        // Gmail skips ids it does not know.
        let _ = mailbox.modify(id, &req.add_label_ids, &req.remove_label_ids);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BatchDeleteRequest {
    ids: Vec<String>,
}

/// `POST /gmail/v1/users/{userId}/messages/batchDelete`
pub(crate) async fn batch_delete_messages(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::PermanentDelete).await?;
    let req: BatchDeleteRequest = json_body(&body)?;
    let ids: Vec<u64> = req
        .ids
        .iter()
        .map(|s| message_id(s))
        .collect::<Result<_, _>>()?;
    let mut mailbox = write(&call.account.mailbox);
    for id in ids {
        let _ = mailbox.delete(id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /gmail/v1/users/{userId}/messages/{id}/trash`
pub(crate) async fn trash_message(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Modify).await?;
    let id = message_id(&id)?;
    let mut mailbox = write(&call.account.mailbox);
    let out = MessageLabels::of(mailbox.trash(id).map_err(mailbox_error)?);
    drop(mailbox);
    Ok(call.json(&out))
}

/// `POST /gmail/v1/users/{userId}/messages/{id}/untrash`
pub(crate) async fn untrash_message(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::Modify).await?;
    let id = message_id(&id)?;
    let mut mailbox = write(&call.account.mailbox);
    let out = MessageLabels::of(mailbox.untrash(id).map_err(mailbox_error)?);
    drop(mailbox);
    Ok(call.json(&out))
}

/// `DELETE /gmail/v1/users/{userId}/messages/{id}`
pub(crate) async fn delete_message(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::PermanentDelete).await?;
    let id = message_id(&id)?;
    write(&call.account.mailbox)
        .delete(id)
        .map_err(mailbox_error)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
