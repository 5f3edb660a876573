//! Formulas, formula instances and executions in Cloud Elements' shapes. Each shape is a type, and
//! its OpenAPI schema is derived from it, so the document says what the handlers send.

use crate::wire::iso8601;
use ferry_app::FlowInstanceView;
use ferry_model::execution::{Execution, ExecutionStatus, Flow, StepExecution, StepStatus};
use ferry_model::flow::{FlowVariableDef, StepDef, TriggerDef};
use serde::Serialize;
use serde_json::{Map, Value};

/// A formula: its JSON as written (see `FlowDef`), plus what the server adds.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Formula)]
pub(crate) struct FormulaBody {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub description: Option<String>,
    pub active: bool,
    pub single_threaded: bool,
    /// `v1`, `v2` or `v3`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub engine: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub debug_logging_enabled: Option<bool>,
    /// Formula-as-a-resource: the HTTP method a manual flow answers on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub method: Option<String>,
    /// Formula-as-a-resource: the path a manual flow answers on.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub uri: Option<String>,
    pub configuration: Vec<FlowVariableDef>,
    pub triggers: Vec<TriggerDef>,
    /// Absent in abridged formulas (`?abridged=true`, and the `formula` of a formula instance).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub steps: Option<Vec<StepDef>>,
    pub id: i64,
    /// The user who created it.
    pub user_id: i64,
    /// The organization it belongs to.
    pub account_id: i64,
    #[schema(format = DateTime)]
    pub created_date: String,
    #[schema(format = DateTime)]
    pub updated_date: String,
}

impl FormulaBody {
    /// The formula; `abridged` leaves out its steps.
    pub(crate) fn new(flow: Flow, abridged: bool) -> Self {
        let def = flow.def;
        FormulaBody {
            name: def.name,
            description: def.description,
            active: def.active,
            single_threaded: def.single_threaded,
            engine: def.engine,
            debug_logging_enabled: def.debug_logging_enabled,
            method: def.method,
            uri: def.uri,
            configuration: def.configuration,
            triggers: def.triggers,
            steps: (!abridged).then_some(def.steps),
            id: flow.id.0,
            user_id: flow.user_id.0,
            account_id: flow.organization_id.0,
            created_date: iso8601(flow.created_at_ms),
            updated_date: iso8601(flow.updated_at_ms),
        }
    }
}

/// A formula instance: a flow bound to values.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = FormulaInstance)]
pub(crate) struct FormulaInstanceBody {
    pub id: i64,
    pub name: String,
    /// Inactive instances are not triggered, and refuse manual and webhook starts.
    pub active: bool,
    /// The flow, abridged (no `steps`).
    pub formula: FormulaBody,
    /// The values of the flow's variables, by key (a connector instance id for
    /// `elementInstance` variables).
    #[schema(value_type = Object)]
    pub configuration: Map<String, Value>,
    /// Cloud Elements' instance settings (`notification.email`, …), kept as given.
    #[schema(value_type = Object)]
    pub settings: Map<String, Value>,
    #[schema(format = DateTime)]
    pub created_date: String,
    #[schema(format = DateTime)]
    pub updated_date: String,
    /// Where the flow's webhook trigger listens, for webhook flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub webhook_url: Option<String>,
    /// The webhook's secret, shown only in the answer that created the instance.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub webhook_secret: Option<String>,
}

impl FormulaInstanceBody {
    pub(crate) fn new(view: FlowInstanceView, public_url: &str) -> Self {
        let FlowInstanceView {
            instance,
            flow,
            webhook_secret,
        } = view;
        let webhook_url = flow
            .def
            .triggers
            .first()
            .is_some_and(|t| t.kind == "webhook")
            .then(|| {
                format!(
                    "{}/hooks/{}",
                    public_url.trim_end_matches('/'),
                    instance.id.0
                )
            });
        FormulaInstanceBody {
            id: instance.id.0,
            name: instance.name,
            active: instance.active,
            formula: FormulaBody::new(flow, true),
            configuration: instance.configuration,
            settings: instance.settings,
            created_date: iso8601(instance.created_at_ms),
            updated_date: iso8601(instance.updated_at_ms),
            webhook_url,
            webhook_secret: webhook_secret.map(|s| s.expose().to_owned()),
        }
    }
}

/// One value of a step, in Cloud Elements' flat form.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(crate) struct StepExecutionValue {
    pub id: i64,
    /// `<step>.<field>`, one level deeper for request steps (`send.response.code`).
    pub key: String,
    /// Text as it is; anything else as JSON.
    pub value: String,
}

pub(crate) fn step_values(step: &StepExecution) -> Vec<StepExecutionValue> {
    ferry_engine::flatten(&step.step_name, &step.output, &step.console)
        .into_iter()
        .enumerate()
        .map(|(index, (key, value))| StepExecutionValue {
            id: step.id.0 * 1000 + index as i64,
            key,
            value,
        })
        .collect()
}

/// One step run: what went in, what came out.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = StepExecution)]
pub(crate) struct StepExecutionBody {
    pub id: i64,
    pub execution_id: i64,
    /// Position in the execution; 0 is the trigger.
    pub seq: i64,
    pub step_name: String,
    /// The step's type.
    pub step_type: String,
    pub status: StepStatus,
    #[schema(format = DateTime)]
    pub created_date: String,
    #[schema(format = DateTime)]
    pub updated_date: String,
    pub duration_ms: f64,
    pub attempts: i64,
    /// The step's properties with references resolved.
    pub input: Value,
    /// The step's result.
    pub output: Value,
    /// What the step's script logged.
    pub console: Vec<String>,
    pub step_execution_values: Vec<StepExecutionValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
}

impl StepExecutionBody {
    pub(crate) fn new(step: &StepExecution) -> Self {
        StepExecutionBody {
            id: step.id.0,
            execution_id: step.execution_id.0,
            seq: step.seq,
            step_name: step.step_name.clone(),
            step_type: step.step_kind.clone(),
            status: step.status,
            created_date: iso8601(step.created_at_ms),
            updated_date: iso8601(step.created_at_ms),
            duration_ms: step.duration_us as f64 / 1000.0,
            attempts: step.attempts,
            input: step.input.clone(),
            output: step.output.clone(),
            console: step.console.clone(),
            step_execution_values: step_values(step),
            error: step.error.clone(),
        }
    }
}

/// One run of a formula instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Execution)]
pub(crate) struct ExecutionBody {
    pub id: i64,
    pub formula_id: i64,
    pub formula_instance_id: i64,
    pub status: ExecutionStatus,
    /// `manual`, `scheduled`, `event`, `request`, `webhook` or `formula`.
    pub trigger_type: String,
    /// 1, and one more for each retry.
    pub attempt: i64,
    #[schema(format = DateTime)]
    pub created_date: String,
    #[schema(format = DateTime)]
    pub updated_date: String,
    /// When it ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(format = DateTime, nullable = false)]
    pub finished_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub error: Option<String>,
    /// The event that started it, for event executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub event_id: Option<String>,
    /// The object the event is about, for event executions.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub object_id: Option<String>,
    /// The execution that started it, for sub-flows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub parent_execution_id: Option<i64>,
    /// The step runs in order of `seq` when one execution is read; empty in lists and in the
    /// answers that start, retry or cancel an execution.
    pub step_executions: Vec<StepExecutionBody>,
}

impl ExecutionBody {
    /// The execution; `steps` are its step runs, if they are shown.
    pub(crate) fn new(execution: &Execution, steps: &[StepExecution]) -> Self {
        ExecutionBody {
            id: execution.id.0,
            formula_id: execution.flow_id.0,
            formula_instance_id: execution.flow_instance_id.0,
            status: execution.status,
            trigger_type: execution.trigger_kind.clone(),
            attempt: execution.attempt,
            created_date: iso8601(execution.created_at_ms),
            updated_date: iso8601(execution.updated_at_ms),
            finished_date: execution.finished_at_ms.map(iso8601),
            error: execution.error.clone(),
            event_id: execution.event_id.clone(),
            object_id: execution.object_id.clone(),
            parent_execution_id: execution.parent_execution_id.map(|id| id.0),
            step_executions: steps.iter().map(StepExecutionBody::new).collect(),
        }
    }
}

/// Every value of an execution, `{"<step>.<field>": "<text>"}`, in the order the steps ran.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(value_type = std::collections::HashMap<String, String>)]
pub(crate) struct ExecutionValues(Map<String, Value>);

impl ExecutionValues {
    pub(crate) fn new(steps: &[StepExecution]) -> Self {
        ExecutionValues(
            steps
                .iter()
                .flat_map(|s| ferry_engine::flatten(&s.step_name, &s.output, &s.console))
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    }
}

/// An asynchronous webhook's answer: the execution it queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookQueuedBody {
    pub execution_id: i64,
    pub status: ExecutionStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_model::{FlowId, OrganizationId, UserId};
    use serde_json::json;

    fn flow(def: Value) -> Flow {
        Flow {
            id: FlowId(3),
            organization_id: OrganizationId(2),
            user_id: UserId(1),
            def: serde_json::from_value(def).unwrap(),
            created_at_ms: 0,
            updated_at_ms: 1_000,
        }
    }

    /// The formula is the flow's JSON as stored plus what the server adds: a field added to
    /// `FlowDef` must be added to `FormulaBody` too, or it would vanish from the API.
    #[test]
    fn a_formula_is_its_flow_json_plus_the_server_fields() {
        let every_field = json!({
            "name": "n", "description": "d", "active": false, "singleThreaded": true,
            "engine": "v3", "debugLoggingEnabled": false, "method": "GET", "uri": "/x",
            "configuration": [{"id": 1, "key": "k", "name": "K", "type": "value", "description": "v", "required": false}],
            "triggers": [{"id": 2, "name": "t", "type": "manual", "async": true, "properties": {"a": 1}, "onSuccess": ["s"], "onFailure": []}],
            "steps": [{"id": 3, "name": "s", "type": "script", "properties": {"body": "done({})"}, "onSuccess": [], "onFailure": []}]
        });
        for def in [every_field, json!({"name": "bare"})] {
            let flow = flow(def);
            let mut expected = serde_json::to_value(&flow.def).unwrap();
            let server = json!({"id": 3, "userId": 1, "accountId": 2,
                "createdDate": "1970-01-01T00:00:00.000Z", "updatedDate": "1970-01-01T00:00:01.000Z"});
            for (key, value) in server.as_object().unwrap() {
                expected[key] = value.clone();
            }
            let full = serde_json::to_value(FormulaBody::new(flow.clone(), false)).unwrap();
            assert_eq!(full, expected);
            expected.as_object_mut().unwrap().remove("steps");
            let abridged = serde_json::to_value(FormulaBody::new(flow, true)).unwrap();
            assert_eq!(abridged, expected);
        }
    }
}
