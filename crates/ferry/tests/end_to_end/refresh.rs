//! Token refresh: single-flight under load, and the "needs re-authentication" state after the
//! provider revokes a grant.

use crate::support::Sandbox;
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::Value;

async fn burst(sandbox: &Sandbox, token: &str, calls: usize) -> Vec<StatusCode> {
    let requests =
        (0..calls).map(|_| sandbox.hub(Method::GET, "/messages?pageSize=5", token, None));
    join_all(requests)
        .await
        .into_iter()
        .map(|r| r.status)
        .collect()
}

fn refreshes(counts: &Value) -> u64 {
    counts["refresh_token"].as_u64().unwrap()
}

#[tokio::test]
async fn fifty_calls_after_the_provider_expired_the_token_refresh_it_once() {
    let sandbox = Sandbox::start().await;
    let ada = sandbox.account(0);
    let instance = sandbox.connect_gmail("busy", &ada).await;
    let token = instance["token"].as_str().unwrap();
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK
    );
    let before = refreshes(&sandbox.token_requests().await);

    let expired = sandbox
        .emulator_post(
            &format!("/_emulator/accounts/{ada}/expire-tokens"),
            Value::Null,
        )
        .await;
    assert!(expired.status.is_success(), "{}", expired.text);
    let statuses = burst(&sandbox, token, 50).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );
    assert_eq!(
        refreshes(&sandbox.token_requests().await) - before,
        1,
        "exactly one refresh for 50 calls"
    );

    // The refreshed token keeps working without more refreshes.
    let statuses = burst(&sandbox, token, 10).await;
    assert!(statuses.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(refreshes(&sandbox.token_requests().await) - before, 1);
}

#[tokio::test]
async fn fifty_calls_after_the_token_ran_out_refresh_it_once() {
    // Tokens live 4 s, less than ferry's 5-minute refresh margin, so ferry refreshes them halfway
    // through their life: each burst below starts after that point.
    let sandbox = Sandbox::start_with(&["--emulator-token-lifetime", "4"]).await;
    let instance = sandbox
        .connect_gmail("short-lived", &sandbox.account(0))
        .await;
    let token = instance["token"].as_str().unwrap();
    let before = refreshes(&sandbox.token_requests().await);
    let young = burst(&sandbox, token, 5).await;
    assert!(young.iter().all(|s| *s == StatusCode::OK));
    assert_eq!(
        refreshes(&sandbox.token_requests().await),
        before,
        "a young token is not refreshed"
    );

    for round in 1..=2 {
        tokio::time::sleep(std::time::Duration::from_millis(2_200)).await;
        let statuses = burst(&sandbox, token, 50).await;
        assert!(
            statuses.iter().all(|s| *s == StatusCode::OK),
            "{statuses:?}"
        );
        assert_eq!(
            refreshes(&sandbox.token_requests().await) - before,
            round,
            "exactly one refresh per burst of 50 calls"
        );
    }
}

#[tokio::test]
async fn a_revoked_grant_asks_for_reauthentication_and_a_new_consent_restores_it() {
    let sandbox = Sandbox::start().await;
    let ada = sandbox.account(0);
    let instance = sandbox.connect_gmail("revocable", &ada).await;
    let id = instance["id"].as_i64().unwrap();
    let token = instance["token"].as_str().unwrap();
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK
    );

    let revoked = sandbox
        .emulator_post(&format!("/_emulator/accounts/{ada}/revoke"), Value::Null)
        .await;
    assert!(revoked.status.is_success(), "{}", revoked.text);

    let call = sandbox.hub(Method::GET, "/messages", token, None).await;
    assert_eq!(call.status, StatusCode::UNAUTHORIZED, "{}", call.text);
    assert_eq!(call.body["code"], "needs_reauthentication");
    assert!(
        call.body["message"]
            .as_str()
            .unwrap()
            .contains("re-authenticated"),
        "{}",
        call.text
    );
    let shown = sandbox
        .api(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(shown.body["status"], "needs_reauthentication");
    assert_eq!(shown.body["valid"], false);
    assert!(
        shown.body["statusReason"]
            .as_str()
            .unwrap()
            .contains("revoked"),
        "{}",
        shown.text
    );
    // Further calls fail fast without asking the provider again.
    let refreshes_before = refreshes(&sandbox.token_requests().await);
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(refreshes(&sandbox.token_requests().await), refreshes_before);

    let again = sandbox
        .api(
            Method::POST,
            &format!("/instances/{id}/authorizations"),
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.text);
    let callback = sandbox
        .consent(again.body["oauthUrl"].as_str().unwrap(), &ada, "allow")
        .await;
    let page = sandbox.http.get(&callback).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let restored = sandbox
        .api(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(restored.body["status"], "active", "{}", restored.text);
    assert_eq!(
        restored.body["token"], token,
        "the instance token survives re-authentication"
    );
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK
    );
}
