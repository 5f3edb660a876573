//! Flows end to end: the seed's flow, triggers, save-time validation, execution control.

use crate::flow_support::{seed_flow, step, values};
use crate::notes_service::{CLIENT_ID, CLIENT_SECRET, start_service};
use crate::support::{Sandbox, base64url, mimecheck, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

const FLOW_FLAGS: [&str; 6] = [
    "--event-poll-seconds",
    "0.3",
    "--script-timeout-seconds",
    "2",
    "--retry-base-seconds",
    "0.05",
];

#[tokio::test]
async fn the_seed_flow_sends_the_email_from_a_manual_trigger() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let grace = sandbox.account(1);
    let gmail = sandbox
        .connect_gmail("flow mail", &sandbox.account(0))
        .await;
    let flow = sandbox.create_flow(seed_flow(&grace)).await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let execution_id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({"customer": 42}))
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    let steps = execution["stepExecutions"].as_array().unwrap();
    assert_eq!(steps.len(), 3, "trigger + 2 steps: {execution}");
    let values = values(&execution);
    assert_eq!(values["trigger.args"], "{\"customer\":42}");
    assert_eq!(values["prepareSendEmailToCustomer.url"], "/messages");
    assert!(values["prepareSendEmailToCustomer.form"].contains("Integration Builder is cool!"));
    assert_eq!(values["sendEmailToCustomer.response.code"], "200");
    let sent = &step(&execution, "sendEmailToCustomer")["output"]["response"]["body"];
    assert!(sent["id"].is_string(), "{sent}");

    let inbox = sandbox.mailbox(&grace).await;
    let arrived: Vec<&Value> = inbox
        .iter()
        .filter(|m| m["subject"] == "Integration Builder Gmail Connector")
        .collect();
    assert_eq!(arrived.len(), 1, "the email arrives once");
    let raw = base64url(arrived[0]["raw"].as_str().unwrap());
    assert!(String::from_utf8_lossy(&raw).contains("Integration Builder is cool! Try it out!"));
    mimecheck(&[raw]);
}

#[tokio::test]
async fn a_flow_pages_through_a_list_with_the_next_page_token_of_its_reply() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let gmail = sandbox
        .connect_gmail("paged mail", &sandbox.account(0))
        .await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Two pages",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "manual", "onSuccess": ["first"]}],
            "steps": [
                {"name": "first", "type": "elementRequest", "onSuccess": ["second"], "properties": {
                    "elementInstanceId": "${config.gmail}", "method": "GET", "api": "/messages",
                    "query": {"pageSize": 1}
                }},
                {"name": "second", "type": "elementRequest", "properties": {
                    "elementInstanceId": "${config.gmail}", "method": "GET", "api": "/messages",
                    "query": {"pageSize": 1, "nextPage": "${steps.first.response.headers.elements-next-page-token}"}
                }}
            ]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let execution_id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    let first = &step(&execution, "first")["output"]["response"];
    let second = &step(&execution, "second")["output"]["response"];
    let token = first["headers"]["elements-next-page-token"].as_str();
    assert!(token.is_some_and(|t| !t.is_empty()), "{first}");
    let (one, two) = (&first["body"][0]["id"], &second["body"][0]["id"]);
    assert!(one.is_string() && two.is_string(), "{first} {second}");
    assert_ne!(one, two, "the second step read the next page");
}

#[tokio::test]
async fn an_event_triggered_flow_runs_once_per_new_message() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let ada = sandbox.account(0);
    let gmail = sandbox.connect_gmail("events", &ada).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "On new mail",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "event", "properties": {"elementInstanceId": "${config.gmail}"}, "onSuccess": ["note"]}],
            "steps": [{"name": "note", "type": "script", "properties": {"body": "done({id: trigger.event.objectId, kind: trigger.event.eventType});"}}]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let instance_id = instance["id"].as_i64().unwrap();
    let mut delivered = Vec::new();
    for subject in ["first", "second", "third"] {
        delivered.push(sandbox.deliver(&ada, subject).await);
    }
    let executions = sandbox.wait_for_executions(instance_id, 3).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let executions_later = sandbox.executions_of(instance_id).await;
    assert_eq!(
        executions_later.len(),
        3,
        "exactly one execution per message: {executions_later:?}"
    );
    let mut seen: Vec<String> = Vec::new();
    for summary in &executions {
        let execution = sandbox
            .finished_execution(summary["id"].as_i64().unwrap())
            .await;
        assert_eq!(execution["status"], "success");
        let note = &step(&execution, "note")["output"];
        assert_eq!(note["kind"], "CREATED");
        seen.push(note["id"].as_str().unwrap().to_owned());
        assert_eq!(execution["objectId"], note["id"]);
    }
    seen.sort();
    delivered.sort();
    assert_eq!(seen, delivered);
}

#[tokio::test]
async fn a_call_to_the_instance_api_starts_an_element_request_flow() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let gmail = sandbox.connect_gmail("requests", &sandbox.account(0)).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "After a send",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "elementRequest", "properties": {"elementInstanceId": "${config.gmail}", "method": "POST", "api": "/hubs/general/messages"}, "onSuccess": ["seen"]}],
            "steps": [{"name": "seen", "type": "script", "properties": {"body": "done({subject: trigger.request.body.subject, code: trigger.response.code, id: trigger.response.body.id});"}}]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let list_flow = sandbox
        .create_flow(json!({
            "name": "After a list",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "elementRequest", "properties": {"elementInstanceId": "${config.gmail}", "method": "GET", "api": "/messages"}, "onSuccess": ["seen"]}],
            "steps": [{"name": "seen", "type": "script", "properties": {"body": "done({request: trigger.request.headers, response: trigger.response.headers});"}}]
        }))
        .await;
    let list_instance = sandbox
        .create_flow_instance(list_flow, json!({"gmail": gmail["id"]}))
        .await;
    let token = gmail["token"].as_str().unwrap();
    let sent = sandbox
        .hub(
            Method::POST,
            "/messages",
            token,
            Some(json!({"to": sandbox.account(1), "subject": "watched", "data": "x"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let listed = sandbox
        .hub(Method::GET, "/messages?pageSize=1", token, None)
        .await;
    assert_eq!(listed.status, StatusCode::OK);
    let executions = sandbox
        .wait_for_executions(instance["id"].as_i64().unwrap(), 1)
        .await;
    assert_eq!(executions.len(), 1, "only the POST /messages call triggers");
    let execution = sandbox
        .finished_execution(executions[0]["id"].as_i64().unwrap())
        .await;
    let seen = &step(&execution, "seen")["output"];
    assert_eq!(seen["subject"], "watched");
    assert_eq!(seen["code"], 200);
    assert_eq!(seen["id"], sent.body["id"]);

    // The list's trigger sees the headers ferry answered with, and none of the caller's: Gmail
    // declares no header parameters, and the Element token is ferry's own.
    let executions = sandbox
        .wait_for_executions(list_instance["id"].as_i64().unwrap(), 1)
        .await;
    let execution = sandbox
        .finished_execution(executions[0]["id"].as_i64().unwrap())
        .await;
    let seen = &step(&execution, "seen")["output"];
    let page_token = listed.header("elements-next-page-token").unwrap();
    assert_eq!(
        seen["response"],
        json!({"content-type": "application/json", "elements-next-page-token": page_token}),
        "{seen}"
    );
    assert_eq!(seen["request"], json!({}), "{seen}");
}

/// Calls through an API proxy start elementRequest flows as hub calls do; a HEAD, which runs the
/// GET operation for its status and headers only, starts none.
#[tokio::test]
async fn a_proxied_get_starts_an_element_request_flow_and_a_proxied_head_does_not() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let gmail = sandbox
        .connect_gmail("published", &sandbox.account(0))
        .await;
    let flow = sandbox
        .create_flow(json!({
            "name": "After a proxied list",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "elementRequest", "properties": {"elementInstanceId": "${config.gmail}", "method": "GET", "api": "/messages"}, "onSuccess": ["seen"]}],
            "steps": [{"name": "seen", "type": "script", "properties": {"body": "done({code: trigger.response.code});"}}]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let flow_instance = instance["id"].as_i64().unwrap();
    let proxy = sandbox
        .api(
            Method::POST,
            "/proxies",
            Some(json!({"name": "Mail", "basePath": "watched-mail", "instanceId": gmail["id"], "operations": ["listMessages"]})),
        )
        .await;
    assert_eq!(proxy.status, StatusCode::CREATED, "{}", proxy.text);
    let key = sandbox
        .api(
            Method::POST,
            &format!("/proxies/{}/keys", proxy.body["id"]),
            Some(json!({"name": "app"})),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.text);
    let key = key.body["key"].as_str().unwrap().to_owned();
    let proxied = |method: Method| {
        sandbox
            .http
            .request(
                method,
                format!("{}/proxies/watched-mail/messages", sandbox.ferry()),
            )
            .header("X-API-Key", &key)
            .send()
    };

    let head = proxied(Method::HEAD).await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    // Anything a HEAD started would be queued by now, as the GET's execution below is.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        sandbox.executions_of(flow_instance).await.len(),
        0,
        "a HEAD starts no flow"
    );

    let get = proxied(Method::GET).await.unwrap();
    assert_eq!(get.status(), StatusCode::OK);
    let executions = sandbox.wait_for_executions(flow_instance, 1).await;
    assert_eq!(executions.len(), 1);
    let execution = sandbox
        .finished_execution(executions[0]["id"].as_i64().unwrap())
        .await;
    assert_eq!(step(&execution, "seen")["output"], json!({"code": 200}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        sandbox.executions_of(flow_instance).await.len(),
        1,
        "the HEAD before it started nothing late either"
    );
}

#[tokio::test]
async fn an_element_request_trigger_records_the_declared_headers_the_call_passed() {
    // Story: Cloud Elements gave elementRequest-triggered formulas `trigger.request.headers` and
    // `trigger.response.headers`; ferry recorded neither, and it saved triggers on HEAD, which
    // start nothing.
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let created = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(json!({
                "key": "echo", "name": "Echo", "description": "d", "hub": "general",
                "base_url": format!("{origin}/v1"),
                "auth": {"type": "oauth2", "grant": "client_credentials", "token_url": format!("{origin}/oauth/token")},
                "configuration": [
                    {"key": "oauth.api.key", "name": "Client id", "required": true},
                    {"key": "oauth.api.secret", "name": "Client secret", "kind": "password", "required": true}
                ],
                "resources": [{
                    "operation": "echo", "method": "GET", "path": "/echo", "summary": "What the service received",
                    "parameters": [
                        {"name": "X-Request-Tag", "in": "header", "required": true},
                        {"name": "X-Locale", "in": "header", "vendor": "Accept-Language"},
                        {"name": "X-Api-Version", "in": "header", "default": "2024-01"},
                        {"name": "X-Session-Token", "in": "header"}
                    ],
                    "vendor": {"method": "GET", "path": "/echo"}
                }]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let instance = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({"element": {"key": "echo"}, "name": "Echo",
                "configuration": {"oauth.api.key": CLIENT_ID, "oauth.api.secret": CLIENT_SECRET}})),
        )
        .await;
    assert!(instance.status.is_success(), "{}", instance.text);
    let token = instance.body["token"].as_str().unwrap().to_owned();

    let on_head = json!({
        "name": "After a peek",
        "configuration": [{"key": "echo", "type": "elementInstance"}],
        "triggers": [{"type": "elementRequest", "name": "peeked", "properties": {"elementInstanceId": "${config.echo}", "method": "HEAD", "api": "/echo"}, "onSuccess": ["seen"]}],
        "steps": [{"name": "seen", "type": "script", "properties": {"body": "done({request: trigger.request, response: trigger.response});"}}]
    });
    let refused = sandbox
        .api(Method::POST, "/formulas", Some(on_head.clone()))
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    let problem = refused.body["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["step"] == "peeked" && p["property"] == "method")
        .unwrap_or_else(|| panic!("{}", refused.text));
    assert!(
        problem["message"].as_str().unwrap().contains("use GET"),
        "{problem}"
    );

    let mut on_get = on_head;
    on_get["triggers"][0]["properties"]["method"] = json!("GET");
    let flow = sandbox.create_flow(on_get).await;
    let flow_instance = sandbox
        .create_flow_instance(flow, json!({"echo": instance.body["id"]}))
        .await;
    let echoed = reply(
        sandbox
            .http
            .get(format!(
                "{}/elements/api-v2/hubs/general/echo",
                sandbox.ferry()
            ))
            .header("Authorization", sandbox.element_auth(&token))
            .header("Cookie", "session=ferrys")
            .header("x-request-tag", "watched")
            .header("X-LOCALE", "fr")
            .header("X-Session-Token", "s3cret")
            .header("X-Other", "not declared")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(echoed.status, StatusCode::OK, "{}", echoed.text);
    let (_, received) = service.lock().unwrap().echoed.last().cloned().unwrap();
    assert_eq!(received["x-session-token"], "s3cret", "the vendor gets it");

    let executions = sandbox
        .wait_for_executions(flow_instance["id"].as_i64().unwrap(), 1)
        .await;
    let execution = sandbox
        .finished_execution(executions[0]["id"].as_i64().unwrap())
        .await;
    assert_eq!(execution["status"], "success", "{execution}");
    let seen = &step(&execution, "seen")["output"];
    assert_eq!(
        seen["request"]["headers"],
        json!({"X-Request-Tag": "watched", "X-Locale": "fr"}),
        "declared and given, under their declared names; no credential, default or other header: {seen}"
    );
    assert_eq!(
        seen["response"]["headers"],
        json!({"content-type": "application/json"}),
        "{seen}"
    );
    assert_eq!(
        seen["response"]["body"]["headers"]["accept-language"], "fr",
        "{seen}"
    );
}

#[tokio::test]
async fn a_head_element_request_records_the_gets_status_and_headers_without_a_body() {
    // Story: HttpMethod knew no HEAD, so a step with method HEAD failed with "HEAD is not
    // supported" and the hub API answered a HEAD with 405.
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let gmail = sandbox.connect_gmail("heads", &sandbox.account(0)).await;
    let token = gmail["token"].as_str().unwrap();
    let url = format!(
        "{}/elements/api-v2/hubs/general/messages?pageSize=1",
        sandbox.ferry()
    );
    let get = reply(
        sandbox
            .http
            .get(&url)
            .header("Authorization", sandbox.element_auth(token))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let head = reply(
        sandbox
            .http
            .head(&url)
            .header("Authorization", sandbox.element_auth(token))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(get.status, StatusCode::OK, "{}", get.text);
    assert_eq!(head.status, StatusCode::OK, "{}", head.text);
    assert_eq!(head.text, "", "a HEAD has no body");
    for name in ["content-type", "elements-element-instance-id"] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    assert!(
        head.header("elements-next-page-token").is_some(),
        "{:?}",
        head.headers
    );

    let flow = sandbox
        .create_flow(json!({
            "name": "Peek",
            "configuration": [{"key": "gmail", "type": "elementInstance"}],
            "triggers": [{"type": "manual", "onSuccess": ["peek"]}],
            "steps": [{"name": "peek", "type": "elementRequest", "properties": {
                "elementInstanceId": "${config.gmail}", "method": "HEAD", "api": "/hubs/general/messages",
                "query": {"pageSize": 1}
            }}]
        }))
        .await;
    let instance = sandbox
        .create_flow_instance(flow, json!({"gmail": gmail["id"]}))
        .await;
    let execution_id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    let peek = &step(&execution, "peek")["output"];
    assert_eq!(peek["request"]["method"], "HEAD", "{peek}");
    assert_eq!(peek["response"]["code"], 200, "{peek}");
    assert_eq!(peek["response"]["body"], Value::Null, "{peek}");
    assert_eq!(
        peek["response"]["headers"]["content-type"], "application/json",
        "{peek}"
    );
    assert!(
        peek["response"]["headers"]["elements-next-page-token"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "{peek}"
    );
}

#[tokio::test]
async fn a_request_step_sends_its_form_as_multipart_to_ferrys_own_api() {
    // Story: `request` steps sent a `body` as JSON but dropped `form`, so the hub's multipart
    // operations (Gmail's send with attachments) could not be reached through ferry's own API.
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let grace = sandbox.account(1);
    let gmail = sandbox
        .connect_gmail("platform mail", &sandbox.account(0))
        .await;
    let token = gmail["token"].as_str().unwrap();
    let message = json!({"to": grace, "subject": "Sent through ferry's API", "data": "A multipart body from a request step."});
    let flow = sandbox
        .create_flow(json!({
            "name": "Send through the platform",
            "triggers": [{"type": "manual", "onSuccess": ["send"]}],
            "steps": [{"name": "send", "type": "request", "properties": {
                "method": "POST", "api": "/hubs/general/messages",
                "headers": {"Authorization": sandbox.element_auth(token)},
                "form": {
                    "body": message.to_string(),
                    "file": {"value": "aGVsbG8sIGdyYWNl", "options": {"filename": "hello.txt", "contentType": "text/plain", "encoding": "base64"}}
                }
            }}]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let execution_id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    let send = &step(&execution, "send")["output"];
    assert_eq!(send["response"]["code"], 200, "{send}");
    assert!(send["response"]["body"]["id"].is_string(), "{send}");
    assert_eq!(send["request"]["headers"]["Authorization"], "********");
    assert_eq!(
        send["request"]["form"]["file"]["options"]["filename"],
        "hello.txt"
    );

    let arrived: Vec<Value> = sandbox
        .mailbox(&grace)
        .await
        .into_iter()
        .filter(|m| m["subject"] == "Sent through ferry's API")
        .collect();
    assert_eq!(arrived.len(), 1, "the email arrives once");
    let raw = base64url(arrived[0]["raw"].as_str().unwrap());
    let text = String::from_utf8_lossy(&raw);
    assert!(
        text.contains("A multipart body from a request step."),
        "{text}"
    );
    assert!(
        text.contains("hello.txt"),
        "the file part is attached: {text}"
    );
    mimecheck(&[raw]);
}

#[tokio::test]
async fn every_request_step_records_a_reply_without_a_body_as_null() {
    // Story: an elementRequest step recorded no body as `null`, but httpRequest and request
    // steps recorded `""`, so a flow had to test for both.
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Peek everywhere",
            "triggers": [{"type": "manual", "onSuccess": ["overHttp"]}],
            "steps": [
                {"name": "overHttp", "type": "httpRequest", "onSuccess": ["ownApi"], "properties": {"method": "HEAD", "url": format!("{stub}/items")}},
                {"name": "ownApi", "type": "request", "onSuccess": ["withBody"], "properties": {"method": "HEAD", "api": "/formulas"}},
                {"name": "withBody", "type": "httpRequest", "properties": {"method": "GET", "url": format!("{stub}/items")}}
            ]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let execution_id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    for name in ["overHttp", "ownApi"] {
        let response = &step(&execution, name)["output"]["response"];
        assert_eq!(response["code"], 200, "{name}: {response}");
        assert_eq!(response["body"], Value::Null, "{name}: {response}");
    }
    let with_body = &step(&execution, "withBody")["output"]["response"];
    assert_eq!(with_body["body"]["path"], "items", "{with_body}");
}

/// A loopback stub for httpRequest steps: echoes what it got, slowly when asked.
async fn stub() -> String {
    use axum::routing::any;
    let app = axum::Router::new().route(
        "/{*path}",
        any(
            |axum::extract::Path(path): axum::extract::Path<String>, body: String| async move {
                if path.starts_with("slow") {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                if path.starts_with("fail") {
                    return (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({"error": "stub failure"})),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    axum::Json(json!({"id": "stub-1", "path": path, "received": body})),
                )
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn webhook_flow(stub: &str, synchronous: bool) -> Value {
    json!({
        "name": "Webhook relay",
        "triggers": [{"type": "webhook", "properties": {"synchronous": synchronous}, "onSuccess": ["build"]}],
        "steps": [
            {"name": "build", "type": "script", "properties": {"body": "done({url: '/items', body: {name: trigger.body.name, doubled: trigger.body.n * 2}});"}, "onSuccess": ["forward"]},
            {"name": "forward", "type": "httpRequest", "properties": {"method": "POST", "url": format!("{stub}${{steps.build.url}}"), "body": "${steps.build.body}"}}
        ]
    })
}

#[tokio::test]
async fn http_request_steps_cannot_reach_the_networks_the_operator_denies() {
    let mut flags = FLOW_FLAGS.to_vec();
    flags.extend(["--flow-http-deny", "169.254.0.0/16,127.0.0.0/8,::1/128"]);
    let sandbox = Sandbox::start_with(&flags).await;
    let stub = stub().await;
    let port = stub.rsplit(':').next().unwrap().to_owned();
    let flow = sandbox
        .create_flow(json!({
            "name": "Fetch",
            "triggers": [{"type": "manual", "onSuccess": ["fetch"]}],
            "steps": [{"name": "fetch", "type": "httpRequest", "properties": {"method": "GET", "url": "${trigger.args.url}"}}]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let instance = instance["id"].as_i64().unwrap();
    for (url, refused) in [
        // The cloud's credential service, by address …
        (
            "http://169.254.169.254/latest/meta-data/".to_owned(),
            "169.254.169.254 is in 169.254.0.0/16",
        ),
        (format!("{stub}/internal"), "127.0.0.1 is in 127.0.0.0/8"),
        // … and by a name that resolves into a denied network.
        (
            format!("http://localhost:{port}/internal"),
            "is in 127.0.0.0/8",
        ),
    ] {
        let id = sandbox.start_execution(instance, json!({"url": url})).await;
        let execution = sandbox.finished_execution(id).await;
        assert_eq!(execution["status"], "failed", "{url}: {execution}");
        let error = execution["error"].as_str().unwrap();
        assert!(
            error.contains(refused) && error.contains("FERRY_FLOW_HTTP_DENY"),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn a_synchronous_webhook_answers_with_the_last_steps_result() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let flow = sandbox.create_flow(webhook_flow(&stub, true)).await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let url = instance["webhookUrl"].as_str().unwrap().to_owned();
    let secret = instance["webhookSecret"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&sandbox.ferry()), "{url}");

    let answer = reply(
        sandbox
            .http
            .post(&url)
            .header("X-Ferry-Webhook-Secret", &secret)
            .json(&json!({"name": "widget", "n": 21}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["response"]["code"], 200);
    assert_eq!(answer.body["response"]["body"]["path"], "items");
    let received: Value = serde_json::from_str(
        answer.body["response"]["body"]["received"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(received, json!({"name": "widget", "doubled": 42}));
    let execution_id: i64 = answer
        .header("elements-execution-id")
        .unwrap()
        .parse()
        .unwrap();
    let execution = sandbox.finished_execution(execution_id).await;
    assert_eq!(
        execution["stepExecutions"].as_array().unwrap().len(),
        3,
        "the history is stored"
    );

    for wrong in [None, Some("not-the-secret")] {
        let mut request = sandbox.http.post(&url).json(&json!({}));
        if let Some(secret) = wrong {
            request = request.header("X-Ferry-Webhook-Secret", secret);
        }
        assert_eq!(
            request.send().await.unwrap().status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let shown = sandbox
        .api(
            Method::GET,
            &format!("/formulas/instances/{}", instance["id"]),
            None,
        )
        .await;
    assert!(
        shown.body.get("webhookSecret").is_none(),
        "the secret is shown once"
    );
}

#[tokio::test]
async fn a_synchronous_webhook_whose_caller_hangs_up_still_runs_to_its_end() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let mut flow = webhook_flow(&stub, true);
    flow["steps"][1]["properties"]["url"] = json!(format!("{stub}/slow${{steps.build.url}}"));
    let flow = sandbox.create_flow(flow).await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let hung_up = sandbox
        .http
        .post(instance["webhookUrl"].as_str().unwrap())
        .header(
            "X-Ferry-Webhook-Secret",
            instance["webhookSecret"].as_str().unwrap(),
        )
        .json(&json!({"name": "late", "n": 2}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(hung_up.is_err(), "the stub answers after 3 s");
    let listed = sandbox
        .api(
            Method::GET,
            &format!("/formulas/instances/{}/executions", instance["id"]),
            None,
        )
        .await;
    let id = listed.body[0]["id"].as_i64().expect(&listed.text);
    let execution = sandbox.finished_execution(id).await;
    assert_eq!(execution["status"], "success", "{execution}");
    assert_eq!(
        step(&execution, "forward")["output"]["response"]["code"],
        200
    );
}

#[tokio::test]
async fn an_asynchronous_webhook_is_queued_and_a_failing_call_fails_its_step() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let mut flow = webhook_flow(&format!("{stub}/fail"), false);
    flow["steps"][1]["properties"]["url"] = json!(format!("{stub}/fail${{steps.build.url}}"));
    let flow = sandbox.create_flow(flow).await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let accepted = reply(
        sandbox
            .http
            .post(format!(
                "{}?secret={}",
                instance["webhookUrl"].as_str().unwrap(),
                instance["webhookSecret"].as_str().unwrap()
            ))
            .json(&json!({"name": "x", "n": 1}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::ACCEPTED, "{}", accepted.text);
    let execution = sandbox
        .finished_execution(accepted.body["executionId"].as_i64().unwrap())
        .await;
    assert_eq!(execution["status"], "failed");
    let forward = step(&execution, "forward");
    assert_eq!(forward["status"], "failed");
    assert_eq!(forward["output"]["response"]["code"], 500);
    let errors = sandbox
        .api(
            Method::GET,
            &format!("/formulas/instances/executions/{}/errors", execution["id"]),
            None,
        )
        .await;
    assert_eq!(errors.body.as_array().unwrap().len(), 1);

    // Retry runs the flow again with the same input.
    let retried = sandbox
        .api(
            Method::PUT,
            &format!("/formulas/instances/executions/{}/retries", execution["id"]),
            None,
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text);
    let again = sandbox
        .finished_execution(retried.body["id"].as_i64().unwrap())
        .await;
    assert_eq!(again["attempt"], 2);
    assert_eq!(values(&again)["trigger.body"], "{\"name\":\"x\",\"n\":1}");
}

#[tokio::test]
async fn a_finished_script_step_shows_in_the_history_while_the_next_step_runs() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Script, then slow",
            "triggers": [{"type": "manual", "onSuccess": ["prepare"]}],
            "steps": [
                {"name": "prepare", "type": "script", "properties": {"body": "done({ready: true});"}, "onSuccess": ["wait"]},
                {"name": "wait", "type": "httpRequest", "properties": {"method": "GET", "url": format!("{stub}/slow")}}
            ]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let running = sandbox
        .api(
            Method::GET,
            &format!("/formulas/instances/executions/{id}"),
            None,
        )
        .await;
    assert_eq!(running.body["status"], "pending", "{}", running.text);
    assert_eq!(
        step(&running.body, "prepare")["output"],
        json!({"ready": true})
    );
    let finished = sandbox.finished_execution(id).await;
    assert_eq!(finished["status"], "success");
}

#[tokio::test]
async fn a_step_with_an_effect_starts_only_after_the_steps_before_it_are_in_the_history() {
    // Story: finished scripts were held back and written together with the next step, so an
    // httpRequest could go out while the script that built its input was not yet durable; a
    // crash then would rerun the script and repeat the request on other input. The request
    // here asks ferry itself which steps are recorded at the moment it arrives.
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Script, then look",
            "triggers": [{"type": "manual", "onSuccess": ["prepare"]}],
            "steps": [
                {"name": "prepare", "type": "script", "properties": {"body": "done({at: Date.now()});"}, "onSuccess": ["look"]},
                {"name": "look", "type": "httpRequest", "properties": {
                    "method": "GET",
                    "url": format!("{}/elements/api-v2/formulas/instances/executions/${{info.formulaExecutionId}}/steps", sandbox.ferry()),
                    "headers": {"Authorization": sandbox.auth()}
                }}
            ]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let finished = sandbox.finished_execution(id).await;
    assert_eq!(finished["status"], "success", "{finished}");
    let seen = &step(&finished, "look")["output"];
    let recorded: Vec<&str> = seen["response"]["body"]
        .as_array()
        .unwrap_or_else(|| panic!("the steps, as ferry listed them: {seen}"))
        .iter()
        .filter_map(|s| s["stepName"].as_str())
        .collect();
    assert!(
        recorded.contains(&"prepare"),
        "recorded when the request went out: {recorded:?}"
    );
    // The step sent the secrets; its record shows neither them nor ferry's echo of them.
    let user_secret = sandbox.config["user_secret"].as_str().unwrap();
    assert!(!finished.to_string().contains(user_secret), "{finished}");
    assert_eq!(
        step(&finished, "look")["output"]["request"]["headers"]["Authorization"],
        "********"
    );
}

#[tokio::test]
async fn a_running_execution_can_be_cancelled_once() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let stub = stub().await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Slow",
            "triggers": [{"type": "manual", "onSuccess": ["wait"]}],
            "steps": [
                {"name": "wait", "type": "httpRequest", "properties": {"method": "GET", "url": format!("{stub}/slow")}, "onSuccess": ["after"]},
                {"name": "after", "type": "script", "properties": {"body": "done({ran: true});"}}
            ]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let path = format!("/formulas/instances/executions/{id}");
    let cancelled = sandbox
        .api(Method::PATCH, &path, Some(json!({"status": "cancelled"})))
        .await;
    assert_eq!(cancelled.status, StatusCode::OK, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    let again = sandbox
        .api(Method::PATCH, &path, Some(json!({"status": "cancelled"})))
        .await;
    assert_eq!(again.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        sandbox
            .api(
                Method::PATCH,
                "/formulas/instances/executions/999999",
                Some(json!({"status": "cancelled"}))
            )
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    tokio::time::sleep(Duration::from_secs(4)).await;
    let execution = sandbox.finished_execution(id).await;
    assert_eq!(execution["status"], "cancelled");
    assert!(
        execution["stepExecutions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["stepName"] != "after"),
        "no step runs after cancelling"
    );
}

#[tokio::test]
async fn flows_are_checked_when_saved_with_every_problem_named() {
    let sandbox = Sandbox::start().await;
    let bad = json!({
        "name": "Broken",
        "configuration": [{"key": "gmail", "type": "elementInstance"}],
        "triggers": [{"type": "scheduled", "properties": {"cron": "0/30 * * 1/1 * ? *"}, "onSuccess": ["noDone"]}],
        "steps": [
            {"name": "noDone", "type": "script", "properties": {"body": "let x = 1;"}, "onSuccess": ["syntax"]},
            {"name": "syntax", "type": "script", "properties": {"body": "let ok = 1;\nlet broken = (;\ndone({});"}, "onSuccess": ["missing"]},
            {"name": "send", "type": "elementRequest", "properties": {"elementInstanceId": "${config.gmail}", "method": "POST", "api": "/messages", "retryAttempts": 6}},
            {"name": "strange", "type": "carrierPigeon", "properties": {}}
        ]
    });
    let refused = sandbox.api(Method::POST, "/formulas", Some(bad)).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert_eq!(refused.body["code"], "invalid_flow");
    let problems = refused.body["problems"].as_array().unwrap();
    let find = |step: &str, property: &str| {
        problems
            .iter()
            .find(|p| p["step"] == step && p["property"] == property)
            .unwrap_or_else(|| panic!("no problem for {step}.{property} in {problems:?}"))
    };
    assert!(
        find("noDone", "body")["message"]
            .as_str()
            .unwrap()
            .contains("done()")
    );
    let syntax = find("syntax", "body");
    assert_eq!(syntax["line"], 2, "{syntax}");
    assert!(syntax["column"].as_u64().unwrap() > 0);
    assert!(
        find("syntax", "onSuccess")["message"]
            .as_str()
            .unwrap()
            .contains("missing")
    );
    assert!(
        find("send", "retryAttempts")["message"]
            .as_str()
            .unwrap()
            .contains("at most 5")
    );
    assert!(
        find("strange", "type")["message"]
            .as_str()
            .unwrap()
            .contains("carrierPigeon")
    );
    assert!(
        find("trigger", "cron")["message"]
            .as_str()
            .unwrap()
            .contains("once a minute")
    );

    let duplicate = sandbox
        .api(
            Method::POST,
            "/formulas",
            Some(json!({"name": "Dup", "configuration": [{"key": "a"}, {"key": "a"}]})),
        )
        .await;
    assert_eq!(duplicate.status, StatusCode::CONFLICT, "{}", duplicate.text);
    assert_eq!(
        sandbox.api(Method::GET, "/formulas", None).await.body,
        json!([]),
        "nothing was stored"
    );

    // One step at a time: a step that breaks the flow is refused and the flow stays as it was.
    let flow = sandbox
        .create_flow(json!({"name": "Growing", "triggers": [{"type": "manual", "onSuccess": ["a"]}], "steps": [{"name": "a", "type": "script", "properties": {"body": "done({})"}}]}))
        .await;
    let added = sandbox
        .api(
            Method::POST,
            &format!("/formulas/{flow}/steps"),
            Some(json!({"name": "b", "type": "filter", "properties": {"body": "done(true)"}})),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let broken = sandbox
        .api(
            Method::POST,
            &format!("/formulas/{flow}/steps"),
            Some(json!({"name": "c", "type": "script", "properties": {"body": "nothing"}})),
        )
        .await;
    assert_eq!(broken.status, StatusCode::BAD_REQUEST);
    let twice = sandbox
        .api(
            Method::POST,
            &format!("/formulas/{flow}/steps"),
            Some(json!({"name": "b", "type": "script", "properties": {"body": "done({})"}})),
        )
        .await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    let stored = sandbox
        .api(Method::GET, &format!("/formulas/{flow}"), None)
        .await;
    let names: Vec<&str> = stored.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b"]);
    let removed = sandbox
        .api(Method::DELETE, &format!("/formulas/{flow}/steps/a"), None)
        .await;
    assert_eq!(removed.status, StatusCode::OK);
    let stored = sandbox
        .api(Method::GET, &format!("/formulas/{flow}"), None)
        .await;
    assert_eq!(
        stored.body["triggers"][0]["onSuccess"],
        json!([]),
        "paths to a deleted step go with it"
    );
    let exported = sandbox
        .api(Method::GET, &format!("/formulas/{flow}/export"), None)
        .await;
    assert_eq!(exported.body["name"], "Growing");
    assert!(exported.body.get("id").is_none());
}

#[tokio::test]
async fn a_loop_over_fifty_items_runs_its_body_fifty_times() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Loop",
            "triggers": [{"type": "manual", "onSuccess": ["list"]}],
            "steps": [
                {"name": "list", "type": "script", "properties": {"body": "done({items: Array.from({length: 50}, (_, i) => ({n: i}))});"}, "onSuccess": ["loop"]},
                {"name": "loop", "type": "loop", "properties": {"list": "${steps.list.items}"}, "onSuccess": ["body"], "onFailure": ["last"]},
                {"name": "body", "type": "script", "properties": {"body": "console.log('item', steps.loop.index); done({n: steps.loop.entry.n});"}, "onSuccess": ["loop"]},
                {"name": "last", "type": "filter", "properties": {"body": "done(false);"}}
            ]
        }))
        .await;
    let instance = sandbox.create_flow_instance(flow, json!({})).await;
    let id = sandbox
        .start_execution(instance["id"].as_i64().unwrap(), json!({}))
        .await;
    let execution = sandbox.finished_execution(id).await;
    assert_eq!(
        execution["status"], "success",
        "a false filter as the last step is a success"
    );
    let steps = execution["stepExecutions"].as_array().unwrap();
    // Cloud Elements counted 103 for trigger + list + loop + body; the final filter is one more.
    assert_eq!(
        steps.len(),
        104,
        "trigger + list + 51 loop + 50 body + last"
    );
    let last_body = steps.iter().rfind(|s| s["stepName"] == "body").unwrap();
    assert_eq!(last_body["output"], json!({"n": 49}));
    assert_eq!(last_body["console"], json!(["item 49"]));
    let values = values(&execution);
    assert_eq!(values["last.continue"], "false");
}

#[tokio::test]
async fn scripts_that_break_the_sandbox_fail_their_step_and_ferry_keeps_serving() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let cases = [
        ("loop", "while (true) {} done({});", "timed out"),
        (
            "redos",
            "/(a+)+$/.test('a'.repeat(40) + '!'); done({});",
            "timed out",
        ),
        (
            "memory",
            "let a = []; while (true) { a.push(new Array(100000).fill(1)); } done({});",
            "out of memory",
        ),
        ("fetch", "fetch('http://127.0.0.1:1/'); done({});", "fetch"),
        (
            "fs",
            "require('fs').readFileSync('/etc/passwd'); done({});",
            "require('fs') is not available",
        ),
    ];
    for (name, body, expected) in cases {
        let flow = sandbox
            .create_flow(json!({"name": name, "triggers": [{"type": "manual", "onSuccess": [name]}], "steps": [{"name": name, "type": "script", "properties": {"body": body}}]}))
            .await;
        let instance = sandbox.create_flow_instance(flow, json!({})).await;
        let id = sandbox
            .start_execution(instance["id"].as_i64().unwrap(), json!({}))
            .await;
        let execution = sandbox.finished_execution(id).await;
        assert_eq!(execution["status"], "failed", "{name}: {execution}");
        let error = step(&execution, name)["error"].as_str().unwrap().to_owned();
        assert!(
            error.contains(expected),
            "{name}: {error:?} should mention {expected:?}"
        );
    }
    let health = sandbox
        .http
        .get(format!("{}/health", sandbox.ferry()))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_scheduled_flow_fires_on_its_minute() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let flow = sandbox
        .create_flow(json!({
            "name": "Every minute",
            "configuration": [{"key": "cron", "type": "value"}],
            "triggers": [{"type": "scheduled", "properties": {"cron": "${config.cron}"}, "onSuccess": ["tick"]}],
            "steps": [{"name": "tick", "type": "script", "properties": {"body": "done({at: trigger.scheduledTime});"}}]
        }))
        .await;
    let refused = sandbox
        .api(
            Method::POST,
            &format!("/formulas/{flow}/instances"),
            Some(json!({"name": "fast", "configuration": {"cron": "*/20 * * * * *"}})),
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{}", refused.text);
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap()
            .contains("once a minute")
    );
    // Cloud Elements' Quartz form for "every minute".
    let instance = sandbox
        .create_flow_instance(flow, json!({"cron": "0 0/1 * 1/1 * ? *"}))
        .await;
    let executions = sandbox
        .wait_for_executions(instance["id"].as_i64().unwrap(), 1)
        .await;
    let execution = sandbox
        .finished_execution(executions[0]["id"].as_i64().unwrap())
        .await;
    assert_eq!(execution["status"], "success");
    assert_eq!(execution["triggerType"], "scheduled");
    let at = step(&execution, "tick")["output"]["at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        at.contains(":00+00:00") || at.ends_with(":00Z"),
        "fired on a whole minute: {at}"
    );
}

/// Script engines are kept warm per flow (decision 0010): a global a run adds is gone for the
/// next run, and what a body leaves on a built-in prototype never reaches another flow running
/// the very same body.
#[tokio::test]
async fn runs_of_a_script_never_see_another_flows_leftovers_or_their_own_globals() {
    let sandbox = Sandbox::start_with(&FLOW_FLAGS).await;
    let body = "const mark = ({}).flowMark === undefined ? null : ({}).flowMark; \
        const previous = typeof lastArgs === 'undefined' ? null : lastArgs; \
        Object.defineProperty(Object.prototype, 'flowMark', { value: info.formulaId, configurable: true }); \
        globalThis.lastArgs = trigger.args; \
        done({mark, previous});";
    let flow = |name: &str| {
        json!({
            "name": name,
            "triggers": [{"type": "manual", "onSuccess": ["probe"]}],
            "steps": [{"name": "probe", "type": "script", "properties": {"body": body}}]
        })
    };
    let mut instances = Vec::new();
    for name in ["first", "second"] {
        let flow_id = sandbox.create_flow(flow(name)).await;
        let instance = sandbox.create_flow_instance(flow_id, json!({})).await;
        instances.push((flow_id, instance["id"].as_i64().unwrap()));
    }
    for round in 0..6 {
        for &(flow_id, instance) in &instances {
            let id = sandbox
                .start_execution(instance, json!({"round": round}))
                .await;
            let execution = sandbox.finished_execution(id).await;
            assert_eq!(execution["status"], "success", "{execution}");
            let output = &step(&execution, "probe")["output"];
            assert_eq!(
                output["previous"],
                Value::Null,
                "a global outlived its run: {output}"
            );
            // Null from a fresh engine, or this flow's own mark from its warm one (which runs
            // on whichever thread took the step, so either may come).
            if !output["mark"].is_null() {
                assert_eq!(
                    output["mark"],
                    json!(flow_id),
                    "another flow's leftover: {output}"
                );
            }
        }
    }
}
