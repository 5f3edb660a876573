//! The step machine. An execution's progress is an [`ExecutionState`] (what runs next, loop
//! positions) that the caller commits together with each [`StepRecord`], so a process that dies
//! between two steps resumes at the first step whose record was not committed.

use crate::plan::{FlowPlan, MAX_RETRY_ATTEMPTS, StepKind};
use crate::request::{
    CallError, HttpCall, HttpExchange, RequestTarget, RetryPolicy, exchange_record,
    recorded_properties,
};
use crate::template::resolve;
use ferry_model::execution::{ExecutionStatus, StepStatus};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct EngineLimits {
    /// Steps one execution may run (loops included) before it is stopped as runaway.
    pub max_steps: u64,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits { max_steps: 10_000 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LoopState {
    /// The next entry to hand out.
    pub index: usize,
    /// The list as it was when the loop started.
    pub list: Vec<Value>,
}

/// What has to be remembered between two steps (JSON, committed with every step).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ExecutionState {
    /// Steps still to run; the last one runs next.
    pub stack: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub loops: BTreeMap<String, LoopState>,
    /// Sequence number of the last committed record (the trigger's is 0).
    pub seq: i64,
    #[serde(default)]
    pub steps_run: u64,
    /// A step failed: the execution ends `failed` even if an onFailure path ran.
    #[serde(default)]
    pub failed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A retryFormulaExecution step asked for another attempt.
    #[serde(default)]
    pub retry_requested: bool,
}

impl ExecutionState {
    pub fn start(plan: &FlowPlan) -> ExecutionState {
        let mut stack = plan.first_steps();
        stack.reverse();
        ExecutionState {
            stack,
            ..ExecutionState::default()
        }
    }

    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("state serializes")
    }

    pub fn from_json(value: &Value) -> Result<Self, crate::EngineError> {
        serde_json::from_value(value.clone())
            .map_err(|e| crate::EngineError::CorruptState(e.to_string()))
    }

    /// How the execution ends if nothing is left to run (`None` while steps remain): lets a
    /// caller commit the last step and the end together.
    pub fn finished(&self) -> Option<Finished> {
        if self.retry_requested {
            return Some(Finished {
                status: ExecutionStatus::Retry,
                error: self.error.clone(),
            });
        }
        self.stack.is_empty().then(|| Finished {
            status: if self.failed {
                ExecutionStatus::Failed
            } else {
                ExecutionStatus::Success
            },
            error: self.error.clone(),
        })
    }

    /// Whether the step that runs next (if any) may harmlessly run again after a crash; `true`
    /// when the execution is about to end.
    pub fn next_runs_again_harmlessly(&self, plan: &FlowPlan) -> bool {
        match self.stack.last() {
            None => true,
            Some(name) => plan
                .step(name)
                .is_none_or(|(_, kind)| kind.runs_again_harmlessly()),
        }
    }

    fn push_next(&mut self, next: &[String]) {
        self.stack.extend(next.iter().rev().cloned());
    }
}

/// What references and scripts see.
#[derive(Debug, Clone, Copy)]
pub struct StepContext<'a> {
    pub trigger: &'a Value,
    /// Step name → the step's latest output.
    pub steps: &'a Map<String, Value>,
    pub info: &'a Value,
    pub config: &'a Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptKind {
    Script,
    Filter,
}

#[derive(Debug, Clone)]
pub struct ScriptRunInput {
    pub kind: ScriptKind,
    pub source: String,
    pub trigger: Value,
    pub steps: Value,
    pub info: Value,
    pub config: Value,
}

/// A script's outcome: the `done(…)` value or why it failed, and its console, kept apart.
#[derive(Debug, Clone)]
pub struct ScriptRun {
    pub result: Result<Value, String>,
    pub console: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubFlowCall {
    pub formula_id: Value,
    pub args: Value,
    pub configs: Map<String, Value>,
    /// Names this call of this step of this execution: a resumed parent finds the child it had
    /// started instead of starting another.
    pub key: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubFlowResult {
    pub succeeded: bool,
    /// The sub-flow's last step output.
    pub output: Value,
    pub error: Option<String>,
}

pub type SubFlowFuture<'a> =
    Pin<Box<dyn Future<Output = Result<SubFlowResult, CallError>> + Send + 'a>>;

/// The side effects of steps, provided by the application.
pub trait Effects: Sync {
    fn run_script(&self, input: ScriptRunInput) -> impl Future<Output = ScriptRun> + Send;
    fn call(&self, call: HttpCall) -> impl Future<Output = Result<HttpExchange, CallError>> + Send;
    /// Boxed, because a sub-flow runs the engine again with the same effects: an opaque future
    /// here would contain itself.
    fn sub_flow(&self, call: SubFlowCall) -> SubFlowFuture<'_>;
    /// Schedules another attempt of the whole execution; `Ok(None)` when `attempts` are used up.
    fn schedule_retry(
        &self,
        attempts: u32,
    ) -> impl Future<Output = Result<Option<String>, CallError>> + Send;
}

/// One step run, to be committed before the next starts.
#[derive(Debug, Clone, PartialEq)]
pub struct StepRecord {
    pub seq: i64,
    pub name: String,
    pub kind: &'static str,
    /// See [`StepKind::runs_again_harmlessly`].
    pub runs_again_harmlessly: bool,
    pub status: StepStatus,
    pub input: Value,
    pub output: Value,
    pub console: Vec<String>,
    pub error: Option<String>,
    pub attempts: i64,
    pub duration: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub status: ExecutionStatus,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Ran(Box<StepRecord>),
    Finished(Finished),
}

struct Outcome {
    status: StepStatus,
    output: Value,
    console: Vec<String>,
    error: Option<String>,
    attempts: i64,
    next: Vec<String>,
}

impl Outcome {
    fn success(output: Value, next: &[String]) -> Self {
        Outcome {
            status: StepStatus::Success,
            output,
            console: Vec::new(),
            error: None,
            attempts: 1,
            next: next.to_vec(),
        }
    }

    fn failure(error: impl Into<String>, output: Value, next: &[String]) -> Self {
        Outcome {
            status: StepStatus::Failed,
            output,
            console: Vec::new(),
            error: Some(error.into()),
            attempts: 1,
            next: next.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Engine {
    limits: EngineLimits,
}

impl Engine {
    pub fn new(limits: EngineLimits) -> Self {
        Engine { limits }
    }

    /// Runs the next step of an execution, or says it is finished. `execution_key` identifies the
    /// execution for idempotency keys of side effects.
    pub async fn step(
        &self,
        plan: &FlowPlan,
        state: &mut ExecutionState,
        context: &StepContext<'_>,
        effects: &impl Effects,
        execution_key: &str,
    ) -> Step {
        if let Some(finished) = state.finished() {
            return Step::Finished(finished);
        }
        // `finished()` is `None` only while steps remain on the stack.
        let name = state.stack.pop().unwrap_or_default();
        if state.steps_run >= self.limits.max_steps {
            state.failed = true;
            state.stack.clear();
            let error = format!(
                "the execution ran {} steps, the most one execution may run; a loop may not end",
                self.limits.max_steps
            );
            state.error = Some(error.clone());
            return Step::Finished(Finished {
                status: ExecutionStatus::Failed,
                error: Some(error),
            });
        }
        let Some((def, kind)) = plan.step(&name) else {
            state.failed = true;
            state.stack.clear();
            let error = format!("the flow has no step {name:?} any more");
            state.error = Some(error.clone());
            return Step::Finished(Finished {
                status: ExecutionStatus::Failed,
                error: Some(error),
            });
        };
        let started = Instant::now();
        let seq = state.seq + 1;
        let idempotency_key = format!("{execution_key}:{seq}");
        let (input, outcome) = match kind {
            StepKind::Script { body } | StepKind::Filter { body } => {
                let filter = matches!(kind, StepKind::Filter { .. });
                (
                    Value::Object(def.properties.clone()),
                    run_script(filter, body, def, context, effects).await,
                )
            }
            StepKind::Loop { list } => {
                let list = resolve(list, context);
                (json!({ "list": list }), run_loop(&name, list, def, state))
            }
            StepKind::ElementRequest | StepKind::Request | StepKind::HttpRequest => {
                let properties = resolve(&Value::Object(def.properties.clone()), context);
                let outcome = run_request(kind, &properties, def, effects, idempotency_key).await;
                (recorded_properties(properties), outcome)
            }
            StepKind::Formula => {
                let properties = resolve(&Value::Object(def.properties.clone()), context);
                let outcome = run_sub_flow(&properties, def, effects, idempotency_key).await;
                (properties, outcome)
            }
            StepKind::RetryFormulaExecution { attempts } => {
                let outcome = match effects.schedule_retry(*attempts).await {
                    Ok(Some(message)) => {
                        state.retry_requested = true;
                        Outcome::success(json!({ "error": message }), &[])
                    }
                    Ok(None) => Outcome::failure(
                        format!("the execution was retried {attempts} times; no attempts are left"),
                        Value::Null,
                        &def.on_failure,
                    ),
                    Err(error) => Outcome::failure(error.0, Value::Null, &def.on_failure),
                };
                (Value::Object(def.properties.clone()), outcome)
            }
        };
        state.seq = seq;
        state.steps_run += 1;
        if outcome.status == StepStatus::Failed {
            state.failed = true;
            if state.error.is_none() {
                state.error = outcome
                    .error
                    .as_ref()
                    .map(|e| format!("step {name:?}: {e}"));
            }
        }
        state.push_next(&outcome.next);
        Step::Ran(Box::new(StepRecord {
            seq,
            name,
            kind: kind.wire_name(),
            runs_again_harmlessly: kind.runs_again_harmlessly(),
            status: outcome.status,
            input,
            output: outcome.output,
            console: outcome.console,
            error: outcome.error,
            attempts: outcome.attempts,
            duration: started.elapsed(),
        }))
    }
}

async fn run_script(
    filter: bool,
    body: &str,
    def: &ferry_model::flow::StepDef,
    context: &StepContext<'_>,
    effects: &impl Effects,
) -> Outcome {
    let run = effects
        .run_script(ScriptRunInput {
            kind: if filter {
                ScriptKind::Filter
            } else {
                ScriptKind::Script
            },
            source: body.to_owned(),
            trigger: context.trigger.clone(),
            steps: Value::Object(context.steps.clone()),
            info: context.info.clone(),
            config: Value::Object(context.config.clone()),
        })
        .await;
    let mut outcome = match (filter, run.result) {
        (true, Ok(Value::Bool(pass))) => Outcome::success(
            json!({ "continue": pass }),
            if pass {
                &def.on_success
            } else {
                &def.on_failure
            },
        ),
        (true, Ok(other)) => Outcome::failure(
            format!("a filter must call done(true) or done(false); it gave {other}"),
            Value::Null,
            &def.on_failure,
        ),
        (false, Ok(value)) => Outcome::success(value, &def.on_success),
        (_, Err(message)) => Outcome::failure(message, Value::Null, &def.on_failure),
    };
    outcome.console = run.console;
    outcome
}

fn run_loop(
    name: &str,
    list: Value,
    def: &ferry_model::flow::StepDef,
    state: &mut ExecutionState,
) -> Outcome {
    if !state.loops.contains_key(name) {
        let Value::Array(items) = list else {
            return Outcome::failure(
                format!("loop.list must be a list; it is {}", type_name(&list)),
                json!({ "error": "the loop list is not a list" }),
                &def.on_failure,
            );
        };
        state.loops.insert(
            name.to_owned(),
            LoopState {
                index: 0,
                list: items,
            },
        );
    }
    let loop_state = state.loops.get_mut(name).expect("inserted above");
    if loop_state.index < loop_state.list.len() {
        let index = loop_state.index;
        let entry = loop_state.list[index].clone();
        loop_state.index += 1;
        Outcome::success(json!({ "index": index, "entry": entry }), &def.on_success)
    } else {
        let count = loop_state.list.len();
        state.loops.remove(name);
        Outcome::success(
            json!({ "index": count, "entry": null, "done": true }),
            &def.on_failure,
        )
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "missing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Objects may arrive as JSON text (from a reference into a flattened value).
fn object_of(value: Option<&Value>) -> Map<String, Value> {
    match value {
        Some(Value::Object(map)) => map.clone(),
        Some(Value::String(text)) => {
            serde_json::from_str::<Map<String, Value>>(text).unwrap_or_default()
        }
        _ => Map::new(),
    }
}

async fn run_request(
    kind: &StepKind,
    properties: &Value,
    def: &ferry_model::flow::StepDef,
    effects: &impl Effects,
    idempotency_key: String,
) -> Outcome {
    let empty = Map::new();
    let props = properties.as_object().unwrap_or(&empty);
    let policy = match RetryPolicy::from_properties(props, MAX_RETRY_ATTEMPTS) {
        Ok(policy) => policy,
        Err(message) => return Outcome::failure(message, Value::Null, &def.on_failure),
    };
    let target = match kind {
        StepKind::ElementRequest => RequestTarget::Connector {
            instance_id: props
                .get("elementInstanceId")
                .cloned()
                .unwrap_or(Value::Null),
        },
        StepKind::Request => RequestTarget::Platform,
        _ => RequestTarget::Http,
    };
    let path_key = if target == RequestTarget::Http {
        "url"
    } else {
        "api"
    };
    let call = HttpCall {
        target,
        method: props
            .get("method")
            .and_then(Value::as_str)
            .unwrap_or("GET")
            .to_ascii_uppercase(),
        path: props
            .get(path_key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        query: object_of(props.get("query")),
        headers: object_of(props.get("headers")),
        body: props.get("body").filter(|b| !b.is_null()).cloned(),
        form: match props.get("form") {
            None | Some(Value::Null) => None,
            other => Some(object_of(other)),
        },
        idempotency_key,
    };
    if call.path.is_empty() {
        return Outcome::failure(
            format!("{path_key} is empty after resolving references"),
            Value::Null,
            &def.on_failure,
        );
    }
    let mut retries = 0;
    loop {
        let result = effects.call(call.clone()).await;
        let (status, exchange, error) = match result {
            Ok(exchange) => (exchange.status, Some(exchange), None),
            Err(error) => (0, None, Some(error.0)),
        };
        if error.is_none() && policy.accepts(status) {
            let mut outcome = Outcome::success(
                exchange_record(&call, exchange.as_ref(), retries),
                &def.on_success,
            );
            outcome.attempts = i64::from(retries) + 1;
            return outcome;
        }
        if retries < policy.attempts && policy.retries(status) {
            retries += 1;
            tokio::time::sleep(policy.delay).await;
            continue;
        }
        let message = match (error, &exchange) {
            (Some(error), _) => error,
            (None, Some(exchange)) => {
                // The answer's own words, when it has them (ferry's error body, Google's), so
                // the reason is on the step, not only inside its output.
                let said = exchange
                    .body
                    .get("message")
                    .or_else(|| exchange.body.pointer("/error/message"))
                    .and_then(Value::as_str)
                    .map(|text| format!(": {text}"))
                    .unwrap_or_default();
                format!(
                    "the call answered {}, which is not an acceptable status code{said}",
                    exchange.status
                )
            }
            (None, None) => "the call failed".to_owned(),
        };
        let mut outcome = Outcome::failure(
            message,
            exchange_record(&call, exchange.as_ref(), retries),
            &def.on_failure,
        );
        outcome.attempts = i64::from(retries) + 1;
        return outcome;
    }
}

async fn run_sub_flow(
    properties: &Value,
    def: &ferry_model::flow::StepDef,
    effects: &impl Effects,
    key: String,
) -> Outcome {
    let empty = Map::new();
    let props = properties.as_object().unwrap_or(&empty);
    let call = SubFlowCall {
        formula_id: props.get("formulaId").cloned().unwrap_or(Value::Null),
        args: props.get("args").cloned().unwrap_or_else(|| json!({})),
        configs: object_of(props.get("subFormulaConfigs")),
        key,
    };
    match effects.sub_flow(call).await {
        Ok(result) if result.succeeded => Outcome::success(result.output, &def.on_success),
        Ok(result) => Outcome::failure(
            result.error.unwrap_or_else(|| "the sub-flow failed".into()),
            result.output,
            &def.on_failure,
        ),
        Err(error) => Outcome::failure(error.0, Value::Null, &def.on_failure),
    }
}
