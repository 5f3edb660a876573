//! Cloud Elements' formula semantics (reference §4.3), run by the engine with the real JavaScript
//! sandbox and fake connector calls.

use ferry_engine::{
    CallError, Effects, Engine, EngineLimits, ExecutionState, FlowPlan, HttpCall, HttpExchange,
    ScriptKind, ScriptRun, ScriptRunInput, Step, StepContext, StepRecord, SubFlowCall,
    SubFlowFuture, SubFlowResult, validate,
};
use ferry_model::execution::{ExecutionStatus, StepStatus};
use ferry_model::flow::FlowDef;
use ferry_sandbox::{Sandbox, ScriptInput};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

fn check(filter: bool, body: &str) -> Result<(), (String, Option<u32>, Option<u32>)> {
    let kind = if filter {
        ferry_sandbox::ScriptKind::Filter
    } else {
        ferry_sandbox::ScriptKind::Script
    };
    Sandbox::default()
        .check(kind, body)
        .map_err(|p| (p.message, p.line, p.column))
}

fn plan(value: Value) -> FlowPlan {
    let def: FlowDef = serde_json::from_value(value).unwrap();
    validate(&def, &check).unwrap_or_else(|problems| panic!("{problems:?}"))
}

/// Fake side effects: HTTP answers by path, sub-flows from a table of plans.
#[derive(Default)]
struct Fakes {
    answers: HashMap<String, Vec<u16>>,
    calls: Mutex<Vec<HttpCall>>,
    sub_flows: HashMap<String, FlowPlan>,
}

impl Effects for Fakes {
    async fn run_script(&self, input: ScriptRunInput) -> ScriptRun {
        let kind = match input.kind {
            ScriptKind::Script => ferry_sandbox::ScriptKind::Script,
            ScriptKind::Filter => ferry_sandbox::ScriptKind::Filter,
        };
        let outcome = Sandbox::default().run(
            kind,
            &input.source,
            &ScriptInput {
                trigger: input.trigger,
                steps: input.steps,
                info: input.info,
                config: input.config,
            },
        );
        ScriptRun {
            result: outcome.result.map_err(|failure| failure.to_string()),
            console: outcome.console,
        }
    }

    async fn call(&self, call: HttpCall) -> Result<HttpExchange, CallError> {
        let seen = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(call.clone());
            calls.iter().filter(|c| c.path == call.path).count()
        };
        let statuses = self
            .answers
            .get(&call.path)
            .cloned()
            .unwrap_or_else(|| vec![200]);
        let status = statuses[(seen - 1).min(statuses.len() - 1)];
        Ok(HttpExchange {
            status,
            headers: Map::new(),
            body: json!({"path": call.path, "status": status}),
        })
    }

    fn sub_flow(&self, call: SubFlowCall) -> SubFlowFuture<'_> {
        Box::pin(async move {
            let key = call
                .formula_id
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| call.formula_id.to_string());
            let plan = self
                .sub_flows
                .get(&key)
                .ok_or_else(|| CallError(format!("no flow {key}")))?;
            let run = run(plan, json!({"args": call.args}), self).await;
            let last = run
                .records
                .last()
                .map(|r| r.output.clone())
                .unwrap_or(Value::Null);
            Ok(SubFlowResult {
                succeeded: run.status == ExecutionStatus::Success,
                output: last,
                error: run.error,
            })
        })
    }

    async fn schedule_retry(&self, _attempts: u32) -> Result<Option<String>, CallError> {
        Ok(Some(
            "Formula instance execution scheduled for retry".into(),
        ))
    }
}

struct Run {
    status: ExecutionStatus,
    error: Option<String>,
    records: Vec<StepRecord>,
}

impl Run {
    /// Step executions as Cloud Elements counts them: the trigger's record plus one per step run.
    fn step_executions(&self) -> usize {
        self.records.len() + 1
    }

    fn named(&self, name: &str) -> Vec<&StepRecord> {
        self.records.iter().filter(|r| r.name == name).collect()
    }
}

async fn run(plan: &FlowPlan, trigger: Value, effects: &Fakes) -> Run {
    let engine = Engine::new(EngineLimits::default());
    let mut state = ExecutionState::start(plan);
    let mut steps = Map::new();
    let config = Map::new();
    let info = json!({"formulaExecutionId": 1});
    let mut records = Vec::new();
    loop {
        // Every step's state goes through JSON, as it does through the database.
        state = ExecutionState::from_json(&state.to_json()).unwrap();
        let context = StepContext {
            trigger: &trigger,
            steps: &steps,
            info: &info,
            config: &config,
        };
        match engine
            .step(plan, &mut state, &context, effects, "exec-1")
            .await
        {
            Step::Ran(record) => {
                steps.insert(record.name.clone(), record.output.clone());
                records.push(*record);
            }
            Step::Finished(finished) => {
                return Run {
                    status: finished.status,
                    error: finished.error,
                    records,
                };
            }
        }
    }
}

fn manual(steps: Value, first: &str) -> Value {
    json!({"name": "t", "triggers": [{"type": "manual", "onSuccess": [first]}], "steps": steps})
}

#[tokio::test]
async fn a_filter_returning_false_as_last_step_is_a_success() {
    let plan = plan(manual(
        json!([{"name": "only", "type": "filter", "properties": {"body": "done(false);"}}]),
        "only",
    ));
    let run = run(&plan, json!({}), &Fakes::default()).await;
    assert_eq!(run.status, ExecutionStatus::Success);
    assert_eq!(run.records[0].output, json!({"continue": false}));
}

#[tokio::test]
async fn a_loop_over_fifty_items_with_one_body_step_makes_103_step_executions() {
    let plan = plan(manual(
        json!([
            {"name": "list", "type": "script", "properties": {"body": "done({items: Array.from({length: 50}, (_, i) => i * 2)});"}, "onSuccess": ["loop"]},
            {"name": "loop", "type": "loop", "properties": {"list": "${steps.list.items}"}, "onSuccess": ["body"]},
            {"name": "body", "type": "script", "properties": {"body": "done({seen: steps.loop.entry, at: steps.loop.index});"}, "onSuccess": ["loop"]}
        ]),
        "list",
    ));
    let run = run(&plan, json!({}), &Fakes::default()).await;
    assert_eq!(run.status, ExecutionStatus::Success);
    assert_eq!(run.step_executions(), 103);
    let bodies = run.named("body");
    assert_eq!(bodies.len(), 50);
    assert_eq!(bodies[49].output, json!({"seen": 98, "at": 49}));
}

#[tokio::test]
async fn a_loop_over_something_that_is_not_a_list_fails() {
    let plan = plan(manual(
        json!([
            {"name": "list", "type": "script", "properties": {"body": "done({items: 'nope'});"}, "onSuccess": ["loop"]},
            {"name": "loop", "type": "loop", "properties": {"list": "${steps.list.items}"}, "onSuccess": ["body"]},
            {"name": "body", "type": "script", "properties": {"body": "done({});"}, "onSuccess": ["loop"]}
        ]),
        "list",
    ));
    let run = run(&plan, json!({}), &Fakes::default()).await;
    assert_eq!(run.status, ExecutionStatus::Failed);
    let failed = run.named("loop")[0];
    assert_eq!(failed.status, StepStatus::Failed);
    assert!(
        failed.error.as_ref().unwrap().contains("must be a list"),
        "{failed:?}"
    );
}

#[tokio::test]
async fn nested_loops_run_every_pair() {
    let plan = plan(manual(
        json!([
            {"name": "lists", "type": "script", "properties": {"body": "done({outer: [1, 2, 3], inner: ['a', 'b']});"}, "onSuccess": ["outer"]},
            {"name": "outer", "type": "loop", "properties": {"list": "${steps.lists.outer}"}, "onSuccess": ["inner"]},
            {"name": "inner", "type": "loop", "properties": {"list": "${steps.lists.inner}"}, "onSuccess": ["pair"], "onFailure": ["outer"]},
            {"name": "pair", "type": "script", "properties": {"body": "done({pair: steps.outer.entry + steps.inner.entry});"}, "onSuccess": ["inner"]}
        ]),
        "lists",
    ));
    let run = run(&plan, json!({}), &Fakes::default()).await;
    assert_eq!(run.status, ExecutionStatus::Success);
    let pairs: Vec<Value> = run
        .named("pair")
        .iter()
        .map(|r| r.output["pair"].clone())
        .collect();
    assert_eq!(
        pairs,
        vec![
            json!("1a"),
            json!("1b"),
            json!("2a"),
            json!("2b"),
            json!("3a"),
            json!("3b")
        ]
    );
    assert_eq!(run.named("outer").len(), 4);
    assert_eq!(run.named("inner").len(), 9);
}

#[tokio::test]
async fn an_element_request_retry_records_the_attempt_number() {
    let plan = plan(manual(
        json!([{"name": "retry-element-request", "type": "elementRequest", "properties": {
            "elementInstanceId": "${config.gmail}", "method": "GET", "api": "/messages",
            "retry": true, "retryAttempts": 3, "retryDelay": 1, "retryStatusCodes": "500-599"
        }}]),
        "retry-element-request",
    ));
    let effects = Fakes {
        answers: HashMap::from([("/messages".into(), vec![500])]),
        ..Fakes::default()
    };
    let run = run(&plan, json!({}), &effects).await;
    assert_eq!(run.status, ExecutionStatus::Failed);
    let record = &run.records[0];
    assert_eq!(record.output["request"]["retry-attempt"], json!(3));
    assert_eq!(record.attempts, 4);
    assert_eq!(effects.calls.lock().unwrap().len(), 4);
    let values = ferry_engine::flatten(&record.name, &record.output, &record.console);
    assert!(
        values.contains(&(
            "retry-element-request.request.retry-attempt".into(),
            "3".into()
        )),
        "{values:?}"
    );

    // The same call succeeding on its second try.
    let effects = Fakes {
        answers: HashMap::from([("/messages".into(), vec![503, 200])]),
        ..Fakes::default()
    };
    let run = run_again(&plan, &effects).await;
    assert_eq!(run.status, ExecutionStatus::Success);
    assert_eq!(run.records[0].output["request"]["retry-attempt"], json!(1));
}

async fn run_again(plan: &FlowPlan, effects: &Fakes) -> Run {
    run(plan, json!({}), effects).await
}

#[tokio::test]
async fn the_seed_flow_passes_the_scripts_values_to_the_connector_call() {
    let plan = plan(json!({
        "name": "Send an email",
        "configuration": [{"key": "gmail", "type": "elementInstance"}],
        "triggers": [{"type": "manual", "onSuccess": ["prepareSendEmailToCustomer"]}],
        "steps": [
            {"name": "prepareSendEmailToCustomer", "type": "script", "properties": {"body":
                "let url = '/messages';\n\nlet form = {\n  body: JSON.stringify({\n   \"subject\": \"Integration Builder Gmail Connector\",\n  \"to\": \"grace@example.com\",\n  \"from\": \"noreply-support@axway.com\",\n  \"data\": \"Integration Builder is cool! Try it out!\"\n  })\n};\n\ndone({url:url, form:form});"
            }, "onSuccess": ["sendEmail"]},
            {"name": "sendEmail", "type": "elementRequest", "properties": {
                "elementInstanceId": "${config.gmail}", "method": "POST",
                "api": "${steps.prepareSendEmailToCustomer.url}", "form": "${steps.prepareSendEmailToCustomer.form}"
            }}
        ]
    }));
    let effects = Fakes::default();
    let run = run(&plan, json!({}), &effects).await;
    assert_eq!(run.status, ExecutionStatus::Success, "{:?}", run.error);
    let calls = effects.calls.lock().unwrap();
    assert_eq!(calls[0].path, "/messages");
    assert_eq!(calls[0].method, "POST");
    let body: Value =
        serde_json::from_str(calls[0].form.as_ref().unwrap()["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["to"], "grace@example.com");
    assert_eq!(calls[0].idempotency_key, "exec-1:2");
}

#[tokio::test]
async fn sub_flow_results_and_errors_propagate() {
    let child_ok = plan(manual(
        json!([{"name": "answer", "type": "script", "properties": {"body": "done({doubled: trigger.args.n * 2});"}}]),
        "answer",
    ));
    let child_fails = plan(manual(
        json!([{"name": "boom", "type": "script", "properties": {"body": "throw new Error('child broke'); done({});"}}]),
        "boom",
    ));
    let child_filters = plan(manual(
        json!([{"name": "no", "type": "filter", "properties": {"body": "done(false);"}}]),
        "no",
    ));
    let effects = Fakes {
        sub_flows: HashMap::from([
            ("ok".into(), child_ok),
            ("fails".into(), child_fails),
            ("filters".into(), child_filters),
        ]),
        ..Fakes::default()
    };
    let parent = |id: &str| {
        plan(manual(
            json!([{"name": "child", "type": "formula", "properties": {"formulaId": id, "args": {"n": 21}}}]),
            "child",
        ))
    };
    let ok = run(&parent("ok"), json!({}), &effects).await;
    assert_eq!(ok.status, ExecutionStatus::Success);
    assert_eq!(ok.records[0].output, json!({"doubled": 42}));
    let failed = run(&parent("fails"), json!({}), &effects).await;
    assert_eq!(failed.status, ExecutionStatus::Failed);
    assert!(
        failed.records[0]
            .error
            .as_ref()
            .unwrap()
            .contains("child broke"),
        "{:?}",
        failed.records[0]
    );
    let filtered = run(&parent("filters"), json!({}), &effects).await;
    assert_eq!(
        filtered.status,
        ExecutionStatus::Success,
        "a sub-flow ending in a false filter is a success"
    );
}

#[tokio::test]
async fn console_is_kept_apart_from_the_result_and_a_failure_takes_the_failure_path() {
    let plan = plan(manual(
        json!([
            {"name": "noisy", "type": "script", "properties": {"body": "console.log('hello', {a: 1}); throw 'bad input'; done({});"}, "onFailure": ["cleanup"]},
            {"name": "cleanup", "type": "script", "properties": {"body": "done({cleaned: true});"}}
        ]),
        "noisy",
    ));
    let run = run(&plan, json!({}), &Fakes::default()).await;
    assert_eq!(
        run.status,
        ExecutionStatus::Failed,
        "a failed step fails the execution even with an onFailure path"
    );
    let noisy = &run.records[0];
    assert_eq!(noisy.status, StepStatus::Failed);
    assert_eq!(noisy.console, vec!["hello {\"a\":1}".to_string()]);
    assert!(noisy.error.as_ref().unwrap().contains("bad input"));
    assert_eq!(run.records[1].output, json!({"cleaned": true}));
}

#[tokio::test]
async fn a_runaway_loop_is_stopped() {
    let plan = plan(manual(
        json!([{"name": "again", "type": "script", "properties": {"body": "done({});"}, "onSuccess": ["again"]}]),
        "again",
    ));
    let engine = Engine::new(EngineLimits { max_steps: 25 });
    let mut state = ExecutionState::start(&plan);
    let effects = Fakes::default();
    let (trigger, info, steps, config) = (json!({}), json!({}), Map::new(), Map::new());
    let context = StepContext {
        trigger: &trigger,
        steps: &steps,
        info: &info,
        config: &config,
    };
    let mut ran = 0;
    let finished = loop {
        match engine
            .step(&plan, &mut state, &context, &effects, "x")
            .await
        {
            Step::Ran(_) => ran += 1,
            Step::Finished(finished) => break finished,
        }
    };
    assert_eq!(ran, 25);
    assert_eq!(finished.status, ExecutionStatus::Failed);
    assert!(finished.error.unwrap().contains("25 steps"));
}
