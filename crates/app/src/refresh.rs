//! Access tokens for vendor calls, refreshed before expiry and after a 401 — single-flight per
//! instance: within a process by a per-instance lock, across processes by a lease row in the store
//! (no pooled connection is held while the provider answers). Whoever waited re-reads the grant and
//! uses the token someone else just obtained instead of refreshing again.

use crate::instances::client_credentials;
use crate::{App, AppError};
use ferry_connectors::{Credentials, CredentialsError};
use ferry_model::connector::OAuth2Grant;
use ferry_model::instance::{AuthorizationState, Instance, OAuthGrant};
use ferry_model::{InstanceId, Secret};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const LEASE_MS: i64 = 30_000;
const LEASE_POLL: Duration = Duration::from_millis(50);

/// The token source for one instance during one call.
pub(crate) struct InstanceCredentials<'a> {
    app: &'a App,
    instance_id: InstanceId,
    has_oauth: bool,
    margin_ms: i64,
    current: Mutex<(Option<OAuthGrant>, i64)>,
}

impl App {
    pub(crate) fn credentials_for(&self, instance: &Instance) -> InstanceCredentials<'_> {
        let has_oauth = self
            .catalog()
            .get(&instance.connector_key)
            .is_some_and(|c| c.def.oauth2().is_some());
        InstanceCredentials {
            app: self,
            instance_id: instance.id,
            has_oauth,
            margin_ms: self.refresh_margin_ms(&instance.connector_key),
            current: Mutex::new((instance.grant.clone(), instance.grant_version)),
        }
    }

    fn refresh_margin_ms(&self, connector_key: &str) -> i64 {
        self.catalog()
            .get(connector_key)
            .and_then(|c| {
                c.def
                    .oauth2()
                    .map(|o| o.refresh_margin_seconds as i64 * 1000)
            })
            .unwrap_or(300_000)
    }

    fn is_fresh(&self, grant: &OAuthGrant, margin_ms: i64) -> bool {
        let now = self.now_ms();
        match (grant.refresh_due_at_ms, grant.access_expires_at_ms) {
            (Some(due), _) => due > now,
            (None, Some(expires)) => expires - margin_ms > now,
            (None, None) => true,
        }
    }

    fn refresh_lock(&self, id: InstanceId) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .refresh_locks
            .lock()
            .expect("refresh lock map poisoned");
        locks.entry(id).or_default().clone()
    }

    fn forget_refresh_lock(&self, id: InstanceId) {
        let mut locks = self
            .inner
            .refresh_locks
            .lock()
            .expect("refresh lock map poisoned");
        if locks
            .get(&id)
            .is_some_and(|lock| Arc::strong_count(lock) == 1)
        {
            locks.remove(&id);
        }
    }

    /// Returns a grant newer than `seen_version` (or fresh), refreshing at most once across all
    /// callers that saw the same version.
    pub(crate) async fn refresh_grant(
        &self,
        id: InstanceId,
        seen_version: i64,
    ) -> Result<(OAuthGrant, i64), CredentialsError> {
        let lock = self.refresh_lock(id);
        let result = {
            let _guard = lock.lock().await;
            self.refresh_holding_lock(id, seen_version).await
        };
        drop(lock);
        self.forget_refresh_lock(id);
        result
    }

    async fn refresh_holding_lock(
        &self,
        id: InstanceId,
        seen_version: i64,
    ) -> Result<(OAuthGrant, i64), CredentialsError> {
        let store = &self.inner.store;
        let owner = &self.inner.config.process_id;
        let unavailable = |e: &dyn std::fmt::Display| CredentialsError::Unavailable(e.to_string());
        let started = Instant::now();
        loop {
            let instance = store
                .get_instance_by_id(id)
                .await
                .map_err(|e| unavailable(&e))?
                .ok_or_else(|| CredentialsError::Unavailable("the instance was deleted".into()))?;
            if let Some(done) = self.usable_after_wait(&instance, seen_version)? {
                return Ok(done);
            }
            if store
                .try_acquire_refresh_lease(id, owner, self.now_ms(), LEASE_MS)
                .await
                .map_err(|e| unavailable(&e))?
            {
                break;
            }
            if started.elapsed() > Duration::from_millis(LEASE_MS as u64 + 5_000) {
                return Err(CredentialsError::Unavailable(
                    "another process has been refreshing the token for too long".into(),
                ));
            }
            tokio::time::sleep(LEASE_POLL).await;
        }
        let outcome = self.refresh_holding_lease(id, seen_version).await;
        if let Err(error) = store.release_refresh_lease(id, owner).await {
            tracing::warn!(instance_id = %id, error = %error, "could not release the refresh lease; it will expire");
        }
        outcome
    }

    /// After waiting for a lock or lease: the grant someone else produced, if it is usable.
    fn usable_after_wait(
        &self,
        instance: &Instance,
        seen_version: i64,
    ) -> Result<Option<(OAuthGrant, i64)>, CredentialsError> {
        if instance.state == AuthorizationState::NeedsReauthentication {
            return Err(CredentialsError::NeedsReauthentication(
                instance
                    .state_reason
                    .clone()
                    .unwrap_or_else(|| "the grant was revoked".into()),
            ));
        }
        // A grant that changed since the caller looked is as new as a refresh would make it, even
        // if the provider hands out tokens shorter-lived than the refresh margin.
        match &instance.grant {
            Some(grant) if instance.grant_version != seen_version => {
                Ok(Some((grant.clone(), instance.grant_version)))
            }
            _ => Ok(None),
        }
    }

    async fn refresh_holding_lease(
        &self,
        id: InstanceId,
        seen_version: i64,
    ) -> Result<(OAuthGrant, i64), CredentialsError> {
        let store = &self.inner.store;
        let instance = store
            .get_instance_by_id(id)
            .await
            .map_err(|e| CredentialsError::Unavailable(e.to_string()))?
            .ok_or_else(|| CredentialsError::Unavailable("the instance was deleted".into()))?;
        // Another process may have finished a refresh between our read and our lease.
        if let Some(done) = self.usable_after_wait(&instance, seen_version)? {
            return Ok(done);
        }
        let connector = self
            .catalog()
            .get(&instance.connector_key)
            .cloned()
            .ok_or_else(|| {
                CredentialsError::Unavailable(format!(
                    "unknown connector {}",
                    instance.connector_key
                ))
            })?;
        let oauth = connector.def.oauth2().ok_or_else(|| {
            CredentialsError::Unavailable("the connector has no OAuth settings".into())
        })?;
        let credentials =
            client_credentials(&instance.configuration, &instance.secret_configuration)
                .map_err(|e| CredentialsError::Unavailable(e.to_string()))?;
        // The client-credentials grant has no refresh token: a new token is asked for again.
        let (outcome, refresh_token) = if oauth.grant == OAuth2Grant::ClientCredentials {
            tracing::info!(instance_id = %id, "asking for a new client-credentials token");
            let scopes =
                crate::instances::requested_scopes(&connector.def, &instance.configuration);
            let outcome = self
                .inner
                .oauth
                .client_credentials(oauth, &credentials, &scopes)
                .await;
            (outcome, None)
        } else {
            let refresh_token = instance
                .grant
                .as_ref()
                .and_then(|g| g.refresh_token.clone())
                .ok_or_else(|| {
                    CredentialsError::NeedsReauthentication(
                        "the provider gave no refresh token; authorize again".into(),
                    )
                })?;
            tracing::info!(instance_id = %id, "refreshing access token");
            let outcome = self
                .inner
                .oauth
                .refresh(oauth, &credentials, &refresh_token)
                .await;
            (outcome, Some(refresh_token))
        };
        match outcome {
            Ok(tokens) => {
                let grant = self.grant_from(&connector.def, tokens, refresh_token.as_ref());
                let applied = store
                    .set_grant(
                        id,
                        ferry_store::GrantUpdate {
                            grant: &grant,
                            expected_version: Some(instance.grant_version),
                            now_ms: self.now_ms(),
                        },
                    )
                    .await
                    .map_err(|e| CredentialsError::Unavailable(e.to_string()))?;
                self.forget_cached_instances();
                if !applied {
                    // A re-authentication landed meanwhile; its grant wins.
                    tracing::info!(instance_id = %id, "grant changed during refresh; keeping the newer one");
                }
                Ok((grant, instance.grant_version + 1))
            }
            Err(error) if error.is_invalid_grant() => {
                let reason = error
                    .provider_message()
                    .unwrap_or_else(|| "invalid_grant".into());
                tracing::warn!(instance_id = %id, reason = %reason, "grant rejected by the provider; instance needs re-authentication");
                store
                    .mark_needs_reauthentication(id, &reason, instance.grant_version, self.now_ms())
                    .await
                    .map_err(|e| CredentialsError::Unavailable(e.to_string()))?;
                self.forget_cached_instances();
                Err(CredentialsError::NeedsReauthentication(reason))
            }
            Err(error) => Err(CredentialsError::Unavailable(error.to_string())),
        }
    }
}

impl InstanceCredentials<'_> {
    fn snapshot(&self) -> (Option<OAuthGrant>, i64) {
        self.current
            .lock()
            .expect("credentials snapshot poisoned")
            .clone()
    }

    fn remember(&self, grant: OAuthGrant, version: i64) -> Secret {
        let token = grant.access_token.clone();
        *self.current.lock().expect("credentials snapshot poisoned") = (Some(grant), version);
        token
    }
}

impl Credentials for InstanceCredentials<'_> {
    async fn access_token(&self) -> Result<Option<Secret>, CredentialsError> {
        if !self.has_oauth {
            return Ok(None);
        }
        let (grant, version) = self.snapshot();
        let Some(grant) = grant else {
            return Err(CredentialsError::NeedsReauthentication(
                "the instance has not been authorized yet".into(),
            ));
        };
        if self.app.is_fresh(&grant, self.margin_ms) {
            return Ok(Some(grant.access_token));
        }
        let (grant, version) = self.app.refresh_grant(self.instance_id, version).await?;
        Ok(Some(self.remember(grant, version)))
    }

    async fn refresh_after_rejection(&self, rejected: &Secret) -> Result<Secret, CredentialsError> {
        let (grant, version) = self.snapshot();
        if let Some(grant) = &grant
            && grant.access_token != *rejected
        {
            return Ok(grant.access_token.clone());
        }
        let (grant, version) = self.app.refresh_grant(self.instance_id, version).await?;
        Ok(self.remember(grant, version))
    }
}

impl From<AppError> for CredentialsError {
    fn from(error: AppError) -> Self {
        CredentialsError::Unavailable(error.to_string())
    }
}
