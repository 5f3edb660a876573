//! What running flows needs in a process: settings, the engine and sandbox, the plan cache, the
//! queue's wake-up, the executions this process runs (for lease renewal), and a way into ferry's
//! own API for `request` steps.

use crate::flow_egress::DeniedNetworks;
use crate::tenancy::Principal;
use ferry_engine::{CallError, Engine, EngineLimits, FlowPlan, HttpCall, HttpExchange};
use ferry_model::execution::{Flow, FlowInstance};
use ferry_model::{ExecutionId, FlowId, FlowInstanceId, UserId};
use ferry_sandbox::{Sandbox, SandboxLimits};
use moka::sync::Cache;
use std::collections::HashSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::Notify;

/// Operator settings of flow execution.
#[derive(Debug, Clone)]
pub struct FlowsConfig {
    /// Executions one process runs at once.
    pub worker_concurrency: usize,
    /// How long a claim holds without renewal; a dead worker's executions move on after it.
    pub lease: Duration,
    /// How often an idle worker looks for work it was not woken for.
    pub poll_interval: Duration,
    /// Overrides every connector's event polling interval (tests, demos).
    pub event_poll_interval: Option<Duration>,
    /// Base delay of retryFormulaExecution (Cloud Elements: minutes, times e^attempt).
    pub retry_base: Duration,
    /// Finished executions older than this are deleted.
    pub retention: Duration,
    pub script_limits: SandboxLimits,
    /// Run the queue in this process (`false`: API only; another process executes).
    pub run_workers: bool,
    /// Networks `httpRequest` steps may not connect to.
    pub http_denied: DeniedNetworks,
}

impl Default for FlowsConfig {
    fn default() -> Self {
        FlowsConfig {
            worker_concurrency: 32,
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            event_poll_interval: None,
            retry_base: Duration::from_secs(60),
            retention: Duration::from_secs(30 * 24 * 3600),
            script_limits: SandboxLimits::default(),
            run_workers: true,
            http_denied: DeniedNetworks::default(),
        }
    }
}

pub type PlatformFuture = Pin<Box<dyn Future<Output = Result<HttpExchange, CallError>> + Send>>;

/// ferry's own API, for `request` steps: the HTTP edge implements it (the binary wires it in
/// after the router exists).
pub trait PlatformApi: Send + Sync {
    fn request(&self, principal: Arc<Principal>, call: HttpCall) -> PlatformFuture;
}

/// Flow execution state of one process.
pub(crate) struct FlowRuntime {
    pub config: FlowsConfig,
    pub engine: Engine,
    pub sandbox: Sandbox,
    /// For `httpRequest` steps.
    pub http: reqwest::Client,
    pub plans: Cache<(FlowId, i64), Arc<FlowPlan>>,
    /// Flows, flow instances, webhook secrets and flow owners as the hot paths (webhooks, the
    /// executor) read them: dropped at once on changes in this process, after a few seconds for
    /// changes made by others.
    pub flows: Cache<FlowId, Arc<Flow>>,
    pub flow_instances: Cache<FlowInstanceId, Arc<FlowInstance>>,
    pub webhook_secrets: Cache<FlowInstanceId, Option<Arc<str>>>,
    pub owners: Cache<UserId, Arc<Principal>>,
    pub platform: OnceLock<Arc<dyn PlatformApi>>,
    /// Wakes workers when something was queued in this process.
    pub queued: Notify,
    /// Wakes trigger indexes when flows or flow instances changed here.
    pub changed: Notify,
    running: Mutex<HashSet<ExecutionId>>,
}

fn short_lived<K, V>() -> Cache<K, V>
where
    K: std::hash::Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder()
        .max_capacity(100_000)
        .time_to_live(Duration::from_secs(2))
        .build()
}

impl FlowRuntime {
    /// Flows or flow instances changed in this process.
    pub fn forget_cached(&self) {
        self.flows.invalidate_all();
        self.flow_instances.invalidate_all();
        self.webhook_secrets.invalidate_all();
    }

    pub fn new(config: FlowsConfig) -> Self {
        FlowRuntime {
            engine: Engine::new(EngineLimits::default()),
            sandbox: Sandbox::new(config.script_limits.clone()),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .dns_resolver(config.http_denied.resolver())
                .redirect(config.http_denied.redirect_policy(5))
                .build()
                .expect("an HTTP client with default TLS builds"),
            plans: Cache::builder().max_capacity(10_000).build(),
            flows: short_lived(),
            flow_instances: short_lived(),
            webhook_secrets: short_lived(),
            owners: short_lived(),
            platform: OnceLock::new(),
            queued: Notify::new(),
            changed: Notify::new(),
            running: Mutex::new(HashSet::new()),
            config,
        }
    }

    /// Marks an execution as running here (its lease is renewed) until the guard drops — also
    /// when the future driving it is dropped half-way, so an abandoned run stops being renewed
    /// and another worker takes it over when the lease runs out.
    pub fn running_guard(&self, id: ExecutionId) -> RunningGuard<'_> {
        self.running
            .lock()
            .expect("running set poisoned")
            .insert(id);
        RunningGuard { runtime: self, id }
    }

    pub fn running(&self) -> Vec<ExecutionId> {
        self.running
            .lock()
            .expect("running set poisoned")
            .iter()
            .copied()
            .collect()
    }
}

pub struct RunningGuard<'a> {
    runtime: &'a FlowRuntime,
    id: ExecutionId,
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        if let Ok(mut running) = self.runtime.running.lock() {
            running.remove(&self.id);
        }
    }
}
