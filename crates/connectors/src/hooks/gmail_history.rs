//! `gmail.history`: the events of a Gmail instance, from the history API. The cursor is the last
//! history id seen; a first poll only learns where the mailbox is now (no events for old mail). A
//! cursor older than Gmail keeps (404) restarts from the current history id and says so: what
//! happened in between cannot be recovered from Gmail.

use super::HookContext;
use crate::ConnectorError;
use crate::egress::Credentials;
use crate::events::{ChangeEvent, EventBatch};
use serde_json::Value;
use std::collections::HashSet;

async fn current_history_id<C: Credentials>(
    context: &HookContext<'_, C>,
) -> Result<String, ConnectorError> {
    let profile = context.read("getProfile", &[], &[]).await?;
    profile["historyId"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ConnectorError::Provider {
            status: 502,
            message: "Gmail's profile has no historyId".into(),
            provider_message: None,
            retry_after_secs: None,
        })
}

fn message_ids<'a>(record: &'a Value, kind: &str) -> impl Iterator<Item = (&'a str, &'a Value)> {
    record[kind]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            entry["message"]["id"]
                .as_str()
                .map(|id| (id, &entry["message"]))
        })
}

pub(crate) async fn poll<C: Credentials>(
    context: &HookContext<'_, C>,
    object_type: &str,
    cursor: Option<&str>,
) -> Result<EventBatch, ConnectorError> {
    let Some(start) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(EventBatch {
            events: Vec::new(),
            cursor: current_history_id(context).await?,
            restarted: false,
        });
    };
    let mut events = Vec::new();
    let mut seen: HashSet<(String, &'static str)> = HashSet::new();
    let mut next_cursor = start.to_owned();
    let mut page: Option<String> = None;
    loop {
        let mut query = vec![("startHistoryId", start), ("pageSize", "500")];
        if let Some(token) = &page {
            query.push(("nextPage", token.as_str()));
        }
        let reply = match context.read("listHistory", &[], &query).await {
            Ok(reply) => reply,
            Err(ConnectorError::NotFound { .. } | ConnectorError::Provider { status: 404, .. }) => {
                return Ok(EventBatch {
                    events: Vec::new(),
                    cursor: current_history_id(context).await?,
                    restarted: true,
                });
            }
            Err(other) => return Err(other),
        };
        for record in reply["history"].as_array().into_iter().flatten() {
            let mut push = |id: &str, message: &Value, kind: &'static str| {
                let created_already = seen.contains(&(id.to_owned(), "CREATED"));
                if (kind == "UPDATED" && created_already) || !seen.insert((id.to_owned(), kind)) {
                    return;
                }
                events.push(ChangeEvent {
                    object_type: object_type.to_owned(),
                    object_id: id.to_owned(),
                    event_type: kind,
                    history_id: record["id"].as_str().map(str::to_owned),
                    id: None,
                    raw: message.clone(),
                });
            };
            for (id, message) in message_ids(record, "messagesAdded") {
                push(id, message, "CREATED");
            }
            for kind in ["labelsAdded", "labelsRemoved"] {
                for (id, message) in message_ids(record, kind) {
                    push(id, message, "UPDATED");
                }
            }
            for (id, message) in message_ids(record, "messagesDeleted") {
                push(id, message, "DELETED");
            }
        }
        if let Some(history_id) = reply["historyId"].as_str() {
            next_cursor = history_id.to_owned();
        }
        match reply["nextPageToken"].as_str().filter(|t| !t.is_empty()) {
            Some(token) => page = Some(token.to_owned()),
            None => break,
        }
    }
    Ok(EventBatch {
        events,
        cursor: next_cursor,
        restarted: false,
    })
}
