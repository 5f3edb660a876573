//! Managing instances, tenancy and secrets at rest.

use crate::support::{Sandbox, reply};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::process::Command;

#[tokio::test]
async fn instances_are_listed_filtered_updated_disabled_and_deleted() {
    let sandbox = Sandbox::start().await;
    let work = sandbox
        .connect_gmail("Work mail", &sandbox.account(0))
        .await;
    let home = sandbox
        .connect_gmail("Home mail", &sandbox.account(1))
        .await;
    let work_id = work["id"].as_i64().unwrap();
    let token = work["token"].as_str().unwrap();

    let all = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(all.body.as_array().unwrap().len(), 2);
    assert_eq!(all.header("elements-total-count"), Some("2"));
    let patched = sandbox
        .api(
            Method::PATCH,
            &format!("/instances/{work_id}"),
            Some(json!({"tags": ["prod", "<b>mail</b>"]})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!(patched.body["tags"], json!(["prod", "mail"]));
    assert_eq!(patched.body["name"], "Work mail");
    let tagged = sandbox
        .api(Method::GET, "/instances?tags[]=prod", None)
        .await;
    assert_eq!(tagged.body.as_array().unwrap().len(), 1);
    assert_eq!(tagged.body[0]["id"], work_id);
    let searched = sandbox
        .api(Method::GET, "/instances?searchText=home", None)
        .await;
    assert_eq!(searched.body.as_array().unwrap().len(), 1);
    assert_eq!(searched.body[0]["id"], home["id"]);
    let by_key = sandbox
        .api(Method::GET, "/elements/gmail/instances", None)
        .await;
    assert_eq!(by_key.body.as_array().unwrap().len(), 2);

    let shown = sandbox
        .api(Method::GET, &format!("/instances/{work_id}"), None)
        .await;
    assert_eq!(shown.body["configuration"]["oauth.api.secret"], "********");
    assert_eq!(
        shown.body["configuration"]["oauth.api.key"],
        sandbox.client_id()
    );
    assert!(!shown.text.contains(&sandbox.client_secret()));

    // PUT with the body read by GET keeps the masked secret.
    let mut body = shown.body.clone();
    body["name"] = json!("Work mail (renamed)");
    let put = sandbox
        .api(Method::PUT, &format!("/instances/{work_id}"), Some(body))
        .await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.body["name"], "Work mail (renamed)");
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK,
        "client secret kept"
    );

    let disabled = sandbox
        .api(
            Method::DELETE,
            &format!("/instances/{work_id}/enabled"),
            None,
        )
        .await;
    assert_eq!(disabled.body["disabled"], true);
    let refused = sandbox.hub(Method::GET, "/messages", token, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.text);
    sandbox
        .api(Method::PUT, &format!("/instances/{work_id}/enabled"), None)
        .await;
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK
    );

    let deleted = sandbox
        .api(Method::DELETE, &format!("/instances/{work_id}"), None)
        .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        sandbox
            .api(Method::GET, &format!("/instances/{work_id}"), None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_instance_can_start_from_an_existing_refresh_token() {
    let sandbox = Sandbox::start().await;
    let ada = sandbox.account(0);
    // Obtain a grant outside ferry, as a user migrating from another tool would have one.
    let oauth = sandbox
        .api(
            Method::POST,
            "/elements/gmail/oauth/url",
            Some(json!({"apiKey": sandbox.client_id(), "apiSecret": sandbox.client_secret(), "callbackUrl": sandbox.redirect_uri()})),
        )
        .await;
    assert_eq!(oauth.status, StatusCode::OK, "{}", oauth.text);
    let callback = url::Url::parse(
        &sandbox
            .consent(oauth.body["oauthUrl"].as_str().unwrap(), &ada, "allow")
            .await,
    )
    .unwrap();
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    let tokens = reply(
        sandbox
            .http
            .post(format!("{}/token", sandbox.emulator()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", sandbox.redirect_uri().as_str()),
                ("client_id", sandbox.client_id().as_str()),
                ("client_secret", sandbox.client_secret().as_str()),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    let refresh_token = tokens.body["refresh_token"].as_str().unwrap().to_owned();

    let created = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": "gmail"},
                "externalAuthentication": "initial",
                "name": "migrated",
                "configuration": {
                    "oauth.api.key": sandbox.client_id(),
                    "oauth.api.secret": sandbox.client_secret(),
                    "oauth.user.refresh_token": refresh_token
                }
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    assert_eq!(created.body["externalAuthentication"], "initial");
    assert!(
        created.body["configuration"]
            .get("oauth.user.refresh_token")
            .is_none(),
        "tokens are not configuration"
    );
    let token = created.body["token"].as_str().unwrap();
    assert_eq!(
        sandbox
            .hub(Method::GET, "/messages", token, None)
            .await
            .status,
        StatusCode::OK
    );

    let bad = sandbox
        .api(
            Method::POST,
            "/instances",
            Some(json!({
                "element": {"key": "gmail"}, "externalAuthentication": "initial", "name": "bad",
                "configuration": {"oauth.api.key": sandbox.client_id(), "oauth.api.secret": sandbox.client_secret(), "oauth.user.refresh_token": "1//not-a-token"}
            })),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text);
    assert!(
        bad.body["providerMessage"]
            .as_str()
            .unwrap()
            .contains("invalid_grant"),
        "{}",
        bad.text
    );

    // Nothing secret is stored in plaintext.
    sandbox.connect_gmail("another", &sandbox.account(1)).await;
    let db = sandbox.database();
    let mut bytes = std::fs::read(&db).unwrap();
    for suffix in ["-wal", "-shm"] {
        if let Ok(more) = std::fs::read(format!("{}{suffix}", db.display())) {
            bytes.extend(more);
        }
    }
    for secret in [refresh_token.as_str(), &sandbox.client_secret(), token] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is stored in plaintext"
        );
    }
}

fn admin(sandbox: &Sandbox, args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .arg("admin")
        .args(args)
        .arg("--data-dir")
        .arg(sandbox.dir.path())
        .env("FERRY_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn secret_after(output: &str, label: &str) -> String {
    output
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .map(|rest| rest.trim().to_owned())
        .unwrap_or_else(|| panic!("no {label} in {output}"))
}

#[tokio::test]
async fn secrets_are_checked_and_organizations_do_not_see_each_other() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox.connect_gmail("ours", &sandbox.account(0)).await;
    let token = instance["token"].as_str().unwrap();

    let none = reply(
        sandbox
            .http
            .get(format!("{}/elements/api-v2/instances", sandbox.ferry()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.body["code"], "unauthenticated");
    assert!(none.body["requestId"].is_string());
    let wrong = sandbox
        .call(
            Method::GET,
            "/instances",
            None,
            "User nope, Organization nope",
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let user = sandbox.config["user_secret"].as_str().unwrap();
    let wrong_org = sandbox
        .call(
            Method::GET,
            "/instances",
            None,
            &format!("User {user}, Organization wrong"),
        )
        .await;
    assert_eq!(wrong_org.status, StatusCode::UNAUTHORIZED);
    let forged = sandbox
        .call(
            Method::GET,
            "/messages",
            None,
            &format!("{}, Element not-a-token", sandbox.auth()),
        )
        .await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let output = admin(
        &sandbox,
        &[
            "create-organization",
            "--name",
            "Other",
            "--email",
            "eve@other.example",
        ],
    );
    let other_user = secret_after(&output, "User secret:");
    let other_org = secret_after(&output, "Organization secret:");
    let other = format!("User {other_user}, Organization {other_org}");
    let theirs = sandbox.call(Method::GET, "/instances", None, &other).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert_eq!(theirs.body, json!([]));
    let id = instance["id"].as_i64().unwrap();
    assert_eq!(
        sandbox
            .call(Method::GET, &format!("/instances/{id}"), None, &other)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let stolen = sandbox
        .call(
            Method::GET,
            "/messages",
            None,
            &format!("{other}, Element {token}"),
        )
        .await;
    assert_eq!(stolen.status, StatusCode::UNAUTHORIZED, "{}", stolen.text);
    assert!(stolen.body.get("messages").is_none() && !stolen.body.is_array());

    // Rotation by another process: the old secrets stop working within the server's 5 s
    // credential cache, the new ones work at once.
    let rotated = admin(
        &sandbox,
        &["rotate-secrets", "--email", "eve@other.example"],
    );
    let new_user = secret_after(&rotated, "User secret:");
    let new_org = secret_after(&rotated, "Organization secret:");
    let rotated_at = std::time::Instant::now();
    loop {
        let status = sandbox
            .call(Method::GET, "/instances", None, &other)
            .await
            .status;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
        assert!(
            rotated_at.elapsed() < std::time::Duration::from_secs(7),
            "old secrets still work"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let fresh = format!("User {new_user}, Organization {new_org}");
    assert_eq!(
        sandbox
            .call(Method::GET, "/instances", None, &fresh)
            .await
            .status,
        StatusCode::OK
    );
    let listed = admin(&sandbox, &["list-users"]);
    assert!(listed.contains("eve@other.example") && !listed.contains(&new_user));
    let _: Value = Value::Null;
}
