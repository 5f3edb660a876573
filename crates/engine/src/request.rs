//! Request steps (`elementRequest`, `request`, `httpRequest`): their properties, acceptable and
//! retryable status codes, and the retry loop.

use serde_json::{Map, Value, json};
use std::time::Duration;
use thiserror::Error;

/// Where a request step goes.
#[derive(Debug, Clone, PartialEq)]
pub enum RequestTarget {
    /// An instance's normalized API; the id as the flow gave it (usually from a variable).
    Connector { instance_id: Value },
    /// ferry's own platform API, as the flow's owner.
    Platform,
    /// Any HTTP URL.
    Http,
}

/// A request the engine asks the application to make, references already resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCall {
    pub target: RequestTarget,
    pub method: String,
    /// The API path (connector, platform) or the full URL (httpRequest).
    pub path: String,
    pub query: Map<String, Value>,
    pub headers: Map<String, Value>,
    pub body: Option<Value>,
    /// Multipart form fields: strings are text parts; `{value, options: {filename, contentType}}`
    /// objects are files.
    pub form: Option<Map<String, Value>>,
    /// Stable across re-runs of the same step of the same execution (a resumed execution must not
    /// send the same mail twice).
    pub idempotency_key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    pub status: u16,
    pub headers: Map<String, Value>,
    pub body: Value,
}

/// The request could not be made at all (unknown instance, unreachable host…).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0}")]
pub struct CallError(pub String);

pub(crate) fn parse_attempts(value: &Value, max: u32) -> Result<u32, String> {
    let number = match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        _ => None,
    };
    match number {
        Some(n) if (0..=max as i64).contains(&n) => Ok(n as u32),
        Some(n) if n > max as i64 => Err(format!("retryAttempts is {n}; it may be at most {max}")),
        _ => Err(format!(
            "retryAttempts must be a whole number from 0 to {max}"
        )),
    }
}

pub(crate) fn parse_delay_ms(value: &Value) -> Result<u64, String> {
    let number = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse::<u64>().ok(),
        _ => None,
    };
    match number {
        Some(ms) if ms <= 600_000 => Ok(ms),
        Some(_) => Err("retryDelay may be at most 600000 ms (10 minutes)".into()),
        None => Err("retryDelay must be a whole number of milliseconds".into()),
    }
}

/// `"200,201"`, `"200-205"`, `"401-405,500"` → inclusive ranges.
pub(crate) fn parse_status_codes(value: &Value) -> Result<Vec<(u16, u16)>, String> {
    let text = match value {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| i.to_string())
            })
            .collect::<Vec<_>>()
            .join(","),
        _ => return Err("give status codes as text, e.g. \"200-204,304\"".into()),
    };
    let status = |s: &str| {
        s.trim()
            .parse::<u16>()
            .ok()
            .filter(|c| (100..=599).contains(c))
    };
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(|item| {
            match item.split_once('-') {
                None => status(item).map(|c| (c, c)),
                Some((low, high)) => match (status(low), status(high)) {
                    (Some(low), Some(high)) if low <= high => Some((low, high)),
                    _ => None,
                },
            }
            .ok_or_else(|| format!("{item:?} is not a status code or a range like 500-599"))
        })
        .collect::<Result<Vec<_>, _>>()
        .and_then(|ranges| {
            if ranges.is_empty() {
                Err("no status codes given".into())
            } else {
                Ok(ranges)
            }
        })
}

fn contains(ranges: &[(u16, u16)], status: u16) -> bool {
    ranges
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&status))
}

/// How a request step treats answers, from its resolved properties.
#[derive(Debug, Clone)]
pub(crate) struct RetryPolicy {
    pub acceptable: Vec<(u16, u16)>,
    pub retry_on: Vec<(u16, u16)>,
    pub attempts: u32,
    pub delay: Duration,
}

impl RetryPolicy {
    pub fn from_properties(
        properties: &Map<String, Value>,
        max: u32,
    ) -> Result<RetryPolicy, String> {
        let acceptable = match properties
            .get("acceptableStatusCodes")
            .filter(|v| !v.is_null())
        {
            Some(value) => {
                parse_status_codes(value).map_err(|e| format!("acceptableStatusCodes: {e}"))?
            }
            None => vec![(200, 299)],
        };
        let retry_on = match properties.get("retryStatusCodes").filter(|v| !v.is_null()) {
            Some(value) => {
                parse_status_codes(value).map_err(|e| format!("retryStatusCodes: {e}"))?
            }
            None => vec![(429, 429), (500, 599)],
        };
        let wants_retry = properties
            .get("retry")
            .is_none_or(|v| v.as_bool() != Some(false));
        let attempts = match properties.get("retryAttempts").filter(|v| !v.is_null()) {
            Some(value) if wants_retry => {
                parse_attempts(value, max).map_err(|e| format!("retryAttempts: {e}"))?
            }
            _ => 0,
        };
        let delay = match properties.get("retryDelay").filter(|v| !v.is_null()) {
            Some(value) => Duration::from_millis(
                parse_delay_ms(value).map_err(|e| format!("retryDelay: {e}"))?,
            ),
            None => Duration::from_millis(1_000),
        };
        Ok(RetryPolicy {
            acceptable,
            retry_on,
            attempts,
            delay,
        })
    }

    pub fn accepts(&self, status: u16) -> bool {
        contains(&self.acceptable, status)
    }

    /// Transport failures (status 0) are retried like a retryable status.
    pub fn retries(&self, status: u16) -> bool {
        status == 0 || contains(&self.retry_on, status)
    }
}

/// A reply's body as request steps record it: JSON parsed, other text as it is, and no body at
/// all (a HEAD's, a 204's) as `null` — one rule for elementRequest, request and httpRequest
/// steps, so a flow tests for "no body" one way whichever step made the call.
pub fn recorded_body(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

/// What execution records show instead of a credential.
pub(crate) const REDACTED: &str = "********";

/// Whether a header carries a credential, by its name: such values never reach an execution
/// record (the flow still sends them).
pub fn is_credential_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    // A page token (`Elements-Next-Page-Token`) is a cursor that later steps page with, not a
    // credential.
    if name.contains("page-token") || name.contains("pagetoken") {
        return false;
    }
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie"
    ) || [
        "secret",
        "token",
        "password",
        "api-key",
        "apikey",
        "signature",
    ]
    .iter()
    .any(|word| name.contains(word))
}

/// `headers` with every credential replaced by [`REDACTED`].
pub(crate) fn redacted_headers(headers: &Map<String, Value>) -> Map<String, Value> {
    headers
        .iter()
        .map(|(name, value)| {
            let shown = if is_credential_header(name) {
                Value::String(REDACTED.to_owned())
            } else {
                value.clone()
            };
            (name.clone(), shown)
        })
        .collect()
}

/// A request step's resolved properties as its record shows them: credential headers redacted.
pub(crate) fn recorded_properties(mut properties: Value) -> Value {
    if let Some(Value::Object(headers)) = properties.get_mut("headers") {
        *headers = redacted_headers(headers);
    }
    properties
}

/// The recorded shape of a request step: `{request: {…, retry-attempt}, response: {code, headers, body}}`.
pub(crate) fn exchange_record(
    call: &HttpCall,
    exchange: Option<&HttpExchange>,
    retries: u32,
) -> Value {
    let mut request = Map::new();
    request.insert("method".into(), Value::String(call.method.clone()));
    let where_key = if call.target == RequestTarget::Http {
        "url"
    } else {
        "path"
    };
    request.insert(where_key.into(), Value::String(call.path.clone()));
    request.insert("query".into(), Value::Object(call.query.clone()));
    request.insert(
        "headers".into(),
        Value::Object(redacted_headers(&call.headers)),
    );
    if let Some(body) = &call.body {
        request.insert("body".into(), body.clone());
    }
    if let Some(form) = &call.form {
        request.insert("form".into(), Value::Object(form.clone()));
    }
    request.insert("retry-attempt".into(), Value::from(retries));
    let response = match exchange {
        Some(exchange) => {
            json!({"code": exchange.status, "headers": redacted_headers(&exchange.headers), "body": exchange.body})
        }
        None => Value::Null,
    };
    json!({"request": request, "response": response})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_code_lists_parse_like_cloud_elements() {
        assert_eq!(
            parse_status_codes(&json!("200,201")).unwrap(),
            vec![(200, 200), (201, 201)]
        );
        assert_eq!(
            parse_status_codes(&json!("401-405,500")).unwrap(),
            vec![(401, 405), (500, 500)]
        );
        assert!(
            parse_status_codes(&json!("401-,400"))
                .unwrap_err()
                .contains("401-")
        );
        assert!(parse_status_codes(&json!("500-400")).is_err());
        assert!(parse_status_codes(&json!("")).is_err());
    }

    #[test]
    fn retry_attempts_are_bounded() {
        assert_eq!(parse_attempts(&json!(2), 5), Ok(2));
        assert_eq!(parse_attempts(&json!("5"), 5), Ok(5));
        assert!(
            parse_attempts(&json!(6), 5)
                .unwrap_err()
                .contains("at most 5")
        );
        assert!(parse_attempts(&json!(-1), 5).is_err());
    }

    #[test]
    fn a_policy_reads_its_defaults() {
        let policy = RetryPolicy::from_properties(&Map::new(), 5).unwrap();
        assert!(policy.accepts(204) && !policy.accepts(404));
        assert_eq!(policy.attempts, 0);
        let props = json!({"retryAttempts": 3, "retryDelay": 10, "retryStatusCodes": "500-599"});
        let policy = RetryPolicy::from_properties(props.as_object().unwrap(), 5).unwrap();
        assert_eq!(policy.attempts, 3);
        assert!(policy.retries(503) && !policy.retries(404) && policy.retries(0));
    }

    #[test]
    fn credential_headers_are_redacted_in_records_and_others_kept() {
        let headers = json!({
            "Authorization": "Bearer abc",
            "X-Api-Key": "k",
            "X-Webhook-Signature": "s",
            "X-Auth-Token": "t",
            "Elements-Next-Page-Token": "page-2",
            "Content-Type": "application/json",
            "Accept": "*/*"
        });
        let shown = redacted_headers(headers.as_object().unwrap());
        assert_eq!(shown["Authorization"], REDACTED);
        assert_eq!(shown["X-Api-Key"], REDACTED);
        assert_eq!(shown["X-Webhook-Signature"], REDACTED);
        assert_eq!(shown["X-Auth-Token"], REDACTED);
        assert_eq!(
            shown["Elements-Next-Page-Token"], "page-2",
            "a cursor, not a credential"
        );
        assert_eq!(shown["Content-Type"], "application/json");
        assert_eq!(shown["Accept"], "*/*");
        let properties = recorded_properties(json!({"url": "http://x", "headers": headers}));
        assert_eq!(properties["headers"]["Authorization"], REDACTED);
        assert_eq!(properties["url"], "http://x");
    }
}
