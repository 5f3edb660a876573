//! Flow templates and flow instances.

use crate::{Store, StoreError, StoreResult};
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::flow::FlowDef;
use ferry_model::{FlowId, FlowInstanceId, OrganizationId, Secret, UserId};
use serde_json::{Map, Value};
use sqlx::Row;
use sqlx::any::AnyRow;

const SEAL_WEBHOOK: &str = "flow_instances.webhook_secret";

pub struct NewFlowInstance<'a> {
    pub organization_id: OrganizationId,
    pub flow_id: FlowId,
    pub name: &'a str,
    pub active: bool,
    pub configuration: &'a Map<String, Value>,
    pub settings: &'a Map<String, Value>,
    pub webhook_secret: Option<&'a Secret>,
    pub now_ms: i64,
}

/// A flow instance's new name, variable values and settings.
pub struct FlowInstanceChanges<'a> {
    pub name: &'a str,
    pub configuration: &'a Map<String, Value>,
    pub settings: &'a Map<String, Value>,
    pub now_ms: i64,
}

#[derive(Debug, Default, Clone)]
pub struct FlowInstanceFilter {
    pub flow_id: Option<FlowId>,
    pub include_inactive: bool,
    pub search_text: Option<String>,
}

fn corrupt(what: &str) -> impl FnOnce(serde_json::Error) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

fn flow_from_row(row: &AnyRow) -> StoreResult<Flow> {
    let definition: String = row.try_get("definition")?;
    Ok(Flow {
        id: FlowId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        user_id: UserId(row.try_get("user_id")?),
        def: serde_json::from_str(&definition).map_err(corrupt("flow definition"))?,
        created_at_ms: row.try_get("created_at")?,
        updated_at_ms: row.try_get("updated_at")?,
    })
}

fn instance_from_row(row: &AnyRow) -> StoreResult<FlowInstance> {
    let configuration: String = row.try_get("configuration")?;
    let settings: String = row.try_get("settings")?;
    let active: i64 = row.try_get("active")?;
    Ok(FlowInstance {
        id: FlowInstanceId(row.try_get("id")?),
        organization_id: OrganizationId(row.try_get("organization_id")?),
        flow_id: FlowId(row.try_get("flow_id")?),
        name: row.try_get("name")?,
        active: active != 0,
        configuration: serde_json::from_str(&configuration)
            .map_err(corrupt("flow instance configuration"))?,
        settings: serde_json::from_str(&settings).map_err(corrupt("flow instance settings"))?,
        created_at_ms: row.try_get("created_at")?,
        updated_at_ms: row.try_get("updated_at")?,
    })
}

const FLOW_COLUMNS: &str = "id, organization_id, user_id, definition, created_at, updated_at";
const INSTANCE_COLUMNS: &str =
    "id, organization_id, flow_id, name, active, configuration, settings, created_at, updated_at";

impl Store {
    pub async fn insert_flow(
        &self,
        organization: OrganizationId,
        user: UserId,
        def: &FlowDef,
        now_ms: i64,
    ) -> StoreResult<Flow> {
        let row = sqlx::query(
            "INSERT INTO flows (organization_id, user_id, name, definition, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
        )
        .bind(organization.0)
        .bind(user.0)
        .bind(def.name.as_str())
        .bind(serde_json::to_string(def).expect("flows serialize"))
        .bind(now_ms)
        .fetch_one(&self.writer)
        .await?;
        Ok(Flow {
            id: FlowId(row.try_get("id")?),
            organization_id: organization,
            user_id: user,
            def: def.clone(),
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
        })
    }

    pub async fn get_flow(
        &self,
        organization: OrganizationId,
        id: FlowId,
    ) -> StoreResult<Option<Flow>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLOW_COLUMNS} FROM flows WHERE id = $1 AND organization_id = $2"
        )))
        .bind(id.0)
        .bind(organization.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(flow_from_row).transpose()
    }

    pub async fn list_flows(&self, organization: OrganizationId) -> StoreResult<Vec<Flow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {FLOW_COLUMNS} FROM flows WHERE organization_id = $1 ORDER BY id"
        )))
        .bind(organization.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(flow_from_row).collect()
    }

    pub async fn update_flow(
        &self,
        organization: OrganizationId,
        id: FlowId,
        def: &FlowDef,
        now_ms: i64,
    ) -> StoreResult<Option<Flow>> {
        let done = sqlx::query(
            "UPDATE flows SET name = $1, definition = $2, updated_at = $3 WHERE id = $4 AND organization_id = $5",
        )
        .bind(def.name.as_str())
        .bind(serde_json::to_string(def).expect("flows serialize"))
        .bind(now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.get_flow(organization, id).await
    }

    /// Deletes a flow that has no instances; `Err(Conflict)` when some exist.
    pub async fn delete_flow(&self, organization: OrganizationId, id: FlowId) -> StoreResult<bool> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM flow_instances WHERE flow_id = $1")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await?;
        let instances: i64 = row.try_get("n")?;
        if instances > 0 {
            return Err(StoreError::Conflict("instances of this flow"));
        }
        let done = sqlx::query("DELETE FROM flows WHERE id = $1 AND organization_id = $2")
            .bind(id.0)
            .bind(organization.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn insert_flow_instance(
        &self,
        new: NewFlowInstance<'_>,
    ) -> StoreResult<FlowInstance> {
        let row = sqlx::query(
            "INSERT INTO flow_instances (organization_id, flow_id, name, active, configuration, settings, \
             webhook_secret_sealed, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(new.organization_id.0)
        .bind(new.flow_id.0)
        .bind(new.name)
        .bind(i64::from(new.active))
        .bind(Value::Object(new.configuration.clone()).to_string())
        .bind(Value::Object(new.settings.clone()).to_string())
        .bind(new.webhook_secret.map(|s| self.sealer.seal_str(SEAL_WEBHOOK, s.expose())))
        .bind(new.now_ms)
        .fetch_one(&self.writer)
        .await?;
        let id = FlowInstanceId(row.try_get("id")?);
        self.get_flow_instance_by_id(id)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("flow instance {id} vanished after insert")))
    }

    pub async fn get_flow_instance_by_id(
        &self,
        id: FlowInstanceId,
    ) -> StoreResult<Option<FlowInstance>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM flow_instances WHERE id = $1"
        )))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(instance_from_row).transpose()
    }

    pub async fn get_flow_instance(
        &self,
        organization: OrganizationId,
        id: FlowInstanceId,
    ) -> StoreResult<Option<FlowInstance>> {
        Ok(self
            .get_flow_instance_by_id(id)
            .await?
            .filter(|instance| instance.organization_id == organization))
    }

    /// The webhook secret of a flow instance, for checking a webhook call.
    pub async fn flow_instance_webhook_secret(
        &self,
        id: FlowInstanceId,
    ) -> StoreResult<Option<Secret>> {
        let row = sqlx::query("SELECT webhook_secret_sealed FROM flow_instances WHERE id = $1")
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let sealed: Option<Vec<u8>> = row.try_get("webhook_secret_sealed")?;
        sealed
            .map(|s| self.sealer.open_string(SEAL_WEBHOOK, &s).map(Secret::new))
            .transpose()
    }

    pub async fn list_flow_instances(
        &self,
        organization: OrganizationId,
        filter: &FlowInstanceFilter,
    ) -> StoreResult<Vec<FlowInstance>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTANCE_COLUMNS} FROM flow_instances WHERE organization_id = $1 ORDER BY id"
        )))
        .bind(organization.0)
        .fetch_all(&self.pool)
        .await?;
        let needle = filter.search_text.as_ref().map(|s| s.to_lowercase());
        let mut found = Vec::new();
        for row in &rows {
            let instance = instance_from_row(row)?;
            if filter.flow_id.is_some_and(|id| id != instance.flow_id)
                || (!filter.include_inactive && !instance.active && filter.flow_id.is_none())
                || needle
                    .as_ref()
                    .is_some_and(|n| !instance.name.to_lowercase().contains(n))
            {
                continue;
            }
            found.push(instance);
        }
        Ok(found)
    }

    /// Every active flow instance with its flow, across organizations (for schedulers and pollers).
    pub async fn list_active_flow_instances(&self) -> StoreResult<Vec<(FlowInstance, Flow)>> {
        let rows = sqlx::query(
            "SELECT i.id, i.organization_id, i.flow_id, i.name, i.active, i.configuration, i.settings, \
             i.created_at, i.updated_at, f.user_id, f.definition, f.created_at AS flow_created_at, \
             f.updated_at AS flow_updated_at FROM flow_instances i JOIN flows f ON f.id = i.flow_id \
             WHERE i.active = 1 ORDER BY i.id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let instance = instance_from_row(row)?;
                let definition: String = row.try_get("definition")?;
                let flow = Flow {
                    id: instance.flow_id,
                    organization_id: instance.organization_id,
                    user_id: UserId(row.try_get("user_id")?),
                    def: serde_json::from_str(&definition).map_err(corrupt("flow definition"))?,
                    created_at_ms: row.try_get("flow_created_at")?,
                    updated_at_ms: row.try_get("flow_updated_at")?,
                };
                Ok((instance, flow))
            })
            .collect()
    }

    pub async fn update_flow_instance(
        &self,
        organization: OrganizationId,
        id: FlowInstanceId,
        changes: &FlowInstanceChanges<'_>,
    ) -> StoreResult<Option<FlowInstance>> {
        let FlowInstanceChanges {
            name,
            configuration,
            settings,
            now_ms,
        } = changes;
        let done = sqlx::query(
            "UPDATE flow_instances SET name = $1, configuration = $2, settings = $3, updated_at = $4 \
             WHERE id = $5 AND organization_id = $6",
        )
        .bind(*name)
        .bind(Value::Object((*configuration).clone()).to_string())
        .bind(Value::Object((*settings).clone()).to_string())
        .bind(*now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        self.get_flow_instance(organization, id).await
    }

    pub async fn set_flow_instance_active(
        &self,
        organization: OrganizationId,
        id: FlowInstanceId,
        active: bool,
        now_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE flow_instances SET active = $1, updated_at = $2 WHERE id = $3 AND organization_id = $4",
        )
        .bind(i64::from(active))
        .bind(now_ms)
        .bind(id.0)
        .bind(organization.0)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn delete_flow_instance(
        &self,
        organization: OrganizationId,
        id: FlowInstanceId,
    ) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM flow_instances WHERE id = $1 AND organization_id = $2")
            .bind(id.0)
            .bind(organization.0)
            .execute(&self.writer)
            .await?;
        Ok(done.rows_affected() == 1)
    }
}
