//! Figures over the execution history for the console's dashboard: executions per time bucket
//! and status, and failures per flow.

use crate::{Store, StoreResult};
use ferry_model::{FlowId, OrganizationId};
use sqlx::Row;

/// Executions of one status created in one time bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionCount {
    pub bucket_start_ms: i64,
    pub status: String,
    pub executions: i64,
}

impl Store {
    /// Executions of an organization created in `[from, to)`, by time bucket and status.
    pub async fn execution_counts(
        &self,
        organization: OrganizationId,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> StoreResult<Vec<ExecutionCount>> {
        let bucket_ms = bucket_ms.max(1);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT (created_at / {bucket_ms}) * {bucket_ms} AS bucket_start, status, COUNT(*) AS executions \
             FROM executions WHERE organization_id = $1 AND created_at >= $2 AND created_at < $3 \
             GROUP BY bucket_start, status ORDER BY bucket_start, status"
        )))
        .bind(organization.0)
        .bind(from_ms)
        .bind(to_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ExecutionCount {
                    bucket_start_ms: row.try_get("bucket_start")?,
                    status: row.try_get("status")?,
                    executions: row.try_get("executions")?,
                })
            })
            .collect()
    }

    /// Failed executions of an organization created since `from_ms`, per flow, most first.
    pub async fn failures_by_flow(
        &self,
        organization: OrganizationId,
        from_ms: i64,
    ) -> StoreResult<Vec<(FlowId, i64)>> {
        let rows = sqlx::query(
            "SELECT flow_id, COUNT(*) AS failures FROM executions \
             WHERE organization_id = $1 AND created_at >= $2 AND status = 'failed' \
             GROUP BY flow_id ORDER BY failures DESC, flow_id",
        )
        .bind(organization.0)
        .bind(from_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((FlowId(row.try_get("flow_id")?), row.try_get("failures")?)))
            .collect()
    }
}
