//! Flow instances: a flow bound to connector instances and values, active or not.

use crate::instances::strip_html;
use crate::secrets::generate_secret;
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_engine::TriggerKind;
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::{FlowId, FlowInstanceId, InstanceId, Secret};
use ferry_store::{FlowInstanceChanges, FlowInstanceFilter, NewFlowInstance};
use serde_json::{Map, Value};

/// What a caller gives when creating or replacing a flow instance.
#[derive(Debug, Clone, Default)]
pub struct FlowInstanceInput {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub configuration: Map<String, Value>,
    pub settings: Map<String, Value>,
}

/// A flow instance as shown, with its flow; `webhook_secret` only right after creation.
#[derive(Debug, Clone)]
pub struct FlowInstanceView {
    pub instance: FlowInstance,
    pub flow: Flow,
    pub webhook_secret: Option<Secret>,
}

/// An instance id as a variable holds it: a number or a numeric string.
pub(crate) fn instance_id_of(value: &Value) -> Option<InstanceId> {
    match value {
        Value::Number(n) => n.as_i64().map(InstanceId),
        Value::String(s) => s.trim().parse().ok().map(InstanceId),
        _ => None,
    }
}

impl App {
    /// Checks the variable bindings against the flow: required ones present, connector instances
    /// existing in the organization, and what the trigger needs.
    async fn check_bindings(
        &self,
        principal: &Principal,
        flow: &Flow,
        configuration: &Map<String, Value>,
    ) -> Result<(), AppError> {
        let plan = self.plan_of(flow)?;
        for variable in &flow.def.configuration {
            let value = configuration.get(&variable.key).filter(|v| !v.is_null());
            match value {
                None if variable.required => {
                    return Err(AppError::input(
                        format!("configuration.{}", variable.key),
                        format!("the flow's variable {:?} needs a value", variable.key),
                    ));
                }
                None => {}
                Some(value) if variable.kind == "elementInstance" => {
                    let id = instance_id_of(value).ok_or_else(|| {
                        AppError::input(
                            format!("configuration.{}", variable.key),
                            format!(
                                "variable {:?} takes a connector instance id, not {value}",
                                variable.key
                            ),
                        )
                    })?;
                    if self
                        .inner
                        .store
                        .get_instance(principal.organization.id, id)
                        .await?
                        .is_none()
                    {
                        return Err(AppError::input(
                            format!("configuration.{}", variable.key),
                            format!(
                                "variable {:?}: there is no connector instance {id}",
                                variable.key
                            ),
                        ));
                    }
                }
                Some(_) => {}
            }
        }
        match &plan.trigger {
            None => Err(AppError::input(
                "triggers",
                "the flow has no trigger; add one before creating instances",
            )),
            Some((
                trigger,
                TriggerKind::Event {
                    element_instance_id,
                },
            )) => {
                let resolved = self.resolve_for_instance(element_instance_id, configuration);
                let id = instance_id_of(&resolved).ok_or_else(|| {
                    AppError::input(
                        format!("triggers.{}.elementInstanceId", trigger.name),
                        "the event trigger's elementInstanceId does not name a connector instance",
                    )
                })?;
                let instance = self
                    .inner
                    .store
                    .get_instance(principal.organization.id, id)
                    .await?
                    .ok_or_else(|| {
                        AppError::input(
                            "triggers.elementInstanceId",
                            format!("there is no connector instance {id}"),
                        )
                    })?;
                if self.instance_connector(&instance)?.def.events.is_none() {
                    return Err(AppError::input(
                        "triggers.elementInstanceId",
                        format!(
                            "the {} connector has no events to trigger on",
                            instance.connector_key
                        ),
                    ));
                }
                Ok(())
            }
            Some((trigger, TriggerKind::Scheduled { cron })) => {
                let resolved =
                    self.resolve_for_instance(&Value::String(cron.clone()), configuration);
                let text = resolved.as_str().unwrap_or_default();
                ferry_engine::Schedule::parse(text)
                    .map(|_| ())
                    .map_err(|message| {
                        AppError::input(format!("triggers.{}.cron", trigger.name), message)
                    })
            }
            Some(_) => Ok(()),
        }
    }

    /// Resolves a trigger property against a flow instance's variables.
    pub(crate) fn resolve_for_instance(
        &self,
        value: &Value,
        configuration: &Map<String, Value>,
    ) -> Value {
        let (trigger, info, steps) = (Value::Null, Value::Null, Map::new());
        ferry_engine::resolve(
            value,
            &ferry_engine::StepContext {
                trigger: &trigger,
                steps: &steps,
                info: &info,
                config: configuration,
            },
        )
    }

    pub async fn create_flow_instance(
        &self,
        principal: &Principal,
        flow_id: FlowId,
        input: FlowInstanceInput,
    ) -> Result<FlowInstanceView, AppError> {
        let flow = self.get_flow(principal, flow_id).await?;
        let name = strip_html(input.name.as_deref().unwrap_or_default());
        if name.is_empty() {
            return Err(AppError::input("name", "name is required"));
        }
        self.check_bindings(principal, &flow, &input.configuration)
            .await?;
        let plan = self.plan_of(&flow)?;
        let webhook_secret =
            matches!(plan.trigger, Some((_, TriggerKind::Webhook { .. }))).then(generate_secret);
        let instance = self
            .inner
            .store
            .insert_flow_instance(NewFlowInstance {
                organization_id: principal.organization.id,
                flow_id,
                name: &name,
                active: input.active.unwrap_or(true),
                configuration: &input.configuration,
                settings: &input.settings,
                webhook_secret: webhook_secret.as_ref(),
                now_ms: self.now_ms(),
            })
            .await?;
        if let Some((
            _,
            TriggerKind::Event {
                element_instance_id,
            },
        )) = &plan.trigger
            && let Some(target) = instance_id_of(
                &self.resolve_for_instance(element_instance_id, &input.configuration),
            )
        {
            self.prime_event_cursor(target).await;
        }
        self.flows_changed();
        tracing::info!(flow_instance_id = %instance.id, flow_id = %flow_id, "flow instance created");
        Ok(FlowInstanceView {
            instance,
            flow,
            webhook_secret,
        })
    }

    pub async fn get_flow_instance(
        &self,
        principal: &Principal,
        id: FlowInstanceId,
    ) -> Result<FlowInstanceView, AppError> {
        let instance = self
            .inner
            .store
            .get_flow_instance(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no flow instance {id}")))?;
        let flow = self.get_flow(principal, instance.flow_id).await?;
        Ok(FlowInstanceView {
            instance,
            flow,
            webhook_secret: None,
        })
    }

    /// Lists flow instances; `element_instance` keeps those bound to that connector instance.
    pub async fn list_flow_instances(
        &self,
        principal: &Principal,
        filter: &FlowInstanceFilter,
        element_instance: Option<InstanceId>,
    ) -> Result<Vec<FlowInstanceView>, AppError> {
        let instances = self
            .inner
            .store
            .list_flow_instances(principal.organization.id, filter)
            .await?;
        let mut views = Vec::with_capacity(instances.len());
        for instance in instances {
            if let Some(wanted) = element_instance
                && !instance
                    .configuration
                    .values()
                    .any(|v| instance_id_of(v) == Some(wanted))
            {
                continue;
            }
            let flow = self.get_flow(principal, instance.flow_id).await?;
            views.push(FlowInstanceView {
                instance,
                flow,
                webhook_secret: None,
            });
        }
        Ok(views)
    }

    pub async fn replace_flow_instance(
        &self,
        principal: &Principal,
        id: FlowInstanceId,
        input: FlowInstanceInput,
    ) -> Result<FlowInstanceView, AppError> {
        let current = self.get_flow_instance(principal, id).await?;
        let name = match input.name.as_deref().map(strip_html) {
            Some(name) if name.is_empty() => {
                return Err(AppError::input("name", "name cannot be empty"));
            }
            Some(name) => name,
            None => current.instance.name.clone(),
        };
        self.check_bindings(principal, &current.flow, &input.configuration)
            .await?;
        let instance = self
            .inner
            .store
            .update_flow_instance(
                principal.organization.id,
                id,
                &FlowInstanceChanges {
                    name: &name,
                    configuration: &input.configuration,
                    settings: &input.settings,
                    now_ms: self.now_ms(),
                },
            )
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no flow instance {id}")))?;
        if let Some(active) = input.active
            && active != instance.active
        {
            self.set_flow_instance_active(principal, id, active).await?;
        }
        self.flows_changed();
        self.get_flow_instance(principal, id).await
    }

    pub async fn set_flow_instance_active(
        &self,
        principal: &Principal,
        id: FlowInstanceId,
        active: bool,
    ) -> Result<FlowInstanceView, AppError> {
        if !self
            .inner
            .store
            .set_flow_instance_active(principal.organization.id, id, active, self.now_ms())
            .await?
        {
            return Err(AppError::NotFound(format!("no flow instance {id}")));
        }
        self.flows_changed();
        self.get_flow_instance(principal, id).await
    }

    pub async fn delete_flow_instance(
        &self,
        principal: &Principal,
        id: FlowInstanceId,
    ) -> Result<(), AppError> {
        if self
            .inner
            .store
            .delete_flow_instance(principal.organization.id, id)
            .await?
        {
            self.flows_changed();
            Ok(())
        } else {
            Err(AppError::NotFound(format!("no flow instance {id}")))
        }
    }
}
