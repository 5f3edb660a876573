//! `/formulas`: flow templates and their steps, triggers and variables.

use crate::extract::{Caller, JsonBody};
use crate::flow_wire::formula;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use ferry_model::FlowId;
use ferry_model::flow::{FlowDef, FlowVariableDef, StepDef, TriggerDef};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub(crate) fn flow_id(text: &str) -> Result<FlowId, ApiError> {
    text.parse()
        .ok()
        .filter(|id: &FlowId| id.0 > 0)
        .ok_or_else(|| ApiError::not_found(format!("no flow {text:?}")))
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ListParams {
    abridged: Option<bool>,
}

pub(crate) async fn create_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(def): JsonBody<FlowDef>,
) -> Result<Json<Value>, ApiError> {
    let flow = state.app.create_flow(&principal, def).await?;
    Ok(Json(formula(&flow, false)))
}

pub(crate) async fn list_formulas(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Query(params): Query<ListParams>,
) -> Result<Response, ApiError> {
    let flows = state.app.list_flows(&principal).await?;
    let abridged = params.abridged.unwrap_or(false);
    let body: Vec<Value> = flows.iter().map(|f| formula(f, abridged)).collect();
    let mut headers = HeaderMap::new();
    headers.insert("elements-total-count", body.len().into());
    headers.insert("elements-returned-count", body.len().into());
    Ok((headers, Json(body)).into_response())
}

pub(crate) async fn get_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(formula(
        &state.app.get_flow(&principal, flow_id(&id)?).await?,
        false,
    )))
}

/// The formula as a file to import elsewhere: no ids or dates.
pub(crate) async fn export_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let flow = state.app.get_flow(&principal, flow_id(&id)?).await?;
    let mut def = flow.def.clone();
    def.steps.iter_mut().for_each(|s| s.id = None);
    def.triggers.iter_mut().for_each(|t| t.id = None);
    def.configuration.iter_mut().for_each(|c| c.id = None);
    let filename = format!(
        "attachment; filename=\"{}.json\"",
        def.name.replace(['"', '\\', '\r', '\n'], "_")
    );
    let mut headers = HeaderMap::new();
    if let Ok(value) = filename.parse() {
        headers.insert("content-disposition", value);
    }
    Ok((headers, Json(def)).into_response())
}

pub(crate) async fn replace_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(def): JsonBody<FlowDef>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(formula(
        &state
            .app
            .replace_flow(&principal, flow_id(&id)?, def)
            .await?,
        false,
    )))
}

pub(crate) async fn update_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(formula(
        &state
            .app
            .patch_flow(&principal, flow_id(&id)?, &patch)
            .await?,
        false,
    )))
}

pub(crate) async fn delete_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.app.delete_flow(&principal, flow_id(&id)?).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn create_formula_step(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(step): JsonBody<StepDef>,
) -> Result<Json<StepDef>, ApiError> {
    Ok(Json(
        state
            .app
            .add_flow_step(&principal, flow_id(&id)?, step)
            .await?,
    ))
}

pub(crate) async fn replace_formula_step(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, step_ref)): Path<(String, String)>,
    JsonBody(step): JsonBody<StepDef>,
) -> Result<Json<StepDef>, ApiError> {
    Ok(Json(
        state
            .app
            .replace_flow_step(&principal, flow_id(&id)?, &step_ref, step)
            .await?,
    ))
}

pub(crate) async fn delete_formula_step(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, step_ref)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .app
        .delete_flow_step(&principal, flow_id(&id)?, &step_ref)
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn create_formula_trigger(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(trigger): JsonBody<TriggerDef>,
) -> Result<Json<TriggerDef>, ApiError> {
    Ok(Json(
        state
            .app
            .add_flow_trigger(&principal, flow_id(&id)?, trigger)
            .await?,
    ))
}

pub(crate) async fn get_formula_trigger(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, trigger_ref)): Path<(String, String)>,
) -> Result<Json<TriggerDef>, ApiError> {
    Ok(Json(
        state
            .app
            .get_flow_trigger(&principal, flow_id(&id)?, &trigger_ref)
            .await?,
    ))
}

pub(crate) async fn replace_formula_trigger(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, trigger_ref)): Path<(String, String)>,
    JsonBody(trigger): JsonBody<TriggerDef>,
) -> Result<Json<TriggerDef>, ApiError> {
    Ok(Json(
        state
            .app
            .replace_flow_trigger(&principal, flow_id(&id)?, &trigger_ref, trigger)
            .await?,
    ))
}

pub(crate) async fn delete_formula_trigger(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, trigger_ref)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .app
        .delete_flow_trigger(&principal, flow_id(&id)?, &trigger_ref)
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn create_formula_variable(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(variable): JsonBody<FlowVariableDef>,
) -> Result<Json<FlowVariableDef>, ApiError> {
    Ok(Json(
        state
            .app
            .add_flow_variable(&principal, flow_id(&id)?, variable)
            .await?,
    ))
}

pub(crate) async fn replace_formula_variable(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, variable_ref)): Path<(String, String)>,
    JsonBody(variable): JsonBody<FlowVariableDef>,
) -> Result<Json<FlowVariableDef>, ApiError> {
    Ok(Json(
        state
            .app
            .replace_flow_variable(&principal, flow_id(&id)?, &variable_ref, variable)
            .await?,
    ))
}

pub(crate) async fn delete_formula_variable(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, variable_ref)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    state
        .app
        .delete_flow_variable(&principal, flow_id(&id)?, &variable_ref)
        .await?;
    Ok(Json(json!({})))
}
