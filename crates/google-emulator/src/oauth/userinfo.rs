//! OpenID Connect userinfo (`openidconnect.googleapis.com/v1/userinfo`, also served by Google as
//! `www.googleapis.com/oauth2/v3/userinfo`): who the token belongs to, as far as its scopes allow.

use super::token::subject_id;
use crate::Emulator;
use crate::state::read;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

fn unauthorized(description: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(
            header::WWW_AUTHENTICATE,
            "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\"",
        )],
        Json(json!({"error": "invalid_request", "error_description": description})),
    )
        .into_response()
}

/// `GET /oauth2/v3/userinfo` (and `/v1/userinfo`).
pub(crate) async fn get_userinfo(State(emu): State<Emulator>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_string());
    let Some(token) = token else {
        return unauthorized("Invalid Credentials");
    };
    let shared = emu.shared();
    let identity = read(&shared.oauth).identity(&token, shared.now());
    let Ok(id) = identity else {
        return unauthorized("Invalid Credentials");
    };
    let has = |names: &[&str]| id.scopes.iter().any(|s| names.contains(&s.as_str()));
    let mut info = Map::new();
    info.insert("sub".into(), Value::String(subject_id(&id.account.email)));
    if has(&[
        "profile",
        "https://www.googleapis.com/auth/userinfo.profile",
    ]) {
        let name = id.account.display_name.clone();
        let mut parts = name.splitn(2, ' ');
        info.insert("name".into(), Value::String(name.clone()));
        if let Some(given) = parts.next() {
            info.insert("given_name".into(), Value::String(given.to_string()));
        }
        if let Some(family) = parts.next() {
            info.insert("family_name".into(), Value::String(family.to_string()));
        }
    }
    if has(&["email", "https://www.googleapis.com/auth/userinfo.email"]) {
        info.insert("email".into(), Value::String(id.account.email.clone()));
        info.insert("email_verified".into(), Value::Bool(true));
    }
    Json(Value::Object(info)).into_response()
}
