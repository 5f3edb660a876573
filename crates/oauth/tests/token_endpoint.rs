//! The code exchange and refresh against a small token endpoint on loopback.

use axum::extract::Form;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use axum::{Json, Router};
use ferry_model::Secret;
use ferry_model::connector::{ClientAuthDef, OAuth2Def};
use ferry_oauth::{ClientCredentials, OAuthClient};
use std::collections::{BTreeMap, HashMap};

async fn token(headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> impl IntoResponse {
    let body_auth = form.get("client_id").map(String::as_str) == Some("cid")
        && form.get("client_secret").map(String::as_str) == Some("csecret");
    // "cid:csecret" in base64
    let basic_auth = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some("Basic Y2lkOmNzZWNyZXQ=");
    if !body_auth && !basic_auth {
        return (
            StatusCode::UNAUTHORIZED,
            Json(
                serde_json::json!({"error": "invalid_client", "error_description": "Unauthorized"}),
            ),
        );
    }
    match (
        form.get("grant_type").map(String::as_str),
        form.get("code"),
        form.get("refresh_token"),
    ) {
        (Some("authorization_code"), Some(code), _) if code == "good" => {
            let verifier_ok =
                form.get("code_verifier").map(String::as_str) == Some("v".repeat(43).as_str());
            if !verifier_ok {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(
                        serde_json::json!({"error": "invalid_grant", "error_description": "Missing code verifier."}),
                    ),
                );
            }
            (
                StatusCode::OK,
                Json(serde_json::json!({
                    "access_token": "ya29.a", "refresh_token": "1//r", "expires_in": 3599,
                    "scope": "https://mail.google.com/ https://www.googleapis.com/auth/gmail.settings.basic",
                    "token_type": "Bearer"
                })),
            )
        }
        (Some("refresh_token"), _, Some(refresh)) if refresh == "1//r" => (
            StatusCode::OK,
            Json(
                serde_json::json!({"access_token": "ya29.b", "expires_in": 3599, "token_type": "Bearer"}),
            ),
        ),
        _ => (
            StatusCode::BAD_REQUEST,
            Json(
                serde_json::json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
            ),
        ),
    }
}

async fn serve() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, Router::new().route("/token", post(token)))
            .await
            .unwrap();
    });
    url
}

fn def(url: &str, client_auth: ClientAuthDef) -> OAuth2Def {
    OAuth2Def {
        grant: Default::default(),
        authorization_url: format!("{url}/auth"),
        token_url: format!("{url}/token"),
        revoke_url: None,
        client_auth,
        pkce: true,
        scope_separator: " ".into(),
        default_scopes: vec![],
        authorization_params: BTreeMap::new(),
        refresh_margin_seconds: 300,
        default_access_lifetime_seconds: 3600,
    }
}

fn credentials(secret: &str) -> ClientCredentials {
    ClientCredentials {
        client_id: "cid".into(),
        client_secret: Secret::new(secret),
    }
}

fn client() -> OAuthClient {
    OAuthClient::new(
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn code_exchange_works_with_basic_and_body_client_auth() {
    let url = serve().await;
    for auth in [ClientAuthDef::Basic, ClientAuthDef::RequestBody] {
        let verifier = Secret::new("v".repeat(43));
        let tokens = client()
            .exchange_code(
                &def(&url, auth),
                &credentials("csecret"),
                "http://127.0.0.1/cb",
                "good",
                Some(&verifier),
            )
            .await
            .unwrap();
        assert_eq!(tokens.access_token.expose(), "ya29.a");
        assert_eq!(tokens.refresh_token.unwrap().expose(), "1//r");
        assert_eq!(tokens.expires_in.unwrap().as_secs(), 3599);
        assert!(tokens.scope.unwrap().contains("gmail.settings.basic"));
    }
}

#[tokio::test]
async fn provider_errors_keep_their_code_and_description() {
    let url = serve().await;
    let bad_code = client()
        .exchange_code(
            &def(&url, ClientAuthDef::RequestBody),
            &credentials("csecret"),
            "http://127.0.0.1/cb",
            "used",
            None,
        )
        .await
        .unwrap_err();
    assert!(bad_code.is_invalid_grant());
    assert_eq!(
        bad_code.provider_message().unwrap(),
        "invalid_grant: Token has been expired or revoked."
    );

    let bad_client = client()
        .exchange_code(
            &def(&url, ClientAuthDef::RequestBody),
            &credentials("wrong"),
            "http://127.0.0.1/cb",
            "good",
            None,
        )
        .await
        .unwrap_err();
    assert!(!bad_client.is_invalid_grant());
    assert_eq!(
        bad_client.provider_message().unwrap(),
        "invalid_client: Unauthorized"
    );
}

#[tokio::test]
async fn refresh_returns_a_new_access_token() {
    let url = serve().await;
    let tokens = client()
        .refresh(
            &def(&url, ClientAuthDef::RequestBody),
            &credentials("csecret"),
            &Secret::new("1//r"),
        )
        .await
        .unwrap();
    assert_eq!(tokens.access_token.expose(), "ya29.b");
    assert!(tokens.refresh_token.is_none());
    let revoked = client()
        .refresh(
            &def(&url, ClientAuthDef::RequestBody),
            &credentials("csecret"),
            &Secret::new("1//gone"),
        )
        .await
        .unwrap_err();
    assert!(revoked.is_invalid_grant());
}

#[tokio::test]
async fn an_unreachable_provider_is_not_a_rejected_grant() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let error = client()
        .refresh(
            &def(&url, ClientAuthDef::RequestBody),
            &credentials("csecret"),
            &Secret::new("1//r"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, ferry_oauth::OAuthError::Unreachable(_)),
        "{error:?}"
    );
    assert!(!error.is_invalid_grant());
}
