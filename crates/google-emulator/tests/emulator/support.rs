//! Shared fixtures: a running emulator, an HTTP client that does not follow redirects, a small
//! "browser" that follows the consent pages by submitting their forms, and token helpers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use google_emulator::{AccountSeed, Emulator, EmulatorConfig, OAuthClientSeed, RunningEmulator};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::Value;
use std::net::SocketAddr;

pub const ALICE: &str = "alice@example.com";
pub const BOB: &str = "bob@example.com";
pub const CAROL: &str = "carol@example.com";
pub const VERIFIED: &str = "verified-app.apps.googleusercontent.com";
pub const UNVERIFIED: &str = "gmail-connector-test.apps.googleusercontent.com";
pub const SECRET: &str = "GOCSPX-test-secret";
pub const REDIRECT: &str = "http://127.0.0.1:9/oauth/callback";
pub const MAIL: &str = "https://mail.google.com/";
pub const SETTINGS: &str = "https://www.googleapis.com/auth/gmail.settings.basic";
pub const READONLY: &str = "https://www.googleapis.com/auth/gmail.readonly";
pub const SEND: &str = "https://www.googleapis.com/auth/gmail.send";
pub const METADATA: &str = "https://www.googleapis.com/auth/gmail.metadata";
pub const MODIFY: &str = "https://www.googleapis.com/auth/gmail.modify";

pub fn config() -> EmulatorConfig {
    EmulatorConfig {
        accounts: [
            (ALICE, "Alice Example"),
            (BOB, "Bob Example"),
            (CAROL, "Carol Example"),
        ]
        .iter()
        .map(|(e, n)| AccountSeed {
            email: e.to_string(),
            display_name: n.to_string(),
        })
        .collect(),
        clients: vec![
            OAuthClientSeed {
                client_id: VERIFIED.into(),
                client_secret: SECRET.into(),
                redirect_uris: vec![REDIRECT.into()],
                app_name: "Verified App".into(),
                verified: true,
            },
            OAuthClientSeed {
                client_id: UNVERIFIED.into(),
                client_secret: SECRET.into(),
                redirect_uris: vec![REDIRECT.into()],
                app_name: "GmailConnectorTest".into(),
                verified: false,
            },
        ],
        ..EmulatorConfig::default()
    }
}

pub async fn start_with(config: EmulatorConfig) -> RunningEmulator {
    Emulator::new(config)
        .start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("emulator starts")
}

pub async fn start() -> RunningEmulator {
    start_with(config()).await
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// A consent page as a browser sees it.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub html: String,
    pub location: Option<String>,
}

impl Page {
    async fn from(resp: reqwest::Response) -> Page {
        let status = resp.status();
        let location = resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        let html = resp.text().await.unwrap();
        Page {
            status,
            html,
            location,
        }
    }

    pub fn title(&self) -> String {
        let doc = Html::parse_document(&self.html);
        let h1 = Selector::parse("h1").unwrap();
        doc.select(&h1)
            .next()
            .map(|e| e.text().collect::<String>())
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        let doc = Html::parse_document(&self.html);
        doc.root_element().text().collect::<Vec<_>>().join(" ")
    }

    /// The form's submit buttons as (name, value, label).
    pub fn buttons(&self) -> Vec<(String, String, String)> {
        let doc = Html::parse_document(&self.html);
        let sel = Selector::parse("form button[type=submit]").unwrap();
        doc.select(&sel)
            .map(|b| {
                (
                    b.value().attr("name").unwrap_or_default().to_string(),
                    b.value().attr("value").unwrap_or_default().to_string(),
                    b.text().collect::<String>(),
                )
            })
            .collect()
    }

    /// Submits the page's one form with the button whose label contains `label`.
    pub async fn press(&self, base: &str, label: &str) -> Page {
        let doc = Html::parse_document(&self.html);
        let forms = Selector::parse("form[method=post]").unwrap();
        let mut found = doc.select(&forms);
        let form = found.next().expect("a post form");
        assert!(found.next().is_none(), "exactly one form per step");
        let action = form.value().attr("action").expect("form action");
        let hidden = Selector::parse("input[type=hidden]").unwrap();
        let mut fields: Vec<(String, String)> = form
            .select(&hidden)
            .map(|i| {
                (
                    i.value().attr("name").unwrap().to_string(),
                    i.value().attr("value").unwrap_or_default().to_string(),
                )
            })
            .collect();
        let (name, value, _) = self
            .buttons()
            .into_iter()
            .find(|(_, _, text)| text.contains(label))
            .unwrap_or_else(|| panic!("no button {label:?} on {:?}", self.title()));
        fields.push((name, value));
        let url = if action.starts_with('/') {
            format!("{base}{action}")
        } else {
            action.to_string()
        };
        Page::from(http().post(url).form(&fields).send().await.unwrap()).await
    }
}

pub fn authorize_url(
    base: &str,
    client_id: &str,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> String {
    let mut url = url::Url::parse(&format!("{base}/o/oauth2/v2/auth")).unwrap();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", REDIRECT)
            .append_pair("response_type", "code")
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", "xyz-state")
            .append_pair("access_type", "offline")
            .append_pair("prompt", "consent");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    url.to_string()
}

pub async fn open(url: &str) -> Page {
    Page::from(http().get(url).send().await.unwrap()).await
}

/// Follows the whole dance choosing `account` and allowing everything; returns the redirect.
pub async fn consent(
    base: &str,
    client_id: &str,
    account: &str,
    scopes: &[&str],
    extra: &[(&str, &str)],
) -> url::Url {
    let mut page = open(&authorize_url(base, client_id, scopes, extra)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.title(), "Choose an account");
    page = page.press(base, account).await;
    for _ in 0..20 {
        if let Some(location) = &page.location {
            return url::Url::parse(location).unwrap();
        }
        let label = if page.title().contains("verified") {
            "(unsafe)"
        } else {
            "Allow"
        };
        page = page.press(base, label).await;
    }
    panic!("consent did not finish");
}

pub fn query(url: &url::Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Exchanges a code with HTTP Basic client authentication.
pub async fn exchange(base: &str, code: &str, extra: &[(&str, &str)]) -> (StatusCode, Value) {
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    form.extend_from_slice(extra);
    let resp = http()
        .post(format!("{base}/token"))
        .basic_auth(VERIFIED, Some(SECRET))
        .form(&form)
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

pub async fn refresh(base: &str, refresh_token: &str) -> (StatusCode, Value) {
    let resp = http()
        .post(format!("{base}/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", VERIFIED),
            ("client_secret", SECRET),
        ])
        .send()
        .await
        .unwrap();
    (resp.status(), resp.json().await.unwrap())
}

/// A token response for `account` with `scopes`, through the real consent pages.
pub async fn tokens(base: &str, account: &str, scopes: &[&str]) -> Value {
    let redirect = consent(base, VERIFIED, account, scopes, &[]).await;
    let code = query(&redirect, "code").expect("code");
    let (status, body) = exchange(base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

pub async fn access_token(base: &str, account: &str, scopes: &[&str]) -> String {
    tokens(base, account, scopes).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A Gmail API client for one token.
#[derive(Clone)]
pub struct Gmail {
    pub base: String,
    pub token: String,
}

impl Gmail {
    pub async fn new(base: &str, account: &str) -> Gmail {
        Gmail {
            base: base.to_string(),
            token: access_token(base, account, &[MAIL]).await,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/gmail/v1/users/me/{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let resp = http()
            .get(self.url(path))
            .bearer_auth(&self.token)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
    ) -> (StatusCode, Value) {
        let resp = http()
            .request(method, self.url(path))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send_json(reqwest::Method::POST, path, body).await
    }

    /// `messages.send` with a JSON `raw`.
    pub async fn send_raw(&self, raw: &[u8]) -> Value {
        let (status, body) = self
            .post(
                "messages/send",
                &serde_json::json!({ "raw": URL_SAFE_NO_PAD.encode(raw) }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Ids of `messages.list` with this query string.
    pub async fn list_ids(&self, query: &str) -> Vec<String> {
        let (status, body) = self.get(&format!("messages?{query}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["messages"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|m| m["id"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Ids matching a Gmail search `q`.
    pub async fn search(&self, q: &str) -> Vec<String> {
        let encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        self.list_ids(&format!("q={encoded}")).await
    }
}

/// Decodes Gmail's base64url (padded or not).
pub fn b64(data: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(data.trim_end_matches('=')).unwrap()
}

/// A plain message from `from` to `to`.
pub fn simple_mail(from: &str, to: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The value of header `name` in a `payload.headers` array.
pub fn header(message: &Value, name: &str) -> Option<String> {
    message["payload"]["headers"]
        .as_array()?
        .iter()
        .find(|h| {
            h["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
        .map(|h| h["value"].as_str().unwrap().to_string())
}

/// Asserts Gmail's error body shape.
pub fn assert_gmail_error(body: &Value, code: u16, status: &str, reason: &str) {
    assert_eq!(body["error"]["code"], code, "{body}");
    assert_eq!(body["error"]["status"], status, "{body}");
    assert_eq!(body["error"]["errors"][0]["reason"], reason, "{body}");
    assert!(body["error"]["errors"][0]["domain"].is_string(), "{body}");
    assert_eq!(
        body["error"]["message"], body["error"]["errors"][0]["message"],
        "{body}"
    );
}
