//! The emulator driven from the command line while a sandbox runs (faults, revocation, the
//! developer console), and a sandbox that keeps its mail and connections across a restart.

use crate::support::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn the_cli_injects_faults_revokes_grants_and_sets_up_a_project() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("cli", &sandbox.account(0)).await;
    let token = instance["token"].as_str().unwrap();
    let emulator = sandbox.emulator();
    let account = sandbox.account(0);

    // Five 500s: a GET is tried three times, then the caller gets 502 with Gmail's words.
    let (ok, _, err) = sandbox.ferry_command(&[
        "emulator",
        "fault",
        &account,
        "--status",
        "500",
        "--times",
        "5",
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    let failed = sandbox.hub(Method::GET, "/labels", token, None).await;
    assert_eq!(failed.status, StatusCode::BAD_GATEWAY, "{}", failed.text);
    let (ok, _, err) = sandbox.ferry_command(&[
        "emulator",
        "fault",
        &account,
        "--clear",
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        sandbox
            .hub(Method::GET, "/labels", token, None)
            .await
            .status,
        StatusCode::OK
    );

    // Mistakes are explained, and say where the emulator was looked for.
    let (ok, _, err) =
        sandbox.ferry_command(&["emulator", "fault", &account, "--emulator", &emulator]);
    assert!(!ok && err.contains("--status"), "{err}");
    let (ok, _, err) = sandbox.ferry_command(&[
        "emulator",
        "fault",
        "nobody@example.com",
        "--status",
        "429",
        "--emulator",
        &emulator,
    ]);
    assert!(!ok && err.contains("unknown account"), "{err}");

    // The console's part of the seed, from a script.
    let (ok, out, err) = sandbox.ferry_command(&[
        "emulator",
        "project",
        "create",
        "CLI project",
        "--id",
        "cli-project",
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["gmail_api_enabled"],
        false
    );
    let (ok, _, err) = sandbox.ferry_command(&[
        "emulator",
        "project",
        "consent-screen",
        "cli-project",
        "--product-name",
        "CLI App",
        "--authorized-domain",
        "ferry.example",
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    let (ok, out, err) = sandbox.ferry_command(&[
        "emulator",
        "project",
        "create-client",
        "cli-project",
        "--redirect-uri",
        &sandbox.redirect_uri(),
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    let client: Value = serde_json::from_str(&out).unwrap();
    assert!(
        client["client_secret"]
            .as_str()
            .unwrap()
            .starts_with("GOCSPX-"),
        "{out}"
    );
    let (ok, out, err) = sandbox.ferry_command(&[
        "emulator",
        "project",
        "enable-gmail",
        "cli-project",
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        serde_json::from_str::<Value>(&out).unwrap()["gmail_api_enabled"],
        true
    );

    // A revoked grant: the instance asks for a new consent.
    let (ok, _, err) =
        sandbox.ferry_command(&["emulator", "revoke", &account, "--emulator", &emulator]);
    assert!(ok, "{err}");
    let (ok, _, err) = sandbox.ferry_command(&[
        "emulator",
        "expire-tokens",
        &account,
        "--emulator",
        &emulator,
    ]);
    assert!(ok, "{err}");
    let revoked = sandbox.hub(Method::GET, "/labels", token, None).await;
    assert_eq!(revoked.status, StatusCode::UNAUTHORIZED, "{}", revoked.text);
    assert_eq!(revoked.body["code"], "needs_reauthentication");
}

#[tokio::test]
async fn a_sandbox_restart_keeps_the_mail_and_the_connected_instance() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("kept", &sandbox.account(0)).await;
    let token = instance["token"].as_str().unwrap().to_owned();
    let sent = sandbox
        .hub(Method::POST, "/messages", &token, Some(json!({"to": sandbox.account(1), "subject": "before the restart", "data": "still here?"})))
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    let dir = sandbox.stop();
    assert!(dir.path().join("emulator-state.json").exists());

    let restarted = Sandbox::start_in(dir, &[]).await;
    // The emulator forgot its access tokens; ferry refreshes with the stored refresh token.
    let message = restarted
        .hub(
            Method::GET,
            &format!("/messages/{}", sent.body["id"].as_str().unwrap()),
            &token,
            None,
        )
        .await;
    assert_eq!(message.status, StatusCode::OK, "{}", message.text);
    assert_eq!(message.body["id"], sent.body["id"]);
    assert!(
        restarted
            .mailbox(&restarted.account(1))
            .await
            .iter()
            .any(|m| m["subject"] == "before the restart")
    );
}
