//! `users.labels.*`.

use super::error::GmailError;
use super::messages::{GmailResult, mailbox_error};
use super::{Method, gate, json_body};
use crate::Emulator;
use crate::mailbox::labels::{LabelColor, LabelDef, LabelType};
use crate::mailbox::{LabelChange, LabelCounts};
use crate::state::{read, write};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::IntoResponse;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// `Label` of the Gmail API.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelJson<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message_list_visibility: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    label_list_visibility: Option<&'a str>,
    #[serde(rename = "type")]
    kind: LabelType,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    messages_unread: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threads_total: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    threads_unread: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    color: Option<&'a LabelColor>,
}

fn label_json<'a>(l: &'a LabelDef, counts: Option<LabelCounts>) -> LabelJson<'a> {
    LabelJson {
        id: &l.id,
        name: &l.name,
        message_list_visibility: l.message_list_visibility.as_deref(),
        label_list_visibility: l.label_list_visibility.as_deref(),
        kind: l.kind,
        messages_total: counts.map(|c| c.messages_total),
        messages_unread: counts.map(|c| c.messages_unread),
        threads_total: counts.map(|c| c.threads_total),
        threads_unread: counts.map(|c| c.threads_unread),
        color: l.color.as_ref(),
    }
}

#[derive(Serialize)]
struct ListLabelsResponse<'a> {
    labels: Vec<LabelJson<'a>>,
}

/// `GET /gmail/v1/users/{userId}/labels`
pub(crate) async fn list_labels(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::LabelsRead).await?;
    let mailbox = read(&call.account.mailbox);
    let response = ListLabelsResponse {
        labels: mailbox
            .labels()
            .iter()
            .map(|l| label_json(l, None))
            .collect(),
    };
    Ok(call.json(&response))
}

/// `GET /gmail/v1/users/{userId}/labels/{id}`
pub(crate) async fn get_label(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::LabelsRead).await?;
    let mailbox = read(&call.account.mailbox);
    let label = mailbox.label(&id).ok_or_else(GmailError::not_found)?;
    let counts = mailbox.label_counts(&id);
    Ok(call.json(&label_json(label, Some(counts))))
}

/// The writable fields of a `Label` request body.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LabelRequest {
    name: Option<String>,
    message_list_visibility: Option<String>,
    label_list_visibility: Option<String>,
    color: Option<LabelColor>,
}

fn check_visibilities(req: &LabelRequest) -> Result<(), GmailError> {
    if let Some(v) = &req.message_list_visibility
        && v != "show"
        && v != "hide"
    {
        return Err(GmailError::invalid_argument(format!(
            "Invalid value at 'label.message_list_visibility', \"{v}\""
        )));
    }
    if let Some(v) = &req.label_list_visibility
        && !["labelShow", "labelShowIfUnread", "labelHide"].contains(&v.as_str())
    {
        return Err(GmailError::invalid_argument(format!(
            "Invalid value at 'label.label_list_visibility', \"{v}\""
        )));
    }
    Ok(())
}

/// `POST /gmail/v1/users/{userId}/labels`
pub(crate) async fn create_label(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::LabelsWrite).await?;
    let req: LabelRequest = json_body(&body)?;
    check_visibilities(&req)?;
    let name = req
        .name
        .clone()
        .ok_or_else(|| GmailError::invalid_argument("Invalid label name"))?;
    let mut mailbox = write(&call.account.mailbox);
    let label = mailbox
        .create_label(
            &name,
            req.message_list_visibility,
            req.label_list_visibility,
            req.color,
        )
        .map_err(mailbox_error)?
        .clone();
    drop(mailbox);
    Ok(call.json(&label_json(&label, None)))
}

async fn change(
    emu: Emulator,
    (user_id, id): (String, String),
    (uri, headers, body): (Uri, HeaderMap, Bytes),
    replace: bool,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::LabelsWrite).await?;
    let req: LabelRequest = json_body(&body)?;
    check_visibilities(&req)?;
    let mut mailbox = write(&call.account.mailbox);
    let label = mailbox
        .change_label(
            &id,
            LabelChange {
                replace,
                name: req.name,
                message_list_visibility: req.message_list_visibility,
                label_list_visibility: req.label_list_visibility,
                color: req.color,
            },
        )
        .map_err(mailbox_error)?
        .clone();
    drop(mailbox);
    Ok(call.json(&label_json(&label, None)))
}

/// `PUT /gmail/v1/users/{userId}/labels/{id}`
pub(crate) async fn update_label(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    change(emu, (user_id, id), (uri, headers, body), true).await
}

/// `PATCH /gmail/v1/users/{userId}/labels/{id}`
pub(crate) async fn patch_label(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> GmailResult {
    change(emu, (user_id, id), (uri, headers, body), false).await
}

/// `DELETE /gmail/v1/users/{userId}/labels/{id}`
pub(crate) async fn delete_label(
    State(emu): State<Emulator>,
    Path((user_id, id)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::LabelsWrite).await?;
    write(&call.account.mailbox)
        .delete_label(&id)
        .map_err(|e| match e {
            crate::mailbox::MailboxError::SystemLabel => {
                GmailError::invalid_argument("Invalid delete request")
            }
            other => mailbox_error(other),
        })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
