//! `POST /token`, `POST /revoke` and `GET /tokeninfo` of `oauth2.googleapis.com`, with Google's
//! error bodies.

use super::{AccessToken, Grant, PkceMethod, scopes};
use crate::Emulator;
use crate::ids;
use crate::params::Params;
use crate::state::write;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::UNIX_EPOCH;

/// An OAuth error answer: `{"error": …, "error_description": …}`.
#[derive(Debug, Clone)]
pub(crate) struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            error,
            description: description.into(),
        }
    }

    fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_request", description)
    }

    fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(400, "invalid_grant", description)
    }

    fn revoked() -> Self {
        Self::invalid_grant("Token has been expired or revoked.")
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": self.error,
            "error_description": self.description,
        });
        (self.status, no_store(), pretty(&body)).into_response()
    }
}

fn no_store() -> [(header::HeaderName, &'static str); 3] {
    [
        (header::CONTENT_TYPE, "application/json; charset=utf-8"),
        (
            header::CACHE_CONTROL,
            "no-cache, no-store, max-age=0, must-revalidate",
        ),
        (header::PRAGMA, "no-cache"),
    ]
}

fn pretty<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|_| "{}".into())
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    scope: String,
    token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token: Option<String>,
}

/// An ID token when the grant includes `openid`.
fn id_token_for(
    emu: &Emulator,
    grant: &Grant,
    nonce: Option<&str>,
    access_token: &str,
) -> Option<String> {
    if !super::id_token::wanted(&grant.scopes) {
        return None;
    }
    let client = emu.shared().client(&grant.client_id)?;
    Some(super::id_token::issue(&super::id_token::IdTokenClaims {
        client: &client,
        account: &grant.account,
        scopes: &grant.scopes,
        nonce,
        access_token,
        now: emu.shared().now(),
    }))
}

/// Form body, or JSON body (Google accepts both), merged with the query.
fn request_params(uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Params {
    let mut params = Params::default();
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice(body) {
            let encoded: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(map.iter().map(|(k, v)| {
                    let v = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    (k.clone(), v)
                }))
                .finish();
            params.extend(Params::parse(&encoded));
        }
    } else {
        params.extend(Params::parse(&String::from_utf8_lossy(body)));
    }
    params.extend(Params::from_query(uri));
    params
}

/// `Authorization: Basic base64(client_id:client_secret)` (each form-urlencoded, RFC 6749 §2.3.1).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(rest.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Finds and checks the calling client; returns its id.
fn authenticate_client(
    emu: &Emulator,
    headers: &HeaderMap,
    p: &Params,
) -> Result<String, OAuthError> {
    let basic = basic_credentials(headers);
    let body_id = p.non_empty("client_id");
    let body_secret = p.get("client_secret");
    let (id, secret) = match (&basic, body_id) {
        (Some((bid, bsecret)), Some(fid)) => {
            if bid != fid || body_secret.is_some_and(|s| s != bsecret) {
                return Err(OAuthError::new(401, "invalid_client", "Unauthorized"));
            }
            (bid.clone(), Some(bsecret.clone()))
        }
        (Some((bid, bsecret)), None) => (bid.clone(), Some(bsecret.clone())),
        (None, Some(fid)) => (fid.to_string(), body_secret.map(str::to_string)),
        (None, None) => {
            return Err(OAuthError::invalid_request(
                "Could not determine client ID from request.",
            ));
        }
    };
    let client = emu
        .shared()
        .client(&id)
        .ok_or_else(|| OAuthError::new(401, "invalid_client", "The OAuth client was not found."))?;
    match secret {
        None => Err(OAuthError::invalid_request("client_secret is missing.")),
        Some(s) if s == client.client_secret => Ok(id),
        Some(_) => Err(OAuthError::new(401, "invalid_client", "Unauthorized")),
    }
}

/// `POST /token`.
pub(crate) async fn post_token(
    State(emu): State<Emulator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = request_params(&uri, &headers, &body);
    let grant_type = p.get("grant_type").unwrap_or_default().to_string();
    emu.shared().count_token_request(&grant_type);
    let result = match grant_type.as_str() {
        "" => Err(OAuthError::invalid_request(
            "Missing required parameter: grant_type",
        )),
        "authorization_code" => exchange_code(&emu, &headers, &p),
        "refresh_token" => refresh(&emu, &headers, &p),
        other => Err(OAuthError::new(
            400,
            "unsupported_grant_type",
            format!("Invalid grant_type: {other}"),
        )),
    };
    match result {
        Ok(body) => {
            tracing::debug!(grant_type = %grant_type, "token issued");
            (StatusCode::OK, no_store(), pretty(&body)).into_response()
        }
        Err(e) => {
            tracing::debug!(grant_type = %grant_type, error = e.error, "token request refused");
            e.into_response()
        }
    }
}

fn verify_pkce(method: PkceMethod, challenge: &str, verifier: &str) -> bool {
    match method {
        PkceMethod::Plain => verifier == challenge,
        PkceMethod::S256 => {
            URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge
        }
    }
}

fn exchange_code(
    emu: &Emulator,
    headers: &HeaderMap,
    p: &Params,
) -> Result<TokenResponse, OAuthError> {
    let shared = emu.shared();
    let client_id = authenticate_client(emu, headers, p)?;
    let code = p
        .non_empty("code")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: code"))?;
    if !code.starts_with("4/") {
        return Err(OAuthError::invalid_grant("Malformed auth code."));
    }
    let now = shared.now();
    let mut oauth = write(&shared.oauth);
    let Some(entry) = oauth.codes.get(code) else {
        return Err(OAuthError::invalid_grant("Bad Request"));
    };
    if let Some(grant) = entry.exchanged_into {
        // A code used twice: like Google, refuse it and revoke what the first use issued.
        oauth.revoke_grant(grant);
        return Err(OAuthError::invalid_grant("Bad Request"));
    }
    if now >= entry.expires_at || entry.client_id != client_id {
        return Err(OAuthError::invalid_grant("Bad Request"));
    }
    match p.get("redirect_uri") {
        None => {
            return Err(OAuthError::invalid_request(
                "Missing parameter: redirect_uri",
            ));
        }
        Some(r) if r != entry.redirect_uri => {
            return Err(OAuthError::new(400, "redirect_uri_mismatch", "Bad Request"));
        }
        Some(_) => {}
    }
    if let Some(pkce) = &entry.pkce {
        match p.non_empty("code_verifier") {
            None => return Err(OAuthError::invalid_grant("Missing code verifier.")),
            Some(v) if !verify_pkce(pkce.method, &pkce.challenge, v) => {
                return Err(OAuthError::invalid_grant("Invalid code verifier."));
            }
            Some(_) => {}
        }
    }
    let scopes = entry.scopes.clone();
    let offline = entry.offline;
    let nonce = entry.nonce.clone();
    let grant = Grant {
        account: entry.account.clone(),
        client_id,
        bits: scopes::bits_of(&scopes),
        scopes: scopes.clone(),
        offline,
        revoked: false,
    };
    let grant_id = oauth.new_grant(grant);
    if let Some(entry) = oauth.codes.get_mut(code) {
        entry.exchanged_into = Some(grant_id);
    }
    let access_token = ids::access_token();
    oauth.access.insert(
        access_token.clone(),
        AccessToken {
            grant: grant_id,
            expires_at: now + shared.access_token_lifetime,
        },
    );
    let refresh_token = offline.then(|| {
        let t = ids::refresh_token();
        oauth.refresh.insert(t.clone(), grant_id);
        t
    });
    let id_token = oauth
        .grants
        .get(&grant_id)
        .and_then(|g| id_token_for(emu, g, nonce.as_deref(), &access_token));
    Ok(TokenResponse {
        access_token,
        expires_in: shared.access_token_lifetime.as_secs(),
        refresh_token,
        scope: scopes.join(" "),
        token_type: "Bearer",
        id_token,
    })
}

fn refresh(emu: &Emulator, headers: &HeaderMap, p: &Params) -> Result<TokenResponse, OAuthError> {
    let shared = emu.shared();
    let client_id = authenticate_client(emu, headers, p)?;
    let token = p
        .non_empty("refresh_token")
        .ok_or_else(|| OAuthError::invalid_request("Missing required parameter: refresh_token"))?;
    let now = shared.now();
    let mut oauth = write(&shared.oauth);
    let grant_id = *oauth.refresh.get(token).ok_or_else(OAuthError::revoked)?;
    let grant = oauth
        .grants
        .get(&grant_id)
        .ok_or_else(OAuthError::revoked)?;
    if grant.revoked {
        return Err(OAuthError::revoked());
    }
    if grant.client_id != client_id {
        return Err(OAuthError::new(400, "unauthorized_client", "Unauthorized"));
    }
    let scopes = grant.scopes.join(" ");
    let access_token = ids::access_token();
    oauth.sweep(now);
    oauth.access.insert(
        access_token.clone(),
        AccessToken {
            grant: grant_id,
            expires_at: now + shared.access_token_lifetime,
        },
    );
    let id_token = oauth
        .grants
        .get(&grant_id)
        .and_then(|g| id_token_for(emu, g, None, &access_token));
    Ok(TokenResponse {
        access_token,
        expires_in: shared.access_token_lifetime.as_secs(),
        refresh_token: None,
        scope: scopes,
        token_type: "Bearer",
        id_token,
    })
}

/// `POST /revoke` (also `GET`): `token` as form field or query parameter; an access or a refresh
/// token revokes the whole grant, as Google does.
pub(crate) async fn post_revoke(
    State(emu): State<Emulator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = request_params(&uri, &headers, &body);
    let Some(token) = p.non_empty("token") else {
        return OAuthError::invalid_request("Missing required parameter: token").into_response();
    };
    let shared = emu.shared();
    let mut oauth = write(&shared.oauth);
    let grant = oauth
        .refresh
        .get(token)
        .copied()
        .or_else(|| oauth.access.get(token).map(|t| t.grant));
    match grant {
        Some(g) if oauth.grants.get(&g).is_some_and(|g| !g.revoked) => {
            oauth.revoke_grant(g);
            (StatusCode::OK, no_store(), "{}".to_string()).into_response()
        }
        _ => OAuthError::new(400, "invalid_token", "Token expired or revoked").into_response(),
    }
}

#[derive(Serialize)]
struct TokenInfo {
    azp: String,
    aud: String,
    sub: String,
    scope: String,
    exp: String,
    expires_in: String,
    email: String,
    email_verified: String,
    access_type: &'static str,
}

/// A stable numeric account id, like Google's `sub`.
pub(crate) fn subject_id(email: &str) -> String {
    let digest = Sha256::digest(email.to_lowercase().as_bytes());
    let mut n: u64 = 0;
    for b in &digest[..8] {
        n = (n << 8) | u64::from(*b);
    }
    format!("1{:020}", n)
}

/// `GET /tokeninfo?access_token=…` (also POST).
pub(crate) async fn get_tokeninfo(
    State(emu): State<Emulator>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let p = request_params(&uri, &headers, &body);
    let shared = emu.shared();
    let now = shared.now();
    let identity = p
        .non_empty("access_token")
        .and_then(|t| crate::state::read(&shared.oauth).identity(t, now).ok());
    let Some(id) = identity else {
        return OAuthError::new(400, "invalid_token", "Invalid Value").into_response();
    };
    let exp = id
        .expires_at
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let expires_in = id
        .expires_at
        .duration_since(now)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let info = TokenInfo {
        azp: id.client_id.clone(),
        aud: id.client_id,
        sub: subject_id(&id.account.email),
        scope: id.scopes.join(" "),
        exp: exp.to_string(),
        expires_in: expires_in.to_string(),
        email: id.account.email.clone(),
        email_verified: "true".into(),
        access_type: if id.offline { "offline" } else { "online" },
    };
    (StatusCode::OK, no_store(), pretty(&info)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc7636_example() {
        assert!(verify_pkce(
            PkceMethod::S256,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        ));
        assert!(!verify_pkce(
            PkceMethod::S256,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "x"
        ));
        assert!(verify_pkce(PkceMethod::Plain, "abc", "abc"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut headers = HeaderMap::new();
        let value = format!("Basic {}", STANDARD.encode("my%20id:s%3Acret"));
        headers.insert(header::AUTHORIZATION, value.parse().unwrap());
        assert_eq!(
            basic_credentials(&headers),
            Some(("my id".to_string(), "s:cret".to_string()))
        );
    }
}

/// Tokens of a grant made without the consent pages (control API and [`crate::Emulator::grant`]):
/// for benchmarks and scripts that need a working grant and are not testing consent.
#[derive(Debug, Clone, Serialize)]
pub struct IssuedGrant {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub scope: String,
}

pub(crate) fn mint_grant(
    emu: &Emulator,
    email: &str,
    client_id: &str,
    scopes: &[String],
) -> Result<IssuedGrant, crate::EmulatorError> {
    let shared = emu.shared();
    let account = shared
        .account(email)
        .ok_or_else(|| crate::EmulatorError::UnknownAccount(email.to_owned()))?;
    if shared.client(client_id).is_none() {
        return Err(crate::EmulatorError::InvalidField {
            field: "client_id",
            message: format!("no registered client {client_id:?}"),
        });
    }
    if scopes.is_empty() || scopes.iter().any(|s| scopes::lookup(s).is_none()) {
        return Err(crate::EmulatorError::InvalidField {
            field: "scopes",
            message: "give one or more known Google scopes".into(),
        });
    }
    let now = shared.now();
    let mut oauth = write(&shared.oauth);
    let grant_id = oauth.new_grant(Grant {
        account,
        client_id: client_id.to_owned(),
        bits: scopes::bits_of(scopes),
        scopes: scopes.to_vec(),
        offline: true,
        revoked: false,
    });
    let access_token = ids::access_token();
    oauth.access.insert(
        access_token.clone(),
        AccessToken {
            grant: grant_id,
            expires_at: now + shared.access_token_lifetime,
        },
    );
    let refresh_token = ids::refresh_token();
    oauth.refresh.insert(refresh_token.clone(), grant_id);
    Ok(IssuedGrant {
        access_token,
        refresh_token,
        expires_in: shared.access_token_lifetime.as_secs(),
        scope: scopes.join(" "),
    })
}
