//! Gmail messages: send (JSON, media, multipart), delivery, formats, attachments, threads,
//! pagination, drafts, insert/import, batch, faults.

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use google_emulator::Fault;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

const ATTACHMENT: &[u8] = &[0, 1, 2, 3, 0xfe, 0xff, b'\r', b'\n', 42, 0x80];

fn mail_with_attachment(subject: &str) -> Vec<u8> {
    let data = base64::engine::general_purpose::STANDARD.encode(ATTACHMENT);
    format!(
        "From: Alice Example <{ALICE}>\r\n\
To: Bob Example <{BOB}>\r\n\
Bcc: {CAROL}\r\n\
Subject: {subject}\r\n\
Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n\
Message-ID: <report-1@example.com>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"outer\"\r\n\
\r\n\
--outer\r\n\
Content-Type: text/plain; charset=UTF-8\r\n\
\r\n\
Hi Bob, here's the quarterly report.\r\n\
--outer\r\n\
Content-Type: application/octet-stream; name=\"report.bin\"\r\n\
Content-Disposition: attachment; filename=\"report.bin\"\r\n\
Content-Transfer-Encoding: base64\r\n\
\r\n\
{data}\r\n\
--outer--\r\n"
    )
    .into_bytes()
}

#[tokio::test]
async fn send_with_attachment_arrives_and_reads_back_in_every_format() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let bob = Gmail::new(&base, BOB).await;
    let sent = alice
        .send_raw(&mail_with_attachment("Quarterly report"))
        .await;
    assert_eq!(sent["labelIds"], json!(["SENT"]));
    let sent_id = sent["id"].as_str().unwrap();
    assert_eq!(sent_id.len(), 16);
    assert_eq!(sent["threadId"], sent["id"]);

    let ids = bob
        .search("from:alice subject:quarterly has:attachment")
        .await;
    assert_eq!(ids.len(), 1);
    let id = &ids[0];
    assert_ne!(id, sent_id, "the recipient's copy is its own message");

    let (status, full) = bob.get(&format!("messages/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let keys: Vec<&String> = full.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "id",
            "threadId",
            "labelIds",
            "snippet",
            "payload",
            "sizeEstimate",
            "historyId",
            "internalDate"
        ]
    );
    let labels = full["labelIds"].as_array().unwrap();
    for l in ["INBOX", "UNREAD", "CATEGORY_PERSONAL"] {
        assert!(labels.contains(&json!(l)), "{labels:?}");
    }
    assert_eq!(full["snippet"], "Hi Bob, here&#39;s the quarterly report.");
    assert!(
        full["internalDate"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
    assert!(full["historyId"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(
        header(&full, "Bcc").is_none(),
        "Bcc is not visible to recipients"
    );
    assert_eq!(
        header(&full, "Subject").as_deref(),
        Some("Quarterly report")
    );
    let payload = &full["payload"];
    assert_eq!(payload["partId"], "");
    assert_eq!(payload["mimeType"], "multipart/mixed");
    assert_eq!(payload["body"], json!({"size": 0}));
    assert_eq!(payload["parts"][0]["partId"], "0");
    assert_eq!(payload["parts"][0]["mimeType"], "text/plain");
    assert_eq!(
        b64(payload["parts"][0]["body"]["data"].as_str().unwrap()),
        b"Hi Bob, here's the quarterly report."
    );
    let attachment = &payload["parts"][1];
    assert_eq!(attachment["partId"], "1");
    assert_eq!(attachment["filename"], "report.bin");
    assert_eq!(attachment["body"]["size"], ATTACHMENT.len());
    assert!(attachment["body"].get("data").is_none());
    let attachment_id = attachment["body"]["attachmentId"].as_str().unwrap();

    let (status, body) = bob
        .get(&format!("messages/{id}/attachments/{attachment_id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["size"], ATTACHMENT.len());
    assert_eq!(b64(body["data"].as_str().unwrap()), ATTACHMENT);

    let (_, raw) = bob.get(&format!("messages/{id}?format=raw")).await;
    assert!(raw.get("payload").is_none());
    let raw_bytes = b64(raw["raw"].as_str().unwrap());
    assert_eq!(raw["sizeEstimate"], raw_bytes.len());
    assert!(!String::from_utf8_lossy(&raw_bytes).contains("Bcc:"));
    assert!(String::from_utf8_lossy(&raw_bytes).contains("Subject: Quarterly report"));

    let (_, meta) = bob
        .get(&format!(
            "messages/{id}?format=metadata&metadataHeaders=Subject&metadataHeaders=from"
        ))
        .await;
    let names: Vec<&str> = meta["payload"]["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["From", "Subject"]);
    assert!(meta["payload"].get("parts").is_none());

    let (_, minimal) = bob.get(&format!("messages/{id}?format=minimal")).await;
    assert!(minimal.get("payload").is_none() && minimal.get("raw").is_none());
    assert_eq!(minimal["id"], json!(id));

    // The sender's copy keeps Bcc and is labelled SENT; Carol (Bcc) got her own copy.
    let (_, own) = alice.get(&format!("messages/{sent_id}")).await;
    assert_eq!(header(&own, "Bcc").as_deref(), Some(CAROL));
    let carol = emu.emulator().mailbox_messages(CAROL);
    let copy = carol
        .iter()
        .find(|m| String::from_utf8_lossy(&m.raw).contains("Quarterly report"))
        .unwrap();
    assert!(!String::from_utf8_lossy(&copy.raw).contains("Bcc:"));
}

#[tokio::test]
async fn media_and_multipart_uploads_send_byte_exact_messages() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let raw = mail_with_attachment("Uploaded by media");
    let resp = http()
        .post(format!(
            "{base}/upload/gmail/v1/users/me/messages/send?uploadType=media"
        ))
        .bearer_auth(&alice.token)
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let sent: Value = resp.json().await.unwrap();
    let stored = emu.emulator().mailbox_messages(ALICE);
    let mine = stored
        .iter()
        .find(|m| m.id == sent["id"].as_str().unwrap())
        .unwrap();
    assert_eq!(mine.raw, raw);
    assert_eq!(mine.label_ids, vec!["SENT".to_string()]);

    let raw = format!(
        "From: {ALICE}\r\nTo: {BOB}\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMessage-ID: <up-2@example.com>\r\nSubject: Uploaded multipart\r\n\r\nmultipart body\r\n"
    )
    .into_bytes();
    let mut body = b"--rel\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{}\r\n--rel\r\nContent-Type: message/rfc822\r\n\r\n".to_vec();
    body.extend_from_slice(&raw);
    body.extend_from_slice(b"\r\n--rel--\r\n");
    let resp = http()
        .post(format!(
            "{base}/upload/gmail/v1/users/{ALICE}/messages/send?uploadType=multipart"
        ))
        .bearer_auth(&alice.token)
        .header("content-type", "multipart/related; boundary=rel")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bob_copy = emu
        .emulator()
        .mailbox_messages(BOB)
        .into_iter()
        .find(|m| String::from_utf8_lossy(&m.raw).contains("Uploaded multipart"))
        .unwrap();
    assert_eq!(bob_copy.raw, raw);
}

#[tokio::test]
async fn send_fills_in_from_date_and_message_id_and_rejects_messages_without_recipients() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let sent = alice
        .send_raw(format!("To: {BOB}\r\nSubject: no from\r\n\r\nhello").as_bytes())
        .await;
    let (_, msg) = alice
        .get(&format!("messages/{}", sent["id"].as_str().unwrap()))
        .await;
    assert_eq!(header(&msg, "From").as_deref(), Some(ALICE));
    assert!(header(&msg, "Date").is_some());
    assert!(header(&msg, "Message-ID").is_some());

    for (raw, message) in [
        (
            "Subject: nobody\r\n\r\nhello".to_string(),
            "Recipient address required",
        ),
        (
            "To: not an address\r\nSubject: x\r\n\r\nhello".to_string(),
            "Invalid To header",
        ),
    ] {
        let (status, body) = alice
            .post(
                "messages/send",
                &json!({"raw": URL_SAFE_NO_PAD.encode(raw)}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_gmail_error(&body, 400, "INVALID_ARGUMENT", "invalidArgument");
        assert_eq!(body["error"]["message"], message);
    }
}

#[tokio::test]
async fn replies_join_the_thread_in_both_mailboxes() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let bob = Gmail::new(&base, BOB).await;
    let first = alice
        .send_raw(format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: Lunch?\r\nMessage-ID: <lunch-1@example.com>\r\n\r\nNoon?").as_bytes())
        .await;
    let bob_first = bob.search("subject:lunch").await;
    assert_eq!(bob_first.len(), 1);
    let reply = bob
        .send_raw(
            format!(
                "From: {BOB}\r\nTo: {ALICE}\r\nSubject: Re: Lunch?\r\nIn-Reply-To: <lunch-1@example.com>\r\nReferences: <lunch-1@example.com>\r\n\r\nSure."
            )
            .as_bytes(),
        )
        .await;
    assert_eq!(
        reply["threadId"],
        json!(bob_first[0]),
        "the reply joins Bob's thread"
    );
    let alice_ids = alice.search("subject:lunch").await;
    assert_eq!(alice_ids.len(), 2);
    let (_, thread) = alice
        .get(&format!("threads/{}", first["threadId"].as_str().unwrap()))
        .await;
    let messages = thread["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["id"], first["id"]);
    assert_eq!(
        header(&messages[1], "Subject").as_deref(),
        Some("Re: Lunch?")
    );

    // An explicit threadId also threads.
    let (status, third) = alice
        .post(
            "messages/send",
            &json!({
                "raw": URL_SAFE_NO_PAD.encode(format!("To: {BOB}\r\nSubject: Re: Lunch?\r\n\r\nSee you")),
                "threadId": first["threadId"],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(third["threadId"], first["threadId"]);
    let (status, threads) = alice.get("threads?q=lunch").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(threads["threads"].as_array().unwrap().len(), 1);
    assert_eq!(threads["threads"][0]["snippet"], "See you");
}

#[tokio::test]
async fn list_pages_newest_first_with_max_results_and_page_token() {
    let emu = start().await;
    let base = emu.url();
    let carol = Gmail::new(&base, CAROL).await;
    let before: Vec<String> = carol.list_ids("").await;
    let mut sent = Vec::new();
    for i in 0..7 {
        let s = carol
            .send_raw(&simple_mail(
                CAROL,
                "someone@elsewhere.example",
                &format!("page test {i}"),
                "x",
            ))
            .await;
        sent.push(s["id"].as_str().unwrap().to_string());
    }
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let path = match &token {
            Some(t) => format!("messages?maxResults=3&labelIds=SENT&pageToken={t}"),
            None => "messages?maxResults=3&labelIds=SENT".to_string(),
        };
        let (status, body) = carol.get(&path).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["resultSizeEstimate"], 7);
        let page: Vec<String> = body["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_string())
            .collect();
        assert!(page.len() <= 3);
        seen.extend(page);
        match body["nextPageToken"].as_str() {
            Some(t) => token = Some(t.to_string()),
            None => break,
        }
    }
    sent.reverse();
    assert_eq!(seen, sent, "newest first, every message once");
    let (_, empty) = carol.get("messages?q=nothing-matches-this").await;
    assert_eq!(empty, json!({"resultSizeEstimate": 0}));
    assert_eq!(carol.list_ids("").await.len(), before.len() + 7);
}

#[tokio::test]
async fn insert_and_import_store_without_sending_and_honour_internal_date_source() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let raw = format!(
        "From: old@example.com\r\nTo: {ALICE}\r\nDate: Tue, 15 Nov 1994 08:12:31 +0000\r\nSubject: imported\r\n\r\nold mail"
    );
    let (status, imported) = alice
        .post(
            "messages/import",
            &json!({"raw": URL_SAFE_NO_PAD.encode(&raw), "labelIds": ["INBOX", "UNREAD"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    let (_, msg) = alice
        .get(&format!("messages/{}", imported["id"].as_str().unwrap()))
        .await;
    assert_eq!(msg["internalDate"], "784887151000");
    assert_eq!(msg["labelIds"], json!(["INBOX", "UNREAD"]));
    assert_eq!(
        alice.search("before:1995/01/01").await,
        vec![imported["id"].as_str().unwrap().to_string()]
    );

    let resp = http()
        .post(format!("{base}/upload/gmail/v1/users/me/messages?uploadType=media&internalDateSource=receivedTime"))
        .bearer_auth(&alice.token)
        .header("content-type", "message/rfc822")
        .body(raw.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let inserted: Value = resp.json().await.unwrap();
    let (_, msg) = alice
        .get(&format!("messages/{}", inserted["id"].as_str().unwrap()))
        .await;
    assert!(
        msg["internalDate"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 1_600_000_000_000
    );
    assert!(msg.get("labelIds").is_none(), "no labels: only in All Mail");
    assert!(
        emu.emulator()
            .mailbox_messages("old@example.com")
            .is_empty()
    );
}

#[tokio::test]
async fn drafts_are_created_listed_read_updated_and_sent() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let raw = simple_mail(ALICE, BOB, "Draft subject", "first version");
    let (status, draft) = alice
        .post(
            "drafts",
            &json!({"message": {"raw": URL_SAFE_NO_PAD.encode(&raw)}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{draft}");
    let draft_id = draft["id"].as_str().unwrap().to_string();
    assert!(draft_id.starts_with('r'));
    assert_eq!(draft["message"]["labelIds"], json!(["DRAFT"]));
    let (_, list) = alice.get("drafts").await;
    assert_eq!(list["drafts"][0]["id"], json!(draft_id));
    let updated = simple_mail(ALICE, BOB, "Draft subject", "second version");
    let (status, _) = alice
        .send_json(
            reqwest::Method::PUT,
            &format!("drafts/{draft_id}"),
            &json!({"message": {"raw": URL_SAFE_NO_PAD.encode(&updated)}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, got) = alice.get(&format!("drafts/{draft_id}?format=raw")).await;
    assert_eq!(b64(got["message"]["raw"].as_str().unwrap()), updated);
    let (status, sent) = alice.post("drafts/send", &json!({"id": draft_id})).await;
    assert_eq!(status, StatusCode::OK, "{sent}");
    assert_eq!(sent["labelIds"], json!(["SENT"]));
    let (_, list) = alice.get("drafts").await;
    assert!(list.get("drafts").is_none());
    let bob = Gmail::new(&base, BOB).await;
    assert_eq!(bob.search("\"second version\"").await.len(), 1);
    let (status, _) = alice.get(&format!("drafts/{draft_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn batch_requests_are_answered_part_by_part() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let ids = alice.list_ids("maxResults=2").await;
    let mut body = String::new();
    for (n, id) in ids.iter().enumerate() {
        body.push_str(&format!(
            "--batch_x\r\nContent-Type: application/http\r\nContent-ID: <item{n}>\r\n\r\nGET /gmail/v1/users/me/messages/{id}?format=minimal HTTP/1.1\r\n\r\n\r\n"
        ));
    }
    body.push_str("--batch_x--\r\n");
    let resp = http()
        .post(format!("{base}/batch/gmail/v1"))
        .bearer_auth(&alice.token)
        .header("content-type", "multipart/mixed; boundary=batch_x")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let text = resp.text().await.unwrap();
    assert_eq!(text.matches("HTTP/1.1 200 OK").count(), ids.len());
    assert!(text.contains("Content-ID: <response-item0>"));
    for id in &ids {
        assert!(text.contains(id.as_str()));
    }
}

#[tokio::test]
async fn injected_faults_fail_or_slow_the_next_calls_only() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    emu.emulator().inject_fault(
        ALICE,
        Fault::Status {
            status: 429,
            retry_after_secs: Some(7),
            times: 2,
        },
    );
    for _ in 0..2 {
        let resp = http()
            .get(alice.url("messages"))
            .bearer_auth(&alice.token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(resp.headers().get("retry-after").unwrap(), "7");
        let body: Value = resp.json().await.unwrap();
        assert_gmail_error(&body, 429, "RESOURCE_EXHAUSTED", "rateLimitExceeded");
    }
    assert_eq!(alice.get("messages").await.0, StatusCode::OK);

    for (status, name, reason) in [
        (500, "INTERNAL", "backendError"),
        (503, "UNAVAILABLE", "backendError"),
    ] {
        emu.emulator().inject_fault(
            ALICE,
            Fault::Status {
                status,
                retry_after_secs: None,
                times: 1,
            },
        );
        let (got, body) = alice.get("profile").await;
        assert_eq!(got.as_u16(), status);
        assert_gmail_error(&body, status, name, reason);
    }

    emu.emulator().inject_fault(
        ALICE,
        Fault::Delay {
            millis: 300,
            times: 1,
        },
    );
    let started = Instant::now();
    assert_eq!(alice.get("profile").await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(alice.get("profile").await.0, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(300));

    // Another account is not affected.
    emu.emulator().inject_fault(
        ALICE,
        Fault::Status {
            status: 500,
            retry_after_secs: None,
            times: 1,
        },
    );
    let bob = Gmail::new(&base, BOB).await;
    assert_eq!(bob.get("profile").await.0, StatusCode::OK);
}
