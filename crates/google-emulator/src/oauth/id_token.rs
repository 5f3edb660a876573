//! OpenID Connect ID tokens for grants that include `openid`. Google signs them with RS256 and
//! its published keys; the emulator has no such keys, so it signs with HS256 and the client
//! secret (a signature OpenID Connect defines for confidential clients). Clients that decode the
//! token, or verify it with the client secret, read the same claims Google puts in.

use crate::config::OAuthClientSeed;
use crate::state::Account;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What goes into one ID token.
pub(crate) struct IdTokenClaims<'a> {
    pub client: &'a OAuthClientSeed,
    pub account: &'a Account,
    pub scopes: &'a [String],
    pub nonce: Option<&'a str>,
    pub access_token: &'a str,
    pub now: SystemTime,
}

/// Whether the scopes ask for an ID token.
pub(crate) fn wanted(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == "openid")
}

pub(crate) fn issue(claims: &IdTokenClaims<'_>) -> String {
    let iat = claims
        .now
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let digest = Sha256::digest(claims.access_token.as_bytes());
    let has = |names: &[&str]| claims.scopes.iter().any(|s| names.contains(&s.as_str()));
    let mut payload = Map::new();
    payload.insert("iss".into(), json!("https://accounts.google.com"));
    payload.insert("azp".into(), json!(claims.client.client_id));
    payload.insert("aud".into(), json!(claims.client.client_id));
    payload.insert(
        "sub".into(),
        json!(super::token::subject_id(&claims.account.email)),
    );
    if has(&["email", "https://www.googleapis.com/auth/userinfo.email"]) {
        payload.insert("email".into(), json!(claims.account.email));
        payload.insert("email_verified".into(), json!(true));
    }
    payload.insert(
        "at_hash".into(),
        json!(URL_SAFE_NO_PAD.encode(&digest[..16])),
    );
    if let Some(nonce) = claims.nonce {
        payload.insert("nonce".into(), json!(nonce));
    }
    if has(&[
        "profile",
        "https://www.googleapis.com/auth/userinfo.profile",
    ]) {
        payload.insert("name".into(), json!(claims.account.display_name));
    }
    payload.insert("iat".into(), json!(iat));
    payload.insert("exp".into(), json!(iat + 3600));
    let header = json!({"alg": "HS256", "typ": "JWT"});
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(Value::Object(payload).to_string())
    );
    let signature = match Hmac::<Sha256>::new_from_slice(claims.client.client_secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{signature}")
}
