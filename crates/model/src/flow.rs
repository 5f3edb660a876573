//! Flows (Cloud Elements "formulas") as users write them: the formula JSON. Fields Cloud Elements
//! clients send back from a GET (ids, dates, user ids) are accepted and ignored, so an exported flow
//! imports unchanged; what ferry acts on is checked by the engine at save time.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A flow template.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowDef {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "default_true")]
    pub active: bool,
    #[serde(default)]
    pub single_threaded: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug_logging_enabled: Option<bool>,
    /// Formula-as-a-resource: the method and path a manual flow answers on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(default)]
    pub configuration: Vec<FlowVariableDef>,
    #[serde(default)]
    pub triggers: Vec<TriggerDef>,
    #[serde(default)]
    pub steps: Vec<StepDef>,
}

fn default_true() -> bool {
    true
}

/// A variable of the flow, bound by each flow instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowVariableDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub key: String,
    #[serde(default)]
    pub name: String,
    /// `elementInstance` or `value`.
    #[serde(rename = "type", default = "default_variable_type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default = "default_true")]
    pub required: bool,
}

fn default_variable_type() -> String {
    "value".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TriggerDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default = "default_trigger_name")]
    pub name: String,
    /// `manual`, `scheduled`, `event`, `elementRequest` or `webhook`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, rename = "async", skip_serializing_if = "Option::is_none")]
    pub asynchronous: Option<bool>,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub on_success: Vec<String>,
    #[serde(default)]
    pub on_failure: Vec<String>,
}

fn default_trigger_name() -> String {
    "trigger".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepDef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub properties: Map<String, Value>,
    #[serde(default)]
    pub on_success: Vec<String>,
    #[serde(default)]
    pub on_failure: Vec<String>,
}

impl FlowDef {
    pub fn step(&self, name: &str) -> Option<&StepDef> {
        self.steps.iter().find(|step| step.name == name)
    }
}
