//! `/instances`: create (code flow, hosted consent, existing refresh token), read, update, delete,
//! enable/disable, re-authenticate.

use crate::error::ErrorBody;
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
use utoipa::PartialSchema;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct ElementRef {
    /// The connector's key, `gmail`.
    key: Option<String>,
    /// The connector's id, a number or a string of one.
    #[schema(schema_with = element_id_schema)]
    id: Option<Value>,
}

fn element_id_schema() -> utoipa::openapi::schema::Schema {
    utoipa::openapi::schema::OneOfBuilder::new()
        .item(i64::schema())
        .item(String::schema())
        .build()
        .into()
}

/// The filters of instance lists.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documentation of what `filter_from` reads from the raw query
pub(crate) struct InstanceListParams {
    /// Only instances with every one of these tags (comma-separated).
    tags: Option<String>,
    /// Only instances whose name contains this text.
    #[param(rename = "searchText")]
    search_text: Option<String>,
}

/// The instance body of Cloud Elements (`connector` is Axway's name for `element`). Unknown fields
/// are ignored so that a body read with GET can be sent back with PUT.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InstanceRequest {
    /// The connector (`{"key": "gmail"}`); the path names it on `/elements/{key}/instances`.
    element: Option<ElementRef>,
    /// Axway's name for `element`.
    connector: Option<ElementRef>,
    /// `{"code": "<authorization code>"}` from the consent redirect.
    #[schema(value_type = Option<Object>)]
    provider_data: Option<Map<String, Value>>,
    /// `oauth.api.key`, `oauth.api.secret`, `oauth.callback.url`, `oauth.scope`, and the
    /// connector's own fields.
    #[schema(value_type = Option<Object>)]
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

pub(crate) fn instance_id(text: &str) -> Result<InstanceId, ApiError> {
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

#[utoipa::path(get, path = "/instances", tag = "instances", params(InstanceListParams),
    responses((status = 200, description = "The caller's instances", body = Vec<InstanceBody>,
        headers(("Elements-Total-Count" = i64, description = "How many instances matched"),
                ("Elements-Returned-Count" = i64, description = "How many are in this page")))))]
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

#[utoipa::path(get, path = "/elements/{key}/instances", tag = "instances", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id"), InstanceListParams),
    responses((status = 200, description = "The caller's instances", body = Vec<InstanceBody>,
        headers(("Elements-Total-Count" = i64, description = "How many instances matched"),
                ("Elements-Returned-Count" = i64, description = "How many are in this page")))))]
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
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no connector {key:?}")))?;
    let mut filter = filter_from(query.as_deref());
    filter.connector_key = Some(connector.def.key.clone());
    let views = state.app.list_instances(&principal, &filter).await?;
    Ok(counted(&views))
}

#[utoipa::path(post, path = "/instances", tag = "instances",
    request_body(content = InstanceRequest, description = "Cloud Elements' instance body: `providerData.code` from the consent redirect and `configuration` with `oauth.api.key`, `oauth.api.secret`, `oauth.callback.url`"),
    responses((status = 200, description = "The new instance, with its token", body = InstanceBody),
        (status = 400, description = "The body is not valid (`invalid_input`, `field` names it), or the vendor refused the typed credentials when asked whose account they open (`credentials_refused`)", body = ErrorBody),
        (status = 404, description = "The body names a connector ferry does not have", body = ErrorBody),
        (status = 409, description = "An instance of that name exists", body = ErrorBody),
        (status = 502, description = "The provider refused the code or could not be reached", body = ErrorBody)))]
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

#[utoipa::path(post, path = "/elements/{key}/instances", tag = "instances", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    request_body(content = InstanceRequest, description = "Cloud Elements' instance body: `providerData.code` from the consent redirect and `configuration` with `oauth.api.key`, `oauth.api.secret`, `oauth.callback.url`"),
    responses((status = 200, description = "The new instance, with its token", body = InstanceBody),
        (status = 400, description = "The body is not valid (`invalid_input`, `field` names it), or the vendor refused the typed credentials when asked whose account they open (`credentials_refused`)", body = ErrorBody),
        (status = 404, description = "The body names a connector ferry does not have", body = ErrorBody),
        (status = 409, description = "An instance of that name exists", body = ErrorBody),
        (status = 502, description = "The provider refused the code or could not be reached", body = ErrorBody)))]
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

#[derive(Serialize, utoipa::ToSchema)]
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
#[utoipa::path(post, path = "/instances/authorizations", tag = "instances",
    request_body(content = InstanceRequest, description = "The instance to create once the user consents (no `providerData.code`)"),
    responses((status = 201, description = "A pending instance and the consent URL to open", body = AuthorizationBody),
        (status = 404, description = "The body names a connector ferry does not have", body = ErrorBody),
        (status = 409, description = "An instance of that name exists", body = ErrorBody)))]
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

#[utoipa::path(post, path = "/instances/{id}/authorizations", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 201, description = "The consent URL that re-authenticates the instance", body = AuthorizationBody)))]
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

#[utoipa::path(get, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "The instance", body = InstanceBody)))]
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

#[utoipa::path(patch, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    request_body(content = InstanceRequest, description = "The fields to change; absent fields keep their values"),
    responses((status = 200, description = "The instance", body = InstanceBody),
        (status = 409, description = "An instance of that name exists", body = ErrorBody)))]
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

#[utoipa::path(put, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    request_body(content = InstanceRequest, description = "The instance as GET returned it, changed"),
    responses((status = 200, description = "The instance", body = InstanceBody),
        (status = 409, description = "An instance of that name exists", body = ErrorBody)))]
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

#[utoipa::path(delete, path = "/instances/{id}", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "Deleted, with its tokens and flow bindings", body = Object)))]
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

#[utoipa::path(put, path = "/instances/{id}/enabled", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "The instance, enabled", body = InstanceBody)))]
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

#[utoipa::path(delete, path = "/instances/{id}/enabled", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "The instance, disabled: its API answers 403", body = InstanceBody)))]
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

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationItem {
    key: String,
    name: String,
    property_value: String,
}

#[utoipa::path(get, path = "/instances/{id}/configuration", tag = "instances", params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "The instance's configuration, secrets masked", body = Vec<ConfigurationItem>)))]
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
                .as_ref()
                .and_then(|connector| connector.def.configuration_field(&key))
                .map(|f| f.name.clone())
                .unwrap_or_else(|| key.clone()),
            key,
            property_value: value,
        })
        .collect();
    Ok(Json(items))
}

#[utoipa::path(get, path = "/instances/{id}/docs", tag = "docs",
    params(("id" = i64, Path, description = "The instance id")),
    responses((status = 200, description = "The OpenAPI 3.1 document of the instance's API, hub calls signed with its token", body = Object)))]
pub(crate) async fn get_instance_docs(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let view = state
        .app
        .get_instance(&principal, instance_id(&id)?)
        .await?;
    Ok(Json(crate::docs::connector_document(
        &view.installed_connector()?.def,
        Some((view.instance.id.0, view.instance.name.as_str())),
    )))
}
