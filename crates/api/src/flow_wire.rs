//! Formulas, formula instances and executions in Cloud Elements' shapes.

use crate::wire::iso8601;
use ferry_app::FlowInstanceView;
use ferry_model::execution::{Execution, Flow, StepExecution};
use serde_json::{Map, Value, json};

/// A formula: its JSON as written, plus what the server adds.
pub(crate) fn formula(flow: &Flow, abridged: bool) -> Value {
    let mut value = serde_json::to_value(&flow.def).expect("flows serialize");
    let object = value.as_object_mut().expect("a flow is an object");
    if abridged {
        object.remove("steps");
    }
    object.insert("id".into(), json!(flow.id.0));
    object.insert("userId".into(), json!(flow.user_id.0));
    object.insert("accountId".into(), json!(flow.organization_id.0));
    object.insert("createdDate".into(), json!(iso8601(flow.created_at_ms)));
    object.insert("updatedDate".into(), json!(iso8601(flow.updated_at_ms)));
    value
}

pub(crate) fn formula_instance(view: &FlowInstanceView, public_url: &str) -> Value {
    let instance = &view.instance;
    let mut value = json!({
        "id": instance.id.0,
        "name": instance.name,
        "active": instance.active,
        "formula": formula(&view.flow, true),
        "configuration": instance.configuration,
        "settings": instance.settings,
        "createdDate": iso8601(instance.created_at_ms),
        "updatedDate": iso8601(instance.updated_at_ms),
    });
    if view
        .flow
        .def
        .triggers
        .first()
        .is_some_and(|t| t.kind == "webhook")
    {
        value["webhookUrl"] = json!(format!(
            "{}/hooks/{}",
            public_url.trim_end_matches('/'),
            instance.id.0
        ));
    }
    if let Some(secret) = &view.webhook_secret {
        value["webhookSecret"] = json!(secret.expose());
    }
    value
}

pub(crate) fn step_values(step: &StepExecution) -> Vec<Value> {
    ferry_engine::flatten(&step.step_name, &step.output, &step.console)
        .into_iter()
        .enumerate()
        .map(|(index, (key, value))| json!({"id": step.id.0 * 1000 + index as i64, "key": key, "value": value}))
        .collect()
}

pub(crate) fn step_execution(step: &StepExecution) -> Value {
    let mut value = json!({
        "id": step.id.0,
        "executionId": step.execution_id.0,
        "seq": step.seq,
        "stepName": step.step_name,
        "stepType": step.step_kind,
        "status": step.status.as_str(),
        "createdDate": iso8601(step.created_at_ms),
        "updatedDate": iso8601(step.created_at_ms),
        "durationMs": step.duration_us as f64 / 1000.0,
        "attempts": step.attempts,
        "input": step.input,
        "output": step.output,
        "console": step.console,
        "stepExecutionValues": step_values(step),
    });
    if let Some(error) = &step.error {
        value["error"] = json!(error);
    }
    value
}

pub(crate) fn execution(execution: &Execution, steps: Option<&[StepExecution]>) -> Value {
    let mut value = json!({
        "id": execution.id.0,
        "formulaId": execution.flow_id.0,
        "formulaInstanceId": execution.flow_instance_id.0,
        "status": execution.status.as_str(),
        "triggerType": execution.trigger_kind,
        "attempt": execution.attempt,
        "createdDate": iso8601(execution.created_at_ms),
        "updatedDate": iso8601(execution.updated_at_ms),
    });
    let object = value.as_object_mut().expect("an object");
    if let Some(finished) = execution.finished_at_ms {
        object.insert("finishedDate".into(), json!(iso8601(finished)));
    }
    if let Some(error) = &execution.error {
        object.insert("error".into(), json!(error));
    }
    for (key, field) in [
        ("eventId", &execution.event_id),
        ("objectId", &execution.object_id),
    ] {
        if let Some(field) = field {
            object.insert(key.into(), json!(field));
        }
    }
    if let Some(parent) = execution.parent_execution_id {
        object.insert("parentExecutionId".into(), json!(parent.0));
    }
    object.insert(
        "stepExecutions".into(),
        Value::Array(
            steps
                .map(|steps| steps.iter().map(step_execution).collect())
                .unwrap_or_default(),
        ),
    );
    value
}

/// `{"<step>.<field>": "…"}` for a whole execution.
pub(crate) fn execution_values(steps: &[StepExecution]) -> Map<String, Value> {
    steps
        .iter()
        .flat_map(|s| ferry_engine::flatten(&s.step_name, &s.output, &s.console))
        .map(|(k, v)| (k, Value::String(v)))
        .collect()
}
