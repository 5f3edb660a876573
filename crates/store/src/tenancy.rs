//! Organizations and users. Secrets are stored as hashes computed by the caller; the store only
//! compares what it is given.

use crate::error::conflict_or;
use crate::{Store, StoreResult};
use ferry_model::tenancy::{Organization, User};
use ferry_model::{OrganizationId, UserId};
use sqlx::Row;
use sqlx::any::AnyRow;

pub struct NewUser<'a> {
    pub organization_id: OrganizationId,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub secret_hash: &'a str,
    pub now_ms: i64,
}

/// A user found by secret, with what authentication of the rest of the header needs.
#[derive(Debug, Clone)]
pub struct UserWithOrganization {
    pub user: User,
    pub organization: Organization,
    pub organization_secret_hash: String,
}

const USER_COLUMNS: &str =
    "u.id, u.organization_id, u.email, u.first_name, u.last_name, u.created_at";

fn user_from_row(row: &AnyRow) -> StoreResult<User> {
    Ok(User {
        id: UserId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        email: row.try_get("email")?,
        first_name: row.try_get("first_name")?,
        last_name: row.try_get("last_name")?,
        created_at_ms: row.try_get("created_at")?,
    })
}

impl Store {
    pub async fn create_organization(
        &self,
        name: &str,
        secret_hash: &str,
        now_ms: i64,
    ) -> StoreResult<Organization> {
        let row = sqlx::query(
            "INSERT INTO organizations (name, secret_hash, created_at) VALUES ($1, $2, $3) RETURNING id",
        )
        .bind(name)
        .bind(secret_hash)
        .bind(now_ms)
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("an organization with this secret"))?;
        Ok(Organization {
            id: OrganizationId(row.try_get("id")?),
            name: name.to_owned(),
            created_at_ms: now_ms,
        })
    }

    pub async fn create_user(&self, new: NewUser<'_>) -> StoreResult<User> {
        let row = sqlx::query(
            "INSERT INTO users (organization_id, email, first_name, last_name, secret_hash, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(new.organization_id.0)
        .bind(new.email)
        .bind(new.first_name)
        .bind(new.last_name)
        .bind(new.secret_hash)
        .bind(new.now_ms)
        .fetch_one(&self.writer)
        .await
        .map_err(conflict_or("a user with this email"))?;
        Ok(User {
            id: UserId(row.try_get("id")?),
            organization_id: new.organization_id,
            email: new.email.to_owned(),
            first_name: new.first_name.to_owned(),
            last_name: new.last_name.to_owned(),
            created_at_ms: new.now_ms,
        })
    }

    pub async fn find_user_by_secret_hash(
        &self,
        secret_hash: &str,
    ) -> StoreResult<Option<UserWithOrganization>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, o.name AS organization_name, o.created_at AS organization_created_at, \
             o.secret_hash AS organization_secret_hash \
             FROM users u JOIN organizations o ON o.id = u.organization_id WHERE u.secret_hash = $1"
        )))
        .bind(secret_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            let user = user_from_row(&row)?;
            Ok(UserWithOrganization {
                organization: Organization {
                    id: user.organization_id,
                    name: row.try_get("organization_name")?,
                    created_at_ms: row.try_get("organization_created_at")?,
                },
                organization_secret_hash: row.try_get("organization_secret_hash")?,
                user,
            })
        })
        .transpose()
    }

    pub async fn find_user_by_email(&self, email: &str) -> StoreResult<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.email = $1"
        )))
        .bind(email)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn get_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn get_organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>> {
        let row = sqlx::query("SELECT id, name, created_at FROM organizations WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(Organization {
                id: OrganizationId(row.try_get("id")?),
                name: row.try_get("name")?,
                created_at_ms: row.try_get("created_at")?,
            })
        })
        .transpose()
    }

    pub async fn list_organizations(&self) -> StoreResult<Vec<Organization>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM organizations ORDER BY id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Organization {
                    id: OrganizationId(row.try_get("id")?),
                    name: row.try_get("name")?,
                    created_at_ms: row.try_get("created_at")?,
                })
            })
            .collect()
    }

    pub async fn list_users(&self, organization: OrganizationId) -> StoreResult<Vec<User>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.organization_id = $1 ORDER BY u.id"
        )))
        .bind(organization.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces a user's secret; the old one stops working at once. Returns false for an unknown user.
    pub async fn set_user_secret_hash(&self, id: UserId, secret_hash: &str) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE users SET secret_hash = $1 WHERE id = $2")
            .bind(secret_hash)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(conflict_or("a user with this secret"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn set_organization_secret_hash(
        &self,
        id: OrganizationId,
        secret_hash: &str,
    ) -> StoreResult<bool> {
        let done = sqlx::query("UPDATE organizations SET secret_hash = $1 WHERE id = $2")
            .bind(secret_hash)
            .bind(id.0)
            .execute(&self.writer)
            .await
            .map_err(conflict_or("an organization with this secret"))?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn count_users(&self) -> StoreResult<i64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM users")
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get("n")?)
    }
}
