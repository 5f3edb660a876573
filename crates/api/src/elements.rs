//! The connector catalog (`/elements`) and Cloud Elements' OAuth URL helper.

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

fn connector<'a>(
    state: &'a ApiState,
    key: &str,
) -> Result<&'a std::sync::Arc<ferry_connectors::Connector>, ApiError> {
    state
        .app
        .catalog()
        .get(key)
        .ok_or_else(|| ApiError::not_found(format!("no connector {key:?}")))
}

#[utoipa::path(get, path = "/elements/{key}", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    responses((status = 200, description = "The connector", body = Element)))]
pub(crate) async fn get_element(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Element>, ApiError> {
    Ok(Json(Element::of(connector(&state, &key)?)))
}

#[utoipa::path(get, path = "/elements/{key}/metadata", tag = "elements", params(("key" = String, Path, description = "The connector's key (`gmail`) or numeric id")),
    responses((status = 200, description = "What the connector supports", body = ElementMetadata)))]
pub(crate) async fn get_element_metadata(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ElementMetadata>, ApiError> {
    Ok(Json(ElementMetadata::of(connector(&state, &key)?)))
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
