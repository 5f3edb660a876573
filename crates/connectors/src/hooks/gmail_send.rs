//! `gmail.send_message`: Cloud Elements' send body — JSON `{to, subject, from?, data|message, cc?,
//! bcc?, html?, …}` or multipart/form-data with a `body` part holding that JSON and `file` parts —
//! becomes an RFC 5322 / MIME message (CRLF, Date, Message-ID, RFC 2047 for non-ASCII headers,
//! multipart for attachments), sent through Gmail's `messages.send` media upload.

use super::HookOutput;
use crate::ConnectorError;
use crate::runtime::{FormPart, HubBody, HubRequest, InstanceContext};
use base64::Engine;
use bytes::Bytes;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
use rand::Rng;
use serde_json::{Map, Value};

/// Gmail's limit on a whole message, attachments included.
pub const GMAIL_MAX_MESSAGE_BYTES: usize = 35 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailAddress {
    pub name: Option<String>,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A message to send, once the request has been read and checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutgoingMail {
    pub from: Option<MailAddress>,
    pub to: Vec<MailAddress>,
    pub cc: Vec<MailAddress>,
    pub bcc: Vec<MailAddress>,
    pub reply_to: Vec<MailAddress>,
    pub subject: Option<String>,
    pub text: Option<String>,
    pub html: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    pub thread_id: Option<String>,
    pub attachments: Vec<Attachment>,
}

const KNOWN_FIELDS: &[&str] = &[
    "to",
    "cc",
    "bcc",
    "from",
    "replyTo",
    "subject",
    "data",
    "message",
    "text",
    "html",
    "inReplyTo",
    "references",
    "threadId",
    "attachments",
];

pub(crate) fn build(
    instance: &InstanceContext<'_>,
    request: &HubRequest,
) -> Result<HookOutput, ConnectorError> {
    let mut mail = match &request.body {
        HubBody::Json(value) => read_json(value)?,
        HubBody::Form(parts) => read_form(parts)?,
        HubBody::Empty => {
            return Err(ConnectorError::input(
                "body",
                "send needs a body: JSON {to, subject, data} or multipart/form-data with a body part",
            ));
        }
    };
    if mail.from.is_none() {
        let account = instance.account.ok_or_else(|| {
            ConnectorError::input(
                "from",
                "from is required: the instance's own address is not known yet",
            )
        })?;
        mail.from = Some(MailAddress {
            name: None,
            email: account.to_owned(),
        });
    }
    let from_domain = mail
        .from
        .as_ref()
        .and_then(|from| from.email.rsplit_once('@'))
        .map(|(_, domain)| domain.to_owned())
        .unwrap_or_else(|| "ferry.invalid".into());
    let message_id = format!(
        "{:016x}.{}@{from_domain}",
        rand::rng().random::<u64>(),
        chrono::Utc::now().timestamp_millis()
    );
    let raw = compose_message(&mail, chrono::Utc::now().timestamp(), &message_id)?;
    if raw.len() > GMAIL_MAX_MESSAGE_BYTES {
        return Err(ConnectorError::PayloadTooLarge {
            what: "the message with its attachments".into(),
            limit: GMAIL_MAX_MESSAGE_BYTES,
            actual: raw.len(),
        });
    }
    let mut metadata = Map::new();
    if let Some(thread_id) = &mail.thread_id {
        metadata.insert("threadId".into(), Value::String(thread_id.clone()));
    }
    Ok(related_upload(&Value::Object(metadata), &raw))
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
    HookOutput {
        content_type: format!("multipart/related; boundary={boundary}"),
        body: Bytes::from(body),
    }
}

/// Builds the RFC 5322 message. `date` is Unix seconds.
pub fn compose_message(
    mail: &OutgoingMail,
    date: i64,
    message_id: &str,
) -> Result<Vec<u8>, ConnectorError> {
    let mut builder = MessageBuilder::new()
        .message_id(MessageId::new(message_id.to_owned()))
        .date(Date::new(date));
    if let Some(from) = &mail.from {
        builder = builder.from(address(from));
    }
    if !mail.to.is_empty() {
        builder = builder.to(address_list(&mail.to));
    }
    if !mail.cc.is_empty() {
        builder = builder.cc(address_list(&mail.cc));
    }
    if !mail.bcc.is_empty() {
        builder = builder.bcc(address_list(&mail.bcc));
    }
    if !mail.reply_to.is_empty() {
        builder = builder.reply_to(address_list(&mail.reply_to));
    }
    if let Some(subject) = &mail.subject {
        builder = builder.subject(subject.clone());
    }
    if let Some(in_reply_to) = &mail.in_reply_to {
        builder = builder.in_reply_to(MessageId::new(strip_angles(in_reply_to).to_owned()));
    }
    if !mail.references.is_empty() {
        let ids: Vec<String> = mail
            .references
            .iter()
            .map(|r| strip_angles(r).to_owned())
            .collect();
        builder = builder.references(MessageId::from(ids));
    }
    match (&mail.text, &mail.html) {
        (None, None) => builder = builder.text_body(String::new()),
        (text, html) => {
            if let Some(text) = text {
                builder = builder.text_body(text.clone());
            }
            if let Some(html) = html {
                builder = builder.html_body(html.clone());
            }
        }
    }
    for attachment in &mail.attachments {
        builder = builder.attachment(
            attachment.content_type.clone(),
            attachment.filename.clone(),
            attachment.data.clone(),
        );
    }
    builder
        .write_to_vec()
        .map_err(|e| ConnectorError::input("body", format!("the message could not be built: {e}")))
}

fn address(value: &MailAddress) -> Address<'static> {
    Address::new_address(value.name.clone(), value.email.clone())
}

fn address_list(values: &[MailAddress]) -> Address<'static> {
    if values.len() == 1 {
        address(&values[0])
    } else {
        Address::new_list(values.iter().map(address).collect())
    }
}

fn strip_angles(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

fn read_form(parts: &[FormPart]) -> Result<OutgoingMail, ConnectorError> {
    let mut mail = None;
    let mut attachments = Vec::new();
    for part in parts {
        if part.filename.is_some() || part.name == "file" {
            let filename = part
                .filename
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| "attachment".into());
            let content_type = part
                .content_type
                .clone()
                .filter(|ct| ct.contains('/'))
                .unwrap_or_else(|| guess_content_type(&filename).to_owned());
            attachments.push(Attachment {
                filename,
                content_type,
                data: part.data.to_vec(),
            });
        } else if part.name == "body" {
            let text = std::str::from_utf8(&part.data)
                .map_err(|_| ConnectorError::input("body", "the body part is not UTF-8 text"))?;
            let value: Value = serde_json::from_str(text).map_err(|e| {
                ConnectorError::input("body", format!("the body part is not valid JSON: {e}"))
            })?;
            mail = Some(read_json(&value)?);
        } else {
            return Err(ConnectorError::input(
                &part.name,
                format!(
                    "unexpected form part {:?}: send a body part (JSON) and file parts",
                    part.name
                ),
            ));
        }
    }
    let mut mail = mail.ok_or_else(|| {
        ConnectorError::input("body", "the form has no body part holding the message JSON")
    })?;
    mail.attachments.extend(attachments);
    Ok(mail)
}

fn read_json(value: &Value) -> Result<OutgoingMail, ConnectorError> {
    let Value::Object(fields) = value else {
        return Err(ConnectorError::input(
            "body",
            "the message must be a JSON object",
        ));
    };
    if let Some(unknown) = fields
        .keys()
        .find(|key| !KNOWN_FIELDS.contains(&key.as_str()))
    {
        return Err(ConnectorError::input(
            unknown,
            format!(
                "unknown field {unknown:?}; a message has {}",
                KNOWN_FIELDS.join(", ")
            ),
        ));
    }
    let mut mail = OutgoingMail {
        from: optional_addresses(fields, "from")?
            .map(single("from"))
            .transpose()?,
        to: optional_addresses(fields, "to")?.unwrap_or_default(),
        cc: optional_addresses(fields, "cc")?.unwrap_or_default(),
        bcc: optional_addresses(fields, "bcc")?.unwrap_or_default(),
        reply_to: optional_addresses(fields, "replyTo")?.unwrap_or_default(),
        subject: optional_string(fields, "subject")?,
        in_reply_to: optional_string(fields, "inReplyTo")?,
        references: string_list(fields, "references")?,
        thread_id: optional_string(fields, "threadId")?,
        ..OutgoingMail::default()
    };
    if mail.to.is_empty() {
        return Err(ConnectorError::input(
            "to",
            "to is required: who should receive the message?",
        ));
    }
    let body_fields: Vec<&str> = ["data", "message", "text"]
        .into_iter()
        .filter(|key| fields.contains_key(*key))
        .collect();
    if body_fields.len() > 1 {
        return Err(ConnectorError::input(
            body_fields[1],
            format!(
                "give the text once: {} are alternatives",
                body_fields.join(" and ")
            ),
        ));
    }
    let text = match body_fields.first() {
        Some(key) => optional_string(fields, key)?,
        None => None,
    };
    match fields.get("html") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => mail.text = text,
        Some(Value::Bool(true)) => mail.html = text,
        Some(Value::String(html)) => {
            mail.text = text;
            mail.html = Some(html.clone());
        }
        Some(_) => {
            return Err(ConnectorError::input(
                "html",
                "html is either the HTML body (a string) or true to send data as HTML",
            ));
        }
    }
    if let Some(list) = fields.get("attachments") {
        mail.attachments = json_attachments(list)?;
    }
    Ok(mail)
}

fn single(field: &'static str) -> impl Fn(Vec<MailAddress>) -> Result<MailAddress, ConnectorError> {
    move |mut list| {
        if list.len() == 1 {
            Ok(list.remove(0))
        } else {
            Err(ConnectorError::input(
                field,
                format!("{field} takes one address"),
            ))
        }
    }
}

fn optional_string(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Option<String>, ConnectorError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ConnectorError::input(
            key,
            format!("{key} must be a string"),
        )),
    }
}

fn string_list(fields: &Map<String, Value>, key: &str) -> Result<Vec<String>, ConnectorError> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(s.split_whitespace().map(str::to_owned).collect()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ConnectorError::input(key, format!("{key} must hold strings")))
            })
            .collect(),
        Some(_) => Err(ConnectorError::input(
            key,
            format!("{key} must be a string or a list of strings"),
        )),
    }
}

fn optional_addresses(
    fields: &Map<String, Value>,
    key: &str,
) -> Result<Option<Vec<MailAddress>>, ConnectorError> {
    let texts = match fields.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str().map(str::to_owned).ok_or_else(|| {
                    ConnectorError::input(key, format!("{key} must hold address strings"))
                })
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ConnectorError::input(
                key,
                format!("{key} must be an address or a list of addresses"),
            ));
        }
    };
    let mut addresses = Vec::new();
    for text in texts {
        addresses.extend(parse_address_list(key, &text)?);
    }
    Ok((!addresses.is_empty()).then_some(addresses))
}

/// Splits `a@b.c, "Doe, Jane" <jane@d.e>` into addresses, checking each.
pub fn parse_address_list(field: &str, text: &str) -> Result<Vec<MailAddress>, ConnectorError> {
    let mut items = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut angled) = (false, false);
    for c in text.chars() {
        match c {
            '"' => quoted = !quoted,
            '<' if !quoted => angled = true,
            '>' if !quoted => angled = false,
            ',' | ';' if !quoted && !angled => {
                items.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    items.push(current);
    items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .map(|item| parse_address(field, &item))
        .collect()
}

fn parse_address(field: &str, item: &str) -> Result<MailAddress, ConnectorError> {
    let (name, email) = match (item.rfind('<'), item.ends_with('>')) {
        (Some(open), true) => {
            let name = item[..open].trim().trim_matches('"').trim();
            (
                (!name.is_empty()).then(|| name.to_owned()),
                item[open + 1..item.len() - 1].trim(),
            )
        }
        _ => (None, item),
    };
    let valid = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || "<>()[],;:\"\\".contains(c))
    });
    if !valid {
        return Err(ConnectorError::input(
            field,
            format!("{field}: {item:?} is not an email address"),
        ));
    }
    Ok(MailAddress {
        name,
        email: email.to_owned(),
    })
}

fn json_attachments(list: &Value) -> Result<Vec<Attachment>, ConnectorError> {
    let Value::Array(items) = list else {
        return Err(ConnectorError::input(
            "attachments",
            "attachments must be a list",
        ));
    };
    items
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let field = format!("attachments[{index}]");
            let get = |key: &str| item.get(key).and_then(Value::as_str);
            let filename = get("filename").or_else(|| get("fileName")).ok_or_else(|| {
                ConnectorError::input(&field, format!("{field} needs a filename"))
            })?;
            let data = get("data").ok_or_else(|| {
                ConnectorError::input(&field, format!("{field} needs data (base64)"))
            })?;
            let data = base64::engine::general_purpose::STANDARD
                .decode(data.trim())
                .or_else(|_| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(data.trim().trim_end_matches('='))
                })
                .map_err(|_| {
                    ConnectorError::input(&field, format!("{field}.data is not base64"))
                })?;
            let content_type = get("contentType")
                .or_else(|| get("mimeType"))
                .map(str::to_owned)
                .unwrap_or_else(|| guess_content_type(filename).to_owned());
            Ok(Attachment {
                filename: filename.to_owned(),
                content_type,
                data,
            })
        })
        .collect()
}

fn guess_content_type(filename: &str) -> &'static str {
    let extension = filename
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match extension.as_str() {
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "html" | "htm" => "text/html",
        "json" => "application/json",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(raw: &[u8]) -> String {
        String::from_utf8_lossy(raw).into_owned()
    }

    #[test]
    fn the_seed_body_becomes_a_plain_message() {
        let mail = read_json(&json!({
            "subject": "Integration Builder Gmail Connector",
            "to": "lbrenman@axway.com",
            "from": "noreply-support@axway.com",
            "data": "Integration Builder is cool! Try it out!"
        }))
        .unwrap();
        let raw = compose_message(&mail, 1_700_000_000, "abc@axway.com").unwrap();
        let message = text(&raw);
        assert!(
            message.contains("From: <noreply-support@axway.com>\r\n"),
            "{message}"
        );
        assert!(message.contains("To: <lbrenman@axway.com>\r\n"));
        assert!(message.contains("Subject: Integration Builder Gmail Connector\r\n"));
        assert!(message.contains("Message-ID: <abc@axway.com>\r\n"));
        assert!(message.contains("Date: "));
        assert!(message.contains("Integration Builder is cool! Try it out!"));
        assert!(
            !message.replace("\r\n", "").contains('\n'),
            "bare LF in {message}"
        );
    }

    #[test]
    fn non_ascii_headers_use_encoded_words() {
        let mail = read_json(&json!({"to": "Zoë Ünal <z@example.com>", "from": "a@example.com", "subject": "Grüße aus Köln", "data": "Ça va?"})).unwrap();
        let raw = compose_message(&mail, 1_700_000_000, "x@example.com").unwrap();
        assert!(raw.is_ascii(), "{}", text(&raw));
        assert!(text(&raw).contains("=?utf-8?"), "{}", text(&raw));
    }

    #[test]
    fn form_files_become_attachments() {
        let parts = vec![
            FormPart {
                name: "body".into(),
                filename: None,
                content_type: None,
                data: Bytes::from(r#"{"to":"b@example.com","subject":"s","from":"a@example.com"}"#),
            },
            FormPart {
                name: "file".into(),
                filename: Some("report.pdf".into()),
                content_type: None,
                data: Bytes::from_static(b"%PDF-1.4 fake"),
            },
        ];
        let mail = read_form(&parts).unwrap();
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].content_type, "application/pdf");
        let raw = text(&compose_message(&mail, 1_700_000_000, "m@example.com").unwrap());
        assert!(raw.contains("multipart/mixed"), "{raw}");
        assert!(raw.contains("report.pdf"));
    }

    #[test]
    fn bad_input_names_the_field() {
        let field_of = |value: Value| match read_json(&value).unwrap_err() {
            ConnectorError::InvalidInput { field, .. } => field.unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(field_of(json!({"subject": "no recipient"})), "to");
        assert_eq!(field_of(json!({"to": "not an address"})), "to");
        assert_eq!(field_of(json!({"to": "a@b.c", "subjet": "typo"})), "subjet");
        assert_eq!(
            field_of(json!({"to": "a@b.c", "from": "x@y.z, q@r.s"})),
            "from"
        );
        assert_eq!(
            field_of(json!({"to": "a@b.c", "attachments": [{"filename": "x"}]})),
            "attachments[0]"
        );
        let form = vec![FormPart {
            name: "body".into(),
            filename: None,
            content_type: None,
            data: Bytes::from_static(b"{not json"),
        }];
        assert!(
            matches!(read_form(&form), Err(ConnectorError::InvalidInput { field: Some(f), .. }) if f == "body")
        );
    }

    #[test]
    fn address_lists_respect_quotes() {
        let list =
            parse_address_list("to", r#""Doe, Jane" <jane@example.com>, bob@example.com"#).unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name.as_deref(), Some("Doe, Jane"));
        assert_eq!(list[1].email, "bob@example.com");
    }

    #[test]
    fn replies_carry_threading_headers() {
        let mail = read_json(&json!({"to": "b@example.com", "from": "a@example.com", "subject": "Re: x", "inReplyTo": "<orig@example.com>", "references": ["<root@example.com>", "<orig@example.com>"], "threadId": "abc"})).unwrap();
        let raw = text(&compose_message(&mail, 1_700_000_000, "r@example.com").unwrap());
        assert!(raw.contains("In-Reply-To: <orig@example.com>"), "{raw}");
        assert!(
            raw.contains("References: <root@example.com> <orig@example.com>"),
            "{raw}"
        );
    }
}
