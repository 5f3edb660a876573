//! `gmail.known_labels`: every label a request names — `labelIds` or `labelId` in the query, `addLabelIds`,
//! `removeLabelIds` or `labelIds` in a JSON body or in a form's `body` part — must exist in the
//! mailbox, or the call stops with a 400 naming the label, before anything changes. A label may
//! be named by its id (`Label_12`, `STARRED`) or by its name as the user sees it (`Work`,
//! any case); names become ids, which is all Gmail accepts.

use super::HookContext;
use crate::ConnectorError;
use crate::egress::Credentials;
use crate::runtime::{HubBody, HubRequest};
use bytes::Bytes;
use serde_json::Value;

const BODY_FIELDS: [&str; 3] = ["addLabelIds", "removeLabelIds", "labelIds"];
const QUERY_PARAMETERS: [&str; 2] = ["labelIds", "labelId"];

/// How many label names an error lists before it stops.
const LISTED: usize = 40;

pub(crate) async fn known_labels<C: Credentials>(
    context: &HookContext<'_, C>,
    request: &mut HubRequest,
) -> Result<(), ConnectorError> {
    let named =
        request.query.iter().any(|(name, value)| {
            QUERY_PARAMETERS.contains(&name.as_str()) && !value.trim().is_empty()
        }) || body_json(&request.body)
            .is_some_and(|body| BODY_FIELDS.iter().any(|field| body.get(*field).is_some()));
    if !named {
        return Ok(());
    }
    let reply = context.read("listLabels", &[], &[]).await?;
    let labels = Labels::from_reply(&reply);
    for (name, value) in request.query.iter_mut() {
        if QUERY_PARAMETERS.contains(&name.as_str()) {
            let ids = value
                .split(',')
                .map(str::trim)
                .filter(|label| !label.is_empty())
                .map(|label| labels.resolve(name, label))
                .collect::<Result<Vec<_>, _>>()?;
            *value = ids.join(",");
        }
    }
    match &mut request.body {
        HubBody::Json(body) => resolve_body(&labels, body),
        HubBody::Form(parts) => {
            for part in parts
                .iter_mut()
                .filter(|p| p.name == "body" && p.filename.is_none())
            {
                // A body part that is not JSON is the send hook's to explain.
                let Ok(mut body) = serde_json::from_slice::<Value>(&part.data) else {
                    continue;
                };
                resolve_body(&labels, &mut body)?;
                part.data = Bytes::from(body.to_string());
            }
            Ok(())
        }
        HubBody::Empty => Ok(()),
    }
}

fn body_json(body: &HubBody) -> Option<Value> {
    match body {
        HubBody::Json(value) => Some(value.clone()),
        HubBody::Form(parts) => parts
            .iter()
            .find(|p| p.name == "body" && p.filename.is_none())
            .and_then(|p| serde_json::from_slice(&p.data).ok()),
        HubBody::Empty => None,
    }
}

fn resolve_body(labels: &Labels, body: &mut Value) -> Result<(), ConnectorError> {
    for field in BODY_FIELDS {
        let Some(list) = body.get_mut(field) else {
            continue;
        };
        let Value::Array(items) = list else {
            return Err(ConnectorError::input(
                field,
                format!("{field} must be a list of label ids or names"),
            ));
        };
        for (index, item) in items.iter_mut().enumerate() {
            let at = format!("{field}[{index}]");
            let label = item.as_str().ok_or_else(|| {
                ConnectorError::input(&at, format!("{at} must be a label id or name"))
            })?;
            *item = Value::String(labels.resolve(&at, label)?);
        }
    }
    Ok(())
}

/// The mailbox's labels as `labels.list` answers them.
struct Labels {
    /// (id, name)
    known: Vec<(String, String)>,
}

impl Labels {
    fn from_reply(reply: &Value) -> Labels {
        let known = reply["labels"]
            .as_array()
            .map(|labels| {
                labels
                    .iter()
                    .filter_map(|l| {
                        Some((l["id"].as_str()?.to_owned(), l["name"].as_str()?.to_owned()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        Labels { known }
    }

    /// The id of a label named by id or name.
    fn resolve(&self, field: &str, label: &str) -> Result<String, ConnectorError> {
        if let Some((id, _)) = self.known.iter().find(|(id, _)| id == label) {
            return Ok(id.clone());
        }
        if let Some((id, _)) = self
            .known
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(label))
        {
            return Ok(id.clone());
        }
        let mut names: Vec<&str> = self.known.iter().map(|(_, name)| name.as_str()).collect();
        names.sort_unstable();
        let more = names.len().saturating_sub(LISTED);
        names.truncate(LISTED);
        let mut listed = names.join(", ");
        if more > 0 {
            listed.push_str(&format!(" and {more} more"));
        }
        Err(ConnectorError::input(
            field,
            format!("{field}: unknown label {label:?}; this mailbox has {listed}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels() -> Labels {
        Labels::from_reply(&json!({"labels": [
            {"id": "INBOX", "name": "INBOX", "type": "system"},
            {"id": "STARRED", "name": "STARRED", "type": "system"},
            {"id": "Label_3", "name": "Work", "type": "user"}
        ]}))
    }

    #[test]
    fn names_become_ids_and_unknown_labels_are_named() {
        let mut body = json!({"addLabelIds": ["work", "STARRED"], "removeLabelIds": ["Label_3"]});
        resolve_body(&labels(), &mut body).unwrap();
        assert_eq!(
            body,
            json!({"addLabelIds": ["Label_3", "STARRED"], "removeLabelIds": ["Label_3"]})
        );
        let mut bad = json!({"addLabelIds": ["INBOX", "Holidays"]});
        match resolve_body(&labels(), &mut bad).unwrap_err() {
            ConnectorError::InvalidInput { field, message } => {
                assert_eq!(field.as_deref(), Some("addLabelIds[1]"));
                assert!(message.contains("\"Holidays\""), "{message}");
                assert!(message.contains("Work"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
