//! `/formulas/…/instances`: flow instances, and starting and reading their executions.
//!
//! The routes of one flow instance exist twice, as `/formulas/instances/{instance}…` and as
//! `/formulas/{id}/instances/{instance}…`; the second form's handlers (`…_by_formula`) check that
//! the instance belongs to the formula and then do what the first form does.

use crate::error::ErrorBody;
use crate::extract::{Caller, JsonBody};
use crate::flow_wire::{
    ExecutionBody, ExecutionValues, FormulaInstanceBody, StepExecutionBody, StepExecutionValue,
    WebhookQueuedBody, step_values,
};
use crate::formulas::flow_id;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_app::{ExecutionQuery, FlowInstanceInput, FlowInstanceView, Principal};
use ferry_model::execution::ExecutionStatus;
use ferry_model::{ExecutionId, FlowInstanceId, InstanceId, StepExecutionId};
use ferry_store::FlowInstanceFilter;
use serde::Deserialize;
use serde_json::{Map, Value, json};

fn numeric<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::not_found(format!("no {what} {text:?}")))
}

fn flow_instance_id(text: &str) -> Result<FlowInstanceId, ApiError> {
    numeric(text, "flow instance")
}

fn execution_id(text: &str) -> Result<ExecutionId, ApiError> {
    numeric(text, "execution")
}

fn step_execution_id(text: &str) -> Result<StepExecutionId, ApiError> {
    numeric(text, "step execution")
}

/// The flow instance that `/formulas/{id}/instances/{instance}` names: one of that formula's.
async fn instance_of_formula(
    state: &ApiState,
    principal: &Principal,
    flow: &str,
    instance: &str,
) -> Result<FlowInstanceView, ApiError> {
    let flow = flow_id(flow)?;
    let view = state
        .app
        .get_flow_instance(principal, flow_instance_id(instance)?)
        .await?;
    if view.flow.id == flow {
        Ok(view)
    } else {
        Err(ApiError::not_found(format!(
            "formula {flow} has no instance {instance:?}"
        )))
    }
}

/// A formula instance as it is created or replaced. Unknown fields are ignored, so that a body
/// read with GET can be sent back with PUT.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(as = FormulaInstanceRequest)]
pub(crate) struct FlowInstanceRequest {
    /// The instance's name; required when creating, kept when absent on PUT.
    name: Option<String>,
    /// `true` when absent on create; kept when absent on PUT.
    active: Option<bool>,
    /// A value for each of the formula's variables, by key (a connector instance id for
    /// `elementInstance` variables); required variables must have one.
    #[serde(default)]
    #[schema(value_type = Object)]
    configuration: Map<String, Value>,
    /// Cloud Elements' instance settings (`notification.email`, …), kept and shown.
    #[serde(default)]
    #[schema(value_type = Object)]
    settings: Map<String, Value>,
}

impl From<FlowInstanceRequest> for FlowInstanceInput {
    fn from(request: FlowInstanceRequest) -> Self {
        FlowInstanceInput {
            name: request.name,
            active: request.active,
            configuration: request.configuration,
            settings: request.settings,
        }
    }
}

/// The filters of `GET /formulas/instances`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub(crate) struct FormulaInstanceListParams {
    /// Only instances with a variable bound to this connector instance.
    element_instance_id: Option<i64>,
    /// Only instances whose name contains this text (any case).
    search_text: Option<String>,
    /// Also list inactive instances.
    #[param(default = false)]
    include_inactive: Option<bool>,
}

/// The filters and page of execution lists.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub(crate) struct ExecutionListParams {
    /// How many executions to answer, newest first.
    #[param(minimum = 1, maximum = 500, default = 50)]
    page_size: Option<i64>,
    /// The `Elements-Next-Page-Token` of the previous page.
    next_page: Option<String>,
    /// Only the executions of this event; not with `objectId`.
    event_id: Option<String>,
    /// Only the executions of events about this object; not with `eventId`.
    object_id: Option<String>,
    /// Only executions with this status.
    #[param(inline)]
    status: Option<ExecutionStatus>,
    /// Only executions created at or after this time (RFC 3339).
    #[param(format = DateTime)]
    from: Option<String>,
    /// Only executions created at or before this time (RFC 3339).
    #[param(format = DateTime)]
    to: Option<String>,
}

/// The body of a request as bytes; a body over the limit is a 413 in the one error body.
pub(crate) fn raw_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, ApiError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                "the request body is too large",
            )
        } else {
            ApiError::bad_request("body", rejection.body_text())
        }
    })
}

fn query<T>(params: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    params
        .map(|Query(params)| params)
        .map_err(|e| ApiError::bad_request("query", e.body_text()))
}

/// Text parameters left empty (`?searchText=`) count as absent.
fn text(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

fn instance_body(state: &ApiState, view: FlowInstanceView) -> FormulaInstanceBody {
    FormulaInstanceBody::new(view, &state.app.config().public_url)
}

fn instance_bodies(state: &ApiState, views: Vec<FlowInstanceView>) -> Vec<FormulaInstanceBody> {
    views.into_iter().map(|v| instance_body(state, v)).collect()
}

/// Create a formula instance
///
/// Binds the formula's variables to values and, when `active`, starts listening to its trigger.
/// Every required variable needs a value, `elementInstance` variables must name connector
/// instances of the organization, an event trigger's instance must have events, and a scheduled
/// trigger's `cron` must be a valid schedule. For a webhook formula the answer carries
/// `webhookUrl` and, this once, `webhookSecret`.
#[utoipa::path(post, path = "/formulas/{id}/instances", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id")),
    request_body(content = FlowInstanceRequest, description = "The instance: `name` and a value for each variable in `configuration`"),
    responses(
        (status = 200, description = "The new instance", body = FormulaInstanceBody),
        (status = 400, description = "The request is invalid (no name, a variable without a value or with a wrong one, a formula without a trigger); `field` names what is wrong", body = ErrorBody),
    ))]
pub(crate) async fn create_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<FlowInstanceRequest>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = state
        .app
        .create_flow_instance(&principal, flow_id(&id)?, request.into())
        .await?;
    Ok(Json(instance_body(&state, view)))
}

/// List a formula's instances
///
/// Every instance of the formula, active or not.
#[utoipa::path(get, path = "/formulas/{id}/instances", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id")),
    responses((status = 200, description = "The formula's instances", body = Vec<FormulaInstanceBody>)))]
pub(crate) async fn list_formula_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<FormulaInstanceBody>>, ApiError> {
    let flow = state.app.get_flow(&principal, flow_id(&id)?).await?;
    let filter = FlowInstanceFilter {
        flow_id: Some(flow.id),
        include_inactive: true,
        search_text: None,
    };
    let views = state
        .app
        .list_flow_instances(&principal, &filter, None)
        .await?;
    Ok(Json(instance_bodies(&state, views)))
}

/// List formula instances
///
/// The organization's formula instances, of every formula: the active ones, or all with
/// `includeInactive=true`.
#[utoipa::path(get, path = "/formulas/instances", tag = "formula instances",
    params(FormulaInstanceListParams),
    responses((status = 200, description = "The formula instances", body = Vec<FormulaInstanceBody>)))]
pub(crate) async fn list_all_formula_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    params: Result<Query<FormulaInstanceListParams>, QueryRejection>,
) -> Result<Json<Vec<FormulaInstanceBody>>, ApiError> {
    let params = query(params)?;
    let filter = FlowInstanceFilter {
        flow_id: None,
        include_inactive: params.include_inactive.unwrap_or(false),
        search_text: text(params.search_text),
    };
    let views = state
        .app
        .list_flow_instances(
            &principal,
            &filter,
            params.element_instance_id.map(InstanceId),
        )
        .await?;
    Ok(Json(instance_bodies(&state, views)))
}

/// Get a formula instance
#[utoipa::path(get, path = "/formulas/instances/{instance}", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance", body = FormulaInstanceBody)))]
pub(crate) async fn get_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = state
        .app
        .get_flow_instance(&principal, flow_instance_id(&instance)?)
        .await?;
    Ok(Json(instance_body(&state, view)))
}

/// Get an instance of a formula
#[utoipa::path(get, path = "/formulas/{id}/instances/{instance}", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance", body = FormulaInstanceBody)))]
pub(crate) async fn get_formula_instance_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    Ok(Json(instance_body(&state, view)))
}

async fn replace(
    state: &ApiState,
    principal: &Principal,
    id: FlowInstanceId,
    request: FlowInstanceRequest,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = state
        .app
        .replace_flow_instance(principal, id, request.into())
        .await?;
    Ok(Json(instance_body(state, view)))
}

/// Replace a formula instance
///
/// Replaces name, variable values and settings, checked as on create; `active`, when given,
/// activates or deactivates.
#[utoipa::path(put, path = "/formulas/instances/{instance}", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    request_body(content = FlowInstanceRequest, description = "The instance, as GET answered it or changed"),
    responses(
        (status = 200, description = "The formula instance", body = FormulaInstanceBody),
        (status = 400, description = "The request is invalid (an empty name, a variable without a value or with a wrong one); `field` names what is wrong", body = ErrorBody),
    ))]
pub(crate) async fn replace_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
    JsonBody(request): JsonBody<FlowInstanceRequest>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    replace(&state, &principal, flow_instance_id(&instance)?, request).await
}

/// Replace an instance of a formula
///
/// Replaces name, variable values and settings, checked as on create; `active`, when given,
/// activates or deactivates.
#[utoipa::path(put, path = "/formulas/{id}/instances/{instance}", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    request_body(content = FlowInstanceRequest, description = "The instance, as GET answered it or changed"),
    responses(
        (status = 200, description = "The formula instance", body = FormulaInstanceBody),
        (status = 400, description = "The request is invalid (an empty name, a variable without a value or with a wrong one); `field` names what is wrong", body = ErrorBody),
    ))]
pub(crate) async fn replace_formula_instance_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
    JsonBody(request): JsonBody<FlowInstanceRequest>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    replace(&state, &principal, view.instance.id, request).await
}

async fn delete(
    state: &ApiState,
    principal: &Principal,
    id: FlowInstanceId,
) -> Result<Json<Value>, ApiError> {
    state.app.delete_flow_instance(principal, id).await?;
    Ok(Json(json!({})))
}

/// Delete a formula instance
///
/// Its trigger stops; its executions are kept.
#[utoipa::path(delete, path = "/formulas/instances/{instance}", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "Deleted", body = Object)))]
pub(crate) async fn delete_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
) -> Result<Json<Value>, ApiError> {
    delete(&state, &principal, flow_instance_id(&instance)?).await
}

/// Delete an instance of a formula
///
/// Its trigger stops; its executions are kept.
#[utoipa::path(delete, path = "/formulas/{id}/instances/{instance}", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "Deleted", body = Object)))]
pub(crate) async fn delete_formula_instance_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    delete(&state, &principal, view.instance.id).await
}

async fn set_active(
    state: &ApiState,
    principal: &Principal,
    id: FlowInstanceId,
    active: bool,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = state
        .app
        .set_flow_instance_active(principal, id, active)
        .await?;
    Ok(Json(instance_body(state, view)))
}

/// Activate a formula instance
///
/// Its trigger starts: schedules fire, events and instance API calls start executions, and
/// manual and webhook starts are taken.
#[utoipa::path(put, path = "/formulas/instances/{instance}/active", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance, active", body = FormulaInstanceBody)))]
pub(crate) async fn activate_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    set_active(&state, &principal, flow_instance_id(&instance)?, true).await
}

/// Activate an instance of a formula
///
/// Its trigger starts: schedules fire, events and instance API calls start executions, and
/// manual and webhook starts are taken.
#[utoipa::path(put, path = "/formulas/{id}/instances/{instance}/active", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance, active", body = FormulaInstanceBody)))]
pub(crate) async fn activate_formula_instance_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    set_active(&state, &principal, view.instance.id, true).await
}

/// Deactivate a formula instance
///
/// Its trigger stops, and manual and webhook starts are refused with 409; executions already
/// queued still run.
#[utoipa::path(delete, path = "/formulas/instances/{instance}/active", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance, inactive", body = FormulaInstanceBody)))]
pub(crate) async fn deactivate_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    set_active(&state, &principal, flow_instance_id(&instance)?, false).await
}

/// Deactivate an instance of a formula
///
/// Its trigger stops, and manual and webhook starts are refused with 409; executions already
/// queued still run.
#[utoipa::path(delete, path = "/formulas/{id}/instances/{instance}/active", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    responses((status = 200, description = "The formula instance, inactive", body = FormulaInstanceBody)))]
pub(crate) async fn deactivate_formula_instance_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
) -> Result<Json<FormulaInstanceBody>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    set_active(&state, &principal, view.instance.id, false).await
}

/// Starts a manual execution; the JSON body (none: `{}`) becomes `trigger.args`.
async fn start(
    state: &ApiState,
    principal: &Principal,
    id: FlowInstanceId,
    body: Bytes,
) -> Result<Json<Vec<ExecutionBody>>, ApiError> {
    let args: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("body", format!("the body is not valid JSON: {e}"))
        })?
    };
    let started = state
        .app
        .start_manual_execution(principal, id, args)
        .await?;
    Ok(Json(
        started.iter().map(|e| ExecutionBody::new(e, &[])).collect(),
    ))
}

/// Start an execution
///
/// Queues a manual execution of the formula instance; the body (any JSON, `{}` when empty)
/// becomes `trigger.args`. For a formula triggered by events, a body
/// `{"message": {"events": [...]}}` replays those events, one execution each.
#[utoipa::path(post, path = "/formulas/instances/{instance}/executions", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id")),
    request_body(content = Option<Value>, description = "Any JSON; it becomes `trigger.args`", content_type = "application/json"),
    responses(
        (status = 200, description = "The queued executions (one, or one per replayed event), without step executions", body = Vec<ExecutionBody>),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 409, description = "The formula instance is not active", body = ErrorBody),
    ))]
pub(crate) async fn create_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<ExecutionBody>>, ApiError> {
    let id = flow_instance_id(&instance)?;
    start(&state, &principal, id, raw_body(body)?).await
}

/// Start an execution of a formula's instance
///
/// Queues a manual execution of the formula instance; the body (any JSON, `{}` when empty)
/// becomes `trigger.args`. For a formula triggered by events, a body
/// `{"message": {"events": [...]}}` replays those events, one execution each.
#[utoipa::path(post, path = "/formulas/{id}/instances/{instance}/executions", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id")),
    request_body(content = Option<Value>, description = "Any JSON; it becomes `trigger.args`", content_type = "application/json"),
    responses(
        (status = 200, description = "The queued executions (one, or one per replayed event), without step executions", body = Vec<ExecutionBody>),
        (status = 400, description = "The body is not JSON", body = ErrorBody),
        (status = 409, description = "The formula instance is not active", body = ErrorBody),
    ))]
pub(crate) async fn create_formula_execution_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Vec<ExecutionBody>>, ApiError> {
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    start(&state, &principal, view.instance.id, raw_body(body)?).await
}

fn time(value: Option<String>, name: &str) -> Result<Option<i64>, ApiError> {
    value
        .map(|text| {
            chrono::DateTime::parse_from_rfc3339(&text)
                .map(|t| t.timestamp_millis())
                .map_err(|_| {
                    ApiError::bad_request(name, format!("{name} must be an RFC 3339 date-time"))
                })
        })
        .transpose()
}

async fn executions_page(
    state: &ApiState,
    principal: &Principal,
    id: FlowInstanceId,
    params: ExecutionListParams,
) -> Result<Response, ApiError> {
    let page = state
        .app
        .list_executions(
            principal,
            &ExecutionQuery {
                flow_id: None,
                flow_instance_id: Some(id),
                page_size: params.page_size,
                next_page: text(params.next_page),
                event_id: text(params.event_id),
                object_id: text(params.object_id),
                status: params.status.map(|s| s.as_str().to_owned()),
                from_ms: time(params.from, "from")?,
                to_ms: time(params.to, "to")?,
            },
        )
        .await?;
    let body: Vec<ExecutionBody> = page
        .executions
        .iter()
        .map(|e| ExecutionBody::new(e, &[]))
        .collect();
    let mut headers = HeaderMap::new();
    headers.insert("elements-returned-count", body.len().into());
    if let Some(token) = page.next_page.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("elements-next-page-token", token);
    }
    Ok((headers, Json(body)).into_response())
}

/// List executions
///
/// The formula instance's executions, newest first, a page at a time, without their step
/// executions.
#[utoipa::path(get, path = "/formulas/instances/{instance}/executions", tag = "formula instances",
    params(("instance" = i64, Path, description = "The formula instance id"), ExecutionListParams),
    responses((status = 200, description = "A page of executions", body = Vec<ExecutionBody>,
        headers(("Elements-Returned-Count" = i64, description = "How many executions are in this page"),
                ("Elements-Next-Page-Token" = String, description = "Present when more executions exist; pass it as `nextPage`")))))]
pub(crate) async fn list_formula_executions(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(instance): Path<String>,
    params: Result<Query<ExecutionListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = flow_instance_id(&instance)?;
    executions_page(&state, &principal, id, query(params)?).await
}

/// List executions of a formula's instance
///
/// The formula instance's executions, newest first, a page at a time, without their step
/// executions.
#[utoipa::path(get, path = "/formulas/{id}/instances/{instance}/executions", tag = "formula instances",
    params(("id" = i64, Path, description = "The formula id"),
        ("instance" = i64, Path, description = "The formula instance id"), ExecutionListParams),
    responses((status = 200, description = "A page of executions", body = Vec<ExecutionBody>,
        headers(("Elements-Returned-Count" = i64, description = "How many executions are in this page"),
                ("Elements-Next-Page-Token" = String, description = "Present when more executions exist; pass it as `nextPage`")))))]
pub(crate) async fn list_formula_executions_by_formula(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, instance)): Path<(String, String)>,
    params: Result<Query<ExecutionListParams>, QueryRejection>,
) -> Result<Response, ApiError> {
    let params = query(params)?;
    let view = instance_of_formula(&state, &principal, &id, &instance).await?;
    executions_page(&state, &principal, view.instance.id, params).await
}

/// Get an execution
///
/// The execution with its step executions, in order of `seq` (0 is the trigger).
#[utoipa::path(get, path = "/formulas/instances/executions/{id}", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    responses((status = 200, description = "The execution", body = ExecutionBody)))]
pub(crate) async fn get_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<ExecutionBody>, ApiError> {
    let (found, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(ExecutionBody::new(&found, &steps)))
}

/// The one change an execution takes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ExecutionPatch {
    #[allow(dead_code)] // its one value is checked by serde
    #[schema(inline)]
    status: CancelledStatus,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum CancelledStatus {
    Cancelled,
}

/// Cancel an execution
///
/// A queued execution never starts; a running one stops at its next commit (the step in flight
/// finishes, but is not recorded) and nothing runs after it.
#[utoipa::path(patch, path = "/formulas/instances/executions/{id}", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    request_body(content = ExecutionPatch, description = "`{\"status\": \"cancelled\"}`"),
    responses(
        (status = 200, description = "The cancelled execution, without step executions", body = ExecutionBody),
        (status = 400, description = "The body is not `{\"status\": \"cancelled\"}`, or the execution already ended", body = ErrorBody),
    ))]
pub(crate) async fn update_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Value>,
) -> Result<Json<ExecutionBody>, ApiError> {
    ExecutionPatch::deserialize(&patch).map_err(|_| {
        ApiError::bad_request(
            "status",
            "the only change an execution takes is {\"status\": \"cancelled\"}",
        )
    })?;
    let cancelled = state
        .app
        .cancel_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(ExecutionBody::new(&cancelled, &[])))
}

/// Retry an execution
///
/// Queues a new execution with the same trigger values and `attempt` one higher.
#[utoipa::path(put, path = "/formulas/instances/executions/{id}/retries", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    responses(
        (status = 200, description = "The new execution, queued", body = ExecutionBody),
        (status = 400, description = "The execution is a sub-formula's; retry its parent", body = ErrorBody),
    ))]
pub(crate) async fn retry_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<ExecutionBody>, ApiError> {
    let retried = state
        .app
        .retry_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(ExecutionBody::new(&retried, &[])))
}

/// List an execution's step executions
///
/// In order of `seq`; 0 is the trigger.
#[utoipa::path(get, path = "/formulas/instances/executions/{id}/steps", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    responses((status = 200, description = "The step executions", body = Vec<StepExecutionBody>)))]
pub(crate) async fn list_formula_execution_steps(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<StepExecutionBody>>, ApiError> {
    let (_, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(steps.iter().map(StepExecutionBody::new).collect()))
}

/// Get an execution's values
///
/// Every step's output in Cloud Elements' flat form, as one object:
/// `{"<step>.<field>": "<text>"}`.
#[utoipa::path(get, path = "/formulas/instances/executions/{id}/step-values", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    responses((status = 200, description = "The values", body = ExecutionValues)))]
pub(crate) async fn get_formula_execution_values(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<ExecutionValues>, ApiError> {
    let (_, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(ExecutionValues::new(&steps)))
}

/// List an execution's failed steps
#[utoipa::path(get, path = "/formulas/instances/executions/{id}/errors", tag = "formula instances",
    params(("id" = i64, Path, description = "The execution id")),
    responses((status = 200, description = "The step executions that failed", body = Vec<StepExecutionBody>)))]
pub(crate) async fn list_formula_execution_errors(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<StepExecutionBody>>, ApiError> {
    let failed = state
        .app
        .execution_errors(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(failed.iter().map(StepExecutionBody::new).collect()))
}

/// Get a step execution
#[utoipa::path(get, path = "/formulas/instances/executions/steps/{id}", tag = "formula instances",
    params(("id" = i64, Path, description = "The step execution id")),
    responses((status = 200, description = "The step execution", body = StepExecutionBody)))]
pub(crate) async fn get_formula_step_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<StepExecutionBody>, ApiError> {
    let step = state
        .app
        .get_step_execution(&principal, step_execution_id(&id)?)
        .await?;
    Ok(Json(StepExecutionBody::new(&step)))
}

/// List a step execution's values
///
/// The step's output in Cloud Elements' flat form.
#[utoipa::path(get, path = "/formulas/instances/executions/steps/{id}/values", tag = "formula instances",
    params(("id" = i64, Path, description = "The step execution id")),
    responses((status = 200, description = "The values", body = Vec<StepExecutionValue>)))]
pub(crate) async fn list_formula_step_execution_values(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<StepExecutionValue>>, ApiError> {
    let step = state
        .app
        .get_step_execution(&principal, step_execution_id(&id)?)
        .await?;
    Ok(Json(step_values(&step)))
}

/// A webhook call: the secret comes in `X-Ferry-Webhook-Secret` or as `?secret=`.
async fn webhook_call(
    state: ApiState,
    id: String,
    method: Method,
    headers: HeaderMap,
    query: Option<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = flow_instance_id(&id)?;
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let secret = headers
        .get("x-ferry-webhook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| {
            pairs
                .iter()
                .find(|(k, _)| k == "secret")
                .map(|(_, v)| v.clone())
                .filter(|v| !v.is_empty())
        });
    let body_value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
    };
    let call = ferry_app::WebhookCall {
        method: method.to_string(),
        headers: headers
            .iter()
            .filter(|(name, _)| {
                !matches!(
                    name.as_str(),
                    "authorization" | "cookie" | "x-ferry-webhook-secret"
                )
            })
            .filter_map(|(name, value)| {
                Some((
                    name.to_string(),
                    Value::String(value.to_str().ok()?.to_owned()),
                ))
            })
            .collect(),
        query: pairs
            .into_iter()
            .filter(|(k, _)| k != "secret")
            .map(|(k, v)| (k, Value::String(v)))
            .collect(),
        body: body_value,
    };
    match state
        .app
        .start_webhook_execution(id, secret.as_deref(), call)
        .await?
    {
        ferry_app::WebhookOutcome::Queued(queued) => Ok((
            StatusCode::ACCEPTED,
            Json(WebhookQueuedBody {
                execution_id: queued.id.0,
                status: queued.status,
            }),
        )
            .into_response()),
        ferry_app::WebhookOutcome::Finished(outcome) => {
            let mut response = match outcome.status {
                ExecutionStatus::Success => {
                    (StatusCode::OK, Json(outcome.last_output)).into_response()
                }
                status => ApiError::flow_failed(
                    outcome
                        .error
                        .unwrap_or_else(|| format!("the flow ended {}", status.as_str())),
                    outcome.execution_id.0,
                ),
            };
            response.headers_mut().insert(
                "elements-execution-id",
                HeaderValue::from(outcome.execution_id.0),
            );
            Ok(response)
        }
    }
}

/// Call a webhook
///
/// Starts an execution of a formula instance whose trigger is a webhook; method, headers (but
/// `Authorization`, `Cookie` and the secret), query (but `secret`) and body become
/// `trigger.method`, `trigger.headers`, `trigger.query` and `trigger.body`. An asynchronous
/// webhook answers 202 at once; a synchronous one runs the formula during the call and answers
/// with the last step's result. Calls carry the instance's webhook secret, not the
/// `Authorization` header.
#[utoipa::path(post, path = "/hooks/{id}", tag = "hooks",
    params(
        ("id" = i64, Path, description = "The formula instance id"),
        ("X-Ferry-Webhook-Secret" = Option<String>, Header, description = "The formula instance's webhook secret"),
        ("secret" = Option<String>, Query, description = "The webhook secret, when the caller cannot set a header"),
    ),
    request_body(content = Option<Value>, description = "Any body; JSON becomes `trigger.body` as JSON, anything else as text", content_type = "application/json"),
    responses(
        (status = 200, description = "A synchronous webhook's answer: the last step's result", body = Value,
            headers(("Elements-Execution-Id" = i64, description = "The execution"))),
        (status = 202, description = "An asynchronous webhook's answer: the execution is queued", body = WebhookQueuedBody),
        (status = 401, description = "The secret is missing or wrong", body = ErrorBody),
        (status = 409, description = "The formula instance is not active, or not triggered by a webhook", body = ErrorBody),
        (status = 502, description = "A synchronous formula did not succeed; `code` is `flow_failed`, `executionId` names the execution", body = ErrorBody,
            headers(("Elements-Execution-Id" = i64, description = "The execution"))),
    ))]
pub(crate) async fn create_webhook_call(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook_call(state, id, Method::POST, headers, query, raw_body(body)?).await
}

/// Call a webhook with PUT
///
/// The same as `POST /hooks/{id}`, with `trigger.method` `PUT`.
#[utoipa::path(put, path = "/hooks/{id}", tag = "hooks",
    params(
        ("id" = i64, Path, description = "The formula instance id"),
        ("X-Ferry-Webhook-Secret" = Option<String>, Header, description = "The formula instance's webhook secret"),
        ("secret" = Option<String>, Query, description = "The webhook secret, when the caller cannot set a header"),
    ),
    request_body(content = Option<Value>, description = "Any body; JSON becomes `trigger.body` as JSON, anything else as text", content_type = "application/json"),
    responses(
        (status = 200, description = "A synchronous webhook's answer: the last step's result", body = Value,
            headers(("Elements-Execution-Id" = i64, description = "The execution"))),
        (status = 202, description = "An asynchronous webhook's answer: the execution is queued", body = WebhookQueuedBody),
        (status = 401, description = "The secret is missing or wrong", body = ErrorBody),
        (status = 409, description = "The formula instance is not active, or not triggered by a webhook", body = ErrorBody),
        (status = 502, description = "A synchronous formula did not succeed; `code` is `flow_failed`, `executionId` names the execution", body = ErrorBody,
            headers(("Elements-Execution-Id" = i64, description = "The execution"))),
    ))]
pub(crate) async fn create_webhook_call_by_put(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    webhook_call(state, id, Method::PUT, headers, query, raw_body(body)?).await
}
