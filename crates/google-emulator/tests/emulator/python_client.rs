//! Google's own Python client, unchanged, against the emulator: the walk of
//! `tests/python/google_client_suite.py`. Outside CI the test is skipped when the client is not
//! installed; in CI (`CI=true`, where `.ci/run` installs it) a missing client is a failure.

use crate::support::{ALICE, BOB, REDIRECT, SECRET, UNVERIFIED, start};
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

const PACKAGES: &str =
    "import googleapiclient, google.auth, google_auth_oauthlib, google_auth_httplib2";

#[tokio::test]
async fn googles_python_client_passes_its_walk_through_gmail() {
    let in_ci = std::env::var("CI").as_deref() == Ok("true");
    let probe = Command::new("python3")
        .args(["-c", PACKAGES])
        .output()
        .await;
    match probe {
        Ok(output) if output.status.success() => {}
        Ok(output) if !in_ci => {
            eprintln!(
                "skipped: Google's Python client is not installed (pip install google-api-python-client google-auth google-auth-oauthlib): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            return;
        }
        Err(error) if !in_ci => {
            eprintln!("skipped: python3 is not available ({error})");
            return;
        }
        Ok(output) => panic!(
            "CI must have Google's Python client: {}",
            String::from_utf8_lossy(&output.stderr)
        ),
        Err(error) => panic!("CI must have python3: {error}"),
    }
    let emulator = start().await;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let run = Command::new("python3")
        .arg(root.join("tests/python/google_client_suite.py"))
        .arg(root.join("discovery/gmail.v1.json"))
        .args([
            emulator.url().as_str(),
            UNVERIFIED,
            SECRET,
            REDIRECT,
            ALICE,
            BOB,
        ])
        .kill_on_drop(true)
        .output();
    let output = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .expect("the Python client finished within two minutes")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("google_client_suite: OK"),
        "Google's Python client failed against the emulator:\n{stdout}\n{stderr}"
    );
}
