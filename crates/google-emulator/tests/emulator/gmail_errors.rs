//! Gmail's error answers: authentication, scopes, delegation, not found, bad ids.

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn missing_and_invalid_credentials_answer_401() {
    let emu = start().await;
    let base = emu.url();
    let resp = http()
        .get(format!("{base}/gmail/v1/users/me/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let body: Value = resp.json().await.unwrap();
    assert_gmail_error(&body, 401, "UNAUTHENTICATED", "required");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Request is missing required authentication credential")
    );

    let resp = http()
        .get(format!("{base}/gmail/v1/users/me/messages"))
        .bearer_auth("ya29.invalid")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers().get("www-authenticate").unwrap(),
        "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
    );
    let body: Value = resp.json().await.unwrap();
    assert_gmail_error(&body, 401, "UNAUTHENTICATED", "authError");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Request had invalid authentication credentials.")
    );

    // The token may also come as the access_token query parameter.
    let token = access_token(&base, ALICE, &[MAIL]).await;
    let resp = http()
        .get(format!(
            "{base}/gmail/v1/users/me/profile?access_token={token}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn scopes_limit_what_a_token_may_do() {
    let emu = start().await;
    let base = emu.url();
    let readonly = Gmail {
        base: base.clone(),
        token: access_token(&base, ALICE, &[READONLY]).await,
    };
    assert_eq!(readonly.get("messages").await.0, StatusCode::OK);
    let raw = URL_SAFE_NO_PAD.encode(simple_mail(ALICE, BOB, "x", "y"));
    let (status, body) = readonly.post("messages/send", &json!({"raw": raw})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_gmail_error(&body, 403, "PERMISSION_DENIED", "insufficientPermissions");
    assert_eq!(
        body["error"]["message"],
        "Request had insufficient authentication scopes."
    );

    let send_only = Gmail {
        base: base.clone(),
        token: access_token(&base, ALICE, &[SEND]).await,
    };
    assert_eq!(
        send_only
            .post("messages/send", &json!({"raw": raw}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(send_only.get("messages").await.0, StatusCode::FORBIDDEN);

    let modify = Gmail {
        base: base.clone(),
        token: access_token(&base, ALICE, &[MODIFY]).await,
    };
    let id = modify.list_ids("maxResults=1").await.remove(0);
    assert_eq!(
        modify
            .post(&format!("messages/{id}/trash"), &json!({}))
            .await
            .0,
        StatusCode::OK
    );
    let (status, _) = modify
        .send_json(
            reqwest::Method::DELETE,
            &format!("messages/{id}"),
            &json!({}),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "permanent delete needs https://mail.google.com/"
    );

    let metadata = Gmail {
        base: base.clone(),
        token: access_token(&base, ALICE, &[METADATA]).await,
    };
    assert_eq!(
        metadata
            .get(&format!("messages/{id}?format=metadata"))
            .await
            .0,
        StatusCode::OK
    );
    let (status, body) = metadata.get(&format!("messages/{id}?format=full")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        body["error"]["message"],
        "Metadata scope doesn't allow format FULL"
    );
    assert_eq!(
        metadata.get("messages?q=hello").await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(metadata.get("messages").await.0, StatusCode::OK);
}

#[tokio::test]
async fn other_users_are_delegation_denied_and_own_email_works() {
    let emu = start().await;
    let base = emu.url();
    let token = access_token(&base, ALICE, &[MAIL]).await;
    let resp = http()
        .get(format!("{base}/gmail/v1/users/{BOB}/messages"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body["error"]["message"],
        format!("Delegation denied for {BOB}")
    );
    assert_eq!(body["error"]["status"], "PERMISSION_DENIED");
    let resp = http()
        .get(format!(
            "{base}/gmail/v1/users/{}/profile",
            ALICE.to_uppercase()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let emu = start().await;
    let gmail = Gmail::new(&emu.url(), ALICE).await;
    let (status, body) = gmail.get("messages/0123456789abcdef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_gmail_error(&body, 404, "NOT_FOUND", "notFound");
    assert_eq!(body["error"]["message"], "Requested entity was not found.");
    let (status, body) = gmail.get("messages/not-an-id!").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_gmail_error(&body, 400, "INVALID_ARGUMENT", "invalidArgument");
    assert_eq!(body["error"]["message"], "Invalid id value");
    let (status, _) = gmail.get("threads/0123456789abcdef").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = gmail.get("messages?format=weird&pageToken=zzz").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, body) = gmail.get("nonsense").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_gmail_error(&body, 404, "NOT_FOUND", "notFound");
}

#[tokio::test]
async fn the_discovery_document_points_at_the_emulator() {
    let emu = start().await;
    let base = emu.url();
    let doc: Value = http()
        .get(format!("{base}/$discovery/rest?version=v1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["id"], "gmail:v1");
    assert_eq!(doc["rootUrl"], format!("{base}/"));
    assert_eq!(doc["mtlsRootUrl"], format!("{base}/"));
    assert_eq!(doc["baseUrl"], format!("{base}/"));
    assert_eq!(
        doc["resources"]["users"]["resources"]["messages"]["methods"]["list"]["path"],
        "gmail/v1/users/{userId}/messages"
    );
}
