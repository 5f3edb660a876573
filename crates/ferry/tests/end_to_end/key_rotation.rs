//! Rotating the master key: ferry restarted with a new key (and the old one as previous) keeps
//! every instance working, `ferry admin reseal-secrets` moves every secret to the new key, and
//! then the old key is no longer needed.

use crate::support::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const OLD_KEY: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const NEW_KEY: &str = "2222222222222222222222222222222222222222222222222222222222222222";

async fn restart_with(deployment: &mut Sandbox, arguments: &[&str]) {
    deployment.kill_ferry();
    deployment.config["ferry_args"] = json!(arguments);
    deployment.start_ferry().await;
}

/// A call that needs the instance's token, and (after Google forgot the access token) its
/// refresh token and client secret: every sealed secret of the instance is read.
async fn labels_after_refresh(deployment: &Sandbox, account: &str, token: &str) {
    let expired = deployment
        .emulator_post(
            &format!("/_emulator/accounts/{account}/expire-tokens"),
            Value::Null,
        )
        .await;
    assert!(expired.status.is_success(), "{}", expired.text);
    let labels = deployment.hub(Method::GET, "/labels", token, None).await;
    assert_eq!(labels.status, StatusCode::OK, "{}", labels.text);
}

#[tokio::test]
async fn a_new_master_key_takes_over_every_secret_without_losing_an_instance() {
    let mut deployment = Sandbox::start_separate(&["--master-key", OLD_KEY]).await;
    let (ok, generated, _) = deployment.ferry_command(&["admin", "generate-master-key"]);
    assert!(
        ok && generated.trim().len() == 64,
        "a new key is 64 hex digits: {generated}"
    );
    let account = deployment.account(0);
    let instance = deployment.gmail_instance(&account).await;
    let token = instance["token"].as_str().unwrap().to_owned();
    labels_after_refresh(&deployment, &account, &token).await;

    // Step 1: every process runs with the new key, the old one as previous.
    let rotating = ["--master-key", NEW_KEY, "--previous-master-keys", OLD_KEY];
    restart_with(&mut deployment, &rotating).await;
    labels_after_refresh(&deployment, &account, &token).await;

    // Step 2: re-seal what is stored, while ferry runs.
    let data_dir = deployment.dir.path().to_str().unwrap().to_owned();
    let mut reseal = vec!["admin", "reseal-secrets", "--data-dir", &data_dir];
    reseal.extend(rotating);
    let (ok, out, err) = deployment.ferry_command(&reseal);
    assert!(ok, "{out}{err}");
    assert!(
        out.contains("instances.refresh_token_sealed: 0 sealed again")
            || out.contains("instances.refresh_token_sealed: 1 sealed again"),
        "{out}"
    );
    for column in ["instances.secret_configuration", "instances.token_sealed"] {
        assert!(
            out.contains(&format!("{column}: 1 sealed again")),
            "{column} was still under the old key: {out}"
        );
    }
    assert!(out.contains("previous keys can go"), "{out}");
    let (ok, again, err) = deployment.ferry_command(&reseal);
    assert!(ok, "{again}{err}");
    assert!(
        !again.lines().any(|l| l.contains(": 1 sealed again")),
        "a second run found work: {again}"
    );

    // Step 3: the old key is dropped; the instance still works, refresh included.
    restart_with(&mut deployment, &["--master-key", NEW_KEY]).await;
    labels_after_refresh(&deployment, &account, &token).await;

    // A process given only the old key refuses to guess: it names the key it lacks.
    let (ok, out, err) = deployment.ferry_command(&[
        "admin",
        "reseal-secrets",
        "--data-dir",
        &data_dir,
        "--master-key",
        OLD_KEY,
    ]);
    assert!(!ok, "{out}");
    assert!(
        err.contains("FERRY_PREVIOUS_MASTER_KEYS") && err.contains("was sealed with master key"),
        "{err}"
    );
}
