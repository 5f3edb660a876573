//! What a client sees when something goes wrong with a Gmail call: its own mistakes stopped
//! before Gmail is called (400 naming the field, 404 for an id that cannot exist), and Gmail's
//! failures (injected into the emulator) retried with backoff that honours `Retry-After`, then
//! answered with the same error body whatever the operation.

use crate::support::{Reply, Sandbox};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::{Duration, Instant};

async fn connected() -> (Sandbox, String) {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("errors", &sandbox.account(0)).await;
    (sandbox, instance["token"].as_str().unwrap().to_owned())
}

async fn inject(sandbox: &Sandbox, fault: serde_json::Value) {
    let reply = sandbox
        .emulator_post(
            &format!("/_emulator/accounts/{}/faults", sandbox.account(0)),
            fault,
        )
        .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.text);
}

fn assert_error_body(reply: &Reply, code: &str) {
    for field in ["requestId", "message", "code"] {
        assert!(
            reply.body[field].is_string(),
            "no {field} in {}",
            reply.text
        );
    }
    assert_eq!(reply.body["code"], code, "{}", reply.text);
}

#[tokio::test]
async fn mistakes_are_stopped_before_gmail_and_named() {
    let (sandbox, token) = connected().await;
    let count = |mailbox: &Vec<serde_json::Value>| mailbox.len();
    let messages_before = count(&sandbox.mailbox(&sandbox.account(0)).await);

    let inbox = sandbox
        .hub(Method::GET, "/messages?labelIds=INBOX", &token, None)
        .await;
    let id = inbox.body[0]["id"].as_str().unwrap().to_owned();

    // An unknown label: 400 naming it, nothing changed.
    let unknown = sandbox
        .hub(
            Method::PATCH,
            &format!("/messages/{id}"),
            &token,
            Some(json!({"addLabelIds": ["STARRED", "Holidays 2031"]})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST, "{}", unknown.text);
    assert_error_body(&unknown, "invalid_input");
    assert_eq!(unknown.body["field"], "addLabelIds[1]");
    assert!(
        unknown.body["message"]
            .as_str()
            .unwrap()
            .contains("\"Holidays 2031\""),
        "{}",
        unknown.text
    );
    let unchanged = sandbox
        .hub(
            Method::GET,
            &format!("/messages/{id}?format=minimal"),
            &token,
            None,
        )
        .await;
    assert!(!unchanged.text.contains("STARRED"), "{}", unchanged.text);
    for path in [
        "/messages?labelIds=Nope",
        "/threads?labelIds=Nope",
        "/history?startHistoryId=1&labelId=Nope",
    ] {
        let reply = sandbox.hub(Method::GET, path, &token, None).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{path}: {}",
            reply.text
        );
        assert!(
            reply.body["message"].as_str().unwrap().contains("\"Nope\""),
            "{}",
            reply.text
        );
    }

    // An id that cannot be a Gmail id names nothing: 404, for every operation that takes one.
    for (method, path) in [
        (Method::GET, "/messages/not-an-id"),
        (Method::GET, "/messages/not-an-id/readable"),
        (Method::DELETE, "/messages/zzz"),
        (Method::POST, "/messages/zzz/trash"),
        (Method::GET, "/threads/zzz"),
        (Method::GET, "/labels/no%20such%20label"),
    ] {
        let reply = sandbox.hub(method.clone(), path, &token, None).await;
        assert_eq!(
            reply.status,
            StatusCode::NOT_FOUND,
            "{method} {path}: {}",
            reply.text
        );
        assert_error_body(&reply, "not_found");
    }
    // A well-formed id Gmail does not know is Gmail's 404, with Gmail's words.
    let unknown_id = sandbox
        .hub(Method::GET, "/threads/0123456789abcdef", &token, None)
        .await;
    assert_eq!(unknown_id.status, StatusCode::NOT_FOUND);
    assert_error_body(&unknown_id, "provider_error");
    assert!(unknown_id.body["providerMessage"].is_string());

    // A where that is not q='…' says how to write it.
    for bad in [
        "subject:invoice",
        "q=subject:invoice",
        "q='open",
        "subject='x'",
    ] {
        let path = format!("/messages?where={}", crate::gmail_suite::urlencode(bad));
        let reply = sandbox.hub(Method::GET, &path, &token, None).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            reply.text
        );
        assert_eq!(reply.body["field"], "where");
        assert!(
            reply.body["message"].as_str().unwrap().contains("q='"),
            "{bad}: {}",
            reply.text
        );
    }

    // Bodies are checked against the operation's schema, field by field.
    for (method, path, body, field) in [
        (
            Method::PATCH,
            "/messages/multiple",
            json!({"addLabelIds": ["STARRED"]}),
            "ids",
        ),
        (
            Method::PATCH,
            "/messages/multiple",
            json!({"ids": ["xyz"]}),
            "ids[0]",
        ),
        (
            Method::DELETE,
            "/messages/multiple",
            json!({"ids": []}),
            "ids",
        ),
        (Method::POST, "/labels", json!({"nmae": "typo"}), "nmae"),
        (
            Method::POST,
            "/labels",
            json!({"name": "x", "messageListVisibility": "sometimes"}),
            "messageListVisibility",
        ),
        (
            Method::POST,
            "/messages",
            json!({"to": "a@example.com", "subjet": "typo"}),
            "subjet",
        ),
        (Method::POST, "/messages", json!({"to": 42}), "to"),
        (
            Method::POST,
            "/messages/import",
            json!({"to": "a@example.com", "labelIds": ["Nope"]}),
            "labelIds[0]",
        ),
    ] {
        let reply = sandbox
            .hub(method.clone(), path, &token, Some(body.clone()))
            .await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {path} {body}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["field"], field,
            "{method} {path} {body}: {}",
            reply.text
        );
    }
    let no_start = sandbox.hub(Method::GET, "/history", &token, None).await;
    assert_eq!(
        no_start.body["field"], "startHistoryId",
        "{}",
        no_start.text
    );

    assert_eq!(
        count(&sandbox.mailbox(&sandbox.account(0)).await),
        messages_before
    );
}

#[tokio::test]
async fn rate_limits_and_outages_are_retried_honouring_retry_after() {
    let (sandbox, token) = connected().await;

    // Two 429s asking for 1 s each, then Gmail answers: the caller just sees a slower 200.
    inject(
        &sandbox,
        json!({"status": 429, "retry_after_secs": 1, "times": 2}),
    )
    .await;
    let started = Instant::now();
    let list = sandbox.hub(Method::GET, "/messages", &token, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "Retry-After was not honoured: {:?}",
        started.elapsed()
    );

    // A 503 is retried even for a send: Gmail did not act, so the mail goes out exactly once.
    inject(&sandbox, json!({"status": 503, "times": 1})).await;
    let sent = sandbox
        .hub(
            Method::POST,
            "/messages",
            &token,
            Some(json!({"to": sandbox.account(1), "subject": "after an outage", "data": "x"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let copies = sandbox
        .mailbox(&sandbox.account(1))
        .await
        .into_iter()
        .filter(|m| m["subject"] == "after an outage")
        .count();
    assert_eq!(copies, 1);

    // A 500 on a send may have acted: not repeated, surfaced as 502 with Gmail's words.
    inject(&sandbox, json!({"status": 500, "times": 1})).await;
    let failed = sandbox
        .hub(
            Method::POST,
            "/messages",
            &token,
            Some(json!({"to": sandbox.account(1), "subject": "maybe", "data": "x"})),
        )
        .await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text);
    assert_error_body(&failed, "provider_error");
    assert_eq!(failed.body["providerMessage"], "Backend Error");

    // Gmail keeps refusing: after the retries the 429 reaches the caller with Retry-After.
    inject(
        &sandbox,
        json!({"status": 429, "retry_after_secs": 1, "times": 5}),
    )
    .await;
    let limited = sandbox.hub(Method::GET, "/labels", &token, None).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    assert_error_body(&limited, "provider_error");
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert!(
        limited.body["message"]
            .as_str()
            .unwrap()
            .contains("rate limit")
    );
    let cleared = reqwest::Client::new()
        .delete(format!(
            "{}/_emulator/accounts/{}/faults",
            sandbox.emulator(),
            sandbox.account(0)
        ))
        .send()
        .await
        .unwrap();
    assert!(cleared.status().is_success());

    // Gmail's 403 userRateLimitExceeded says "too fast" too: retried like a 429.
    inject(&sandbox, json!({"status": 403, "times": 2})).await;
    let after_403 = sandbox.hub(Method::GET, "/profile", &token, None).await;
    assert_eq!(after_403.status, StatusCode::OK, "{}", after_403.text);

    // A slow Gmail is waited for.
    inject(&sandbox, json!({"delay_ms": 300, "times": 1})).await;
    let slow = sandbox.hub(Method::GET, "/profile", &token, None).await;
    assert_eq!(slow.status, StatusCode::OK, "{}", slow.text);
}
