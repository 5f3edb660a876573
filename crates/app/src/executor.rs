//! Running one execution: the engine's steps, each committed with the state after it (see
//! [`crate::step_commits`] for when), until the flow ends, the execution is cancelled or this
//! process loses its claim.
//! The side effects of steps ([`FlowEffects`]) are JavaScript in the sandbox, hub calls through
//! the instance's connector, ferry's own API, HTTP, sub-flows and retries.

use crate::flow_instances::instance_id_of;
use crate::request_forms::{form_parts, to_text};
use crate::step_commits::StepCommits;
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_connectors::{HubBody, HubRequest};
use ferry_engine::{
    CallError, Effects, ExecutionState, HttpCall, HttpExchange, RequestTarget, ScriptKind,
    ScriptRun, ScriptRunInput, Step, StepContext, SubFlowCall, SubFlowFuture, SubFlowResult,
    recorded_body,
};
use ferry_model::connector::HttpMethod;
use ferry_model::execution::{Execution, ExecutionStatus, StepStatus};
use ferry_model::{ExecutionId, FlowId};
use ferry_store::NewExecution;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// How an execution ended (or stopped) in this process.
#[derive(Debug, Clone)]
pub struct ExecutionOutcome {
    pub execution_id: ExecutionId,
    pub status: ExecutionStatus,
    pub error: Option<String>,
    /// The output of the last step that ran (a synchronous webhook answers with it).
    pub last_output: Value,
}

/// Sub-flows may call sub-flows, but not without end.
const MAX_SUB_FLOW_DEPTH: u32 = 8;
/// Longest a script step runs on an async worker thread before it is moved to a blocking one.
const QUICK_SCRIPT_BUDGET: std::time::Duration = std::time::Duration::from_millis(1);

pub(crate) struct FlowEffects<'a> {
    app: &'a App,
    execution: &'a Execution,
    owner: &'a str,
    depth: u32,
    principal: Arc<Principal>,
    config: &'a Map<String, Value>,
}

fn query_pairs(query: &Map<String, Value>) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    for (key, value) in query {
        match value {
            Value::Null => {}
            Value::Array(items) => pairs.extend(items.iter().map(|v| (key.clone(), to_text(v)))),
            other => pairs.push((key.clone(), to_text(other))),
        }
    }
    pairs
}

/// `"/hubs/general/messages?x=1"` → `("/messages", [("x", "1")])`.
fn hub_path(api: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = api.split_once('?').unwrap_or((api, ""));
    let path = match path.strip_prefix("/hubs/") {
        Some(rest) => rest
            .find('/')
            .map(|i| rest[i..].to_owned())
            .unwrap_or_else(|| "/".into()),
        None => path.to_owned(),
    };
    let pairs = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    (path, pairs)
}

/// An application error as the HTTP reply a hub call would have given.
fn error_exchange(error: AppError) -> HttpExchange {
    let status = error.http_status();
    let provider_message = match &error {
        AppError::CredentialsRefused {
            provider_message, ..
        }
        | AppError::Provider {
            provider_message, ..
        } => provider_message.clone(),
        _ => None,
    };
    let mut body = json!({ "message": error.to_string() });
    if let Some(provider) = provider_message {
        body["providerMessage"] = Value::String(provider);
    }
    HttpExchange {
        status,
        headers: Map::new(),
        body,
    }
}

impl FlowEffects<'_> {
    async fn connector_call(
        &self,
        instance_id: &Value,
        call: &HttpCall,
    ) -> Result<HttpExchange, CallError> {
        let id = instance_id_of(instance_id).ok_or_else(|| {
            CallError(format!(
                "elementInstanceId {instance_id} does not name a connector instance"
            ))
        })?;
        let instance = self
            .app
            .inner
            .store
            .get_instance(self.execution.organization_id, id)
            .await
            .map_err(|e| CallError(e.to_string()))?
            .ok_or_else(|| CallError(format!("there is no connector instance {id}")))?;
        let method = HttpMethod::of_request(&call.method)
            .ok_or_else(|| CallError(format!("{} is not supported", call.method)))?;
        // As the hub API answers a HEAD: the GET's status and headers, no body.
        let is_head = call.method.eq_ignore_ascii_case("HEAD");
        let (path, mut query) = hub_path(&call.path);
        query.extend(query_pairs(&call.query));
        let body = match (&call.form, &call.body) {
            (Some(form), _) => HubBody::Form(form_parts(form)),
            (None, Some(Value::String(text))) => serde_json::from_str(text)
                .map(HubBody::Json)
                .unwrap_or_else(|_| HubBody::Json(Value::String(text.clone()))),
            (None, Some(body)) => HubBody::Json(body.clone()),
            (None, None) => HubBody::Empty,
        };
        let headers = call
            .headers
            .iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| (name.clone(), to_text(value)))
            .collect();
        let request = HubRequest {
            method,
            path,
            query,
            headers,
            body,
            idempotency_key: (method != HttpMethod::Get)
                .then(|| format!("{}.{}", self.app.install_id(), call.idempotency_key)),
        };
        Ok(match self.app.hub_call(&instance, &request).await {
            Ok(reply) => {
                // The headers ferry's hub API answers with, so a flow pages as a client does.
                let headers = reply
                    .answer_headers()
                    .into_iter()
                    .map(|(name, value)| (name.to_owned(), Value::String(value)))
                    .collect();
                HttpExchange {
                    status: reply.status,
                    headers,
                    body: if is_head {
                        Value::Null
                    } else {
                        recorded_body(&reply.body)
                    },
                }
            }
            Err(error) => error_exchange(error),
        })
    }

    async fn http_call(&self, call: &HttpCall) -> Result<HttpExchange, CallError> {
        let method = reqwest::Method::from_bytes(call.method.as_bytes())
            .map_err(|_| CallError(format!("{} is not an HTTP method", call.method)))?;
        let url = url::Url::parse(&call.path)
            .map_err(|e| CallError(format!("url {:?}: {e}", call.path)))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(CallError(format!("url {:?} is not http(s)", call.path)));
        }
        if let Some(refused) = self.app.inner.flows.config.http_denied.refuse_url(&url) {
            return Err(CallError(format!("url {:?}: {refused}", call.path)));
        }
        let mut request = self
            .app
            .inner
            .flows
            .http
            .request(method, url)
            .query(&query_pairs(&call.query));
        for (name, value) in &call.headers {
            request = request.header(name.as_str(), to_text(value));
        }
        request = match (&call.form, &call.body) {
            (Some(form), _) => {
                let mut multipart = reqwest::multipart::Form::new();
                for part in form_parts(form) {
                    let mut piece = reqwest::multipart::Part::bytes(part.data.to_vec());
                    if let Some(filename) = part.filename {
                        piece = piece.file_name(filename);
                    }
                    if let Some(content_type) = part.content_type {
                        piece = piece
                            .mime_str(&content_type)
                            .map_err(|e| CallError(e.to_string()))?;
                    }
                    multipart = multipart.part(part.name, piece);
                }
                request.multipart(multipart)
            }
            (None, Some(Value::String(text))) => request.body(text.clone()),
            (None, Some(body)) => request.json(body),
            (None, None) => request,
        };
        let response = request.send().await.map_err(|e| {
            CallError(format!(
                "the HTTP call failed: {}",
                error_chain(&e.without_url())
            ))
        })?;
        let status = response.status().as_u16();
        let headers: Map<String, Value> = response
            .headers()
            .iter()
            .filter_map(|(name, value)| {
                Some((
                    name.to_string(),
                    Value::String(value.to_str().ok()?.to_owned()),
                ))
            })
            .collect();
        // As text, so a reply in another charset is recorded decoded.
        let text = response
            .text()
            .await
            .map_err(|e| CallError(format!("the HTTP reply could not be read: {e}")))?;
        Ok(HttpExchange {
            status,
            headers,
            body: recorded_body(text.as_bytes()),
        })
    }
}

impl Effects for FlowEffects<'_> {
    async fn run_script(&self, input: ScriptRunInput) -> ScriptRun {
        let sandbox = self.app.inner.flows.sandbox.clone();
        let kind = match input.kind {
            ScriptKind::Script => ferry_sandbox::ScriptKind::Script,
            ScriptKind::Filter => ferry_sandbox::ScriptKind::Filter,
        };
        let input_values = ferry_sandbox::ScriptInput {
            trigger: input.trigger,
            steps: input.steps,
            info: input.info,
            config: input.config,
        };
        // Most scripts take well under a millisecond, less than handing them to a blocking
        // thread and the outcome back costs; they run here. One that needs longer is stopped at
        // the budget and runs again on a blocking thread, where it may take its whole limit.
        // Runs of this flow's scripts may share a warm engine; other flows' never do.
        let owner = format!(
            "{}/{}",
            self.execution.organization_id.0, self.execution.flow_id.0
        );
        let quick = sandbox.run_warm_within(
            kind,
            &input.source,
            &input_values,
            QUICK_SCRIPT_BUDGET,
            &owner,
        );
        let run = match quick {
            Some(outcome) => {
                // Queued behind this task on this worker: the next engine is built while the
                // flow waits for its next step's I/O. Only when there is one to build (or an
                // old one to tear down): a spawned task takes the worker's next-task slot, and
                // the task the flow wakes next (its HTTP connection's) would then be handed to
                // the other worker, waking it.
                if sandbox.next_run_needs_preparing_on_this_thread() {
                    let preparing = sandbox.clone();
                    tokio::spawn(async move { preparing.prepare_next_run_on_this_thread() });
                }
                Ok(outcome)
            }
            None => {
                let (reply, outcome) = tokio::sync::oneshot::channel();
                tokio::task::spawn_blocking(move || {
                    let _ =
                        reply.send(sandbox.run_warm(kind, &input.source, &input_values, &owner));
                    // After answering: the flow goes on while this thread builds its next engine.
                    sandbox.prepare_next_run_on_this_thread();
                });
                outcome.await
            }
        };
        match run {
            Ok(outcome) => {
                for notification in &outcome.notifications {
                    tracing::info!(execution_id = %self.execution.id, to = %notification.to, subject = %notification.subject, "script asked to notify by email; email notifications are not configured");
                }
                ScriptRun {
                    result: outcome.result.map_err(|failure| failure.to_string()),
                    console: outcome.console,
                }
            }
            Err(_) => ScriptRun {
                result: Err("the script could not run: its thread stopped".to_owned()),
                console: Vec::new(),
            },
        }
    }

    async fn call(&self, call: HttpCall) -> Result<HttpExchange, CallError> {
        match &call.target {
            RequestTarget::Connector { instance_id } => {
                self.connector_call(instance_id, &call).await
            }
            RequestTarget::Platform => match self.app.inner.flows.platform.get() {
                Some(platform) => platform.request(self.principal.clone(), call).await,
                None => Err(CallError(
                    "ferry's API is not available to flows in this process".into(),
                )),
            },
            RequestTarget::Http => self.http_call(&call).await,
        }
    }

    fn sub_flow(&self, call: SubFlowCall) -> SubFlowFuture<'_> {
        Box::pin(async move {
            if self.depth >= MAX_SUB_FLOW_DEPTH {
                return Err(CallError(format!(
                    "sub-flows nest deeper than {MAX_SUB_FLOW_DEPTH}"
                )));
            }
            let flow_id = instance_id_of(&call.formula_id)
                .map(|id| FlowId(id.0))
                .ok_or_else(|| {
                    CallError(format!("formulaId {} is not a flow id", call.formula_id))
                })?;
            let flow = self
                .app
                .inner
                .store
                .get_flow(self.execution.organization_id, flow_id)
                .await
                .map_err(|e| CallError(e.to_string()))?
                .ok_or_else(|| CallError(format!("there is no flow {flow_id}")))?;
            let store = &self.app.inner.store;
            let lease_until =
                self.app.now_ms() + self.app.inner.flows.config.lease.as_millis() as i64;
            // A resumed parent continues the child it had started for this very step.
            let existing = store
                .list_child_executions(self.execution.id)
                .await
                .map_err(|e| CallError(e.to_string()))?
                .into_iter()
                .find(|child| child.trigger["parentStep"] == call.key.as_str());
            let child = match existing {
                Some(child) if child.status.is_finished() => child,
                Some(child) => store
                    .take_over_execution(child.id, self.owner, lease_until)
                    .await
                    .map_err(|e| CallError(e.to_string()))?
                    .unwrap_or(child),
                None => {
                    let mut config = self.config.clone();
                    config.extend(call.configs.clone());
                    let trigger = json!({
                        "type": "formula",
                        "args": call.args,
                        "parentStep": call.key,
                        "config": config,
                    });
                    store
                        .insert_execution(&NewExecution {
                            organization_id: self.execution.organization_id,
                            flow_id: flow.id,
                            flow_instance_id: self.execution.flow_instance_id,
                            trigger_kind: "formula",
                            trigger: &trigger,
                            state: &Value::Null,
                            attempt: 1,
                            parent_execution_id: Some(self.execution.id),
                            event_id: None,
                            object_id: None,
                            run_after_ms: self.app.now_ms(),
                            claimed_by: Some((self.owner, lease_until)),
                            now_ms: self.app.now_ms(),
                        })
                        .await
                        .map_err(|e| CallError(e.to_string()))?
                }
            };
            let outcome = if child.status.is_finished() {
                let steps = store
                    .list_step_executions(child.id)
                    .await
                    .map_err(|e| CallError(e.to_string()))?;
                ExecutionOutcome {
                    execution_id: child.id,
                    status: child.status,
                    error: child.error.clone(),
                    last_output: steps
                        .last()
                        .map(|s| s.output.clone())
                        .unwrap_or(Value::Null),
                }
            } else {
                self.app
                    .run_execution_at_depth(child, self.owner, self.depth + 1)
                    .await
            };
            Ok(SubFlowResult {
                succeeded: outcome.status == ExecutionStatus::Success,
                output: outcome.last_output,
                error: outcome.error,
            })
        })
    }

    async fn schedule_retry(&self, attempts: u32) -> Result<Option<String>, CallError> {
        let attempt = self.execution.attempt;
        if attempt > i64::from(attempts) {
            return Ok(None);
        }
        let delay = self.app.retry_delay(attempt);
        let run_after = self.app.now_ms() + delay.as_millis() as i64;
        self.app
            .inner
            .store
            .insert_execution(&NewExecution {
                organization_id: self.execution.organization_id,
                flow_id: self.execution.flow_id,
                flow_instance_id: self.execution.flow_instance_id,
                trigger_kind: &self.execution.trigger_kind,
                trigger: &self.execution.trigger,
                state: &Value::Null,
                attempt: attempt + 1,
                parent_execution_id: None,
                event_id: self.execution.event_id.as_deref(),
                object_id: self.execution.object_id.as_deref(),
                run_after_ms: run_after,
                claimed_by: None,
                now_ms: self.app.now_ms(),
            })
            .await
            .map_err(|e| CallError(e.to_string()))?;
        let at = chrono::DateTime::from_timestamp_millis(run_after).unwrap_or_default();
        Ok(Some(format!(
            "Formula instance execution scheduled for retry at approximately {} (attempt {} of {})",
            at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            attempt + 1,
            attempts + 1
        )))
    }
}

impl App {
    /// `e^attempt` times the configured base, as Cloud Elements' retryFormulaExecution (minutes).
    fn retry_delay(&self, attempt: i64) -> std::time::Duration {
        let factor = (attempt as f64).exp().round().max(1.0);
        self.inner.flows.config.retry_base.mul_f64(factor)
    }

    /// Runs a claimed execution (from the queue, a webhook or a parent) to its end.
    pub async fn run_execution(&self, execution: Execution, owner: &str) -> ExecutionOutcome {
        self.run_execution_at_depth(execution, owner, 0).await
    }

    async fn run_execution_at_depth(
        &self,
        execution: Execution,
        owner: &str,
        depth: u32,
    ) -> ExecutionOutcome {
        let running = self.inner.flows.running_guard(execution.id);
        // Until the end: a run that failed before its first write still ends with its row.
        let _unwritten = UnwrittenRowGuard {
            store: &self.inner.store,
            id: execution.id,
        };
        let outcome = Box::pin(self.drive(&execution, owner, depth)).await;
        drop(running);
        match outcome {
            Ok(outcome) => outcome,
            Err(error) => {
                let message = match &error {
                    AppError::Internal(detail) => {
                        tracing::error!(execution_id = %execution.id, error = %detail, "execution failed inside ferry");
                        "ferry could not run the execution; its log has the details".to_owned()
                    }
                    other => other.to_string(),
                };
                let _ = self
                    .inner
                    .store
                    .finish_execution(
                        execution.id,
                        owner,
                        ExecutionStatus::Failed,
                        Some(&message),
                        self.now_ms(),
                    )
                    .await;
                ExecutionOutcome {
                    execution_id: execution.id,
                    status: ExecutionStatus::Failed,
                    error: Some(message),
                    last_output: Value::Null,
                }
            }
        }
    }

    async fn drive(
        &self,
        execution: &Execution,
        owner: &str,
        depth: u32,
    ) -> Result<ExecutionOutcome, AppError> {
        let store = &self.inner.store;
        let flow = self
            .cached_flow(execution.organization_id, execution.flow_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("flow {} was deleted", execution.flow_id)))?;
        let flow_instance = self
            .cached_flow_instance(execution.flow_instance_id)
            .await?
            .ok_or_else(|| {
                AppError::NotFound(format!(
                    "flow instance {} was deleted",
                    execution.flow_instance_id
                ))
            })?;
        let plan = self.plan_of(&flow)?;
        let config: Map<String, Value> =
            match (&execution.trigger_kind[..], execution.trigger.get("config")) {
                ("formula", Some(Value::Object(config))) => config.clone(),
                _ => flow_instance.configuration.clone(),
            };
        let info = json!({
            "formulaId": flow.id.0,
            "formulaName": flow.def.name,
            "formulaInstanceId": flow_instance.id.0,
            "formulaInstanceName": flow_instance.name,
            "formulaExecutionId": execution.id.0,
            "formulaStartTime": chrono::DateTime::from_timestamp_millis(execution.created_at_ms).unwrap_or_default().to_rfc3339(),
            "attempt": execution.attempt,
        });
        let mut steps = Map::new();
        let mut last_output = Value::Null;
        let mut state = if execution.state.is_null() {
            ExecutionState::start(&plan)
        } else {
            for record in store.list_step_executions(execution.id).await? {
                last_output = record.output.clone();
                if record.seq > 0 {
                    steps.insert(record.step_name, record.output);
                }
            }
            ExecutionState::from_json(&execution.state)
                .map_err(|e| AppError::Internal(e.to_string()))?
        };
        let principal = self.flow_owner(&flow).await?;
        let effects = FlowEffects {
            app: self,
            execution,
            owner,
            depth,
            principal,
            config: &config,
        };
        let key = format!("x{}", execution.id.0);
        let mut commits = StepCommits::new(store, execution.id, owner);
        loop {
            let context = StepContext {
                trigger: &execution.trigger,
                steps: &steps,
                info: &info,
                config: &config,
            };
            // A step with an effect outside ferry starts only once every step before it is
            // durable: otherwise a crash could rerun a held script with another result (a
            // clock, a random id) and repeat the effect on different input.
            if !state.next_runs_again_harmlessly(&plan) && !commits.flush().await? {
                return self.stopped(execution, last_output).await;
            }
            let next = self
                .inner
                .flows
                .engine
                .step(&plan, &mut state, &context, &effects, &key);
            let step = match commits.hold_until() {
                None => next.await,
                Some(deadline) => {
                    tokio::pin!(next);
                    tokio::select! {
                        biased;
                        step = &mut next => step,
                        () = tokio::time::sleep_until(deadline.into()) => {
                            commits.send_held().await?;
                            next.await
                        }
                    }
                }
            };
            if !commits.confirm().await? {
                return self.stopped(execution, last_output).await;
            }
            match step {
                Step::Ran(record) => {
                    // The last step and the execution's end are committed together.
                    let ending = state.finished();
                    if record.status == StepStatus::Failed {
                        tracing::debug!(execution_id = %execution.id, step = %record.name, "step failed");
                    }
                    last_output = record.output.clone();
                    let name = record.name.clone();
                    let output = ending.is_none().then(|| record.output.clone());
                    let ours = commits
                        .record(record, state.to_json(), ending.as_ref(), self.now_ms())
                        .await?;
                    if !ours {
                        return self.stopped(execution, last_output).await;
                    }
                    match (ending, output) {
                        (Some(finished), _) => {
                            return Ok(ExecutionOutcome {
                                execution_id: execution.id,
                                status: finished.status,
                                error: finished.error,
                                last_output,
                            });
                        }
                        (None, Some(output)) => {
                            steps.insert(name, output);
                        }
                        (None, None) => {}
                    }
                }
                Step::Finished(finished) => {
                    if !commits.flush().await? {
                        return self.stopped(execution, last_output).await;
                    }
                    store
                        .finish_execution(
                            execution.id,
                            owner,
                            finished.status,
                            finished.error.as_deref(),
                            self.now_ms(),
                        )
                        .await?;
                    return Ok(ExecutionOutcome {
                        execution_id: execution.id,
                        status: finished.status,
                        error: finished.error,
                        last_output,
                    });
                }
            }
        }
    }

    /// The execution is no longer ours to run: cancelled, or another process took over after
    /// our lease ran out.
    async fn stopped(
        &self,
        execution: &Execution,
        last_output: Value,
    ) -> Result<ExecutionOutcome, AppError> {
        let now = self.inner.store.get_execution_by_id(execution.id).await?;
        let status = now
            .as_ref()
            .map(|e| e.status)
            .unwrap_or(ExecutionStatus::Cancelled);
        tracing::info!(execution_id = %execution.id, status = status.as_str(), "execution stopped: no longer ours");
        Ok(ExecutionOutcome {
            execution_id: execution.id,
            status,
            error: now.and_then(|e| e.error),
            last_output,
        })
    }
}

/// A run that stops before its first write (it panicked, or its future was dropped) leaves no
/// row waiting in the store.
struct UnwrittenRowGuard<'a> {
    store: &'a ferry_store::Store,
    id: ExecutionId,
}

impl Drop for UnwrittenRowGuard<'_> {
    fn drop(&mut self) {
        self.store.forget_unwritten_row(self.id);
    }
}

/// An error with its causes (`error sending request: dns error: …`): reqwest's own message alone
/// hides why.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_paths_drop_the_hub_segment_and_keep_their_query() {
        assert_eq!(
            hub_path("/hubs/general/messages?pageSize=1"),
            ("/messages".into(), vec![("pageSize".into(), "1".into())])
        );
        assert_eq!(hub_path("/messages/abc").0, "/messages/abc");
    }
}
