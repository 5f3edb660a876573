//! The token endpoint: code exchange, client authentication, PKCE, refresh, revoke, expiry.

use crate::support::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use google_emulator::{Emulator, ManualClock};
use reqwest::StatusCode;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

async fn code(base: &str, extra: &[(&str, &str)]) -> String {
    let redirect = consent(base, VERIFIED, ALICE, &[MAIL], extra).await;
    query(&redirect, "code").unwrap()
}

async fn post_token(
    base: &str,
    form: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, Value) {
    let mut req = http().post(format!("{base}/token")).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let resp = req.send().await.unwrap();
    assert_eq!(
        resp.headers().get("cache-control").unwrap(),
        "no-cache, no-store, max-age=0, must-revalidate"
    );
    (resp.status(), resp.json().await.unwrap())
}

#[tokio::test]
async fn code_exchange_with_basic_auth_returns_google_shaped_tokens() {
    let emu = start().await;
    let base = emu.url();
    let code = code(&base, &[]).await;
    let (status, body) = exchange(&base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "access_token",
            "expires_in",
            "refresh_token",
            "scope",
            "token_type"
        ]
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("1//"));
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], MAIL);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(emu.emulator().token_requests().authorization_code, 1);
}

#[tokio::test]
async fn code_exchange_with_credentials_in_the_body() {
    let emu = start().await;
    let base = emu.url();
    let code = code(&base, &[]).await;
    let (status, body) = post_token(
        &base,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", VERIFIED),
            ("client_secret", SECRET),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["access_token"].is_string());
}

#[tokio::test]
async fn client_authentication_failures_answer_invalid_client() {
    let emu = start().await;
    let base = emu.url();
    let code = code(&base, &[]).await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
    ];
    let (status, body) = post_token(&base, &form, Some((VERIFIED, "wrong"))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_client", "error_description": "Unauthorized"})
    );

    let (status, body) = post_token(&base, &form, Some(("nobody", SECRET))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "The OAuth client was not found.");

    let mut both = form.to_vec();
    both.push(("client_id", UNVERIFIED));
    let (status, body) = post_token(&base, &both, Some((VERIFIED, SECRET))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    let (status, body) = post_token(&base, &form, None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    // None of that used the code up.
    let (status, _) = exchange(&base, &code, &[]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_codes_and_redirect_uris_answer_like_google() {
    let emu = start().await;
    let base = emu.url();
    let (status, body) = exchange(&base, "garbage", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Malformed auth code."})
    );
    let (status, body) = exchange(&base, "4/0unknown", &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Bad Request"})
    );

    let code = code(&base, &[]).await;
    let resp = http()
        .post(format!("{base}/token"))
        .basic_auth(VERIFIED, Some(SECRET))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", "http://127.0.0.1:9/other"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(
        body,
        serde_json::json!({"error": "redirect_uri_mismatch", "error_description": "Bad Request"})
    );

    let (status, body) = post_token(&base, &[("grant_type", "password")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "unsupported_grant_type");
    let (status, body) = post_token(&base, &[("code", "x")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_request");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("grant_type")
    );
}

#[tokio::test]
async fn pkce_s256_and_plain_are_checked() {
    let emu = start().await;
    let base = emu.url();
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-long-enough";
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let s256 = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let c = code(&base, &s256).await;
    let (status, body) = exchange(&base, &c, &[]).await;
    assert_eq!(
        (status, body["error_description"].as_str()),
        (StatusCode::BAD_REQUEST, Some("Missing code verifier."))
    );
    let c = code(&base, &s256).await;
    let (status, body) = exchange(&base, &c, &[("code_verifier", "not-the-verifier")]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let c = code(&base, &s256).await;
    let (status, body) = exchange(&base, &c, &[("code_verifier", verifier)]).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let c = code(
        &base,
        &[
            ("code_challenge", verifier),
            ("code_challenge_method", "plain"),
        ],
    )
    .await;
    let (status, _) = exchange(&base, &c, &[("code_verifier", verifier)]).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let emu = start().await;
    let base = emu.url();
    let c = code(&base, &[]).await;
    let (status, first) = exchange(&base, &c, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = exchange(&base, &c, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, body) = refresh(&base, first["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body["error_description"],
        "Token has been expired or revoked."
    );
    let gmail = Gmail {
        base: base.clone(),
        token: first["access_token"].as_str().unwrap().to_string(),
    };
    let (status, _) = gmail.get("profile").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_issues_a_new_access_token_without_a_new_refresh_token_and_is_counted() {
    let emu = start().await;
    let base = emu.url();
    let t = tokens(&base, ALICE, &[MAIL]).await;
    let (status, body) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none());
    assert_ne!(body["access_token"], t["access_token"]);
    assert_eq!(body["scope"], MAIL);
    let gmail = Gmail {
        base: base.clone(),
        token: body["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(gmail.get("profile").await.0, StatusCode::OK);
    let (status, body) = refresh(&base, "1//unknown").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let counts = emu.emulator().token_requests();
    assert_eq!((counts.authorization_code, counts.refresh_token), (1, 2));
}

#[tokio::test]
async fn revoking_stops_refresh_and_access_tokens() {
    let emu = start().await;
    let base = emu.url();
    // Through Google's revoke endpoint.
    let t = tokens(&base, ALICE, &[MAIL]).await;
    let resp = http()
        .post(format!("{base}/revoke"))
        .form(&[("token", t["refresh_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let (status, body) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );
    let gmail = Gmail {
        base: base.clone(),
        token: t["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(gmail.get("profile").await.0, StatusCode::UNAUTHORIZED);
    let resp = http()
        .post(format!("{base}/revoke?token=1//unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);

    // Through the test control.
    let t = tokens(&base, BOB, &[MAIL]).await;
    emu.emulator().revoke_grants(BOB);
    let (status, body) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        body,
        serde_json::json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."})
    );
}

#[tokio::test]
async fn expired_access_tokens_answer_401_and_refresh_recovers() {
    let emu = start().await;
    let base = emu.url();
    let t = tokens(&base, ALICE, &[MAIL]).await;
    let gmail = Gmail {
        base: base.clone(),
        token: t["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(gmail.get("profile").await.0, StatusCode::OK);
    emu.emulator().expire_access_tokens(ALICE);
    let resp = http()
        .get(gmail.url("profile"))
        .bearer_auth(&gmail.token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        resp.headers().get("www-authenticate").unwrap(),
        "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""
    );
    let body: Value = resp.json().await.unwrap();
    assert_gmail_error(&body, 401, "UNAUTHENTICATED", "authError");
    let (status, fresh) = refresh(&base, t["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    let gmail = Gmail {
        base,
        token: fresh["access_token"].as_str().unwrap().to_string(),
    };
    assert_eq!(gmail.get("profile").await.0, StatusCode::OK);
    assert_eq!(emu.emulator().token_requests().refresh_token, 1);
}

#[tokio::test]
async fn codes_and_access_tokens_expire_with_the_clock() {
    let clock = Arc::new(ManualClock::new());
    let mut cfg = config();
    cfg.access_token_lifetime = Duration::from_secs(300);
    cfg.authorization_code_lifetime = Duration::from_secs(60);
    let emu = Emulator::with_clock(cfg, clock.clone())
        .start(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = emu.url();
    let c = code(&base, &[]).await;
    clock.advance(Duration::from_secs(61));
    let (status, body) = exchange(&base, &c, &[]).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_grant"))
    );

    let t = tokens(&base, ALICE, &[MAIL]).await;
    assert_eq!(t["expires_in"], 300);
    let gmail = Gmail {
        base: base.clone(),
        token: t["access_token"].as_str().unwrap().to_string(),
    };
    clock.advance(Duration::from_secs(299));
    assert_eq!(gmail.get("profile").await.0, StatusCode::OK);
    clock.advance(Duration::from_secs(1));
    assert_eq!(gmail.get("profile").await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn tokeninfo_describes_a_live_token() {
    let emu = start().await;
    let base = emu.url();
    let t = tokens(&base, ALICE, &[MAIL]).await;
    let resp = http()
        .get(format!("{base}/tokeninfo"))
        .query(&[("access_token", t["access_token"].as_str().unwrap())])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let info: Value = resp.json().await.unwrap();
    assert_eq!(info["email"], ALICE);
    assert_eq!(info["aud"], VERIFIED);
    assert_eq!(info["scope"], MAIL);
    assert_eq!(info["access_type"], "offline");
    let resp = http()
        .get(format!("{base}/tokeninfo?access_token=ya29.nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn userinfo_tells_who_the_token_belongs_to_within_its_scopes() {
    let emu = start().await;
    let base = emu.url();
    let with_email = access_token(&base, BOB, &["openid", "email", "profile", MAIL]).await;
    let info: Value = http()
        .get(format!("{base}/oauth2/v3/userinfo"))
        .bearer_auth(&with_email)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info["email"], BOB);
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["name"], "Bob Example");
    assert!(
        info["sub"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    let mail_only = access_token(&base, BOB, &[MAIL]).await;
    let info: Value = http()
        .get(format!("{base}/v1/userinfo"))
        .bearer_auth(&mail_only)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(info.get("email").is_none() && info["sub"].is_string());
    let resp = http()
        .get(format!("{base}/v1/userinfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn openid_grants_carry_an_id_token_with_googles_claims() {
    use hmac::{Hmac, Mac};
    let emu = start().await;
    let base = emu.url();
    let redirect = consent(
        &base,
        VERIFIED,
        CAROL,
        &["openid", "email", MAIL],
        &[("nonce", "n-0S6")],
    )
    .await;
    let (status, body) = exchange(&base, &query(&redirect, "code").unwrap(), &[]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let id_token = body["id_token"].as_str().expect("id_token");
    let parts: Vec<&str> = id_token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "https://accounts.google.com");
    assert_eq!(claims["aud"], VERIFIED);
    assert_eq!(claims["email"], CAROL);
    assert_eq!(claims["nonce"], "n-0S6");
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}.{}", parts[0], parts[1]).as_bytes());
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(parts[2]).unwrap())
        .unwrap();

    let (_, refreshed) = refresh(&base, body["refresh_token"].as_str().unwrap()).await;
    assert!(refreshed["id_token"].is_string());
    let plain = tokens(&base, CAROL, &[MAIL]).await;
    assert!(plain.get("id_token").is_none());
}
