//! API proxies: an instance's API published at `/proxies/{basePath}` to applications that hold
//! only an API key — keys, exposed operations, scopes, rate limits, quotas, CORS, usage figures
//! and the proxy's own OpenAPI document.

use crate::support::{Reply, Sandbox, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

impl Sandbox {
    async fn proxied(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .http
            .request(method, format!("{}/proxies{path}", self.ferry()));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        reply(request.send().await.unwrap()).await
    }

    async fn publish(&self, body: Value) -> Value {
        let published = self.api(Method::POST, "/proxies", Some(body)).await;
        assert_eq!(published.status, StatusCode::CREATED, "{}", published.text);
        published.body
    }

    async fn issue_key(&self, proxy: &Value, body: Value) -> Value {
        let issued = self
            .api(
                Method::POST,
                &format!("/proxies/{}/keys", proxy["id"]),
                Some(body),
            )
            .await;
        assert_eq!(issued.status, StatusCode::CREATED, "{}", issued.text);
        issued.body
    }

    /// Waits until the proxy's usage shows `calls` calls (records are written in the background).
    async fn usage(&self, proxy: &Value, group_by: &str, calls: i64) -> Value {
        let started = Instant::now();
        loop {
            let usage = self
                .api(
                    Method::GET,
                    &format!("/proxies/{}/usage?groupBy={group_by}", proxy["id"]),
                    None,
                )
                .await;
            assert_eq!(usage.status, StatusCode::OK, "{}", usage.text);
            if usage.body["totalCalls"].as_i64() == Some(calls) {
                return usage.body;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "usage never reached {calls} calls: {}",
                usage.text
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn calls_by_group(usage: &Value) -> Vec<(String, i64)> {
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for point in usage["points"].as_array().unwrap() {
        *totals
            .entry(point["group"].as_str().unwrap().to_owned())
            .or_default() += point["calls"].as_i64().unwrap();
    }
    totals.into_iter().collect()
}

/// The error body without the per-request id.
fn error_without_request_id(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    body.as_object_mut().unwrap().remove("requestId");
    body
}

#[tokio::test]
async fn an_app_with_an_api_key_reads_and_sends_mail_and_sees_nothing_else() {
    let sandbox = Sandbox::start().await;
    let account = sandbox.account(0);
    let instance = sandbox.connect_gmail("Published mail", &account).await;
    let token = instance["token"].as_str().unwrap();
    let proxy = sandbox
        .publish(json!({
            "name": "Mail for the mobile app",
            "basePath": "mobile-mail",
            "instanceId": instance["id"],
            "operations": ["listMessages", "getMessage", "sendMessage"],
            "maxRequestBytes": 4096
        }))
        .await;
    assert_eq!(proxy["url"], "/proxies/mobile-mail");
    assert_eq!(proxy["rateLimit"], json!({"requests": 10, "seconds": 1}));

    let issued = sandbox.issue_key(&proxy, json!({"name": "iOS app"})).await;
    let key = issued["key"].as_str().unwrap().to_owned();
    assert!(key.starts_with("fpk_") && key.len() > 40, "{key}");
    assert!(key.starts_with(issued["prefix"].as_str().unwrap()));
    let listed = sandbox
        .api(Method::GET, &format!("/proxies/{}/keys", proxy["id"]), None)
        .await;
    assert!(!listed.text.contains(&key), "the key is shown only once");
    assert_eq!(listed.body[0]["status"], "active");

    // Reading the mailbox with the key, as a header or as a bearer token.
    let listed = sandbox
        .proxied(
            Method::GET,
            "/mobile-mail/messages",
            &[("X-API-Key", &key)],
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let first = listed.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(listed.header("ratelimit-limit"), Some("10"));
    assert_eq!(listed.header("ratelimit-remaining"), Some("9"));
    assert_eq!(listed.header("ratelimit-policy"), Some("10;w=1"));
    assert!(listed.header("ratelimit-reset").is_some());
    assert!(
        listed.header("elements-element-instance-id").is_none(),
        "the instance stays hidden"
    );
    assert!(!listed.text.contains(token));
    let bearer = format!("Bearer {key}");
    let one = sandbox
        .proxied(
            Method::GET,
            &format!("/mobile-mail/messages/{first}"),
            &[("Authorization", &bearer)],
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["id"], first.as_str());

    // Sending through the proxy really sends.
    let before = sandbox.mailbox(&account).await.len();
    let sent = sandbox
        .proxied(
            Method::POST,
            "/mobile-mail/messages",
            &[("X-API-Key", &key)],
            Some(json!({
                "to": "grace@example.com",
                "subject": "Sent through a proxy",
                "data": "Hello from the mobile app"
            })),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert_eq!(sandbox.mailbox(&account).await.len(), before + 1);

    // Labels are the instance's, but this proxy does not expose them; unknown paths neither.
    let labels = sandbox
        .proxied(
            Method::GET,
            "/mobile-mail/labels",
            &[("X-API-Key", &key)],
            None,
        )
        .await;
    assert_eq!(labels.status, StatusCode::NOT_FOUND, "{}", labels.text);
    let nowhere = sandbox
        .proxied(
            Method::GET,
            "/mobile-mail/no/such/thing",
            &[("X-API-Key", &key)],
            None,
        )
        .await;
    assert_eq!(nowhere.status, StatusCode::NOT_FOUND);
    let other_proxy = sandbox
        .proxied(
            Method::GET,
            "/no-such-proxy/messages",
            &[("X-API-Key", &key)],
            None,
        )
        .await;
    assert_eq!(other_proxy.status, StatusCode::NOT_FOUND);

    // A read-only key may not send.
    let reader = sandbox
        .issue_key(
            &proxy,
            json!({"name": "dashboard", "scopes": {"methods": ["GET"]}}),
        )
        .await;
    let refused = sandbox
        .proxied(
            Method::POST,
            "/mobile-mail/messages",
            &[("X-API-Key", reader["key"].as_str().unwrap())],
            Some(json!({"to": "grace@example.com", "subject": "no", "data": "no"})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    assert!(sandbox.mailbox(&account).await.len() == before + 1);

    // Too large a body for this proxy.
    let large = sandbox
        .proxied(
            Method::POST,
            "/mobile-mail/messages",
            &[("X-API-Key", &key)],
            Some(json!({"to": "grace@example.com", "subject": "big", "data": "x".repeat(8192)})),
        )
        .await;
    assert_eq!(
        large.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        large.text
    );

    // Seven calls of this proxy: 200 ×3, 404 ×2, 403, 413 (the call to no proxy is nobody's).
    let usage = sandbox.usage(&proxy, "status", 7).await;
    assert_eq!(
        calls_by_group(&usage),
        vec![
            ("200".to_owned(), 3),
            ("403".to_owned(), 1),
            ("404".to_owned(), 2),
            ("413".to_owned(), 1)
        ]
    );
    let by_key = sandbox.usage(&proxy, "key", 7).await;
    assert_eq!(
        calls_by_group(&by_key),
        vec![(issued["id"].to_string(), 6), (reader["id"].to_string(), 1)]
    );
    let csv = sandbox
        .http
        .get(format!(
            "{}/elements/api-v2/proxies/{}/calls",
            sandbox.ferry(),
            proxy["id"]
        ))
        .header("Authorization", sandbox.auth())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(
        csv.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "time,keyId,method,operation,status,latencyMs,requestBytes,responseBytes"
    );
    assert_eq!(lines.len(), 8, "{csv}");
    assert!(
        lines[1].contains(&format!(",{},GET,listMessages,200,", issued["id"])),
        "{csv}"
    );
    assert!(!csv.contains(&key) && !csv.contains(&issued["prefix"].as_str().unwrap()[4..]));
}

#[tokio::test]
async fn a_missing_wrong_revoked_or_expired_key_gets_the_same_401() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Keyed mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .publish(json!({"name": "Keys", "basePath": "keys", "instanceId": instance["id"]}))
        .await;
    let revoked = sandbox.issue_key(&proxy, json!({"name": "old app"})).await;
    let gone = sandbox
        .api(
            Method::DELETE,
            &format!("/proxies/{}/keys/{}", proxy["id"], revoked["id"]),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::OK, "{}", gone.text);
    assert_eq!(gone.body["status"], "revoked");
    let expires_at = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let expiring = sandbox
        .issue_key(&proxy, json!({"name": "trial", "expiresAt": expires_at}))
        .await;
    let expiring_key = expiring["key"].as_str().unwrap();
    let works = sandbox
        .proxied(
            Method::GET,
            "/keys/messages",
            &[("X-API-Key", expiring_key)],
            None,
        )
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let missing = sandbox
        .proxied(Method::GET, "/keys/messages", &[], None)
        .await;
    let wrong = sandbox
        .proxied(
            Method::GET,
            "/keys/messages",
            &[("X-API-Key", "fpk_not-a-key-ferry-issued")],
            None,
        )
        .await;
    let revoked = sandbox
        .proxied(
            Method::GET,
            "/keys/messages",
            &[("X-API-Key", revoked["key"].as_str().unwrap())],
            None,
        )
        .await;
    let expired = sandbox
        .proxied(
            Method::GET,
            "/keys/messages",
            &[("X-API-Key", expiring_key)],
            None,
        )
        .await;
    for (what, answer) in [
        ("missing", &missing),
        ("wrong", &wrong),
        ("revoked", &revoked),
        ("expired", &expired),
    ] {
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{what}: {}",
            answer.text
        );
        assert_eq!(
            error_without_request_id(answer),
            error_without_request_id(&missing),
            "{what}"
        );
    }
    assert_eq!(missing.body["code"], "unauthenticated");
    let keys = sandbox
        .api(Method::GET, &format!("/proxies/{}/keys", proxy["id"]), None)
        .await;
    let statuses: Vec<&str> = keys
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["revoked", "expired"]);
}

#[tokio::test]
async fn rate_limits_and_daily_quotas_answer_429_with_when_to_come_back() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Limited mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .publish(json!({
            "name": "Limited",
            "basePath": "limited",
            "instanceId": instance["id"],
            "rateLimit": {"requests": 3, "seconds": 60}
        }))
        .await;
    let key = sandbox.issue_key(&proxy, json!({"name": "busy app"})).await;
    let key = key["key"].as_str().unwrap();
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let answer = sandbox
            .proxied(Method::GET, "/limited/labels", &[("X-API-Key", key)], None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        remaining.push(answer.header("ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(remaining, vec!["2", "1", "0"]);
    let limited = sandbox
        .proxied(Method::GET, "/limited/labels", &[("X-API-Key", key)], None)
        .await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.text
    );
    // One token comes back every 20 s.
    let retry_after: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(limited.header("ratelimit-remaining"), Some("0"));
    assert_eq!(limited.header("ratelimit-limit"), Some("3"));

    // A key of its own with a daily quota of two calls.
    let quota_key = sandbox
        .issue_key(
            &proxy,
            json!({"name": "trial", "dailyQuota": 2, "rateLimit": {"requests": 100, "seconds": 1}}),
        )
        .await;
    let quota_key = quota_key["key"].as_str().unwrap();
    for _ in 0..2 {
        let answer = sandbox
            .proxied(
                Method::GET,
                "/limited/labels",
                &[("X-API-Key", quota_key)],
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let over = sandbox
        .proxied(
            Method::GET,
            "/limited/labels",
            &[("X-API-Key", quota_key)],
            None,
        )
        .await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(over.body["message"].as_str().unwrap().contains("today"));
    let retry_after: u64 = over.header("retry-after").unwrap().parse().unwrap();
    let now = chrono::Utc::now();
    let midnight = (now.date_naive() + chrono::Days::new(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    let until_midnight = (midnight - now).num_seconds() as u64;
    assert!(
        retry_after.abs_diff(until_midnight) <= 2,
        "{retry_after} vs {until_midnight}"
    );
}

#[tokio::test]
async fn browsers_may_call_from_the_listed_origins_only() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Browser mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .publish(json!({
            "name": "Web",
            "basePath": "web",
            "instanceId": instance["id"],
            "corsOrigins": ["https://app.example"]
        }))
        .await;
    let key = sandbox.issue_key(&proxy, json!({"name": "web app"})).await;
    let preflight = |origin: &'static str| {
        sandbox
            .http
            .request(
                Method::OPTIONS,
                format!("{}/proxies/web/messages", sandbox.ferry()),
            )
            .header("Origin", origin)
            .header("Access-Control-Request-Method", "GET")
            .header("Access-Control-Request-Headers", "x-api-key")
            .send()
    };
    let allowed = preflight("https://app.example").await.unwrap();
    assert_eq!(allowed.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://app.example"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-headers"],
        "x-api-key"
    );
    let other = preflight("https://evil.example").await.unwrap();
    assert_eq!(other.status(), StatusCode::FORBIDDEN);
    assert!(other.headers().get("access-control-allow-origin").is_none());

    let call = sandbox
        .proxied(
            Method::GET,
            "/web/messages",
            &[
                ("X-API-Key", key["key"].as_str().unwrap()),
                ("Origin", "https://app.example"),
            ],
            None,
        )
        .await;
    assert_eq!(call.status, StatusCode::OK);
    assert_eq!(
        call.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(
        call.header("access-control-expose-headers")
            .unwrap()
            .contains("RateLimit-Remaining")
    );
    // The platform's own CORS (any origin) does not leak into proxies.
    let foreign = sandbox
        .proxied(
            Method::GET,
            "/web/messages",
            &[
                ("X-API-Key", key["key"].as_str().unwrap()),
                ("Origin", "https://evil.example"),
            ],
            None,
        )
        .await;
    assert!(foreign.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn publishing_checks_every_field_and_the_document_shows_what_is_exposed() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Documented mail", &sandbox.account(0))
        .await;
    let id = &instance["id"];
    for (body, field) in [
        (
            json!({"name": "x", "basePath": "Bad Path", "instanceId": id}),
            "basePath",
        ),
        (
            json!({"name": "x", "basePath": "ok", "instanceId": 987654}),
            "instanceId",
        ),
        (
            json!({"name": "x", "basePath": "ok", "instanceId": id, "operations": ["listMessages", "launchRockets"]}),
            "operations[1]",
        ),
        (
            json!({"name": "x", "basePath": "ok", "instanceId": id, "corsOrigins": ["https://a.example/path"]}),
            "corsOrigins[0]",
        ),
        (
            json!({"name": "x", "basePath": "ok", "instanceId": id, "rateLimit": {"requests": 0, "seconds": 1}}),
            "rateLimit.requests",
        ),
        (
            json!({"name": "x", "basePath": "ok", "instanceId": id, "maxRequestBytes": 0}),
            "maxRequestBytes",
        ),
        (json!({"basePath": "ok", "instanceId": id}), "name"),
    ] {
        let refused = sandbox.api(Method::POST, "/proxies", Some(body)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
        assert_eq!(refused.body["field"], field, "{}", refused.text);
    }
    let unknown = sandbox
        .api(
            Method::POST,
            "/proxies",
            Some(json!({"name": "x", "basePath": "ok", "instanceId": id, "ratelimit": 5})),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert!(unknown.text.contains("ratelimit"), "{}", unknown.text);

    let proxy = sandbox
        .publish(json!({
            "name": "Read-only mail",
            "basePath": "read-mail",
            "instanceId": id,
            "operations": ["listMessages", "getMessage"]
        }))
        .await;
    let taken = sandbox
        .api(
            Method::POST,
            "/proxies",
            Some(json!({"name": "again", "basePath": "read-mail", "instanceId": id})),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);

    let document = sandbox
        .api(Method::GET, &format!("/proxies/{}/docs", proxy["id"]), None)
        .await;
    assert_eq!(document.status, StatusCode::OK);
    let document = document.body;
    assert_eq!(document["servers"][0]["url"], "/proxies/read-mail");
    let mut operations: Vec<(String, String)> = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((
                format!("{} {path}", method.to_uppercase()),
                operation["operationId"].as_str().unwrap().to_owned(),
            ));
        }
    }
    operations.sort();
    assert_eq!(
        operations,
        vec![
            ("GET /messages".to_owned(), "listMessages".to_owned()),
            ("GET /messages/{id}".to_owned(), "getMessage".to_owned())
        ]
    );
    assert_eq!(
        document["components"]["securitySchemes"]["apiKey"],
        json!({"type": "apiKey", "in": "header", "name": "X-API-Key", "description": "The API key the proxy's owner gave your application."})
    );
    assert!(
        !document
            .to_string()
            .contains("Organization <organization secret>")
    );

    // Unpublished: calls get 404, keys stay; deleted: the base path is free again.
    let key = sandbox.issue_key(&proxy, json!({"name": "reader"})).await;
    let paused = sandbox
        .api(
            Method::PATCH,
            &format!("/proxies/{}", proxy["id"]),
            Some(json!({"published": false})),
        )
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    assert_eq!(
        paused.body["operations"],
        json!(["listMessages", "getMessage"])
    );
    let call = sandbox
        .proxied(
            Method::GET,
            "/read-mail/messages",
            &[("X-API-Key", key["key"].as_str().unwrap())],
            None,
        )
        .await;
    assert_eq!(call.status, StatusCode::NOT_FOUND);
    let deleted = sandbox
        .api(Method::DELETE, &format!("/proxies/{}", proxy["id"]), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    sandbox
        .publish(json!({"name": "again", "basePath": "read-mail", "instanceId": id}))
        .await;
}

#[tokio::test]
async fn keys_reach_neither_the_log_nor_the_database() {
    let sandbox = Sandbox::start_logging(tempfile::tempdir().unwrap(), &[], Some("debug")).await;
    let instance = sandbox
        .connect_gmail("Quiet mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .publish(json!({"name": "Quiet", "basePath": "quiet", "instanceId": instance["id"]}))
        .await;
    let issued = sandbox.issue_key(&proxy, json!({"name": "app"})).await;
    let key = issued["key"].as_str().unwrap();
    let bearer = format!("Bearer {key}");
    for headers in [
        vec![("X-API-Key", key)],
        vec![("Authorization", bearer.as_str())],
        vec![("X-API-Key", "fpk_a-wrong-key-someone-guessed")],
    ] {
        sandbox
            .proxied(Method::GET, "/quiet/messages", &headers, None)
            .await;
    }
    sandbox.usage(&proxy, "key", 3).await;
    let log = sandbox.log_text();
    assert!(log.lines().count() > 10, "debug logging is on:\n{log}");
    let secret_part = &key[12..];
    assert!(!log.contains(secret_part), "the key is in the log");
    assert!(!log.contains("a-wrong-key-someone-guessed"));
    let database = std::fs::read(sandbox.database()).unwrap();
    let wal = std::fs::read(sandbox.dir.path().join("ferry.db-wal")).unwrap_or_default();
    for bytes in [&database, &wal] {
        assert!(
            !bytes
                .windows(secret_part.len())
                .any(|w| w == secret_part.as_bytes()),
            "the key is stored in clear"
        );
    }
}

#[tokio::test]
async fn a_daily_quota_is_still_spent_after_a_restart() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Restarted mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .publish(json!({
            "name": "Quota",
            "basePath": "quota",
            "instanceId": instance["id"],
            "dailyQuota": 2
        }))
        .await;
    let key = sandbox.issue_key(&proxy, json!({"name": "app"})).await;
    let key = key["key"].as_str().unwrap().to_owned();
    for _ in 0..2 {
        let answer = sandbox
            .proxied(Method::GET, "/quota/labels", &[("X-API-Key", &key)], None)
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    let dir = sandbox.stop();
    let sandbox = Sandbox::start_in(dir, &[]).await;
    let third = sandbox
        .proxied(Method::GET, "/quota/labels", &[("X-API-Key", &key)], None)
        .await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.text
    );
    assert!(
        third.body["message"]
            .as_str()
            .unwrap()
            .contains("2 calls for today")
    );
}
