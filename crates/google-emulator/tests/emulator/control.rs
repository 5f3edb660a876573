//! The control API under `/_emulator/`.

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post(base: &str, path: &str, body: Value) -> (StatusCode, Value) {
    let resp = http()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

#[tokio::test]
async fn state_accounts_and_clients_over_http() {
    let emu = start().await;
    let base = emu.url();
    let (status, _) = post(
        &base,
        "/_emulator/accounts",
        json!({"email": "dave@example.com", "display_name": "Dave"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = post(
        &base,
        "/_emulator/accounts",
        json!({"display_name": "No Email"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("email"), "{body}");
    let (status, _) = post(
        &base,
        "/_emulator/accounts",
        json!({"email": "dave@example.com"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, body) = post(
        &base,
        "/_emulator/accounts",
        json!({"email": "not-an-address"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("email"));

    let (status, _) = post(
        &base,
        "/_emulator/clients",
        json!({"client_id": "new-client", "client_secret": "s", "redirect_uris": [REDIRECT], "app_name": "New", "verified": true}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = post(
        &base,
        "/_emulator/clients",
        json!({"client_id": "x", "client_secret": "s", "redirect_uris": ["not a url"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("redirect_uris"));
    let resp = http()
        .post(format!("{base}/_emulator/clients"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    let page = open(&authorize_url(&base, "new-client", &[MAIL], &[])).await;
    assert!(
        page.buttons()
            .iter()
            .any(|(_, v, _)| v == "dave@example.com")
    );

    let state: Value = http()
        .get(format!("{base}/_emulator/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let emails: Vec<&str> = state["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["email"].as_str().unwrap())
        .collect();
    assert!(emails.contains(&"dave@example.com") && emails.contains(&ALICE));
    assert!(
        state["clients"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["client_id"] == "new-client")
    );
    assert_eq!(state["token_requests"]["authorization_code"], 0);
}

#[tokio::test]
async fn revoke_expire_and_faults_over_http() {
    let emu = start().await;
    let base = emu.url();
    let t = tokens(&base, ALICE, &[MAIL]).await;
    let gmail = Gmail {
        base: base.clone(),
        token: t["access_token"].as_str().unwrap().to_string(),
    };
    let (status, _) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/faults"),
        json!({"status": 503, "times": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        gmail.get("profile").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
    post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/faults"),
        json!({"status": 500, "times": 5}),
    )
    .await;
    let resp = http()
        .delete(format!("{base}/_emulator/accounts/{ALICE}/faults"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(gmail.get("profile").await.0, StatusCode::OK);
    let (status, body) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/faults"),
        json!({"times": 1}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("status"));
    let (status, body) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/faults"),
        json!({"delay_ms": 10, "times": 0}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("times"));
    let (status, _) = post(
        &base,
        "/_emulator/accounts/nobody@example.com/faults",
        json!({"status": 500}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (status, _) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/expire-tokens"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(gmail.get("profile").await.0, StatusCode::UNAUTHORIZED);
    let (status, fresh) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/revoke"),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let gmail = Gmail {
        base: base.clone(),
        token: fresh["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(gmail.get("profile").await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
}

#[tokio::test]
async fn mailbox_contents_and_delivery_over_http() {
    let emu = start().await;
    let base = emu.url();
    let raw = simple_mail("outside@example.net", BOB, "Hello from outside", "hi");
    let (status, delivered) = post(
        &base,
        &format!("/_emulator/accounts/{BOB}/messages"),
        json!({"raw": URL_SAFE_NO_PAD.encode(&raw)}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let list: Value = http()
        .get(format!("{base}/_emulator/accounts/{BOB}/messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let m = list["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == delivered["id"])
        .unwrap()
        .clone();
    assert_eq!(m["subject"], "Hello from outside");
    assert_eq!(b64(m["raw"].as_str().unwrap()), raw);
    assert!(m["labelIds"].as_array().unwrap().contains(&json!("INBOX")));
    let (status, body) = post(
        &base,
        &format!("/_emulator/accounts/{BOB}/messages"),
        json!({"raw": "***"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("raw"));
    let resp = http()
        .get(format!("{base}/_emulator/accounts/nobody@x.y/messages"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn serve_runs_on_a_given_listener_and_shutdown_stops_start() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(google_emulator::Emulator::new(config()).serve(listener));
    let resp = http()
        .get(format!("http://{addr}/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    server.abort();

    let running = start().await;
    let url = running.url();
    assert!(url.starts_with("http://127.0.0.1:") && !url.ends_with('/'));
    assert_eq!(
        http()
            .get(format!("{url}/_emulator/health"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    running.shutdown().await.unwrap();
    assert!(
        reqwest::Client::new()
            .get(format!("{url}/_emulator/health"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn concurrent_sends_and_reads_stay_consistent() {
    let emu = start().await;
    let base = emu.url();
    let alice = Gmail::new(&base, ALICE).await;
    let bob = Gmail::new(&base, BOB).await;
    let before = bob.list_ids("maxResults=500").await.len();
    let mut tasks = Vec::new();
    for i in 0..40 {
        let (alice, bob) = (alice.clone(), bob.clone());
        tasks.push(tokio::spawn(async move {
            let sent = alice
                .send_raw(&simple_mail(ALICE, BOB, &format!("concurrent {i}"), "x"))
                .await;
            let _ = bob.get("messages?maxResults=5").await;
            sent["id"].as_str().unwrap().to_string()
        }));
    }
    let mut ids = Vec::new();
    for t in tasks {
        ids.push(t.await.unwrap());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 40, "every send got its own id");
    assert_eq!(bob.list_ids("maxResults=500").await.len(), before + 40);
    assert_eq!(bob.search("subject:concurrent").await.len(), 40);
}

#[tokio::test]
async fn grants_can_be_minted_without_the_consent_pages() {
    let emu = start().await;
    let base = emu.url();
    let (status, issued) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/grants"),
        json!({"client_id": VERIFIED, "scopes": [READONLY]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{issued}");
    let access = issued["access_token"].as_str().unwrap();
    let listed = http()
        .get(format!("{base}/gmail/v1/users/me/messages"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let (status, refreshed) = refresh(&base, issued["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    // Read-only scope: sending is refused, as for a consented grant.
    let send = http()
        .post(format!("{base}/gmail/v1/users/me/messages/send"))
        .bearer_auth(access)
        .json(&json!({"raw": URL_SAFE_NO_PAD.encode(b"To: b@example.com\r\n\r\nx")}))
        .send()
        .await
        .unwrap();
    assert_eq!(send.status(), StatusCode::FORBIDDEN);

    let (status, body) = post(
        &base,
        &format!("/_emulator/accounts/{ALICE}/grants"),
        json!({"client_id": "nobody", "scopes": [MAIL]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("client_id"),
        "{body}"
    );
    let (status, _) = post(
        &base,
        "/_emulator/accounts/nobody@example.com/grants",
        json!({"client_id": VERIFIED, "scopes": [MAIL]}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}
