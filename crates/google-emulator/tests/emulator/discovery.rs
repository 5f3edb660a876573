//! The emulator against Google's own description of Gmail (the discovery document, which nobody
//! on the team wrote): every route it serves is a method of the document with the same HTTP
//! method, path and query parameters; every method of the document's users, messages, threads,
//! labels, drafts and history resources is served; and every JSON reply of a walk through all of
//! them conforms to the document's schema for that method's response, with no field it lacks.

use crate::support::{ALICE, BOB, MAIL, access_token, http, simple_mail, start};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use google_emulator::{GMAIL_ROUTES, GmailRoute, STANDARD_QUERY};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const DISCOVERY: &str = include_str!("../../discovery/gmail.v1.json");

fn document() -> Value {
    serde_json::from_str(DISCOVERY).unwrap()
}

/// The document's methods in the resources the emulator implements.
fn in_scope(doc: &Value) -> Vec<Value> {
    fn walk(node: &Value, out: &mut Vec<Value>) {
        for method in node["methods"].as_object().into_iter().flatten() {
            out.push(method.1.clone());
        }
        for (name, resource) in node["resources"].as_object().into_iter().flatten() {
            if name != "settings" {
                walk(resource, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(&doc["resources"]["users"], &mut out);
    out.retain(|m| {
        !matches!(
            m["id"].as_str(),
            Some("gmail.users.watch" | "gmail.users.stop")
        )
    });
    out
}

fn method_of<'a>(doc: &'a Value, id: &str) -> &'a Value {
    let parts: Vec<&str> = id.split('.').skip(1).collect();
    let mut node = &doc["resources"][parts[0]];
    for part in &parts[1..parts.len() - 1] {
        node = &node["resources"][*part];
    }
    &node["methods"][parts[parts.len() - 1]]
}

fn query_parameters(method: &Value) -> BTreeSet<String> {
    method["parameters"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, p)| p["location"] == "query")
        .map(|(name, _)| name.clone())
        .collect()
}

#[test]
fn every_served_route_is_a_method_of_the_document() {
    let doc = document();
    let standard: BTreeSet<&str> = doc["parameters"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(standard, STANDARD_QUERY.iter().copied().collect());
    for route in GMAIL_ROUTES {
        let method = method_of(&doc, route.id);
        assert!(method.is_object(), "{} is not in the document", route.id);
        assert_eq!(method["httpMethod"], route.method, "{}", route.id);
        let paths = [
            format!("/{}", method["flatPath"].as_str().unwrap()),
            method["mediaUpload"]["protocols"]["simple"]["path"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        ];
        assert!(
            paths.contains(&route.path.to_owned()),
            "{}: {} is not {paths:?}",
            route.id,
            route.path
        );
        let served: BTreeSet<String> = route.query.iter().map(|q| q.to_string()).collect();
        assert_eq!(
            served,
            query_parameters(method),
            "{}: query parameters",
            route.id
        );
    }
    for method in in_scope(&doc) {
        let id = method["id"].as_str().unwrap();
        let flat = format!("/{}", method["flatPath"].as_str().unwrap());
        assert!(
            GMAIL_ROUTES.iter().any(|r| r.id == id && r.path == flat),
            "{id} at {flat} is not served"
        );
        if let Some(upload) = method["mediaUpload"]["protocols"]["simple"]["path"].as_str() {
            assert!(
                GMAIL_ROUTES.iter().any(|r| r.id == id && r.path == upload),
                "{id} at {upload} is not served"
            );
        }
    }
}

fn filled(route: &GmailRoute) -> String {
    route
        .path
        .replace("{userId}", "me")
        .replace("{messageId}", "0123456789abcdef")
        .replace("{id}", "0123456789abcdef")
}

#[tokio::test]
async fn every_route_answers_with_its_parameters_and_refuses_others() {
    let emulator = start().await;
    let base = emulator.url();
    for route in GMAIL_ROUTES {
        let method = Method::from_bytes(route.method.as_bytes()).unwrap();
        let mut documented: Vec<(&str, &str)> = route.query.iter().map(|q| (*q, "1")).collect();
        documented.push(("prettyPrint", "false"));
        // With every documented parameter and no credentials, the method itself answers: 401.
        let reply = http()
            .request(method.clone(), format!("{base}{}", filled(route)))
            .query(&documented)
            .send()
            .await
            .unwrap();
        assert_eq!(
            reply.status(),
            StatusCode::UNAUTHORIZED,
            "{} {}",
            route.method,
            route.path
        );
        let reply = http()
            .request(method, format!("{base}{}", filled(route)))
            .query(&[("bogusParameter", "1")])
            .send()
            .await
            .unwrap();
        assert_eq!(
            reply.status(),
            StatusCode::BAD_REQUEST,
            "{} {}",
            route.method,
            route.path
        );
        let body: Value = reply.json().await.unwrap();
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Cannot bind query parameter"),
            "{body}"
        );
    }
}

/// Problems of `value` against a discovery schema: wrong types, unknown fields, bad enums.
fn conform(doc: &Value, schema: &Value, value: &Value, at: &str, problems: &mut Vec<String>) {
    if let Some(name) = schema["$ref"].as_str() {
        return conform(doc, &doc["schemas"][name], value, at, problems);
    }
    let wrong =
        |problems: &mut Vec<String>| problems.push(format!("{at}: {value} is not {schema}"));
    match schema["type"].as_str() {
        Some("object") => {
            let Value::Object(members) = value else {
                return wrong(problems);
            };
            for (name, member) in members {
                let property = &schema["properties"][name];
                let additional = &schema["additionalProperties"];
                if property.is_object() {
                    conform(doc, property, member, &format!("{at}.{name}"), problems);
                } else if additional.is_object() {
                    conform(doc, additional, member, &format!("{at}.{name}"), problems);
                } else {
                    problems.push(format!("{at}: {name:?} is not a field of the schema"));
                }
            }
        }
        Some("array") => {
            let Value::Array(items) = value else {
                return wrong(problems);
            };
            for (index, item) in items.iter().enumerate() {
                conform(
                    doc,
                    &schema["items"],
                    item,
                    &format!("{at}[{index}]"),
                    problems,
                );
            }
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return wrong(problems);
            };
            match schema["format"].as_str() {
                Some("int64" | "uint64") if text.parse::<i128>().is_err() => wrong(problems),
                Some("byte") if URL_SAFE.decode(text).is_err() => wrong(problems),
                _ => {}
            }
            if let Some(allowed) = schema["enum"].as_array()
                && !allowed.contains(value)
            {
                wrong(problems);
            }
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => wrong(problems),
        Some("boolean") if !value.is_boolean() => wrong(problems),
        Some("number") if !value.is_number() => wrong(problems),
        _ => {}
    }
}

struct Walk {
    doc: Value,
    base: String,
    token: String,
    checked: BTreeSet<String>,
}

impl Walk {
    /// Calls the route of `id` at `path` and checks a JSON reply against the method's response.
    async fn call(&mut self, id: &str, method: Method, path: &str, body: Option<Value>) -> Value {
        let mut request = http()
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = request.send().await.unwrap();
        let status = reply.status();
        let text = reply.text().await.unwrap();
        assert!(status.is_success(), "{id} {path}: {status} {text}");
        let spec = method_of(&self.doc, id);
        let Some(response) = spec["response"]["$ref"].as_str() else {
            assert!(
                text.is_empty(),
                "{id} answers no body in the document: {text}"
            );
            self.checked.insert(id.to_owned());
            return Value::Null;
        };
        let value: Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{id}: {e}: {text}"));
        let mut problems = Vec::new();
        conform(
            &self.doc,
            &json!({"$ref": response}),
            &value,
            response,
            &mut problems,
        );
        assert!(problems.is_empty(), "{id} {path}:\n{}", problems.join("\n"));
        self.checked.insert(id.to_owned());
        value
    }

    async fn upload(
        &mut self,
        id: &str,
        method: Method,
        path: &str,
        metadata: Value,
        raw: &[u8],
    ) -> Value {
        let boundary = "conformance_boundary";
        let mut body = format!("--{boundary}\r\nContent-Type: application/json\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n").into_bytes();
        body.extend_from_slice(raw);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let reply = http()
            .request(method, format!("{}{path}?uploadType=multipart", self.base))
            .bearer_auth(&self.token)
            .header(
                "Content-Type",
                format!("multipart/related; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let status = reply.status();
        let value: Value = reply.json().await.unwrap();
        assert!(status.is_success(), "{id} {path}: {status} {value}");
        let mut problems = Vec::new();
        let response = method_of(&self.doc, id)["response"]["$ref"]
            .as_str()
            .unwrap();
        conform(
            &self.doc,
            &json!({"$ref": response}),
            &value,
            response,
            &mut problems,
        );
        assert!(problems.is_empty(), "{id} {path}:\n{}", problems.join("\n"));
        value
    }
}

fn raw_json(raw: &[u8]) -> Value {
    json!({"raw": URL_SAFE.encode(raw)})
}

const U: &str = "/gmail/v1/users/me";
const UP: &str = "/upload/gmail/v1/users/me";

#[tokio::test]
async fn every_json_reply_conforms_to_the_documents_schema() {
    let emulator = start().await;
    let base = emulator.url();
    let token = access_token(&base, ALICE, &[MAIL]).await;
    let mut walk = Walk {
        doc: document(),
        base,
        token,
        checked: BTreeSet::new(),
    };
    let profile = walk
        .call(
            "gmail.users.getProfile",
            Method::GET,
            &format!("{U}/profile"),
            None,
        )
        .await;
    let start_history = profile["historyId"].as_str().unwrap().to_owned();

    let mixed = format!(
        "From: {ALICE}\r\nTo: {BOB}\r\nSubject: conformance\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b1\r\nContent-Type: application/pdf; name=a.pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
    )
    .into_bytes();
    let sent = walk
        .call(
            "gmail.users.messages.send",
            Method::POST,
            &format!("{U}/messages/send"),
            Some(raw_json(&mixed)),
        )
        .await;
    let id = sent["id"].as_str().unwrap().to_owned();
    walk.upload(
        "gmail.users.messages.send",
        Method::POST,
        &format!("{UP}/messages/send"),
        json!({}),
        &simple_mail(ALICE, BOB, "media", "x"),
    )
    .await;
    let inserted = walk.call("gmail.users.messages.insert", Method::POST, &format!("{U}/messages"), Some(json!({"raw": URL_SAFE.encode(simple_mail(BOB, ALICE, "inserted", "x")), "labelIds": ["INBOX"]}))).await;
    walk.upload(
        "gmail.users.messages.insert",
        Method::POST,
        &format!("{UP}/messages"),
        json!({"labelIds": ["INBOX"]}),
        &simple_mail(BOB, ALICE, "inserted", "x"),
    )
    .await;
    walk.call(
        "gmail.users.messages.import",
        Method::POST,
        &format!("{U}/messages/import"),
        Some(raw_json(&simple_mail(BOB, ALICE, "imported", "x"))),
    )
    .await;
    walk.upload(
        "gmail.users.messages.import",
        Method::POST,
        &format!("{UP}/messages/import"),
        json!({"labelIds": ["INBOX", "UNREAD"]}),
        &simple_mail(BOB, ALICE, "imported", "x"),
    )
    .await;

    walk.call(
        "gmail.users.messages.list",
        Method::GET,
        &format!("{U}/messages?q=conformance&labelIds=SENT&maxResults=1"),
        None,
    )
    .await;
    for format in ["full", "metadata", "minimal", "raw"] {
        walk.call(
            "gmail.users.messages.get",
            Method::GET,
            &format!("{U}/messages/{id}?format={format}&metadataHeaders=Subject"),
            None,
        )
        .await;
    }
    let full = walk
        .call(
            "gmail.users.messages.get",
            Method::GET,
            &format!("{U}/messages/{id}"),
            None,
        )
        .await;
    let attachment = full["payload"]["parts"][1]["body"]["attachmentId"]
        .as_str()
        .unwrap()
        .to_owned();
    walk.call(
        "gmail.users.messages.attachments.get",
        Method::GET,
        &format!("{U}/messages/{id}/attachments/{attachment}"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.messages.modify",
        Method::POST,
        &format!("{U}/messages/{id}/modify"),
        Some(json!({"addLabelIds": ["STARRED"]})),
    )
    .await;
    walk.call(
        "gmail.users.messages.batchModify",
        Method::POST,
        &format!("{U}/messages/batchModify"),
        Some(json!({"ids": [id], "removeLabelIds": ["STARRED"]})),
    )
    .await;
    walk.call(
        "gmail.users.messages.trash",
        Method::POST,
        &format!("{U}/messages/{id}/trash"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.messages.untrash",
        Method::POST,
        &format!("{U}/messages/{id}/untrash"),
        None,
    )
    .await;

    let thread = sent["threadId"].as_str().unwrap().to_owned();
    walk.call(
        "gmail.users.threads.list",
        Method::GET,
        &format!("{U}/threads?q=conformance"),
        None,
    )
    .await;
    for format in ["full", "metadata", "minimal"] {
        walk.call(
            "gmail.users.threads.get",
            Method::GET,
            &format!("{U}/threads/{thread}?format={format}"),
            None,
        )
        .await;
    }
    walk.call(
        "gmail.users.threads.modify",
        Method::POST,
        &format!("{U}/threads/{thread}/modify"),
        Some(json!({"addLabelIds": ["IMPORTANT"]})),
    )
    .await;
    walk.call(
        "gmail.users.threads.trash",
        Method::POST,
        &format!("{U}/threads/{thread}/trash"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.threads.untrash",
        Method::POST,
        &format!("{U}/threads/{thread}/untrash"),
        None,
    )
    .await;

    walk.call(
        "gmail.users.labels.list",
        Method::GET,
        &format!("{U}/labels"),
        None,
    )
    .await;
    let label = walk.call("gmail.users.labels.create", Method::POST, &format!("{U}/labels"), Some(json!({"name": "Conformance", "color": {"textColor": "#000000", "backgroundColor": "#ffffff"}}))).await;
    let label = label["id"].as_str().unwrap().to_owned();
    walk.call(
        "gmail.users.labels.get",
        Method::GET,
        &format!("{U}/labels/{label}"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.labels.patch",
        Method::PATCH,
        &format!("{U}/labels/{label}"),
        Some(json!({"name": "Conformance 2"})),
    )
    .await;
    walk.call("gmail.users.labels.update", Method::PUT, &format!("{U}/labels/{label}"), Some(json!({"name": "Conformance 3", "labelListVisibility": "labelShow", "messageListVisibility": "show"}))).await;
    walk.call(
        "gmail.users.labels.get",
        Method::GET,
        &format!("{U}/labels/INBOX"),
        None,
    )
    .await;

    let draft = walk
        .call(
            "gmail.users.drafts.create",
            Method::POST,
            &format!("{U}/drafts"),
            Some(json!({"message": raw_json(&simple_mail(ALICE, BOB, "draft", "x"))})),
        )
        .await;
    let draft = draft["id"].as_str().unwrap().to_owned();
    walk.upload(
        "gmail.users.drafts.create",
        Method::POST,
        &format!("{UP}/drafts"),
        json!({}),
        &simple_mail(ALICE, BOB, "draft 2", "x"),
    )
    .await;
    walk.call(
        "gmail.users.drafts.list",
        Method::GET,
        &format!("{U}/drafts"),
        None,
    )
    .await;
    for format in ["full", "metadata", "minimal", "raw"] {
        walk.call(
            "gmail.users.drafts.get",
            Method::GET,
            &format!("{U}/drafts/{draft}?format={format}"),
            None,
        )
        .await;
    }
    walk.call(
        "gmail.users.drafts.update",
        Method::PUT,
        &format!("{U}/drafts/{draft}"),
        Some(json!({"message": raw_json(&simple_mail(ALICE, BOB, "draft v2", "x"))})),
    )
    .await;
    walk.upload(
        "gmail.users.drafts.update",
        Method::PUT,
        &format!("{UP}/drafts/{draft}"),
        json!({}),
        &simple_mail(ALICE, BOB, "draft v3", "x"),
    )
    .await;
    walk.call(
        "gmail.users.drafts.send",
        Method::POST,
        &format!("{U}/drafts/send"),
        Some(json!({"id": draft})),
    )
    .await;
    let another = walk
        .call(
            "gmail.users.drafts.create",
            Method::POST,
            &format!("{U}/drafts"),
            Some(json!({"message": raw_json(&simple_mail(ALICE, BOB, "draft 3", "x"))})),
        )
        .await;
    walk.upload(
        "gmail.users.drafts.send",
        Method::POST,
        &format!("{UP}/drafts/send"),
        json!({"id": another["id"]}),
        &simple_mail(ALICE, BOB, "draft 4", "x"),
    )
    .await;
    let last = walk
        .call(
            "gmail.users.drafts.create",
            Method::POST,
            &format!("{U}/drafts"),
            Some(json!({"message": raw_json(&simple_mail(ALICE, BOB, "draft 5", "x"))})),
        )
        .await;
    walk.call(
        "gmail.users.drafts.delete",
        Method::DELETE,
        &format!("{U}/drafts/{}", last["id"].as_str().unwrap()),
        None,
    )
    .await;

    walk.call(
        "gmail.users.history.list",
        Method::GET,
        &format!("{U}/history?startHistoryId={start_history}"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.history.list",
        Method::GET,
        &format!(
            "{U}/history?startHistoryId={start_history}&historyTypes=labelAdded&labelId=STARRED"
        ),
        None,
    )
    .await;

    walk.call(
        "gmail.users.labels.delete",
        Method::DELETE,
        &format!("{U}/labels/{label}"),
        None,
    )
    .await;
    let inserted = inserted["id"].as_str().unwrap();
    walk.call(
        "gmail.users.messages.delete",
        Method::DELETE,
        &format!("{U}/messages/{inserted}"),
        None,
    )
    .await;
    walk.call(
        "gmail.users.threads.delete",
        Method::DELETE,
        &format!("{U}/threads/{thread}"),
        None,
    )
    .await;
    let rest: Vec<String> = walk
        .call(
            "gmail.users.messages.list",
            Method::GET,
            &format!("{U}/messages?q=imported"),
            None,
        )
        .await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    walk.call(
        "gmail.users.messages.batchDelete",
        Method::POST,
        &format!("{U}/messages/batchDelete"),
        Some(json!({"ids": rest})),
    )
    .await;

    let every: BTreeSet<String> = in_scope(&walk.doc)
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    let missed: Vec<&String> = every.difference(&walk.checked).collect();
    assert!(missed.is_empty(), "not walked: {missed:?}");
}

#[test]
fn the_schema_check_finds_unknown_fields_wrong_types_and_bad_values() {
    let doc = document();
    let check = |value: Value| {
        let mut problems = Vec::new();
        conform(
            &doc,
            &json!({"$ref": "Message"}),
            &value,
            "Message",
            &mut problems,
        );
        problems
    };
    assert!(check(json!({"id": "a", "historyId": "12", "labelIds": ["INBOX"], "payload": {"headers": [{"name": "To", "value": "x"}]}})).is_empty());
    assert_eq!(
        check(json!({"id": "a", "labelIDs": []})).len(),
        1,
        "unknown field"
    );
    assert_eq!(
        check(json!({"historyId": 12})).len(),
        1,
        "int64 is a string"
    );
    assert_eq!(
        check(json!({"internalDate": "soon"})).len(),
        1,
        "int64 digits"
    );
    assert_eq!(
        check(json!({"raw": "not base64!"})).len(),
        1,
        "byte is base64url"
    );
    assert_eq!(
        check(json!({"payload": {"body": {"size": "3"}}})).len(),
        1,
        "nested type"
    );
}
