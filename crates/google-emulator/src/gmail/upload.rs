//! How a message reaches the API: JSON `{raw}` (base64url) on `/gmail/v1/…`, or a media upload on
//! `/upload/gmail/v1/…` with `uploadType=media` (the body is the message) or `uploadType=multipart`
//! (`multipart/related`: JSON metadata, then the `message/rfc822` part).

use super::error::GmailError;
use crate::params::Params;
use axum::http::{HeaderMap, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The `Message` fields a client may send in.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct MessageInput {
    pub raw: Option<String>,
    pub thread_id: Option<String>,
    pub label_ids: Vec<String>,
}

/// A message sent in, decoded.
#[derive(Debug, Default, Clone)]
pub(crate) struct IncomingMessage {
    pub raw: Vec<u8>,
    pub thread_id: Option<String>,
    pub label_ids: Vec<String>,
}

/// Decodes base64url or base64, with or without padding, ignoring line breaks.
pub(crate) fn decode_raw(raw: &str) -> Result<Vec<u8>, GmailError> {
    let cleaned: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '=')
        .map(|c| match c {
            '+' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    URL_SAFE_NO_PAD.decode(cleaned.as_bytes()).map_err(|_| {
        GmailError::invalid_argument(
            "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed",
        )
    })
}

impl IncomingMessage {
    pub(crate) fn from_input(input: MessageInput) -> Result<Self, GmailError> {
        Ok(Self {
            raw: match &input.raw {
                Some(r) => decode_raw(r)?,
                None => Vec::new(),
            },
            thread_id: input.thread_id.filter(|t| !t.is_empty()),
            label_ids: input.label_ids,
        })
    }
}

/// The pieces of an upload request: JSON metadata (possibly empty) and the message bytes.
#[derive(Debug)]
pub(crate) struct Upload {
    pub metadata: Vec<u8>,
    pub media: Vec<u8>,
}

/// Reads an `/upload/…` request body according to `uploadType`.
pub(crate) fn read_upload(
    params: &Params,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Upload, GmailError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let upload_type = params.get("uploadType").unwrap_or_else(|| {
        if content_type.to_ascii_lowercase().starts_with("multipart/") {
            "multipart"
        } else {
            "media"
        }
    });
    match upload_type {
        "media" => Ok(Upload {
            metadata: Vec::new(),
            media: body.to_vec(),
        }),
        "multipart" => {
            let boundary = boundary_of(content_type).ok_or_else(|| {
                GmailError::invalid_argument("Invalid multipart request with 0 mime parts.")
            })?;
            let parts = split_multipart(body, &boundary);
            match parts.len() {
                0 => Err(GmailError::invalid_argument(
                    "Invalid multipart request with 0 mime parts.",
                )),
                1 => Ok(Upload {
                    metadata: Vec::new(),
                    media: parts[0].1.to_vec(),
                }),
                _ => {
                    let is_json = |h: &Vec<(String, String)>| {
                        h.iter().any(|(n, v)| {
                            n.eq_ignore_ascii_case("content-type") && v.contains("json")
                        })
                    };
                    let (meta, media) = if is_json(&parts[0].0) || !is_json(&parts[1].0) {
                        (parts[0].1, parts[1].1)
                    } else {
                        (parts[1].1, parts[0].1)
                    };
                    Ok(Upload {
                        metadata: meta.to_vec(),
                        media: media.to_vec(),
                    })
                }
            }
        }
        "resumable" => Err(GmailError::invalid_argument(
            "Resumable uploads are not supported by this emulator; use uploadType=media or multipart.",
        )),
        other => Err(GmailError::invalid_argument(format!(
            "Invalid upload type: {other}"
        ))),
    }
}

fn boundary_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// One part of a multipart body: its headers and its content.
pub(crate) type BodyPart<'a> = (Vec<(String, String)>, &'a [u8]);

/// Splits a multipart body into (headers, content) pairs.
pub(crate) fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Vec<BodyPart<'a>> {
    let delim = format!("--{boundary}");
    let delim = delim.as_bytes();
    let mut parts = Vec::new();
    let Some(mut pos) = find(body, delim, 0) else {
        return parts;
    };
    loop {
        let after = pos + delim.len();
        if body[after..].starts_with(b"--") {
            break;
        }
        let Some(line_end) = find(body, b"\n", after).map(|p| p + 1) else {
            break;
        };
        let Some(next) = find(body, delim, line_end) else {
            break;
        };
        let mut content = &body[line_end..next];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        } else if content.ends_with(b"\n") {
            content = &content[..content.len() - 1];
        }
        parts.push(split_part(content));
        pos = next;
    }
    parts
}

/// The first blank line (CRLF or bare LF style): where the headers end and the body starts.
pub(crate) fn blank_line(bytes: &[u8]) -> Option<(usize, usize)> {
    let crlf = find(bytes, b"\r\n\r\n", 0).map(|p| (p, p + 4));
    let lf = find(bytes, b"\n\n", 0).map(|p| (p, p + 2));
    match (crlf, lf) {
        (Some(a), Some(b)) => Some(if a.0 <= b.0 { a } else { b }),
        (a, b) => a.or(b),
    }
}

fn split_part(content: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let (head, body) = if content.starts_with(b"\r\n") {
        (&content[..0], &content[2..])
    } else if content.starts_with(b"\n") {
        (&content[..0], &content[1..])
    } else {
        match blank_line(content) {
            Some((end, start)) => (&content[..end], &content[start..]),
            None => (content, &content[content.len()..]),
        }
    };
    let headers = String::from_utf8_lossy(head)
        .lines()
        .filter_map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect();
    (headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_related_is_split() {
        let body = b"--xyz\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{\"threadId\":\"abc\"}\r\n--xyz\r\nContent-Type: message/rfc822\r\n\r\nSubject: hi\r\n\r\nbody\r\n--xyz--\r\n";
        let parts = split_multipart(body, "xyz");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, b"{\"threadId\":\"abc\"}");
        assert_eq!(parts[1].1, b"Subject: hi\r\n\r\nbody");
        assert_eq!(
            boundary_of("multipart/related; boundary=\"xyz\"").as_deref(),
            Some("xyz")
        );
    }

    #[test]
    fn lf_part_headers_do_not_swallow_a_crlf_message() {
        // Google's Python client writes part headers with bare LF around a CRLF message.
        let body = b"--==b==\nContent-Type: application/json\nMIME-Version: 1.0\n\n{}\n--==b==\nContent-Type: message/rfc822\nContent-Transfer-Encoding: binary\n\nTo: a@x\r\nSubject: s\r\n\r\nhi\r\n\n--==b==--\n";
        let parts = split_multipart(body, "==b==");
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].1, b"{}");
        assert_eq!(parts[1].1, b"To: a@x\r\nSubject: s\r\n\r\nhi\r\n");
        assert_eq!(parts[1].0[0].1, "message/rfc822");
    }

    #[test]
    fn raw_accepts_both_alphabets() {
        assert_eq!(decode_raw("_-8=").unwrap(), decode_raw("/+8").unwrap());
        assert!(decode_raw("!!").is_err());
    }
}
