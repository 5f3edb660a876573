//! Labels, modify, trash, delete, history and the profile.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn system_and_user_labels_with_counts() {
    let emu = start().await;
    let gmail = Gmail::new(&emu.url(), ALICE).await;
    let (status, list) = gmail.get("labels").await;
    assert_eq!(status, StatusCode::OK);
    let labels = list["labels"].as_array().unwrap();
    for id in [
        "INBOX",
        "SENT",
        "DRAFT",
        "SPAM",
        "TRASH",
        "UNREAD",
        "STARRED",
        "IMPORTANT",
        "CHAT",
        "CATEGORY_PERSONAL",
        "CATEGORY_SOCIAL",
        "CATEGORY_PROMOTIONS",
        "CATEGORY_UPDATES",
        "CATEGORY_FORUMS",
    ] {
        let l = labels
            .iter()
            .find(|l| l["id"] == id)
            .unwrap_or_else(|| panic!("{id}"));
        assert_eq!(l["type"], "system");
        assert_eq!(l["name"], id);
    }
    let (_, inbox) = gmail.get("labels/INBOX").await;
    // Two welcome mails and the security alert.
    assert_eq!(inbox["messagesTotal"], 3);
    assert_eq!(inbox["messagesUnread"], 3);
    assert_eq!(inbox["threadsTotal"], 3);
    assert_eq!(inbox["threadsUnread"], 3);

    let (status, created) = gmail
        .post("labels", &json!({"name": "Receipts", "labelListVisibility": "labelShow", "messageListVisibility": "show"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    assert_eq!(created["type"], "user");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("Label_"));
    let (status, dup) = gmail.post("labels", &json!({"name": "receipts"})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{dup}");
    let (status, _) = gmail.post("labels", &json!({"name": "INBOX"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let (status, patched) = gmail
        .send_json(
            Method::PATCH,
            &format!("labels/{id}"),
            &json!({"name": "Receipts 2024"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(patched["name"], "Receipts 2024");
    assert_eq!(patched["labelListVisibility"], "labelShow");
    let (status, updated) = gmail
        .send_json(
            Method::PUT,
            &format!("labels/{id}"),
            &json!({"name": "Bills"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(updated["name"], "Bills");
    assert!(updated.get("labelListVisibility").is_none());
    let (status, _) = gmail
        .send_json(Method::PATCH, "labels/INBOX", &json!({"name": "Mine"}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let some = gmail.list_ids("maxResults=1").await;
    gmail
        .post(
            &format!("messages/{}/modify", some[0]),
            &json!({"addLabelIds": [id]}),
        )
        .await;
    let (_, counted) = gmail.get(&format!("labels/{id}")).await;
    assert_eq!(counted["messagesTotal"], 1);
    let (status, _) = gmail
        .send_json(Method::DELETE, &format!("labels/{id}"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, msg) = gmail
        .get(&format!("messages/{}?format=minimal", some[0]))
        .await;
    assert!(!msg["labelIds"].as_array().unwrap().contains(&json!(id)));
    let (status, body) = gmail.get(&format!("labels/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_gmail_error(&body, 404, "NOT_FOUND", "notFound");
}

#[tokio::test]
async fn modify_trash_untrash_delete_and_batch_calls() {
    let emu = start().await;
    let gmail = Gmail::new(&emu.url(), ALICE).await;
    let ids = gmail.list_ids("").await;
    let id = &ids[0];
    let (status, modified) = gmail
        .post(
            &format!("messages/{id}/modify"),
            &json!({"addLabelIds": ["STARRED"], "removeLabelIds": ["UNREAD"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        modified.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["id", "threadId", "labelIds"]
    );
    let labels = modified["labelIds"].as_array().unwrap();
    assert!(labels.contains(&json!("STARRED")) && !labels.contains(&json!("UNREAD")));

    let (status, body) = gmail
        .post(
            &format!("messages/{id}/modify"),
            &json!({"addLabelIds": ["Label_404"]}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["message"], "Invalid label: Label_404");

    let (_, trashed) = gmail
        .post(&format!("messages/{id}/trash"), &json!({}))
        .await;
    let labels = trashed["labelIds"].as_array().unwrap();
    assert!(labels.contains(&json!("TRASH")) && !labels.contains(&json!("INBOX")));
    assert!(!gmail.list_ids("").await.contains(id));
    let (_, untrashed) = gmail
        .post(&format!("messages/{id}/untrash"), &json!({}))
        .await;
    let labels = untrashed["labelIds"].as_array().unwrap();
    assert!(!labels.contains(&json!("TRASH")) && labels.contains(&json!("INBOX")));

    let (status, _) = gmail
        .post(
            "messages/batchModify",
            &json!({"ids": ids, "addLabelIds": ["IMPORTANT"]}),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(gmail.search("is:important").await.len(), ids.len());

    let (status, _) = gmail
        .send_json(Method::DELETE, &format!("messages/{id}"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        gmail.get(&format!("messages/{id}")).await.0,
        StatusCode::NOT_FOUND
    );
    let (status, _) = gmail
        .post("messages/batchDelete", &json!({"ids": &ids[1..]}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(gmail.list_ids("").await.is_empty());
    let (_, profile) = gmail.get("profile").await;
    assert_eq!(profile["messagesTotal"], 0);
    assert_eq!(profile["threadsTotal"], 0);
}

fn record_ids(history: &Value, kind: &str) -> Vec<String> {
    history["history"]
        .as_array()
        .map(|records| {
            records
                .iter()
                .flat_map(|r| r[kind].as_array().cloned().unwrap_or_default())
                .map(|c| c["message"]["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn history_lists_changes_after_a_start_id() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let bob = Gmail::new(&base, BOB).await;
    let (_, profile) = bob.get("profile").await;
    assert_eq!(profile["emailAddress"], BOB);
    let start: u64 = profile["historyId"].as_str().unwrap().parse().unwrap();

    alice
        .send_raw(&simple_mail(ALICE, BOB, "history one", "1"))
        .await;
    let id = bob.search("subject:\"history one\"").await.remove(0);
    bob.post(
        &format!("messages/{id}/modify"),
        &json!({"removeLabelIds": ["UNREAD"]}),
    )
    .await;
    bob.send_json(Method::DELETE, &format!("messages/{id}"), &json!({}))
        .await;

    let (status, history) = bob.get(&format!("history?startHistoryId={start}")).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(record_ids(&history, "messagesAdded"), vec![id.clone()]);
    assert_eq!(record_ids(&history, "labelsRemoved"), vec![id.clone()]);
    assert_eq!(record_ids(&history, "messagesDeleted"), vec![id.clone()]);
    let removed = &history["history"][1]["labelsRemoved"][0];
    assert_eq!(removed["labelIds"], json!(["UNREAD"]));
    let current: u64 = history["historyId"].as_str().unwrap().parse().unwrap();
    assert!(current > start);
    for r in history["history"].as_array().unwrap() {
        assert!(r["id"].as_str().unwrap().parse::<u64>().unwrap() > start);
    }

    let (_, only_added) = bob
        .get(&format!(
            "history?startHistoryId={start}&historyTypes=messageAdded"
        ))
        .await;
    assert_eq!(only_added["history"].as_array().unwrap().len(), 1);
    let (_, by_label) = bob
        .get(&format!("history?startHistoryId={start}&labelId=UNREAD"))
        .await;
    assert_eq!(by_label["history"].as_array().unwrap().len(), 2);
    let (_, paged) = bob
        .get(&format!("history?startHistoryId={start}&maxResults=1"))
        .await;
    assert_eq!(paged["history"].as_array().unwrap().len(), 1);
    let token = paged["nextPageToken"].as_str().unwrap();
    let (_, rest) = bob
        .get(&format!(
            "history?startHistoryId={start}&maxResults=5&pageToken={token}"
        ))
        .await;
    assert_eq!(rest["history"].as_array().unwrap().len(), 2);
    assert!(rest.get("nextPageToken").is_none());

    let (_, none) = bob.get(&format!("history?startHistoryId={current}")).await;
    assert_eq!(none, json!({"historyId": current.to_string()}));
    let (status, body) = bob.get("history?startHistoryId=1").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_gmail_error(&body, 404, "NOT_FOUND", "notFound");
    let (status, _) = bob.get("history").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn threads_are_modified_trashed_and_deleted_as_a_whole() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let first = alice
        .send_raw(format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: Plan\r\nMessage-ID: <plan-1@example.com>\r\n\r\nStep one").as_bytes())
        .await;
    alice
        .send_raw(format!("From: {ALICE}\r\nTo: {BOB}\r\nSubject: Re: Plan\r\nIn-Reply-To: <plan-1@example.com>\r\n\r\nStep two").as_bytes())
        .await;
    let thread = first["threadId"].as_str().unwrap();
    let (status, modified) = alice
        .post(
            &format!("threads/{thread}/modify"),
            &json!({"addLabelIds": ["STARRED"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{modified}");
    let messages = modified["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| {
        m["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("STARRED"))
    }));
    let (_, trashed) = alice
        .post(&format!("threads/{thread}/trash"), &json!({}))
        .await;
    assert!(
        trashed["messages"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["labelIds"].as_array().unwrap().contains(&json!("TRASH")))
    );
    let (_, listed) = alice.get("threads?q=plan").await;
    assert!(listed.get("threads").is_none());
    alice
        .post(&format!("threads/{thread}/untrash"), &json!({}))
        .await;
    let (_, listed) = alice.get("threads?q=plan").await;
    assert_eq!(listed["threads"][0]["id"], json!(thread));
    let (status, _) = alice
        .send_json(Method::DELETE, &format!("threads/{thread}"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        alice.get(&format!("threads/{thread}")).await.0,
        StatusCode::NOT_FOUND
    );
    assert!(alice.search("plan").await.is_empty());
}
