//! Change events of an instance, for `event` triggers: the connector's polling (a hook or
//! declared) asks the provider what changed since a cursor the caller stores; webhook deliveries
//! (`webhooks`) bring the same events unasked.

use crate::ConnectorError;
use crate::catalog::Connector;
use crate::egress::Credentials;
use crate::hooks::{self, HookContext};
use crate::runtime::{InstanceContext, Runtime};
use serde_json::Value;

/// One change, in Cloud Elements' normalized event terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    pub object_type: String,
    pub object_id: String,
    /// `CREATED`, `UPDATED` or `DELETED`.
    pub event_type: &'static str,
    /// The provider's position of this change (Gmail: its history record id).
    pub history_id: Option<String>,
    /// The vendor's own id of the event (webhook deliveries): delivered again, it is the same
    /// event. Polled events are told apart by their position instead.
    pub id: Option<String>,
    /// The vendor's own record of the object, as the change listed it.
    pub raw: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EventBatch {
    pub events: Vec<ChangeEvent>,
    /// Where the next poll starts.
    pub cursor: String,
    /// The stored cursor was too old for the provider; polling restarted from now.
    pub restarted: bool,
}

impl Runtime {
    /// The changes after `cursor` (`None`: only learn the current position).
    pub async fn poll_events<C: Credentials>(
        &self,
        connector: &Connector,
        instance: &InstanceContext<'_>,
        credentials: &C,
        cursor: Option<&str>,
    ) -> Result<EventBatch, ConnectorError> {
        let events = connector
            .def
            .events
            .as_ref()
            .ok_or_else(|| ConnectorError::InvalidInput {
                field: Some("elementInstanceId".into()),
                message: format!("the {} connector has no events", connector.def.key),
            })?;
        let context = HookContext {
            runtime: self,
            connector,
            instance,
            credentials,
            path_values: &[],
        };
        match (&events.polling, &events.polling_hook) {
            (Some(polling), _) => {
                crate::polling::poll(&context, polling, &events.object_type, cursor).await
            }
            (None, Some(hook)) => {
                hooks::run_events(hook, &context, &events.object_type, cursor).await
            }
            (None, None) => Err(ConnectorError::InvalidDefinition {
                location: format!("{}: events", connector.def.key),
                message: "declares no way to poll".into(),
            }),
        }
    }
}
