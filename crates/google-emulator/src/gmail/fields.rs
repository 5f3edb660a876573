//! `fields` partial responses: `fields=messages(id),nextPageToken` keeps only the named members,
//! `a/b` selects inside `a`, `a(b,c)` selects several inside `a`, and a selection applies to every
//! element of a list. Google answers a malformed selection with 400 "Invalid field selection".

use super::error::GmailError;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A parsed selection: member name → what to keep inside it (`None`: all of it).
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Selection(BTreeMap<String, Option<Selection>>);

impl Selection {
    pub(crate) fn parse(text: &str) -> Result<Selection, GmailError> {
        let mut parser = Parser {
            text: text.as_bytes(),
            at: 0,
        };
        let selection = parser.list()?;
        if parser.at != parser.text.len() || selection.0.is_empty() {
            return Err(invalid(text));
        }
        Ok(selection)
    }

    /// Keeps what the selection names.
    pub(crate) fn apply(&self, value: Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.apply(v)).collect()),
            Value::Object(members) => {
                let mut kept = Map::new();
                for (name, inner) in members {
                    match self.0.get(&name).or_else(|| self.0.get("*")) {
                        Some(None) => {
                            kept.insert(name, inner);
                        }
                        Some(Some(selection)) => {
                            kept.insert(name, selection.apply(inner));
                        }
                        None => {}
                    }
                }
                Value::Object(kept)
            }
            other => other,
        }
    }

    fn merge(&mut self, name: String, inner: Option<Selection>) {
        match (self.0.get_mut(&name), inner) {
            (Some(Some(existing)), Some(inner)) => {
                for (k, v) in inner.0 {
                    existing.merge(k, v);
                }
            }
            (Some(slot), None) => *slot = None,
            (Some(None), Some(_)) => {}
            (None, inner) => {
                self.0.insert(name, inner);
            }
        }
    }
}

fn invalid(text: &str) -> GmailError {
    GmailError::invalid_argument(format!("Invalid field selection {text}"))
}

struct Parser<'a> {
    text: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn whole(&self) -> String {
        String::from_utf8_lossy(self.text).into_owned()
    }

    /// `item (',' item)*`
    fn list(&mut self) -> Result<Selection, GmailError> {
        let mut selection = Selection::default();
        loop {
            let (name, inner) = self.item()?;
            selection.merge(name, inner);
            match self.text.get(self.at) {
                Some(b',') => self.at += 1,
                _ => return Ok(selection),
            }
        }
    }

    /// `name ('/' item | '(' list ')')?`
    fn item(&mut self) -> Result<(String, Option<Selection>), GmailError> {
        let start = self.at;
        while self
            .text
            .get(self.at)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'*')
        {
            self.at += 1;
        }
        if self.at == start {
            return Err(invalid(&self.whole()));
        }
        let name = String::from_utf8_lossy(&self.text[start..self.at]).into_owned();
        match self.text.get(self.at) {
            Some(b'/') => {
                self.at += 1;
                let (child, inner) = self.item()?;
                let mut selection = Selection::default();
                selection.merge(child, inner);
                Ok((name, Some(selection)))
            }
            Some(b'(') => {
                self.at += 1;
                let selection = self.list()?;
                if self.text.get(self.at) != Some(&b')') {
                    return Err(invalid(&self.whole()));
                }
                self.at += 1;
                Ok((name, Some(selection)))
            }
            _ => Ok((name, None)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(fields: &str, value: Value) -> Value {
        Selection::parse(fields).unwrap().apply(value)
    }

    #[test]
    fn selections_keep_what_they_name() {
        let list = json!({"messages": [{"id": "a", "threadId": "t"}, {"id": "b", "threadId": "u"}], "nextPageToken": "n", "resultSizeEstimate": 2});
        assert_eq!(
            select("messages(id),nextPageToken", list.clone()),
            json!({"messages": [{"id": "a"}, {"id": "b"}], "nextPageToken": "n"})
        );
        assert_eq!(
            select("messages/threadId", list.clone()),
            json!({"messages": [{"threadId": "t"}, {"threadId": "u"}]})
        );
        assert_eq!(
            select(
                "resultSizeEstimate,nextPageToken,messages/id,messages/threadId",
                list.clone()
            ),
            list
        );
        let message = json!({"id": "a", "payload": {"mimeType": "text/plain", "headers": [{"name": "Subject", "value": "s"}]}});
        assert_eq!(
            select("payload(headers(value))", message),
            json!({"payload": {"headers": [{"value": "s"}]}})
        );
    }

    #[test]
    fn malformed_selections_are_refused() {
        for bad in ["", "a(", "a(b", "a,", "(a)", "a/", "a b", "a)"] {
            assert!(Selection::parse(bad).is_err(), "{bad:?}");
        }
    }
}
