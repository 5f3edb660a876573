//! The connector catalog (`/elements`) and Cloud Elements' OAuth URL helper.

use crate::error::ErrorBody;
use crate::extract::{Caller, JsonBody};
use crate::wire::{Element, ElementMetadata};
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::{Path, Query, State};
use ferry_app::OAuthUrlRequest;
use serde::{Deserialize, Serialize};

#[utoipa::path(get, path = "/elements", tag = "elements",
    responses((status = 200, description = "Every connector of the catalog", body = Vec<Element>)))]
pub(crate) async fn list_elements(
    State(state): State<ApiState>,
    _caller: Caller,
) -> Json<Vec<Element>> {
    Json(
        state
            .app
            .catalog()
            .connectors()
            .map(|c| Element::of(c))
            .collect(),
    )
}

#[utoipa::path(get, path = "/elements/keys", tag = "elements",
    responses((status = 200, description = "The keys of the catalog's connectors", body = Vec<String>)))]
pub(crate) async fn list_element_keys(
    State(state): State<ApiState>,
    _caller: Caller,
) -> Json<Vec<String>> {
    Json(
        state
            .app
            .catalog()
            .connectors()
            .map(|c| c.def.key.clone())
            .collect(),
    )
}

fn connector(
    state: &ApiState,
    key: &str,
) -> Result<std::sync::Arc<ferry_connectors::Connector>, ApiError> {
    state
        .app
        .catalog()
        .get(key)
        .cloned()
        .ok_or_else(|| ApiError::not_found(format!("no connector {key:?}")))
}

/// Add a connector
///
/// The body is a connector definition in ferry's format (docs/connectors.md), as JSON. It is
/// checked strictly — an unknown field, a bad JSON pointer, an unknown hook or a missing auth
/// endpoint is a 400 whose `field` names the place — and then it is in the catalog of every
/// process, with instances, the hub API, API docs and flow steps, without a restart. Without an
/// `id`, ferry gives it one.
#[utoipa::path(post, path = "/elements", tag = "elements",
    request_body(content = Object, description = "A connector definition (docs/connectors.md)"),
    responses(
        (status = 200, description = "The connector as the catalog shows it", body = Element),
        (status = 400, description = "The definition is not valid; `field` names the place", body = ErrorBody),
        (status = 409, description = "A connector has this key or id", body = ErrorBody),
    ))]
pub(crate) async fn create_element(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(definition): JsonBody<serde_json::Value>,
) -> Result<Json<Element>, ApiError> {
    let connector = state.app.create_connector(&principal, definition).await?;
    Ok(Json(Element::of(&connector)))
}

/// Replace a connector
///
/// Only connectors added through the API, by the caller's organization, can be replaced; the
/// definition is checked as for `POST /elements`. Its key stays; without an `id` it keeps its id.
#[utoipa::path(put, path = "/elements/{key}", tag = "elements",
    params(("key" = String, Path, description = "The connector's key or numeric id")),
    request_body(content = Object, description = "A connector definition (docs/connectors.md)"),
    responses(
        (status = 200, description = "The connector as the catalog shows it", body = Element),
        (status = 400, description = "The definition is not valid; `field` names the place", body = ErrorBody),
        (status = 403, description = "Another organization added the connector", body = ErrorBody),
        (status = 409, description = "The connector is part of the installation, or instances still use it (the message says how many)", body = ErrorBody),
    ))]
pub(crate) async fn replace_element(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    JsonBody(definition): JsonBody<serde_json::Value>,
) -> Result<Json<Element>, ApiError> {
    let connector = state
        .app
        .replace_connector(&principal, &key, definition)
        .await?;
    Ok(Json(Element::of(&connector)))
}

/// Delete a connector
///
/// Only connectors added through the API, by the caller's organization. Their instances stay,
/// and their calls answer that the connector is gone until it is added again.
#[utoipa::path(delete, path = "/elements/{key}", tag = "elements",
    params(("key" = String, Path, description = "The connector's key or numeric id")),
    responses(
        (status = 200, description = "Deleted", body = Object),
        (status = 403, description = "Another organization added the connector", body = ErrorBody),
        (status = 409, description = "The connector is part of the installation, or instances still use it (the message says how many)", body = ErrorBody),
    ))]
pub(crate) async fn delete_element(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    state.app.delete_connector(&principal, &key).await?;
    Ok(Json(serde_json::json!({})))
}

/// Export a connector's definition
///
/// The definition as written (before provider inheritance), ready for `POST /elements` or a
/// connectors folder.
#[utoipa::path(get, path = "/elements/{key}/export", tag = "elements",
    params(("key" = String, Path, description = "The connector's key or numeric id")),
    responses((status = 200, description = "The definition (docs/connectors.md)", body = Object)))]
pub(crate) async fn export_element(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(state.app.export_connector(&key)?))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloneElementRequest {
    /// The copy's key; `<key>-copy` when absent.
    key: Option<String>,
    /// The copy's name; `<name> (copy)` when absent.
    name: Option<String>,
}

/// Clone a connector
///
/// Copies any connector (bundled ones included) into a new one the caller's organization can
/// change, under a new key, name and id.
#[utoipa::path(post, path = "/elements/{key}/clone", tag = "elements",
    params(("key" = String, Path, description = "The connector's key or numeric id")),
    request_body(content = Option<CloneElementRequest>, description = "Optional: the copy's key and name", content_type = "application/json"),
    responses(
        (status = 200, description = "The copy", body = Element),
        (status = 409, description = "A connector has the copy's key", body = ErrorBody),
    ))]
pub(crate) async fn clone_element(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(key): Path<String>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<Element>, ApiError> {
    let request: CloneElementRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CloneElementRequest::default()
    } else {
        let json = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim_start().starts_with("application/json"));
        if !json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let not_a_request = |e: String| {
            ApiError::bad_request("body", format!("the body is not a clone request: {e}"))
        };
        // An object, or null; serde would also take `[key, name]` for the struct.
        match serde_json::from_slice::<serde_json::Value>(&body)
            .map_err(|e| not_a_request(e.to_string()))?
        {
            serde_json::Value::Null => CloneElementRequest::default(),
            object @ serde_json::Value::Object(_) => {
                serde_json::from_value(object).map_err(|e| not_a_request(e.to_string()))?
            }
            _ => return Err(not_a_request("expected an object with key and name".into())),
        }
    };
    let connector = state
        .app
        .clone_connector(
            &principal,
            &key,
            ferry_app::ConnectorCopy {
                key: request.key,
                name: request.name,
            },
        )
        .await?;
    Ok(Json(Element::of(&connector)))
}

#[utoipa::path(get, path = "/elements/{key}", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    responses((status = 200, description = "The connector", body = Element)))]
pub(crate) async fn get_element(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Element>, ApiError> {
    Ok(Json(Element::of(connector(&state, &key)?.as_ref())))
}

#[utoipa::path(get, path = "/elements/{key}/metadata", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    responses((status = 200, description = "What the connector supports", body = ElementMetadata)))]
pub(crate) async fn get_element_metadata(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ElementMetadata>, ApiError> {
    Ok(Json(ElementMetadata::of(connector(&state, &key)?.as_ref())))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct OAuthUrlParams {
    /// The OAuth client id (Cloud Elements' `apiKey`).
    api_key: Option<String>,
    /// The OAuth client secret.
    api_secret: Option<String>,
    /// Where the provider sends the user back with the code.
    callback_url: Option<String>,
    /// Scopes, space-separated; the connector's defaults when absent.
    scope: Option<String>,
    /// Passed through to the callback.
    state: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OAuthUrlBody {
    oauth_url: String,
    element: String,
}

fn oauth_url(
    state: &ApiState,
    key: &str,
    params: OAuthUrlParams,
) -> Result<Json<OAuthUrlBody>, ApiError> {
    let (oauth_url, element) = state.app.oauth_url(
        key,
        &OAuthUrlRequest {
            api_key: params.api_key,
            api_secret: params.api_secret,
            callback_url: params.callback_url,
            scope: params.scope,
            state: params.state,
        },
    )?;
    Ok(Json(OAuthUrlBody { oauth_url, element }))
}

#[utoipa::path(get, path = "/elements/{key}/oauth/url", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id"), OAuthUrlParams),
    responses((status = 200, description = "The provider's consent URL", body = OAuthUrlBody)))]
pub(crate) async fn get_element_oauth_url(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
    params: Result<Query<OAuthUrlParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OAuthUrlBody>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("query", e.body_text()))?;
    oauth_url(&state, &key, params)
}

#[utoipa::path(post, path = "/elements/{key}/oauth/url", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    request_body = OAuthUrlParams,
    responses((status = 200, description = "The provider's consent URL", body = OAuthUrlBody)))]
pub(crate) async fn create_element_oauth_url(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
    JsonBody(params): JsonBody<OAuthUrlParams>,
) -> Result<Json<OAuthUrlBody>, ApiError> {
    oauth_url(&state, &key, params)
}

#[utoipa::path(get, path = "/elements/{key}/docs", tag = "docs",
    params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    responses((status = 200, description = "The OpenAPI 3.1 document of the connector's API", body = Object)))]
pub(crate) async fn get_element_docs(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let connector = connector(&state, &key)?;
    Ok(Json(crate::docs::connector_document(&connector.def, None)))
}
