//! `gmail.readable_message` and `gmail.readable_thread`: Gmail's `Message` (a MIME tree with
//! base64url bodies in the part's own charset) as a reader wants it — the usual headers as fields,
//! every header by name, the text and HTML bodies decoded to UTF-8 strings, and the attachments
//! listed with what `GET /messages/{id}/attachments/{attachmentId}` needs. The raw shape stays
//! available at `GET /messages/{id}`.

use super::gmail_mime::decode_base64;
use serde_json::{Map, Value, json};

/// The header fields lifted to the top level, with the name they get there.
const FIELDS: [(&str, &str); 10] = [
    ("From", "from"),
    ("To", "to"),
    ("Cc", "cc"),
    ("Bcc", "bcc"),
    ("Reply-To", "replyTo"),
    ("Subject", "subject"),
    ("Date", "date"),
    ("Message-ID", "messageId"),
    ("In-Reply-To", "inReplyTo"),
    ("References", "references"),
];

pub(crate) fn readable_thread(thread: &Value) -> Value {
    let mut out = Map::new();
    for key in ["id", "historyId", "snippet"] {
        if let Some(value) = thread.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    let messages = thread["messages"]
        .as_array()
        .map(|messages| messages.iter().map(readable_message).collect())
        .unwrap_or_default();
    out.insert("messages".into(), Value::Array(messages));
    Value::Object(out)
}

pub(crate) fn readable_message(message: &Value) -> Value {
    let mut out = Map::new();
    for key in [
        "id",
        "threadId",
        "labelIds",
        "snippet",
        "historyId",
        "internalDate",
        "sizeEstimate",
    ] {
        if let Some(value) = message.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    let payload = &message["payload"];
    let mut headers = Map::new();
    for header in payload["headers"].as_array().into_iter().flatten() {
        let (Some(name), Some(value)) = (header["name"].as_str(), header["value"].as_str()) else {
            continue;
        };
        // A repeated header (Received, …) keeps every value, in order.
        match headers.get_mut(name) {
            Some(Value::Array(values)) => values.push(json!(value)),
            Some(first) => *first = json!([first.clone(), value]),
            None => {
                headers.insert(name.to_owned(), json!(value));
            }
        }
    }
    for (header, field) in FIELDS {
        let value = headers
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(header))
            .map(|(_, value)| match value {
                Value::Array(values) => values[0].clone(),
                other => other.clone(),
            });
        if let Some(value) = value {
            out.insert(field.into(), value);
        }
    }
    let mut content = Content::default();
    content.walk(payload);
    if let Some(text) = content.text {
        out.insert("text".into(), Value::String(text));
    }
    if let Some(html) = content.html {
        out.insert("html".into(), Value::String(html));
    }
    out.insert("attachments".into(), Value::Array(content.attachments));
    out.insert("headers".into(), Value::Object(headers));
    Value::Object(out)
}

#[derive(Default)]
struct Content {
    text: Option<String>,
    html: Option<String>,
    attachments: Vec<Value>,
}

impl Content {
    fn walk(&mut self, part: &Value) {
        let mime_type = part["mimeType"]
            .as_str()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(children) = part["parts"].as_array()
            && mime_type.starts_with("multipart/")
        {
            for child in children {
                self.walk(child);
            }
            return;
        }
        let filename = part["filename"].as_str().unwrap_or_default();
        let disposition = header(part, "Content-Disposition")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let is_attachment = !filename.is_empty() || disposition.starts_with("attachment");
        let body = &part["body"];
        if !is_attachment
            && (mime_type == "text/plain" || mime_type == "text/html")
            && let Some(decoded) = body["data"]
                .as_str()
                .and_then(|data| decode_text(part, data))
        {
            let slot = if mime_type == "text/plain" {
                &mut self.text
            } else {
                &mut self.html
            };
            match slot {
                Some(existing) => {
                    existing.push('\n');
                    existing.push_str(&decoded);
                }
                None => *slot = Some(decoded),
            }
            return;
        }
        if is_attachment || body.get("attachmentId").is_some() {
            let mut attachment = Map::new();
            attachment.insert("filename".into(), json!(filename));
            attachment.insert("mimeType".into(), json!(mime_type));
            for (from, to) in [("attachmentId", "attachmentId"), ("size", "size")] {
                if let Some(value) = body.get(from) {
                    attachment.insert(to.into(), value.clone());
                }
            }
            if let Some(part_id) = part.get("partId") {
                attachment.insert("partId".into(), part_id.clone());
            }
            if let Some(content_id) = header(part, "Content-ID") {
                attachment.insert(
                    "contentId".into(),
                    json!(
                        content_id
                            .trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                    ),
                );
            }
            attachment.insert("inline".into(), json!(disposition.starts_with("inline")));
            self.attachments.push(Value::Object(attachment));
        }
    }
}

fn header<'a>(part: &'a Value, name: &str) -> Option<&'a str> {
    part["headers"].as_array()?.iter().find_map(|h| {
        h["name"]
            .as_str()
            .filter(|n| n.eq_ignore_ascii_case(name))
            .and(h["value"].as_str())
    })
}

/// A body's bytes in its declared charset, as UTF-8 with LF line ends (unknown charsets read as
/// UTF-8, lossily).
fn decode_text(part: &Value, data: &str) -> Option<String> {
    let bytes = decode_base64(data)?;
    let charset = header(part, "Content-Type")
        .and_then(|content_type| {
            content_type.split(';').skip(1).find_map(|parameter| {
                let (name, value) = parameter.split_once('=')?;
                name.trim()
                    .eq_ignore_ascii_case("charset")
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        })
        .unwrap_or_else(|| "utf-8".into());
    let encoding =
        encoding_rs::Encoding::for_label(charset.as_bytes()).unwrap_or(encoding_rs::UTF_8);
    let (text, _, _) = encoding.decode(&bytes);
    // MIME lines end in CRLF on the wire; a reader's text ends them in LF.
    Some(text.replace("\r\n", "\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE;

    fn b64(bytes: &[u8]) -> String {
        URL_SAFE.encode(bytes)
    }

    #[test]
    fn bodies_are_decoded_headers_lifted_and_attachments_listed() {
        let message = json!({
            "id": "18c0", "threadId": "18c0", "labelIds": ["INBOX"], "snippet": "Grüße",
            "historyId": "1200", "internalDate": "1700000000000", "sizeEstimate": 900,
            "payload": {
                "mimeType": "multipart/mixed",
                "headers": [
                    {"name": "From", "value": "Ada <ada@example.com>"},
                    {"name": "To", "value": "grace@example.com"},
                    {"name": "Subject", "value": "Grüße"},
                    {"name": "Message-Id", "value": "<m1@example.com>"},
                    {"name": "Received", "value": "a"},
                    {"name": "Received", "value": "b"}
                ],
                "parts": [
                    {"partId": "0", "mimeType": "multipart/alternative", "filename": "", "headers": [], "body": {"size": 0}, "parts": [
                        {"partId": "0.0", "mimeType": "text/plain", "filename": "",
                         "headers": [{"name": "Content-Type", "value": "text/plain; charset=\"iso-8859-1\""}],
                         "body": {"size": 6, "data": b64(b"Gr\xfc\xdfe!")}},
                        {"partId": "0.1", "mimeType": "text/html", "filename": "",
                         "headers": [{"name": "Content-Type", "value": "text/html; charset=UTF-8"}],
                         "body": {"size": 14, "data": b64("<p>Grüße</p>".as_bytes())}}
                    ]},
                    {"partId": "1", "mimeType": "application/pdf", "filename": "report.pdf",
                     "headers": [{"name": "Content-Disposition", "value": "attachment; filename=report.pdf"}],
                     "body": {"attachmentId": "ANGjdJ8", "size": 5000}}
                ]
            }
        });
        let view = readable_message(&message);
        assert_eq!(view["text"], "Grüße!");
        assert_eq!(view["html"], "<p>Grüße</p>");
        assert_eq!(view["from"], "Ada <ada@example.com>");
        assert_eq!(view["subject"], "Grüße");
        assert_eq!(view["messageId"], "<m1@example.com>");
        assert_eq!(view["headers"]["Received"], json!(["a", "b"]));
        assert_eq!(
            view["attachments"],
            json!([{"filename": "report.pdf", "mimeType": "application/pdf", "attachmentId": "ANGjdJ8", "size": 5000, "partId": "1", "inline": false}])
        );
        assert!(view.get("payload").is_none());
        let thread =
            readable_thread(&json!({"id": "18c0", "historyId": "1200", "messages": [message]}));
        assert_eq!(thread["messages"][0]["text"], "Grüße!");
    }
}
