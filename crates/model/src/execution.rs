//! Flow instances and executions as stored.

use crate::flow::FlowDef;
use crate::{ExecutionId, FlowId, FlowInstanceId, OrganizationId, StepExecutionId, UserId};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored flow template.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub id: FlowId,
    pub organization_id: OrganizationId,
    pub user_id: UserId,
    pub def: FlowDef,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// A flow bound to values ("formula instance").
#[derive(Debug, Clone, PartialEq)]
pub struct FlowInstance {
    pub id: FlowInstanceId,
    pub organization_id: OrganizationId,
    pub flow_id: FlowId,
    pub name: String,
    pub active: bool,
    /// Variable key → value (an instance id for `elementInstance` variables).
    pub configuration: Map<String, Value>,
    /// Cloud Elements' instance settings (`notification.email`, …), kept as given.
    pub settings: Map<String, Value>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

/// Execution statuses, with Cloud Elements' names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExecutionStatus {
    /// Waiting in the queue.
    Queued,
    /// Claimed by a worker and running.
    Pending,
    Success,
    Failed,
    Cancelled,
    /// Waiting to be run again by a retryFormulaExecution step.
    Retry,
}

impl ExecutionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionStatus::Queued => "queued",
            ExecutionStatus::Pending => "pending",
            ExecutionStatus::Success => "success",
            ExecutionStatus::Failed => "failed",
            ExecutionStatus::Cancelled => "cancelled",
            ExecutionStatus::Retry => "retry",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "queued" => ExecutionStatus::Queued,
            "pending" => ExecutionStatus::Pending,
            "success" => ExecutionStatus::Success,
            "failed" => ExecutionStatus::Failed,
            "cancelled" => ExecutionStatus::Cancelled,
            "retry" => ExecutionStatus::Retry,
            _ => return None,
        })
    }

    pub fn is_finished(self) -> bool {
        matches!(
            self,
            ExecutionStatus::Success
                | ExecutionStatus::Failed
                | ExecutionStatus::Cancelled
                | ExecutionStatus::Retry
        )
    }
}

/// One run of a flow instance.
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub id: ExecutionId,
    pub organization_id: OrganizationId,
    pub flow_id: FlowId,
    pub flow_instance_id: FlowInstanceId,
    pub status: ExecutionStatus,
    /// `manual`, `scheduled`, `event`, `request`, `webhook`, `formula`.
    pub trigger_kind: String,
    /// The trigger's values (`trigger.args`, `trigger.event`, …).
    pub trigger: Value,
    /// The engine's progress, committed with every step (see the engine crate).
    pub state: Value,
    pub error: Option<String>,
    /// Which attempt this is (retryFormulaExecution starts new attempts).
    pub attempt: i64,
    pub parent_execution_id: Option<ExecutionId>,
    pub event_id: Option<String>,
    pub object_id: Option<String>,
    /// Not before this time (epoch ms).
    pub run_after_ms: i64,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub finished_at_ms: Option<i64>,
}

/// Step execution statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Success,
    Failed,
}

impl StepStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            StepStatus::Success => "success",
            StepStatus::Failed => "failed",
        }
    }
}

/// One step run, as recorded: what went in, what came out.
#[derive(Debug, Clone, PartialEq)]
pub struct StepExecution {
    pub id: StepExecutionId,
    pub execution_id: ExecutionId,
    /// Position in the execution (0 is the trigger).
    pub seq: i64,
    pub step_name: String,
    pub step_kind: String,
    pub status: StepStatus,
    /// The step's properties after `${…}` references were resolved.
    pub input: Value,
    /// The step's result (`done(…)` of a script, the request and response of a request step…).
    pub output: Value,
    pub console: Vec<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub duration_us: i64,
    pub created_at_ms: i64,
}
