//! Connector instances: configuration, the instance token, and the OAuth grant (all secrets sealed).

use crate::error::conflict_or;
use crate::{Store, StoreError, StoreResult};
use ferry_model::instance::{AuthorizationState, Instance, OAuthGrant};
use ferry_model::{InstanceId, OrganizationId, Secret, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;

const SEAL_TOKEN: &str = "instances.token";
const SEAL_SECRETS: &str = "instances.secret_configuration";
const SEAL_ACCESS: &str = "instances.access_token";
const SEAL_REFRESH: &str = "instances.refresh_token";

pub struct NewInstance<'a> {
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub connector_key: &'a str,
    pub name: &'a str,
    pub tags: &'a [String],
    pub configuration: &'a BTreeMap<String, String>,
    pub secret_configuration: &'a BTreeMap<String, Secret>,
    pub token: &'a Secret,
    pub token_hash: &'a str,
    pub grant: Option<&'a OAuthGrant>,
    pub state: AuthorizationState,
    pub external_authentication: &'a str,
    pub now_ms: i64,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct InstanceUpdate {
    pub name: Option<String>,
    pub tags: Option<Vec<String>>,
    pub configuration: Option<BTreeMap<String, String>>,
    pub secret_configuration: Option<BTreeMap<String, Secret>>,
}

/// A new grant for an instance, e.g. after a refresh or a re-authentication.
pub struct GrantUpdate<'a> {
    pub grant: &'a OAuthGrant,
    /// Apply only if the instance's grant is still this version (compare-and-set).
    pub expected_version: Option<i64>,
    pub now_ms: i64,
}

#[derive(Debug, Default, Clone)]
pub struct InstanceFilter {
    /// Every tag given must be on the instance.
    pub tags: Vec<String>,
    /// Case-insensitive match on the name or the connector key.
    pub search_text: Option<String>,
    pub connector_key: Option<String>,
}

/// How many instances use one connector: in one organization, and in all the others.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectorUsage {
    pub in_organization: i64,
    pub elsewhere: i64,
}

impl ConnectorUsage {
    pub fn total(&self) -> i64 {
        self.in_organization + self.elsewhere
    }
}

const INSTANCE_COLUMNS: &str = "id, organization_id, user_id, connector_key, name, tags, configuration, \
     secret_configuration, token_sealed, access_token_sealed, refresh_token_sealed, access_expires_at, refresh_due_at, \
     granted_scope, account, grant_version, auth_state, auth_state_reason, disabled, external_authentication, \
     created_at, updated_at";

impl Store {
    fn seal_secret_map(&self, secrets: &BTreeMap<String, Secret>) -> Vec<u8> {
        let plain: BTreeMap<&str, &str> = secrets
            .iter()
            .map(|(key, value)| (key.as_str(), value.expose()))
            .collect();
        let json = serde_json::to_vec(&plain).expect("a string map always serializes");
        self.sealer.seal(SEAL_SECRETS, &json)
    }

    fn instance_from_row(&self, row: &AnyRow) -> StoreResult<Instance> {
        let tags: String = row.try_get("tags")?;
        let configuration: String = row.try_get("configuration")?;
        let secrets_sealed: Vec<u8> = row.try_get("secret_configuration")?;
        let secrets: BTreeMap<String, String> =
            serde_json::from_slice(&self.sealer.open(SEAL_SECRETS, &secrets_sealed)?)
                .map_err(|e| StoreError::Corrupt(format!("instance secrets: {e}")))?;
        let token_sealed: Vec<u8> = row.try_get("token_sealed")?;
        let access: Option<Vec<u8>> = row.try_get("access_token_sealed")?;
        let refresh: Option<Vec<u8>> = row.try_get("refresh_token_sealed")?;
        let grant = match access {
            Some(access) => Some(OAuthGrant {
                access_token: Secret::new(self.sealer.open_string(SEAL_ACCESS, &access)?),
                refresh_token: refresh
                    .map(|sealed| self.sealer.open_string(SEAL_REFRESH, &sealed))
                    .transpose()?
                    .map(Secret::new),
                access_expires_at_ms: row.try_get("access_expires_at")?,
                refresh_due_at_ms: row.try_get("refresh_due_at")?,
                scope: row.try_get("granted_scope")?,
            }),
            None => None,
        };
        let state: String = row.try_get("auth_state")?;
        let disabled: i64 = row.try_get("disabled")?;
        Ok(Instance {
            id: InstanceId(row.try_get("id")?),
            organization_id: OrganizationId(row.try_get("organization_id")?),
            user_id: UserId(row.try_get("user_id")?),
            connector_key: row.try_get("connector_key")?,
            name: row.try_get("name")?,
            tags: serde_json::from_str(&tags)
                .map_err(|e| StoreError::Corrupt(format!("instance tags: {e}")))?,
            configuration: serde_json::from_str(&configuration)
                .map_err(|e| StoreError::Corrupt(format!("instance configuration: {e}")))?,
            secret_configuration: secrets
                .into_iter()
                .map(|(key, value)| (key, Secret::new(value)))
                .collect(),
            token: Secret::new(self.sealer.open_string(SEAL_TOKEN, &token_sealed)?),
            grant,
            grant_version: row.try_get("grant_version")?,
            account: row.try_get("account")?,
            state: AuthorizationState::parse(&state)
                .ok_or_else(|| StoreError::Corrupt(format!("unknown instance state {state:?}")))?,
            state_reason: row.try_get("auth_state_reason")?,
            disabled: disabled != 0,
            external_authentication: row.try_get("external_authentication")?,
            created_at_ms: row.try_get("created_at")?,
            updated_at_ms: row.try_get("updated_at")?,
        })
    }

    pub async fn insert_instance(&self, new: NewInstance<'_>) -> StoreResult<Instance> {
        let grant = new.grant;
        let row = sqlx::query(
            "INSERT INTO instances (organization_id, user_id, connector_key, name, tags, configuration, \
             secret_configuration, token_hash, token_sealed, access_token_sealed, refresh_token_sealed, \
             access_expires_at, granted_scope, grant_version, auth_state, disabled, external_authentication, \
             created_at, updated_at, refresh_due_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, $14, 0, $15, $16, $16, $17) \
             RETURNING id",
        )
        .bind(new.organization_id.0)
        .bind(new.user_id.0)
        .bind(new.connector_key)
        .bind(new.name)
        .bind(serde_json::to_string(new.tags).expect("tags serialize"))
        .bind(serde_json::to_string(new.configuration).expect("configuration serializes"))
        .bind(self.seal_secret_map(new.secret_configuration))
        .bind(new.token_hash)
        .bind(self.sealer.seal_str(SEAL_TOKEN, new.token.expose()))
        .bind(grant.map(|g| self.sealer.seal_str(SEAL_ACCESS, g.access_token.expose())))
        .bind(grant.and_then(|g| {
            g.refresh_token
                .as_ref()
                .map(|r| self.sealer.seal_str(SEAL_REFRESH, r.expose()))
        }))
        .bind(grant.and_then(|g| g.access_expires_at_ms))
        .bind(grant.and_then(|g| g.scope.clone()))
        .bind(new.state.as_str())
        .bind(new.external_authentication)
        .bind(new.now_ms)
        .bind(grant.and_then(|g| g.refresh_due_at_ms))
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("an instance with this token"))?;
        let id = InstanceId(row.try_get("id")?);
        self.get_instance_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("instance {id} vanished after insert")))
    }

    /// An instance by id, whatever its organization (internal use: workers, refreshers).
    pub async fn get_instance_by_id(&self, id: InstanceId) -> StoreResult<Option<Instance>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| self.instance_from_row(r)).transpose()
    }

    /// An instance of `organization`; another organization's instance is `None`.
    pub async fn get_instance(
        &self,
        organization: OrganizationId,
        id: InstanceId,
    ) -> StoreResult<Option<Instance>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1 AND organization_id = $2"
        )))
        .bind(id.0)
        .bind(organization.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| self.instance_from_row(r)).transpose()
    }

    pub async fn find_instance_by_token_hash(
        &self,
        token_hash: &str,
    ) -> StoreResult<Option<Instance>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(|r| self.instance_from_row(r)).transpose()
    }

    pub async fn list_instances(
        &self,
        organization: OrganizationId,
        filter: &InstanceFilter,
    ) -> StoreResult<Vec<Instance>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM instances WHERE organization_id = $1 ORDER BY id"
        )))
        .bind(organization.0)
        .fetch_all(&self.pool)
        .await?;
        let needle = filter.search_text.as_ref().map(|s| s.to_lowercase());
        let mut instances = Vec::with_capacity(rows.len());
        for row in &rows {
            let instance = self.instance_from_row(row)?;
            let tags_match = filter.tags.iter().all(|tag| instance.tags.contains(tag));
            let key_match = filter
                .connector_key
                .as_ref()
                .is_none_or(|key| &instance.connector_key == key);
            let text_match = needle.as_ref().is_none_or(|needle| {
                instance.name.to_lowercase().contains(needle)
                    || instance.connector_key.to_lowercase().contains(needle)
            });
            if tags_match && key_match && text_match {
                instances.push(instance);
            }
        }
        Ok(instances)
    }

    /// How many instances of connector `connector_key` there are, in `organization` and outside it.
    pub async fn connector_usage(
        &self,
        connector_key: &str,
        organization: OrganizationId,
    ) -> StoreResult<ConnectorUsage> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN organization_id = $2 THEN 1 ELSE 0 END), 0) AS mine, \
             COUNT(*) AS total FROM instances WHERE connector_key = $1",
        )
        .bind(connector_key)
        .bind(organization.0)
        .fetch_one(&self.pool)
        .await?;
        let in_organization: i64 = row.try_get("mine")?;
        let total: i64 = row.try_get("total")?;
        Ok(ConnectorUsage {
            in_organization,
            elsewhere: total - in_organization,
        })
    }

    /// Applies a partial update; returns the updated instance, or `None` if it does not exist in
    /// that organization.
    pub async fn update_instance(
        &self,
        organization: OrganizationId,
        id: InstanceId,
        update: &InstanceUpdate,
        now_ms: i64,
    ) -> StoreResult<Option<Instance>> {
        let done = sqlx::query(
            "UPDATE instances SET name = COALESCE($1, name), tags = COALESCE($2, tags), \
             configuration = COALESCE($3, configuration), \
             secret_configuration = COALESCE($4, secret_configuration), updated_at = $5 \
             WHERE id = $6 AND organization_id = $7",
        )
        .bind(update.name.as_deref())
        .bind(
            update
                .tags
                .as_ref()
                .map(|t| serde_json::to_string(t).expect("tags serialize")),
        )
        .bind(
            update
                .configuration
                .as_ref()
                .map(|c| serde_json::to_string(c).expect("configuration serializes")),
        )
        .bind(
            update
                .secret_configuration
                .as_ref()
                .map(|s| self.seal_secret_map(s)),
        )
        .bind(now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.get_instance(organization, id).await
    }

    /// Stores a new grant and marks the instance active. With `expected_version`, applies only if
    /// nobody changed the grant meanwhile; returns whether it was applied.
    pub async fn set_grant(&self, id: InstanceId, update: GrantUpdate<'_>) -> StoreResult<bool> {
        let grant = update.grant;
        let done = sqlx::query(
            "UPDATE instances SET access_token_sealed = $1, refresh_token_sealed = $2, \
             access_expires_at = $3, granted_scope = $4, grant_version = grant_version + 1, refresh_due_at = $8, \
             auth_state = 'active', auth_state_reason = NULL, updated_at = $5 \
             WHERE id = $6 AND ($7 IS NULL OR grant_version = $7)",
        )
        .bind(
            self.sealer
                .seal_str(SEAL_ACCESS, grant.access_token.expose()),
        )
        .bind(
            grant
                .refresh_token
                .as_ref()
                .map(|r| self.sealer.seal_str(SEAL_REFRESH, r.expose())),
        )
        .bind(grant.access_expires_at_ms)
        .bind(grant.scope.as_deref())
        .bind(update.now_ms)
        .bind(id.0)
        .bind(update.expected_version)
        .bind(grant.refresh_due_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Marks the grant as rejected by the provider, unless it changed since `expected_version`
    /// (a re-authentication that raced the failing call wins).
    pub async fn mark_needs_reauthentication(
        &self,
        id: InstanceId,
        reason: &str,
        expected_version: i64,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE instances SET auth_state = 'needs_reauthentication', auth_state_reason = $1, \
             updated_at = $2 WHERE id = $3 AND grant_version = $4",
        )
        .bind(reason)
        .bind(now_ms)
        .bind(id.0)
        .bind(expected_version)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records which provider account the instance is connected to.
    pub async fn set_instance_account(&self, id: InstanceId, account: &str) -> StoreResult<()> {
        sqlx::query("UPDATE instances SET account = $1 WHERE id = $2")
            .bind(account)
            .bind(id.0)
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    pub async fn set_instance_disabled(
        &self,
        organization: OrganizationId,
        id: InstanceId,
        disabled: bool,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE instances SET disabled = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4",
        )
        .bind(i64::from(disabled))
        .bind(now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_instance(
        &self,
        organization: OrganizationId,
        id: InstanceId,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM instances WHERE id = $1 AND organization_id = $2")
            .bind(id.0)
            .bind(organization.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Takes the right to refresh an instance's token for a while, across every process sharing the
    /// database. The lease is a row value, not a held connection or lock, so no pooled connection
    /// waits on the provider's round trip. Returns whether `owner` holds the lease now.
    pub async fn try_acquire_refresh_lease(
        &self,
        id: InstanceId,
        owner: &str,
        now_ms: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE instances SET refresh_lease_owner = $1, refresh_lease_until = $2 \
             WHERE id = $3 AND (refresh_lease_until IS NULL OR refresh_lease_until < $4 \
             OR refresh_lease_owner = $1)",
        )
        .bind(owner)
        .bind(now_ms + lease_ms)
        .bind(id.0)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn release_refresh_lease(&self, id: InstanceId, owner: &str) -> StoreResult<()> {
        sqlx::query(
            "UPDATE instances SET refresh_lease_owner = NULL, refresh_lease_until = NULL \
             WHERE id = $1 AND refresh_lease_owner = $2",
        )
        .bind(id.0)
        .bind(owner)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
