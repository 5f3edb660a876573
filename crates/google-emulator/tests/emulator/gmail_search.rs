//! The `q` search language over HTTP: every operator ferry relies on.

use crate::support::*;
use google_emulator::{Emulator, EmulatorConfig};
use reqwest::StatusCode;
use serde_json::json;

/// Bob's mailbox with three known messages (and no demo mail).
async fn mailbox() -> (google_emulator::RunningEmulator, Gmail, [String; 3]) {
    let emu = start_with(EmulatorConfig {
        seed_demo_mail: false,
        ..config()
    })
    .await;
    let base = emu.url();
    let e: &Emulator = emu.emulator();
    let report = e
        .deliver(
            BOB,
            format!(
                "From: Alice Smith <{ALICE}>\r\nTo: {BOB}\r\nCc: team@example.com\r\nSubject: Quarterly report\r\n\
Message-ID: <q-report@example.com>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nThe numbers look great this quarter.\r\n\
--b\r\nContent-Type: application/pdf; name=summary.pdf\r\nContent-Disposition: attachment; filename=summary.pdf\r\n\r\nPDF\r\n--b--\r\n"
            )
            .into_bytes(),
        )
        .unwrap();
    let lunch = e
        .deliver(
            BOB,
            format!("From: Carol <{CAROL}>\r\nTo: {BOB}\r\nSubject: Lunch plans\r\nMessage-ID: <lunch@example.com>\r\n\r\nPizza or sushi? Let's decide.").into_bytes(),
        )
        .unwrap();
    let newsletter = e
        .deliver(
            BOB,
            "From: News <news@letters.example>\r\nTo: list@letters.example\r\nBcc: bob@example.com\r\nSubject: Weekly digest\r\n\r\nAll the news, unsubscribe anytime.".as_bytes().to_vec(),
        )
        .unwrap();
    let gmail = Gmail::new(&base, BOB).await;
    // The consent above delivered a security alert; take it out of the picture.
    let alert = gmail.search("from:no-reply@accounts.google.com").await;
    for id in alert {
        assert_eq!(
            gmail
                .send_json(
                    reqwest::Method::DELETE,
                    &format!("messages/{id}"),
                    &json!({})
                )
                .await
                .0,
            StatusCode::NO_CONTENT
        );
    }
    (emu, gmail, [report, lunch, newsletter])
}

#[tokio::test]
async fn every_operator_matches_what_gmail_would() {
    let (_emu, gmail, [report, lunch, news]) = mailbox().await;
    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("from:alice", vec![&report]),
        ("from:\"Alice Smith\"", vec![&report]),
        ("from:letters.example", vec![&news]),
        ("to:list@letters.example", vec![&news]),
        ("to:team@example.com", vec![&report]),
        ("cc:team", vec![&report]),
        ("subject:lunch", vec![&lunch]),
        ("subject:(quarterly report)", vec![&report]),
        ("label:inbox", vec![&news, &lunch, &report]),
        ("in:inbox is:unread", vec![&news, &lunch, &report]),
        ("has:attachment", vec![&report]),
        ("filename:pdf", vec![&report]),
        ("filename:summary.pdf", vec![&report]),
        ("rfc822msgid:<lunch@example.com>", vec![&lunch]),
        ("rfc822msgid:q-report@example.com", vec![&report]),
        ("pizza", vec![&lunch]),
        ("PIZZA", vec![&lunch]),
        ("\"look great\"", vec![&report]),
        ("\"great look\"", vec![]),
        ("pizza OR digest", vec![&news, &lunch]),
        ("{pizza digest}", vec![&news, &lunch]),
        ("-pizza in:inbox", vec![&news, &report]),
        ("(pizza OR numbers) -has:attachment", vec![&lunch]),
        ("newer_than:1d", vec![&news, &lunch, &report]),
        ("older_than:1d", vec![]),
        ("after:2020/01/01", vec![&news, &lunch, &report]),
        ("before:2020-01-01", vec![]),
        ("after:1577836800", vec![&news, &lunch, &report]),
        ("is:starred", vec![]),
        ("in:anywhere lunch", vec![&lunch]),
    ];
    for (q, expected) in cases {
        let got = gmail.search(q).await;
        let expected: Vec<String> = expected.into_iter().cloned().collect();
        assert_eq!(got, expected, "q={q}");
    }
}

#[tokio::test]
async fn labels_read_state_and_trash_drive_the_search() {
    let (_emu, gmail, [report, lunch, news]) = mailbox().await;
    let (status, _) = gmail
        .post(
            &format!("messages/{lunch}/modify"),
            &json!({"removeLabelIds": ["UNREAD"], "addLabelIds": ["STARRED", "IMPORTANT"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(gmail.search("is:read").await, vec![lunch.clone()]);
    assert_eq!(
        gmail.search("is:unread").await,
        vec![news.clone(), report.clone()]
    );
    assert_eq!(
        gmail.search("is:starred is:important").await,
        vec![lunch.clone()]
    );
    gmail
        .post(&format!("messages/{news}/trash"), &json!({}))
        .await;
    assert_eq!(gmail.search("digest").await, Vec::<String>::new());
    assert_eq!(gmail.search("in:trash").await, vec![news.clone()]);
    assert_eq!(
        gmail.list_ids("includeSpamTrash=true&q=digest").await,
        vec![news.clone()]
    );
    let (_, label) = gmail.post("labels", &json!({"name": "Work Stuff"})).await;
    let label_id = label["id"].as_str().unwrap();
    gmail
        .post(
            &format!("messages/{report}/modify"),
            &json!({"addLabelIds": [label_id]}),
        )
        .await;
    assert_eq!(gmail.search("label:work-stuff").await, vec![report.clone()]);
    assert_eq!(
        gmail
            .list_ids(&format!("labelIds={label_id}&labelIds=INBOX"))
            .await,
        vec![report.clone()]
    );
    assert_eq!(
        gmail.search("label:no-such-label").await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn malformed_queries_answer_invalid_query() {
    let (_emu, gmail, _) = mailbox().await;
    for q in [
        "(unclosed",
        "\"open quote",
        "after:someday",
        "newer_than:3w",
        "a OR",
        "from:",
    ] {
        let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let (status, body) = gmail.get(&format!("messages?q={encoded}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "q={q}");
        assert_gmail_error(&body, 400, "INVALID_ARGUMENT", "invalidArgument");
        assert_eq!(body["error"]["message"], "Invalid query");
    }
}

#[tokio::test]
async fn folders_bcc_and_importance() {
    let (_emu, gmail, [report, lunch, news]) = mailbox().await;
    assert_eq!(
        gmail.search("bcc:bob@example.com").await,
        vec![news.clone()]
    );
    let sent = gmail
        .send_raw(&simple_mail(
            BOB,
            "someone@elsewhere.example",
            "Outgoing note",
            "sent text",
        ))
        .await;
    let sent_id = sent["id"].as_str().unwrap().to_string();
    assert_eq!(gmail.search("in:sent").await, vec![sent_id.clone()]);
    assert_eq!(
        gmail.search("to:someone@elsewhere.example in:sent").await,
        vec![sent_id]
    );
    gmail
        .post(
            &format!("messages/{lunch}/modify"),
            &json!({"addLabelIds": ["SPAM"], "removeLabelIds": ["INBOX"]}),
        )
        .await;
    assert_eq!(gmail.search("in:spam").await, vec![lunch.clone()]);
    assert!(
        gmail.search("pizza").await.is_empty(),
        "spam is hidden by default"
    );
    let raw = simple_mail(BOB, ALICE, "Unsent thoughts", "draft body");
    let (status, draft) = gmail
        .post("drafts", &json!({"message": {"raw": base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw)}}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        gmail.search("in:drafts").await,
        vec![draft["message"]["id"].as_str().unwrap().to_string()]
    );
    gmail
        .post(
            &format!("messages/{report}/modify"),
            &json!({"addLabelIds": ["IMPORTANT"]}),
        )
        .await;
    assert_eq!(gmail.search("is:important").await, vec![report.clone()]);
    assert_eq!(
        gmail.search("label:important -is:starred").await,
        vec![report]
    );
}
