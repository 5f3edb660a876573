//! Cloud Elements' `form` property of request steps: the multipart parts it describes, and those
//! parts as a `multipart/form-data` body for the calls that go over HTTP framing (a `request`
//! step's call of ferry's own API passes through the router as any client's would).

use crate::secrets::random_id;
use base64::Engine as _;
use bytes::Bytes;
use ferry_connectors::FormPart;
use serde_json::{Map, Value};

/// A step's value as the text a form part, query parameter or header carries: text as it is,
/// anything else as JSON.
pub(crate) fn to_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Cloud Elements' `form`: strings are text parts, `{value, options: {filename, contentType}}`
/// objects are files (`options.encoding: "base64"` for binary content).
pub(crate) fn form_parts(form: &Map<String, Value>) -> Vec<FormPart> {
    form.iter()
        .map(|(name, value)| match value {
            Value::Object(file) if file.contains_key("value") => {
                let options = file.get("options").cloned().unwrap_or(Value::Null);
                let raw = to_text(&file["value"]);
                let data = if options["encoding"] == "base64" {
                    base64::engine::general_purpose::STANDARD
                        .decode(raw.as_bytes())
                        .unwrap_or_else(|_| raw.into_bytes())
                } else {
                    raw.into_bytes()
                };
                FormPart {
                    name: name.clone(),
                    filename: options["filename"]
                        .as_str()
                        .map(str::to_owned)
                        .or_else(|| Some(name.clone())),
                    content_type: options["contentType"].as_str().map(str::to_owned),
                    data: data.into(),
                }
            }
            other => FormPart {
                name: name.clone(),
                filename: None,
                content_type: None,
                data: to_text(other).into_bytes().into(),
            },
        })
        .collect()
}

/// A step's `form` as a `multipart/form-data` body (RFC 7578): its `Content-Type`, with the
/// boundary, and its bytes.
pub fn multipart_form(form: &Map<String, Value>) -> (String, Bytes) {
    let parts = form_parts(form);
    // A boundary must occur in no part; a random one almost never does, and is drawn again
    // when it does.
    let boundary = loop {
        let candidate = format!("ferry-{}", random_id());
        let needle = candidate.as_bytes();
        if !parts
            .iter()
            .any(|part| part.data.windows(needle.len()).any(|w| w == needle))
        {
            break candidate;
        }
    };
    let mut body = Vec::new();
    for part in &parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!(
            "Content-Disposition: form-data; name=\"{}\"",
            quoted(&part.name)
        );
        if let Some(filename) = &part.filename {
            disposition.push_str(&format!("; filename=\"{}\"", quoted(filename)));
        }
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(b"\r\n");
        if let Some(content_type) = part
            .content_type
            .as_deref()
            .filter(|t| !t.contains(['\r', '\n']))
        {
            body.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        body.extend_from_slice(b"\r\n");
        body.extend_from_slice(&part.data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into(),
    )
}

/// A name or file name inside a quoted parameter, escaped as browsers do (HTML's form encoding):
/// a quote or a line break would end the header early.
fn quoted(text: &str) -> String {
    text.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn form_values_become_text_and_file_parts() {
        let form = json!({"body": "{\"to\":\"a@b.c\"}", "file": {"value": "aGVsbG8=", "options": {"filename": "h.txt", "contentType": "text/plain", "encoding": "base64"}}});
        let parts = form_parts(form.as_object().unwrap());
        assert_eq!(parts[0].name, "body");
        assert!(parts[0].filename.is_none());
        assert_eq!(parts[1].filename.as_deref(), Some("h.txt"));
        assert_eq!(&parts[1].data[..], b"hello");
    }

    #[test]
    fn a_form_becomes_text_and_file_parts_between_one_boundary() {
        let form = json!({
            "body": "{\"subject\":\"hi\"}",
            "file": {"value": "aGVsbG8=", "options": {"filename": "a \"b\".txt", "contentType": "text/plain", "encoding": "base64"}}
        });
        let (content_type, body) = multipart_form(form.as_object().unwrap());
        let boundary = content_type
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap();
        let text = String::from_utf8(body.to_vec()).unwrap();
        assert_eq!(
            text,
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\n{{\"subject\":\"hi\"}}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a %22b%22.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
                 --{boundary}--\r\n"
            )
        );
    }
}
