//! What starts executions: a manual call, a webhook (answering with the last step's result when
//! synchronous), an API call to an instance (`elementRequest` triggers), a schedule tick and a
//! change event (see `services.rs` for the last two).

use crate::executor::ExecutionOutcome;
use crate::flow_instances::instance_id_of;
use crate::secrets::hashes_equal;
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_connectors::{HubBody, HubRequest, HubResponse};
use ferry_engine::{TriggerKind, is_credential_header, recorded_body};
use ferry_model::execution::{Execution, FlowInstance};
use ferry_model::instance::Instance;
use ferry_model::{FlowId, FlowInstanceId, InstanceId, OrganizationId};
use ferry_store::NewExecution;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::RwLock;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A webhook call as received.
#[derive(Debug, Clone)]
pub struct WebhookCall {
    pub method: String,
    pub headers: Map<String, Value>,
    pub query: Map<String, Value>,
    pub body: Value,
}

#[derive(Debug, Clone)]
pub enum WebhookOutcome {
    /// A synchronous flow ran to its end in the request.
    Finished(ExecutionOutcome),
    /// An asynchronous flow was queued.
    Queued(Box<Execution>),
}

#[derive(Debug, Clone)]
struct RequestTrigger {
    flow_instance_id: FlowInstanceId,
    organization_id: OrganizationId,
    method: String,
    path: String,
}

/// Active `elementRequest` triggers by connector instance, reloaded when flows change here and at
/// least every few seconds for changes made by other processes.
type TriggersByInstance = HashMap<InstanceId, Vec<RequestTrigger>>;

#[derive(Default)]
pub(crate) struct RequestTriggerIndex {
    /// When it was loaded (`None`: must be reloaded), and the triggers.
    by_instance: RwLock<(Option<Instant>, TriggersByInstance)>,
}

const INDEX_TTL: Duration = Duration::from_secs(5);

/// `/hubs/general/messages` and `/messages` name the same API.
fn without_hub(path: &str) -> &str {
    match path.strip_prefix("/hubs/") {
        Some(rest) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => path,
    }
}

impl App {
    /// Flows or flow instances changed in this process.
    pub(crate) fn flows_changed(&self) {
        self.inner.flows.forget_cached();
        self.inner
            .request_triggers
            .by_instance
            .write()
            .expect("index poisoned")
            .0 = None;
        self.inner.flows.changed.notify_waiters();
    }

    pub(crate) fn install_id(&self) -> &str {
        &self.inner.install_id
    }

    pub(crate) fn queue_woken(&self) {
        self.inner.flows.queued.notify_waiters();
        self.inner.flows.queued.notify_one();
    }

    /// Wakes this process's queue workers, and those of every process sharing PostgreSQL.
    pub(crate) async fn wake_queue_everywhere(&self) {
        self.queue_woken();
        if let Err(error) = self.inner.store.notify_queue().await {
            tracing::warn!(error = %error, "could not wake other processes; they find the work at their next poll");
        }
    }

    pub(crate) async fn enqueue(&self, new: &NewExecution<'_>) -> Result<Execution, AppError> {
        let execution = self.inner.store.insert_execution(new).await?;
        self.wake_queue_everywhere().await;
        Ok(execution)
    }

    fn active_or_refuse(instance: &FlowInstance) -> Result<(), AppError> {
        if instance.active {
            Ok(())
        } else {
            Err(AppError::Conflict(format!(
                "flow instance {} is not active; activate it with PUT /formulas/instances/{}/active",
                instance.id, instance.id
            )))
        }
    }

    /// `POST /formulas/instances/{id}/executions`: the body becomes `trigger.args`. For a flow
    /// triggered by events, a body `{"message": {"events": [...]}}` replays those events (one
    /// execution each), as Cloud Elements allowed.
    pub async fn start_manual_execution(
        &self,
        principal: &Principal,
        id: FlowInstanceId,
        args: Value,
    ) -> Result<Vec<Execution>, AppError> {
        let view = self.get_flow_instance(principal, id).await?;
        Self::active_or_refuse(&view.instance)?;
        let plan = self.plan_of(&view.flow)?;
        let now = self.now_ms();
        let replayed: Vec<Value> = match (&plan.trigger, args["message"]["events"].as_array()) {
            (Some((_, TriggerKind::Event { .. })), Some(events)) => events
                .iter()
                .map(|event| {
                    json!({
                        "type": "event",
                        "eventId": event.get("eventId").cloned().unwrap_or(Value::Null),
                        "instanceId": args["message"]["instance_id"],
                        "event": event,
                        "raw": args["message"].get("raw").cloned().unwrap_or(Value::Null),
                    })
                })
                .collect(),
            _ => vec![json!({ "type": "manual", "args": args })],
        };
        let mut started = Vec::with_capacity(replayed.len());
        for trigger in &replayed {
            let object_id = trigger["event"]["objectId"].as_str().map(str::to_owned);
            started.push(
                self.enqueue(&NewExecution {
                    organization_id: principal.organization.id,
                    flow_id: view.flow.id,
                    flow_instance_id: id,
                    trigger_kind: trigger["type"].as_str().unwrap_or("manual"),
                    trigger,
                    state: &Value::Null,
                    attempt: 1,
                    parent_execution_id: None,
                    event_id: trigger["eventId"].as_str(),
                    object_id: object_id.as_deref(),
                    run_after_ms: now,
                    claimed_by: None,
                    now_ms: now,
                })
                .await?,
            );
        }
        Ok(started)
    }

    /// A call to a flow instance's webhook, authenticated by its secret.
    pub async fn start_webhook_execution(
        &self,
        id: FlowInstanceId,
        secret: Option<&str>,
        call: WebhookCall,
    ) -> Result<WebhookOutcome, AppError> {
        let refused = || AppError::Unauthenticated("the webhook secret is missing or wrong".into());
        let stored = self
            .cached_webhook_secret_hash(id)
            .await?
            .ok_or_else(refused)?;
        let given = secret.ok_or_else(refused)?;
        if !hashes_equal(&crate::secret_hash(given), &stored) {
            return Err(refused());
        }
        let instance = self
            .cached_flow_instance(id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no flow instance {id}")))?;
        Self::active_or_refuse(&instance)?;
        let flow = self
            .cached_flow(instance.organization_id, instance.flow_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("flow {} was deleted", instance.flow_id)))?;
        let plan = self.plan_of(&flow)?;
        let Some((_, TriggerKind::Webhook { synchronous })) = plan.trigger else {
            return Err(AppError::Conflict(format!(
                "flow instance {id} is not triggered by a webhook"
            )));
        };
        let trigger = json!({
            "type": "webhook",
            "method": call.method,
            "headers": call.headers,
            "query": call.query,
            "body": call.body,
        });
        let now = self.now_ms();
        let owner = self.inner.config.process_id.clone();
        let lease_until = now + self.inner.flows.config.lease.as_millis() as i64;
        let start = WebhookStart {
            organization_id: instance.organization_id,
            flow_id: flow.id,
            flow_instance_id: id,
            now_ms: now,
        };
        if !synchronous {
            return Ok(WebhookOutcome::Queued(Box::new(
                self.enqueue(&start.execution(&trigger, None)).await?,
            )));
        }
        let app = self.clone();
        let outcome = FinishesEvenIfDropped::new(async move {
            let claimed = start.execution(&trigger, Some((owner.as_str(), lease_until)));
            let execution = app.inner.store.insert_execution(&claimed).await?;
            Ok::<_, AppError>(app.run_execution(execution, &owner).await)
        })
        .await??;
        Ok(WebhookOutcome::Finished(outcome))
    }

    async fn load_request_triggers(
        &self,
    ) -> Result<HashMap<InstanceId, Vec<RequestTrigger>>, AppError> {
        let mut index: HashMap<InstanceId, Vec<RequestTrigger>> = HashMap::new();
        for (instance, flow) in self.inner.store.list_active_flow_instances().await? {
            let Ok(plan) = self.plan_of(&flow) else {
                continue;
            };
            if let Some((
                _,
                TriggerKind::ElementRequest {
                    element_instance_id,
                    method,
                    api,
                },
            )) = &plan.trigger
                && let Some(target) = instance_id_of(
                    &self.resolve_for_instance(element_instance_id, &instance.configuration),
                )
            {
                index.entry(target).or_default().push(RequestTrigger {
                    flow_instance_id: instance.id,
                    organization_id: instance.organization_id,
                    method: method.clone(),
                    path: without_hub(api).to_owned(),
                });
            }
        }
        Ok(index)
    }

    async fn request_triggers_for(
        &self,
        instance: InstanceId,
    ) -> Result<Vec<RequestTrigger>, AppError> {
        {
            let guard = self
                .inner
                .request_triggers
                .by_instance
                .read()
                .expect("index poisoned");
            if guard.0.is_some_and(|loaded| loaded.elapsed() < INDEX_TTL) {
                return Ok(guard.1.get(&instance).cloned().unwrap_or_default());
            }
        }
        let index = self.load_request_triggers().await?;
        let found = index.get(&instance).cloned().unwrap_or_default();
        *self
            .inner
            .request_triggers
            .by_instance
            .write()
            .expect("index poisoned") = (Some(Instant::now()), index);
        Ok(found)
    }

    /// After an API call to an instance succeeded: starts the flows whose `elementRequest` trigger
    /// names that instance, method and path.
    pub async fn after_hub_call(
        &self,
        instance: &Instance,
        request: &HubRequest,
        response: &HubResponse,
    ) {
        let triggers = match self.request_triggers_for(instance.id).await {
            Ok(triggers) => triggers,
            Err(error) => {
                tracing::warn!(instance_id = %instance.id, error = %error, "could not read elementRequest triggers");
                return;
            }
        };
        let path = without_hub(&request.path);
        let matching: Vec<&RequestTrigger> = triggers
            .iter()
            .filter(|t| {
                t.organization_id == instance.organization_id
                    && t.method.eq_ignore_ascii_case(request.method.as_str())
                    && t.path == path
            })
            .collect();
        if matching.is_empty() {
            return;
        }
        let request_headers = self.recorded_request_headers(instance, request);
        let response_headers: Map<String, Value> = response
            .answer_headers()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), Value::String(value)))
            .collect();
        for trigger in matching {
            let query: Map<String, Value> = request
                .query
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let body = match &request.body {
                HubBody::Json(value) => value.clone(),
                HubBody::Form(parts) => Value::Object(
                    parts
                        .iter()
                        .filter(|p| p.filename.is_none())
                        .map(|p| {
                            (
                                p.name.clone(),
                                Value::String(String::from_utf8_lossy(&p.data).into_owned()),
                            )
                        })
                        .collect(),
                ),
                HubBody::Empty => Value::Null,
            };
            let trigger_values = json!({
                "type": "request",
                "instanceId": instance.id.0,
                "request": {"method": request.method.as_str(), "path": request.path, "query": query, "headers": request_headers, "body": body},
                "response": {"code": response.status, "headers": response_headers, "body": recorded_body(&response.body)},
            });
            let Ok(Some(flow_instance)) = self
                .inner
                .store
                .get_flow_instance_by_id(trigger.flow_instance_id)
                .await
            else {
                continue;
            };
            let now = self.now_ms();
            let queued = self
                .enqueue(&NewExecution {
                    organization_id: flow_instance.organization_id,
                    flow_id: flow_instance.flow_id,
                    flow_instance_id: flow_instance.id,
                    trigger_kind: "request",
                    trigger: &trigger_values,
                    state: &Value::Null,
                    attempt: 1,
                    parent_execution_id: None,
                    event_id: None,
                    object_id: None,
                    run_after_ms: now,
                    claimed_by: None,
                    now_ms: now,
                })
                .await;
            if let Err(error) = queued {
                tracing::warn!(flow_instance_id = %trigger.flow_instance_id, error = %error, "could not start the elementRequest-triggered flow");
            }
        }
    }
}

impl App {
    /// The headers of a hub call an `elementRequest` trigger records: those the operation
    /// declares as header parameters and the caller gave, under their declared names. Whatever
    /// else the caller sent ferry (its `Authorization`, cookies) stays out, and so does a
    /// declared header whose name says it carries a credential: execution records are read by
    /// more people than the API's callers.
    fn recorded_request_headers(&self, instance: &Instance, request: &HubRequest) -> Value {
        let Ok(connector) = self.connector(&instance.connector_key) else {
            return json!({});
        };
        let Ok(operation) = self
            .inner
            .runtime
            .resolve(&connector, request.method, &request.path)
        else {
            return json!({});
        };
        let headers: Map<String, Value> = operation
            .given_header_parameters(&request.headers)
            .into_iter()
            .filter(|(parameter, _)| {
                !is_credential_header(&parameter.name)
                    && !is_credential_header(parameter.vendor_name())
            })
            .map(|(parameter, value)| (parameter.name.clone(), Value::String(value)))
            .collect();
        Value::Object(headers)
    }
}

/// What a webhook's execution is made of besides its trigger data.
#[derive(Clone, Copy)]
struct WebhookStart {
    organization_id: OrganizationId,
    flow_id: FlowId,
    flow_instance_id: FlowInstanceId,
    now_ms: i64,
}

impl WebhookStart {
    fn execution<'a>(
        self,
        trigger: &'a Value,
        claimed_by: Option<(&'a str, i64)>,
    ) -> NewExecution<'a> {
        NewExecution {
            organization_id: self.organization_id,
            flow_id: self.flow_id,
            flow_instance_id: self.flow_instance_id,
            trigger_kind: "webhook",
            trigger,
            state: &Value::Null,
            attempt: 1,
            parent_execution_id: None,
            event_id: None,
            object_id: None,
            run_after_ms: self.now_ms,
            claimed_by,
            now_ms: self.now_ms,
        }
    }
}

/// A synchronous webhook's run, from the insert on, driven by the request that started it. If
/// that request goes away first (its caller hung up), the rest of the run moves to a task of its
/// own: a caller must leave neither a half-run execution nor one claimed by this process that
/// nothing runs (it would wait for its lease to run out). A task for every call, awaited through
/// its `JoinHandle`, did the same at the price of a spawn and a wake-up per call, and that wake-up
/// mostly found tokio's LIFO slot taken and woke the other worker (`docs/benchmarks.md`, stop 19).
struct FinishesEvenIfDropped<T: Send + 'static> {
    run: Option<Pin<Box<dyn Future<Output = T> + Send>>>,
}

impl<T: Send + 'static> FinishesEvenIfDropped<T> {
    fn new(run: impl Future<Output = T> + Send + 'static) -> Self {
        FinishesEvenIfDropped {
            run: Some(Box::pin(run)),
        }
    }
}

impl<T: Send + 'static> Future for FinishesEvenIfDropped<T> {
    type Output = Result<T, AppError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(run) = self.run.as_mut() else {
            return Poll::Ready(Err(AppError::Internal(
                "the webhook execution was polled after it ended".into(),
            )));
        };
        // As a task's panic would have been: this call fails, the process goes on.
        match std::panic::catch_unwind(AssertUnwindSafe(|| run.as_mut().poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(outcome)) => {
                self.run = None;
                Poll::Ready(Ok(outcome))
            }
            Err(_) => {
                self.run = None;
                Poll::Ready(Err(AppError::Internal(
                    "the webhook execution stopped: it panicked".into(),
                )))
            }
        }
    }
}

impl<T: Send + 'static> Drop for FinishesEvenIfDropped<T> {
    fn drop(&mut self) {
        // Outside a runtime (it is shutting down) the run stops here, as it would have in a
        // task; its execution resumes elsewhere once its lease runs out.
        if let Some(run) = self.run.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                run.await;
            });
        }
    }
}
