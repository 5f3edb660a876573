//! Connector events by webhook, end to end: a connector given only as a definition
//! (`POST /elements`, an API-key connector of the loopback notes service) whose events the vendor
//! pushes, signed Slack-style (HMAC-SHA256 of `{timestamp}.{body}`). Its instance keeps the
//! webhook secret sealed and shows only the URL to give the vendor; a flow triggered by its
//! events runs once per event of a signed delivery, and never for a redelivery, a wrong or
//! missing signature, or a stale timestamp.

use crate::flow_support::step;
use crate::notes_service::start_service;
use crate::support::{Reply, Sandbox, reply};
use hmac::{Hmac, Mac};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;
use std::time::Duration;

pub(crate) const WEBHOOK_SECRET: &str = "whsec-notes-7f3a91";

pub(crate) fn notes_push_definition(origin: &str) -> Value {
    json!({
        "key": "notes-push",
        "name": "Notes (push)",
        "description": "The notes service, whose changes it delivers by webhook.",
        "hub": "general",
        "base_url": format!("{origin}/v1"),
        "auth": {"type": "api_key", "in": "query", "name": "api_key", "field": "notes.key"},
        "configuration": [
            {"key": "notes.key", "name": "API key", "kind": "password", "required": true},
            {"key": "webhook_secret", "name": "Webhook signing secret", "kind": "password", "required": true}
        ],
        "events": {
            "object_type": "notes",
            "webhook": {
                "signature": {
                    "header": "X-Notes-Signature",
                    "algorithm": "hmac_sha256",
                    "encoding": "hex",
                    "prefix": "sha256=",
                    "secret_field": "webhook_secret",
                    "timestamp_header": "X-Notes-Timestamp",
                    "signed_content": "{timestamp}.{body}",
                    "tolerance_seconds": 300
                },
                "events": "/events",
                "id": "/id",
                "object_id": "/note/note_id",
                "event_type": "/type",
                "event_types": {"note.created": "CREATED", "note.updated": "UPDATED"}
            }
        },
        "resources": [{
            "operation": "getNote", "method": "GET", "path": "/notes/{id}", "summary": "Get a note",
            "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+"}],
            "vendor": {"method": "GET", "path": "/notes/{id}"}
        }]
    })
}

pub(crate) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The notes service's signature: hex HMAC-SHA256 of `{timestamp}.{body}`.
fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery as the vendor sends it: no `Authorization`, the signature headers it chose.
pub(crate) async fn deliver(
    sandbox: &Sandbox,
    url: &str,
    body: &[u8],
    headers: &[(&str, String)],
) -> Reply {
    let mut request = sandbox
        .http
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    reply(request.send().await.unwrap()).await
}

pub(crate) fn signed(secret: &str, timestamp: i64, body: &[u8]) -> Vec<(&'static str, String)> {
    vec![
        ("X-Notes-Timestamp", timestamp.to_string()),
        ("X-Notes-Signature", signature(secret, timestamp, body)),
    ]
}

fn refused(reply: &Reply, field: &str, words: &str) {
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{}", reply.text);
    assert_eq!(reply.body["code"], "invalid_signature", "{}", reply.text);
    assert_eq!(reply.body["field"], field, "{}", reply.text);
    assert!(reply.body["requestId"].is_string(), "{}", reply.text);
    let message = reply.body["message"].as_str().unwrap_or_default();
    assert!(message.contains(words), "{message:?} lacks {words:?}");
}

#[tokio::test]
async fn signed_webhook_deliveries_trigger_a_flow_once_per_event() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let mut unsealed = notes_push_definition(&origin);
    unsealed["configuration"][1]["kind"] = json!("text");
    let not_sealed = sandbox.api(Method::POST, "/elements", Some(unsealed)).await;
    assert_eq!(
        not_sealed.status,
        StatusCode::BAD_REQUEST,
        "{}",
        not_sealed.text
    );
    assert_eq!(
        not_sealed.body["field"], "events.webhook.signature.secret_field",
        "{}",
        not_sealed.text
    );
    assert!(
        not_sealed.text.contains("kind: password"),
        "{}",
        not_sealed.text
    );
    let created = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(notes_push_definition(&origin)),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let metadata = sandbox
        .api(Method::GET, "/elements/notes-push/metadata", None)
        .await;
    assert_eq!(metadata.body["events"]["methods"], json!(["webhook"]));

    // The instance: the secret is sealed and never shown; the URL for the vendor is.
    let instance = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": "notes-push"}, "name": "Pushed notes",
                "configuration": {"notes.key": "k-acme", "webhook_secret": WEBHOOK_SECRET}
            })),
        )
        .await;
    assert!(instance.status.is_success(), "{}", instance.text);
    let instance_id = instance.body["id"].as_i64().unwrap();
    let url = instance.body["eventsWebhookUrl"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        url,
        format!(
            "{}/elements/api-v2/instances/{instance_id}/events",
            sandbox.ferry()
        )
    );
    for path in [
        format!("/instances/{instance_id}"),
        "/instances".to_owned(),
        format!("/instances/{instance_id}/configuration"),
    ] {
        let read = sandbox.api(Method::GET, &path, None).await;
        assert_eq!(read.status, StatusCode::OK, "{path}: {}", read.text);
        assert!(
            !read.text.contains(WEBHOOK_SECRET),
            "{path} shows the secret: {}",
            read.text
        );
    }
    let shown = sandbox
        .api(Method::GET, &format!("/instances/{instance_id}"), None)
        .await;
    assert_eq!(shown.body["configuration"]["webhook_secret"], "********");
    assert_eq!(shown.body["eventsWebhookUrl"], url.as_str());
    let db = sandbox.database();
    let mut stored = std::fs::read(&db).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{}{suffix}", db.display())) {
            stored.extend(more);
        }
    }
    assert!(
        !stored
            .windows(WEBHOOK_SECRET.len())
            .any(|w| w == WEBHOOK_SECRET.as_bytes()),
        "the secret is sealed at rest"
    );

    let flow = sandbox
        .create_flow(json!({
            "name": "On a pushed note",
            "configuration": [{"key": "notes", "type": "elementInstance"}],
            "triggers": [{"type": "event", "properties": {"elementInstanceId": "${config.notes}"}, "onSuccess": ["seen"]}],
            "steps": [{"name": "seen", "type": "script", "properties": {"body":
                "done({eventId: trigger.eventId, id: trigger.event.objectId, kind: trigger.event.eventType, type: trigger.event.objectType, heading: trigger.raw.note.heading});"}}]
        }))
        .await;
    let flow_instance = sandbox
        .create_flow_instance(flow, json!({"notes": instance_id}))
        .await;
    let flow_instance_id = flow_instance["id"].as_i64().unwrap();

    // A signed delivery of two events: two executions, each with its event.
    let body = serde_json::to_vec(&json!({"events": [
        {"id": "evt_1", "type": "note.created", "note": {"note_id": 8, "heading": "Call Ada"}},
        {"id": "evt_2", "type": "note.updated", "note": {"note_id": 3, "heading": "Note 3, edited"}}
    ]}))
    .unwrap();
    let at = unix_now();
    let delivered = deliver(&sandbox, &url, &body, &signed(WEBHOOK_SECRET, at, &body)).await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.text);
    assert_eq!(delivered.body["events"], 2, "{}", delivered.text);
    assert_eq!(delivered.body["duplicates"], 0, "{}", delivered.text);
    assert_eq!(
        delivered.body["executionIds"].as_array().unwrap().len(),
        2,
        "{}",
        delivered.text
    );
    let executions = sandbox.wait_for_executions(flow_instance_id, 2).await;
    let mut seen = Vec::new();
    for summary in &executions {
        let execution = sandbox
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        assert_eq!(execution["status"], "success", "{execution}");
        seen.push(step(&execution, "seen")["output"].clone());
    }
    seen.sort_by_key(|output| output["eventId"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        seen,
        [
            json!({"eventId": "evt_1", "id": "8", "kind": "CREATED", "type": "notes", "heading": "Call Ada"}),
            json!({"eventId": "evt_2", "id": "3", "kind": "UPDATED", "type": "notes", "heading": "Note 3, edited"}),
        ]
    );

    // The vendor delivers the same events again (its retry): nothing new starts.
    let again = deliver(&sandbox, &url, &body, &signed(WEBHOOK_SECRET, at, &body)).await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["duplicates"], 2, "{}", again.text);
    assert_eq!(again.body["executionIds"], json!([]), "{}", again.text);

    // Not from the vendor: refused, naming what is wrong, before the body is read.
    let fresh = serde_json::to_vec(&json!({"events": [
        {"id": "evt_3", "type": "note.created", "note": {"note_id": 9}}
    ]}))
    .unwrap();
    let forged = deliver(
        &sandbox,
        &url,
        &fresh,
        &signed("not-the-secret", unix_now(), &fresh),
    )
    .await;
    refused(&forged, "X-Notes-Signature", "does not match");
    let unsigned = deliver(
        &sandbox,
        &url,
        &fresh,
        &[("X-Notes-Timestamp", unix_now().to_string())],
    )
    .await;
    refused(
        &unsigned,
        "X-Notes-Signature",
        "has no X-Notes-Signature header",
    );
    let garbage = deliver(
        &sandbox,
        &url,
        b"not json",
        &[
            ("X-Notes-Timestamp", unix_now().to_string()),
            ("X-Notes-Signature", "sha256=00".into()),
        ],
    )
    .await;
    refused(&garbage, "X-Notes-Signature", "does not match");
    // Signed by the vendor, but an hour ago: a replay.
    let stale = deliver(
        &sandbox,
        &url,
        &fresh,
        &signed(WEBHOOK_SECRET, unix_now() - 3_600, &fresh),
    )
    .await;
    refused(&stale, "X-Notes-Timestamp", "replay");
    let nobody = deliver(
        &sandbox,
        &format!(
            "{}/elements/api-v2/instances/999999/events",
            sandbox.ferry()
        ),
        &fresh,
        &signed(WEBHOOK_SECRET, unix_now(), &fresh),
    )
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND, "{}", nobody.text);

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        sandbox.executions_of(flow_instance_id).await.len(),
        2,
        "no execution for a redelivery or a refused delivery"
    );
}
