//! The two ways into an OAuth grant besides an existing refresh token:
//! - Cloud Elements': `GET /elements/{key}/oauth/url` gives the consent URL; the caller's own
//!   callback receives the code and posts it to `/instances` (see `instances.rs`). The caller keeps
//!   `state`, so ferry cannot bind a PKCE verifier to it and sends none (the client secret
//!   authenticates the exchange, as for any confidential client).
//! - ferry-hosted: ferry creates a pending instance, signs a single-use, expiring `state` that points
//!   at a stored authorization (with the PKCE verifier), and finishes the instance in its own
//!   `/oauth/callback`.

use crate::error::grant_refused;
use crate::instances::{
    CALLBACK_URL, InstanceInput, InstanceView, check_redirect_uri, check_required, clean_tags,
    client_credentials, requested_scopes, split_configuration, strip_html,
};
use crate::secrets::{generate_secret, random_id, secret_hash};
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_connectors::Connector;
use ferry_model::InstanceId;
use ferry_model::instance::{AuthorizationState, Instance};
use ferry_oauth::{AuthorizationUrlRequest, Pkce, StateClaims, StateError, authorization_url};
use ferry_store::{GrantUpdate, NewInstance, NewOAuthAuthorization};
use std::collections::BTreeMap;

/// The query of `GET /elements/{key}/oauth/url` (or its POST body).
#[derive(Debug, Clone, Default)]
pub struct OAuthUrlRequest {
    pub api_key: Option<String>,
    pub api_secret: Option<String>,
    pub callback_url: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
}

/// A consent ferry hosts: open `oauth_url` in a browser; the instance becomes active when the
/// provider redirects back to ferry's callback.
#[derive(Debug, Clone)]
pub struct HostedAuthorization {
    pub instance: InstanceView,
    pub oauth_url: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub enum CallbackOutcome {
    Authorized(InstanceView),
    /// The user said no at the provider (`error=access_denied`) or the provider refused.
    Declined {
        instance: InstanceView,
        error: String,
        description: Option<String>,
    },
}

fn oauth_connector(connector: &Connector) -> Result<&ferry_model::connector::OAuth2Def, AppError> {
    let oauth = connector.def.oauth2().ok_or_else(|| {
        AppError::input(
            "element",
            format!(
                "the {} connector does not authorize with OAuth2",
                connector.def.key
            ),
        )
    })?;
    if oauth.grant == ferry_model::connector::OAuth2Grant::ClientCredentials {
        return Err(AppError::input(
            "element",
            format!(
                "the {} connector uses the client-credentials grant, which has no consent: create its instances with POST /instances and the client id and secret",
                connector.def.key
            ),
        ));
    }
    Ok(oauth)
}

impl App {
    /// Cloud Elements' `GET /elements/{key}/oauth/url`.
    pub fn oauth_url(
        &self,
        key: &str,
        request: &OAuthUrlRequest,
    ) -> Result<(String, String), AppError> {
        let connector = self.connector(key)?;
        let oauth = oauth_connector(&connector)?;
        let mut missing = Vec::new();
        for (name, value) in [
            ("apiKey", &request.api_key),
            ("apiSecret", &request.api_secret),
            ("callbackUrl", &request.callback_url),
        ] {
            if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                missing.push(name);
            }
        }
        if !missing.is_empty() {
            return Err(AppError::InvalidInput {
                field: Some(missing[0].into()),
                message: format!("missing parameters: {}", missing.join(", ")),
            });
        }
        let callback = request.callback_url.as_deref().unwrap_or_default();
        check_redirect_uri(callback).map_err(|_| {
            AppError::input(
                "callbackUrl",
                format!("callbackUrl {callback:?} is not an http(s) URL"),
            )
        })?;
        let mut configuration = BTreeMap::new();
        if let Some(scope) = &request.scope {
            configuration.insert(crate::instances::SCOPE.to_owned(), scope.clone());
        }
        let scopes = requested_scopes(&connector.def, &configuration);
        let state = request
            .state
            .clone()
            .unwrap_or_else(|| connector.def.key.clone());
        let url = authorization_url(&AuthorizationUrlRequest {
            def: oauth,
            client_id: request.api_key.as_deref().unwrap_or_default(),
            redirect_uri: callback,
            scopes: &scopes,
            state: &state,
            pkce_challenge: None,
        })
        .map_err(|e| AppError::input("callbackUrl", e.to_string()))?;
        Ok((url, connector.def.key.clone()))
    }

    /// Creates a pending instance and the consent URL that completes it at ferry's callback.
    pub async fn start_hosted_authorization(
        &self,
        principal: &Principal,
        input: InstanceInput,
    ) -> Result<HostedAuthorization, AppError> {
        let key = input
            .connector
            .as_deref()
            .ok_or_else(|| AppError::input("element", "element.key is required"))?;
        let connector = self.connector(key)?;
        oauth_connector(&connector)?;
        let name = strip_html(input.name.as_deref().unwrap_or_default());
        if name.is_empty() {
            return Err(AppError::input("name", "name is required"));
        }
        check_required(&connector.def, &input.configuration, true)?;
        let mut configuration = input.configuration.clone();
        configuration.insert(CALLBACK_URL.into(), self.inner.config.callback_url());
        let split = split_configuration(&connector.def, &configuration);
        client_credentials(&split.plain, &split.secret)?;
        let token = generate_secret();
        let instance = self
            .inner
            .store
            .insert_instance(NewInstance {
                organization_id: principal.organization.id,
                user_id: principal.user.id,
                connector_key: &connector.def.key,
                name: &name,
                tags: &clean_tags(input.tags.as_deref().unwrap_or_default()),
                configuration: &split.plain,
                secret_configuration: &split.secret,
                token: &token,
                token_hash: &secret_hash(token.expose()),
                grant: None,
                state: AuthorizationState::Pending,
                external_authentication: "none",
                now_ms: self.now_ms(),
            })
            .await?;
        self.hosted_consent(&connector, instance).await
    }

    /// A new consent for an existing instance (after its grant was revoked, or to change scopes).
    pub async fn start_reauthorization(
        &self,
        principal: &Principal,
        id: InstanceId,
    ) -> Result<HostedAuthorization, AppError> {
        let view = self.get_instance(principal, id).await?;
        let connector = view.installed_connector()?.clone();
        oauth_connector(&connector)?;
        self.hosted_consent(&connector, view.instance).await
    }

    async fn hosted_consent(
        &self,
        connector: &Connector,
        instance: Instance,
    ) -> Result<HostedAuthorization, AppError> {
        let oauth = oauth_connector(connector)?;
        let credentials =
            client_credentials(&instance.configuration, &instance.secret_configuration)?;
        let redirect_uri = self.inner.config.callback_url();
        let pkce = oauth.pkce.then(Pkce::generate);
        let authorization_id = random_id();
        let now = self.now_ms();
        let expires_at_ms = now + self.inner.config.authorization_ttl.as_millis() as i64;
        self.inner
            .store
            .insert_oauth_authorization(NewOAuthAuthorization {
                id: &authorization_id,
                organization_id: instance.organization_id,
                instance_id: Some(instance.id),
                pkce_verifier: pkce.as_ref().map(|p| &p.verifier),
                redirect_uri: &redirect_uri,
                now_ms: now,
                expires_at_ms,
            })
            .await?;
        let state = self.inner.state_signer.sign(&StateClaims {
            authorization_id,
            expires_at_ms,
        });
        let scopes = requested_scopes(&connector.def, &instance.configuration);
        let oauth_url = authorization_url(&AuthorizationUrlRequest {
            def: oauth,
            client_id: &credentials.client_id,
            redirect_uri: &redirect_uri,
            scopes: &scopes,
            state: &state,
            pkce_challenge: pkce.as_ref().map(|p| p.challenge.as_str()),
        })
        .map_err(|e| AppError::Internal(e.to_string()))?;
        tracing::info!(instance_id = %instance.id, "hosted consent started");
        Ok(HostedAuthorization {
            instance: self.view(instance).await?,
            oauth_url,
            expires_at_ms,
        })
    }

    /// ferry's `/oauth/callback`: checks `state` (signature, expiry, single use), exchanges the
    /// code with the stored PKCE verifier and activates the instance.
    pub async fn complete_authorization(
        &self,
        state: Option<&str>,
        code: Option<&str>,
        error: Option<&str>,
        error_description: Option<&str>,
    ) -> Result<CallbackOutcome, AppError> {
        let state = state
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AppError::input("state", "the callback has no state parameter"))?;
        let claims = self
            .inner
            .state_signer
            .verify(state, self.now_ms())
            .map_err(|e| match e {
                StateError::Expired => {
                    AppError::input("state", "this authorization has expired; start it again")
                }
                other => AppError::input("state", other.to_string()),
            })?;
        let authorization = self
            .inner
            .store
            .consume_oauth_authorization(&claims.authorization_id, self.now_ms())
            .await?
            .ok_or_else(|| {
                AppError::input(
                    "state",
                    "this authorization was already completed or has expired; start it again",
                )
            })?;
        let instance_id = authorization
            .instance_id
            .ok_or_else(|| AppError::Internal("hosted authorization without an instance".into()))?;
        let instance = self
            .inner
            .store
            .get_instance_by_id(instance_id)
            .await?
            .filter(|i| i.organization_id == authorization.organization_id)
            .ok_or_else(|| {
                AppError::NotFound("the instance was deleted while it was being authorized".into())
            })?;
        if let Some(error) = error.filter(|e| !e.is_empty()) {
            tracing::info!(instance_id = %instance.id, error, "consent declined");
            return Ok(CallbackOutcome::Declined {
                instance: self.view(instance).await?,
                error: error.to_owned(),
                description: error_description.map(str::to_owned),
            });
        }
        let code = code.filter(|c| !c.is_empty()).ok_or_else(|| {
            AppError::input("code", "the callback has neither a code nor an error")
        })?;
        let connector = self.instance_connector(&instance)?;
        let oauth = oauth_connector(&connector)?;
        let credentials =
            client_credentials(&instance.configuration, &instance.secret_configuration)?;
        let tokens = self
            .inner
            .oauth
            .exchange_code(
                oauth,
                &credentials,
                &authorization.redirect_uri,
                code,
                authorization.pkce_verifier.as_ref(),
            )
            .await
            .map_err(|e| grant_refused(e, "authorization code"))?;
        let previous = instance
            .grant
            .as_ref()
            .and_then(|g| g.refresh_token.clone());
        let grant = self.grant_from(&connector.def, tokens, previous.as_ref());
        self.inner
            .store
            .set_grant(
                instance.id,
                GrantUpdate {
                    grant: &grant,
                    expected_version: None,
                    now_ms: self.now_ms(),
                },
            )
            .await?;
        self.forget_cached_instances();
        let instance = self
            .inner
            .store
            .get_instance_by_id(instance.id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound("the instance was deleted while it was being authorized".into())
            })?;
        let instance = self.learn_account(instance).await;
        tracing::info!(instance_id = %instance.id, "instance authorized");
        Ok(CallbackOutcome::Authorized(self.view(instance).await?))
    }
}
