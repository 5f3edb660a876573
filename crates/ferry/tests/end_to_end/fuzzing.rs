//! schemathesis, an independent fuzzer, against ferry's own OpenAPI documents: the platform's
//! and one Gmail instance's (hub calls reach the emulator). It checks that no request gets a
//! server error, that every answer has a documented status and matches its documented schema,
//! and that data the document calls invalid is refused. The seed is fixed, so a failure
//! reproduces with the command the test prints. Outside CI the test is skipped when schemathesis
//! is not installed; in CI (`CI=true`, where `.ci/run` installs it) a missing fuzzer fails it.

use crate::support::Sandbox;
use reqwest::Method;
use std::path::Path;
use std::process::Command;

const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance,negative_data_rejection";
const SEED: &str = "20261125";

/// Runs schemathesis; answers how many test cases it generated.
fn fuzz(
    document: &str,
    base_url: &str,
    authorization: &str,
    extra: &[&str],
    report: &Path,
) -> Option<u64> {
    let mut command = Command::new("schemathesis");
    command
        .args([
            "run", document, "--url", base_url, "--checks", CHECKS, "--seed", SEED,
        ])
        .args(["--header", &format!("Authorization: {authorization}")])
        .args(["--max-examples", "40", "--workers", "1", "--no-color"])
        .args(["--report", "junit", "--report-dir"])
        .arg(report)
        .args(extra)
        // schemathesis keeps a cache directory where it runs: inside the test's temp dir.
        .current_dir(report.parent().unwrap_or(report))
        .env("SCHEMATHESIS_TELEMETRY", "false");
    let output = match command.output() {
        Ok(output) => output,
        Err(error) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("fuzzing skipped: schemathesis is not installed ({error})");
            return None;
        }
        Err(error) => panic!("schemathesis is needed in CI (.ci/run installs it): {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found problems in {document}:\n{stdout}\n{stderr}"
    );
    let generated = stdout
        .lines()
        .skip_while(|line| !line.starts_with("Test cases:"))
        .nth(1)
        .and_then(|line| line.split_whitespace().next())
        .and_then(|count| count.parse().ok())
        .unwrap_or_else(|| panic!("no test case count in schemathesis' summary:\n{stdout}"));
    Some(generated)
}

#[tokio::test]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Fuzzed mail", &sandbox.account(0))
        .await;
    let id = instance["id"].as_i64().unwrap();
    let token = instance["token"].as_str().unwrap();
    let dir = sandbox.dir.path();
    let gmail_document = dir.join("gmail-instance.openapi.json");
    let docs = sandbox
        .api(Method::GET, &format!("/instances/{id}/docs"), None)
        .await;
    std::fs::write(&gmail_document, &docs.text).unwrap();

    // The instance first: the platform run may delete instances it finds.
    let Some(hub_cases) = fuzz(
        gmail_document.to_str().unwrap(),
        &format!("{}/elements/api-v2", sandbox.ferry()),
        &sandbox.element_auth(token),
        &[],
        &dir.join("report-gmail"),
    ) else {
        return;
    };
    let platform_cases = fuzz(
        &format!("{}/openapi.json", sandbox.ferry()),
        &sandbox.ferry(),
        &sandbox.auth(),
        &[],
        &dir.join("report-platform"),
    )
    .unwrap();
    eprintln!("schemathesis generated {hub_cases} hub and {platform_cases} platform requests");
    assert!(
        hub_cases + platform_cases >= 1_000,
        "only {hub_cases} + {platform_cases} requests were generated"
    );
}
