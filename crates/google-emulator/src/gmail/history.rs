//! `users.history.list`.

use super::error::GmailError;
use super::messages::GmailResult;
use super::render::{MessageLabels, MessageRef};
use super::{Method, gate, max_results};
use crate::Emulator;
use crate::ids::format_id;
use crate::mailbox::history::HistoryRecord;
use crate::state::read;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use serde::Serialize;

#[derive(Serialize)]
struct MessageChange {
    message: MessageLabels,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LabelChange {
    message: MessageLabels,
    label_ids: Vec<String>,
}

/// `History` of the Gmail API.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HistoryJson {
    id: String,
    messages: Vec<MessageRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages_added: Vec<MessageChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    messages_deleted: Vec<MessageChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels_added: Vec<LabelChange>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    labels_removed: Vec<LabelChange>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListHistoryResponse {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    history: Vec<HistoryJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_page_token: Option<String>,
    history_id: String,
}

const TYPES: [&str; 4] = [
    "messageAdded",
    "messageDeleted",
    "labelAdded",
    "labelRemoved",
];

fn record_json(r: &HistoryRecord, types: &[String]) -> Option<HistoryJson> {
    let wants = |t: &str| types.is_empty() || types.iter().any(|x| x == t);
    let labels = || MessageLabels {
        id: format_id(r.message_id),
        thread_id: format_id(r.thread_id),
        label_ids: r.labels.clone(),
    };
    let json = HistoryJson {
        id: r.id.to_string(),
        messages: vec![MessageRef {
            id: format_id(r.message_id),
            thread_id: format_id(r.thread_id),
        }],
        messages_added: if r.message_added && wants("messageAdded") {
            vec![MessageChange { message: labels() }]
        } else {
            Vec::new()
        },
        messages_deleted: if r.message_deleted && wants("messageDeleted") {
            vec![MessageChange { message: labels() }]
        } else {
            Vec::new()
        },
        labels_added: if !r.labels_added.is_empty() && wants("labelAdded") {
            vec![LabelChange {
                message: labels(),
                label_ids: r.labels_added.clone(),
            }]
        } else {
            Vec::new()
        },
        labels_removed: if !r.labels_removed.is_empty() && wants("labelRemoved") {
            vec![LabelChange {
                message: labels(),
                label_ids: r.labels_removed.clone(),
            }]
        } else {
            Vec::new()
        },
    };
    let empty = json.messages_added.is_empty()
        && json.messages_deleted.is_empty()
        && json.labels_added.is_empty()
        && json.labels_removed.is_empty();
    (!empty).then_some(json)
}

/// `GET /gmail/v1/users/{userId}/history`
pub(crate) async fn list_history(
    State(emu): State<Emulator>,
    Path(user_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> GmailResult {
    let call = gate(&emu, &headers, &uri, &user_id, Method::ListMetadata).await?;
    let start: u64 = match call.params.non_empty("startHistoryId") {
        None => {
            return Err(GmailError::invalid_argument(
                "Missing required parameter: startHistoryId",
            ));
        }
        Some(v) => v.parse().map_err(|_| {
            GmailError::invalid_argument(format!(
                "Invalid value at 'start_history_id' (TYPE_UINT64), \"{v}\""
            ))
        })?,
    };
    let types = call.params.all("historyTypes");
    for t in &types {
        if !TYPES.contains(&t.as_str()) {
            return Err(GmailError::invalid_argument(format!(
                "Invalid value at 'history_types', \"{t}\""
            )));
        }
    }
    let label = call.params.non_empty("labelId").map(str::to_string);
    let max = max_results(&call)?;
    let from = match call.params.non_empty("pageToken") {
        Some(t) => t
            .parse::<u64>()
            .map_err(|_| GmailError::invalid_argument("Invalid pageToken"))?
            .max(start),
        None => start,
    };
    let mailbox = read(&call.account.mailbox);
    let records = mailbox
        .history()
        .since(start)
        .ok_or_else(GmailError::not_found)?
        .filter(|r| r.id > from);
    let mut history = Vec::new();
    let mut next = None;
    for r in records {
        if let Some(l) = &label
            && !r.labels.contains(l)
            && !r.labels_added.contains(l)
            && !r.labels_removed.contains(l)
        {
            continue;
        }
        let Some(json) = record_json(r, &types) else {
            continue;
        };
        if history.len() == max {
            next = history.last().map(|h: &HistoryJson| h.id.clone());
            break;
        }
        history.push(json);
    }
    let response = ListHistoryResponse {
        history,
        next_page_token: next,
        history_id: mailbox.history_id().to_string(),
    };
    drop(mailbox);
    Ok(call.json(&response))
}
