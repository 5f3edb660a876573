//! Every vendor failure becomes the same error, whatever the operation: the status a client can
//! act on, ferry's own sentence for it, and the vendor's words in `provider_message`.

use crate::ConnectorError;
use crate::egress::retry_after;
use bytes::Bytes;
use ferry_model::connector::ErrorsDef;
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

/// The vendor's own words for an error, from the definition's `errors.message` or the usual
/// places in a JSON error body; the definition's `errors.rules` may change status and message.
pub(crate) fn provider_error(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Bytes,
    errors: &ErrorsDef,
) -> ConnectorError {
    let vendor_status = status;
    let status = if is_rate_limit_refusal(status, body) {
        429
    } else {
        status
    };
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let declared = parsed.as_ref().and_then(|json| {
        let at = json.pointer(errors.message.as_deref()?)?;
        Some(match at {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    });
    let code = parsed.as_ref().and_then(|json| {
        let at = json.pointer(errors.code.as_deref()?)?;
        Some(match at {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
    });
    let rule = errors.rules.iter().find(|rule| {
        rule.vendor_status == vendor_status
            && rule
                .code
                .as_ref()
                .is_none_or(|wanted| code.as_ref() == Some(wanted))
    });
    let provider_message = declared
        .or_else(|| {
            parsed.as_ref().and_then(|json| {
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
        })
        .or_else(|| (!body.is_empty()).then(|| snippet(body)));
    let status = rule.map_or(status, |rule| rule.status);
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
        message: rule
            .and_then(|rule| rule.message.clone())
            .unwrap_or_else(|| message.to_owned()),
        provider_message,
        retry_after_secs: retry_after(headers).map(|wait| wait.as_secs().max(1)),
    }
}

#[cfg(test)]
mod mapping_tests {
    use super::*;
    use reqwest::header::HeaderMap;

    #[test]
    fn declared_rules_map_status_code_and_message() {
        let errors: ErrorsDef = serde_json::from_value(serde_json::json!({
            "message": "/fault/detail", "code": "/fault/code",
            "rules": [
                {"vendor_status": 422, "code": "NO_SUCH_WIDGET", "status": 404, "message": "no such widget"},
                {"vendor_status": 422, "status": 400}
            ]
        }))
        .unwrap();
        let body = Bytes::from_static(
            br#"{"fault":{"code":"NO_SUCH_WIDGET","detail":"widget 7 is gone"}}"#,
        );
        match provider_error(422, &HeaderMap::new(), &body, &errors) {
            ConnectorError::Provider {
                status,
                message,
                provider_message,
                ..
            } => {
                assert_eq!(status, 404);
                assert_eq!(message, "no such widget");
                assert_eq!(provider_message.as_deref(), Some("widget 7 is gone"));
            }
            other => panic!("{other:?}"),
        }
        let other = Bytes::from_static(br#"{"fault":{"code":"BAD","detail":"bad color"}}"#);
        match provider_error(422, &HeaderMap::new(), &other, &errors) {
            ConnectorError::Provider { status, .. } => assert_eq!(status, 400),
            other => panic!("{other:?}"),
        }
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
        match provider_error(429, &headers, &body, &ErrorsDef::default()) {
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
            &ErrorsDef::default(),
        ) {
            ConnectorError::Provider {
                provider_message, ..
            } => assert_eq!(provider_message.as_deref(), Some("<html>oops</html>")),
            other => panic!("{other:?}"),
        }
    }
}
