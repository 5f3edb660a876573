//! Flows (Cloud Elements "formulas") as users write them: the formula JSON. Fields Cloud Elements
//! clients send back from a GET (ids, dates, user ids) are accepted and ignored, so an exported flow
//! imports unchanged; what ferry acts on is checked by the engine at save time.
//!
//! The types derive `utoipa::ToSchema`: the HTTP API's OpenAPI schemas of formulas, steps,
//! triggers and variables are these types, so a field's documentation lives beside it.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A flow template: Cloud Elements' formula JSON. Fields a GET adds (`id`, dates, `userId`) are
/// accepted and ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowDef {
    /// The flow's name; not empty.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Kept and shown; flow instances have their own `active`.
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub active: bool,
    /// Kept and shown, as Cloud Elements did.
    #[serde(default)]
    pub single_threaded: bool,
    /// `v1`, `v2` or `v3` (Cloud Elements' formula engines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    /// `false` only with engine `v3`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_logging_enabled: Option<bool>,
    /// Formula-as-a-resource: the HTTP method a manual flow answers on, with `uri`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Formula-as-a-resource: the path (starting with `/`) a manual flow answers on, with `method`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The variables each flow instance binds (`${config.<key>}`).
    #[serde(default)]
    pub configuration: Vec<FlowVariableDef>,
    /// What starts the flow; at most one.
    #[serde(default)]
    pub triggers: Vec<TriggerDef>,
    #[serde(default)]
    pub steps: Vec<StepDef>,
}

fn default_true() -> bool {
    true
}

/// A variable of the flow, bound by each flow instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FlowVariableDef {
    /// Given by ferry when the flow is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Unique in the flow; steps read the value as `${config.<key>}`.
    pub key: String,
    #[serde(default)]
    pub name: String,
    /// `elementInstance` (a connector instance id) or `value`.
    #[serde(rename = "type", default = "default_variable_type")]
    #[schema(default = "value")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether every flow instance must give it a value.
    #[serde(default = "default_true")]
    #[schema(default = true)]
    pub required: bool,
}

fn default_variable_type() -> String {
    "value".into()
}

/// What starts a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TriggerDef {
    /// Given by ferry when the flow is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default = "default_trigger_name")]
    #[schema(default = "trigger")]
    pub name: String,
    /// `manual`, `scheduled`, `event`, `elementRequest` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Kept and shown, as Cloud Elements did.
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub asynchronous: Option<bool>,
    /// The trigger's settings: `cron` (scheduled), `elementInstanceId` (event, elementRequest),
    /// `method` and `api` (elementRequest), `synchronous` (webhook).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// The steps to run when the trigger fires.
    #[serde(default)]
    pub on_success: Vec<String>,
    #[serde(default)]
    pub on_failure: Vec<String>,
}

fn default_trigger_name() -> String {
    "trigger".into()
}

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepDef {
    /// Given by ferry when the flow is saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    /// Unique in the flow; later steps read its result as `${steps.<name>.…}`.
    pub name: String,
    /// `script`, `filter`, `elementRequest`, `request`, `httpRequest`, `loop`, `formula` or
    /// `retryFormulaExecution`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The step's settings, by type (`body` of a script, `api` and `method` of a request, …).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub properties: Map<String, Value>,
    /// The steps to run when this one succeeds (a filter: returns true).
    #[serde(default)]
    pub on_success: Vec<String>,
    /// The steps to run when this one fails (a filter: returns false).
    #[serde(default)]
    pub on_failure: Vec<String>,
}

impl FlowDef {
    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|step| step.name == name)
    }
}
