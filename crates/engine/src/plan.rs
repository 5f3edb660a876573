//! Save-time validation: a formula JSON becomes a [`FlowPlan`] or a list of problems, each naming
//! the step (or trigger, or variable) and the property.

use crate::error::FlowProblem;
use crate::request::{parse_attempts, parse_delay_ms, parse_status_codes};
use crate::schedule::Schedule;
use ferry_model::flow::{FlowDef, StepDef, TriggerDef};
use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};

pub const MAX_RETRY_ATTEMPTS: u32 = 5;

/// What a step does, checked.
#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    Script {
        body: String,
    },
    Filter {
        body: String,
    },
    /// A call to an instance's normalized API ("Connector API Request").
    ElementRequest,
    /// A call to ferry's own platform API.
    Request,
    HttpRequest,
    Loop {
        list: Value,
    },
    /// A sub-flow.
    Formula,
    RetryFormulaExecution {
        attempts: u32,
    },
}

impl StepKind {
    /// Whether running the step again changes nothing outside ferry: scripts and filters (which
    /// only compute; their email notifications are recorded, not sent) and loop bookkeeping.
    /// After a crash such a step may simply run again, so its record need not be durable before
    /// the next step starts — as long as that next step runs again harmlessly too: a step with
    /// an effect must never start on inputs that a crash could change.
    pub fn runs_again_harmlessly(&self) -> bool {
        matches!(
            self,
            StepKind::Script { .. } | StepKind::Filter { .. } | StepKind::Loop { .. }
        )
    }

    pub fn wire_name(&self) -> &'static str {
        match self {
            StepKind::Script { .. } => "script",
            StepKind::Filter { .. } => "filter",
            StepKind::ElementRequest => "elementRequest",
            StepKind::Request => "request",
            StepKind::HttpRequest => "httpRequest",
            StepKind::Loop { .. } => "loop",
            StepKind::Formula => "formula",
            StepKind::RetryFormulaExecution { .. } => "retryFormulaExecution",
        }
    }
}

#[derive(Debug, Clone)]
pub enum TriggerKind {
    Manual,
    /// `cron` may be a reference to a variable, resolved per flow instance.
    Scheduled {
        cron: String,
    },
    Event {
        element_instance_id: Value,
    },
    ElementRequest {
        element_instance_id: Value,
        method: String,
        api: String,
    },
    Webhook {
        synchronous: bool,
    },
}

impl TriggerKind {
    pub fn wire_name(&self) -> &'static str {
        match self {
            TriggerKind::Manual => "manual",
            TriggerKind::Scheduled { .. } => "scheduled",
            TriggerKind::Event { .. } => "event",
            TriggerKind::ElementRequest { .. } => "elementRequest",
            TriggerKind::Webhook { .. } => "webhook",
        }
    }
}

/// A validated flow: its definition plus typed steps and trigger.
#[derive(Debug, Clone)]
pub struct FlowPlan {
    pub def: FlowDef,
    steps: HashMap<String, (StepDef, StepKind)>,
    pub trigger: Option<(TriggerDef, TriggerKind)>,
}

impl FlowPlan {
    pub fn step(&self, name: &str) -> Option<&(StepDef, StepKind)> {
        self.steps.get(name)
    }

    /// The steps a fresh execution starts with.
    pub fn first_steps(&self) -> Vec<String> {
        match &self.trigger {
            Some((trigger, _)) => trigger.on_success.clone(),
            None => Vec::new(),
        }
    }
}

/// Checks a script or filter body; `Err((message, line, column))`.
pub type ScriptChecker<'a> =
    &'a dyn Fn(bool, &str) -> Result<(), (String, Option<u32>, Option<u32>)>;

fn text<'a>(properties: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    properties
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
}

fn is_reference(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.contains("${"))
}

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fn check_request(step: &StepDef, problems: &mut Vec<FlowProblem>, kind: &str) {
    let name = Some(step.name.as_str());
    let properties = &step.properties;
    let method = properties.get("method");
    match method {
        None => problems.push(FlowProblem::new(
            name,
            Some("method"),
            "method is required (GET, POST, PUT, PATCH or DELETE)",
        )),
        Some(value) if is_reference(value) => {}
        Some(Value::String(method)) if METHODS.contains(&method.to_ascii_uppercase().as_str()) => {}
        Some(other) => problems.push(FlowProblem::new(
            name,
            Some("method"),
            format!("{other} is not an HTTP method"),
        )),
    }
    let target = if kind == "httpRequest" { "url" } else { "api" };
    match properties.get(target) {
        None | Some(Value::Null) => problems.push(FlowProblem::new(
            name,
            Some(target),
            format!("{target} is required"),
        )),
        Some(value) if is_reference(value) => {}
        Some(Value::String(path)) if target == "api" && !path.starts_with('/') => {
            problems.push(FlowProblem::new(
                name,
                Some(target),
                format!("{path:?} must start with '/'"),
            ));
        }
        Some(Value::String(path))
            if target == "api" && is_bulk_download(path) && method_is_get(method) =>
        {
            problems.push(FlowProblem::new(
                name,
                Some(target),
                "an elementRequest step cannot download bulk results; stream them instead",
            ));
        }
        Some(Value::String(_)) => {}
        Some(other) => problems.push(FlowProblem::new(
            name,
            Some(target),
            format!("{target} must be text, not {other}"),
        )),
    }
    if kind == "elementRequest"
        && properties
            .get("elementInstanceId")
            .is_none_or(Value::is_null)
    {
        problems.push(FlowProblem::new(
            name,
            Some("elementInstanceId"),
            "elementInstanceId is required, usually \"${config.<variable>}\"",
        ));
    }
    if let Some(value) = properties.get("retryAttempts").filter(|v| !is_reference(v))
        && let Err(message) = parse_attempts(value, MAX_RETRY_ATTEMPTS)
    {
        problems.push(FlowProblem::new(name, Some("retryAttempts"), message));
    }
    if let Some(value) = properties.get("retryDelay").filter(|v| !is_reference(v))
        && let Err(message) = parse_delay_ms(value)
    {
        problems.push(FlowProblem::new(name, Some("retryDelay"), message));
    }
    for codes in ["retryStatusCodes", "acceptableStatusCodes"] {
        if let Some(value) = properties.get(codes).filter(|v| !is_reference(v))
            && let Err(message) = parse_status_codes(value)
        {
            problems.push(FlowProblem::new(name, Some(codes), message));
        }
    }
}

fn method_is_get(method: Option<&Value>) -> bool {
    method
        .and_then(Value::as_str)
        .is_some_and(|m| m.eq_ignore_ascii_case("GET"))
}

/// `/hubs/crm/bulk/123/contacts`: the download of a bulk job's results.
fn is_bulk_download(path: &str) -> bool {
    let segments: Vec<&str> = path
        .split('?')
        .next()
        .unwrap_or(path)
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    segments
        .iter()
        .position(|s| *s == "bulk")
        .is_some_and(|i| segments.len() >= i + 3 && segments[i + 1] != "query")
}

fn check_step(
    step: &StepDef,
    check_script: ScriptChecker<'_>,
    problems: &mut Vec<FlowProblem>,
) -> Option<StepKind> {
    let name = Some(step.name.as_str());
    let properties = &step.properties;
    match step.kind.as_str() {
        "script" | "filter" => {
            let filter = step.kind == "filter";
            let Some(body) = text(properties, "body") else {
                problems.push(FlowProblem::new(
                    name,
                    Some("body"),
                    "body is required: the JavaScript of the step",
                ));
                return None;
            };
            if let Err((message, line, column)) = check_script(filter, body) {
                problems.push(FlowProblem {
                    line,
                    column,
                    ..FlowProblem::new(name, Some("body"), message)
                });
                return None;
            }
            Some(if filter {
                StepKind::Filter {
                    body: body.to_owned(),
                }
            } else {
                StepKind::Script {
                    body: body.to_owned(),
                }
            })
        }
        kind @ ("elementRequest" | "request" | "httpRequest") => {
            let before = problems.len();
            check_request(step, problems, kind);
            (problems.len() == before).then(|| match kind {
                "elementRequest" => StepKind::ElementRequest,
                "request" => StepKind::Request,
                _ => StepKind::HttpRequest,
            })
        }
        "loop" => match properties.get("list") {
            None | Some(Value::Null) => {
                problems.push(FlowProblem::new(
                    name,
                    Some("list"),
                    "list is required, e.g. \"${steps.fetch.items}\"",
                ));
                None
            }
            Some(list) => Some(StepKind::Loop { list: list.clone() }),
        },
        "formula" => {
            if properties.get("formulaId").is_none_or(Value::is_null) {
                problems.push(FlowProblem::new(
                    name,
                    Some("formulaId"),
                    "formulaId is required: the flow to run",
                ));
                return None;
            }
            Some(StepKind::Formula)
        }
        "retryFormulaExecution" => {
            let value = properties
                .get("retryAttempts")
                .cloned()
                .unwrap_or(Value::from(3));
            match parse_attempts(&value, MAX_RETRY_ATTEMPTS) {
                Ok(attempts) => Some(StepKind::RetryFormulaExecution { attempts }),
                Err(message) => {
                    problems.push(FlowProblem::new(name, Some("retryAttempts"), message));
                    None
                }
            }
        }
        "" => {
            problems.push(FlowProblem::new(name, Some("type"), "type is required"));
            None
        }
        other => {
            problems.push(FlowProblem::new(
                name,
                Some("type"),
                format!(
                    "{other:?} is not a step type ferry runs; use script, filter, elementRequest, request, httpRequest, loop, formula or retryFormulaExecution"
                ),
            ));
            None
        }
    }
}

fn check_trigger(trigger: &TriggerDef, problems: &mut Vec<FlowProblem>) -> Option<TriggerKind> {
    let name = Some(trigger.name.as_str());
    let properties = &trigger.properties;
    match trigger.kind.as_str() {
        "manual" => Some(TriggerKind::Manual),
        "scheduled" => {
            let Some(cron) = text(properties, "cron") else {
                problems.push(FlowProblem::new(
                    name,
                    Some("cron"),
                    "cron is required, e.g. \"0 0/15 * 1/1 * ? *\" or \"*/15 * * * *\"",
                ));
                return None;
            };
            if !cron.contains("${")
                && let Err(message) = Schedule::parse(cron)
            {
                problems.push(FlowProblem::new(name, Some("cron"), message));
                return None;
            }
            Some(TriggerKind::Scheduled {
                cron: cron.to_owned(),
            })
        }
        "event" => match properties.get("elementInstanceId") {
            None | Some(Value::Null) => {
                problems.push(FlowProblem::new(
                    name,
                    Some("elementInstanceId"),
                    "elementInstanceId is required: the instance whose events start the flow",
                ));
                None
            }
            Some(id) => Some(TriggerKind::Event {
                element_instance_id: id.clone(),
            }),
        },
        "elementRequest" => {
            let id = properties.get("elementInstanceId").filter(|v| !v.is_null());
            let method = text(properties, "method");
            let api = text(properties, "api");
            if id.is_none() {
                problems.push(FlowProblem::new(
                    name,
                    Some("elementInstanceId"),
                    "elementInstanceId is required",
                ));
            }
            if method.is_none_or(|m| !METHODS.contains(&m.to_ascii_uppercase().as_str())) {
                problems.push(FlowProblem::new(
                    name,
                    Some("method"),
                    "method is required: the method of the API call that starts the flow",
                ));
            } else if method.is_some_and(|m| m.eq_ignore_ascii_case("HEAD")) {
                // A HEAD reads no more than headers, so ferry starts no flow for one: a trigger
                // waiting for it would be saved and never fire.
                problems.push(FlowProblem::new(
                    name,
                    Some("method"),
                    "an elementRequest trigger on HEAD would never fire, as HEAD calls start no flow; use GET (a HEAD runs the same operation as a GET)",
                ));
                return None;
            }
            if api.is_none_or(|a| !a.starts_with('/')) {
                problems.push(FlowProblem::new(name, Some("api"), "api is required: the path of the API call that starts the flow, e.g. /messages"));
            }
            Some(TriggerKind::ElementRequest {
                element_instance_id: id?.clone(),
                method: method?.to_ascii_uppercase(),
                api: api?.to_owned(),
            })
        }
        "webhook" => Some(TriggerKind::Webhook {
            synchronous: properties
                .get("synchronous")
                .and_then(Value::as_bool)
                .unwrap_or(trigger.asynchronous == Some(false)),
        }),
        other => {
            problems.push(FlowProblem::new(
                name,
                Some("type"),
                format!("{other:?} is not a trigger type; use manual, scheduled, event, elementRequest or webhook"),
            ));
            None
        }
    }
}

const RESERVED_URIS: [&str; 5] = [
    "/formulas",
    "/instances",
    "/elements",
    "/hubs",
    "/authentication",
];

/// Checks a flow and compiles it. Every problem is reported, not just the first.
pub fn validate(
    def: &FlowDef,
    check_script: ScriptChecker<'_>,
) -> Result<FlowPlan, Vec<FlowProblem>> {
    let mut problems = Vec::new();
    if def.name.trim().is_empty() {
        problems.push(FlowProblem::new(None, Some("name"), "name is required"));
    }
    let v3 = def.engine.as_deref() == Some("v3");
    if let Some(engine) = def.engine.as_deref()
        && !matches!(engine, "v1" | "v2" | "v3")
    {
        problems.push(FlowProblem::new(
            None,
            Some("engine"),
            format!("{engine:?} is not an engine; use v1 or v3"),
        ));
    }
    if def.debug_logging_enabled == Some(false) && !v3 {
        problems.push(FlowProblem::new(
            None,
            Some("debugLoggingEnabled"),
            "Execution debug logging can be disabled only for formula engine v3",
        ));
    }
    let mut keys = BTreeSet::new();
    for variable in &def.configuration {
        if variable.key.trim().is_empty() {
            problems.push(FlowProblem::new(
                None,
                Some("configuration.key"),
                "every variable needs a key",
            ));
        } else if !keys.insert(variable.key.as_str()) {
            problems.push(FlowProblem {
                conflict: true,
                ..FlowProblem::new(
                    None,
                    Some("configuration"),
                    format!("the variable key {:?} is used twice", variable.key),
                )
            });
        }
        if !matches!(variable.kind.as_str(), "elementInstance" | "value") {
            problems.push(FlowProblem::new(
                None,
                Some("configuration.type"),
                format!(
                    "variable {:?} has type {:?}; use elementInstance or value",
                    variable.key, variable.kind
                ),
            ));
        }
    }
    let mut steps = HashMap::new();
    for step in &def.steps {
        if step.name.trim().is_empty() {
            problems.push(FlowProblem::new(
                None,
                Some("steps.name"),
                "every step needs a name",
            ));
            continue;
        }
        if step.name == "trigger" {
            problems.push(FlowProblem::new(
                Some(&step.name),
                Some("name"),
                "\"trigger\" is the name of the trigger's record; choose another",
            ));
        }
        if steps.contains_key(&step.name) {
            problems.push(FlowProblem::new(
                Some(&step.name),
                Some("name"),
                "two steps have this name",
            ));
            continue;
        }
        let before = problems.len();
        let kind = check_step(step, check_script, &mut problems);
        if v3
            && problems.len() > before
            && step.kind != "script"
            && step.kind != "filter"
            && !is_known(&step.kind)
        {
            problems.push(FlowProblem::new(
                Some(&step.name),
                Some("type"),
                "Invalid formula for the v3 engine",
            ));
        }
        if let Some(kind) = kind {
            steps.insert(step.name.clone(), (step.clone(), kind));
        }
    }
    let names: BTreeSet<&str> = def.steps.iter().map(|s| s.name.as_str()).collect();
    for step in &def.steps {
        for (property, targets) in [
            ("onSuccess", &step.on_success),
            ("onFailure", &step.on_failure),
        ] {
            for target in targets.iter().filter(|t| !names.contains(t.as_str())) {
                problems.push(FlowProblem::new(
                    Some(&step.name),
                    Some(property),
                    format!("there is no step {target:?}"),
                ));
            }
        }
    }
    if def.triggers.len() > 1 {
        problems.push(FlowProblem::new(
            None,
            Some("triggers"),
            "a flow has one trigger",
        ));
    }
    let mut trigger = None;
    if let Some(first) = def.triggers.first() {
        for (property, targets) in [
            ("onSuccess", &first.on_success),
            ("onFailure", &first.on_failure),
        ] {
            for target in targets.iter().filter(|t| !names.contains(t.as_str())) {
                problems.push(FlowProblem::new(
                    Some(&first.name),
                    Some(property),
                    format!("there is no step {target:?}"),
                ));
            }
        }
        if let Some(kind) = check_trigger(first, &mut problems) {
            trigger = Some((first.clone(), kind));
        }
    }
    match (&def.method, &def.uri) {
        (None, None) => {}
        (Some(method), Some(uri)) => {
            if !matches!(trigger, Some((_, TriggerKind::Manual))) {
                problems.push(FlowProblem::new(
                    None,
                    Some("method"),
                    "a flow answering an API call needs a manual trigger",
                ));
            }
            if !METHODS.contains(&method.to_ascii_uppercase().as_str()) {
                problems.push(FlowProblem::new(
                    None,
                    Some("method"),
                    format!("{method:?} is not an HTTP method"),
                ));
            }
            if !uri.starts_with('/') || uri.contains(' ') {
                problems.push(FlowProblem::new(
                    None,
                    Some("uri"),
                    format!("{uri:?} must be a path starting with '/'"),
                ));
            } else if RESERVED_URIS
                .iter()
                .any(|r| uri == r || uri.starts_with(&format!("{r}/")))
            {
                problems.push(FlowProblem::new(
                    None,
                    Some("uri"),
                    format!("{uri:?} is one of ferry's own APIs"),
                ));
            }
        }
        _ => problems.push(FlowProblem::new(
            None,
            Some("uri"),
            "method and uri go together",
        )),
    }
    if problems.is_empty() {
        Ok(FlowPlan {
            def: def.clone(),
            steps,
            trigger,
        })
    } else {
        Err(problems)
    }
}

fn is_known(kind: &str) -> bool {
    matches!(
        kind,
        "script"
            | "filter"
            | "elementRequest"
            | "request"
            | "httpRequest"
            | "loop"
            | "formula"
            | "retryFormulaExecution"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn no_script_problems(_: bool, body: &str) -> Result<(), (String, Option<u32>, Option<u32>)> {
        if body.contains("done(") {
            Ok(())
        } else {
            Err(("the script never calls done()".into(), None, None))
        }
    }

    fn flow(value: Value) -> FlowDef {
        serde_json::from_value(value).unwrap()
    }

    fn problems(value: Value) -> Vec<FlowProblem> {
        validate(&flow(value), &no_script_problems).unwrap_err()
    }

    fn seed() -> Value {
        json!({
            "name": "Send an email",
            "configuration": [{"key": "gmail", "name": "Gmail", "type": "elementInstance"}],
            "triggers": [{"type": "manual", "name": "trigger", "onSuccess": ["prepareSendEmailToCustomer"]}],
            "steps": [
                {"name": "prepareSendEmailToCustomer", "type": "script", "properties": {"body": "done({url:'/messages'})"}, "onSuccess": ["send"]},
                {"name": "send", "type": "elementRequest", "properties": {"elementInstanceId": "${config.gmail}", "method": "POST", "api": "${steps.prepareSendEmailToCustomer.url}", "form": "${steps.prepareSendEmailToCustomer.form}"}}
            ]
        })
    }

    #[test]
    fn the_seed_flow_is_valid() {
        let plan = validate(&flow(seed()), &no_script_problems).unwrap();
        assert_eq!(plan.first_steps(), ["prepareSendEmailToCustomer"]);
        assert_eq!(plan.step("send").unwrap().1, StepKind::ElementRequest);
    }

    #[test]
    fn problems_name_the_step_and_property() {
        let mut value = seed();
        value["steps"][0]["properties"]["body"] = json!("let x = 1;");
        value["steps"][1]["properties"]["retryAttempts"] = json!(6);
        value["steps"][1]["onSuccess"] = json!(["missing"]);
        value["triggers"][0]["type"] = json!("scheduled");
        value["triggers"][0]["properties"] = json!({"cron": "0/30 * * 1/1 * ? *"});
        let found = problems(value);
        let has = |step: &str, property: &str, text: &str| {
            found.iter().any(|p| {
                p.step.as_deref() == Some(step)
                    && p.property.as_deref() == Some(property)
                    && p.message.contains(text)
            })
        };
        assert!(
            has("prepareSendEmailToCustomer", "body", "done()"),
            "{found:?}"
        );
        assert!(has("send", "retryAttempts", "at most 5"), "{found:?}");
        assert!(has("send", "onSuccess", "missing"), "{found:?}");
        assert!(has("trigger", "cron", "once a minute"), "{found:?}");
    }

    #[test]
    fn duplicate_variables_are_conflicts() {
        let mut value = seed();
        value["configuration"] = json!([{"key": "a"}, {"key": "a"}]);
        let found = problems(value);
        assert!(found.iter().any(|p| p.conflict), "{found:?}");
    }

    #[test]
    fn status_code_lists_are_checked() {
        let mut value = seed();
        value["steps"][1]["properties"]["retryStatusCodes"] = json!("401-,400");
        assert!(
            problems(value.clone())
                .iter()
                .any(|p| p.property.as_deref() == Some("retryStatusCodes"))
        );
        value["steps"][1]["properties"]["retryStatusCodes"] = json!("401-405,500");
        value["steps"][1]["properties"]["retryAttempts"] = json!(2);
        assert!(validate(&flow(value), &no_script_problems).is_ok());
    }

    #[test]
    fn engine_rules_of_cloud_elements_hold() {
        let mut value = seed();
        value["steps"][0]["type"] = json!("java");
        value["engine"] = json!("v3");
        assert!(
            problems(value)
                .iter()
                .any(|p| p.message == "Invalid formula for the v3 engine")
        );
        let mut value = seed();
        value["debugLoggingEnabled"] = json!(false);
        assert!(
            problems(value)
                .iter()
                .any(|p| p.message.contains("only for formula engine v3"))
        );
        let mut value = seed();
        value["steps"][1]["properties"]["api"] = json!("/hubs/crm/bulk/123/contacts");
        value["steps"][1]["properties"]["method"] = json!("GET");
        assert!(problems(value).iter().any(|p| p.message.contains("bulk")));
    }

    // The hub API starts no flow for a HEAD, yet an elementRequest trigger on HEAD was saved
    // and then silently never fired.
    #[test]
    fn an_element_request_trigger_on_head_is_refused_naming_its_method() {
        let mut value = seed();
        value["triggers"][0] = json!({
            "type": "elementRequest",
            "name": "onRead",
            "properties": {"elementInstanceId": "${config.gmail}", "method": "head", "api": "/messages"},
            "onSuccess": ["prepareSendEmailToCustomer"]
        });
        let found = problems(value.clone());
        assert!(
            found.iter().any(|p| p.step.as_deref() == Some("onRead")
                && p.property.as_deref() == Some("method")
                && p.message.contains("trigger on HEAD would never fire")
                && p.message.contains("use GET")),
            "{found:?}"
        );
        value["triggers"][0]["properties"]["method"] = json!("GET");
        assert!(validate(&flow(value), &no_script_problems).is_ok());
    }

    #[test]
    fn a_flow_answering_an_api_call_needs_a_manual_trigger_and_a_free_path() {
        let mut value = seed();
        value["method"] = json!("GET");
        value["uri"] = json!("/formulas/instances");
        assert!(
            problems(value.clone())
                .iter()
                .any(|p| p.property.as_deref() == Some("uri"))
        );
        value["uri"] = json!("/bingo");
        assert!(validate(&flow(value.clone()), &no_script_problems).is_ok());
        value["triggers"][0]["type"] = json!("webhook");
        assert!(
            problems(value)
                .iter()
                .any(|p| p.message.contains("manual trigger"))
        );
    }
}
