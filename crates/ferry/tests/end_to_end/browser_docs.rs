//! The seed walkthrough's "Test your new Gmail connector" in a real browser: Debian's Chromium,
//! driven by `browser/docs-try-it-out.mjs` (playwright-core), opens an instance's docs page,
//! enters the secrets once and, clicking through Swagger UI's "Try it out", lists the messages,
//! reads one and sends a multipart mail with a file chosen in the file input. The script fails on
//! any console error, page error or request that leaves loopback; this side then finds the mail,
//! with its attachment intact, in the recipient's mailbox at the emulator. Outside CI the test is
//! skipped when node, `browser/node_modules` or Chromium is missing; in CI (`CI=true`, where
//! `.ci/run` installs them) a missing piece fails it.

use crate::support::{Sandbox, base64url, mimecheck};
use mail_parser::MimeHeaders;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const SUBJECT: &str = "Sent from the API docs page ✓";
const ATTACHMENT_NAME: &str = "browser-report.pdf";

/// The browser tests' folder, when node, its packages and Chromium are all there; otherwise
/// skips (outside CI) or fails (in CI) naming what is missing.
pub(crate) fn browser_tools() -> Option<PathBuf> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../browser");
    let chromium =
        std::env::var("FERRY_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .map(|output| output.status.success())
        .unwrap_or(false);
    let missing = if !node {
        Some("node is not installed".to_owned())
    } else if !folder.join("node_modules/playwright-core").is_dir() {
        Some(format!(
            "{} has no node_modules (run `npm ci` there)",
            folder.display()
        ))
    } else if !Path::new(&chromium).exists() {
        Some(format!(
            "no Chromium at {chromium} (apt-get install chromium)"
        ))
    } else {
        None
    };
    match missing {
        None => Some(folder),
        Some(reason) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("browser test skipped: {reason}");
            None
        }
        Some(reason) => panic!("the browser test needs it in CI (.ci/run installs it): {reason}"),
    }
}

/// Runs one browser scenario to completion; answers what it printed after `RESULT `.
pub(crate) async fn run_scenario(folder: &Path, script: &str, env: &[(&str, String)]) -> Value {
    let started = Instant::now();
    let mut command = tokio::process::Command::new("node");
    command
        .arg(script)
        .current_dir(folder)
        .envs(env.iter().map(|(name, value)| (*name, value)))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    let output = tokio::time::timeout(Duration::from_secs(120), command.output())
        .await
        .unwrap_or_else(|_| panic!("{script} did not finish in 120 s"))
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{script} failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    eprintln!(
        "{script} took {:.1} s:\n{stdout}",
        started.elapsed().as_secs_f64()
    );
    let result = stdout
        .lines()
        .find_map(|line| line.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("{script} printed no RESULT line:\n{stdout}\n{stderr}"));
    serde_json::from_str(result).unwrap()
}

#[tokio::test]
async fn a_user_tries_the_seed_calls_in_the_instance_docs_page_of_a_real_browser() {
    let Some(folder) = browser_tools() else {
        return;
    };
    let sandbox = Sandbox::start().await;
    let ada = sandbox.account(0);
    let grace = sandbox.account(1);
    let instance = sandbox.connect_gmail("Browser mail", &ada).await;
    let id = instance["id"].as_i64().unwrap();
    let token = instance["token"].as_str().unwrap();

    // A real file on disk, for the page's file input: bytes no text encoding would keep intact.
    let attachment: Vec<u8> = (0..30_000u32).map(|i| (i * 13 % 256) as u8).collect();
    let attachment_path = sandbox.dir.path().join(ATTACHMENT_NAME);
    std::fs::write(&attachment_path, &attachment).unwrap();

    let result = run_scenario(
        &folder,
        "docs-try-it-out.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_INSTANCE_ID", id.to_string()),
            (
                "FERRY_USER_SECRET",
                sandbox.config["user_secret"].as_str().unwrap().to_owned(),
            ),
            (
                "FERRY_ORGANIZATION_SECRET",
                sandbox.config["organization_secret"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            ),
            ("FERRY_MAIL_TO", grace.clone()),
            ("FERRY_MAIL_SUBJECT", SUBJECT.to_owned()),
            (
                "FERRY_ATTACHMENT",
                attachment_path.to_str().unwrap().to_owned(),
            ),
        ],
    )
    .await;

    // The browser listed ada's mail and read one of them.
    let listed = sandbox.hub(Method::GET, "/messages", token, None).await;
    let ids: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&result["read"].as_str().unwrap()),
        "{result} {ids:?}"
    );
    assert!(result["listed"].as_u64().unwrap() >= 1, "{result}");

    // The mail sent from the page is ada's sent message, with the file as its attachment…
    let sent_id = result["sent"].as_str().unwrap();
    let sent = sandbox
        .hub(Method::GET, &format!("/messages/{sent_id}"), token, None)
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.text);
    assert!(
        sent.body["labelIds"]
            .as_array()
            .unwrap()
            .contains(&json!("SENT")),
        "{}",
        sent.text
    );
    let part = sent.body["payload"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["filename"] == ATTACHMENT_NAME)
        .unwrap_or_else(|| panic!("no {ATTACHMENT_NAME} part in {}", sent.text));
    assert_eq!(
        part["body"]["size"],
        json!(attachment.len()),
        "{}",
        sent.text
    );

    // …and it arrived in grace's inbox at the emulator, the file's bytes unchanged.
    let received: Vec<Value> = sandbox
        .mailbox(&grace)
        .await
        .into_iter()
        .filter(|m| {
            m["labelIds"]
                .as_array()
                .is_some_and(|labels| labels.contains(&json!("INBOX")))
        })
        .collect();
    let raws: Vec<Vec<u8>> = received
        .iter()
        .map(|m| base64url(m["raw"].as_str().unwrap()))
        .filter(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .is_some_and(|parsed| parsed.subject() == Some(SUBJECT))
        })
        .collect();
    assert_eq!(raws.len(), 1, "one mail titled {SUBJECT:?} for {grace}");
    let parsed = mail_parser::MessageParser::default()
        .parse(&raws[0])
        .unwrap();
    let file = parsed.attachments().next().expect("an attachment");
    assert_eq!(file.attachment_name(), Some(ATTACHMENT_NAME));
    assert_eq!(
        file.contents(),
        attachment.as_slice(),
        "the file's bytes changed between the file input and the mailbox"
    );
    mimecheck(&raws);
}

#[tokio::test]
async fn another_apps_developer_tries_a_proxy_with_an_api_key_in_a_real_browser() {
    let Some(folder) = browser_tools() else {
        return;
    };
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Proxied mail", &sandbox.account(0))
        .await;
    let proxy = sandbox
        .api(
            Method::POST,
            "/proxies",
            Some(json!({
                "name": "Mail for partners",
                "basePath": "partner-mail",
                "instanceId": instance["id"],
                "operations": ["listMessages", "getMessage"]
            })),
        )
        .await;
    assert_eq!(proxy.status, StatusCode::CREATED, "{}", proxy.text);
    let key = sandbox
        .api(
            Method::POST,
            &format!("/proxies/{}/keys", proxy.body["id"]),
            Some(json!({"name": "partner portal"})),
        )
        .await;
    let result = run_scenario(
        &folder,
        "proxy-docs.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_PROXY_PATH", "partner-mail".to_owned()),
            (
                "FERRY_API_KEY",
                key.body["key"].as_str().unwrap().to_owned(),
            ),
        ],
    )
    .await;
    assert!(result["listed"].as_u64().unwrap() >= 1, "{result}");
    // The page's call went through the proxy with that key.
    let key_id = key.body["id"].to_string();
    let started = Instant::now();
    loop {
        let usage = sandbox
            .api(
                Method::GET,
                &format!("/proxies/{}/usage?groupBy=key", proxy.body["id"]),
                None,
            )
            .await;
        let points = usage.body["points"].as_array().unwrap();
        if points
            .iter()
            .any(|p| p["group"] == key_id.as_str() && p["calls"] == 1)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            usage.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
