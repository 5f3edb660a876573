//! `/formulas/…/instances`: flow instances, and starting and reading their executions.

use crate::extract::{Caller, JsonBody};
use crate::flow_wire::{
    execution, execution_values, formula_instance, step_execution, step_values,
};
use crate::formulas::flow_id;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_app::{ExecutionQuery, FlowInstanceInput};
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

#[derive(Debug, Default, Deserialize)]
pub(crate) struct FlowInstanceRequest {
    name: Option<String>,
    active: Option<bool>,
    #[serde(default)]
    configuration: Map<String, Value>,
    #[serde(default)]
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

fn query_map(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .filter(|v| !v.is_empty())
}

pub(crate) async fn create_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<FlowInstanceRequest>,
) -> Result<Json<Value>, ApiError> {
    let view = state
        .app
        .create_flow_instance(&principal, flow_id(&id)?, request.into())
        .await?;
    Ok(Json(formula_instance(
        &view,
        &state.app.config().public_url,
    )))
}

pub(crate) async fn list_formula_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let filter = FlowInstanceFilter {
        flow_id: Some(flow_id(&id)?),
        include_inactive: true,
        search_text: None,
    };
    let views = state
        .app
        .list_flow_instances(&principal, &filter, None)
        .await?;
    Ok(Json(
        views
            .iter()
            .map(|v| formula_instance(v, &state.app.config().public_url))
            .collect(),
    ))
}

/// `GET /formulas/instances?elementInstanceId=&searchText=&includeInactive=`
pub(crate) async fn list_all_formula_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> Result<Json<Vec<Value>>, ApiError> {
    let pairs = query_map(query.as_deref());
    let element_instance = match param(&pairs, "elementInstanceId") {
        Some(text) => Some(text.parse::<InstanceId>().map_err(|_| {
            ApiError::bad_request("elementInstanceId", "elementInstanceId must be a number")
        })?),
        None => None,
    };
    let filter = FlowInstanceFilter {
        flow_id: None,
        include_inactive: param(&pairs, "includeInactive").is_some_and(|v| v == "true"),
        search_text: param(&pairs, "searchText").map(str::to_owned),
    };
    let views = state
        .app
        .list_flow_instances(&principal, &filter, element_instance)
        .await?;
    Ok(Json(
        views
            .iter()
            .map(|v| formula_instance(v, &state.app.config().public_url))
            .collect(),
    ))
}

pub(crate) async fn get_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let id = flow_instance_id(last(&params))?;
    let view = state.app.get_flow_instance(&principal, id).await?;
    Ok(Json(formula_instance(
        &view,
        &state.app.config().public_url,
    )))
}

fn last(params: &[(String, String)]) -> &str {
    params.last().map(|(_, v)| v.as_str()).unwrap_or_default()
}

pub(crate) async fn replace_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
    JsonBody(request): JsonBody<FlowInstanceRequest>,
) -> Result<Json<Value>, ApiError> {
    let id = flow_instance_id(last(&params))?;
    let view = state
        .app
        .replace_flow_instance(&principal, id, request.into())
        .await?;
    Ok(Json(formula_instance(
        &view,
        &state.app.config().public_url,
    )))
}

pub(crate) async fn delete_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    state
        .app
        .delete_flow_instance(&principal, flow_instance_id(last(&params))?)
        .await?;
    Ok(Json(json!({})))
}

pub(crate) async fn activate_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let view = state
        .app
        .set_flow_instance_active(&principal, flow_instance_id(last(&params))?, true)
        .await?;
    Ok(Json(formula_instance(
        &view,
        &state.app.config().public_url,
    )))
}

pub(crate) async fn deactivate_formula_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let view = state
        .app
        .set_flow_instance_active(&principal, flow_instance_id(last(&params))?, false)
        .await?;
    Ok(Json(formula_instance(
        &view,
        &state.app.config().public_url,
    )))
}

/// Starts a manual execution; the JSON body becomes `trigger.args`.
pub(crate) async fn create_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Vec<Value>>), ApiError> {
    let id = flow_instance_id(last(&params))?;
    let args: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::bad_request("body", format!("the body is not valid JSON: {e}"))
        })?
    };
    let started = state
        .app
        .start_manual_execution(&principal, id, args)
        .await?;
    Ok((
        StatusCode::OK,
        Json(started.iter().map(|e| execution(e, Some(&[]))).collect()),
    ))
}

pub(crate) async fn list_formula_executions(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(params): Path<Vec<(String, String)>>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = query_map(query.as_deref());
    let page_size = match param(&pairs, "pageSize") {
        Some(text) => Some(
            text.parse()
                .map_err(|_| ApiError::bad_request("pageSize", "pageSize must be a number"))?,
        ),
        None => None,
    };
    let time = |name: &str| -> Result<Option<i64>, ApiError> {
        match param(&pairs, name) {
            None => Ok(None),
            Some(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|t| Some(t.timestamp_millis()))
                .map_err(|_| {
                    ApiError::bad_request(name, format!("{name} must be an ISO 8601 date-time"))
                }),
        }
    };
    let page = state
        .app
        .list_executions(
            &principal,
            &ExecutionQuery {
                flow_id: None,
                flow_instance_id: Some(flow_instance_id(last(&params))?),
                page_size,
                next_page: param(&pairs, "nextPage").map(str::to_owned),
                event_id: param(&pairs, "eventId").map(str::to_owned),
                object_id: param(&pairs, "objectId").map(str::to_owned),
                status: param(&pairs, "status").map(str::to_owned),
                from_ms: time("from")?,
                to_ms: time("to")?,
            },
        )
        .await?;
    let body: Vec<Value> = page.executions.iter().map(|e| execution(e, None)).collect();
    let mut headers = HeaderMap::new();
    headers.insert("elements-returned-count", body.len().into());
    if let Some(token) = page.next_page.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert("elements-next-page-token", token);
    }
    Ok((headers, Json(body)).into_response())
}

pub(crate) async fn get_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (found, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(execution(&found, Some(&steps))))
}

/// `PATCH /formulas/instances/executions/{id}` with `{"status": "cancelled"}`.
pub(crate) async fn update_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(patch): JsonBody<Map<String, Value>>,
) -> Result<Json<Value>, ApiError> {
    match patch.get("status").and_then(Value::as_str) {
        Some("cancelled") => {
            let cancelled = state
                .app
                .cancel_execution(&principal, execution_id(&id)?)
                .await?;
            Ok(Json(execution(&cancelled, None)))
        }
        _ => Err(ApiError::bad_request(
            "status",
            "the only change an execution takes is {\"status\": \"cancelled\"}",
        )),
    }
}

pub(crate) async fn retry_formula_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let retried = state
        .app
        .retry_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(execution(&retried, Some(&[]))))
}

pub(crate) async fn list_formula_execution_steps(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let (_, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(steps.iter().map(step_execution).collect()))
}

pub(crate) async fn get_formula_execution_values(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Map<String, Value>>, ApiError> {
    let (_, steps) = state
        .app
        .get_execution(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(execution_values(&steps)))
}

pub(crate) async fn list_formula_execution_errors(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let failed = state
        .app
        .execution_errors(&principal, execution_id(&id)?)
        .await?;
    Ok(Json(failed.iter().map(step_execution).collect()))
}

pub(crate) async fn get_formula_step_execution(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let step = state
        .app
        .get_step_execution(
            &principal,
            numeric::<StepExecutionId>(&id, "step execution")?,
        )
        .await?;
    Ok(Json(step_execution(&step)))
}

pub(crate) async fn list_formula_step_execution_values(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<Value>>, ApiError> {
    let step = state
        .app
        .get_step_execution(
            &principal,
            numeric::<StepExecutionId>(&id, "step execution")?,
        )
        .await?;
    Ok(Json(step_values(&step)))
}

/// `POST /hooks/{flowInstanceId}`: a webhook trigger. The secret comes in `X-Ferry-Webhook-Secret`
/// or as `?secret=`.
pub(crate) async fn create_webhook_call(
    State(state): State<ApiState>,
    Path(id): Path<String>,
    method: axum::http::Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Result<Response, ApiError> {
    let id = flow_instance_id(&id)?;
    let pairs = query_map(query.as_deref());
    let secret = headers
        .get("x-ferry-webhook-secret")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| param(&pairs, "secret").map(str::to_owned));
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
            Json(json!({"executionId": queued.id.0, "status": queued.status.as_str()})),
        )
            .into_response()),
        ferry_app::WebhookOutcome::Finished(outcome) => {
            let mut response = match outcome.status {
                ferry_model::execution::ExecutionStatus::Success => {
                    (StatusCode::OK, Json(outcome.last_output)).into_response()
                }
                status => {
                    let body = json!({
                        "message": outcome.error.unwrap_or_else(|| format!("the flow ended {}", status.as_str())),
                        "code": "flow_failed",
                        "executionId": outcome.execution_id.0,
                    });
                    (StatusCode::BAD_GATEWAY, Json(body)).into_response()
                }
            };
            response.headers_mut().insert(
                "elements-execution-id",
                HeaderValue::from(outcome.execution_id.0),
            );
            Ok(response)
        }
    }
}
