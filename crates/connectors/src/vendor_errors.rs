//! Every vendor failure becomes the same error, whatever the operation: the status a client can
//! act on, ferry's own sentence for it, and the vendor's words in `provider_message`.

use crate::ConnectorError;
use crate::egress::retry_after;
use bytes::Bytes;
use serde_json::Value;

/// Google's APIs also refuse a call for going too fast with 403 and a reason saying so
/// (`userRateLimitExceeded`, `rateLimitExceeded`): that is a 429 in all but status.
pub(crate) fn is_rate_limit_refusal(status: u16, body: &[u8]) -> bool {
    if status != 403 || body.len() > 64 * 1024 {
        return false;
    }
    let Ok(parsed) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    parsed
        .pointer("/error/errors")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e["reason"].as_str())
        .any(|reason| matches!(reason, "rateLimitExceeded" | "userRateLimitExceeded"))
}

/// The vendor's own words for an error, from the usual places in a JSON error body.
pub(crate) fn provider_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Bytes,
) -> ConnectorError {
    let status = if is_rate_limit_refusal(status, body) {
        429
    } else {
        status
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let provider_message = parsed
        .as_ref()
        .and_then(|json| {
            [
                "/error/message",
                "/error_description",
                "/message",
                "/error",
                "/errors/0/message",
            ]
            .iter()
            .find_map(|pointer| json.pointer(pointer).and_then(Value::as_str))
            .map(str::to_owned)
        })
        .or_else(|| (!body.is_empty()).then(|| snippet(body)));
    let message = match status {
        400 => "the provider refused the request as invalid",
        401 => "the provider did not accept the instance's credentials",
        403 => "the provider refused access",
        404 => "the provider has no such object",
        409 => "the provider reports a conflict",
        413 => "the request is too large for the provider",
        429 => "the provider's rate limit was reached; retry later",
        500..=599 => "the provider failed to answer",
        _ => "the provider answered with an error",
    };
    ConnectorError::Provider {
        status,
        message: message.to_owned(),
        provider_message,
        retry_after_secs: retry_after(headers).map(|wait| wait.as_secs().max(1)),
    }
}

/// The start of a body, for messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};

    #[test]
    fn googles_error_body_gives_the_provider_message_and_retry_after() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("7"));
        let body = Bytes::from_static(
            br#"{"error":{"code":429,"message":"User-rate limit exceeded.","errors":[{"reason":"rateLimitExceeded"}]}}"#,
        );
        match provider_error(429, &headers, &body) {
            ConnectorError::Provider {
                status,
                message,
                provider_message,
                retry_after_secs,
            } => {
                assert_eq!(status, 429);
                assert!(message.contains("rate limit"), "{message}");
                assert_eq!(
                    provider_message.as_deref(),
                    Some("User-rate limit exceeded.")
                );
                assert_eq!(retry_after_secs, Some(7));
            }
            other => panic!("{other:?}"),
        }
        match provider_error(
            502,
            &HeaderMap::new(),
            &Bytes::from_static(b"<html>oops</html>"),
        ) {
            ConnectorError::Provider {
                provider_message, ..
            } => assert_eq!(provider_message.as_deref(), Some("<html>oops</html>")),
            other => panic!("{other:?}"),
        }
    }
}
