//! A demo survives a restart: what one emulator saved, the next one reads back.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn mailboxes_clients_projects_and_refresh_tokens_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("emulator.json");
    let first = start().await;
    let base = first.url();
    let tokens = tokens(&base, ALICE, &[MAIL]).await;
    let refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let gmail = Gmail::new(&base, ALICE).await;
    let sent = gmail
        .send_raw(&simple_mail(ALICE, BOB, "before the restart", "kept"))
        .await;
    let (status, label) = gmail.post("labels", &json!({"name": "Kept"})).await;
    assert_eq!(status, StatusCode::OK, "{label}");
    let label = label["id"].as_str().unwrap().to_owned();
    let (status, _) = gmail
        .post(
            &format!("messages/{}/modify", sent["id"].as_str().unwrap()),
            &json!({"addLabelIds": [label]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let emulator = first.emulator();
    let project = emulator
        .create_project("Kept project", Some("kept-project"))
        .unwrap();
    emulator.set_gmail_api(&project.project_id, true).unwrap();
    let before = emulator.mailbox_messages(ALICE);
    assert!(!emulator.load_state(&path).unwrap(), "no file yet");
    emulator.save_state(&path).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "refresh tokens are readable by the owner only");
    }
    first.shutdown().await.unwrap();

    let second = start().await;
    assert!(second.emulator().load_state(&path).unwrap());
    assert_eq!(second.emulator().mailbox_messages(ALICE), before);
    let bob = second.emulator().mailbox_messages(BOB);
    assert!(
        bob.iter()
            .any(|m| String::from_utf8_lossy(&m.raw).contains("before the restart"))
    );
    assert!(second.emulator().projects()[0].gmail_api_enabled);

    // The refresh token an app stored still gets access tokens, and they reach the same mail.
    let (status, refreshed) = refresh(&second.url(), &refresh_token).await;
    assert_eq!(status, StatusCode::OK, "{refreshed}");
    let reply = http()
        .get(format!(
            "{}/gmail/v1/users/me/messages?labelIds={label}",
            second.url()
        ))
        .bearer_auth(refreshed["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let listed: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(listed["messages"][0]["id"], sent["id"], "{listed}");
}
