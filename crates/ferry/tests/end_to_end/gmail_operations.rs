//! The rest of the Gmail connector beyond Cloud Elements' suite, as a user of the instance API
//! sees it: replies that land in their conversation, the readable message view, labels, drafts,
//! history, the profile, bulk changes.

use crate::gmail_suite::{labels, urlencode};
use crate::support::{Sandbox, base64url};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn connected(account: usize) -> (Sandbox, String) {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("operations", &sandbox.account(account))
        .await;
    (sandbox, instance["token"].as_str().unwrap().to_owned())
}

fn raw_of(message: &Value) -> String {
    String::from_utf8(base64url(message["raw"].as_str().unwrap())).unwrap()
}

/// A header of a raw message, unfolded.
fn header(raw: &str, name: &str) -> Option<String> {
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap()
        .replace("\r\n ", " ")
        .replace("\r\n\t", " ");
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

#[tokio::test]
async fn a_reply_lands_in_the_conversation_on_both_sides() {
    let sandbox = Sandbox::start().await;
    let ada = sandbox.connect_gmail("ada", &sandbox.account(0)).await;
    let grace = sandbox.connect_gmail("grace", &sandbox.account(1)).await;
    let (ada, grace) = (
        ada["token"].as_str().unwrap(),
        grace["token"].as_str().unwrap(),
    );

    let first = sandbox
        .hub(
            Method::POST,
            "/messages",
            ada,
            Some(json!({"to": sandbox.account(1), "subject": "Lunch on Friday?", "data": "12:30 at the usual place?"})),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text);

    // Grace answers the copy in her inbox by its id: no to, no subject, no headers given.
    let inbox = sandbox
        .hub(
            Method::GET,
            &format!(
                "/messages?where={}",
                urlencode("q='subject:lunch in:inbox'")
            ),
            grace,
            None,
        )
        .await;
    let received = inbox.body[0]["id"].as_str().unwrap().to_owned();
    let answer = sandbox
        .hub(
            Method::POST,
            "/messages",
            grace,
            Some(json!({"replyToMessageId": received, "data": "Yes, see you there."})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(
        answer.body["threadId"], inbox.body[0]["threadId"],
        "{}",
        answer.text
    );

    let sent = sandbox
        .hub(
            Method::GET,
            &format!(
                "/messages/{}?format=raw",
                answer.body["id"].as_str().unwrap()
            ),
            grace,
            None,
        )
        .await;
    let raw = raw_of(&sent.body);
    let original = sandbox
        .hub(
            Method::GET,
            &format!("/messages/{received}?format=raw"),
            grace,
            None,
        )
        .await;
    let original_id = header(&raw_of(&original.body), "Message-ID")
        .unwrap()
        .to_owned();
    assert_eq!(
        header(&raw, "In-Reply-To"),
        Some(original_id.clone()),
        "{raw}"
    );
    assert_eq!(
        header(&raw, "References"),
        Some(original_id.clone()),
        "{raw}"
    );
    assert_eq!(
        header(&raw, "Subject").as_deref(),
        Some("Re: Lunch on Friday?")
    );
    assert!(
        header(&raw, "To").unwrap().contains(&sandbox.account(0)),
        "{raw}"
    );

    // Ada's mailbox files the answer under her original message's thread.
    let thread = sandbox
        .hub(
            Method::GET,
            &format!("/threads/{}", first.body["threadId"].as_str().unwrap()),
            ada,
            None,
        )
        .await;
    assert_eq!(thread.status, StatusCode::OK, "{}", thread.text);
    assert_eq!(
        thread.body["messages"].as_array().unwrap().len(),
        2,
        "{}",
        thread.text
    );

    // A reply by thread id alone answers the thread's last message.
    let again = sandbox
        .hub(
            Method::POST,
            "/messages",
            ada,
            Some(json!({"to": sandbox.account(1), "threadId": first.body["threadId"], "subject": "Re: Lunch on Friday?", "data": "Great."})),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.text);
    assert_eq!(again.body["threadId"], first.body["threadId"]);
    let raw = raw_of(
        &sandbox
            .hub(
                Method::GET,
                &format!(
                    "/messages/{}?format=raw",
                    again.body["id"].as_str().unwrap()
                ),
                ada,
                None,
            )
            .await
            .body,
    );
    let references = header(&raw, "References").unwrap();
    assert!(
        references.starts_with(&original_id) && references.split_whitespace().count() == 2,
        "{raw}"
    );

    let missing = sandbox
        .hub(
            Method::POST,
            "/messages",
            ada,
            Some(json!({"replyToMessageId": "0123456789abcdef", "data": "?"})),
        )
        .await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST, "{}", missing.text);
    assert_eq!(missing.body["field"], "replyToMessageId");
}

#[tokio::test]
async fn the_readable_view_decodes_bodies_and_lists_attachments() {
    let (sandbox, token) = connected(0).await;
    let form = Form::new()
        .text(
            "body",
            json!({"to": sandbox.account(0), "subject": "Grüße — report", "data": "Hällo,\nthe report is attached.", "html": "<p>Hällo</p>"}).to_string(),
        )
        .part("file", Part::bytes(b"a,b\n1,2\n".to_vec()).file_name("report.csv"));
    let sent = sandbox
        .hub_form(Method::POST, "/messages", &token, form)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let id = sent.body["id"].as_str().unwrap();
    let view = sandbox
        .hub(
            Method::GET,
            &format!("/messages/{id}/readable"),
            &token,
            None,
        )
        .await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    assert_eq!(view.body["subject"], "Grüße — report");
    assert_eq!(
        view.body["text"].as_str().unwrap().trim_end(),
        "Hällo,\nthe report is attached."
    );
    assert_eq!(view.body["html"], "<p>Hällo</p>");
    assert!(
        view.body["from"]
            .as_str()
            .unwrap()
            .contains(&sandbox.account(0))
    );
    assert!(
        view.body["headers"]["Message-ID"].is_string(),
        "{}",
        view.text
    );
    let attachment = &view.body["attachments"][0];
    assert_eq!(attachment["filename"], "report.csv");
    let data = sandbox
        .hub(
            Method::GET,
            &format!(
                "/messages/{id}/attachments/{}",
                attachment["attachmentId"].as_str().unwrap()
            ),
            &token,
            None,
        )
        .await;
    assert_eq!(
        base64url(data.body["data"].as_str().unwrap()),
        b"a,b\n1,2\n"
    );

    let thread = sandbox
        .hub(
            Method::GET,
            &format!(
                "/threads/{}/readable",
                sent.body["threadId"].as_str().unwrap()
            ),
            &token,
            None,
        )
        .await;
    assert_eq!(thread.status, StatusCode::OK, "{}", thread.text);
    assert_eq!(thread.body["messages"][0]["subject"], "Grüße — report");
}

#[tokio::test]
async fn labels_are_created_used_by_name_renamed_and_deleted() {
    let (sandbox, token) = connected(0).await;
    let created = sandbox
        .hub(Method::POST, "/labels", &token, Some(json!({"name": "Receipts", "labelListVisibility": "labelShow", "messageListVisibility": "show"})))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let label = created.body["id"].as_str().unwrap().to_owned();
    let listed = sandbox.hub(Method::GET, "/labels", &token, None).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["id"] == label.as_str())
    );

    let inbox = sandbox
        .hub(Method::GET, "/messages?labelIds=INBOX", &token, None)
        .await;
    let message = inbox.body[0]["id"].as_str().unwrap().to_owned();
    // By name, in any case: ferry sends Gmail the id.
    let labelled = sandbox
        .hub(
            Method::PATCH,
            &format!("/messages/{message}"),
            &token,
            Some(json!({"addLabelIds": ["receipts"], "removeLabelIds": ["UNREAD"]})),
        )
        .await;
    assert_eq!(labelled.status, StatusCode::OK, "{}", labelled.text);
    assert!(labels(&labelled.body).contains(&label));
    let by_label = sandbox
        .hub(Method::GET, "/messages?labelIds=Receipts", &token, None)
        .await;
    assert_eq!(
        by_label.body.as_array().unwrap().len(),
        1,
        "{}",
        by_label.text
    );
    let counted = sandbox
        .hub(Method::GET, &format!("/labels/{label}"), &token, None)
        .await;
    assert_eq!(counted.body["messagesTotal"], 1, "{}", counted.text);

    let renamed = sandbox
        .hub(
            Method::PATCH,
            &format!("/labels/{label}"),
            &token,
            Some(json!({"name": "Paid"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Paid", "{}", renamed.text);
    let replaced = sandbox
        .hub(Method::PUT, &format!("/labels/{label}"), &token, Some(json!({"name": "Paid 2024", "messageListVisibility": "hide", "labelListVisibility": "labelHide"})))
        .await;
    assert_eq!(
        replaced.body["messageListVisibility"], "hide",
        "{}",
        replaced.text
    );
    let deleted = sandbox
        .hub(Method::DELETE, &format!("/labels/{label}"), &token, None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    let gone = sandbox
        .hub(Method::GET, &format!("/labels/{label}"), &token, None)
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);

    let system = sandbox
        .hub(
            Method::PATCH,
            "/labels/INBOX",
            &token,
            Some(json!({"name": "Mine"})),
        )
        .await;
    assert_eq!(system.status, StatusCode::BAD_REQUEST, "{}", system.text);
}

#[tokio::test]
async fn drafts_are_written_rewritten_and_sent() {
    let (sandbox, token) = connected(0).await;
    let form = Form::new()
        .text(
            "body",
            json!({"to": sandbox.account(1), "subject": "Draft one", "data": "first words"})
                .to_string(),
        )
        .part(
            "file",
            Part::bytes(b"notes".to_vec()).file_name("notes.txt"),
        );
    let created = sandbox
        .hub_form(Method::POST, "/drafts", &token, form)
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let draft = created.body["id"].as_str().unwrap().to_owned();
    let listed = sandbox.hub(Method::GET, "/drafts", &token, None).await;
    assert!(
        listed
            .body
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["id"] == draft.as_str()),
        "{}",
        listed.text
    );

    let updated = sandbox
        .hub(
            Method::PUT,
            &format!("/drafts/{draft}"),
            &token,
            Some(json!({"to": sandbox.account(1), "subject": "Draft two", "data": "better words"})),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.text);
    assert_eq!(updated.body["id"], draft.as_str());
    let fetched = sandbox
        .hub(
            Method::GET,
            &format!("/drafts/{draft}?format=raw"),
            &token,
            None,
        )
        .await;
    assert!(
        raw_of(&fetched.body["message"]).contains("Subject: Draft two"),
        "{}",
        fetched.text
    );

    let sent = sandbox
        .hub(Method::POST, &format!("/drafts/{draft}/send"), &token, None)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert!(
        labels(&sent.body).contains(&"SENT".to_owned()),
        "{}",
        sent.text
    );
    let after = sandbox
        .hub(Method::GET, &format!("/drafts/{draft}"), &token, None)
        .await;
    assert_eq!(after.status, StatusCode::NOT_FOUND);
    let arrived = sandbox.mailbox(&sandbox.account(1)).await;
    assert!(arrived.iter().any(|m| m["subject"] == "Draft two"));

    let throwaway = sandbox
        .hub(
            Method::POST,
            "/drafts",
            &token,
            Some(json!({"to": sandbox.account(1), "subject": "never", "data": "x"})),
        )
        .await;
    let throwaway = throwaway.body["id"].as_str().unwrap();
    assert_eq!(
        sandbox
            .hub(
                Method::DELETE,
                &format!("/drafts/{throwaway}"),
                &token,
                None
            )
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        sandbox
            .hub(Method::GET, &format!("/drafts/{throwaway}"), &token, None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn history_profile_and_bulk_changes() {
    let (sandbox, token) = connected(0).await;
    let profile = sandbox.hub(Method::GET, "/profile", &token, None).await;
    assert_eq!(
        profile.body["emailAddress"],
        sandbox.account(0).as_str(),
        "{}",
        profile.text
    );
    let start = profile.body["historyId"].as_str().unwrap().to_owned();

    let mut ids = Vec::new();
    for n in 0..3 {
        let imported = sandbox
            .hub(Method::POST, "/messages/import", &token, Some(json!({"to": sandbox.account(0), "from": "news@example.org", "subject": format!("Newsletter {n}"), "data": "read me", "labelIds": ["INBOX"]})))
            .await;
        assert_eq!(imported.status, StatusCode::OK, "{}", imported.text);
        assert_eq!(labels(&imported.body), ["INBOX"]);
        ids.push(imported.body["id"].as_str().unwrap().to_owned());
    }
    let starred = sandbox
        .hub(
            Method::PATCH,
            "/messages/multiple",
            &token,
            Some(json!({"ids": ids, "addLabelIds": ["STARRED"]})),
        )
        .await;
    assert_eq!(starred.status, StatusCode::OK, "{}", starred.text);

    let history = sandbox
        .hub(
            Method::GET,
            &format!("/history?startHistoryId={start}"),
            &token,
            None,
        )
        .await;
    assert_eq!(history.status, StatusCode::OK, "{}", history.text);
    let records = history.body["history"].as_array().unwrap();
    let added: Vec<&Value> = records
        .iter()
        .flat_map(|r| r["messagesAdded"].as_array().into_iter().flatten())
        .collect();
    assert_eq!(added.len(), 3, "{}", history.text);
    let labelled = records
        .iter()
        .flat_map(|r| r["labelsAdded"].as_array().into_iter().flatten())
        .count();
    assert_eq!(labelled, 3, "{}", history.text);
    let latest: u64 = history.body["historyId"].as_str().unwrap().parse().unwrap();
    assert!(latest > start.parse().unwrap(), "{}", history.text);
    let only_added = sandbox
        .hub(
            Method::GET,
            &format!("/history?startHistoryId={start}&historyTypes=labelAdded&labelId=STARRED"),
            &token,
            None,
        )
        .await;
    assert!(
        only_added.body["history"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r.get("messagesAdded").is_none()),
        "{}",
        only_added.text
    );

    let thread = sandbox
        .hub(
            Method::PATCH,
            &format!("/threads/{}", ids[0]),
            &token,
            Some(json!({"addLabelIds": ["IMPORTANT"]})),
        )
        .await;
    assert_eq!(thread.status, StatusCode::OK, "{}", thread.text);
    assert!(
        labels(&thread.body["messages"][0]).contains(&"IMPORTANT".to_owned()),
        "{}",
        thread.text
    );

    let deleted = sandbox
        .hub(
            Method::DELETE,
            "/messages/multiple",
            &token,
            Some(json!({"ids": ids})),
        )
        .await;
    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.text);
    let left = sandbox.mailbox(&sandbox.account(0)).await;
    assert!(
        left.iter()
            .all(|m| !ids.contains(&m["id"].as_str().unwrap().to_owned()))
    );
}
