//! Reading executions and acting on them: list with pages and filters, one with its step records,
//! cancel, retry with the same input.

use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_model::execution::{Execution, StepExecution, StepStatus};
use ferry_model::{ExecutionId, FlowId, FlowInstanceId, StepExecutionId};
use ferry_store::{CancelOutcome, ExecutionFilter, NewExecution};
use serde_json::Value;

/// What a caller asks of an executions list.
#[derive(Debug, Clone, Default)]
pub struct ExecutionQuery {
    pub flow_id: Option<FlowId>,
    pub flow_instance_id: Option<FlowInstanceId>,
    pub page_size: Option<i64>,
    /// The `Elements-Next-Page-Token` of the previous page.
    pub next_page: Option<String>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    pub status: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct ExecutionPage {
    pub executions: Vec<Execution>,
    /// Present only when more executions exist.
    pub next_page: Option<String>,
}

const MAX_PAGE: i64 = 500;

impl App {
    pub async fn list_executions(
        &self,
        principal: &Principal,
        query: &ExecutionQuery,
    ) -> Result<ExecutionPage, AppError> {
        if query.event_id.is_some() && query.object_id.is_some() {
            return Err(AppError::input(
                "eventId",
                "give eventId or objectId, not both",
            ));
        }
        let page_size = query.page_size.unwrap_or(50);
        if !(1..=MAX_PAGE).contains(&page_size) {
            return Err(AppError::input(
                "pageSize",
                format!("pageSize must be from 1 to {MAX_PAGE}"),
            ));
        }
        let before_id = match &query.next_page {
            None => None,
            Some(token) => Some(ExecutionId(token.parse().map_err(|_| {
                AppError::input("nextPage", "nextPage is not a token ferry gave")
            })?)),
        };
        let status = match query.status.as_deref() {
            None => None,
            Some(text) => Some(ferry_model::execution::ExecutionStatus::parse(text).ok_or_else(|| {
                AppError::input("status", format!("{text:?} is not a status (queued, pending, success, failed, cancelled, retry)"))
            })?),
        };
        if let Some(id) = query.flow_instance_id {
            self.get_flow_instance(principal, id).await?;
        }
        let mut executions = self
            .inner
            .store
            .list_executions(
                principal.organization.id,
                &ExecutionFilter {
                    flow_instance_id: query.flow_instance_id,
                    flow_id: query.flow_id,
                    event_id: query.event_id.clone(),
                    object_id: query.object_id.clone(),
                    status,
                    before_id,
                    created_from_ms: query.from_ms,
                    created_to_ms: query.to_ms,
                    limit: page_size + 1,
                },
            )
            .await?;
        let more = executions.len() as i64 > page_size;
        executions.truncate(page_size as usize);
        let next_page = more
            .then(|| executions.last().map(|e| e.id.0.to_string()))
            .flatten();
        Ok(ExecutionPage {
            executions,
            next_page,
        })
    }

    pub async fn get_execution(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<(Execution, Vec<StepExecution>), AppError> {
        let execution = self
            .inner
            .store
            .get_execution(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no execution {id}")))?;
        let steps = self.inner.store.list_step_executions(id).await?;
        Ok((execution, steps))
    }

    pub async fn get_step_execution(
        &self,
        principal: &Principal,
        id: StepExecutionId,
    ) -> Result<StepExecution, AppError> {
        self.inner
            .store
            .get_step_execution(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no step execution {id}")))
    }

    /// The failed steps of an execution.
    pub async fn execution_errors(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<Vec<StepExecution>, AppError> {
        let (_, steps) = self.get_execution(principal, id).await?;
        Ok(steps
            .into_iter()
            .filter(|s| s.status == StepStatus::Failed)
            .collect())
    }

    pub async fn cancel_execution(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<Execution, AppError> {
        match self
            .inner
            .store
            .cancel_execution(principal.organization.id, id, self.now_ms())
            .await?
        {
            CancelOutcome::Cancelled => {
                tracing::info!(execution_id = %id, "execution cancelled");
                Ok(self.get_execution(principal, id).await?.0)
            }
            CancelOutcome::AlreadyFinished(status) => Err(AppError::input(
                "status",
                format!(
                    "execution {id} already ended ({}); only queued or running executions can be cancelled",
                    status.as_str()
                ),
            )),
            CancelOutcome::NotFound => Err(AppError::NotFound(format!("no execution {id}"))),
        }
    }

    /// Runs the flow again with the same trigger input, as a new execution.
    pub async fn retry_execution(
        &self,
        principal: &Principal,
        id: ExecutionId,
    ) -> Result<Execution, AppError> {
        let (execution, _) = self.get_execution(principal, id).await?;
        if execution.parent_execution_id.is_some() {
            return Err(AppError::input(
                "id",
                "a sub-flow's execution is retried by retrying its parent",
            ));
        }
        let now = self.now_ms();
        self.enqueue(&NewExecution {
            organization_id: execution.organization_id,
            flow_id: execution.flow_id,
            flow_instance_id: execution.flow_instance_id,
            trigger_kind: &execution.trigger_kind,
            trigger: &execution.trigger,
            state: &Value::Null,
            attempt: execution.attempt + 1,
            parent_execution_id: None,
            event_id: execution.event_id.as_deref(),
            object_id: execution.object_id.as_deref(),
            run_after_ms: now,
            claimed_by: None,
            now_ms: now,
        })
        .await
    }

    /// Executions created in `[from, to)`, by time bucket and status (the dashboard's plot).
    pub async fn execution_activity(
        &self,
        principal: &Principal,
        from_ms: i64,
        to_ms: i64,
        bucket_ms: i64,
    ) -> Result<Vec<ferry_store::ExecutionCount>, AppError> {
        Ok(self
            .inner
            .store
            .execution_counts(principal.organization.id, from_ms, to_ms, bucket_ms)
            .await?)
    }

    /// Failed executions since `from_ms` per flow (by name), most first.
    pub async fn failures_by_flow(
        &self,
        principal: &Principal,
        from_ms: i64,
    ) -> Result<Vec<(String, i64)>, AppError> {
        let failures = self
            .inner
            .store
            .failures_by_flow(principal.organization.id, from_ms)
            .await?;
        let mut named = Vec::with_capacity(failures.len());
        for (flow, count) in failures {
            let name = match self.get_flow(principal, flow).await {
                Ok(flow) => flow.def.name,
                Err(_) => format!("flow {flow} (deleted)"),
            };
            named.push((name, count));
        }
        Ok(named)
    }
}
