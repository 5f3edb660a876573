//! ferry-app: the application services — what a request may do and in which order. It owns
//! authentication of the Cloud Elements `Authorization` header parts against hashed secrets,
//! tenancy, instance life (creation by the Cloud Elements code flow, by ferry-hosted consent or from
//! an existing refresh token or the client-credentials grant; re-authentication; enable/disable),
//! the connector builder (connectors users add, replace, delete, export and clone; the catalog
//! swapped whole and followed across processes), single-flight token refresh with a
//! cross-process lease, hub calls through the connector runtime, and flows: their definitions and
//! instances, the triggers that start executions (connector events among them, polled or delivered
//! by the vendor's signed webhooks), the queue workers that run them step by step, and the history
//! users read. It depends on the store,
//! oauth and connectors crates and the model; it knows nothing of HTTP status codes or routes.

mod cache;
mod clock;
mod connector_builder;
mod console_sign_in;
mod error;
mod events;
mod executions;
mod executor;
mod flow_cache;
mod flow_egress;
mod flow_instances;
mod flow_runtime;
mod flows;
mod hub;
mod identity;
mod instances;
mod oauth_flows;
mod proxies;
mod refresh;
mod request_forms;
mod secrets;
mod services;
mod step_commits;
mod tenancy;
mod triggers;

pub use clock::{Clock, SystemClock};
pub use connector_builder::{ConnectorCopy, ConnectorsDirectory};
pub use console_sign_in::{ConsoleSession, SESSION_COOKIE, session_cookie};
pub use error::{AppError, connector_missing_reason};
pub use events::{DeliveryReceipt, EventDelivery};
pub use executions::{ExecutionPage, ExecutionQuery};
pub use executor::ExecutionOutcome;
pub use flow_egress::{DEFAULT_DENIED_NETWORKS, DeniedNetworks};
pub use flow_instances::{FlowInstanceInput, FlowInstanceView};
pub use flow_runtime::{FlowsConfig, PlatformApi, PlatformFuture};
pub use instances::{InstanceInput, InstanceView};
pub use oauth_flows::{CallbackOutcome, HostedAuthorization, OAuthUrlRequest};
pub use proxies::{
    IssuedKey, KeyInput, MAX_PROXY_REQUEST_BYTES, ProxyAdmission, ProxyInput, ProxyRefusal,
    RateStatus, calls_as_csv,
};
pub use request_forms::multipart_form;
pub use secrets::secret_hash;
pub use services::Services;
pub use tenancy::{AuthorizationParts, BootstrapSecrets, Principal};
pub use triggers::{WebhookCall, WebhookOutcome};

use ferry_connectors::{Catalog, Runtime};
use ferry_model::InstanceId;
use ferry_oauth::{OAuthClient, StateSigner};
use ferry_store::Store;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

/// Operator settings the services need.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// Where browsers reach ferry, e.g. `http://127.0.0.1:8080`; the hosted callback lives under it.
    pub public_url: String,
    /// How long a hosted consent may take before its `state` is refused.
    pub authorization_ttl: Duration,
    /// Identifies this process as a refresh-lease owner.
    pub process_id: String,
}

impl AppConfig {
    pub fn callback_url(&self) -> String {
        format!("{}/oauth/callback", self.public_url.trim_end_matches('/'))
    }

    /// Where the vendor delivers the webhook events of connector instance `id`.
    pub fn events_webhook_url(&self, id: InstanceId) -> String {
        format!(
            "{}/elements/api-v2/instances/{id}/events",
            self.public_url.trim_end_matches('/')
        )
    }
}

/// The services, shared by every request. Cheap to clone.
#[derive(Clone)]
pub struct App {
    inner: Arc<AppInner>,
}

struct AppInner {
    store: Store,
    /// The catalog in use: the installation's connectors plus the users' (swapped whole).
    catalog: RwLock<Arc<Catalog>>,
    /// The embedded and directory connectors, which user definitions are added to (swapped when
    /// the operator's directory changes).
    installed_catalog: RwLock<Catalog>,
    /// The operator's connectors directory, followed while ferry runs.
    connectors_directory: Option<connector_builder::ConnectorsDirectory>,
    /// The stored user definitions the catalog was last built from (key, updated_at).
    catalog_fingerprint: tokio::sync::Mutex<Vec<(String, i64)>>,
    runtime: Runtime,
    oauth: OAuthClient,
    state_signer: StateSigner,
    clock: Arc<dyn Clock>,
    config: AppConfig,
    refresh_locks: Mutex<HashMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
    cache: cache::AuthCache,
    flows: flow_runtime::FlowRuntime,
    request_triggers: triggers::RequestTriggerIndex,
    proxies: proxies::ProxyDirectory,
    /// Distinguishes this installation in idempotency keys shared with providers.
    install_id: String,
}

/// What [`App::new`] is built from.
pub struct AppParts {
    pub store: Store,
    pub catalog: Catalog,
    pub runtime: Runtime,
    pub oauth: OAuthClient,
    /// Key for signing OAuth `state` (derive it from the master key; never reuse it elsewhere).
    pub state_key: Vec<u8>,
    pub clock: Arc<dyn Clock>,
    pub config: AppConfig,
    pub flows: FlowsConfig,
    /// The operator's connectors directory, when `catalog` includes one: folders added,
    /// changed or removed there reach the catalog while ferry runs.
    pub connectors_directory: Option<connector_builder::ConnectorsDirectory>,
}

impl App {
    pub fn new(parts: AppParts) -> Self {
        App {
            inner: Arc::new(AppInner {
                store: parts.store,
                catalog: RwLock::new(Arc::new(parts.catalog.clone())),
                installed_catalog: RwLock::new(parts.catalog),
                connectors_directory: parts.connectors_directory,
                catalog_fingerprint: tokio::sync::Mutex::new(Vec::new()),
                runtime: parts.runtime,
                oauth: parts.oauth,
                state_signer: StateSigner::new(&parts.state_key),
                clock: parts.clock,
                config: parts.config,
                refresh_locks: Mutex::new(HashMap::new()),
                cache: cache::AuthCache::new(),
                flows: flow_runtime::FlowRuntime::new(parts.flows),
                request_triggers: triggers::RequestTriggerIndex::default(),
                proxies: proxies::ProxyDirectory::new(),
                install_id: secrets::install_id(&parts.state_key),
            }),
        }
    }

    /// Lets `request` steps call ferry's own API (set once, after the HTTP edge exists).
    pub fn set_platform_api(&self, platform: Arc<dyn PlatformApi>) {
        let _ = self.inner.flows.platform.set(platform);
    }

    /// The catalog as it is now; user definitions may change it at any time.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.inner
            .catalog
            .read()
            .expect("catalog lock poisoned")
            .clone()
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub fn config(&self) -> &AppConfig {
        &self.inner.config
    }

    /// Instances changed here: cached copies must not answer the next call.
    pub(crate) fn forget_cached_instances(&self) {
        self.inner.cache.forget_instances();
        self.inner.proxies.forget_all();
    }

    fn now_ms(&self) -> i64 {
        self.inner.clock.now_ms()
    }
}
