//! Gmail API v1 (`gmail.googleapis.com`), shaped exactly as the discovery document names paths,
//! parameters and fields. Every call passes through [`gate`]: bearer token, scope, `userId`,
//! injected faults.

pub(crate) mod batch;
pub(crate) mod drafts;
pub(crate) mod error;
pub(crate) mod fields;
pub(crate) mod history;
pub(crate) mod labels;
pub(crate) mod messages;
pub(crate) mod render;
pub(crate) mod send;
pub(crate) mod threads;
pub(crate) mod upload;

use crate::Emulator;
use crate::faults::FaultHit;
use crate::oauth::scopes::{self, ScopeBits};
use crate::params::Params;
use crate::state::{Account, read};
use axum::http::{HeaderMap, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use error::GmailError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// Gmail methods grouped by the scopes that allow them (from the discovery document).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    GetProfile,
    /// messages.list, threads.list, history.list
    ListMetadata,
    /// messages.get, threads.get (gmail.metadata only with format metadata/minimal)
    GetMessage,
    GetAttachment,
    Send,
    Insert,
    Modify,
    /// delete, batchDelete, threads.delete: only https://mail.google.com/
    PermanentDelete,
    LabelsRead,
    LabelsWrite,
    DraftsRead,
    DraftsWrite,
}

impl Method {
    fn allowed(self) -> ScopeBits {
        use scopes::*;
        match self {
            Method::GetProfile => MAIL | COMPOSE | METADATA | MODIFY | READONLY,
            Method::ListMetadata | Method::GetMessage => MAIL | METADATA | MODIFY | READONLY,
            Method::GetAttachment => MAIL | MODIFY | READONLY,
            Method::Send => MAIL | COMPOSE | MODIFY | SEND,
            Method::Insert => MAIL | INSERT | MODIFY,
            Method::Modify => MAIL | MODIFY,
            Method::PermanentDelete => MAIL,
            Method::LabelsRead => MAIL | LABELS | METADATA | MODIFY | READONLY,
            Method::LabelsWrite => MAIL | LABELS | MODIFY,
            Method::DraftsRead => MAIL | COMPOSE | MODIFY | READONLY,
            Method::DraftsWrite => MAIL | COMPOSE | MODIFY,
        }
    }
}

/// An authorized Gmail call.
pub(crate) struct Call {
    pub account: Arc<Account>,
    pub params: Params,
    pub bits: ScopeBits,
    pub pretty: bool,
    /// A `fields` partial-response selection.
    pub fields: Option<fields::Selection>,
}

impl Call {
    /// The token only carries `gmail.metadata` among the scopes that can read mail.
    pub(crate) fn metadata_only(&self) -> bool {
        use scopes::*;
        self.bits & (MAIL | MODIFY | READONLY) == 0 && self.bits & METADATA != 0
    }

    /// A JSON answer, pretty-printed unless `prettyPrint=false` (Google's default is pretty).
    pub(crate) fn json<T: Serialize>(&self, value: &T) -> Response {
        let body = match &self.fields {
            None if self.pretty => serde_json::to_vec_pretty(value),
            None => serde_json::to_vec(value),
            Some(selection) => {
                let selected = selection.apply(serde_json::to_value(value).unwrap_or_default());
                if self.pretty {
                    serde_json::to_vec_pretty(&selected)
                } else {
                    serde_json::to_vec(&selected)
                }
            }
        }
        .unwrap_or_default();
        let mut response = body.into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        response
    }
}

fn bearer_token<'a>(headers: &'a HeaderMap, params: &'a Params) -> Option<&'a str> {
    if let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some((scheme, token)) = value.split_once(' ')
        && (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
    {
        let token = token.trim();
        if !token.is_empty() {
            return Some(token);
        }
    }
    params
        .non_empty("access_token")
        .or_else(|| params.non_empty("oauth_token"))
}

/// Authenticates and authorizes a Gmail call, then applies the account's injected faults.
pub(crate) async fn gate(
    emu: &Emulator,
    headers: &HeaderMap,
    uri: &Uri,
    user_id: &str,
    method: Method,
) -> Result<Call, GmailError> {
    let shared = emu.shared();
    let params = Params::from_query(uri);
    let token = bearer_token(headers, &params).ok_or_else(GmailError::missing_credentials)?;
    let (account, bits) = {
        let oauth = read(&shared.oauth);
        let (grant, _) = oauth
            .check_access(token, shared.now())
            .map_err(|_| GmailError::invalid_credentials())?;
        if let Some(project) = read(&shared.console).gmail_disabled_for(&grant.client_id) {
            return Err(GmailError::access_not_configured(project.project_number));
        }
        (grant.account.clone(), grant.bits)
    };
    if bits & method.allowed() == 0 {
        return Err(GmailError::insufficient_scopes());
    }
    if user_id != "me" && !user_id.eq_ignore_ascii_case(&account.email) {
        return Err(GmailError::delegation_denied(user_id));
    }
    let hit = account.faults.take();
    if let Some(hit) = &hit {
        tracing::debug!(account = %account.email, fault = ?hit, "injected fault");
    }
    match hit {
        Some(FaultHit::Status {
            status,
            retry_after_secs,
        }) => return Err(GmailError::injected(status, retry_after_secs)),
        Some(FaultHit::Delay { millis }) => tokio::time::sleep(Duration::from_millis(millis)).await,
        None => {}
    }
    let pretty = params.get("prettyPrint") != Some("false");
    let fields = params
        .non_empty("fields")
        .map(fields::Selection::parse)
        .transpose()?;
    Ok(Call {
        account,
        params,
        bits,
        pretty,
        fields,
    })
}

/// Parses a JSON request body (an empty body reads as `{}`).
pub(crate) fn json_body<T: DeserializeOwned>(body: &[u8]) -> Result<T, GmailError> {
    let body = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body)
        .map_err(|e| GmailError::invalid_argument(format!("Invalid JSON payload received. {e}")))
}

/// Parses a message id from a path, as Gmail does (`Invalid id value` otherwise).
pub(crate) fn message_id(s: &str) -> Result<u64, GmailError> {
    crate::ids::parse_id(s).ok_or_else(GmailError::invalid_id)
}

/// `maxResults` with Gmail's default (100) and ceiling (500).
pub(crate) fn max_results(call: &Call) -> Result<usize, GmailError> {
    match call.params.non_empty("maxResults") {
        None => Ok(100),
        Some(v) => {
            let n: i64 = v.parse().map_err(|_| {
                GmailError::invalid_argument(format!(
                    "Invalid value at 'max_results' (TYPE_UINT32), \"{v}\""
                ))
            })?;
            if n < 0 {
                return Err(GmailError::invalid_argument(format!(
                    "Invalid value at 'max_results' (TYPE_UINT32), \"{v}\""
                )));
            }
            Ok(if n == 0 { 100 } else { (n as usize).min(500) })
        }
    }
}

/// Page tokens are opaque digits that encode the last listed position.
pub(crate) fn encode_cursor(c: crate::mailbox::Cursor) -> String {
    format!("{:020}{:020}", c.0.max(0), c.1)
}

pub(crate) fn decode_cursor(token: &str) -> Result<crate::mailbox::Cursor, GmailError> {
    let bad = || GmailError::invalid_argument("Invalid pageToken");
    if token.len() != 40 || !token.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let date: i64 = token[..20].parse().map_err(|_| bad())?;
    let id: u64 = token[20..].parse().map_err(|_| bad())?;
    Ok((date, id))
}

/// Answers for paths under the Gmail API that do not exist.
pub(crate) async fn fallback_not_found() -> Response {
    GmailError::not_found().into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every implemented method allows exactly the scopes the discovery document lists for it
    /// (add-on scopes aside, which the emulator does not issue).
    #[test]
    fn method_scopes_match_the_discovery_document() {
        let doc: serde_json::Value = serde_json::from_str(crate::discovery::GMAIL_V1).unwrap();
        let table = [
            ("users.getProfile", Method::GetProfile),
            ("users.messages.list", Method::ListMetadata),
            ("users.threads.list", Method::ListMetadata),
            ("users.history.list", Method::ListMetadata),
            ("users.messages.get", Method::GetMessage),
            ("users.threads.get", Method::GetMessage),
            ("users.messages.attachments.get", Method::GetAttachment),
            ("users.messages.send", Method::Send),
            ("users.messages.insert", Method::Insert),
            ("users.messages.import", Method::Insert),
            ("users.messages.modify", Method::Modify),
            ("users.messages.batchModify", Method::Modify),
            ("users.messages.trash", Method::Modify),
            ("users.messages.untrash", Method::Modify),
            ("users.threads.modify", Method::Modify),
            ("users.threads.trash", Method::Modify),
            ("users.threads.untrash", Method::Modify),
            ("users.messages.delete", Method::PermanentDelete),
            ("users.messages.batchDelete", Method::PermanentDelete),
            ("users.threads.delete", Method::PermanentDelete),
            ("users.labels.list", Method::LabelsRead),
            ("users.labels.get", Method::LabelsRead),
            ("users.labels.create", Method::LabelsWrite),
            ("users.labels.update", Method::LabelsWrite),
            ("users.labels.patch", Method::LabelsWrite),
            ("users.labels.delete", Method::LabelsWrite),
            ("users.drafts.list", Method::DraftsRead),
            ("users.drafts.get", Method::DraftsRead),
            ("users.drafts.create", Method::DraftsWrite),
            ("users.drafts.update", Method::DraftsWrite),
            ("users.drafts.delete", Method::DraftsWrite),
            ("users.drafts.send", Method::DraftsWrite),
        ];
        for (id, method) in table {
            let mut node = &doc["resources"];
            let parts: Vec<&str> = id.split('.').collect();
            for (i, part) in parts.iter().enumerate() {
                node = if i + 1 == parts.len() {
                    &node["methods"][part]
                } else if i == 0 {
                    &node[part]
                } else {
                    &node["resources"][part]
                };
            }
            let listed: Vec<String> = node["scopes"]
                .as_array()
                .unwrap_or_else(|| panic!("{id} not in the document"))
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .filter(|s| !s.contains("gmail.addons."))
                .collect();
            assert_eq!(scopes::bits_of(&listed), method.allowed(), "{id}");
        }
    }
}
