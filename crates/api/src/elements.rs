//! The connector catalog (`/elements`) and Cloud Elements' OAuth URL helper.

use crate::extract::{Caller, JsonBody};
use crate::wire::{Element, ElementMetadata};
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::{Path, Query, State};
use ferry_app::OAuthUrlRequest;
use serde::{Deserialize, Serialize};

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

pub(crate) async fn get_element(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<Element>, ApiError> {
    Ok(Json(Element::of(connector(&state, &key)?)))
}

pub(crate) async fn get_element_metadata(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
) -> Result<Json<ElementMetadata>, ApiError> {
    Ok(Json(ElementMetadata::of(connector(&state, &key)?)))
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OAuthUrlParams {
    api_key: Option<String>,
    api_secret: Option<String>,
    callback_url: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

#[derive(Serialize)]
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

pub(crate) async fn get_element_oauth_url(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
    params: Result<Query<OAuthUrlParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OAuthUrlBody>, ApiError> {
    let Query(params) = params.map_err(|e| ApiError::bad_request("query", e.body_text()))?;
    oauth_url(&state, &key, params)
}

pub(crate) async fn create_element_oauth_url(
    State(state): State<ApiState>,
    _caller: Caller,
    Path(key): Path<String>,
    JsonBody(params): JsonBody<OAuthUrlParams>,
) -> Result<Json<OAuthUrlBody>, ApiError> {
    oauth_url(&state, &key, params)
}
