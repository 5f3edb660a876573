//! Instance life: creation (Cloud Elements code flow, existing refresh token), reading with secrets
//! masked, updates, re-provisioning with a new code, enable/disable, deletion.

use crate::error::grant_refused;
use crate::secrets::{generate_secret, secret_hash};
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_connectors::Connector;
use ferry_model::connector::{ConfigFieldKind, ConnectorDef, OAuth2Grant};
use ferry_model::instance::{AuthorizationState, Instance, OAuthGrant};
use ferry_model::tenancy::User;
use ferry_model::{InstanceId, Secret};
use ferry_oauth::{ClientCredentials, TokenSet};
use ferry_store::{GrantUpdate, InstanceFilter, InstanceUpdate, NewInstance};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) const API_KEY: &str = "oauth.api.key";
pub(crate) const API_SECRET: &str = "oauth.api.secret";
pub(crate) const CALLBACK_URL: &str = "oauth.callback.url";
pub(crate) const SCOPE: &str = "oauth.scope";
pub(crate) const REFRESH_TOKEN: &str = "oauth.user.refresh_token";
pub(crate) const ACCESS_TOKEN: &str = "oauth.user.token";

/// What a caller asks for when creating or changing an instance.
#[derive(Debug, Clone, Default)]
pub struct InstanceInput {
    /// Connector key or numeric id.
    pub connector: Option<String>,
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub configuration: BTreeMap<String, String>,
    /// `providerData.code`: an authorization code to exchange.
    pub code: Option<String>,
    /// `"initial"`: configuration carries an existing refresh token.
    pub external_authentication: Option<String>,
}

/// An instance with what a response shows beside it.
#[derive(Debug, Clone)]
pub struct InstanceView {
    pub instance: Instance,
    /// `None` when the instance's connector is no longer installed: the instance is still listed,
    /// read and deleted, and says why it cannot be used.
    pub connector: Option<Arc<Connector>>,
    pub user: Option<User>,
    /// The URL to give the vendor for webhook events, when the connector receives them.
    pub events_webhook_url: Option<String>,
}

impl InstanceView {
    /// The connector's name, or its key when it is no longer installed.
    pub fn connector_name(&self) -> &str {
        self.connector
            .as_ref()
            .map_or(&self.instance.connector_key, |connector| {
                &connector.def.name
            })
    }

    /// The connector, or the error that says it is no longer installed.
    pub fn installed_connector(&self) -> Result<&Arc<Connector>, AppError> {
        self.connector
            .as_ref()
            .ok_or_else(|| AppError::ConnectorMissing {
                instance: self.instance.id,
                connector: self.instance.connector_key.clone(),
            })
    }

    /// Configuration as shown to callers: secret values masked.
    pub fn masked_configuration(&self) -> BTreeMap<String, String> {
        let mut shown = self.instance.configuration.clone();
        for key in self.instance.secret_configuration.keys() {
            shown.insert(key.clone(), "********".into());
        }
        shown
    }
}

/// Strips HTML tags from user-provided names and tags (Cloud Elements did, against XSS).
pub(crate) fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_owned()
}

pub(crate) fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut cleaned: Vec<String> = Vec::new();
    for tag in tags.iter().map(|t| strip_html(t)).filter(|t| !t.is_empty()) {
        if !cleaned.contains(&tag) {
            cleaned.push(tag);
        }
    }
    cleaned
}

/// Configuration split by what must be sealed.
pub(crate) struct SplitConfiguration {
    pub plain: BTreeMap<String, String>,
    pub secret: BTreeMap<String, Secret>,
}

pub(crate) fn split_configuration(
    def: &ConnectorDef,
    configuration: &BTreeMap<String, String>,
) -> SplitConfiguration {
    let mut split = SplitConfiguration {
        plain: BTreeMap::new(),
        secret: BTreeMap::new(),
    };
    for (key, value) in configuration {
        // Tokens belong to the grant, never to configuration.
        if key == REFRESH_TOKEN || key == ACCESS_TOKEN {
            continue;
        }
        // The OAuth client secret is sealed even where a definition forgot to say so.
        let is_secret = key == API_SECRET
            || def
                .configuration_field(key)
                .is_some_and(|field| field.kind == ConfigFieldKind::Password);
        if is_secret {
            split.secret.insert(key.clone(), Secret::new(value.clone()));
        } else {
            split.plain.insert(key.clone(), value.clone());
        }
    }
    split
}

pub(crate) fn check_required(
    def: &ConnectorDef,
    configuration: &BTreeMap<String, String>,
    ferry_provides: bool,
) -> Result<(), AppError> {
    let missing: Vec<&str> = def
        .configuration
        .iter()
        .filter(|field| field.required && field.default.is_none())
        .filter(|field| !(ferry_provides && field.provided_by_ferry))
        .filter(|field| {
            configuration
                .get(&field.key)
                .is_none_or(|v| v.trim().is_empty())
        })
        .map(|field| field.key.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(AppError::InvalidInput {
            field: Some("configuration".into()),
            message: format!("missing configuration: {}", missing.join(", ")),
        })
    }
}

pub(crate) fn requested_scopes(
    def: &ConnectorDef,
    configuration: &BTreeMap<String, String>,
) -> Vec<String> {
    match configuration.get(SCOPE).filter(|s| !s.trim().is_empty()) {
        Some(scope) => scope
            .split([' ', ','])
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        None => def
            .oauth2()
            .map(|o| o.default_scopes.clone())
            .unwrap_or_default(),
    }
}

pub(crate) fn client_credentials(
    configuration: &BTreeMap<String, String>,
    secrets: &BTreeMap<String, Secret>,
) -> Result<ClientCredentials, AppError> {
    let client_id = configuration
        .get(API_KEY)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| {
            AppError::input("configuration", format!("missing configuration: {API_KEY}"))
        })?;
    let client_secret = secrets
        .get(API_SECRET)
        .cloned()
        .or_else(|| {
            configuration
                .get(API_SECRET)
                .map(|v| Secret::new(v.clone()))
        })
        .ok_or_else(|| {
            AppError::input(
                "configuration",
                format!("missing configuration: {API_SECRET}"),
            )
        })?;
    Ok(ClientCredentials {
        client_id: client_id.clone(),
        client_secret,
    })
}

pub(crate) fn check_redirect_uri(uri: &str) -> Result<(), AppError> {
    match url::Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(AppError::input(
            CALLBACK_URL,
            format!("{CALLBACK_URL} {uri:?} is not an http(s) URL"),
        )),
    }
}

impl App {
    pub(crate) fn connector(&self, key_or_id: &str) -> Result<Arc<Connector>, AppError> {
        self.catalog()
            .get(key_or_id)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("no connector {key_or_id:?}")))
    }

    pub(crate) fn grant_from(
        &self,
        def: &ConnectorDef,
        tokens: TokenSet,
        previous_refresh: Option<&Secret>,
    ) -> OAuthGrant {
        let oauth = def.oauth2();
        let lifetime_ms = tokens
            .expires_in
            .map(|d| d.as_millis() as i64)
            .unwrap_or_else(|| {
                oauth
                    .map(|o| o.default_access_lifetime_seconds as i64 * 1000)
                    .unwrap_or(3_600_000)
            });
        let margin_ms = oauth
            .map(|o| o.refresh_margin_seconds as i64 * 1000)
            .unwrap_or(300_000);
        let now = self.now_ms();
        OAuthGrant {
            access_token: tokens.access_token,
            // Providers (Google among them) return no new refresh token on refresh: keep the old one.
            refresh_token: tokens.refresh_token.or_else(|| previous_refresh.cloned()),
            access_expires_at_ms: Some(now + lifetime_ms),
            refresh_due_at_ms: Some(now + (lifetime_ms - margin_ms).max(lifetime_ms / 2)),
            scope: tokens.scope,
        }
    }

    /// The connector an instance was made of, or why it cannot be used: the connector is no
    /// longer installed.
    pub(crate) fn instance_connector(
        &self,
        instance: &Instance,
    ) -> Result<Arc<Connector>, AppError> {
        self.catalog()
            .get(&instance.connector_key)
            .cloned()
            .ok_or_else(|| AppError::ConnectorMissing {
                instance: instance.id,
                connector: instance.connector_key.clone(),
            })
    }

    pub(crate) async fn view(&self, instance: Instance) -> Result<InstanceView, AppError> {
        let connector = self.catalog().get(&instance.connector_key).cloned();
        let user = self.inner.store.get_user(instance.user_id).await?;
        let events_webhook_url = connector
            .as_ref()
            .and_then(|connector| connector.def.events.as_ref())
            .filter(|events| events.webhook.is_some())
            .map(|_| self.inner.config.events_webhook_url(instance.id));
        Ok(InstanceView {
            instance,
            connector,
            user,
            events_webhook_url,
        })
    }

    /// Creates an instance from an authorization code (the Cloud Elements way), from an existing
    /// refresh token (`externalAuthentication: "initial"`), by the client-credentials grant, or
    /// from typed credentials (API key, Basic). Nothing is stored unless the provider accepted the
    /// grant, or did not refuse the typed credentials when asked whose account they open.
    pub async fn create_instance(
        &self,
        principal: &Principal,
        input: InstanceInput,
    ) -> Result<InstanceView, AppError> {
        let key = input
            .connector
            .as_deref()
            .ok_or_else(|| AppError::input("element", "element.key is required"))?;
        let connector = self.connector(key)?;
        let def = &connector.def;
        let name = strip_html(input.name.as_deref().unwrap_or_default());
        if name.is_empty() {
            return Err(AppError::input("name", "name is required"));
        }
        let tags = clean_tags(input.tags.as_deref().unwrap_or_default());
        let external = match input.external_authentication.as_deref() {
            None | Some("none") => false,
            Some("initial") => true,
            Some(other) => {
                return Err(AppError::input(
                    "externalAuthentication",
                    format!(
                        "externalAuthentication must be \"none\" or \"initial\", not {other:?}"
                    ),
                ));
            }
        };
        let split = split_configuration(def, &input.configuration);
        let mut typed_account = None;
        let grant = match def.oauth2() {
            None => {
                // API key, HTTP Basic or no auth: what the auth reads must be there now.
                check_required(def, &input.configuration, false)?;
                typed_account = self.check_typed_credentials(&connector, &split).await?;
                None
            }
            Some(oauth) => {
                let credentials = client_credentials(&split.plain, &split.secret);
                let tokens = if oauth.grant == OAuth2Grant::ClientCredentials {
                    check_required(def, &input.configuration, true)?;
                    let scopes = requested_scopes(def, &input.configuration);
                    self.inner
                        .oauth
                        .client_credentials(oauth, &credentials?, &scopes)
                        .await
                        .map_err(|e| grant_refused(e, "client credentials"))
                        .map(|tokens| (tokens, None))?
                } else if external {
                    check_required(def, &input.configuration, true)?;
                    let refresh = input
                        .configuration
                        .get(REFRESH_TOKEN)
                        .filter(|v| !v.is_empty())
                        .ok_or_else(|| {
                            AppError::input(
                                "configuration",
                                format!("missing configuration: {REFRESH_TOKEN}"),
                            )
                        })?;
                    self.inner
                        .oauth
                        .refresh(oauth, &credentials?, &Secret::new(refresh.clone()))
                        .await
                        .map_err(|e| grant_refused(e, "refresh token"))
                        .map(|tokens| (tokens, Some(Secret::new(refresh.clone()))))?
                } else {
                    check_required(def, &input.configuration, false)?;
                    let code = input.code.as_deref().filter(|c| !c.is_empty()).ok_or_else(|| {
                        AppError::input(
                            "providerData.code",
                            "providerData.code is required: exchange the code from the provider's consent, \
                             or let ferry host the consent with POST /instances/authorizations",
                        )
                    })?;
                    let redirect = &input.configuration[CALLBACK_URL];
                    check_redirect_uri(redirect)?;
                    let tokens = self
                        .inner
                        .oauth
                        .exchange_code(oauth, &credentials?, redirect, code, None)
                        .await
                        .map_err(|e| grant_refused(e, "authorization code"))?;
                    (tokens, None)
                };
                Some(self.grant_from(def, tokens.0, tokens.1.as_ref()))
            }
        };
        let token = generate_secret();
        let instance = self
            .inner
            .store
            .insert_instance(NewInstance {
                organization_id: principal.organization.id,
                user_id: principal.user.id,
                connector_key: &def.key,
                name: &name,
                tags: &tags,
                configuration: &split.plain,
                secret_configuration: &split.secret,
                token: &token,
                token_hash: &secret_hash(token.expose()),
                grant: grant.as_ref(),
                state: AuthorizationState::Active,
                external_authentication: if external { "initial" } else { "none" },
                now_ms: self.now_ms(),
            })
            .await?;
        let instance = match typed_account {
            Some(account) => self.record_account(instance, account).await,
            // Typed credentials were asked about already; a grant's account is learned now.
            None if grant.is_none() => instance,
            None => self.learn_account(instance).await,
        };
        tracing::info!(instance_id = %instance.id, connector = %def.key, "instance created");
        self.view(instance).await
    }

    pub async fn get_instance(
        &self,
        principal: &Principal,
        id: InstanceId,
    ) -> Result<InstanceView, AppError> {
        let instance = self
            .inner
            .store
            .get_instance(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no instance {id}")))?;
        self.view(instance).await
    }

    pub async fn list_instances(
        &self,
        principal: &Principal,
        filter: &InstanceFilter,
    ) -> Result<Vec<InstanceView>, AppError> {
        let instances = self
            .inner
            .store
            .list_instances(principal.organization.id, filter)
            .await?;
        let mut views = Vec::with_capacity(instances.len());
        for instance in instances {
            views.push(self.view(instance).await?);
        }
        Ok(views)
    }

    /// PATCH (`replace = false`: only what is given changes; configuration keys merge) or PUT
    /// (`replace = true`: name and configuration are replaced). A `code` re-provisions the grant.
    pub async fn update_instance(
        &self,
        principal: &Principal,
        id: InstanceId,
        input: InstanceInput,
        replace: bool,
    ) -> Result<InstanceView, AppError> {
        let current = self.get_instance(principal, id).await?;
        let def = &current.installed_connector()?.def;
        if let Some(key) = &input.connector
            && self.connector(key)?.def.key != def.key
        {
            return Err(AppError::input(
                "element",
                "an instance cannot change its connector",
            ));
        }
        let mut configuration = if replace {
            BTreeMap::new()
        } else {
            let mut merged = current.instance.configuration.clone();
            for (key, value) in &current.instance.secret_configuration {
                merged.insert(key.clone(), value.expose().to_owned());
            }
            merged
        };
        for (key, value) in &input.configuration {
            // A masked value sent back unchanged keeps the stored secret.
            if value == "********" {
                if let Some(secret) = current.instance.secret_configuration.get(key) {
                    configuration.insert(key.clone(), secret.expose().to_owned());
                }
                continue;
            }
            configuration.insert(key.clone(), value.clone());
        }
        if replace {
            for (key, secret) in &current.instance.secret_configuration {
                configuration
                    .entry(key.clone())
                    .or_insert_with(|| secret.expose().to_owned());
            }
            check_required(def, &configuration, true)?;
        }
        let name = match &input.name {
            Some(name) => {
                let name = strip_html(name);
                if name.is_empty() {
                    return Err(AppError::input("name", "name cannot be empty"));
                }
                Some(name)
            }
            None if replace => return Err(AppError::input("name", "name is required")),
            None => None,
        };
        let tags = match (&input.tags, replace) {
            (Some(tags), _) => Some(clean_tags(tags)),
            (None, true) => Some(Vec::new()),
            (None, false) => None,
        };
        if let Some(code) = input.code.as_deref().filter(|c| !c.is_empty())
            && let Some(oauth) = def.oauth2()
        {
            let split = split_configuration(def, &configuration);
            let credentials = client_credentials(&split.plain, &split.secret)?;
            let redirect = configuration.get(CALLBACK_URL).cloned().ok_or_else(|| {
                AppError::input(
                    "configuration",
                    format!("missing configuration: {CALLBACK_URL}"),
                )
            })?;
            check_redirect_uri(&redirect)?;
            let tokens = self
                .inner
                .oauth
                .exchange_code(oauth, &credentials, &redirect, code, None)
                .await
                .map_err(|e| grant_refused(e, "authorization code"))?;
            let previous = current
                .instance
                .grant
                .as_ref()
                .and_then(|g| g.refresh_token.clone());
            let grant = self.grant_from(def, tokens, previous.as_ref());
            self.inner
                .store
                .set_grant(
                    id,
                    GrantUpdate {
                        grant: &grant,
                        expected_version: None,
                        now_ms: self.now_ms(),
                    },
                )
                .await?;
            self.forget_cached_instances();
        }
        let split = split_configuration(def, &configuration);
        let update = InstanceUpdate {
            name,
            tags,
            configuration: Some(split.plain),
            secret_configuration: Some(split.secret),
        };
        let updated = self
            .inner
            .store
            .update_instance(principal.organization.id, id, &update, self.now_ms())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no instance {id}")))?;
        self.forget_cached_instances();
        let updated = if input.code.is_some() {
            self.learn_account(updated).await
        } else {
            updated
        };
        self.view(updated).await
    }

    pub async fn set_instance_enabled(
        &self,
        principal: &Principal,
        id: InstanceId,
        enabled: bool,
    ) -> Result<InstanceView, AppError> {
        let found = self
            .inner
            .store
            .set_instance_disabled(principal.organization.id, id, !enabled, self.now_ms())
            .await?;
        if !found {
            return Err(AppError::NotFound(format!("no instance {id}")));
        }
        self.forget_cached_instances();
        self.get_instance(principal, id).await
    }

    pub async fn delete_instance(
        &self,
        principal: &Principal,
        id: InstanceId,
    ) -> Result<(), AppError> {
        if self
            .inner
            .store
            .delete_instance(principal.organization.id, id)
            .await?
        {
            self.forget_cached_instances();
            tracing::info!(instance_id = %id, "instance deleted");
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no instance {id}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_stripped_from_names_and_tags() {
        assert_eq!(strip_html("<script>alert(1)</script>Work"), "alert(1)Work");
        assert_eq!(strip_html("<b>bold</b> name"), "bold name");
        assert_eq!(
            clean_tags(&["<i>a</i>".into(), "a".into(), " ".into()]),
            vec!["a".to_string()]
        );
    }
}
