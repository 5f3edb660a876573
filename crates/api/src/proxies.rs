//! `/proxies`: publish an instance's API to other applications, manage the API keys they call it
//! with, and read what they did (usage figures, the call log as CSV, the proxy's OpenAPI document).

use crate::error::ErrorBody;
use crate::extract::{Caller, JsonBody};
use crate::wire::iso8601;
use crate::{ApiError, ApiState};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use ferry_app::{IssuedKey, KeyInput, ProxyInput};
use ferry_model::proxy::{KeyScopes, Proxy, ProxyKey, RateLimit};
use ferry_model::{InstanceId, ProxyId, ProxyKeyId};
use ferry_store::{UsageGroup, UsageQuery};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Where a proxy answers, relative to ferry's origin.
pub(crate) fn proxy_path(base_path: &str) -> String {
    format!("/proxies/{base_path}")
}

/// A published proxy.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ProxyBody {
    id: i64,
    name: String,
    /// Calls go to `/proxies/{basePath}/…`.
    base_path: String,
    /// The path callers use, relative to ferry's origin.
    url: String,
    /// The API documentation page for callers (they enter their key there).
    docs_url: String,
    instance_id: i64,
    /// Exposed operation ids; `null` exposes every operation of the connector.
    operations: Option<Vec<String>>,
    cors_origins: Vec<String>,
    rate_limit: RateLimit,
    daily_quota: Option<u32>,
    max_request_bytes: u64,
    published: bool,
    created_date: String,
    updated_date: String,
}

impl ProxyBody {
    fn of(proxy: &Proxy) -> Self {
        ProxyBody {
            id: proxy.id.0,
            name: proxy.name.clone(),
            base_path: proxy.base_path.clone(),
            url: proxy_path(&proxy.base_path),
            docs_url: format!("/docs/proxies/{}", proxy.base_path),
            instance_id: proxy.instance_id.0,
            operations: proxy.operations.clone(),
            cors_origins: proxy.cors_origins.clone(),
            rate_limit: proxy.rate_limit,
            daily_quota: proxy.daily_quota,
            max_request_bytes: proxy.max_request_bytes,
            published: proxy.published,
            created_date: iso8601(proxy.created_at_ms),
            updated_date: iso8601(proxy.updated_at_ms),
        }
    }
}

/// Tells an absent field (keep it) from an explicit `null` (clear it).
fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// A proxy to publish, or the fields to change (absent fields stay as they are).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ProxyRequest {
    name: Option<String>,
    /// One path segment: lowercase letters, digits and hyphens.
    #[schema(pattern = "^[a-z0-9][a-z0-9-]{0,62}$")]
    base_path: Option<String>,
    /// The instance whose API to publish (required when publishing; cannot change).
    instance_id: Option<i64>,
    /// Operation ids to expose; `null` or absent when publishing exposes them all.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Vec<String>>)]
    operations: Option<Option<Vec<String>>>,
    /// Browser origins allowed to call (`https://app.example`), or `*`.
    cors_origins: Option<Vec<String>>,
    /// Per key unless the key has its own; default 10 requests per second.
    rate_limit: Option<RateLimit>,
    /// Calls per key per UTC day; `null` for none.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    daily_quota: Option<Option<u32>>,
    /// Largest request body accepted, in bytes (default 10 MiB, at most 40 MiB).
    max_request_bytes: Option<u64>,
    /// `false` keeps the proxy and its keys but answers every call with 404.
    published: Option<bool>,
}

impl ProxyRequest {
    fn into_input(self) -> Result<ProxyInput, ApiError> {
        let instance_id = match self.instance_id {
            Some(id) if id > 0 => Some(InstanceId(id)),
            Some(_) => {
                return Err(ApiError::bad_request(
                    "instanceId",
                    "instanceId is a positive number",
                ));
            }
            None => None,
        };
        Ok(ProxyInput {
            name: self.name,
            base_path: self.base_path,
            instance_id,
            operations: self.operations,
            cors_origins: self.cors_origins,
            rate_limit: self.rate_limit,
            daily_quota: self.daily_quota,
            max_request_bytes: self.max_request_bytes,
            published: self.published,
        })
    }
}

/// An API key, without its secret.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct KeyBody {
    id: i64,
    name: String,
    /// The key's first characters, to tell keys apart.
    prefix: String,
    /// `active`, `revoked` or `expired`.
    status: &'static str,
    scopes: KeyScopes,
    #[serde(skip_serializing_if = "Option::is_none")]
    rate_limit: Option<RateLimit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    daily_quota: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    revoked_at: Option<String>,
    created_date: String,
}

impl KeyBody {
    fn of(key: &ProxyKey, now_ms: i64) -> Self {
        let status = if key.revoked_at_ms.is_some() {
            "revoked"
        } else if key.usable_at(now_ms) {
            "active"
        } else {
            "expired"
        };
        KeyBody {
            id: key.id.0,
            name: key.name.clone(),
            prefix: key.prefix.clone(),
            status,
            scopes: key.scopes.clone(),
            rate_limit: key.rate_limit,
            daily_quota: key.daily_quota,
            expires_at: key.expires_at_ms.map(iso8601),
            revoked_at: key.revoked_at_ms.map(iso8601),
            created_date: iso8601(key.created_at_ms),
        }
    }
}

/// A new key: the only answer that ever contains the key itself.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssuedKeyBody {
    /// The API key. It is shown once: ferry keeps only a hash of it.
    key: String,
    #[serde(flatten)]
    details: KeyBody,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct KeyRequest {
    /// Which application uses the key.
    name: Option<String>,
    #[serde(default)]
    scopes: KeyScopes,
    /// Overrides the proxy's rate limit for this key.
    rate_limit: Option<RateLimit>,
    /// Overrides the proxy's daily quota for this key.
    daily_quota: Option<u32>,
    /// When the key stops working (RFC 3339).
    #[schema(format = DateTime)]
    expires_at: Option<String>,
}

fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn parse_time(field: &str, text: &str) -> Result<i64, ApiError> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|_| {
            ApiError::bad_request(
                field,
                format!(
                    "{field} must be an RFC 3339 time such as 2026-12-01T00:00:00Z, not {text:?}"
                ),
            )
        })
}

fn proxy_id(text: &str) -> Result<ProxyId, ApiError> {
    text.parse()
        .ok()
        .filter(|id: &ProxyId| id.0 > 0)
        .ok_or_else(|| ApiError::not_found(format!("no proxy {text:?}")))
}

fn key_id(text: &str) -> Result<ProxyKeyId, ApiError> {
    text.parse()
        .ok()
        .filter(|id: &ProxyKeyId| id.0 > 0)
        .ok_or_else(|| ApiError::not_found(format!("no key {text:?}")))
}

#[utoipa::path(post, path = "/proxies", tag = "proxies",
    request_body(content = ProxyRequest, description = "The proxy: `name`, `basePath` and `instanceId` are required"),
    responses((status = 201, description = "The published proxy", body = ProxyBody),
        (status = 409, description = "Another proxy has this base path", body = ErrorBody)))]
pub(crate) async fn create_proxy(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    JsonBody(request): JsonBody<ProxyRequest>,
) -> Result<(StatusCode, Json<ProxyBody>), ApiError> {
    let proxy = state
        .app
        .create_proxy(&principal, request.into_input()?)
        .await?;
    Ok((StatusCode::CREATED, Json(ProxyBody::of(&proxy))))
}

#[utoipa::path(get, path = "/proxies", tag = "proxies",
    responses((status = 200, description = "The organization's proxies", body = Vec<ProxyBody>)))]
pub(crate) async fn list_proxies(
    State(state): State<ApiState>,
    Caller(principal): Caller,
) -> Result<Json<Vec<ProxyBody>>, ApiError> {
    let proxies = state.app.list_proxies(&principal).await?;
    Ok(Json(proxies.iter().map(ProxyBody::of).collect()))
}

#[utoipa::path(get, path = "/proxies/{id}", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    responses((status = 200, description = "The proxy", body = ProxyBody)))]
pub(crate) async fn get_proxy(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<ProxyBody>, ApiError> {
    let proxy = state.app.get_proxy(&principal, proxy_id(&id)?).await?;
    Ok(Json(ProxyBody::of(&proxy)))
}

#[utoipa::path(patch, path = "/proxies/{id}", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    request_body(content = ProxyRequest, description = "The fields to change"),
    responses((status = 200, description = "The changed proxy", body = ProxyBody),
        (status = 409, description = "Another proxy has this base path", body = ErrorBody)))]
pub(crate) async fn update_proxy(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<ProxyRequest>,
) -> Result<Json<ProxyBody>, ApiError> {
    let proxy = state
        .app
        .update_proxy(&principal, proxy_id(&id)?, request.into_input()?)
        .await?;
    Ok(Json(ProxyBody::of(&proxy)))
}

/// Unpublishes for good: the proxy's keys and call records are deleted too.
#[utoipa::path(delete, path = "/proxies/{id}", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    responses((status = 200, description = "Deleted")))]
pub(crate) async fn delete_proxy(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_proxy(&principal, proxy_id(&id)?).await?;
    Ok(StatusCode::OK)
}

#[utoipa::path(post, path = "/proxies/{id}/keys", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    request_body(content = KeyRequest, description = "The key: `name` is required"),
    responses((status = 201, description = "The key, shown this once", body = IssuedKeyBody)))]
pub(crate) async fn create_proxy_key(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    JsonBody(request): JsonBody<KeyRequest>,
) -> Result<(StatusCode, Json<IssuedKeyBody>), ApiError> {
    let expires_at_ms = request
        .expires_at
        .as_deref()
        .map(|text| parse_time("expiresAt", text))
        .transpose()?;
    let input = KeyInput {
        name: request.name.unwrap_or_default(),
        scopes: request.scopes,
        rate_limit: request.rate_limit,
        daily_quota: request.daily_quota,
        expires_at_ms,
    };
    let IssuedKey { key, secret } = state
        .app
        .create_proxy_key(&principal, proxy_id(&id)?, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IssuedKeyBody {
            key: secret.expose().to_owned(),
            details: KeyBody::of(&key, now_ms()),
        }),
    ))
}

#[utoipa::path(get, path = "/proxies/{id}/keys", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    responses((status = 200, description = "Every key of the proxy, revoked and expired ones included; never the keys themselves", body = Vec<KeyBody>)))]
pub(crate) async fn list_proxy_keys(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<KeyBody>>, ApiError> {
    let keys = state
        .app
        .list_proxy_keys(&principal, proxy_id(&id)?)
        .await?;
    let now = now_ms();
    Ok(Json(keys.iter().map(|key| KeyBody::of(key, now)).collect()))
}

/// Revokes a key at once in this process and within two seconds in every other.
#[utoipa::path(delete, path = "/proxies/{id}/keys/{keyId}", tag = "proxies",
    params(("id" = String, Path, description = "The proxy's id"), ("keyId" = String, Path, description = "The key's id")),
    responses((status = 200, description = "The revoked key", body = KeyBody)))]
pub(crate) async fn revoke_proxy_key(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path((id, key)): Path<(String, String)>,
) -> Result<Json<KeyBody>, ApiError> {
    let key = state
        .app
        .revoke_proxy_key(&principal, proxy_id(&id)?, key_id(&key)?)
        .await?;
    Ok(Json(KeyBody::of(&key, now_ms())))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageParams {
    /// Start of the period (RFC 3339); default one hour before `to`.
    from: Option<String>,
    /// End of the period (RFC 3339, exclusive); default now.
    to: Option<String>,
    /// Time bucket: `minute`, `hour` or `day` (default `minute`).
    interval: Option<String>,
    /// Second grouping: `status`, `key` or `operation` (default `status`).
    group_by: Option<String>,
}

/// Calls in one time bucket and group.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsagePoint {
    start: String,
    /// The status code, key id or operation id (empty: calls without a valid key).
    group: String,
    calls: i64,
    average_latency_ms: f64,
    max_latency_ms: f64,
    request_bytes: i64,
    response_bytes: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UsageBody {
    from: String,
    to: String,
    interval: String,
    group_by: String,
    total_calls: i64,
    points: Vec<UsagePoint>,
}

fn period(from: Option<&str>, to: Option<&str>) -> Result<(i64, i64), ApiError> {
    let to = to
        .map(|t| parse_time("to", t))
        .transpose()?
        .unwrap_or_else(|| now_ms() + 1);
    let from = from
        .map(|t| parse_time("from", t))
        .transpose()?
        .unwrap_or(to - 3_600_000);
    if to <= from {
        return Err(ApiError::bad_request("to", "to must be after from"));
    }
    Ok((from, to))
}

#[utoipa::path(get, path = "/proxies/{id}/usage", tag = "proxies", params(("id" = String, Path, description = "The proxy's id"), UsageParams),
    responses((status = 200, description = "Calls per time bucket and group", body = UsageBody)))]
pub(crate) async fn get_proxy_usage(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    Query(params): Query<UsageParams>,
) -> Result<Json<UsageBody>, ApiError> {
    let (from_ms, to_ms) = period(params.from.as_deref(), params.to.as_deref())?;
    let interval = params.interval.unwrap_or_else(|| "minute".into());
    let bucket_ms = match interval.as_str() {
        "minute" => 60_000,
        "hour" => 3_600_000,
        "day" => 86_400_000,
        _ => {
            return Err(ApiError::bad_request(
                "interval",
                "interval is one of minute, hour, day",
            ));
        }
    };
    let group_by = params.group_by.unwrap_or_else(|| "status".into());
    let group = match group_by.as_str() {
        "status" => UsageGroup::Status,
        "key" => UsageGroup::Key,
        "operation" => UsageGroup::Operation,
        _ => {
            return Err(ApiError::bad_request(
                "groupBy",
                "groupBy is one of status, key, operation",
            ));
        }
    };
    // Buckets start at whole minutes, hours or days (UTC), whatever `from` is.
    let rows = state
        .app
        .proxy_usage(
            &principal,
            proxy_id(&id)?,
            &UsageQuery {
                from_ms,
                to_ms,
                bucket_ms,
                group,
            },
        )
        .await?;
    let points: Vec<UsagePoint> = rows
        .iter()
        .map(|row| UsagePoint {
            start: iso8601(row.bucket_start_ms),
            group: row.group.clone(),
            calls: row.calls,
            average_latency_ms: row.latency_us_total as f64 / row.calls.max(1) as f64 / 1000.0,
            max_latency_ms: row.latency_us_max as f64 / 1000.0,
            request_bytes: row.request_bytes,
            response_bytes: row.response_bytes,
        })
        .collect();
    Ok(Json(UsageBody {
        from: iso8601(from_ms),
        to: iso8601(to_ms),
        interval,
        group_by,
        total_calls: points.iter().map(|p| p.calls).sum(),
        points,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct CallsParams {
    /// Start of the period (RFC 3339); default 24 hours before `to`.
    from: Option<String>,
    /// End of the period (RFC 3339, exclusive); default now.
    to: Option<String>,
    /// At most this many calls, oldest first (default and maximum 100000).
    limit: Option<i64>,
}

/// The call log as CSV: one line per call, naming the key by id only.
#[utoipa::path(get, path = "/proxies/{id}/calls", tag = "proxies", params(("id" = String, Path, description = "The proxy's id"), CallsParams),
    responses((status = 200, description = "time,keyId,method,operation,status,latencyMs,requestBytes,responseBytes", content_type = "text/csv", body = String)))]
pub(crate) async fn export_proxy_calls(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
    Query(params): Query<CallsParams>,
) -> Result<Response, ApiError> {
    let to = params.to.as_deref();
    let (from_ms, to_ms) = match params.from.as_deref() {
        Some(from) => period(Some(from), to)?,
        None => {
            let (_, to_ms) = period(None, to)?;
            (to_ms - 86_400_000, to_ms)
        }
    };
    let limit = params.limit.unwrap_or(100_000);
    if !(1..=100_000).contains(&limit) {
        return Err(ApiError::bad_request(
            "limit",
            "limit is between 1 and 100000",
        ));
    }
    let calls = state
        .app
        .proxy_calls(&principal, proxy_id(&id)?, from_ms, to_ms, limit)
        .await?;
    let csv = ferry_app::calls_as_csv(&calls);
    let mut response = csv.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!(
        "attachment; filename=\"proxy-{}-calls.csv\"",
        id.trim()
    )) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// The proxy's OpenAPI document: the exposed operations, under the proxy's path, with the
/// API-key scheme.
#[utoipa::path(get, path = "/proxies/{id}/docs", tag = "proxies", params(("id" = String, Path, description = "The proxy's id")),
    responses((status = 200, description = "An OpenAPI 3.1 document", body = Object)))]
pub(crate) async fn get_proxy_docs(
    State(state): State<ApiState>,
    Caller(principal): Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let (proxy, connector) = state
        .app
        .proxy_connector(&principal, proxy_id(&id)?)
        .await?;
    Ok(Json(crate::docs::proxy_document(
        &connector.def,
        &proxy,
        &proxy_path(&proxy.base_path),
    )))
}
