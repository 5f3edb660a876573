//! Pending OAuth authorizations started by ferry's hosted consent: what the callback needs to finish
//! them. Each is consumed at most once.

use crate::{Store, StoreResult};
use ferry_model::{InstanceId, OrganizationId, Secret};
use sqlx::Row;

const SEAL_VERIFIER: &str = "oauth_authorizations.pkce_verifier";

pub struct NewOAuthAuthorization<'a> {
    /// Random, unguessable; carried (signed) in the `state` parameter.
    pub id: &'a str,
    pub organization_id: OrganizationId,
    pub instance_id: Option<InstanceId>,
    pub pkce_verifier: Option<&'a Secret>,
    pub redirect_uri: &'a str,
    pub now_ms: i64,
    pub expires_at_ms: i64,
}

#[derive(Debug, Clone)]
pub struct OAuthAuthorization {
    pub id: String,
    pub organization_id: OrganizationId,
    pub instance_id: Option<InstanceId>,
    pub pkce_verifier: Option<Secret>,
    pub redirect_uri: String,
    pub expires_at_ms: i64,
}

impl Store {
    pub async fn insert_oauth_authorization(
        &self,
        new: NewOAuthAuthorization<'_>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO oauth_authorizations (id, organization_id, instance_id, pkce_verifier_sealed, \
             redirect_uri, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(new.id)
        .bind(new.organization_id.0)
        .bind(new.instance_id.map(|id| id.0))
        .bind(
            new.pkce_verifier
                .map(|v| self.sealer.seal_str(SEAL_VERIFIER, v.expose())),
        )
        .bind(new.redirect_uri)
        .bind(new.now_ms)
        .bind(new.expires_at_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    /// Marks the authorization used and returns it — once. A second call, an expired or unknown id
    /// all give `None`, atomically, so two callbacks racing with one `state` cannot both win.
    pub async fn consume_oauth_authorization(
        &self,
        id: &str,
        now_ms: i64,
    ) -> StoreResult<Option<OAuthAuthorization>> {
        let row = sqlx::query(
            "UPDATE oauth_authorizations SET consumed_at = $1 \
             WHERE id = $2 AND consumed_at IS NULL AND expires_at > $1 \
             RETURNING id, organization_id, instance_id, pkce_verifier_sealed, redirect_uri, expires_at",
        )
        .bind(now_ms)
        .bind(id)
        .fetch_optional(&self.writer)
        .await?;
        row.map(|row| {
            let verifier: Option<Vec<u8>> = row.try_get("pkce_verifier_sealed")?;
            let instance: Option<i64> = row.try_get("instance_id")?;
            Ok(OAuthAuthorization {
                id: row.try_get("id")?,
                organization_id: OrganizationId(row.try_get("organization_id")?),
                instance_id: instance.map(InstanceId),
                pkce_verifier: verifier
                    .map(|v| self.sealer.open_string(SEAL_VERIFIER, &v))
                    .transpose()?
                    .map(Secret::new),
                redirect_uri: row.try_get("redirect_uri")?,
                expires_at_ms: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    /// Forgets authorizations that can no longer be used.
    pub async fn purge_oauth_authorizations(&self, now_ms: i64) -> StoreResult<u64> {
        let done = sqlx::query(
            "DELETE FROM oauth_authorizations WHERE expires_at <= $1 OR consumed_at IS NOT NULL",
        )
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }
}
