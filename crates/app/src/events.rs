//! Change events of connector instances become executions: one per event and active flow instance
//! whose `event` trigger names the instance, whichever way the events came — polled (`services`,
//! committed together with the cursor) or pushed by the vendor to the instance's events URL
//! (checked against the connector's signature scheme, then told apart from redeliveries by their
//! ids, which are kept for [`EVENT_ID_RETENTION`]).

use crate::flow_instances::instance_id_of;
use crate::{App, AppError};
use ferry_connectors::{ChangeEvent, WebhookDelivery};
use ferry_engine::TriggerKind;
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::instance::Instance;
use ferry_model::{ExecutionId, InstanceId};
use ferry_store::{DeliveredEvent, NewExecution};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::Duration;

/// How long the id of an event received by webhook is remembered. Vendors redeliver for up to
/// three days (Stripe's retries, GitHub's manual redelivery); a week covers them with room. A
/// delivery replayed later starts again, which a signed timestamp (`timestamp_header`) prevents.
pub(crate) const EVENT_ID_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A webhook delivery as it arrived: the body unparsed, because the signature covers its bytes.
pub struct EventDelivery<'a> {
    pub headers: &'a http::HeaderMap,
    pub body: &'a [u8],
}

/// What a webhook delivery started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryReceipt {
    /// How many events the delivery carried.
    pub events: usize,
    /// How many of them had been received before, and started nothing this time.
    pub duplicates: usize,
    /// The executions queued: one per new event and listening flow instance.
    pub executions: Vec<ExecutionId>,
}

/// One event as the executions it starts see it (`trigger.*`).
pub(crate) struct EventTrigger {
    pub event_id: String,
    pub object_id: Option<String>,
    pub values: Value,
}

/// What `instance`'s events look like to the flows they start, polled and pushed alike.
pub(crate) fn event_triggers(
    instance: &Instance,
    events: &[ChangeEvent],
    now_ms: i64,
) -> Vec<EventTrigger> {
    let date = chrono::DateTime::from_timestamp_millis(now_ms)
        .unwrap_or_default()
        .to_rfc3339();
    events
        .iter()
        .map(|event| {
            // A pushed event carries the vendor's id; a polled one is named by its position.
            let event_id = event.id.clone().unwrap_or_else(|| {
                format!(
                    "{}-{}-{}",
                    instance.id.0,
                    event.history_id.as_deref().unwrap_or("0"),
                    event.object_id
                )
            });
            // A pushed event need not name an object.
            let object_id = Some(event.object_id.clone()).filter(|id| !id.is_empty());
            let values = json!({
                "type": "event",
                "eventId": event_id,
                "instanceId": instance.id.0,
                "event": {
                    "date": date,
                    "elementKey": instance.connector_key,
                    "eventType": event.event_type,
                    "objectId": object_id,
                    "objectType": event.object_type,
                },
                "raw": event.raw,
            });
            EventTrigger {
                event_id,
                object_id,
                values,
            }
        })
        .collect()
}

/// The queued execution of `flow_instance` that `trigger` starts.
pub(crate) fn event_execution<'a>(
    (flow_instance, flow): &(FlowInstance, Flow),
    trigger: &'a EventTrigger,
    now_ms: i64,
) -> NewExecution<'a> {
    NewExecution {
        organization_id: flow_instance.organization_id,
        flow_id: flow.id,
        flow_instance_id: flow_instance.id,
        trigger_kind: "event",
        trigger: &trigger.values,
        state: &Value::Null,
        attempt: 1,
        parent_execution_id: None,
        event_id: Some(&trigger.event_id),
        object_id: trigger.object_id.as_deref(),
        run_after_ms: now_ms,
        claimed_by: None,
        now_ms,
    }
}

impl App {
    /// The active flow instances listening to each connector instance's events.
    pub(crate) async fn event_listeners(
        &self,
    ) -> Result<HashMap<InstanceId, Vec<(FlowInstance, Flow)>>, AppError> {
        let mut by_instance: HashMap<InstanceId, Vec<(FlowInstance, Flow)>> = HashMap::new();
        for (instance, flow, kind) in self.triggered_flow_instances().await? {
            if let TriggerKind::Event {
                element_instance_id,
            } = kind
                && let Some(target) = instance_id_of(
                    &self.resolve_for_instance(&element_instance_id, &instance.configuration),
                )
            {
                by_instance
                    .entry(target)
                    .or_default()
                    .push((instance, flow));
            }
        }
        Ok(by_instance)
    }

    /// A vendor's delivery to the events URL of connector instance `id`. Nothing is read from
    /// the body before its signature holds; then each event not received before starts one
    /// execution of every flow instance listening, and its id is recorded in the same
    /// transaction, so a redelivery starts nothing.
    pub async fn receive_event_delivery(
        &self,
        id: InstanceId,
        delivery: EventDelivery<'_>,
    ) -> Result<DeliveryReceipt, AppError> {
        let store = &self.inner.store;
        let no_webhook = || {
            AppError::NotFound(format!(
                "no connector instance {id} receives webhook events"
            ))
        };
        let instance = store.get_instance_by_id(id).await?.ok_or_else(no_webhook)?;
        let connector = self
            .connector(&instance.connector_key)
            .map_err(|_| no_webhook())?;
        let Some((events_def, webhook)) = connector
            .def
            .events
            .as_ref()
            .and_then(|events| Some((events, events.webhook.as_ref()?)))
        else {
            return Err(no_webhook());
        };
        let secret_field = webhook.signature.secret_field.as_str();
        // Sealed, as a `password` field; read in plain too in case the definition changed kind
        // after the instance was made.
        let secret = instance
            .secret_configuration
            .get(secret_field)
            .map(|secret| secret.expose())
            .or_else(|| instance.configuration.get(secret_field).map(String::as_str));
        let now = self.now_ms();
        let events = ferry_connectors::receive_delivery(
            events_def,
            secret,
            &WebhookDelivery {
                headers: delivery.headers,
                body: delivery.body,
                now_seconds: now.div_euclid(1000),
            },
        )
        .inspect_err(|error| {
            tracing::info!(instance_id = %id, error = %error, "webhook delivery refused");
        })?;
        // Only a signed delivery learns the instance's state.
        if instance.disabled {
            return Err(AppError::Conflict(format!(
                "connector instance {id} is disabled: its events are refused until it is enabled"
            )));
        }
        let listeners = self
            .event_listeners()
            .await?
            .remove(&id)
            .unwrap_or_default();
        let triggers = event_triggers(&instance, &events, now);
        let delivered: Vec<DeliveredEvent<'_>> = triggers
            .iter()
            .map(|trigger| DeliveredEvent {
                event_id: &trigger.event_id,
                executions: listeners
                    .iter()
                    .map(|listener| event_execution(listener, trigger, now))
                    .collect(),
            })
            .collect();
        let recorded = store.record_delivered_events(id, &delivered, now).await?;
        let duplicates = recorded.iter().filter(|started| started.is_none()).count();
        let executions: Vec<ExecutionId> = recorded.into_iter().flatten().flatten().collect();
        if !executions.is_empty() {
            self.wake_queue_everywhere().await;
        }
        tracing::info!(
            instance_id = %id,
            events = events.len(),
            duplicates,
            executions = executions.len(),
            "webhook delivery received"
        );
        Ok(DeliveryReceipt {
            events: events.len(),
            duplicates,
            executions,
        })
    }
}
