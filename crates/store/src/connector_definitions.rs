//! User connector definitions (the connector builder's `POST /elements`): stored as JSON text,
//! installation-wide, with the time of their last change so other processes notice it.

use crate::error::conflict_or;
use crate::{Store, StoreError, StoreResult};
use ferry_model::{OrganizationId, UserId};
use sqlx::Row;

/// How many times an insert choosing the next free id tries again after another process took
/// the id it chose.
const NEXT_ID_ATTEMPTS: usize = 32;

/// Where a new definition's numeric id comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectorIdChoice {
    /// The definition names its id; another connector having it is a conflict.
    Given(i64),
    /// The store gives the next id no stored definition has, `at_least` or above.
    Next { at_least: i64 },
}

/// A definition to add.
#[derive(Debug, Clone, Copy)]
pub struct NewConnectorDefinition<'a> {
    pub key: &'a str,
    pub id: ConnectorIdChoice,
    /// The definition as written, JSON text (without an `id` when the store chooses it).
    pub definition: &'a str,
    /// The organization and user adding it.
    pub created_by: (OrganizationId, UserId),
    pub now_ms: i64,
}

/// One stored definition.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredConnectorDefinition {
    pub key: String,
    pub id: i64,
    /// The organization whose user added it; only its users change it.
    pub organization_id: OrganizationId,
    /// The definition as written, JSON text.
    pub definition: String,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl Store {
    pub async fn list_connector_definitions(&self) -> StoreResult<Vec<StoredConnectorDefinition>> {
        let rows = sqlx::query(
            "SELECT connector_key, connector_id, organization_id, definition, created_at, updated_at \
             FROM connector_definitions ORDER BY connector_key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredConnectorDefinition {
                    key: row.try_get("connector_key")?,
                    id: row.try_get("connector_id")?,
                    organization_id: OrganizationId(row.try_get("organization_id")?),
                    definition: row.try_get("definition")?,
                    created_at_ms: row.try_get("created_at")?,
                    updated_at_ms: row.try_get("updated_at")?,
                })
            })
            .collect()
    }

    /// What changes whenever a definition is added, replaced or removed: each key with the time
    /// of its last change. Cheap enough to ask every few seconds.
    pub async fn connector_definitions_fingerprint(&self) -> StoreResult<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT connector_key, updated_at FROM connector_definitions ORDER BY connector_key",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get("connector_key")?, row.try_get("updated_at")?)))
            .collect()
    }

    /// Adds a definition and answers the id it has. A key that exists is a conflict, and so is
    /// a given id that exists; an id left to the store is the next free one, however many
    /// processes add connectors at the same moment.
    pub async fn insert_connector_definition(
        &self,
        new: NewConnectorDefinition<'_>,
    ) -> StoreResult<i64> {
        match new.id {
            ConnectorIdChoice::Given(id) => {
                sqlx::query(
                    "INSERT INTO connector_definitions \
                     (connector_key, connector_id, definition, organization_id, created_by, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6)",
                )
                .bind(new.key)
                .bind(id)
                .bind(new.definition)
                .bind(new.created_by.0.0)
                .bind(new.created_by.1.0)
                .bind(new.now_ms)
                .execute(&self.writer)
                .await
                .map_err(conflict_or("a connector with this key or id"))?;
                Ok(id)
            }
            ConnectorIdChoice::Next { at_least } => {
                for _ in 0..NEXT_ID_ATTEMPTS {
                    // The id is chosen in the insert itself; two processes that choose the same
                    // one at once collide on the id's unique index, and the later one chooses
                    // again.
                    let inserted = sqlx::query(
                        "INSERT INTO connector_definitions \
                         (connector_key, connector_id, definition, organization_id, created_by, created_at, updated_at) \
                         SELECT $1, CASE WHEN MAX(connector_id) >= $2 THEN MAX(connector_id) + 1 ELSE $2 END, \
                         $3, $4, $5, $6, $6 FROM connector_definitions \
                         RETURNING connector_id",
                    )
                    .bind(new.key)
                    .bind(at_least)
                    .bind(new.definition)
                    .bind(new.created_by.0.0)
                    .bind(new.created_by.1.0)
                    .bind(new.now_ms)
                    .fetch_one(&self.writer)
                    .await;
                    match inserted {
                        Ok(row) => return Ok(row.try_get("connector_id")?),
                        Err(sqlx::Error::Database(db)) if db.is_unique_violation() => {
                            if self.connector_key_exists(new.key).await? {
                                return Err(StoreError::Conflict("a connector with this key"));
                            }
                        }
                        Err(error) => return Err(StoreError::Database(error)),
                    }
                }
                Err(StoreError::Conflict("a connector with the next free id"))
            }
        }
    }

    async fn connector_key_exists(&self, key: &str) -> StoreResult<bool> {
        let row =
            sqlx::query("SELECT COUNT(*) AS n FROM connector_definitions WHERE connector_key = $1")
                .bind(key)
                .fetch_one(&self.writer)
                .await?;
        Ok(row.try_get::<i64, _>("n")? > 0)
    }

    /// Replaces a definition; `false` when there is none with this key. The time of change only
    /// moves forward, so other processes see it even within one millisecond.
    pub async fn update_connector_definition(
        &self,
        key: &str,
        id: i64,
        definition: &str,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE connector_definitions SET connector_id = $2, definition = $3, \
             updated_at = CASE WHEN updated_at >= $4 THEN updated_at + 1 ELSE $4 END \
             WHERE connector_key = $1",
        )
        .bind(key)
        .bind(id)
        .bind(definition)
        .bind(now_ms)
        .execute(&self.writer)
        .await
        .map_err(conflict_or("a connector with this id"))?;
        Ok(done.rows_affected() > 0)
    }

    /// Removes a definition; `false` when there was none.
    pub async fn delete_connector_definition(&self, key: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM connector_definitions WHERE connector_key = $1")
            .bind(key)
            .execute(&self.writer)
            .await
            .map_err(StoreError::Database)?;
        Ok(done.rows_affected() > 0)
    }
}
