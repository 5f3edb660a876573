//! Shaping a vendor's JSON reply into the normalized one (`response.root`, the next-page token)
//! without building a tree of the whole reply: top-level members are sliced out of the raw bytes,
//! which keeps large lists cheap. Deeper pointers fall back to a full parse.

use bytes::Bytes;
use ferry_model::connector::ResponseDef;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;
use std::borrow::Cow;
use std::collections::HashMap;

pub(crate) struct Shaped {
    pub body: Bytes,
    pub next_page_token: Option<String>,
}

/// A pointer to a top-level member (`/messages`), if that is all it is.
fn top_level(pointer: &str) -> Option<&str> {
    let member = pointer.strip_prefix('/')?;
    (!member.is_empty() && !member.contains('/') && !member.contains('~')).then_some(member)
}

fn token_from(value: Option<&Value>) -> Option<String> {
    value
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .map(str::to_owned)
}

pub(crate) fn shape(raw: Bytes, def: &ResponseDef) -> Result<Shaped, serde_json::Error> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Shaped {
            body: Bytes::from_static(b"{}"),
            next_page_token: None,
        });
    }
    let root = def.root.as_deref();
    let token = def.next_page_token.as_deref();
    if root.is_none() && token.is_none() {
        serde_json::from_slice::<IgnoredAny>(&raw)?;
        return Ok(Shaped {
            body: raw,
            next_page_token: None,
        });
    }
    let simple =
        root.is_none_or(|r| top_level(r).is_some()) && token.is_none_or(|t| top_level(t).is_some());
    if simple && raw.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        let members: HashMap<Cow<'_, str>, &RawValue> = serde_json::from_slice(&raw)?;
        let next_page_token = token
            .and_then(top_level)
            .and_then(|name| members.get(name))
            .and_then(|raw| serde_json::from_str::<Value>(raw.get()).ok())
            .and_then(|value| token_from(Some(&value)));
        let body = match root.and_then(top_level) {
            None => raw.clone(),
            Some(name) => match members.get(name) {
                Some(member) => Bytes::copy_from_slice(member.get().as_bytes()),
                None => missing(def),
            },
        };
        return Ok(Shaped {
            body,
            next_page_token,
        });
    }
    let value: Value = serde_json::from_slice(&raw)?;
    let next_page_token = token.and_then(|pointer| token_from(value.pointer(pointer)));
    let body = match root {
        None => raw,
        Some(pointer) => match value.pointer(pointer) {
            Some(member) => Bytes::from(serde_json::to_vec(member).expect("JSON values serialize")),
            None => missing(def),
        },
    };
    Ok(Shaped {
        body,
        next_page_token,
    })
}

fn missing(def: &ResponseDef) -> Bytes {
    let value = def.when_missing.clone().unwrap_or(Value::Null);
    Bytes::from(serde_json::to_vec(&value).expect("JSON values serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(root: Option<&str>, token: Option<&str>) -> ResponseDef {
        ResponseDef {
            root: root.map(str::to_owned),
            when_missing: Some(json!([])),
            next_page_token: token.map(str::to_owned),
            schema: None,
            fields: Default::default(),
            pagination: None,
        }
    }

    fn shaped(raw: &str, def: &ResponseDef) -> (Value, Option<String>) {
        let shaped = shape(Bytes::copy_from_slice(raw.as_bytes()), def).unwrap();
        (
            serde_json::from_slice(&shaped.body).unwrap(),
            shaped.next_page_token,
        )
    }

    #[test]
    fn a_top_level_root_is_sliced_out_with_its_token() {
        let raw = r#"{"messages":[{"id":"a","threadId":"a"}],"nextPageToken":"t1","resultSizeEstimate":2}"#;
        let (body, token) = shaped(raw, &def(Some("/messages"), Some("/nextPageToken")));
        assert_eq!(body, json!([{"id": "a", "threadId": "a"}]));
        assert_eq!(token.as_deref(), Some("t1"));
    }

    #[test]
    fn a_missing_root_gives_the_declared_default_and_no_token() {
        let (body, token) = shaped(
            r#"{"resultSizeEstimate":0}"#,
            &def(Some("/messages"), Some("/nextPageToken")),
        );
        assert_eq!(body, json!([]));
        assert_eq!(token, None);
        let (_, token) = shaped(
            r#"{"messages":[],"nextPageToken":""}"#,
            &def(Some("/messages"), Some("/nextPageToken")),
        );
        assert_eq!(token, None, "an empty token means no next page");
    }

    #[test]
    fn deep_pointers_and_pass_through_work() {
        let (body, _) = shaped(
            r#"{"data":{"items":[1,2]}}"#,
            &def(Some("/data/items"), None),
        );
        assert_eq!(body, json!([1, 2]));
        let raw = r#"{"id":"x","payload":{"a":1}}"#;
        let out = shape(Bytes::from_static(raw.as_bytes()), &def(None, None)).unwrap();
        assert_eq!(out.body, raw.as_bytes(), "passed through byte for byte");
        assert!(shape(Bytes::from_static(b"<html>"), &def(None, None)).is_err());
        assert_eq!(
            &shape(Bytes::new(), &def(None, None)).unwrap().body[..],
            b"{}"
        );
    }
}
