//! `/formulas`: flow templates and their steps, triggers and variables.

use crate::error::ErrorBody;
use crate::extract::{Caller, JsonBody};
use crate::flow_wire::FormulaBody;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::rejection::QueryRejection;
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

/// The query of `GET /formulas`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Leave out each formula's `steps`.
    abridged: Option<bool>,
}

/// What `PATCH /formulas/{id}` changes; absent fields keep their values. The handler checks the
/// body against this type before the flow is changed, so the schema is what is accepted.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(dead_code)] // read by serde only: the patch itself goes to the app as JSON
pub(crate) struct FormulaPatch {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    active: bool,
    /// `v1`, `v2` or `v3`.
    #[serde(default)]
    engine: Option<String>,
    /// `false` only with engine `v3`.
    #[serde(default)]
    debug_logging_enabled: Option<bool>,
    /// Formula-as-a-resource: the HTTP method, with `uri`.
    #[serde(default)]
    method: Option<String>,
    /// Formula-as-a-resource: the path, with `method`.
    #[serde(default)]
    uri: Option<String>,
}

/// Create a formula
///
/// The formula is checked as a whole before it is stored: every problem is named in `problems`,
/// each with its step and property (and line and column, for scripts). Steps, triggers and
/// variables get ids.
#[utoipa::path(post, path = "/formulas", tag = "formulas",
    request_body(content = FlowDef, description = "Cloud Elements' formula JSON"),
    responses(
        (status = 200, description = "The stored formula", body = FormulaBody),
        (status = 400, description = "The body is not a formula, or the formula is not valid: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
        (status = 409, description = "Two variables have the same key", body = ErrorBody),
    ))]
pub(crate) async fn create_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(def): JsonBody<FlowDef>,
) -> Result<Json<FormulaBody>, ApiError> {
    let flow = state.app.create_flow(&principal, def).await?;
    Ok(Json(FormulaBody::new(flow, false)))
}

/// List formulas
///
/// Every formula of the organization.
#[utoipa::path(get, path = "/formulas", tag = "formulas", params(ListParams),
    responses((status = 200, description = "The formulas; without `steps` when `abridged=true`", body = Vec<FormulaBody>,
        headers(("Elements-Total-Count" = i64, description = "How many formulas there are"),
                ("Elements-Returned-Count" = i64, description = "How many are in this answer")))))]
pub(crate) async fn list_formulas(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    params: Result<Query<ListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("query", e.body_text()))?;
    let flows = state.app.list_flows(&principal).await?;
    let abridged = params.abridged.unwrap_or(false);
    let body: Vec<FormulaBody> = flows
        .into_iter()
        .map(|f| FormulaBody::new(f, abridged))
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("elements-total-count", body.len().into());
    headers.insert("elements-returned-count", body.len().into());
    Ok((headers, Json(body)).into_response())
}

/// Get a formula
#[utoipa::path(get, path = "/formulas/{id}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    responses((status = 200, description = "The formula", body = FormulaBody)))]
pub(crate) async fn get_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<FormulaBody>, ApiError> {
    Ok(Json(FormulaBody::new(
        state.app.get_flow(&principal, flow_id(&id)?).await?,
        false,
    )))
}

/// Export a formula
///
/// The formula as a file to import elsewhere (`POST /formulas`): no ids, dates or owner.
#[utoipa::path(get, path = "/formulas/{id}/export", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    responses((status = 200, description = "The formula JSON", body = FlowDef,
        headers(("Content-Disposition" = String, description = "`attachment; filename=\"<formula name>.json\"`")))))]
pub(crate) async fn export_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let flow = state.app.get_flow(&principal, flow_id(&id)?).await?;
    let mut def = flow.def;
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

/// Replace a formula
///
/// The whole formula, checked as on create. Flow instances keep their values; changes apply to
/// executions that start afterwards.
#[utoipa::path(put, path = "/formulas/{id}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = FlowDef, description = "The formula JSON, as GET answered it or changed"),
    responses(
        (status = 200, description = "The stored formula", body = FormulaBody),
        (status = 400, description = "The body is not a formula, or the formula is not valid: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
        (status = 409, description = "Two variables have the same key", body = ErrorBody),
    ))]
pub(crate) async fn replace_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(def): JsonBody<FlowDef>,
) -> Result<Json<FormulaBody>, ApiError> {
    Ok(Json(FormulaBody::new(
        state
            .app
            .replace_flow(&principal, flow_id(&id)?, def)
            .await?,
        false,
    )))
}

/// Change a formula's settings
///
/// Changes `name`, `description`, `active`, `engine`, `debugLoggingEnabled`, `method` or `uri`;
/// steps, triggers and variables have their own calls.
#[utoipa::path(patch, path = "/formulas/{id}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = FormulaPatch, description = "The fields to change"),
    responses(
        (status = 200, description = "The stored formula", body = FormulaBody),
        (status = 400, description = "A field that cannot be patched, a value of the wrong type, or a formula that would not be valid", body = ErrorBody),
    ))]
pub(crate) async fn update_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<FormulaBody>, ApiError> {
    let id = flow_id(&id)?;
    FormulaPatch::deserialize(&Value::Object(patch.clone())).map_err(|e| {
        ApiError::bad_request("body", format!("the body is not a patch of a formula: {e}"))
    })?;
    Ok(Json(FormulaBody::new(
        state.app.patch_flow(&principal, id, &patch).await?,
        false,
    )))
}

/// Delete a formula
#[utoipa::path(delete, path = "/formulas/{id}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 409, description = "The formula has instances; delete them first", body = ErrorBody),
    ))]
pub(crate) async fn delete_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state.app.delete_flow(&principal, flow_id(&id)?).await?;
    Ok(Json(json!({})))
}

/// Add a step
///
/// The formula with the new step is checked as a whole; if it is not valid, nothing changes.
/// Other steps reach the new one through their `onSuccess`/`onFailure`.
#[utoipa::path(post, path = "/formulas/{id}/steps", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = StepDef, description = "The step"),
    responses(
        (status = 200, description = "The step, with its id", body = StepDef),
        (status = 400, description = "The body is not a step, or the formula would not be valid with it: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
        (status = 409, description = "The formula has a step of that name", body = ErrorBody),
    ))]
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

/// Replace a step
///
/// Renaming a step rewrites the `onSuccess`/`onFailure` lists that name it.
#[utoipa::path(put, path = "/formulas/{id}/steps/{step}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("step" = String, Path, description = "The step's id or name")),
    request_body(content = StepDef, description = "The step"),
    responses(
        (status = 200, description = "The step", body = StepDef),
        (status = 400, description = "The body is not a step, or the formula would not be valid with it: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
    ))]
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

/// Delete a step
///
/// The step goes, and so does every `onSuccess`/`onFailure` path to it.
#[utoipa::path(delete, path = "/formulas/{id}/steps/{step}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("step" = String, Path, description = "The step's id or name")),
    responses((status = 200, description = "Deleted", body = Object)))]
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

/// Add the trigger
///
/// A formula has one trigger.
#[utoipa::path(post, path = "/formulas/{id}/triggers", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = TriggerDef, description = "The trigger"),
    responses(
        (status = 200, description = "The trigger, with its id", body = TriggerDef),
        (status = 400, description = "The body is not a trigger, or the formula would not be valid with it: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
        (status = 409, description = "The formula has a trigger; replace or delete it", body = ErrorBody),
    ))]
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

/// Get the trigger
#[utoipa::path(get, path = "/formulas/{id}/triggers/{trigger}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("trigger" = String, Path, description = "The trigger's id or name")),
    responses((status = 200, description = "The trigger", body = TriggerDef)))]
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

/// Replace the trigger
#[utoipa::path(put, path = "/formulas/{id}/triggers/{trigger}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("trigger" = String, Path, description = "The trigger's id or name")),
    request_body(content = TriggerDef, description = "The trigger"),
    responses(
        (status = 200, description = "The trigger", body = TriggerDef),
        (status = 400, description = "The body is not a trigger, or the formula would not be valid with it: `code` is `invalid_flow` and `problems` names each problem", body = ErrorBody),
    ))]
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

/// Delete the trigger
///
/// A formula without a trigger is kept, but it cannot get new instances until it has one.
#[utoipa::path(delete, path = "/formulas/{id}/triggers/{trigger}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("trigger" = String, Path, description = "The trigger's id or name")),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 400, description = "The formula would not be valid without it (a formula with `method` and `uri` needs a manual trigger)", body = ErrorBody),
    ))]
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

/// Add a variable
///
/// Each flow instance gives the variable a value; steps read it as `${config.<key>}`.
#[utoipa::path(post, path = "/formulas/{id}/configuration", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = FlowVariableDef, description = "The variable"),
    responses(
        (status = 200, description = "The variable, with its id", body = FlowVariableDef),
        (status = 400, description = "The body is not a variable, or the variable is not valid (an empty key, an unknown type)", body = ErrorBody),
        (status = 409, description = "The formula has a variable with that key", body = ErrorBody),
    ))]
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

/// Replace a variable
///
/// Changing the key rewrites the references to it (`${config.<key>}` in steps, `${<key>}` in the
/// trigger).
#[utoipa::path(put, path = "/formulas/{id}/configuration/{variable}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("variable" = String, Path, description = "The variable's id or key")),
    request_body(content = FlowVariableDef, description = "The variable"),
    responses(
        (status = 200, description = "The variable", body = FlowVariableDef),
        (status = 400, description = "The body is not a variable, or the variable is not valid (an empty key, an unknown type)", body = ErrorBody),
        (status = 409, description = "Another variable has that key", body = ErrorBody),
    ))]
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

/// Delete a variable
#[utoipa::path(delete, path = "/formulas/{id}/configuration/{variable}", tag = "formulas",
    params(("id" = i64, Path, description = "The formula id"),
        ("variable" = String, Path, description = "The variable's id or key")),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 409, description = "The formula has instances, which bind its variables; delete them first", body = ErrorBody),
    ))]
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
