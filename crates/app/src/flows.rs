//! Flow templates: create, read, replace, patch, delete, and their steps, triggers and variables
//! one at a time — each change checked as a whole flow before it is stored.

use crate::instances::strip_html;
use crate::tenancy::Principal;
use crate::{App, AppError};
use ferry_engine::{FlowPlan, FlowProblem, validate};
use ferry_model::FlowId;
use ferry_model::execution::Flow;
use ferry_model::flow::{FlowDef, FlowVariableDef, StepDef, TriggerDef};
use ferry_sandbox::ScriptKind;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::sync::Arc;

/// A step, trigger or variable named in a URL: by id, or by name (key) as a convenience.
fn matches_ref(id: Option<i64>, name: &str, reference: &str) -> bool {
    id.is_some_and(|id| id.to_string() == reference) || name == reference
}

/// Gives ids to steps, triggers and variables that have none (Cloud Elements shows them): one
/// more than the largest id, or the smallest free one when the largest is `i64::MAX`.
fn assign_ids(def: &mut FlowDef) {
    let mut used: BTreeSet<i64> = def
        .steps
        .iter()
        .filter_map(|s| s.id)
        .chain(def.triggers.iter().filter_map(|t| t.id))
        .chain(def.configuration.iter().filter_map(|c| c.id))
        .collect();
    let mut take = || {
        let largest = used.last().copied().unwrap_or(0);
        let id = largest
            .checked_add(1)
            .or_else(|| (1..).find(|id| !used.contains(id)))?;
        used.insert(id);
        Some(id)
    };
    for step in def.steps.iter_mut().filter(|s| s.id.is_none()) {
        step.id = take();
    }
    for trigger in def.triggers.iter_mut().filter(|t| t.id.is_none()) {
        trigger.id = take();
    }
    for variable in def.configuration.iter_mut().filter(|c| c.id.is_none()) {
        variable.id = take();
    }
}

impl App {
    /// Validates a flow the way every save does; scripts are checked by the sandbox.
    pub fn check_flow(&self, def: &FlowDef) -> Result<FlowPlan, AppError> {
        let sandbox = &self.inner.flows.sandbox;
        let check = |filter: bool, body: &str| {
            let kind = if filter {
                ScriptKind::Filter
            } else {
                ScriptKind::Script
            };
            sandbox
                .check(kind, body)
                .map_err(|p| (p.message, p.line, p.column))
        };
        validate(def, &check).map_err(|problems| {
            if problems.iter().all(|p| p.conflict) {
                AppError::Conflict(
                    problems
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; "),
                )
            } else {
                AppError::InvalidFlow { problems }
            }
        })
    }

    /// The validated plan of a stored flow, cached by its last change.
    pub(crate) fn plan_of(&self, flow: &Flow) -> Result<Arc<FlowPlan>, AppError> {
        let key = (flow.id, flow.updated_at_ms);
        if let Some(plan) = self.inner.flows.plans.get(&key) {
            return Ok(plan);
        }
        let plan = Arc::new(self.check_flow(&flow.def)?);
        self.inner.flows.plans.insert(key, plan.clone());
        Ok(plan)
    }

    fn clean(mut def: FlowDef) -> FlowDef {
        def.name = strip_html(&def.name);
        assign_ids(&mut def);
        def
    }

    pub async fn create_flow(&self, principal: &Principal, def: FlowDef) -> Result<Flow, AppError> {
        let def = Self::clean(def);
        self.check_flow(&def)?;
        let flow = self
            .inner
            .store
            .insert_flow(
                principal.organization.id,
                principal.user.id,
                &def,
                self.now_ms(),
            )
            .await?;
        tracing::info!(flow_id = %flow.id, "flow created");
        Ok(flow)
    }

    pub async fn list_flows(&self, principal: &Principal) -> Result<Vec<Flow>, AppError> {
        Ok(self
            .inner
            .store
            .list_flows(principal.organization.id)
            .await?)
    }

    pub async fn get_flow(&self, principal: &Principal, id: FlowId) -> Result<Flow, AppError> {
        self.inner
            .store
            .get_flow(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no flow {id}")))
    }

    pub async fn replace_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        def: FlowDef,
    ) -> Result<Flow, AppError> {
        self.get_flow(principal, id).await?;
        self.store_flow(principal, id, Self::clean(def)).await
    }

    async fn store_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        def: FlowDef,
    ) -> Result<Flow, AppError> {
        self.check_flow(&def)?;
        let flow = self
            .inner
            .store
            .update_flow(principal.organization.id, id, &def, self.now_ms())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no flow {id}")))?;
        self.flows_changed();
        Ok(flow)
    }

    /// PATCH: `name`, `description`, `active`, `engine`, `debugLoggingEnabled`, `method`, `uri`.
    pub async fn patch_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        patch: &Map<String, Value>,
    ) -> Result<Flow, AppError> {
        let flow = self.get_flow(principal, id).await?;
        let mut value =
            serde_json::to_value(&flow.def).map_err(|e| AppError::Internal(e.to_string()))?;
        const PATCHABLE: [&str; 7] = [
            "name",
            "description",
            "active",
            "engine",
            "debugLoggingEnabled",
            "method",
            "uri",
        ];
        for (key, patched) in patch {
            if !PATCHABLE.contains(&key.as_str()) {
                return Err(AppError::input(
                    key,
                    format!(
                        "{key} cannot be patched; PATCH takes {}",
                        PATCHABLE.join(", ")
                    ),
                ));
            }
            value[key] = patched.clone();
        }
        let def: FlowDef = serde_json::from_value(value)
            .map_err(|e| AppError::input("body", format!("the patched flow is not valid: {e}")))?;
        self.store_flow(principal, id, Self::clean(def)).await
    }

    pub async fn delete_flow(&self, principal: &Principal, id: FlowId) -> Result<(), AppError> {
        match self
            .inner
            .store
            .delete_flow(principal.organization.id, id)
            .await
        {
            Ok(true) => {
                self.flows_changed();
                Ok(())
            }
            Ok(false) => Err(AppError::NotFound(format!("no flow {id}"))),
            Err(ferry_store::StoreError::Conflict(_)) => Err(AppError::Conflict(format!(
                "flow {id} has instances; delete them first"
            ))),
            Err(other) => Err(other.into()),
        }
    }

    async fn edit_flow(
        &self,
        principal: &Principal,
        id: FlowId,
        edit: impl FnOnce(&mut FlowDef) -> Result<(), AppError>,
    ) -> Result<Flow, AppError> {
        let mut def = self.get_flow(principal, id).await?.def;
        edit(&mut def)?;
        self.store_flow(principal, id, Self::clean(def)).await
    }

    pub async fn add_flow_step(
        &self,
        principal: &Principal,
        id: FlowId,
        step: StepDef,
    ) -> Result<StepDef, AppError> {
        let name = step.name.clone();
        let flow = self
            .edit_flow(principal, id, |def| {
                if def.step(&step.name).is_some() {
                    return Err(AppError::Conflict(format!(
                        "flow {id} already has a step {:?}",
                        step.name
                    )));
                }
                def.steps.push(StepDef { id: None, ..step });
                Ok(())
            })
            .await?;
        Ok(flow.def.step(&name).cloned().expect("just added"))
    }

    pub async fn replace_flow_step(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
        step: StepDef,
    ) -> Result<StepDef, AppError> {
        let name = step.name.clone();
        let flow = self
            .edit_flow(principal, id, |def| {
                let index = def
                    .steps
                    .iter()
                    .position(|s| matches_ref(s.id, &s.name, reference))
                    .ok_or_else(|| {
                        AppError::NotFound(format!("flow {id} has no step {reference:?}"))
                    })?;
                let old = def.steps[index].clone();
                if old.name != step.name {
                    for other in def.steps.iter_mut() {
                        for next in other
                            .on_success
                            .iter_mut()
                            .chain(other.on_failure.iter_mut())
                        {
                            if *next == old.name {
                                next.clone_from(&step.name);
                            }
                        }
                    }
                    for trigger in def.triggers.iter_mut() {
                        for next in trigger
                            .on_success
                            .iter_mut()
                            .chain(trigger.on_failure.iter_mut())
                        {
                            if *next == old.name {
                                next.clone_from(&step.name);
                            }
                        }
                    }
                }
                def.steps[index] = StepDef { id: old.id, ..step };
                Ok(())
            })
            .await?;
        Ok(flow.def.step(&name).cloned().expect("just replaced"))
    }

    /// Deletes a step and every path to it, as Cloud Elements did.
    pub async fn delete_flow_step(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
    ) -> Result<(), AppError> {
        self.edit_flow(principal, id, |def| {
            let index = def
                .steps
                .iter()
                .position(|s| matches_ref(s.id, &s.name, reference))
                .ok_or_else(|| {
                    AppError::NotFound(format!("flow {id} has no step {reference:?}"))
                })?;
            let removed = def.steps.remove(index).name;
            for other in def.steps.iter_mut() {
                other.on_success.retain(|n| *n != removed);
                other.on_failure.retain(|n| *n != removed);
            }
            for trigger in def.triggers.iter_mut() {
                trigger.on_success.retain(|n| *n != removed);
                trigger.on_failure.retain(|n| *n != removed);
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn add_flow_trigger(
        &self,
        principal: &Principal,
        id: FlowId,
        trigger: TriggerDef,
    ) -> Result<TriggerDef, AppError> {
        let flow = self
            .edit_flow(principal, id, |def| {
                if !def.triggers.is_empty() {
                    return Err(AppError::Conflict(format!(
                        "flow {id} already has a trigger; replace or delete it first"
                    )));
                }
                def.triggers.push(TriggerDef {
                    id: None,
                    ..trigger
                });
                Ok(())
            })
            .await?;
        Ok(flow.def.triggers[0].clone())
    }

    pub async fn get_flow_trigger(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
    ) -> Result<TriggerDef, AppError> {
        let flow = self.get_flow(principal, id).await?;
        flow.def
            .triggers
            .into_iter()
            .find(|t| matches_ref(t.id, &t.name, reference))
            .ok_or_else(|| AppError::NotFound(format!("flow {id} has no trigger {reference:?}")))
    }

    pub async fn replace_flow_trigger(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
        trigger: TriggerDef,
    ) -> Result<TriggerDef, AppError> {
        let flow = self
            .edit_flow(principal, id, |def| {
                let slot = def
                    .triggers
                    .iter_mut()
                    .find(|t| matches_ref(t.id, &t.name, reference))
                    .ok_or_else(|| {
                        AppError::NotFound(format!("flow {id} has no trigger {reference:?}"))
                    })?;
                *slot = TriggerDef {
                    id: slot.id,
                    ..trigger
                };
                Ok(())
            })
            .await?;
        Ok(flow.def.triggers[0].clone())
    }

    pub async fn delete_flow_trigger(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
    ) -> Result<(), AppError> {
        self.edit_flow(principal, id, |def| {
            let before = def.triggers.len();
            def.triggers
                .retain(|t| !matches_ref(t.id, &t.name, reference));
            if def.triggers.len() == before {
                return Err(AppError::NotFound(format!(
                    "flow {id} has no trigger {reference:?}"
                )));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }

    pub async fn add_flow_variable(
        &self,
        principal: &Principal,
        id: FlowId,
        variable: FlowVariableDef,
    ) -> Result<FlowVariableDef, AppError> {
        let key = variable.key.clone();
        let flow = self
            .edit_flow(principal, id, |def| {
                if def.configuration.iter().any(|c| c.key == variable.key) {
                    return Err(AppError::Conflict(format!(
                        "flow {id} already has a variable {:?}",
                        variable.key
                    )));
                }
                def.configuration.push(FlowVariableDef {
                    id: None,
                    ..variable
                });
                Ok(())
            })
            .await?;
        Ok(flow
            .def
            .configuration
            .into_iter()
            .find(|c| c.key == key)
            .expect("just added"))
    }

    pub async fn replace_flow_variable(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
        variable: FlowVariableDef,
    ) -> Result<FlowVariableDef, AppError> {
        let key = variable.key.clone();
        let flow = self
            .edit_flow(principal, id, |def| {
                let index = def
                    .configuration
                    .iter()
                    .position(|c| matches_ref(c.id, &c.key, reference))
                    .ok_or_else(|| {
                        AppError::NotFound(format!("flow {id} has no variable {reference:?}"))
                    })?;
                if def
                    .configuration
                    .iter()
                    .enumerate()
                    .any(|(i, c)| i != index && c.key == variable.key)
                {
                    return Err(AppError::Conflict(format!(
                        "flow {id} already has a variable {:?}",
                        variable.key
                    )));
                }
                let old_key = def.configuration[index].key.clone();
                def.configuration[index] = FlowVariableDef {
                    id: def.configuration[index].id,
                    ..variable
                };
                if old_key != key {
                    rename_variable(def, &old_key, &key);
                }
                Ok(())
            })
            .await?;
        Ok(flow
            .def
            .configuration
            .into_iter()
            .find(|c| c.key == key)
            .expect("just replaced"))
    }

    pub async fn delete_flow_variable(
        &self,
        principal: &Principal,
        id: FlowId,
        reference: &str,
    ) -> Result<(), AppError> {
        let instances = self
            .inner
            .store
            .list_flow_instances(
                principal.organization.id,
                &ferry_store::FlowInstanceFilter {
                    flow_id: Some(id),
                    include_inactive: true,
                    search_text: None,
                },
            )
            .await?;
        if !instances.is_empty() {
            return Err(AppError::Conflict(format!(
                "flow {id} has instances that bind its variables; delete them first"
            )));
        }
        self.edit_flow(principal, id, |def| {
            let before = def.configuration.len();
            def.configuration
                .retain(|c| !matches_ref(c.id, &c.key, reference));
            if def.configuration.len() == before {
                return Err(AppError::NotFound(format!(
                    "flow {id} has no variable {reference:?}"
                )));
            }
            Ok(())
        })
        .await?;
        Ok(())
    }
}

/// Renaming a variable rewrites its references, in both forms (`${config.k}` in steps, `${k}` in
/// triggers), as Cloud Elements did.
fn rename_variable(def: &mut FlowDef, old: &str, new: &str) {
    fn rewrite(value: &mut Value, old: &str, new: &str) {
        match value {
            Value::String(text) => {
                *text = text
                    .replace(&format!("${{config.{old}}}"), &format!("${{config.{new}}}"))
                    .replace(&format!("${{{old}}}"), &format!("${{{new}}}"));
            }
            Value::Array(items) => items.iter_mut().for_each(|v| rewrite(v, old, new)),
            Value::Object(map) => map.values_mut().for_each(|v| rewrite(v, old, new)),
            _ => {}
        }
    }
    for step in &mut def.steps {
        step.properties
            .values_mut()
            .for_each(|v| rewrite(v, old, new));
    }
    for trigger in &mut def.triggers {
        trigger
            .properties
            .values_mut()
            .for_each(|v| rewrite(v, old, new));
    }
}

impl From<Vec<FlowProblem>> for AppError {
    fn from(problems: Vec<FlowProblem>) -> Self {
        AppError::InvalidFlow { problems }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renaming_a_variable_rewrites_both_reference_forms() {
        let mut def: FlowDef = serde_json::from_value(json!({
            "name": "x",
            "configuration": [{"key": "crm"}],
            "triggers": [{"type": "event", "properties": {"elementInstanceId": "${crm}"}}],
            "steps": [{"name": "a", "type": "elementRequest", "properties": {"elementInstanceId": "${config.crm}", "api": "/x/${config.crm}"}}]
        }))
        .unwrap();
        rename_variable(&mut def, "crm", "gmail");
        assert_eq!(def.triggers[0].properties["elementInstanceId"], "${gmail}");
        assert_eq!(
            def.steps[0].properties["elementInstanceId"],
            "${config.gmail}"
        );
        assert_eq!(def.steps[0].properties["api"], "/x/${config.gmail}");
    }

    #[test]
    fn an_id_of_i64_max_does_not_overflow_the_next_one() {
        // A client sent a step with `"id": 9223372036854775807` beside one without an id; the
        // next id was the largest plus one, which overflowed and panicked the request (found by
        // schemathesis).
        let mut def: FlowDef = serde_json::from_value(json!({
            "name": "x", "steps": [{"name": "a", "type": "script", "id": i64::MAX}, {"name": "b", "type": "script"}, {"name": "c", "type": "script", "id": 1}]
        }))
        .unwrap();
        assign_ids(&mut def);
        assert_eq!(def.steps[1].id, Some(2));
    }

    #[test]
    fn ids_are_given_once() {
        let mut def: FlowDef = serde_json::from_value(json!({
            "name": "x", "steps": [{"name": "a", "type": "script", "id": 7}, {"name": "b", "type": "script"}]
        }))
        .unwrap();
        assign_ids(&mut def);
        assert_eq!(def.steps[0].id, Some(7));
        assert_eq!(def.steps[1].id, Some(8));
    }
}
