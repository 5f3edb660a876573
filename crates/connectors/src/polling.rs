//! Declarative event polling (`events.polling`): a list operation read with the stored cursor
//! (following its pages, at most 50 a poll), its items past the cursor becoming change events. Timestamp style keeps the
//! latest change time seen as the cursor; cursor style keeps what the reply says. A first poll
//! (no cursor) only learns the position, so what existed before triggers nothing.

use crate::ConnectorError;
use crate::egress::Credentials;
use crate::events::{ChangeEvent, EventBatch};
use crate::hooks::HookContext;
use ferry_model::connector::PollingDef;
use serde_json::Value;
use std::cmp::Ordering;

/// Pages one poll reads at most.
const MAX_PAGES_PER_POLL: usize = 50;

/// The cursor of a first poll that found no items: earlier than any time.
const BEGINNING: &str = "0";

pub(crate) fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Orders two change times: as numbers when both are, else as text (ISO 8601 sorts as text).
fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

pub(crate) async fn poll<C: Credentials>(
    context: &HookContext<'_, C>,
    polling: &PollingDef,
    object_type: &str,
    cursor: Option<&str>,
) -> Result<EventBatch, ConnectorError> {
    let mut query = Vec::new();
    if let (Some(parameter), Some(cursor)) = (&polling.parameter, cursor) {
        query.push((parameter.clone(), cursor.to_owned()));
    }
    let root = context
        .connector
        .operation(&polling.operation)
        .and_then(|resource| resource.response.root.as_deref())
        .unwrap_or("");
    // Every page, so that a first poll learns the latest position and a burst of changes is
    // seen whole; bounded, so one poll cannot run away.
    let mut items: Vec<Value> = Vec::new();
    let mut reply = Value::Null;
    let mut page: Option<String> = None;
    for _ in 0..MAX_PAGES_PER_POLL {
        let (value, next) = context
            .runtime
            .read_page(context, &polling.operation, &[], &query, page.as_deref())
            .await?;
        if let Some(Value::Array(found)) = value.pointer(root) {
            items.extend(found.iter().cloned());
        }
        reply = value;
        match next {
            Some(token) => page = Some(token),
            None => break,
        }
    }
    let event = |item: &Value, event_type: &'static str, position: Option<String>| {
        let id = item.pointer(&polling.id).and_then(text)?;
        Some(ChangeEvent {
            object_type: object_type.to_owned(),
            object_id: id,
            event_type,
            history_id: position,
            id: None,
            raw: item.clone(),
        })
    };
    let kind = |item: &Value, since: &str| -> &'static str {
        let created = polling
            .created
            .as_deref()
            .and_then(|p| item.pointer(p))
            .and_then(text);
        match created {
            Some(created) if compare(&created, since) == Ordering::Greater => "CREATED",
            _ => "UPDATED",
        }
    };
    if let Some(updated_at) = &polling.updated {
        let stamp = |item: &Value| item.pointer(updated_at).and_then(text);
        let latest = items.iter().filter_map(stamp).max_by(|a, b| compare(a, b));
        let Some(since) = cursor else {
            return Ok(EventBatch {
                events: Vec::new(),
                cursor: latest.unwrap_or_else(|| BEGINNING.to_owned()),
                restarted: false,
            });
        };
        let mut events: Vec<(String, ChangeEvent)> = items
            .iter()
            .filter_map(|item| {
                let at = stamp(item)?;
                (compare(&at, since) == Ordering::Greater)
                    .then(|| event(item, kind(item, since), Some(at.clone())).map(|e| (at, e)))
                    .flatten()
            })
            .collect();
        events.sort_by(|(a, _), (b, _)| compare(a, b));
        let next = latest
            .filter(|latest| compare(latest, since) == Ordering::Greater)
            .unwrap_or_else(|| since.to_owned());
        return Ok(EventBatch {
            events: events.into_iter().map(|(_, e)| e).collect(),
            cursor: next,
            restarted: false,
        });
    }
    let next_cursor = polling
        .cursor
        .as_deref()
        .and_then(|p| reply.pointer(p))
        .and_then(text);
    let Some(since) = cursor else {
        return Ok(EventBatch {
            events: Vec::new(),
            cursor: next_cursor.unwrap_or_else(|| BEGINNING.to_owned()),
            restarted: false,
        });
    };
    let position = next_cursor.clone().unwrap_or_else(|| since.to_owned());
    let events = items
        .iter()
        .filter_map(|item| event(item, kind(item, since), Some(position.clone())))
        .collect();
    Ok(EventBatch {
        events,
        cursor: position,
        restarted: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_times_compare_as_numbers_or_text() {
        assert_eq!(compare("9", "10"), Ordering::Less);
        assert_eq!(
            compare("2026-01-02T00:00:00Z", "2026-01-01T23:59:59Z"),
            Ordering::Greater
        );
        assert_eq!(
            compare("2026-01-01T00:00:00Z", BEGINNING),
            Ordering::Greater
        );
    }
}
