//! `/instances`: create (code flow, hosted consent, existing refresh token), read, update, delete,
//! enable/disable, re-authenticate.

use crate::extract::{Caller, JsonBody};
use crate::wire::{InstanceBody, iso8601};
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use ferry_app::{InstanceInput, InstanceView};
use ferry_model::InstanceId;
use ferry_store::InstanceFilter;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ElementRef {
    key: Option<String>,
    id: Option<Value>,
}

/// The instance body of Cloud Elements (`connector` is Axway's name for `element`). Unknown fields
/// are ignored so that a body read with GET can be sent back with PUT.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceRequest {
    element: Option<ElementRef>,
    connector: Option<ElementRef>,
    provider_data: Option<Map<String, Value>>,
    configuration: Option<Map<String, Value>>,
    name: Option<String>,
    tags: Option<Vec<String>>,
    external_authentication: Option<String>,
}

impl InstanceRequest {
    fn into_input(self, path_key: Option<&str>) -> Result<InstanceInput, ApiError> {
        let element = self.element.or(self.connector);
        let connector = match (path_key, element) {
            (Some(key), _) => Some(key.to_owned()),
            (None, Some(ElementRef { key: Some(key), .. })) => Some(key),
            (
                None,
                Some(ElementRef {
                    id: Some(Value::Number(id)),
                    ..
                }),
            ) => Some(id.to_string()),
            (
                None,
                Some(ElementRef {
                    id: Some(Value::String(id)),
                    ..
                }),
            ) => Some(id),
            _ => None,
        };
        let mut configuration = BTreeMap::new();
        for (key, value) in self.configuration.unwrap_or_default() {
            let text = match value {
                Value::Null => continue,
                Value::String(s) => s,
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                other => other.to_string(),
            };
            configuration.insert(key, text);
        }
        let code = match self.provider_data.as_ref().and_then(|p| p.get("code")) {
            None | Some(Value::Null) => None,
            Some(Value::String(code)) => Some(code.clone()),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "providerData.code",
                    "providerData.code must be a string",
                ));
            }
        };
        Ok(InstanceInput {
            connector,
            name: self.name,
            tags: self.tags,
            configuration,
            code,
            external_authentication: self.external_authentication,
        })
    }
}

fn instance_id(text: &str) -> Result<InstanceId, ApiError> {
    text.parse()
        .ok()
        .filter(|id: &InstanceId| id.0 > 0)
        .ok_or_else(|| ApiError::not_found(format!("no instance {text:?}")))
}

fn counted(views: &[InstanceView]) -> Response {
    let bodies: Vec<InstanceBody> = views.iter().map(InstanceBody::of).collect();
    let mut headers = HeaderMap::new();
    let count = HeaderValue::from(bodies.len());
    headers.insert("elements-total-count", count.clone());
    headers.insert("elements-returned-count", count);
    (headers, Json(bodies)).into_response()
}

fn filter_from(query: Option<&str>) -> InstanceFilter {
    let mut filter = InstanceFilter::default();
    for (name, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match name.as_ref() {
            "tags[]" | "tags" => filter.tags.extend(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(str::to_owned),
            ),
            "searchText" if !value.trim().is_empty() => {
                filter.search_text = Some(value.trim().to_owned())
            }
            _ => {}
        }
    }
    filter
}

pub(crate) async fn list_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let views = state
        .app
        .list_instances(&principal, &filter_from(query.as_deref()))
        .await?;
    Ok(counted(&views))
}

pub(crate) async fn list_element_instances(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let connector = state
        .app
        .catalog()
        .get(&key)
        .ok_or_else(|| ApiError::not_found(format!("no connector {key:?}")))?;
    let mut filter = filter_from(query.as_deref());
    filter.connector_key = Some(connector.def.key.clone());
    let views = state.app.list_instances(&principal, &filter).await?;
    Ok(counted(&views))
}

pub(crate) async fn create_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(request): JsonBody<InstanceRequest>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .create_instance(&principal, request.into_input(None)?)
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

pub(crate) async fn create_element_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    JsonBody(request): JsonBody<InstanceRequest>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .create_instance(&principal, request.into_input(Some(&key))?)
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthorizationBody {
    oauth_url: String,
    expires_at: String,
    instance: InstanceBody,
}

fn authorization_body(
    authorization: ferry_app::HostedAuthorization,
) -> (StatusCode, Json<AuthorizationBody>) {
    (
        StatusCode::CREATED,
        Json(AuthorizationBody {
            oauth_url: authorization.oauth_url,
            expires_at: iso8601(authorization.expires_at_ms),
            instance: InstanceBody::of(&authorization.instance),
        }),
    )
}

/// ferry-hosted consent: a pending instance and the URL to open; ferry's callback completes it.
pub(crate) async fn create_instance_authorization(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(request): JsonBody<InstanceRequest>,
) -> Result<(StatusCode, Json<AuthorizationBody>), ApiError> {
    let authorization = state
        .app
        .start_hosted_authorization(&principal, request.into_input(None)?)
        .await?;
    Ok(authorization_body(authorization))
}

pub(crate) async fn reauthorize_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<AuthorizationBody>), ApiError> {
    let authorization = state
        .app
        .start_reauthorization(&principal, instance_id(&id)?)
        .await?;
    Ok(authorization_body(authorization))
}

pub(crate) async fn get_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .get_instance(&principal, instance_id(&id)?)
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

pub(crate) async fn update_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<InstanceRequest>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .update_instance(
            &principal,
            instance_id(&id)?,
            request.into_input(None)?,
            false,
        )
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

pub(crate) async fn replace_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<InstanceRequest>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .update_instance(
            &principal,
            instance_id(&id)?,
            request.into_input(None)?,
            true,
        )
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

pub(crate) async fn delete_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    state
        .app
        .delete_instance(&principal, instance_id(&id)?)
        .await?;
    Ok(Json(Value::Object(Map::new())))
}

pub(crate) async fn enable_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .set_instance_enabled(&principal, instance_id(&id)?, true)
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

pub(crate) async fn disable_instance(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<InstanceBody>, ApiError> {
    let view = state
        .app
        .set_instance_enabled(&principal, instance_id(&id)?, false)
        .await?;
    Ok(Json(InstanceBody::of(&view)))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationItem {
    key: String,
    name: String,
    property_value: String,
}

pub(crate) async fn get_instance_configuration(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<ConfigurationItem>>, ApiError> {
    let view = state
        .app
        .get_instance(&principal, instance_id(&id)?)
        .await?;
    let items = view
        .masked_configuration()
        .into_iter()
        .map(|(key, value)| ConfigurationItem {
            name: view
                .connector
                .def
                .configuration_field(&key)
                .map(|f| f.name.clone())
                .unwrap_or_else(|| key.clone()),
            key,
            property_value: value,
        })
        .collect();
    Ok(Json(items))
}
