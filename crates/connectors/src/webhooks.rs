//! Events a vendor pushes (`events.webhook`). A delivery is refused unless its signature — an
//! HMAC keyed with the instance's secret over the raw body (and a timestamp, when the connector
//! signs one) — matches, compared in constant time before a byte of the body is parsed; a
//! timestamp outside the tolerance is a replay. Only then are its events read, each with the id
//! that tells a redelivery from a new event.

use crate::ConnectorError;
use crate::events::ChangeEvent;
use crate::polling::text;
use base64::Engine;
use ferry_model::connector::{
    EventsDef, SignatureAlgorithm, SignatureEncoding, WebhookDef, WebhookSignatureDef,
};
use hmac::{Hmac, Mac};
use serde_json::Value;

/// A webhook delivery as it arrived.
pub struct WebhookDelivery<'a> {
    pub headers: &'a http::HeaderMap,
    /// The body byte for byte: the signature covers exactly these bytes.
    pub body: &'a [u8],
    /// ferry's clock in Unix seconds, for the timestamp's tolerance.
    pub now_seconds: i64,
}

/// The events of a delivery whose signature holds, in the order the delivery lists them.
/// `secret` is the value of the instance's `signature.secret_field`, if it has one.
pub fn receive_delivery(
    events: &EventsDef,
    secret: Option<&str>,
    delivery: &WebhookDelivery<'_>,
) -> Result<Vec<ChangeEvent>, ConnectorError> {
    let webhook = events
        .webhook
        .as_ref()
        .ok_or_else(|| ConnectorError::NotFound {
            message: "the connector receives no webhook events".into(),
        })?;
    let signature = &webhook.signature;
    let secret = secret.filter(|s| !s.is_empty()).ok_or_else(|| {
        let field = format!("configuration.{}", signature.secret_field);
        ConnectorError::SignatureRefused {
            message: format!(
                "the instance has no webhook secret to check signatures with: fill in {field}"
            ),
            field,
        }
    })?;
    verify_signature(signature, secret.as_bytes(), delivery)?;
    read_events(webhook, &events.object_type, delivery.body)
}

fn refused(header: &str, message: String) -> ConnectorError {
    ConnectorError::SignatureRefused {
        field: header.to_owned(),
        message,
    }
}

fn header<'a>(delivery: &'a WebhookDelivery<'_>, name: &str) -> Result<&'a str, ConnectorError> {
    let value = delivery
        .headers
        .get(name)
        .ok_or_else(|| refused(name, format!("the delivery has no {name} header")))?;
    value
        .to_str()
        .map(str::trim)
        .map_err(|_| refused(name, format!("the {name} header is not text")))
}

fn verify_signature(
    def: &WebhookSignatureDef,
    secret: &[u8],
    delivery: &WebhookDelivery<'_>,
) -> Result<(), ConnectorError> {
    let name = def.header.as_str();
    let given = header(delivery, name)?;
    let timestamp = match &def.timestamp_header {
        Some(stamp_header) => {
            let text = header(delivery, stamp_header)?;
            let seconds: i64 = text.parse().map_err(|_| {
                refused(
                    stamp_header,
                    format!("the {stamp_header} header is not a time in Unix seconds"),
                )
            })?;
            Some((stamp_header.as_str(), text, seconds))
        }
        None => None,
    };
    let encoded = given.strip_prefix(def.prefix.as_str()).ok_or_else(|| {
        refused(
            name,
            format!("the {name} header does not start with {:?}", def.prefix),
        )
    })?;
    let signature = match def.encoding {
        SignatureEncoding::Hex => hex::decode(encoded)
            .map_err(|_| refused(name, format!("the {name} header is not hexadecimal"))),
        SignatureEncoding::Base64 => base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| refused(name, format!("the {name} header is not base64"))),
    }?;
    let pieces = signed_pieces(
        def.signed_content(),
        timestamp.map_or("", |(_, text, _)| text),
        delivery.body,
    );
    let matches = match def.algorithm {
        SignatureAlgorithm::HmacSha256 => {
            mac_matches::<Hmac<sha2::Sha256>>(secret, &pieces, &signature)
        }
        SignatureAlgorithm::HmacSha1 => {
            mac_matches::<Hmac<sha1::Sha1>>(secret, &pieces, &signature)
        }
    };
    if !matches {
        return Err(refused(
            name,
            format!(
                "the {name} header does not match the delivery signed with the instance's webhook secret"
            ),
        ));
    }
    // Checked after the signature, so that only a delivery the vendor really signed learns
    // that it came too late.
    if let Some((stamp_header, _, seconds)) = timestamp {
        let skew = delivery.now_seconds.abs_diff(seconds);
        let tolerance = def.tolerance_seconds();
        if skew > tolerance {
            return Err(refused(
                stamp_header,
                format!(
                    "the delivery was signed {skew} s away from ferry's clock, beyond the tolerance of \
                     {tolerance} s: a replayed delivery is refused"
                ),
            ));
        }
    }
    Ok(())
}

/// `verify_slice` compares in constant time (a wrong length fails at once; it says nothing of
/// the secret).
fn mac_matches<M: Mac + hmac::digest::KeyInit>(
    secret: &[u8],
    pieces: &[&[u8]],
    signature: &[u8],
) -> bool {
    let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(secret)
        .expect("HMAC takes keys of any length");
    for piece in pieces {
        mac.update(piece);
    }
    mac.verify_slice(signature).is_ok()
}

/// The signed content as the pieces the MAC is fed, `{timestamp}` and `{body}` filled in.
fn signed_pieces<'a>(template: &'a str, timestamp: &'a str, body: &'a [u8]) -> Vec<&'a [u8]> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let (literal, tail) = rest.split_at(start);
        pieces.push(literal.as_bytes());
        if let Some(after) = tail.strip_prefix(WebhookSignatureDef::BODY) {
            pieces.push(body);
            rest = after;
        } else if let Some(after) = tail.strip_prefix(WebhookSignatureDef::TIMESTAMP) {
            pieces.push(timestamp.as_bytes());
            rest = after;
        } else {
            pieces.push(&tail.as_bytes()[..1]);
            rest = &tail[1..];
        }
    }
    pieces.push(rest.as_bytes());
    pieces
}

/// Why a `signed_content` template cannot be used: it must sign the body exactly once, and the
/// timestamp exactly when there is a timestamp header (an unsigned timestamp proves nothing).
pub(crate) fn check_signed_content(template: &str, has_timestamp: bool) -> Result<(), String> {
    let mut bodies = 0;
    let mut timestamps = 0;
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let tail = &rest[start..];
        if let Some(after) = tail.strip_prefix(WebhookSignatureDef::BODY) {
            bodies += 1;
            rest = after;
        } else if let Some(after) = tail.strip_prefix(WebhookSignatureDef::TIMESTAMP) {
            timestamps += 1;
            rest = after;
        } else {
            let placeholder: String = tail.chars().take_while(|&c| c != '}').collect();
            return Err(format!("{placeholder}}} is not {{body}} or {{timestamp}}"));
        }
    }
    if bodies != 1 {
        return Err(format!("{template:?} must contain {{body}} exactly once"));
    }
    match (has_timestamp, timestamps) {
        (true, 1) | (false, 0) => Ok(()),
        (true, _) => Err(format!(
            "{template:?} must contain {{timestamp}} exactly once: timestamp_header is given, and \
             an unsigned timestamp does not stop replays"
        )),
        (false, _) => Err(format!(
            "{template:?} names {{timestamp}}, but signature.timestamp_header is not given"
        )),
    }
}

fn read_events(
    webhook: &WebhookDef,
    default_object_type: &str,
    body: &[u8],
) -> Result<Vec<ChangeEvent>, ConnectorError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ConnectorError::input("body", format!("the delivery is not JSON: {e}")))?;
    let found = value.pointer(&webhook.events).ok_or_else(|| {
        ConnectorError::input(
            "body",
            format!("the delivery has no events at {:?}", webhook.events),
        )
    })?;
    let listed: Vec<&Value> = match found {
        Value::Array(items) => items.iter().collect(),
        one => vec![one],
    };
    let field = |at: &Option<String>, event: &Value| {
        at.as_deref()
            .and_then(|pointer| event.pointer(pointer))
            .and_then(text)
    };
    listed
        .into_iter()
        .enumerate()
        .map(|(index, event)| {
            let id = event.pointer(&webhook.id).and_then(text).ok_or_else(|| {
                ConnectorError::input(
                    "body",
                    format!(
                        "event {index} of the delivery has no id at {:?}",
                        webhook.id
                    ),
                )
            })?;
            Ok(ChangeEvent {
                object_type: field(&webhook.object_type, event)
                    .unwrap_or_else(|| default_object_type.to_owned()),
                // A pushed event need not name an object; empty means none.
                object_id: field(&webhook.object_id, event).unwrap_or_default(),
                event_type: event_kind(webhook, field(&webhook.event_type, event).as_deref()),
                history_id: None,
                id: Some(id),
                raw: event.clone(),
            })
        })
        .collect()
}

fn event_kind(webhook: &WebhookDef, vendor_type: Option<&str>) -> &'static str {
    let Some(vendor_type) = vendor_type else {
        return "UNKNOWN";
    };
    if let Some(kind) = webhook.event_types.get(vendor_type) {
        return kind.as_str();
    }
    ["CREATED", "UPDATED", "DELETED"]
        .into_iter()
        .find(|kind| kind.eq_ignore_ascii_case(vendor_type))
        .unwrap_or("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use serde_json::json;

    const SECRET: &str = "whsec-notes";

    fn events(signature: Value) -> EventsDef {
        serde_json::from_value(json!({
            "object_type": "notes",
            "webhook": {
                "signature": signature,
                "events": "/events",
                "id": "/id",
                "object_id": "/note/id",
                "event_type": "/type",
                "event_types": {"note.created": "CREATED", "note.removed": "DELETED"}
            }
        }))
        .unwrap()
    }

    fn github_style() -> EventsDef {
        events(json!({
            "header": "X-Hub-Signature-256", "algorithm": "hmac_sha256", "encoding": "hex",
            "prefix": "sha256=", "secret_field": "webhook_secret"
        }))
    }

    fn slack_style() -> EventsDef {
        events(json!({
            "header": "X-Slack-Signature", "algorithm": "hmac_sha256", "encoding": "hex",
            "prefix": "v0=", "secret_field": "webhook_secret",
            "timestamp_header": "X-Slack-Request-Timestamp", "signed_content": "v0:{timestamp}:{body}",
            "tolerance_seconds": 300
        }))
    }

    fn sign(algorithm: SignatureAlgorithm, content: &[u8]) -> Vec<u8> {
        match algorithm {
            SignatureAlgorithm::HmacSha256 => {
                let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(content);
                mac.finalize().into_bytes().to_vec()
            }
            SignatureAlgorithm::HmacSha1 => {
                let mut mac = Hmac::<sha1::Sha1>::new_from_slice(SECRET.as_bytes()).unwrap();
                mac.update(content);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn headers(pairs: &[(&str, String)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn receive(
        events: &EventsDef,
        headers: &HeaderMap,
        body: &[u8],
        now_seconds: i64,
    ) -> Result<Vec<ChangeEvent>, ConnectorError> {
        receive_delivery(
            events,
            Some(SECRET),
            &WebhookDelivery {
                headers,
                body,
                now_seconds,
            },
        )
    }

    fn refusal(result: Result<Vec<ChangeEvent>, ConnectorError>) -> (String, String) {
        match result {
            Err(ConnectorError::SignatureRefused { field, message }) => (field, message),
            other => panic!("not refused: {other:?}"),
        }
    }

    const BODY: &[u8] = br#"{"events": [
        {"id": "ev1", "type": "note.created", "note": {"id": 8, "heading": "Call Ada"}},
        {"id": "ev2", "type": "updated", "note": {"id": 3}},
        {"id": "ev3", "type": "note.archived", "note": {"id": 4}}
    ]}"#;

    #[test]
    fn a_body_signed_with_the_secret_is_read_event_by_event() {
        let signature = hex::encode(sign(SignatureAlgorithm::HmacSha256, BODY));
        let read = receive(
            &github_style(),
            &headers(&[("x-hub-signature-256", format!("sha256={signature}"))]),
            BODY,
            0,
        )
        .unwrap();
        let summary: Vec<_> = read
            .iter()
            .map(|e| (e.id.as_deref().unwrap(), e.object_id.as_str(), e.event_type))
            .collect();
        assert_eq!(
            summary,
            [
                ("ev1", "8", "CREATED"),
                ("ev2", "3", "UPDATED"),
                ("ev3", "4", "UNKNOWN")
            ]
        );
        assert_eq!(read[0].object_type, "notes");
        assert_eq!(read[0].raw["note"]["heading"], "Call Ada");
        let upper = signature.to_uppercase();
        assert!(
            receive(
                &github_style(),
                &headers(&[("X-Hub-Signature-256", format!("sha256={upper}"))]),
                BODY,
                0
            )
            .is_ok(),
            "hex in either case"
        );
    }

    #[test]
    fn a_missing_malformed_or_wrong_signature_is_refused_naming_the_header() {
        let events = github_style();
        let right = hex::encode(sign(SignatureAlgorithm::HmacSha256, BODY));
        let (field, message) = refusal(receive(&events, &HeaderMap::new(), BODY, 0));
        assert_eq!(field, "X-Hub-Signature-256");
        assert!(
            message.contains("has no X-Hub-Signature-256 header"),
            "{message}"
        );
        for (value, words) in [
            (right.clone(), "does not start with \"sha256=\""),
            ("sha256=zz".to_owned(), "not hexadecimal"),
            (format!("sha256={}", &right[2..]), "does not match"),
            (
                format!(
                    "sha256={}",
                    hex::encode(sign(SignatureAlgorithm::HmacSha1, BODY))
                ),
                "does not match",
            ),
        ] {
            let (field, message) = refusal(receive(
                &events,
                &headers(&[("x-hub-signature-256", value.clone())]),
                BODY,
                0,
            ));
            assert_eq!(field, "X-Hub-Signature-256");
            assert!(message.contains(words), "{value}: {message}");
        }
        // One byte of the body changed after signing.
        let mut tampered = BODY.to_vec();
        tampered[20] = b'X';
        let (_, message) = refusal(receive(
            &events,
            &headers(&[("x-hub-signature-256", format!("sha256={right}"))]),
            &tampered,
            0,
        ));
        assert!(message.contains("does not match"), "{message}");
    }

    #[test]
    fn the_signature_is_checked_before_the_body_is_parsed() {
        let garbage = b"not json at all";
        let (field, _) = refusal(receive(
            &github_style(),
            &headers(&[("x-hub-signature-256", "sha256=00".to_owned())]),
            garbage,
            0,
        ));
        assert_eq!(field, "X-Hub-Signature-256");
        let signed = hex::encode(sign(SignatureAlgorithm::HmacSha256, garbage));
        match receive(
            &github_style(),
            &headers(&[("x-hub-signature-256", format!("sha256={signed}"))]),
            garbage,
            0,
        ) {
            Err(ConnectorError::InvalidInput { field, message }) => {
                assert_eq!(field.as_deref(), Some("body"));
                assert!(message.contains("not JSON"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_signed_timestamp_outside_the_tolerance_is_a_replay() {
        let events = slack_style();
        let now = 1_800_000_000;
        let delivery = |at: i64, signed_at: i64| {
            let mut content = format!("v0:{signed_at}:").into_bytes();
            content.extend_from_slice(BODY);
            headers(&[
                ("x-slack-request-timestamp", at.to_string()),
                (
                    "x-slack-signature",
                    format!(
                        "v0={}",
                        hex::encode(sign(SignatureAlgorithm::HmacSha256, &content))
                    ),
                ),
            ])
        };
        assert_eq!(
            receive(&events, &delivery(now - 299, now - 299), BODY, now)
                .unwrap()
                .len(),
            3
        );
        let (field, message) =
            refusal(receive(&events, &delivery(now - 301, now - 301), BODY, now));
        assert_eq!(field, "X-Slack-Request-Timestamp");
        assert!(
            message.contains("301 s") && message.contains("replay"),
            "{message}"
        );
        let (_, message) = refusal(receive(&events, &delivery(now + 900, now + 900), BODY, now));
        assert!(message.contains("900 s"), "from the future too: {message}");
        // A fresh timestamp on an old signature: the timestamp is signed, so it does not match.
        let (field, message) = refusal(receive(&events, &delivery(now, now - 3_600), BODY, now));
        assert_eq!(field, "X-Slack-Signature");
        assert!(message.contains("does not match"), "{message}");
        let mut no_stamp = delivery(now, now);
        no_stamp.remove("x-slack-request-timestamp");
        let (field, _) = refusal(receive(&events, &no_stamp, BODY, now));
        assert_eq!(field, "X-Slack-Request-Timestamp");
    }

    #[test]
    fn base64_and_sha1_signatures_and_a_single_event() {
        let events: EventsDef = serde_json::from_value(json!({
            "object_type": "orders",
            "webhook": {
                "signature": {"header": "X-Shop-Hmac", "algorithm": "hmac_sha1", "encoding": "base64", "secret_field": "s"},
                "id": "/order_id", "object_type": "/kind"
            }
        }))
        .unwrap();
        let body = br#"{"order_id": 41, "kind": "order", "type": "DELETED"}"#;
        let signature = base64::engine::general_purpose::STANDARD
            .encode(sign(SignatureAlgorithm::HmacSha1, body));
        let read = receive(&events, &headers(&[("x-shop-hmac", signature)]), body, 0).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].id.as_deref(), Some("41"));
        assert_eq!(read[0].object_type, "order");
        assert_eq!(read[0].object_id, "", "no object_id pointer");
        assert_eq!(read[0].event_type, "UNKNOWN", "no event_type pointer");
    }

    #[test]
    fn an_event_without_an_id_refuses_the_delivery() {
        let body = br#"{"events": [{"id": "a"}, {"type": "x"}]}"#;
        let signature = hex::encode(sign(SignatureAlgorithm::HmacSha256, body));
        match receive(
            &github_style(),
            &headers(&[("x-hub-signature-256", format!("sha256={signature}"))]),
            body,
            0,
        ) {
            Err(ConnectorError::InvalidInput { message, .. }) => {
                assert!(
                    message.contains("event 1") && message.contains("/id"),
                    "{message}"
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_instance_without_a_secret_is_refused() {
        let (field, message) = refusal(receive_delivery(
            &github_style(),
            Some(""),
            &WebhookDelivery {
                headers: &HeaderMap::new(),
                body: BODY,
                now_seconds: 0,
            },
        ));
        assert_eq!(field, "configuration.webhook_secret");
        assert!(message.contains("no webhook secret"), "{message}");
    }

    #[test]
    fn signed_content_templates() {
        assert!(check_signed_content("{body}", false).is_ok());
        assert!(check_signed_content("v0:{timestamp}:{body}", true).is_ok());
        for (template, stamped, words) in [
            ("{timestamp}.{body}", false, "timestamp_header is not given"),
            ("{body}", true, "{timestamp} exactly once"),
            ("{body}{body}", false, "{body} exactly once"),
            ("{timestamp}", true, "{body} exactly once"),
            ("{method}:{body}", false, "{method} is not"),
        ] {
            let problem = check_signed_content(template, stamped).unwrap_err();
            assert!(problem.contains(words), "{template}: {problem}");
        }
        let pieces = signed_pieces("v0:{timestamp}:{body}", "17", b"{}");
        assert_eq!(pieces.concat(), b"v0:17:{}");
    }
}
