//! The web console: signing in (session cookie, CSRF), and the API proxy pages clicked through
//! in a real browser (`browser/console-proxies.mjs`).

use crate::browser_docs::{browser_tools, run_scenario};
use crate::support::Sandbox;
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub(crate) const ADMIN: &str = "admin@ferry.local";

pub(crate) fn password(sandbox: &Sandbox) -> String {
    sandbox.config["console_password"]
        .as_str()
        .expect("the sandbox file has the console password")
        .to_owned()
}

/// Signs in with a form post; answers the session cookie (`name=value`).
pub(crate) async fn sign_in(sandbox: &Sandbox, password: &str) -> Option<String> {
    let answer = sandbox
        .http
        .post(format!("{}/console/sign-in", sandbox.ferry()))
        .form(&[("email", ADMIN), ("password", password)])
        .send()
        .await
        .unwrap();
    let cookie = answer
        .headers()
        .get("set-cookie")?
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    Some(cookie.split(';').next().unwrap().to_owned())
}

pub(crate) fn csrf_of(html: &str) -> String {
    let start = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[start..start + html[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn signing_in_takes_the_password_and_forms_take_the_sessions_csrf_token() {
    let sandbox = Sandbox::start().await;
    let closed = sandbox
        .http
        .get(format!("{}/console/proxies", sandbox.ferry()))
        .send()
        .await
        .unwrap();
    assert_eq!(closed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        closed.headers()["location"],
        "/console/sign-in?next=/console/proxies"
    );

    assert!(sign_in(&sandbox, "a wrong password!").await.is_none());
    let cookie = sign_in(&sandbox, &password(&sandbox)).await.unwrap();
    let page = sandbox
        .http
        .get(format!("{}/console/proxies", sandbox.ferry()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains(ADMIN), "the page says who is signed in");
    let csrf = csrf_of(&html);

    let instance = sandbox
        .connect_gmail("Console mail", &sandbox.account(0))
        .await;
    let publish = |token: String| {
        sandbox
            .http
            .post(format!("{}/console/proxies", sandbox.ferry()))
            .header("Cookie", &cookie)
            .form(&[
                ("csrf", token.as_str()),
                ("name", "From a form"),
                ("base_path", "form-mail"),
                ("instance_id", &instance["id"].to_string()),
                ("operations", ""),
                ("cors_origins", ""),
                ("rate_requests", "5"),
                ("rate_seconds", "1"),
                ("daily_quota", ""),
            ])
            .send()
    };
    // Without the session's token (a form from another site), nothing is published.
    let forged = publish("forged".into()).await.unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let proxies = sandbox.api(Method::GET, "/proxies", None).await;
    assert_eq!(proxies.body, Value::Array(vec![]));
    let published = publish(csrf.clone()).await.unwrap();
    assert_eq!(published.status(), StatusCode::SEE_OTHER);
    let proxies = sandbox.api(Method::GET, "/proxies", None).await;
    assert_eq!(proxies.body[0]["basePath"], "form-mail");
    assert_eq!(proxies.body[0]["rateLimit"]["requests"], 5);

    // Signed out, the cookie opens nothing.
    let out = sandbox
        .http
        .post(format!("{}/console/sign-out", sandbox.ferry()))
        .header("Cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = sandbox
        .http
        .get(format!("{}/console/proxies", sandbox.ferry()))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_person_publishes_a_proxy_and_manages_its_keys_in_a_real_browser() {
    let Some(folder) = browser_tools() else {
        return;
    };
    let sandbox = Sandbox::start().await;
    sandbox
        .connect_gmail("Console mail", &sandbox.account(0))
        .await;
    let result = run_scenario(
        &folder,
        "console-proxies.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_CONSOLE_EMAIL", ADMIN.to_owned()),
            ("FERRY_CONSOLE_PASSWORD", password(&sandbox)),
            ("FERRY_INSTANCE_NAME", "Console mail".to_owned()),
        ],
    )
    .await;
    // What the clicks did is what the API shows.
    let proxy = sandbox
        .api(Method::GET, &format!("/proxies/{}", result["proxy"]), None)
        .await;
    assert_eq!(proxy.status, StatusCode::OK, "{}", proxy.text);
    assert_eq!(proxy.body["basePath"], "console-mail");
    assert_eq!(
        proxy.body["operations"],
        serde_json::json!(["listMessages", "getMessage"])
    );
    assert_eq!(proxy.body["rateLimit"]["requests"], 100);
    let keys = sandbox
        .api(
            Method::GET,
            &format!("/proxies/{}/keys", result["proxy"]),
            None,
        )
        .await;
    assert_eq!(keys.body[0]["name"], "mobile app");
    assert_eq!(keys.body[0]["status"], "revoked");
    assert!(!keys.text.contains(result["key"].as_str().unwrap()));
}

#[tokio::test]
async fn an_operator_sets_a_console_password_from_standard_input() {
    use std::io::Write;
    let sandbox = Sandbox::start().await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["admin", "set-password", "--email", ADMIN, "--data-dir"])
        .arg(sandbox.dir.path())
        .env("FERRY_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a fresh console password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("is set"));
    assert!(
        sign_in(&sandbox, &password(&sandbox)).await.is_none(),
        "the old one is gone"
    );
    assert!(
        sign_in(&sandbox, "a fresh console password")
            .await
            .is_some()
    );

    let (ok, _, stderr) = sandbox.ferry_command(&[
        "admin",
        "set-password",
        "--email",
        "nobody@example.com",
        "--data-dir",
        sandbox.dir.path().to_str().unwrap(),
    ]);
    assert!(!ok && stderr.contains("password"), "{stderr}");
}

#[tokio::test]
async fn the_seed_walkthrough_is_clicked_through_in_the_console_of_a_real_browser() {
    let Some(folder) = browser_tools() else {
        return;
    };
    let sandbox = Sandbox::start().await;
    let grace = sandbox.account(1);
    let before = sandbox.mailbox(&grace).await.len();
    let result = run_scenario(
        &folder,
        "console-seed.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_CONSOLE_EMAIL", ADMIN.to_owned()),
            ("FERRY_CONSOLE_PASSWORD", password(&sandbox)),
            ("FERRY_EMULATOR_URL", sandbox.emulator()),
            ("FERRY_CLIENT_ID", sandbox.client_id()),
            ("FERRY_CLIENT_SECRET", sandbox.client_secret()),
            ("FERRY_ACCOUNT", sandbox.account(0)),
            ("FERRY_MAIL_TO", grace.clone()),
        ],
    )
    .await;
    // Two consents (the first, and the one after the revocation), each ending in a code exchange.
    let token_requests = sandbox.token_requests().await;
    assert_eq!(
        token_requests["authorization_code"], 2,
        "two consents, two code exchanges: {token_requests}"
    );
    // The flow run from the console sent the seed's mail.
    let execution = sandbox
        .finished_execution(result["execution"].as_i64().unwrap())
        .await;
    assert_eq!(execution["status"], "success", "{execution}");
    assert_eq!(
        sandbox.mailbox(&grace).await.len(),
        before + 1,
        "the seed's mail arrived"
    );
    // The delete at the end removed the instance.
    let gone = sandbox
        .api(
            Method::GET,
            &format!("/instances/{}", result["instance"]),
            None,
        )
        .await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.text);
}

#[tokio::test]
async fn the_consoles_hub_path_needs_the_session_and_its_csrf_token() {
    let sandbox = Sandbox::start().await;
    let instance = sandbox
        .connect_gmail("Console hub", &sandbox.account(0))
        .await;
    let cookie = sign_in(&sandbox, &password(&sandbox)).await.unwrap();
    let page = sandbox
        .http
        .get(format!(
            "{}/console/instances/{}/docs",
            sandbox.ferry(),
            instance["id"]
        ))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let start = page.find("data-csrf=\"").unwrap() + 11;
    let csrf = &page[start..start + page[start..].find('"').unwrap()];
    let url = format!(
        "{}/console/instances/{}/api/messages",
        sandbox.ferry(),
        instance["id"]
    );
    let call = |cookie: Option<&str>, csrf: Option<&str>| {
        let mut request = sandbox.http.get(&url);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        request.send()
    };
    assert_eq!(
        call(None, Some(csrf)).await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        call(Some(&cookie), None).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let listed = call(Some(&cookie), Some(csrf)).await.unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    let messages: Value = listed.json().await.unwrap();
    assert!(!messages.as_array().unwrap().is_empty());
    // The document sends "Try it out" there.
    let document: Value = sandbox
        .http
        .get(format!(
            "{}/console/instances/{}/docs.json",
            sandbox.ferry(),
            instance["id"]
        ))
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["servers"][0]["url"],
        format!("/console/instances/{}/api", instance["id"])
    );
}

#[tokio::test]
async fn executions_are_listed_read_retried_and_cancelled_in_a_real_browser() {
    use serde_json::json;
    let Some(folder) = browser_tools() else {
        return;
    };
    let sandbox = Sandbox::start().await;
    let check = sandbox
        .create_flow(json!({
            "name": "Check the customer",
            "triggers": [{"type": "manual", "onSuccess": ["check"]}],
            "steps": [{"name": "check", "type": "script", "properties": {"body":
                "console.log('checking', trigger.args.fail);\nif (trigger.args.fail) { throw new Error('the customer has no email address'); }\ndone({ok: true});"}}]
        }))
        .await;
    let slow = sandbox
        .create_flow(json!({
            "name": "Take your time",
            "triggers": [{"type": "manual", "onSuccess": ["wait"]}],
            "steps": [{"name": "wait", "type": "script", "properties": {"body":
                "const end = Date.now() + 4000; while (Date.now() < end) {} done({waited: true});"}}]
        }))
        .await;
    let check_instance = sandbox.create_flow_instance(check, json!({})).await;
    let slow_instance = sandbox.create_flow_instance(slow, json!({})).await;
    let check_id = check_instance["id"].as_i64().unwrap();
    let ok = sandbox
        .start_execution(check_id, json!({"fail": false}))
        .await;
    let failed = sandbox
        .start_execution(check_id, json!({"fail": true}))
        .await;
    sandbox.finished_execution(ok).await;
    assert_eq!(sandbox.finished_execution(failed).await["status"], "failed");
    let result = run_scenario(
        &folder,
        "console-executions.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_CONSOLE_EMAIL", ADMIN.to_owned()),
            ("FERRY_CONSOLE_PASSWORD", password(&sandbox)),
            ("FERRY_AUTHORIZATION", sandbox.auth()),
            ("FERRY_CHECK_INSTANCE", check_id.to_string()),
            ("FERRY_SLOW_INSTANCE", slow_instance["id"].to_string()),
            ("FERRY_FAILED_EXECUTION", failed.to_string()),
        ],
    )
    .await;
    // Settings replaced the API secrets: the old ones stop working, the new ones work.
    let old = sandbox.api(Method::GET, "/formulas", None).await;
    assert_eq!(old.status, StatusCode::UNAUTHORIZED, "{}", old.text);
    let auth = format!(
        "User {}, Organization {}",
        result["userSecret"].as_str().unwrap(),
        result["organizationSecret"].as_str().unwrap()
    );
    let retried_path = format!("/formulas/instances/executions/{}", result["retried"]);
    let retried = sandbox.call(Method::GET, &retried_path, None, &auth).await;
    assert_eq!(retried.status, StatusCode::OK, "{}", retried.text);
    assert_eq!(retried.body["attempt"], 2, "{}", retried.text);
    let cancelled_path = format!("/formulas/instances/executions/{}", result["cancelled"]);
    let cancelled = sandbox
        .call(Method::GET, &cancelled_path, None, &auth)
        .await;
    assert_eq!(cancelled.body["status"], "cancelled", "{}", cancelled.text);
}
