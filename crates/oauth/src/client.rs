//! Authorization URLs and the token endpoint, through the `oauth2` crate over ferry's reqwest client.

use crate::OAuthError;
use ferry_model::Secret;
use ferry_model::connector::{ClientAuthDef, OAuth2Def};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthType, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use std::time::Duration;

/// The OAuth client a user registered at the provider (Cloud Elements: `oauth.api.key` / `oauth.api.secret`).
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret,
}

/// A PKCE pair: the verifier stays with ferry, the S256 challenge goes into the authorization URL.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: Secret,
    pub challenge: String,
}

impl Pkce {
    pub fn generate() -> Self {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        Pkce {
            verifier: Secret::new(verifier.secret().clone()),
            challenge: challenge.as_str().to_owned(),
        }
    }
}

pub struct AuthorizationUrlRequest<'a> {
    pub def: &'a OAuth2Def,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [String],
    pub state: &'a str,
    pub pkce_challenge: Option<&'a str>,
}

/// Builds the provider's consent URL.
pub fn authorization_url(request: &AuthorizationUrlRequest<'_>) -> Result<String, OAuthError> {
    let client = BasicClient::new(ClientId::new(request.client_id.to_owned()))
        .set_auth_uri(parse_url(
            AuthUrl::new,
            &request.def.authorization_url,
            "authorization_url",
        )?)
        .set_redirect_uri(parse_url(
            RedirectUrl::new,
            request.redirect_uri,
            "redirect URI",
        )?);
    let state = request.state.to_owned();
    let mut builder = client.authorize_url(move || CsrfToken::new(state));
    if !request.scopes.is_empty() {
        // One scope string joined with the provider's separator, as providers differ (space, comma).
        builder = builder.add_scope(Scope::new(
            request.scopes.join(&request.def.scope_separator),
        ));
    }
    for (name, value) in &request.def.authorization_params {
        builder = builder.add_extra_param(name.clone(), value.clone());
    }
    if let Some(challenge) = request.pkce_challenge {
        builder = builder
            .add_extra_param("code_challenge", challenge.to_owned())
            .add_extra_param("code_challenge_method", "S256");
    }
    let (url, _) = builder.url();
    Ok(url.to_string())
}

fn parse_url<T>(
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
    value: &str,
    what: &str,
) -> Result<T, OAuthError> {
    make(value.to_owned()).map_err(|e| OAuthError::Configuration(format!("{what} {value:?}: {e}")))
}

/// Tokens as the provider returned them.
#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: Secret,
    pub refresh_token: Option<Secret>,
    pub expires_in: Option<Duration>,
    pub scope: Option<String>,
}

/// Talks to token endpoints. Cheap to clone.
#[derive(Clone)]
pub struct OAuthClient {
    http: reqwest::Client,
}

impl OAuthClient {
    /// `http` must not follow redirects (a token endpoint that redirects is refused, not followed).
    pub fn new(http: reqwest::Client) -> Self {
        OAuthClient { http }
    }

    pub async fn exchange_code(
        &self,
        def: &OAuth2Def,
        credentials: &ClientCredentials,
        redirect_uri: &str,
        code: &str,
        pkce_verifier: Option<&Secret>,
    ) -> Result<TokenSet, OAuthError> {
        let client = BasicClient::new(ClientId::new(credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose().to_owned(),
            ))
            .set_token_uri(parse_url(TokenUrl::new, &def.token_url, "token_url")?)
            .set_redirect_uri(parse_url(RedirectUrl::new, redirect_uri, "redirect URI")?)
            .set_auth_type(auth_type(def.client_auth));
        let mut request = client.exchange_code(AuthorizationCode::new(code.to_owned()));
        if let Some(verifier) = pkce_verifier {
            request =
                request.set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
        }
        let http = self.http.clone();
        let response = request
            .request_async(&move |req| send(http.clone(), req))
            .await
            .map_err(token_error)?;
        Ok(token_set(&response))
    }

    /// The client-credentials grant (RFC 6749 §4.4): a token for the client itself, no user.
    pub async fn client_credentials(
        &self,
        def: &OAuth2Def,
        credentials: &ClientCredentials,
        scopes: &[String],
    ) -> Result<TokenSet, OAuthError> {
        let client = BasicClient::new(ClientId::new(credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose().to_owned(),
            ))
            .set_token_uri(parse_url(TokenUrl::new, &def.token_url, "token_url")?)
            .set_auth_type(auth_type(def.client_auth));
        let mut request = client.exchange_client_credentials();
        for scope in scopes {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let http = self.http.clone();
        let response = request
            .request_async(&move |req| send(http.clone(), req))
            .await
            .map_err(token_error)?;
        Ok(token_set(&response))
    }

    pub async fn refresh(
        &self,
        def: &OAuth2Def,
        credentials: &ClientCredentials,
        refresh_token: &Secret,
    ) -> Result<TokenSet, OAuthError> {
        let client = BasicClient::new(ClientId::new(credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(
                credentials.client_secret.expose().to_owned(),
            ))
            .set_token_uri(parse_url(TokenUrl::new, &def.token_url, "token_url")?)
            .set_auth_type(auth_type(def.client_auth));
        let token = RefreshToken::new(refresh_token.expose().to_owned());
        let http = self.http.clone();
        let response = client
            .exchange_refresh_token(&token)
            .request_async(&move |req| send(http.clone(), req))
            .await
            .map_err(token_error)?;
        Ok(token_set(&response))
    }
}

fn auth_type(def: ClientAuthDef) -> AuthType {
    match def {
        ClientAuthDef::Basic => AuthType::BasicAuth,
        ClientAuthDef::RequestBody => AuthType::RequestBody,
    }
}

fn token_set(response: &oauth2::basic::BasicTokenResponse) -> TokenSet {
    TokenSet {
        access_token: Secret::new(response.access_token().secret().clone()),
        refresh_token: response
            .refresh_token()
            .map(|token| Secret::new(token.secret().clone())),
        expires_in: response.expires_in(),
        scope: response.scopes().map(|scopes| {
            scopes
                .iter()
                .map(|scope| scope.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        }),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct TransportError(String);

async fn send(
    http: reqwest::Client,
    request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TransportError> {
    let request = reqwest::Request::try_from(request).map_err(|e| TransportError(e.to_string()))?;
    let response = http
        .execute(request)
        .await
        .map_err(|e| TransportError(e.without_url().to_string()))?;
    let mut builder = http_response_builder(response.status());
    for (name, value) in response.headers() {
        builder = builder.header(name, value);
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| TransportError(e.without_url().to_string()))?;
    builder
        .body(body.to_vec())
        .map_err(|e| TransportError(e.to_string()))
}

fn http_response_builder(status: reqwest::StatusCode) -> oauth2::http::response::Builder {
    oauth2::http::Response::builder().status(status.as_u16())
}

fn token_error(
    error: RequestTokenError<TransportError, oauth2::basic::BasicErrorResponse>,
) -> OAuthError {
    match error {
        RequestTokenError::ServerResponse(response) => OAuthError::Rejected {
            error: response.error().as_ref().to_owned(),
            description: response.error_description().cloned(),
        },
        RequestTokenError::Request(transport) => OAuthError::Unreachable(transport.0),
        RequestTokenError::Parse(error, body) => OAuthError::UnexpectedResponse(format!(
            "{error}; body starts with {:?}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        )),
        RequestTokenError::Other(message) => OAuthError::UnexpectedResponse(message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn google() -> OAuth2Def {
        OAuth2Def {
            grant: Default::default(),
            authorization_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            token_url: "https://oauth2.googleapis.com/token".into(),
            revoke_url: None,
            client_auth: ClientAuthDef::RequestBody,
            pkce: true,
            scope_separator: " ".into(),
            default_scopes: vec![],
            authorization_params: BTreeMap::from([
                ("access_type".into(), "offline".into()),
                ("prompt".into(), "consent".into()),
            ]),
            refresh_margin_seconds: 300,
            default_access_lifetime_seconds: 3600,
        }
    }

    #[test]
    fn authorization_url_carries_everything_google_needs() {
        let def = google();
        let scopes = vec![
            "https://mail.google.com/".to_string(),
            "https://www.googleapis.com/auth/gmail.settings.basic".to_string(),
        ];
        let url = authorization_url(&AuthorizationUrlRequest {
            def: &def,
            client_id: "client-1",
            redirect_uri: "http://127.0.0.1:8080/oauth/callback",
            scopes: &scopes,
            state: "st",
            pkce_challenge: Some("challenge"),
        })
        .unwrap();
        let parsed = url::Url::parse(&url).unwrap();
        let query: BTreeMap<String, String> = parsed.query_pairs().into_owned().collect();
        assert_eq!(parsed.path(), "/o/oauth2/v2/auth");
        assert_eq!(query["client_id"], "client-1");
        assert_eq!(query["response_type"], "code");
        assert_eq!(
            query["redirect_uri"],
            "http://127.0.0.1:8080/oauth/callback"
        );
        assert_eq!(
            query["scope"],
            "https://mail.google.com/ https://www.googleapis.com/auth/gmail.settings.basic"
        );
        assert_eq!(query["state"], "st");
        assert_eq!(query["access_type"], "offline");
        assert_eq!(query["prompt"], "consent");
        assert_eq!(query["code_challenge"], "challenge");
        assert_eq!(query["code_challenge_method"], "S256");
    }

    #[test]
    fn pkce_verifiers_are_fresh_and_long() {
        let a = Pkce::generate();
        let b = Pkce::generate();
        assert_ne!(a.verifier.expose(), b.verifier.expose());
        assert!(a.verifier.expose().len() >= 43);
    }
}
