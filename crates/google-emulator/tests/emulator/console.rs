//! The seed's first half at "Google": a project, the Gmail API, the consent screen and a Web
//! application client, through the console's pages and through its JSON API; and what a
//! project's settings mean for OAuth and Gmail calls.

use crate::support::*;
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::{Value, json};

/// Posts a console form and answers (status, Location, body).
async fn submit(
    base: &str,
    action: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Option<String>, String) {
    let reply = http()
        .post(format!("{base}{action}"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = reply.status();
    let location = reply
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, location, reply.text().await.unwrap())
}

fn by_id(html: &str, id: &str) -> String {
    let document = Html::parse_document(html);
    let selector = Selector::parse(&format!("#{id}")).unwrap();
    document
        .select(&selector)
        .next()
        .unwrap_or_else(|| panic!("no #{id} in {html}"))
        .text()
        .collect()
}

async fn token_with(
    base: &str,
    client_id: &str,
    secret: &str,
    account: &str,
) -> (StatusCode, Value) {
    let redirect = consent(base, client_id, account, &[MAIL], &[]).await;
    let code = query(&redirect, "code").expect("code");
    let reply = http()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("client_secret", secret),
        ])
        .send()
        .await
        .unwrap();
    (reply.status(), reply.json().await.unwrap())
}

#[tokio::test]
async fn the_seeds_first_half_through_the_console_pages() {
    let emu = start().await;
    let base = emu.url();
    let home = http().get(format!("{base}/console")).send().await.unwrap();
    assert_eq!(home.status(), StatusCode::OK);
    assert!(home.text().await.unwrap().contains("New project"));

    // Create a project (e.g. myIBProject) and click Create.
    let (status, location, _) =
        submit(&base, "/console/projects", &[("name", "myIBProject")]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let project_path = location.unwrap();
    let project_id = project_path.rsplit('/').next().unwrap().to_owned();
    assert!(project_id.starts_with("myibproject-"), "{project_id}");
    let page = http()
        .get(format!("{base}{project_path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(by_id(&page, "gmail-status"), "Not enabled");

    // A client before the consent screen is configured is refused, as the console does.
    let (status, _, body) = submit(
        &base,
        &format!("{project_path}/clients"),
        &[("type", "web"), ("redirect_uris", REDIRECT)],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("consent screen"), "{body}");

    // OAuth consent screen: product name and cloudelements.io as an authorized domain.
    let (status, _, _) = submit(
        &base,
        &format!("{project_path}/consent-screen"),
        &[
            ("product_name", "GmailConnectorTest"),
            ("support_email", ALICE),
            ("authorized_domains", "cloudelements.io"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // A redirect URI outside the authorized domains is refused with the console's words.
    let (status, _, body) = submit(
        &base,
        &format!("{project_path}/clients"),
        &[
            ("type", "web"),
            ("name", "IB"),
            ("redirect_uris", "https://auth.example.org/oauth"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("authorized domains"), "{body}");

    // Web application with https://auth.cloudelements.io/oauth and a loopback URI: id and secret.
    let uris = format!("https://auth.cloudelements.io/oauth\n{REDIRECT}");
    let (status, _, created) = submit(
        &base,
        &format!("{project_path}/clients"),
        &[("type", "web"), ("name", "IB"), ("redirect_uris", &uris)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{created}");
    let client_id = by_id(&created, "client_id");
    let secret = by_id(&created, "client_secret");
    let number = emu.emulator().projects()[0].project_number;
    assert!(
        client_id.starts_with(&format!("{number}-"))
            && client_id.ends_with(".apps.googleusercontent.com")
    );
    assert!(secret.starts_with("GOCSPX-"));

    // The consent shows the product name; the grant drops the security alert naming it.
    let consent_page = open(&authorize_url(&base, &client_id, &[MAIL], &[])).await;
    assert_eq!(consent_page.status, StatusCode::OK);
    let (status, tokens) = token_with(&base, &client_id, &secret, BOB).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let alert = emu
        .emulator()
        .mailbox_messages(BOB)
        .into_iter()
        .map(|m| String::from_utf8_lossy(&m.raw).into_owned())
        .find(|raw| raw.contains("Subject: Security alert"))
        .expect("a security alert");
    assert!(
        alert.contains("GmailConnectorTest was granted access to your Google Account"),
        "{alert}"
    );

    // The Gmail API is not enabled yet: Google's 403 accessNotConfigured.
    let access = tokens["access_token"].as_str().unwrap();
    let profile = |token: String| {
        let base = base.clone();
        async move {
            let reply = http()
                .get(format!("{base}/gmail/v1/users/me/profile"))
                .bearer_auth(token)
                .send()
                .await
                .unwrap();
            (reply.status(), reply.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = profile(access.to_owned()).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_gmail_error(&body, 403, "PERMISSION_DENIED", "accessNotConfigured");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains(&format!("project {number}")),
        "{body}"
    );

    // Enable it: the same token works.
    let (status, _, _) = submit(
        &base,
        &format!("{project_path}/apis/gmail"),
        &[("action", "enable")],
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let page = http()
        .get(format!("{base}{project_path}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(by_id(&page, "gmail-status"), "Enabled");
    let (status, body) = profile(access.to_owned()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["emailAddress"], BOB);

    // A redirect URI the client did not register: redirect_uri_mismatch.
    let mismatch = open(&authorize_url(&base, &client_id, &[MAIL], &[]).replace(
        &url::form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect::<String>(),
        "http%3A%2F%2F127.0.0.1%3A9%2Fsomewhere-else",
    ))
    .await;
    assert_eq!(mismatch.status, StatusCode::BAD_REQUEST);
    assert!(
        mismatch.html.contains("redirect_uri_mismatch"),
        "{}",
        mismatch.html
    );
}

#[tokio::test]
async fn the_console_api_does_the_same_for_scripts() {
    let emu = start().await;
    let base = emu.url();
    let post = |path: String, body: Value| {
        let base = base.clone();
        async move {
            let reply = http()
                .post(format!("{base}{path}"))
                .json(&body)
                .send()
                .await
                .unwrap();
            (reply.status(), reply.json::<Value>().await.unwrap())
        }
    };
    let (status, project) = post(
        "/_emulator/projects".into(),
        json!({"name": "Scripted", "project_id": "scripted-project"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{project}");
    assert_eq!(project["gmail_api_enabled"], false);
    let (status, again) = post(
        "/_emulator/projects".into(),
        json!({"name": "Twice", "project_id": "scripted-project"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (status, bad) = post(
        "/_emulator/projects".into(),
        json!({"name": "Bad", "project_id": "Bad_Id"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad["error"].as_str().unwrap().contains("project_id"),
        "{bad}"
    );

    let screen = http()
        .put(format!(
            "{base}/_emulator/projects/scripted-project/consent-screen"
        ))
        .json(&json!({"product_name": "Scripted App", "authorized_domains": ["ferry.example"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(screen.status(), StatusCode::OK);
    let (status, refused) = post(
        "/_emulator/projects/scripted-project/clients".into(),
        json!({"type": "web", "redirect_uris": ["https://other.example/cb"]}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .starts_with("invalid redirect_uris"),
        "{refused}"
    );
    let (status, client) = post(
        "/_emulator/projects/scripted-project/clients".into(),
        json!({"type": "web", "redirect_uris": ["https://app.ferry.example/oauth/callback", REDIRECT]}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{client}");
    let (client_id, secret) = (
        client["client_id"].as_str().unwrap(),
        client["client_secret"].as_str().unwrap(),
    );

    let (status, enabled) = post(
        "/_emulator/projects/scripted-project/apis/gmail/enable".into(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(enabled["gmail_api_enabled"], true);
    let (status, tokens) = token_with(&base, client_id, secret, ALICE).await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap();
    let call = || {
        http()
            .get(format!("{base}/gmail/v1/users/me/labels"))
            .bearer_auth(access)
            .send()
    };
    assert_eq!(call().await.unwrap().status(), StatusCode::OK);
    let (status, _) = post(
        "/_emulator/projects/scripted-project/apis/gmail/disable".into(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(call().await.unwrap().status(), StatusCode::FORBIDDEN);

    let (status, _) = post(
        "/_emulator/projects/nope-project/apis/gmail/enable".into(),
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let listed: Value = http()
        .get(format!("{base}/_emulator/projects"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(listed["projects"][0]["clients"][0], client_id);
}
