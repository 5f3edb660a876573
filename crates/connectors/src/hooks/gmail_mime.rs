//! Outgoing mail for Gmail: Cloud Elements' message body — JSON `{to, subject, from?,
//! data|message, cc?, bcc?, html?, …}` or multipart/form-data with a `body` part holding that JSON
//! and `file` parts — read and checked field by field, and built into an RFC 5322 / MIME message
//! (CRLF, Date, Message-ID, RFC 2047 for non-ASCII headers, multipart for attachments).

use crate::ConnectorError;
use crate::runtime::{FormPart, HubBody};
use base64::Engine;
use mail_builder::MessageBuilder;
use mail_builder::headers::address::Address;
use mail_builder::headers::date::Date;
use mail_builder::headers::message_id::MessageId;
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
    /// The Gmail id of a message this one answers: its thread, subject and threading headers
    /// are taken from it.
    pub reply_to_message_id: Option<String>,
    /// Labels of an imported message.
    pub label_ids: Vec<String>,
    /// A whole RFC 822 message given by the caller, sent as it is.
    pub raw: Option<Vec<u8>>,
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
    "replyToMessageId",
    "labelIds",
    "raw",
];

/// The fields that may come with `raw` (the others would be headers `raw` already has).
const WITH_RAW: &[&str] = &["raw", "threadId", "labelIds"];

/// Reads a send, import or draft body: JSON, or a form with a `body` part and `file` parts.
pub(crate) fn read_request(body: &HubBody) -> Result<OutgoingMail, ConnectorError> {
    match body {
        HubBody::Json(value) => read_json(value),
        HubBody::Form(parts) => read_form(parts),
        HubBody::Empty => Err(ConnectorError::input(
            "body",
            "a message needs a body: JSON {to, subject, data} or multipart/form-data with a body part",
        )),
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
        // Clients that follow the document's `encoding` (Swagger UI, generated clients) send the
        // JSON part as a file, often named "blob"; its type says what it is.
        let json_typed = part
            .content_type
            .as_deref()
            .is_some_and(|ct| ct.starts_with("application/json") || ct.contains("+json"));
        let is_message = part.name == "body" && (part.filename.is_none() || json_typed);
        if !is_message && (part.filename.is_some() || part.name == "file") {
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
        } else if is_message {
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
    if let Some(raw) = fields.get("raw") {
        if let Some(other) = fields.keys().find(|key| !WITH_RAW.contains(&key.as_str())) {
            return Err(ConnectorError::input(
                other,
                format!("{other} cannot be given with raw: raw is the whole message already"),
            ));
        }
        let text = raw
            .as_str()
            .ok_or_else(|| ConnectorError::input("raw", "raw must be a base64url string"))?;
        return Ok(OutgoingMail {
            raw: Some(decode_base64(text).ok_or_else(|| {
                ConnectorError::input("raw", "raw is not base64url (RFC 4648 §5)")
            })?),
            thread_id: optional_string(fields, "threadId")?,
            label_ids: string_list(fields, "labelIds")?,
            ..OutgoingMail::default()
        });
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
        reply_to_message_id: optional_string(fields, "replyToMessageId")?,
        label_ids: string_list(fields, "labelIds")?,
        ..OutgoingMail::default()
    };
    if mail.to.is_empty() && mail.reply_to_message_id.is_none() {
        return Err(ConnectorError::input(
            "to",
            "to is required: who should receive the message? (a reply with replyToMessageId may leave it out)",
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
            let data = decode_base64(data).ok_or_else(|| {
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

/// Standard or URL-safe base64, padded or not, line breaks ignored.
pub(crate) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cleaned)
        .ok()
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
    use bytes::Bytes;
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
    fn a_json_body_part_sent_as_a_file_is_still_the_message() {
        let parts = vec![
            FormPart {
                name: "body".into(),
                filename: Some("blob".into()),
                content_type: Some("application/json".into()),
                data: Bytes::from(r#"{"to":"b@example.com","subject":"s","from":"a@example.com"}"#),
            },
            FormPart {
                name: "body".into(),
                filename: Some("notes.txt".into()),
                content_type: Some("text/plain".into()),
                data: Bytes::from_static(b"a text file that happens to be called body"),
            },
        ];
        let mail = read_form(&parts).unwrap();
        assert_eq!(mail.subject.as_deref(), Some("s"));
        assert_eq!(mail.attachments.len(), 1);
        assert_eq!(mail.attachments[0].filename, "notes.txt");
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
