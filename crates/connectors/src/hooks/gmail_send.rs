//! `gmail.send_message`, `gmail.import_message`, `gmail.save_draft`: a message body (see
//! `gmail_mime`) becomes the RFC 5322 message and goes to Gmail as an `uploadType=multipart`
//! upload (JSON metadata + `message/rfc822`). A reply names the message it answers
//! (`replyToMessageId`) or only its thread (`threadId`): the hook reads the original's headers so
//! that `In-Reply-To`, `References`, the subject and the thread are what Gmail and every other mail
//! client need to show the reply in its conversation.

use super::gmail_mime::{
    GMAIL_MAX_MESSAGE_BYTES, OutgoingMail, compose_message, parse_address_list, read_request,
};
use super::{HookContext, HookOutput};
use crate::ConnectorError;
use crate::egress::Credentials;
use crate::runtime::{HubRequest, InstanceContext};
use bytes::Bytes;
use rand::Rng;
use serde_json::{Map, Value, json};

/// The headers of the original a reply needs.
const REPLY_HEADERS: &str = "Message-ID,References,Subject,From,Reply-To,To";

pub(crate) async fn send_message<C: Credentials>(
    context: &HookContext<'_, C>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    let mut mail = read_request(&request.body)?;
    refuse_labels(&mail, "send")?;
    let message_id = match &request.idempotency_key {
        Some(key) => {
            let id = idempotent_message_id(context.instance, &mail, key);
            if let Some(sent) = already_sent(context, &id).await? {
                return Ok(HookOutput::AlreadyDone(sent));
            }
            Some(id)
        }
        None => None,
    };
    resolve_reply(context, &mut mail).await?;
    let raw = message_bytes(context.instance, &mail, message_id)?;
    let mut metadata = Map::new();
    if let Some(thread_id) = &mail.thread_id {
        metadata.insert("threadId".into(), Value::String(thread_id.clone()));
    }
    Ok(related_upload(&Value::Object(metadata), &raw))
}

/// Import puts a message into the mailbox as if it had arrived: in the inbox, unread, unless the
/// body names its labels.
pub(crate) async fn import_message<C: Credentials>(
    context: &HookContext<'_, C>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    let mut mail = read_request(&request.body)?;
    resolve_reply(context, &mut mail).await?;
    let raw = message_bytes(context.instance, &mail, None)?;
    let labels = if mail.label_ids.is_empty() {
        vec!["INBOX".to_owned(), "UNREAD".to_owned()]
    } else {
        mail.label_ids.clone()
    };
    let mut metadata = json!({ "labelIds": labels });
    if let Some(thread_id) = &mail.thread_id {
        metadata["threadId"] = Value::String(thread_id.clone());
    }
    Ok(related_upload(&metadata, &raw))
}

/// Creates or replaces a draft (the vendor path decides which).
pub(crate) async fn save_draft<C: Credentials>(
    context: &HookContext<'_, C>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    let mut mail = read_request(&request.body)?;
    refuse_labels(&mail, "a draft")?;
    resolve_reply(context, &mut mail).await?;
    let raw = message_bytes(context.instance, &mail, None)?;
    let mut message = Map::new();
    if let Some(thread_id) = &mail.thread_id {
        message.insert("threadId".into(), Value::String(thread_id.clone()));
    }
    let mut draft = json!({ "message": message });
    if let Some(id) = context.path_value("id") {
        draft["id"] = Value::String(id.to_owned());
    }
    Ok(related_upload(&draft, &raw))
}

fn refuse_labels(mail: &OutgoingMail, what: &str) -> Result<(), ConnectorError> {
    if mail.label_ids.is_empty() {
        Ok(())
    } else {
        Err(ConnectorError::input(
            "labelIds",
            format!(
                "labelIds cannot be set on {what}: Gmail labels it itself (label it afterwards with PATCH /messages/{{id}})"
            ),
        ))
    }
}

/// Fills in what a reply takes from the message it answers.
async fn resolve_reply<C: Credentials>(
    context: &HookContext<'_, C>,
    mail: &mut OutgoingMail,
) -> Result<(), ConnectorError> {
    let metadata = [("format", "metadata"), ("metadataHeaders", REPLY_HEADERS)];
    let original = if let Some(id) = mail.reply_to_message_id.clone() {
        let message = context
            .read("getMessage", &[("id", &id)], &metadata)
            .await
            .map_err(|e| missing(e, "replyToMessageId", &format!("message {id:?}")))?;
        if mail
            .thread_id
            .as_ref()
            .is_some_and(|t| message["threadId"] != *t)
        {
            return Err(ConnectorError::input(
                "threadId",
                format!(
                    "message {id:?} is not in thread {:?}",
                    mail.thread_id.as_deref().unwrap_or_default()
                ),
            ));
        }
        message
    } else if let (Some(thread_id), None) = (mail.thread_id.clone(), &mail.in_reply_to) {
        if mail.raw.is_some() {
            return Ok(());
        }
        // Gmail files a message into a thread only when its headers answer a message of it.
        let thread = context
            .read("getThread", &[("id", &thread_id)], &metadata)
            .await
            .map_err(|e| missing(e, "threadId", &format!("thread {thread_id:?}")))?;
        let last = thread["messages"]
            .as_array()
            .and_then(|messages| {
                messages
                    .iter()
                    .rev()
                    .find(|m| !has_label(m, "DRAFT"))
                    .or(messages.last())
            })
            .cloned();
        match last {
            Some(message) => message,
            None => return Ok(()),
        }
    } else {
        return Ok(());
    };
    let header = |name: &str| {
        original["payload"]["headers"]
            .as_array()
            .and_then(|headers| {
                headers.iter().find(|h| {
                    h["name"]
                        .as_str()
                        .is_some_and(|n| n.eq_ignore_ascii_case(name))
                })
            })
            .and_then(|h| h["value"].as_str())
            .map(str::to_owned)
    };
    let message_id = header("Message-ID");
    if mail.in_reply_to.is_none() {
        mail.in_reply_to = message_id.clone();
    }
    if mail.references.is_empty() {
        mail.references = header("References")
            .map(|refs| refs.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default();
        if let Some(id) = &message_id
            && !mail.references.contains(id)
        {
            mail.references.push(id.clone());
        }
    }
    if mail.thread_id.is_none() {
        mail.thread_id = original["threadId"].as_str().map(str::to_owned);
    }
    if mail.subject.is_none()
        && let Some(subject) = header("Subject")
    {
        let already = subject
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("re:"));
        mail.subject = Some(if already {
            subject
        } else {
            format!("Re: {subject}")
        });
    }
    if mail.to.is_empty() {
        // Answering one's own message goes to its recipients, as mail clients do.
        let own = context.instance.account.is_some_and(|account| {
            header("From").is_some_and(|from| from.to_lowercase().contains(&account.to_lowercase()))
        });
        let recipients = if own {
            header("To")
        } else {
            header("Reply-To").or_else(|| header("From"))
        };
        let recipients = recipients.ok_or_else(|| {
            ConnectorError::input("to", "to is required: the original message names no sender")
        })?;
        mail.to = parse_address_list("to", &recipients)?;
    }
    Ok(())
}

fn has_label(message: &Value, label: &str) -> bool {
    message["labelIds"]
        .as_array()
        .is_some_and(|labels| labels.iter().any(|l| l == label))
}

/// A message or thread the body refers to that does not exist is the caller's mistake (400),
/// not a missing path (404).
fn missing(error: ConnectorError, field: &str, what: &str) -> ConnectorError {
    match error {
        ConnectorError::NotFound { .. } | ConnectorError::Provider { status: 404, .. } => {
            ConnectorError::input(
                field,
                format!("{field}: {what} does not exist in this mailbox"),
            )
        }
        other => other,
    }
}

/// The Message-ID a send with this idempotency key gets, whoever sends it and however often: the
/// key made safe for a Message-ID, at the sender's domain.
fn idempotent_message_id(instance: &InstanceContext<'_>, mail: &OutgoingMail, key: &str) -> String {
    let local: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '.'
            }
        })
        .collect();
    format!("ferry.{local}@{}", sender_domain(instance, mail))
}

fn sender_domain(instance: &InstanceContext<'_>, mail: &OutgoingMail) -> String {
    mail.from
        .as_ref()
        .map(|from| from.email.clone())
        .or_else(|| instance.account.map(str::to_owned))
        .and_then(|email| email.rsplit_once('@').map(|(_, domain)| domain.to_owned()))
        .unwrap_or_else(|| "ferry.invalid".into())
}

/// A message with this Message-ID in the mailbox means an earlier attempt of the same send got
/// through (before its caller could record it): answer with it instead of sending again.
async fn already_sent<C: Credentials>(
    context: &HookContext<'_, C>,
    message_id: &str,
) -> Result<Option<Value>, ConnectorError> {
    let query = format!("q='rfc822msgid:{message_id}'");
    let found = context
        .read(
            "listMessages",
            &[],
            &[("where", query.as_str()), ("includeSpamTrash", "true")],
        )
        .await?;
    Ok(found["messages"]
        .as_array()
        .and_then(|list| list.first())
        .map(
            |first| json!({"id": first["id"], "threadId": first["threadId"], "labelIds": ["SENT"]}),
        ))
}

/// The RFC 822 bytes: the caller's own, or built from the fields (From defaults to the account).
fn message_bytes(
    instance: &InstanceContext<'_>,
    mail: &OutgoingMail,
    message_id: Option<String>,
) -> Result<Vec<u8>, ConnectorError> {
    let raw = match &mail.raw {
        Some(raw) => raw.clone(),
        None => {
            let mut mail = mail.clone();
            if mail.from.is_none() {
                let account = instance.account.ok_or_else(|| {
                    ConnectorError::input(
                        "from",
                        "from is required: the instance's own address is not known yet",
                    )
                })?;
                mail.from = parse_address_list("from", account)?.into_iter().next();
            }
            let message_id = message_id.unwrap_or_else(|| {
                format!(
                    "{:016x}.{}@{}",
                    rand::rng().random::<u64>(),
                    chrono::Utc::now().timestamp_millis(),
                    sender_domain(instance, &mail)
                )
            });
            compose_message(&mail, chrono::Utc::now().timestamp(), &message_id)?
        }
    };
    if raw.len() > GMAIL_MAX_MESSAGE_BYTES {
        return Err(ConnectorError::PayloadTooLarge {
            what: "the message with its attachments".into(),
            limit: GMAIL_MAX_MESSAGE_BYTES,
            actual: raw.len(),
        });
    }
    Ok(raw)
}

/// Gmail's `uploadType=multipart`: a JSON metadata part and the message itself.
fn related_upload(metadata: &Value, raw: &[u8]) -> HookOutput {
    let boundary = format!("ferry-{:032x}", rand::rng().random::<u128>());
    let mut body = Vec::with_capacity(raw.len() + 256);
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(metadata.to_string().as_bytes());
    body.extend_from_slice(
        format!("\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").as_bytes(),
    );
    body.extend_from_slice(raw);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    HookOutput::Upload {
        content_type: format!("multipart/related; boundary={boundary}"),
        body: Bytes::from(body),
    }
}
