//! Cloud Elements' own Gmail test suite (churros `src/test/elements/gmail/`, reference
//! cloud-elements.md §4.1), case by case, against ferry and the emulator: the same calls, the
//! same hub paths (`/hubs/general/…`), the same bodies, and every call must answer 200.

use crate::support::{Reply, Sandbox};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A small but real PDF, as churros attaches one.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n";

fn ok(reply: &Reply, what: &str) {
    assert_eq!(reply.status, StatusCode::OK, "{what}: {}", reply.text);
}

/// churros' `messages.json` asset: `{"to": …, "subject": <<random word>>}` plus a PDF `file` part.
fn message_form(to: &str, subject: &str) -> Form {
    Form::new()
        .text("body", json!({"to": to, "subject": subject}).to_string())
        .part(
            "file",
            Part::bytes(PDF.to_vec())
                .file_name("churros.pdf")
                .mime_str("application/pdf")
                .unwrap(),
        )
}

fn random_word() -> String {
    format!("churros{:08x}", rand::random::<u32>())
}

async fn connected() -> (Sandbox, String) {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("churros", &sandbox.account(0)).await;
    let token = instance["token"].as_str().unwrap().to_owned();
    (sandbox, token)
}

#[tokio::test]
async fn ping() {
    let (sandbox, token) = connected().await;
    let reply = sandbox
        .hub(Method::GET, "/hubs/general/ping", &token, None)
        .await;
    ok(&reply, "GET /ping");
}

#[tokio::test]
async fn messages_csrd_and_ceql_search() {
    let (sandbox, token) = connected().await;
    let subject = random_word();
    let created = sandbox
        .hub_form(
            Method::POST,
            "/hubs/general/messages",
            &token,
            message_form(&sandbox.account(1), &subject),
        )
        .await;
    ok(&created, "POST /messages");
    let id = created.body["id"].as_str().unwrap().to_owned();

    let search = format!(
        "/hubs/general/messages?where={}",
        urlencode(&format!("q='subject:{subject}'"))
    );
    let found = sandbox.hub(Method::GET, &search, &token, None).await;
    ok(&found, "GET /messages?where");
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.text);
    assert_eq!(found.body[0]["id"], id.as_str());

    ok(
        &sandbox
            .hub(Method::GET, "/hubs/general/messages", &token, None)
            .await,
        "GET /messages",
    );
    let message = sandbox
        .hub(
            Method::GET,
            &format!("/hubs/general/messages/{id}"),
            &token,
            None,
        )
        .await;
    ok(&message, "GET /messages/{id}");
    let attachment_id = message.body["payload"]["parts"][1]["body"]["attachmentId"]
        .as_str()
        .unwrap_or_else(|| panic!("no attachment in {}", message.text))
        .to_owned();
    let attachment = sandbox
        .hub(
            Method::GET,
            &format!("/hubs/general/messages/{id}/attachments/{attachment_id}"),
            &token,
            None,
        )
        .await;
    ok(&attachment, "GET /messages/{id}/attachments/{attachmentId}");
    assert_eq!(
        crate::support::base64url(attachment.body["data"].as_str().unwrap()),
        PDF
    );

    let updated = sandbox
        .hub(
            Method::PATCH,
            &format!("/hubs/general/messages/{id}"),
            &token,
            Some(json!({"addLabelIds": ["IMPORTANT"]})),
        )
        .await;
    ok(&updated, "PATCH /messages/{id}");
    assert!(
        labels(&updated.body).contains(&"IMPORTANT".to_owned()),
        "{}",
        updated.text
    );
    let trashed = sandbox
        .hub(
            Method::POST,
            &format!("/hubs/general/messages/{id}/trash"),
            &token,
            None,
        )
        .await;
    ok(&trashed, "POST /messages/{id}/trash");
    assert!(labels(&trashed.body).contains(&"TRASH".to_owned()));
    let untrashed = sandbox
        .hub(
            Method::POST,
            &format!("/hubs/general/messages/{id}/untrash"),
            &token,
            None,
        )
        .await;
    ok(&untrashed, "POST /messages/{id}/untrash");
    assert!(!labels(&untrashed.body).contains(&"TRASH".to_owned()));
    ok(
        &sandbox
            .hub(
                Method::DELETE,
                &format!("/hubs/general/messages/{id}"),
                &token,
                None,
            )
            .await,
        "DELETE /messages/{id}",
    );
    let gone = sandbox
        .hub(
            Method::GET,
            &format!("/hubs/general/messages/{id}"),
            &token,
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);

    let imported = sandbox
        .hub_form(
            Method::POST,
            "/hubs/general/messages/import",
            &token,
            message_form(&sandbox.account(0), &random_word()),
        )
        .await;
    ok(&imported, "POST /messages/import");
    let imported_id = imported.body["id"].as_str().unwrap().to_owned();
    let multiple = sandbox
        .hub(
            Method::PATCH,
            "/hubs/general/messages/multiple",
            &token,
            Some(json!({"ids": [imported_id], "addLabelIds": ["IMPORTANT"]})),
        )
        .await;
    ok(&multiple, "PATCH /messages/multiple");
    let mailbox = sandbox.mailbox(&sandbox.account(0)).await;
    let stored = mailbox
        .iter()
        .find(|m| m["id"] == imported_id.as_str())
        .unwrap();
    assert!(labels(stored).contains(&"IMPORTANT".to_owned()), "{stored}");
}

#[tokio::test]
async fn messages_next_page_pagination() {
    let (sandbox, token) = connected().await;
    let first = sandbox
        .hub(
            Method::GET,
            "/hubs/general/messages?pageSize=1&nextPage=",
            &token,
            None,
        )
        .await;
    ok(&first, "GET /messages?pageSize=1&nextPage=");
    assert_eq!(first.body.as_array().unwrap().len(), 1, "{}", first.text);
    let next = first
        .header("elements-next-page-token")
        .expect("the demo inbox has more than one message")
        .to_owned();
    let second = sandbox
        .hub(
            Method::GET,
            &format!(
                "/hubs/general/messages?pageSize=1&nextPage={}",
                urlencode(&next)
            ),
            &token,
            None,
        )
        .await;
    ok(&second, "second page");
    assert_eq!(second.body.as_array().unwrap().len(), 1);
    assert_ne!(second.body[0]["id"], first.body[0]["id"]);
}

#[tokio::test]
async fn threads_ceql_search_srd_and_pagination() {
    let (sandbox, token) = connected().await;
    let subject = random_word();
    let sent = sandbox
        .hub_form(
            Method::POST,
            "/hubs/general/messages",
            &token,
            message_form(&sandbox.account(1), &subject),
        )
        .await;
    ok(&sent, "POST /hubs/general/messages");
    let message_id = sent.body["id"].as_str().unwrap().to_owned();

    let search = format!(
        "/hubs/general/threads?where={}",
        urlencode(&format!("q='subject:{subject}'"))
    );
    let found = sandbox.hub(Method::GET, &search, &token, None).await;
    ok(&found, "GET /threads?where");
    assert_eq!(found.body.as_array().unwrap().len(), 1, "{}", found.text);

    let threads = sandbox
        .hub(Method::GET, "/hubs/general/threads", &token, None)
        .await;
    ok(&threads, "GET /threads");
    let first = threads.body[0]["id"].as_str().unwrap().to_owned();
    let thread = sandbox
        .hub(
            Method::GET,
            &format!("/hubs/general/threads/{first}"),
            &token,
            None,
        )
        .await;
    ok(&thread, "GET /threads/{id}");
    assert!(!thread.body["messages"].as_array().unwrap().is_empty());

    // churros passes the message id: a one-message thread's id is its message's.
    for (method, path) in [
        (
            Method::POST,
            format!("/hubs/general/threads/{message_id}/trash"),
        ),
        (
            Method::POST,
            format!("/hubs/general/threads/{message_id}/untrash"),
        ),
        (
            Method::DELETE,
            format!("/hubs/general/threads/{message_id}"),
        ),
    ] {
        let reply = sandbox.hub(method.clone(), &path, &token, None).await;
        ok(&reply, &format!("{method} {path}"));
    }
    let remaining = sandbox.mailbox(&sandbox.account(0)).await;
    assert!(remaining.iter().all(|m| m["id"] != message_id.as_str()));

    let page = sandbox
        .hub(
            Method::GET,
            "/hubs/general/threads?pageSize=1&nextPage=",
            &token,
            None,
        )
        .await;
    ok(&page, "GET /threads?pageSize=1");
    assert_eq!(page.body.as_array().unwrap().len(), 1);
    let next = page.header("elements-next-page-token").unwrap().to_owned();
    let second = sandbox
        .hub(
            Method::GET,
            &format!(
                "/hubs/general/threads?pageSize=1&nextPage={}",
                urlencode(&next)
            ),
            &token,
            None,
        )
        .await;
    ok(&second, "second page of threads");
    assert_ne!(second.body[0]["id"], page.body[0]["id"]);
}

pub fn labels(message: &Value) -> Vec<String> {
    message["labelIds"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
