//! Authenticating connectors without consent in the web console: the connector page shows the
//! definition's configuration fields (secrets as password inputs) and makes the instance at once
//! through the service behind `POST /instances`. Forms with a problem come back naming the field,
//! keeping what was typed except secrets; the instance page of a connector that receives
//! webhooks shows its events URL. Clicked through in a real browser
//! (`browser/console-connectors.mjs`) against GitHub's and Jira's recorded exchanges served on
//! loopback, and posted as plain forms for the error paths.

use crate::browser_docs::{browser_tools, run_scenario};
use crate::connector_webhooks::{WEBHOOK_SECRET, deliver, notes_push_definition, signed, unix_now};
use crate::console::{ADMIN, csrf_of, password, sign_in};
use crate::credential_checks::identified_stats_definition;
use crate::notes_service::{CLIENT_ID, CLIENT_SECRET, start_service};
use crate::support::{Reply, Sandbox};
use axum::Router;
use axum::extract::State;
use axum::routing::any;
use ferry_connectors::cases::ConnectorCases;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

const GITHUB_TOKEN: &str = "ghp_fixture";
const JIRA_TOKEN: &str = "jira-token";
const NOTES_KEY: &str = "k-acme";

/// A bundled connector's recorded vendor exchanges (`connectors/<key>/fixtures.yaml`), served on
/// loopback; answers the origin. A call no fixture holds gets a 501.
async fn serve_fixtures(key: &str) -> String {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../connectors")
        .join(key);
    let cases = Arc::new(ConnectorCases::read(&folder).unwrap().unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .fallback(any(
            |State((cases, origin)): State<(Arc<ConnectorCases>, String)>,
             request: axum::extract::Request| async move {
                let (parts, body) = request.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap();
                let headers: BTreeMap<String, String> = parts
                    .headers
                    .iter()
                    .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                    .collect();
                let reply = cases.fixtures.reply(
                    parts.method.as_str(),
                    parts.uri.path(),
                    parts.uri.query(),
                    &headers,
                    &body,
                    &origin,
                );
                let mut response = axum::http::Response::builder();
                let body = match reply {
                    Some(reply) => {
                        response = response.status(reply.status);
                        for (name, value) in reply.headers {
                            response = response.header(name, value);
                        }
                        reply.body
                    }
                    None => {
                        response = response.status(501);
                        br#"{"message":"no fixture for this call"}"#.to_vec()
                    }
                };
                response.body(axum::body::Body::from(body)).unwrap()
            },
        ))
        .with_state((cases, origin.clone()));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    origin
}

/// Sets the console password of `ferry serve`'s first user, as an operator would.
fn set_console_password(sandbox: &mut Sandbox, password: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["admin", "set-password", "--email", ADMIN, "--data-dir"])
        .arg(sandbox.dir.path())
        .env("FERRY_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    sandbox.config["console_password"] = json!(password);
}

/// Posts the Authenticate form of connector `key`; answers the status, the redirect target and
/// the page.
async fn post_form(
    sandbox: &Sandbox,
    cookie: &str,
    key: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let answer = sandbox
        .http
        .post(format!(
            "{}/console/connectors/{key}/instances",
            sandbox.ferry()
        ))
        .header("Cookie", cookie)
        .form(fields)
        .send()
        .await
        .unwrap();
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_owned());
    (status, location, answer.text().await.unwrap())
}

/// A console page with the session `cookie`; answers the status and the page.
async fn get_page(sandbox: &Sandbox, cookie: &str, path: String) -> (StatusCode, String) {
    let answer = sandbox
        .http
        .get(format!("{}{path}", sandbox.ferry()))
        .header("Cookie", cookie)
        .send()
        .await
        .unwrap();
    (answer.status(), answer.text().await.unwrap())
}

/// An instance as the API shows it.
async fn instance(sandbox: &Sandbox, id: &serde_json::Value) -> Reply {
    sandbox
        .api(Method::GET, &format!("/instances/{id}"), None)
        .await
}

/// The text of the page's alert, where the console says what went wrong.
fn alert(html: &str) -> String {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("[role=alert]").unwrap();
    document
        .select(&selector)
        .map(|alert| alert.text().collect::<String>())
        .next()
        .unwrap_or_else(|| panic!("no alert on the page:\n{html}"))
}

/// The `value` of the input with `id` (`None`: the input has none).
fn input_value(html: &str, id: &str) -> Option<String> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(&format!("[id=\"{id}\"]")).unwrap();
    let input = document
        .select(&selector)
        .next()
        .unwrap_or_else(|| panic!("no #{id} on the page:\n{html}"));
    input.value().attr("value").map(str::to_owned)
}

#[tokio::test]
async fn the_configuration_form_names_what_is_missing_or_refused_and_never_shows_a_secret() {
    let (origin, service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let cookie = sign_in(&sandbox, &password(&sandbox)).await.unwrap();
    let page = |path: &str| get_page(&sandbox, &cookie, path.to_owned());

    // Jira's page asks for its three fields, the token as a password, and opens no consent tab.
    let (status, html) = page("/console/connectors/jira").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    for label in ["Site", "Account email", "API token"] {
        assert!(
            html.contains(&format!(">{label}</label>")),
            "{label}: {html}"
        );
    }
    assert!(
        html.contains(
            r#"<input id="field-jira.api.token" name="configuration.jira.api.token" type="password""#
        ),
        "{html}"
    );
    assert!(!html.contains("ferry-consent"), "{html}");
    let csrf = csrf_of(&html);

    // An email of blanks is no email: the page says so, keeps the site, drops the token.
    let (status, _, html) = post_form(
        &sandbox,
        &cookie,
        "jira",
        &[
            ("csrf", &csrf),
            ("name", "Work Jira"),
            ("configuration.jira.site", "acme"),
            ("configuration.jira.email", "   "),
            ("configuration.jira.api.token", "s3cret-jira-token"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(alert(&html), "Account email is required.");
    assert_eq!(
        input_value(&html, "field-jira.site").as_deref(),
        Some("acme")
    );
    assert_eq!(input_value(&html, "name").as_deref(), Some("Work Jira"));
    assert_eq!(input_value(&html, "field-jira.api.token"), None);
    assert!(!html.contains("s3cret-jira-token"), "the secret came back");
    assert!(
        html.contains(r#"id="field-jira.email" name="configuration.jira.email" value="   " required aria-invalid="true""#),
        "{html}"
    );
    let (_, _, html) = post_form(&sandbox, &cookie, "jira", &[("csrf", &csrf)]).await;
    assert_eq!(
        alert(&html),
        "Instance name, Site, Account email and API token are required."
    );
    let instances = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(instances.body, json!([]), "nothing was created");

    // A form from another site, and a connector that does not exist.
    let (status, _, _) = post_form(
        &sandbox,
        &cookie,
        "jira",
        &[("csrf", "forged"), ("name", "x")],
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, html) = post_form(&sandbox, &cookie, "no-such-thing", &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{html}");
    assert!(html.contains("no-such-thing"), "{html}");
    let (status, _) = page("/console/connectors/no-such-thing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A client-credentials connector: the service asks the vendor, which refuses a wrong secret.
    let definition = json!({
        "key": "notes-service", "name": "Notes (service account)", "description": "d", "hub": "general",
        "base_url": format!("{origin}/v1"),
        "auth": {"type": "oauth2", "grant": "client_credentials", "token_url": format!("{origin}/oauth/token")},
        "configuration": [
            {"key": "oauth.api.key", "name": "Client id", "required": true},
            {"key": "oauth.api.secret", "name": "Client secret", "kind": "password", "required": true}
        ],
        "resources": [{
            "operation": "getNote", "method": "GET", "path": "/notes/{id}", "summary": "Get a note",
            "parameters": [{"name": "id", "in": "path", "required": true, "pattern": "[0-9]+"}],
            "vendor": {"method": "GET", "path": "/notes/{id}"}
        }]
    });
    let created = sandbox
        .api(Method::POST, "/elements", Some(definition))
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);
    let (status, html) = page("/console/connectors/notes-service").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(">Client secret</label>"), "{html}");
    let (status, _, html) = post_form(
        &sandbox,
        &cookie,
        "notes-service",
        &[
            ("csrf", &csrf),
            ("name", "Service notes"),
            ("configuration.oauth.api.key", CLIENT_ID),
            ("configuration.oauth.api.secret", "not-the-secret"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        alert(&html),
        "The provider did not accept the client credentials (the provider said: invalid_client)"
    );
    assert_eq!(
        input_value(&html, "field-oauth.api.key").as_deref(),
        Some(CLIENT_ID)
    );
    assert!(!html.contains("not-the-secret"), "the secret came back");
    assert!(html.contains("Type it again"), "{html}");

    // The right secret: the instance is made and the browser goes to its page.
    let (status, location, _) = post_form(
        &sandbox,
        &cookie,
        "notes-service",
        &[
            ("csrf", &csrf),
            ("name", "Service notes"),
            ("configuration.oauth.api.key", CLIENT_ID),
            ("configuration.oauth.api.secret", CLIENT_SECRET),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let location = location.unwrap();
    let id = location
        .strip_prefix("/console/instances/")
        .unwrap_or_else(|| panic!("{location}"));
    assert_eq!(service.lock().unwrap().client_grants, 1);
    let (status, html) = page(&location).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>Service notes</h1>"), "{html}");
    assert!(html.contains("********") && !html.contains(CLIENT_SECRET));
    assert!(
        !html.contains("Re-authenticate"),
        "no consent to renew: {html}"
    );
    assert!(!html.contains("Events webhook URL"), "{html}");
    let instance = sandbox
        .api(Method::GET, &format!("/instances/{id}"), None)
        .await;
    assert_eq!(instance.body["status"], "active", "{}", instance.text);
    let token = instance.body["token"].as_str().unwrap();
    let note = sandbox
        .hub(Method::GET, "/hubs/general/notes/4", token, None)
        .await;
    assert_eq!(note.status, StatusCode::OK, "{}", note.text);
}

// An API key the vendor refused used to make an instance anyway, whose every call then failed;
// the form now comes back saying the vendor refused it, and nothing is made.
#[tokio::test]
async fn an_api_key_the_vendor_refuses_comes_back_on_the_form_and_makes_no_instance() {
    let (origin, _service) = start_service().await;
    let sandbox = Sandbox::start().await;
    let cookie = sign_in(&sandbox, &password(&sandbox)).await.unwrap();
    let added = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(identified_stats_definition(
                "tenant-stats",
                &format!("{origin}/tenants/{{stats.tenant}}"),
            )),
        )
        .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.text);
    let (status, html) =
        get_page(&sandbox, &cookie, "/console/connectors/tenant-stats".into()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csrf = csrf_of(&html);

    let (status, _, html) = post_form(
        &sandbox,
        &cookie,
        "tenant-stats",
        &[
            ("csrf", &csrf),
            ("name", "Stats of acme"),
            ("configuration.stats.tenant", "acme"),
            ("configuration.stats.key", "k-mistyped"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert_eq!(
        alert(&html),
        "The vendor refused the credentials in API key; check them and try again (the provider said: wrong key)"
    );
    assert!(
        html.contains(r#"id="field-stats.key" name="configuration.stats.key" type="password" autocomplete="off" required aria-invalid="true""#),
        "the key is marked: {html}"
    );
    assert_eq!(
        input_value(&html, "field-stats.tenant").as_deref(),
        Some("acme")
    );
    assert!(!html.contains("k-mistyped"), "the secret came back");
    let instances = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(instances.body, json!([]), "nothing was created");

    let (status, location, _) = post_form(
        &sandbox,
        &cookie,
        "tenant-stats",
        &[
            ("csrf", &csrf),
            ("name", "Stats of acme"),
            ("configuration.stats.tenant", "acme"),
            ("configuration.stats.key", NOTES_KEY),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (status, html) = get_page(&sandbox, &cookie, location.unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("<h1>Stats of acme</h1>"), "{html}");
    let instances = sandbox.api(Method::GET, "/instances", None).await;
    assert_eq!(instances.body[0]["account"], "acme", "{}", instances.text);
}

#[tokio::test]
async fn a_person_connects_github_jira_and_a_webhook_connector_in_the_console_of_a_real_browser() {
    let Some(folder) = browser_tools() else {
        return;
    };
    let github = serve_fixtures("github").await;
    let jira = serve_fixtures("jira").await;
    let (notes, _service) = start_service().await;
    let rewrites = format!("https://api.github.com={github},https://acme.atlassian.net={jira}");
    let mut sandbox = Sandbox::start_separate(&["--endpoint-rewrite", &rewrites]).await;
    set_console_password(&mut sandbox, "a console password for connectors");
    let created = sandbox
        .api(
            Method::POST,
            "/elements",
            Some(notes_push_definition(&notes)),
        )
        .await;
    assert_eq!(created.status, StatusCode::OK, "{}", created.text);

    let result = run_scenario(
        &folder,
        "console-connectors.mjs",
        &[
            ("FERRY_URL", sandbox.ferry()),
            ("FERRY_CONSOLE_EMAIL", ADMIN.to_owned()),
            ("FERRY_CONSOLE_PASSWORD", password(&sandbox)),
            ("FERRY_GITHUB_TOKEN", GITHUB_TOKEN.to_owned()),
            ("FERRY_JIRA_SITE", "acme".to_owned()),
            ("FERRY_JIRA_EMAIL", "ada@acme.test".to_owned()),
            ("FERRY_JIRA_TOKEN", JIRA_TOKEN.to_owned()),
            ("FERRY_NOTES_KEY", NOTES_KEY.to_owned()),
            ("FERRY_WEBHOOK_SECRET", WEBHOOK_SECRET.to_owned()),
        ],
    )
    .await;

    // The instances the clicks made work through the API, with the credentials typed in.
    let github = instance(&sandbox, &result["github"]).await;
    assert_eq!(github.body["account"], "octocat", "{}", github.text);
    assert_eq!(github.body["configuration"]["github.token"], "********");
    let me = sandbox
        .hub(
            Method::GET,
            "/hubs/general/me",
            github.body["token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text);
    assert_eq!(me.body["login"], "octocat");

    let jira = instance(&sandbox, &result["jira"]).await;
    assert_eq!(jira.body["account"], "ada@acme.test", "{}", jira.text);
    assert_eq!(jira.body["configuration"]["jira.site"], "acme");
    let projects = sandbox
        .hub(
            Method::GET,
            "/hubs/general/projects?pageSize=2",
            jira.body["token"].as_str().unwrap(),
            None,
        )
        .await;
    assert_eq!(projects.status, StatusCode::OK, "{}", projects.text);
    assert_eq!(projects.body[0]["key"], "ENG", "{}", projects.text);

    // The URL the page showed is the instance's, and a delivery signed with the secret typed in
    // the form is taken there.
    let pushed = instance(&sandbox, &result["notes"]).await;
    let url = result["webhookUrl"].as_str().unwrap();
    assert_eq!(pushed.body["eventsWebhookUrl"], url, "{}", pushed.text);
    let body = serde_json::to_vec(&json!({"events": [
        {"id": "evt_console", "type": "note.created", "note": {"note_id": 8}}
    ]}))
    .unwrap();
    let delivered = deliver(
        &sandbox,
        url,
        &body,
        &signed(WEBHOOK_SECRET, unix_now(), &body),
    )
    .await;
    assert_eq!(delivered.status, StatusCode::OK, "{}", delivered.text);
    assert_eq!(delivered.body["events"], 1, "{}", delivered.text);
}
