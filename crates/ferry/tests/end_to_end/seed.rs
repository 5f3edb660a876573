//! The seed walkthrough (shared/seed/gmail-connector-walkthrough.txt), through HTTP alone.

use crate::support::{Sandbox, base64url, mimecheck, reply};
use mail_parser::MimeHeaders;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn the_catalog_shows_gmail_and_what_a_user_must_fill_in() {
    let sandbox = Sandbox::start().await;
    let list = sandbox.api(Method::GET, "/elements", None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    let gmail = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "gmail")
        .expect("gmail in the catalog");
    assert_eq!(gmail["authentication"]["type"], "oauth2");
    assert_eq!(gmail["hub"], "general");
    let by_id = sandbox
        .api(Method::GET, &format!("/elements/{}", gmail["id"]), None)
        .await;
    assert_eq!(by_id.body["key"], "gmail");

    let metadata = sandbox
        .api(Method::GET, "/elements/gmail/metadata", None)
        .await;
    assert_eq!(metadata.status, StatusCode::OK);
    let fields: Vec<&str> = metadata.body["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["key"].as_str().unwrap())
        .collect();
    for key in [
        "oauth.api.key",
        "oauth.api.secret",
        "oauth.callback.url",
        "oauth.scope",
    ] {
        assert!(fields.contains(&key), "{key} missing from {fields:?}");
    }
    let secret = metadata.body["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "oauth.api.secret")
        .unwrap();
    assert_eq!(secret["type"], "PASSWORD");
    let scope = metadata.body["configuration"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["key"] == "oauth.scope")
        .unwrap();
    assert_eq!(
        scope["defaultValue"],
        "https://mail.google.com/ https://www.googleapis.com/auth/gmail.settings.basic"
    );
}

/// Cloud Elements' provisioning: oauth/url → consent at the provider → POST /instances with the code.
async fn provision_the_cloud_elements_way(sandbox: &Sandbox, account: &str) -> Value {
    let url = format!(
        "/elements/gmail/oauth/url?apiKey={}&apiSecret={}&callbackUrl={}",
        sandbox.client_id(),
        sandbox.client_secret(),
        url::form_urlencoded::byte_serialize(sandbox.redirect_uri().as_bytes()).collect::<String>()
    );
    let oauth = sandbox.api(Method::GET, &url, None).await;
    assert_eq!(oauth.status, StatusCode::OK, "{}", oauth.text);
    assert_eq!(oauth.body["element"], "gmail");
    let oauth_url = url::Url::parse(oauth.body["oauthUrl"].as_str().unwrap()).unwrap();
    let query: std::collections::HashMap<String, String> =
        oauth_url.query_pairs().into_owned().collect();
    assert_eq!(query["access_type"], "offline");
    assert_eq!(query["prompt"], "consent");
    assert_eq!(
        query["scope"],
        "https://mail.google.com/ https://www.googleapis.com/auth/gmail.settings.basic"
    );
    assert_eq!(query["state"], "gmail");

    let callback =
        url::Url::parse(&sandbox.consent(oauth_url.as_str(), account, "allow").await).unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("a code");
    let created = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": "gmail"},
                "providerData": {"code": code},
                "configuration": {
                    "oauth.api.key": sandbox.client_id(),
                    "oauth.api.secret": sandbox.client_secret(),
                    "oauth.callback.url": sandbox.redirect_uri()
                },
                "name": format!("{account} via code"),
                "tags": ["seed"]
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    created.body
}

#[tokio::test]
async fn the_seed_walkthrough_works_end_to_end() {
    let sandbox = Sandbox::start().await;
    let ada = sandbox.account(0);
    let grace = sandbox.account(1);

    // Create the instance as Cloud Elements clients do.
    let instance = provision_the_cloud_elements_way(&sandbox, &ada).await;
    assert!(instance["id"].as_i64().unwrap() > 0);
    let token = instance["token"].as_str().unwrap().to_owned();
    assert_eq!(instance["valid"], true);
    assert_eq!(instance["account"], ada.as_str());
    assert_eq!(instance["configuration"]["oauth.api.secret"], "********");

    // GET /messages: ids and thread ids, newest first; the consent's security alert is there.
    let list = sandbox.hub(Method::GET, "/messages", &token, None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert_eq!(
        list.header("elements-element-instance-id"),
        Some(instance["id"].to_string().as_str())
    );
    let messages = list.body.as_array().unwrap();
    assert!(!messages.is_empty());
    for message in messages {
        assert!(
            message["id"].is_string() && message["threadId"].is_string(),
            "{message}"
        );
    }

    // GET /messages/{id}: the Gmail message shape.
    let first = messages[0]["id"].as_str().unwrap();
    let got = sandbox
        .hub(
            Method::GET,
            &format!("/hubs/general/messages/{first}"),
            &token,
            None,
        )
        .await;
    assert_eq!(got.status, StatusCode::OK, "{}", got.text);
    for field in [
        "id",
        "threadId",
        "labelIds",
        "snippet",
        "historyId",
        "internalDate",
        "sizeEstimate",
        "payload",
    ] {
        assert!(
            !got.body[field].is_null(),
            "{field} missing in {}",
            got.text
        );
    }
    assert!(
        got.body["snippet"]
            .as_str()
            .unwrap()
            .contains("was granted access to your Google Account"),
        "{}",
        got.text
    );
    assert!(
        got.body["internalDate"].is_string(),
        "int64 as a JSON string"
    );

    // POST /messages the API docs way: JSON {subject, from, data}.
    let sent = sandbox
        .hub(
            Method::POST,
            "/messages",
            &token,
            Some(json!({"to": grace, "subject": "YOUR SUBJECT", "from": ada, "data": "THE MESSAGE BODY"})),
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert!(
        sent.body["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("SENT"))
    );

    // POST /messages the flow way: multipart body + file, to the second account.
    let attachment: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let form = reqwest::multipart::Form::new()
        .text("body", json!({"to": grace, "subject": "Quarterly report ✓", "from": format!("Ada Lovelace <{ada}>"), "data": "The report is attached. Grüße!"}).to_string())
        .part("file", reqwest::multipart::Part::bytes(attachment.clone()).file_name("report.pdf").mime_str("application/pdf").unwrap());
    let multipart = reply(
        sandbox
            .http
            .post(format!("{}/elements/api-v2/messages", sandbox.ferry()))
            .header("Authorization", sandbox.element_auth(&token))
            .multipart(form)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(multipart.status, StatusCode::OK, "{}", multipart.text);
    assert!(multipart.body["id"].is_string());

    // Grace finds it, intact, through her own instance.
    let grace_instance = sandbox.connect_gmail("grace's mail", &grace).await;
    let grace_token = grace_instance["token"].as_str().unwrap();
    let query =
        url::form_urlencoded::byte_serialize("q='subject:Quarterly has:attachment'".as_bytes())
            .collect::<String>();
    let found = sandbox
        .hub(
            Method::GET,
            &format!("/messages?where={query}"),
            grace_token,
            None,
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.text);
    let id = found.body[0]["id"].as_str().unwrap();
    let full = sandbox
        .hub(Method::GET, &format!("/messages/{id}"), grace_token, None)
        .await;
    assert!(
        full.body["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("INBOX"))
    );
    let parts = full.body["payload"]["parts"].as_array().unwrap();
    let file_part = parts
        .iter()
        .find(|p| p["filename"] == "report.pdf")
        .expect("the attachment part");
    assert!(file_part["body"]["attachmentId"].is_string(), "{file_part}");
    let subject = full.body["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "Subject")
        .unwrap();
    assert_eq!(subject["value"], "Quarterly report ✓");
    let raw = sandbox
        .hub(
            Method::GET,
            &format!("/messages/{id}?format=raw"),
            grace_token,
            None,
        )
        .await;
    let bytes = base64url(raw.body["raw"].as_str().unwrap());
    let parsed = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    let received = parsed.attachments().next().expect("an attachment");
    assert_eq!(received.attachment_name(), Some("report.pdf"));
    assert_eq!(
        received.contents(),
        attachment.as_slice(),
        "attachment bytes changed on the way"
    );
    assert!(parsed.body_text(0).unwrap().contains("Grüße"));

    // Everything ferry built is valid RFC 5322 / MIME by independent parsers.
    let sent_by_ferry: Vec<Vec<u8>> = sandbox
        .mailbox(&ada)
        .await
        .iter()
        .filter(|m| m["labelIds"].as_array().unwrap().contains(&json!("SENT")))
        .map(|m| base64url(m["raw"].as_str().unwrap()))
        .collect();
    assert_eq!(sent_by_ferry.len(), 2);
    mimecheck(&sent_by_ferry);
}

#[tokio::test]
async fn pages_follow_the_next_page_token_until_there_is_no_more() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("pages", &sandbox.account(0)).await;
    let token = instance["token"].as_str().unwrap();
    let all = sandbox.hub(Method::GET, "/messages", token, None).await;
    let total = all.body.as_array().unwrap().len();
    assert!(total >= 2, "the demo inbox has several messages");
    assert!(
        all.header("elements-next-page-token").is_none(),
        "no token when nothing more exists"
    );

    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(token) => format!("/messages?pageSize=1&nextPage={token}"),
            None => "/messages?pageSize=1".to_owned(),
        };
        let page = sandbox.hub(Method::GET, &path, token, None).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert_eq!(page.body.as_array().unwrap().len(), 1);
        seen.push(page.body[0]["id"].as_str().unwrap().to_owned());
        match page.header("elements-next-page-token") {
            Some(token) => next = Some(token.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), total);
    seen.dedup();
    assert_eq!(seen.len(), total, "pages overlap");
}
