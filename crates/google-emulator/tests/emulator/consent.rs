//! The consent dance, followed page by page as a browser would.

use crate::support::*;
use reqwest::StatusCode;

#[tokio::test]
async fn verified_client_allow_shows_each_scope_then_redirects_with_code_state_and_scope() {
    let emu = start().await;
    let base = emu.url();
    let page = open(&authorize_url(
        &base,
        VERIFIED,
        &[SETTINGS, MAIL],
        &[("login_hint", BOB)],
    ))
    .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.title(), "Choose an account");
    let accounts: Vec<String> = page
        .buttons()
        .into_iter()
        .filter(|(n, _, _)| n == "account")
        .map(|(_, v, _)| v)
        .collect();
    assert_eq!(accounts[0], BOB, "login_hint comes first");
    assert_eq!(accounts.len(), 3);

    let page = page.press(&base, BOB).await;
    assert_eq!(page.title(), "Grant Verified App permission");
    assert!(
        page.text()
            .contains("See, edit, create, or change your email settings and filters in Gmail")
    );
    let page = page.press(&base, "Allow").await;
    assert!(
        page.text()
            .contains("Read, compose, send, and permanently delete all your email from Gmail")
    );
    let page = page.press(&base, "Allow").await;
    assert_eq!(page.title(), "Confirm your choices");
    assert!(
        page.text()
            .contains("Read, compose, send, and permanently delete all your email from Gmail")
    );
    assert!(
        page.text()
            .contains("See, edit, create, or change your email settings")
    );
    let done = page.press(&base, "Allow").await;
    assert_eq!(done.status, StatusCode::FOUND);
    let redirect = url::Url::parse(done.location.as_deref().unwrap()).unwrap();
    assert!(redirect.as_str().starts_with(REDIRECT));
    assert_eq!(query(&redirect, "state").as_deref(), Some("xyz-state"));
    assert!(query(&redirect, "code").unwrap().starts_with("4/"));
    assert_eq!(
        query(&redirect, "scope").as_deref(),
        Some(format!("{SETTINGS} {MAIL}").as_str())
    );
}

#[tokio::test]
async fn unverified_client_shows_the_warning_with_advanced_go_to_unsafe() {
    let emu = start().await;
    let base = emu.url();
    let page = open(&authorize_url(&base, UNVERIFIED, &[MAIL], &[])).await;
    let page = page.press(&base, ALICE).await;
    assert_eq!(page.title(), "Google hasn\u{2019}t verified this app");
    assert!(page.html.contains("Advanced"));
    let labels: Vec<String> = page.buttons().into_iter().map(|b| b.2).collect();
    assert!(
        labels.contains(&"Go to GmailConnectorTest (unsafe)".to_string()),
        "{labels:?}"
    );
    assert!(labels.contains(&"Back to safety".to_string()));
    let page = page.press(&base, "Go to GmailConnectorTest (unsafe)").await;
    assert_eq!(page.title(), "Grant GmailConnectorTest permission");
    let page = page.press(&base, "Allow").await;
    let done = page.press(&base, "Allow").await;
    assert_eq!(done.status, StatusCode::FOUND);
    assert!(done.location.unwrap().contains("code="));
}

#[tokio::test]
async fn back_to_safety_denies_access() {
    let emu = start().await;
    let base = emu.url();
    let page = open(&authorize_url(&base, UNVERIFIED, &[MAIL], &[])).await;
    let page = page.press(&base, ALICE).await;
    let done = page.press(&base, "Back to safety").await;
    assert_eq!(done.status, StatusCode::FOUND);
    let redirect = url::Url::parse(done.location.as_deref().unwrap()).unwrap();
    assert_eq!(query(&redirect, "error").as_deref(), Some("access_denied"));
    assert_eq!(query(&redirect, "state").as_deref(), Some("xyz-state"));
    assert!(query(&redirect, "code").is_none());
}

#[tokio::test]
async fn deny_on_a_scope_screen_or_the_confirmation_denies_access() {
    let emu = start().await;
    let base = emu.url();
    for deny_at in 0..3 {
        let mut page = open(&authorize_url(&base, VERIFIED, &[SETTINGS, MAIL], &[])).await;
        page = page.press(&base, ALICE).await;
        for _ in 0..deny_at {
            page = page.press(&base, "Allow").await;
        }
        let label = if deny_at == 2 { "Cancel" } else { "Deny" };
        let done = page.press(&base, label).await;
        assert_eq!(done.status, StatusCode::FOUND);
        assert_eq!(
            done.location.as_deref().unwrap(),
            format!("{REDIRECT}?error=access_denied&state=xyz-state")
        );
    }
    // Nothing was granted, so no security alert was sent.
    assert!(
        emu.emulator()
            .mailbox_messages(ALICE)
            .iter()
            .all(|m| !String::from_utf8_lossy(&m.raw).contains("Security alert"))
    );
}

#[tokio::test]
async fn granting_access_delivers_googles_security_alert() {
    let emu = start().await;
    let base = emu.url();
    let redirect = consent(&base, UNVERIFIED, ALICE, &[MAIL], &[]).await;
    assert!(query(&redirect, "code").is_some());
    let alerts: Vec<_> = emu
        .emulator()
        .mailbox_messages(ALICE)
        .into_iter()
        .filter(|m| String::from_utf8_lossy(&m.raw).contains("Subject: Security alert"))
        .collect();
    assert_eq!(alerts.len(), 1);
    assert!(alerts[0].label_ids.contains(&"INBOX".to_string()));
    let raw = String::from_utf8_lossy(&alerts[0].raw).to_string();
    assert!(raw.contains("From: Google <no-reply@accounts.google.com>"));
    assert!(raw.contains("GmailConnectorTest was granted access to your Google Account"));

    // Through the API, as in the walkthrough: the snippet reads like Google's.
    let gmail = Gmail::new(&base, ALICE).await;
    let ids = gmail.search("from:no-reply@accounts.google.com").await;
    let (_, message) = gmail
        .get(&format!("messages/{}", ids.last().unwrap()))
        .await;
    assert!(
        message["snippet"]
            .as_str()
            .unwrap()
            .starts_with(&format!("GmailConnectorTest was granted access to your Google Account {ALICE} If you did not grant access")),
        "{}",
        message["snippet"]
    );
}

#[tokio::test]
async fn invalid_authorization_requests_show_google_error_pages_and_never_redirect() {
    let emu = start().await;
    let base = emu.url();
    let unknown = open(&authorize_url(
        &base,
        "nobody.apps.googleusercontent.com",
        &[MAIL],
        &[],
    ))
    .await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.text().contains("Error 401: invalid_client"));

    let mismatch = open(
        &authorize_url(&base, VERIFIED, &[MAIL], &[]).replace("127.0.0.1%3A9", "evil.example%3A9"),
    )
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(mismatch.location.is_none());
    assert!(mismatch.text().contains("Error 400: redirect_uri_mismatch"));

    let no_type =
        open(&authorize_url(&base, VERIFIED, &[MAIL], &[]).replace("response_type=code", "")).await;
    assert_eq!(no_type.status, StatusCode::BAD_REQUEST);
    assert!(no_type.text().contains("Error 400: invalid_request"));

    let token_type = open(
        &authorize_url(&base, VERIFIED, &[MAIL], &[])
            .replace("response_type=code", "response_type=token"),
    )
    .await;
    assert_eq!(token_type.status, StatusCode::BAD_REQUEST);
    assert!(token_type.text().contains("invalid_request"));

    let no_scope = open(&authorize_url(&base, VERIFIED, &[], &[])).await;
    assert_eq!(no_scope.status, StatusCode::BAD_REQUEST);
    assert!(no_scope.text().contains("Error 400: invalid_request"));
}

#[tokio::test]
async fn sign_in_only_scopes_go_straight_to_confirmation() {
    let emu = start().await;
    let base = emu.url();
    let page = open(&authorize_url(&base, VERIFIED, &["openid", "email"], &[])).await;
    let page = page.press(&base, CAROL).await;
    assert_eq!(page.title(), "Confirm your choices");
    assert!(
        page.text()
            .contains("See your primary Google Account email address")
    );
}
