//! API proxies: an instance's normalized API published at `/proxies/{basePath}` to applications
//! that hold only an API key. Publishing and keys are the owner's; admitting a call (key, exposed
//! operation, scopes, rate limit, daily quota) and recording it are the callers'.
//!
//! Keys are 256 random bits, so they are stored as a fast hash and found by hash. A published
//! proxy is cached with all of its keys, so every refused key — missing, wrong, revoked or
//! expired — costs the same: one hash and one map lookup, no database.
//!
//! Each key spends from a token bucket with a daily count. On PostgreSQL the bucket is a row
//! spent with one conditional UPDATE, shared by every process. On SQLite one process owns the
//! database, so it keeps the buckets in memory and writes them back with each batch of call
//! records (a crash forgets at most that batch's spending).

use crate::secrets::{generate_secret, secret_hash};
use crate::{App, AppError, Principal};
use ferry_connectors::{Connector, HubRequest, HubResponse};
use ferry_model::instance::{AuthorizationState, Instance};
use ferry_model::proxy::{KeyScopes, Proxy, ProxyCall, ProxyKey, RateLimit};
use ferry_model::{InstanceId, ProxyId, ProxyKeyId, Secret};
use ferry_store::{
    BucketState, Dialect, NewProxy, NewProxyKey, StoreError, TokenOutcome, TokenRequest,
    UsageQuery, UsageRow,
};
use moka::sync::Cache;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// The largest request body a proxy may accept (the hub's own limit).
pub const MAX_PROXY_REQUEST_BYTES: u64 = 40 * 1024 * 1024;
const DEFAULT_REQUEST_BYTES: u64 = 10 * 1024 * 1024;
const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    requests: 10,
    seconds: 1,
};
const KEY_PREFIX: &str = "fpk_";
/// Characters of a key kept in clear so a person can tell keys apart.
const SHOWN_KEY_CHARS: usize = 12;
/// Other processes see a revoked key or a changed proxy within this time.
const DIRECTORY_TTL: Duration = Duration::from_secs(2);
const DAY_MS: i64 = 86_400_000;
/// Call records older than this are deleted, and no proxy keeps more than `MAX_CALLS_PER_PROXY`.
const CALL_RETENTION_MS: i64 = 30 * DAY_MS;
const MAX_CALLS_PER_PROXY: i64 = 1_000_000;
const RECORD_BATCH: usize = 512;
const RECORD_QUEUE: usize = 65_536;

/// What the owner sets when publishing or changing a proxy; `None` keeps (or defaults) a field.
#[derive(Debug, Clone, Default)]
pub struct ProxyInput {
    pub name: Option<String>,
    pub base_path: Option<String>,
    pub instance_id: Option<InstanceId>,
    /// `Some(None)` exposes every operation.
    pub operations: Option<Option<Vec<String>>>,
    pub cors_origins: Option<Vec<String>>,
    pub rate_limit: Option<RateLimit>,
    /// `Some(None)` removes the quota.
    pub daily_quota: Option<Option<u32>>,
    pub max_request_bytes: Option<u64>,
    pub published: Option<bool>,
}

#[derive(Debug, Clone, Default)]
pub struct KeyInput {
    pub name: String,
    pub scopes: KeyScopes,
    pub rate_limit: Option<RateLimit>,
    pub daily_quota: Option<u32>,
    pub expires_at_ms: Option<i64>,
}

/// A new key with its secret, which is shown this once and never stored.
#[derive(Debug, Clone)]
pub struct IssuedKey {
    pub key: ProxyKey,
    pub secret: Secret,
}

/// The rate-limit state a caller is told about (`RateLimit-*` headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStatus {
    pub limit: u32,
    pub window_seconds: u32,
    pub remaining: u32,
    /// Seconds until the bucket is full again.
    pub reset_seconds: u64,
}

/// A call let through: what the edge needs to read the body, call the instance and answer.
#[derive(Clone)]
pub struct ProxyAdmission {
    pub proxy_id: ProxyId,
    pub key_id: ProxyKeyId,
    pub operation: String,
    pub max_request_bytes: u64,
    pub rate: RateStatus,
    published: Arc<PublishedProxy>,
}

impl ProxyAdmission {
    /// The connector instance the proxy publishes.
    pub fn instance(&self) -> &Instance {
        &self.published.instance
    }
}

/// A call refused before it reached the instance.
#[derive(Debug)]
pub struct ProxyRefusal {
    pub error: AppError,
    /// The proxy, when the base path named one (for the call record).
    pub proxy_id: Option<ProxyId>,
    pub key_id: Option<ProxyKeyId>,
    pub operation: String,
    /// Present when the refusal is the rate limit or the quota.
    pub rate: Option<RateStatus>,
}

/// A published proxy as calls see it: the proxy, every key by hash, the instance and connector.
pub(crate) struct PublishedProxy {
    proxy: Proxy,
    keys: HashMap<String, ProxyKey>,
    instance: Arc<Instance>,
    connector: Arc<Connector>,
}

pub(crate) struct ProxyDirectory {
    by_base_path: Cache<String, Option<Arc<PublishedProxy>>>,
    recorder: OnceLock<mpsc::Sender<RecorderMessage>>,
    /// On SQLite, where one process owns the database, buckets live here and are written back
    /// with the call records; on PostgreSQL every process spends from the database's.
    buckets: Mutex<HashMap<ProxyKeyId, KeptBucket>>,
}

struct KeptBucket {
    state: BucketState,
    /// Changed since it was last written back.
    dirty: bool,
}

impl ProxyDirectory {
    pub fn new() -> Self {
        ProxyDirectory {
            by_base_path: Cache::builder()
                .max_capacity(10_000)
                .time_to_live(DIRECTORY_TTL)
                .build(),
            recorder: OnceLock::new(),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Instances changed: published proxies carry a copy of theirs.
    pub fn forget_all(&self) {
        self.by_base_path.invalidate_all();
    }
}

enum RecorderMessage {
    Call(ProxyCall),
    Flush(oneshot::Sender<()>),
}

fn is_valid_base_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

fn is_valid_origin(origin: &str) -> bool {
    if origin == "*" {
        return true;
    }
    match url::Url::parse(origin) {
        Ok(url) => {
            matches!(url.scheme(), "http" | "https")
                && url.host_str().is_some()
                && origin.trim_end_matches('/') == url.origin().ascii_serialization()
        }
        Err(_) => false,
    }
}

fn check_rate_limit(field: &str, limit: &RateLimit) -> Result<(), AppError> {
    if !(1..=1_000_000).contains(&limit.requests) {
        return Err(AppError::input(
            format!("{field}.requests"),
            "requests must be between 1 and 1000000",
        ));
    }
    if !(1..=86_400).contains(&limit.seconds) {
        return Err(AppError::input(
            format!("{field}.seconds"),
            "seconds must be between 1 and 86400 (one day)",
        ));
    }
    Ok(())
}

fn check_operations(
    field: &str,
    operations: &[String],
    known: impl Fn(&str) -> bool,
    what: &str,
) -> Result<(), AppError> {
    for (index, operation) in operations.iter().enumerate() {
        if !known(operation) {
            return Err(AppError::input(
                format!("{field}[{index}]"),
                format!("{operation:?} is not an operation of {what}"),
            ));
        }
    }
    Ok(())
}

fn rate_status(limit: &RateLimit, tokens: f64) -> RateStatus {
    let refill = limit.refill_per_ms();
    let missing = (f64::from(limit.requests) - tokens).max(0.0);
    RateStatus {
        limit: limit.requests,
        window_seconds: limit.seconds,
        remaining: tokens.max(0.0).floor() as u32,
        reset_seconds: (missing / refill / 1000.0).ceil() as u64,
    }
}

fn unauthenticated() -> AppError {
    AppError::Unauthenticated(
        "a valid API key is required: send it as X-API-Key or Authorization: Bearer".into(),
    )
}

impl App {
    fn forget_published(&self, base_path: &str) {
        self.inner.proxies.by_base_path.invalidate(base_path);
    }

    async fn owned_proxy(&self, principal: &Principal, id: ProxyId) -> Result<Proxy, AppError> {
        self.inner
            .store
            .get_proxy(principal.organization.id, id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no proxy {id}")))
    }

    async fn owned_instance(
        &self,
        principal: &Principal,
        id: InstanceId,
    ) -> Result<Instance, AppError> {
        self.inner
            .store
            .get_instance(principal.organization.id, id)
            .await?
            .ok_or_else(|| {
                AppError::input(
                    "instanceId",
                    format!("there is no instance {id} to publish"),
                )
            })
    }

    /// Checks a whole proxy before it is stored.
    fn check_proxy(&self, proxy: &Proxy, instance: &Instance) -> Result<(), AppError> {
        if proxy.name.trim().is_empty() {
            return Err(AppError::input("name", "a proxy needs a name"));
        }
        if !is_valid_base_path(&proxy.base_path) {
            return Err(AppError::input(
                "basePath",
                "the base path is one segment of 1 to 63 lowercase letters, digits and hyphens, starting with a letter or digit",
            ));
        }
        if let Some(operations) = &proxy.operations {
            let connector = self.instance_connector(instance)?;
            check_operations(
                "operations",
                operations,
                |op| connector.operation(op).is_some(),
                &format!("the {} connector", connector.key()),
            )?;
        }
        for (index, origin) in proxy.cors_origins.iter().enumerate() {
            if !is_valid_origin(origin) {
                return Err(AppError::input(
                    format!("corsOrigins[{index}]"),
                    format!(
                        "{origin:?} is not an origin: write scheme://host[:port] with no path, or *"
                    ),
                ));
            }
        }
        check_rate_limit("rateLimit", &proxy.rate_limit)?;
        if proxy.daily_quota == Some(0) {
            return Err(AppError::input("dailyQuota", "a daily quota is at least 1"));
        }
        if !(1..=MAX_PROXY_REQUEST_BYTES).contains(&proxy.max_request_bytes) {
            return Err(AppError::input(
                "maxRequestBytes",
                format!("maxRequestBytes must be between 1 and {MAX_PROXY_REQUEST_BYTES}"),
            ));
        }
        Ok(())
    }

    pub async fn create_proxy(
        &self,
        principal: &Principal,
        input: ProxyInput,
    ) -> Result<Proxy, AppError> {
        let name = input
            .name
            .ok_or_else(|| AppError::input("name", "a proxy needs a name"))?;
        let base_path = input
            .base_path
            .ok_or_else(|| AppError::input("basePath", "a proxy needs a base path"))?;
        let instance_id = input.instance_id.ok_or_else(|| {
            AppError::input("instanceId", "name the instance whose API to publish")
        })?;
        let instance = self.owned_instance(principal, instance_id).await?;
        let now = self.now_ms();
        let draft = Proxy {
            id: ProxyId(0),
            organization_id: principal.organization.id,
            instance_id,
            name,
            base_path,
            operations: input.operations.flatten(),
            cors_origins: input.cors_origins.unwrap_or_default(),
            rate_limit: input.rate_limit.unwrap_or(DEFAULT_RATE_LIMIT),
            daily_quota: input.daily_quota.flatten(),
            max_request_bytes: input.max_request_bytes.unwrap_or(DEFAULT_REQUEST_BYTES),
            published: input.published.unwrap_or(true),
            created_at_ms: now,
            updated_at_ms: now,
        };
        self.check_proxy(&draft, &instance)?;
        let mut proxy = self
            .inner
            .store
            .create_proxy(&NewProxy {
                organization_id: draft.organization_id,
                instance_id,
                name: &draft.name,
                base_path: &draft.base_path,
                operations: draft.operations.as_deref(),
                cors_origins: &draft.cors_origins,
                rate_limit: draft.rate_limit,
                daily_quota: draft.daily_quota,
                max_request_bytes: draft.max_request_bytes,
                now_ms: now,
            })
            .await?;
        if !draft.published {
            proxy.published = false;
            proxy = self
                .inner
                .store
                .update_proxy(&proxy, now)
                .await?
                .unwrap_or(proxy);
        }
        self.forget_published(&proxy.base_path);
        Ok(proxy)
    }

    pub async fn list_proxies(&self, principal: &Principal) -> Result<Vec<Proxy>, AppError> {
        Ok(self
            .inner
            .store
            .list_proxies(principal.organization.id)
            .await?)
    }

    pub async fn get_proxy(&self, principal: &Principal, id: ProxyId) -> Result<Proxy, AppError> {
        self.owned_proxy(principal, id).await
    }

    /// Changes the fields `input` names; a changed base path frees the old one at once.
    pub async fn update_proxy(
        &self,
        principal: &Principal,
        id: ProxyId,
        input: ProxyInput,
    ) -> Result<Proxy, AppError> {
        let mut proxy = self.owned_proxy(principal, id).await?;
        let old_base_path = proxy.base_path.clone();
        if let Some(instance) = input.instance_id
            && instance != proxy.instance_id
        {
            return Err(AppError::input(
                "instanceId",
                "a proxy stays on its instance: publish a new proxy for another instance",
            ));
        }
        if let Some(name) = input.name {
            proxy.name = name;
        }
        if let Some(base_path) = input.base_path {
            proxy.base_path = base_path;
        }
        if let Some(operations) = input.operations {
            proxy.operations = operations;
        }
        if let Some(origins) = input.cors_origins {
            proxy.cors_origins = origins;
        }
        if let Some(limit) = input.rate_limit {
            proxy.rate_limit = limit;
        }
        if let Some(quota) = input.daily_quota {
            proxy.daily_quota = quota;
        }
        if let Some(bytes) = input.max_request_bytes {
            proxy.max_request_bytes = bytes;
        }
        if let Some(published) = input.published {
            proxy.published = published;
        }
        let instance = self.owned_instance(principal, proxy.instance_id).await?;
        self.check_proxy(&proxy, &instance)?;
        let updated = self
            .inner
            .store
            .update_proxy(&proxy, self.now_ms())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no proxy {id}")))?;
        self.forget_published(&old_base_path);
        self.forget_published(&updated.base_path);
        Ok(updated)
    }

    /// Unpublishes a proxy for good: its keys and call records go with it.
    pub async fn delete_proxy(&self, principal: &Principal, id: ProxyId) -> Result<(), AppError> {
        let proxy = self.owned_proxy(principal, id).await?;
        self.inner
            .store
            .delete_proxy(principal.organization.id, id)
            .await?;
        self.forget_published(&proxy.base_path);
        Ok(())
    }

    pub async fn create_proxy_key(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
        input: KeyInput,
    ) -> Result<IssuedKey, AppError> {
        let proxy = self.owned_proxy(principal, proxy_id).await?;
        if input.name.trim().is_empty() {
            return Err(AppError::input(
                "name",
                "a key needs a name: say which application uses it",
            ));
        }
        if let Some(methods) = &input.scopes.methods {
            for (index, method) in methods.iter().enumerate() {
                if !["GET", "POST", "PUT", "PATCH", "DELETE"]
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(method))
                {
                    return Err(AppError::input(
                        format!("scopes.methods[{index}]"),
                        format!("{method:?} is not one of GET, POST, PUT, PATCH, DELETE"),
                    ));
                }
            }
        }
        if let Some(operations) = &input.scopes.operations {
            let instance = self.owned_instance(principal, proxy.instance_id).await?;
            let connector = self.instance_connector(&instance)?;
            check_operations(
                "scopes.operations",
                operations,
                |op| connector.operation(op).is_some() && proxy.exposes(op),
                &format!("proxy {}", proxy.base_path),
            )?;
        }
        if let Some(limit) = &input.rate_limit {
            check_rate_limit("rateLimit", limit)?;
        }
        if input.daily_quota == Some(0) {
            return Err(AppError::input("dailyQuota", "a daily quota is at least 1"));
        }
        let now = self.now_ms();
        if input.expires_at_ms.is_some_and(|at| at <= now) {
            return Err(AppError::input("expiresAt", "expiresAt is in the past"));
        }
        let secret = Secret::new(format!("{KEY_PREFIX}{}", generate_secret().expose()));
        let limit = input.rate_limit.unwrap_or(proxy.rate_limit);
        let key = self
            .inner
            .store
            .create_proxy_key(&NewProxyKey {
                proxy_id,
                name: input.name.trim(),
                prefix: &secret.expose()[..SHOWN_KEY_CHARS],
                key_hash: &secret_hash(secret.expose()),
                scopes: &input.scopes,
                rate_limit: input.rate_limit,
                daily_quota: input.daily_quota,
                expires_at_ms: input.expires_at_ms,
                initial_tokens: f64::from(limit.requests),
                now_ms: now,
            })
            .await?;
        self.forget_published(&proxy.base_path);
        Ok(IssuedKey { key, secret })
    }

    pub async fn list_proxy_keys(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
    ) -> Result<Vec<ProxyKey>, AppError> {
        self.owned_proxy(principal, proxy_id).await?;
        Ok(self.inner.store.list_proxy_keys(proxy_id).await?)
    }

    pub async fn revoke_proxy_key(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
        key_id: ProxyKeyId,
    ) -> Result<ProxyKey, AppError> {
        let proxy = self.owned_proxy(principal, proxy_id).await?;
        let key = self
            .inner
            .store
            .revoke_proxy_key(proxy_id, key_id, self.now_ms())
            .await?
            .ok_or_else(|| AppError::NotFound(format!("proxy {proxy_id} has no key {key_id}")))?;
        self.forget_published(&proxy.base_path);
        Ok(key)
    }

    pub async fn proxy_usage(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
        query: &UsageQuery,
    ) -> Result<Vec<UsageRow>, AppError> {
        self.owned_proxy(principal, proxy_id).await?;
        if query.to_ms <= query.from_ms {
            return Err(AppError::input("to", "to must be after from"));
        }
        let buckets = (query.to_ms - query.from_ms) / query.bucket_ms.max(1);
        if buckets > 10_000 {
            return Err(AppError::input(
                "interval",
                format!(
                    "{buckets} time buckets is too many: choose a longer interval or a shorter range (at most 10000)"
                ),
            ));
        }
        Ok(self.inner.store.proxy_usage(proxy_id, query).await?)
    }

    /// The calls of a proxy in `[from, to)`, oldest first, at most `limit`.
    pub async fn proxy_calls(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<ProxyCall>, AppError> {
        self.owned_proxy(principal, proxy_id).await?;
        Ok(self
            .inner
            .store
            .list_proxy_calls(proxy_id, from_ms, to_ms, limit)
            .await?)
    }

    /// The OpenAPI-relevant view of a proxy: its connector and which operations it exposes.
    pub async fn proxy_connector(
        &self,
        principal: &Principal,
        proxy_id: ProxyId,
    ) -> Result<(Proxy, Arc<Connector>), AppError> {
        let proxy = self.owned_proxy(principal, proxy_id).await?;
        let instance = self
            .inner
            .store
            .get_instance(principal.organization.id, proxy.instance_id)
            .await?
            .ok_or_else(|| AppError::NotFound(format!("no instance {}", proxy.instance_id)))?;
        let connector = self.instance_connector(&instance)?;
        Ok((proxy, connector))
    }

    async fn published(&self, base_path: &str) -> Result<Option<Arc<PublishedProxy>>, AppError> {
        if let Some(found) = self.inner.proxies.by_base_path.get(base_path) {
            return Ok(found);
        }
        let found = self.load_published(base_path).await?;
        self.inner
            .proxies
            .by_base_path
            .insert(base_path.to_owned(), found.clone());
        Ok(found)
    }

    async fn load_published(
        &self,
        base_path: &str,
    ) -> Result<Option<Arc<PublishedProxy>>, AppError> {
        let store = &self.inner.store;
        let Some(proxy) = store.find_proxy_by_base_path(base_path).await? else {
            return Ok(None);
        };
        if !proxy.published {
            return Ok(None);
        }
        let Some(instance) = store.get_instance_by_id(proxy.instance_id).await? else {
            return Ok(None);
        };
        // Like the instance's other troubles, this is the owner's to fix; callers learn only
        // that the API is unavailable.
        let connector = self.instance_connector(&instance).map_err(|_| {
            AppError::Unavailable("this API is unavailable until its owner repairs it".into())
        })?;
        let keys = store
            .list_proxy_keys(proxy.id)
            .await?
            .into_iter()
            .map(|key| (key.key_hash.clone(), key))
            .collect();
        Ok(Some(Arc::new(PublishedProxy {
            proxy,
            keys,
            instance: Arc::new(instance),
            connector,
        })))
    }

    /// The published proxy at `base_path`, for its CORS origins and OpenAPI document (no key).
    pub async fn published_proxy(
        &self,
        base_path: &str,
    ) -> Result<(Proxy, Arc<Connector>), AppError> {
        let published = self.published(base_path).await?.ok_or_else(|| {
            AppError::NotFound(format!("no proxy is published at /proxies/{base_path}"))
        })?;
        Ok((published.proxy.clone(), published.connector.clone()))
    }

    /// Decides whether a call to `/proxies/{base_path}{path}` may reach the instance: the proxy
    /// exists, the key is valid, the path is an exposed operation the key may use, and the key's
    /// bucket and daily quota have room. Spends one token when it does.
    pub async fn admit_proxy_call(
        &self,
        base_path: &str,
        presented_key: Option<&str>,
        method: ferry_model::connector::HttpMethod,
        path: &str,
    ) -> Result<ProxyAdmission, ProxyRefusal> {
        let refuse = |error: AppError| ProxyRefusal {
            error,
            proxy_id: None,
            key_id: None,
            operation: String::new(),
            rate: None,
        };
        let published = self
            .published(base_path)
            .await
            .map_err(refuse)?
            .ok_or_else(|| {
                refuse(AppError::NotFound(format!(
                    "no proxy is published at /proxies/{base_path}"
                )))
            })?;
        let proxy = &published.proxy;
        let mut refusal = refuse(unauthenticated());
        refusal.proxy_id = Some(proxy.id);
        // The same work for every presented key, valid or not.
        let hash = secret_hash(presented_key.unwrap_or_default());
        let now = self.now_ms();
        let Some(key) = published
            .keys
            .get(&hash)
            .filter(|key| presented_key.is_some() && key.usable_at(now))
        else {
            return Err(refusal);
        };
        refusal.key_id = Some(key.id);
        let operation = match self
            .inner
            .runtime
            .resolve(&published.connector, method, path)
        {
            Ok(resolved) if proxy.exposes(&resolved.resource.operation) => {
                resolved.resource.operation.clone()
            }
            _ => {
                refusal.error = AppError::NotFound(format!(
                    "{} {path} is not an operation of this API",
                    method.as_str()
                ));
                return Err(refusal);
            }
        };
        refusal.operation = operation.clone();
        if !key.scopes.allows(method.as_str(), &operation) {
            refusal.error = AppError::Forbidden(format!(
                "this API key may not call {} {path} ({operation})",
                method.as_str()
            ));
            return Err(refusal);
        }
        let limit = key.rate_limit.unwrap_or(proxy.rate_limit);
        let quota = key.daily_quota.or(proxy.daily_quota);
        let day = now.div_euclid(DAY_MS);
        let outcome = self
            .take_proxy_token(
                key.id,
                &TokenRequest {
                    now_ms: now,
                    capacity: f64::from(limit.requests),
                    refill_per_ms: limit.refill_per_ms(),
                    day,
                    daily_quota: quota,
                },
            )
            .await;
        match outcome {
            Ok(TokenOutcome::Taken { tokens_left, .. }) => Ok(ProxyAdmission {
                proxy_id: proxy.id,
                key_id: key.id,
                operation,
                max_request_bytes: proxy.max_request_bytes,
                rate: rate_status(&limit, tokens_left),
                published: published.clone(),
            }),
            Ok(TokenOutcome::Refused(state)) => {
                let refill = limit.refill_per_ms();
                let tokens = (state.tokens + (now - state.at_ms).max(0) as f64 * refill)
                    .min(f64::from(limit.requests));
                let (message, retry_after_ms) = if tokens < 1.0 {
                    (
                        format!(
                            "this API key may make {} calls per {} s; wait before calling again",
                            limit.requests, limit.seconds
                        ),
                        ((1.0 - tokens) / refill).ceil() as i64,
                    )
                } else {
                    (
                        format!(
                            "this API key has used its {} calls for today (UTC)",
                            quota.unwrap_or_default()
                        ),
                        (day + 1) * DAY_MS - now,
                    )
                };
                let retry_after_secs = u64::try_from(retry_after_ms.max(1))
                    .unwrap_or(1)
                    .div_ceil(1000);
                refusal.rate = Some(rate_status(&limit, tokens));
                refusal.error = AppError::RateLimited {
                    message,
                    retry_after_secs,
                };
                Err(refusal)
            }
            Ok(TokenOutcome::NoSuchKey) => Err(refusal),
            Err(error) => {
                refusal.error = error.into();
                Err(refusal)
            }
        }
    }

    async fn take_proxy_token(
        &self,
        key: ProxyKeyId,
        request: &TokenRequest,
    ) -> Result<TokenOutcome, StoreError> {
        let store = &self.inner.store;
        if store.dialect() != Dialect::Sqlite {
            return store.take_proxy_token(key, request).await;
        }
        let buckets = &self.inner.proxies.buckets;
        let kept = buckets.lock().expect("bucket lock").contains_key(&key);
        if !kept {
            let Some(state) = store.proxy_bucket(key).await? else {
                return Ok(TokenOutcome::NoSuchKey);
            };
            buckets
                .lock()
                .expect("bucket lock")
                .entry(key)
                .or_insert(KeptBucket {
                    state,
                    dirty: false,
                });
        }
        let mut buckets = buckets.lock().expect("bucket lock");
        let bucket = buckets.get_mut(&key).expect("the bucket was just kept");
        let outcome = bucket.state.take(request);
        if let TokenOutcome::Taken { .. } = outcome {
            bucket.dirty = true;
        }
        Ok(outcome)
    }

    /// Writes buckets kept in memory back to the database, so a restart goes on from them.
    async fn save_kept_buckets(&self) {
        let changed: Vec<(ProxyKeyId, BucketState)> = {
            let mut buckets = self.inner.proxies.buckets.lock().expect("bucket lock");
            buckets
                .iter_mut()
                .filter(|(_, bucket)| bucket.dirty)
                .map(|(key, bucket)| {
                    bucket.dirty = false;
                    (*key, bucket.state)
                })
                .collect()
        };
        if changed.is_empty() {
            return;
        }
        if let Err(error) = self.inner.store.save_proxy_buckets(&changed).await {
            tracing::warn!(error = %error, "could not save the proxy keys' rate-limit state");
        }
    }

    /// Calls the instance behind an admitted proxy call. Problems of the instance itself
    /// (disabled, waiting for consent, needing re-authentication) are the owner's to fix; the
    /// caller learns only that the API is unavailable.
    pub async fn proxy_call(
        &self,
        admission: &ProxyAdmission,
        request: &HubRequest,
    ) -> Result<HubResponse, AppError> {
        let instance = &admission.published.instance;
        if instance.disabled || instance.state != AuthorizationState::Active {
            return Err(AppError::Unavailable(
                "this API is unavailable until its owner re-authorizes or enables it".into(),
            ));
        }
        let reply = self
            .hub_call(instance, request)
            .await
            .map_err(|error| match error {
                AppError::NeedsReauthentication { .. } | AppError::Forbidden(_) => {
                    AppError::Unavailable(
                        "this API is unavailable until its owner re-authorizes or enables it"
                            .into(),
                    )
                }
                other => other,
            })?;
        Ok(reply)
    }

    /// Records one proxied call (in the background, in batches).
    pub fn record_proxy_call(&self, call: ProxyCall) {
        let sender = self.inner.proxies.recorder.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(RECORD_QUEUE);
            tokio::spawn(self.clone().record_calls(receiver));
            sender
        });
        if sender.try_send(RecorderMessage::Call(call)).is_err() {
            tracing::warn!(
                "proxy call records are arriving faster than they can be written; one was dropped"
            );
        }
    }

    /// Waits until every call recorded so far is stored.
    pub async fn flush_proxy_calls(&self) {
        let Some(sender) = self.inner.proxies.recorder.get() else {
            return;
        };
        let (done, written) = oneshot::channel();
        if sender.send(RecorderMessage::Flush(done)).await.is_ok() {
            let _ = written.await;
        }
    }

    async fn record_calls(self, mut receiver: mpsc::Receiver<RecorderMessage>) {
        let mut messages = Vec::with_capacity(RECORD_BATCH);
        let mut purged_at = 0;
        loop {
            if receiver.recv_many(&mut messages, RECORD_BATCH).await == 0 {
                return;
            }
            let mut calls = Vec::with_capacity(messages.len());
            let mut waiting = Vec::new();
            for message in messages.drain(..) {
                match message {
                    RecorderMessage::Call(call) => calls.push(call),
                    RecorderMessage::Flush(done) => waiting.push(done),
                }
            }
            if !calls.is_empty()
                && let Err(error) = self.inner.store.record_proxy_calls(&calls).await
            {
                tracing::warn!(error = %error, calls = calls.len(), "could not record proxy calls");
            }
            self.save_kept_buckets().await;
            for done in waiting {
                let _ = done.send(());
            }
            let now = self.now_ms();
            if now - purged_at > 3_600_000 {
                purged_at = now;
                match self
                    .inner
                    .store
                    .purge_proxy_calls(now - CALL_RETENTION_MS, MAX_CALLS_PER_PROXY)
                    .await
                {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "old proxy call records deleted"),
                    Err(error) => {
                        tracing::warn!(error = %error, "could not delete old proxy call records")
                    }
                }
            }
        }
    }
}

/// Calls as CSV, one line per call, naming the key by id only.
pub fn calls_as_csv(calls: &[ProxyCall]) -> String {
    use std::fmt::Write as _;
    let mut csv =
        String::from("time,keyId,method,operation,status,latencyMs,requestBytes,responseBytes\n");
    for call in calls {
        // Every field is ferry's own (a time, numbers, a method, an operation id): none needs quoting.
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.3},{},{}",
            chrono::DateTime::from_timestamp_millis(call.at_ms)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            call.key_id.map(|k| k.0.to_string()).unwrap_or_default(),
            call.method,
            call.operation,
            call.status,
            call.latency_us as f64 / 1000.0,
            call.request_bytes,
            call.response_bytes
        );
    }
    csv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_are_one_lowercase_segment() {
        assert!(is_valid_base_path("gmail-mobile"));
        assert!(is_valid_base_path("a1"));
        for bad in ["", "-mail", "Mail", "mail/v1", "mail_v1", &"a".repeat(64)] {
            assert!(!is_valid_base_path(bad), "{bad:?}");
        }
    }

    #[test]
    fn origins_have_no_path() {
        assert!(is_valid_origin("*"));
        assert!(is_valid_origin("https://app.example"));
        assert!(is_valid_origin("http://127.0.0.1:3000"));
        for bad in [
            "app.example",
            "https://app.example/path",
            "ftp://x.example",
            "https://",
        ] {
            assert!(!is_valid_origin(bad), "{bad:?}");
        }
    }

    #[test]
    fn the_rate_status_counts_whole_tokens_and_the_time_to_fill() {
        let limit = RateLimit {
            requests: 10,
            seconds: 5,
        };
        // Two tokens per second: 7.5 missing take 3.75 s.
        assert_eq!(
            rate_status(&limit, 2.5),
            RateStatus {
                limit: 10,
                window_seconds: 5,
                remaining: 2,
                reset_seconds: 4
            }
        );
        assert_eq!(rate_status(&limit, 10.0).reset_seconds, 0);
    }
}
