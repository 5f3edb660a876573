//! One stored RFC 822 message: its raw bytes plus everything `get` and `list` need, computed once
//! when the message enters a mailbox (payload tree, snippet, search text, attachments).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders, PartType};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// How many characters of body text a snippet keeps (Gmail: about 200).
const SNIPPET_CHARS: usize = 200;

/// A parsed message, immutable once stored.
#[derive(Debug)]
pub(crate) struct ParsedMessage {
    pub raw: Vec<u8>,
    pub payload: Part,
    pub snippet: String,
    pub search: SearchIndex,
    /// Message-ID without angle brackets.
    pub message_id: Option<String>,
    /// In-Reply-To and References ids, without angle brackets.
    pub thread_refs: Vec<String>,
    /// The Date header in ms since the epoch, when present and valid.
    pub date_millis: Option<i64>,
    pub subject: String,
    attachments: Vec<Attachment>,
}

#[derive(Debug)]
struct Attachment {
    id: String,
    data: Vec<u8>,
}

/// Precomputed lowercase text for the search language.
#[derive(Debug, Default)]
pub(crate) struct SearchIndex {
    /// Subject, sender and recipient names/addresses, body text and file names, whitespace collapsed.
    pub text: String,
    pub from: String,
    pub to: String,
    pub cc: String,
    pub bcc: String,
    pub subject: String,
    pub filenames: Vec<String>,
    pub has_attachment: bool,
    pub message_id: String,
}

/// `MessagePart` of the Gmail API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Part {
    pub part_id: String,
    pub mime_type: String,
    pub filename: String,
    pub headers: Vec<Header>,
    pub body: PartBody,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub parts: Vec<Part>,
}

/// `MessagePartHeader` of the Gmail API.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Header {
    pub name: String,
    pub value: String,
}

/// `MessagePartBody` of the Gmail API.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartBody {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attachment_id: Option<String>,
    pub size: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// Addresses of the envelope recipients (To, Cc, Bcc), lowercased.
#[derive(Debug, Default)]
pub(crate) struct Recipients {
    pub addresses: Vec<String>,
    pub has_to_header: bool,
    pub has_any_header: bool,
    pub invalid_header: Option<&'static str>,
}

impl ParsedMessage {
    /// Parses `raw`; fails only when the bytes hold no header at all.
    pub(crate) fn parse(raw: Vec<u8>) -> Result<Self, String> {
        let parsed = {
            let message = MessageParser::new()
                .parse(&raw)
                .ok_or_else(|| "the message has no headers".to_string())?;
            if message.parts.is_empty() || message.headers().is_empty() {
                return Err("the message has no headers".into());
            }
            Extracted::from_message(&raw, &message)
        };
        Ok(Self {
            raw,
            payload: parsed.payload,
            snippet: parsed.snippet,
            search: parsed.search,
            message_id: parsed.message_id,
            thread_refs: parsed.thread_refs,
            date_millis: parsed.date_millis,
            subject: parsed.subject,
            attachments: parsed.attachments,
        })
    }

    /// The decoded bytes of the attachment with this id.
    pub(crate) fn attachment(&self, id: &str) -> Option<&[u8]> {
        self.attachments
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.data.as_slice())
    }

    /// The root part's headers.
    pub(crate) fn headers(&self) -> &[Header] {
        &self.payload.headers
    }

    pub(crate) fn size(&self) -> usize {
        self.raw.len()
    }
}

/// Reads the recipients of `raw` the way Gmail's send does before accepting a message.
pub(crate) fn recipients(raw: &[u8]) -> Option<Recipients> {
    let message = MessageParser::new().parse(raw)?;
    if message.parts.is_empty() {
        return None;
    }
    let mut out = Recipients::default();
    for (name, value) in [
        ("To", message.to()),
        ("Cc", message.cc()),
        ("Bcc", message.bcc()),
    ] {
        let present = message
            .headers()
            .iter()
            .any(|h| h.name().eq_ignore_ascii_case(name));
        if !present {
            continue;
        }
        out.has_any_header = true;
        if name == "To" {
            out.has_to_header = true;
        }
        let mut found = 0;
        let mut bad = false;
        if let Some(addresses) = value {
            for addr in addresses.iter() {
                match addr.address() {
                    Some(a) if is_plausible_address(a) => {
                        found += 1;
                        let a = a.to_ascii_lowercase();
                        if !out.addresses.contains(&a) {
                            out.addresses.push(a);
                        }
                    }
                    _ => bad = true,
                }
            }
        }
        if (bad || found == 0) && out.invalid_header.is_none() {
            out.invalid_header = Some(match name {
                "To" => "Invalid To header",
                "Cc" => "Invalid Cc header",
                _ => "Invalid Bcc header",
            });
        }
    }
    Some(out)
}

fn is_plausible_address(a: &str) -> bool {
    match a.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.is_empty()
                && !a
                    .chars()
                    .any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '>')
        }
        None => false,
    }
}

struct Extracted {
    payload: Part,
    snippet: String,
    search: SearchIndex,
    message_id: Option<String>,
    thread_refs: Vec<String>,
    date_millis: Option<i64>,
    subject: String,
    attachments: Vec<Attachment>,
}

impl Extracted {
    fn from_message(raw: &[u8], message: &mail_parser::Message<'_>) -> Self {
        let digest = Sha256::digest(raw);
        let mut attachments = Vec::new();
        let payload = build_part(raw, message, 0, String::new(), &digest, &mut attachments);

        let subject = message.subject().unwrap_or_default().to_string();
        let from = address_text(message.from());
        let to = address_text(message.to());
        let cc = address_text(message.cc());
        let bcc = address_text(message.bcc());
        let body_text = body_text(message);
        let mut filenames = Vec::new();
        collect_filenames(&payload, &mut filenames);

        let mut text = String::new();
        for piece in [subject.as_str(), &from, &to, &cc, &body_text] {
            text.push_str(piece);
            text.push(' ');
        }
        for f in &filenames {
            text.push_str(f);
            text.push(' ');
        }
        let message_id = message.message_id().map(strip_angle);
        let mut thread_refs = Vec::new();
        for value in [message.in_reply_to(), message.references()] {
            match value {
                HeaderValue::Text(t) => push_ids(&mut thread_refs, t),
                HeaderValue::TextList(list) => {
                    for t in list {
                        push_ids(&mut thread_refs, t);
                    }
                }
                _ => {}
            }
        }
        let date_millis = message
            .date()
            .filter(|d| d.year >= 1970)
            .map(|d| d.to_timestamp().saturating_mul(1000));

        Self {
            snippet: snippet(&body_text),
            search: SearchIndex {
                text: collapse_whitespace(&text.to_lowercase()),
                from: from.to_lowercase(),
                to: to.to_lowercase(),
                cc: cc.to_lowercase(),
                bcc: bcc.to_lowercase(),
                subject: collapse_whitespace(&subject.to_lowercase()),
                has_attachment: !filenames.is_empty(),
                filenames: filenames.iter().map(|f| f.to_lowercase()).collect(),
                message_id: message_id.clone().unwrap_or_default().to_lowercase(),
            },
            payload,
            message_id,
            thread_refs,
            date_millis,
            subject,
            attachments,
        }
    }
}

fn push_ids(out: &mut Vec<String>, value: &str) {
    for id in value.split_whitespace() {
        let id = strip_angle(id);
        if !id.is_empty() && !out.contains(&id) {
            out.push(id);
        }
    }
}

/// `<abc@x>` → `abc@x`.
pub(crate) fn strip_angle(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_string()
}

fn address_text(address: Option<&Address<'_>>) -> String {
    let mut out = String::new();
    if let Some(address) = address {
        for addr in address.iter() {
            if let Some(name) = addr.name() {
                out.push_str(name);
                out.push(' ');
            }
            if let Some(a) = addr.address() {
                out.push('<');
                out.push_str(a);
                out.push_str("> ");
            }
        }
    }
    out.trim_end().to_string()
}

/// The text a reader sees: every text body (HTML converted to text when there is no plain text).
fn body_text(message: &mail_parser::Message<'_>) -> String {
    let mut out = String::new();
    for i in 0..message.text_body.len() {
        if let Some(text) = message.body_text(i) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&text);
        }
    }
    out
}

fn collect_filenames(part: &Part, out: &mut Vec<String>) {
    if !part.filename.is_empty() {
        out.push(part.filename.clone());
    }
    for child in &part.parts {
        collect_filenames(child, out);
    }
}

fn build_part(
    raw: &[u8],
    message: &mail_parser::Message<'_>,
    index: usize,
    part_id: String,
    digest: &[u8],
    attachments: &mut Vec<Attachment>,
) -> Part {
    let Some(part) = message.parts.get(index) else {
        return Part {
            part_id,
            mime_type: "text/plain".into(),
            filename: String::new(),
            headers: Vec::new(),
            body: PartBody {
                attachment_id: None,
                size: 0,
                data: None,
            },
            parts: Vec::new(),
        };
    };
    let headers = part
        .headers
        .iter()
        .filter_map(|h| display_header(raw, h))
        .collect();
    let mime_type = match part.content_type() {
        Some(ct) => match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
            None => ct.ctype().to_ascii_lowercase(),
        },
        None => match &part.body {
            PartType::Message(_) => "message/rfc822".into(),
            PartType::Html(_) => "text/html".into(),
            _ => "text/plain".into(),
        },
    };
    let filename = part.attachment_name().unwrap_or_default().to_string();
    let mut children = Vec::new();
    let body = match &part.body {
        PartType::Multipart(ids) => {
            for (n, child) in ids.iter().enumerate() {
                let child_id = if part_id.is_empty() {
                    n.to_string()
                } else {
                    format!("{part_id}.{n}")
                };
                children.push(build_part(
                    raw,
                    message,
                    *child as usize,
                    child_id,
                    digest,
                    attachments,
                ));
            }
            PartBody {
                attachment_id: None,
                size: 0,
                data: None,
            }
        }
        _ => {
            let contents = part.contents();
            if !filename.is_empty() {
                let id = attachment_id(digest, &part_id);
                attachments.push(Attachment {
                    id: id.clone(),
                    data: contents.to_vec(),
                });
                PartBody {
                    attachment_id: Some(id),
                    size: contents.len(),
                    data: None,
                }
            } else {
                PartBody {
                    attachment_id: None,
                    size: contents.len(),
                    data: (!contents.is_empty()).then(|| URL_SAFE.encode(contents)),
                }
            }
        }
    };
    Part {
        part_id,
        mime_type,
        filename,
        headers,
        body,
        parts: children,
    }
}

/// Opaque and stable: derived from the message bytes and the part id.
fn attachment_id(digest: &[u8], part_id: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(digest);
    hasher.update(part_id.as_bytes());
    let a = hasher.finalize();
    let mut hasher = Sha256::new();
    hasher.update(a);
    hasher.update(b"attachment");
    let b = hasher.finalize();
    let mut bytes = a.to_vec();
    bytes.extend_from_slice(&b);
    format!(
        "ANGjdJ{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// A header as Gmail shows it: the name as written, the value unfolded and RFC 2047-decoded.
fn display_header(raw: &[u8], header: &mail_parser::Header<'_>) -> Option<Header> {
    let field = raw.get(header.offset_field as usize..header.offset_start as usize)?;
    let colon = field.iter().position(|b| *b == b':')?;
    let name = String::from_utf8_lossy(&field[..colon]).trim().to_string();
    let value_raw = raw.get(header.offset_start as usize..header.offset_end as usize)?;
    let value = String::from_utf8_lossy(value_raw);
    let unfolded: String = value.replace("\r\n", "").replace('\n', "");
    let trimmed = unfolded.trim();
    let value = if trimmed.contains("=?") {
        decode_encoded_words(trimmed).unwrap_or_else(|| trimmed.to_string())
    } else {
        trimmed.to_string()
    };
    Some(Header { name, value })
}

fn decode_encoded_words(value: &str) -> Option<String> {
    let doc = format!("Subject: {value}\r\n\r\n");
    let parsed = MessageParser::new().parse_headers(doc.as_bytes())?;
    parsed
        .headers()
        .first()
        .and_then(|h| h.value().as_text())
        .map(|s| s.trim().to_string())
}

/// Collapses runs of whitespace into one space and trims.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Gmail's snippet: the start of the body text, whitespace collapsed, cut at a word boundary,
/// HTML-escaped (`&#39;` for the apostrophe, as Gmail writes it).
pub(crate) fn snippet(body: &str) -> String {
    let collapsed = collapse_whitespace(body);
    let mut cut: String = collapsed.chars().take(SNIPPET_CHARS).collect();
    if cut.len() < collapsed.len() {
        let next = collapsed[cut.len()..].chars().next();
        if next.is_some_and(|c| !c.is_whitespace())
            && let Some(space) = cut.rfind(' ')
        {
            cut.truncate(space);
        }
    }
    let mut out = String::with_capacity(cut.len());
    for c in cut.trim_end().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const MULTIPART: &str = "From: Alice <alice@example.com>\r\n\
To: bob@example.com\r\n\
Subject: =?UTF-8?B?SGVsbG8gd8O2cmxk?=\r\n\
Message-ID: <m1@example.com>\r\n\
X-Long: first\r\n second\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\
\r\n\
--b1\r\n\
Content-Type: multipart/alternative; boundary=\"b2\"\r\n\
\r\n\
--b2\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
\r\n\
It's  <fine>\r\n\
--b2\r\n\
Content-Type: text/html; charset=UTF-8\r\n\
\r\n\
<p>It's fine</p>\r\n\
--b2--\r\n\
--b1\r\n\
Content-Type: application/octet-stream; name=\"data.bin\"\r\n\
Content-Disposition: attachment; filename=\"data.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
AAECAwQF/w==\r\n\
--b1--\r\n";

    #[test]
    fn payload_tree_is_numbered_like_gmail() {
        let m = ParsedMessage::parse(MULTIPART.as_bytes().to_vec()).unwrap();
        let p = &m.payload;
        assert_eq!(p.part_id, "");
        assert_eq!(p.mime_type, "multipart/mixed");
        assert_eq!(p.body.size, 0);
        assert_eq!(p.parts.len(), 2);
        assert_eq!(p.parts[0].part_id, "0");
        assert_eq!(p.parts[0].parts[0].part_id, "0.0");
        assert_eq!(p.parts[0].parts[1].part_id, "0.1");
        assert_eq!(p.parts[0].parts[1].mime_type, "text/html");
        let att = &p.parts[1];
        assert_eq!(att.part_id, "1");
        assert_eq!(att.filename, "data.bin");
        assert_eq!(att.body.size, 7);
        let id = att.body.attachment_id.clone().unwrap();
        assert_eq!(m.attachment(&id).unwrap(), &[0, 1, 2, 3, 4, 5, 255]);
        assert!(m.search.has_attachment);
    }

    #[test]
    fn headers_are_unfolded_and_decoded() {
        let m = ParsedMessage::parse(MULTIPART.as_bytes().to_vec()).unwrap();
        let h = |n: &str| {
            m.headers()
                .iter()
                .find(|h| h.name == n)
                .map(|h| h.value.clone())
        };
        assert_eq!(h("Subject").as_deref(), Some("Hello wörld"));
        assert_eq!(h("X-Long").as_deref(), Some("first second"));
        assert_eq!(h("From").as_deref(), Some("Alice <alice@example.com>"));
        assert_eq!(m.message_id.as_deref(), Some("m1@example.com"));
        assert_eq!(m.subject, "Hello wörld");
    }

    #[test]
    fn snippet_collapses_and_escapes() {
        let m = ParsedMessage::parse(MULTIPART.as_bytes().to_vec()).unwrap();
        assert_eq!(m.snippet, "It&#39;s &lt;fine&gt;");
        let long = "word ".repeat(100);
        let s = snippet(&long);
        assert!(s.len() <= 200 && s.ends_with("word"));
    }

    #[test]
    fn recipients_are_checked() {
        let r = recipients(b"To: a@x.com, B <b@y.com>\r\nCc: c@z.com\r\n\r\nhi").unwrap();
        assert_eq!(r.addresses, vec!["a@x.com", "b@y.com", "c@z.com"]);
        assert!(r.invalid_header.is_none());
        let r = recipients(b"To: nobody\r\nSubject: x\r\n\r\nhi").unwrap();
        assert_eq!(r.invalid_header, Some("Invalid To header"));
        let r = recipients(b"Subject: x\r\n\r\nhi").unwrap();
        assert!(!r.has_any_header);
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        use rand::Rng;
        let mut rng = rand::rng();
        let pieces: [&[u8]; 12] = [
            b"Subject: x\r\n",
            b"Content-Type: multipart/mixed; boundary=b\r\n",
            b"--b\r\n",
            b"--b--\r\n",
            b"\r\n",
            b"Content-Transfer-Encoding: base64\r\n",
            b"=?UTF-8?B?w6k=?=",
            b"To: a@b, , <>\r\n",
            b"\xff\xfe\x00",
            b"Content-Disposition: attachment; filename=\"a\"\r\n",
            b" folded\r\n",
            b"body text ",
        ];
        for _ in 0..2000 {
            let mut raw = Vec::new();
            for _ in 0..rng.random_range(0..16) {
                raw.extend_from_slice(pieces[rng.random_range(0..pieces.len())]);
            }
            if let Ok(m) = ParsedMessage::parse(raw.clone()) {
                assert_eq!(m.size(), raw.len());
            }
            let _ = recipients(&raw);
        }
    }

    #[test]
    fn single_part_message_has_data_at_root() {
        let m = ParsedMessage::parse(b"Subject: hi\r\n\r\nbody text".to_vec()).unwrap();
        assert_eq!(m.payload.part_id, "");
        assert_eq!(m.payload.mime_type, "text/plain");
        assert_eq!(m.payload.body.size, 9);
        assert!(m.payload.body.data.is_some());
        assert!(m.payload.parts.is_empty());
    }
}
