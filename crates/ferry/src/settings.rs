//! Operator configuration: flags with environment fallbacks, the data directory and the master key.

use crate::error::CliError;
use base64::Engine;
use clap::Args;
use ferry_connectors::EndpointRewrites;
use ferry_store::MasterKey;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Where ferry keeps its SQLite database and master key.
    #[arg(long, env = "FERRY_DATA_DIR", default_value = "ferry-data")]
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://…`; default: SQLite in the data directory.
    #[arg(long, env = "FERRY_DATABASE_URL")]
    pub database_url: Option<String>,
    /// PostgreSQL: the schema ferry keeps its tables in (created if missing; default: the
    /// connection's own search path).
    #[arg(long, env = "FERRY_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,
    /// 32 bytes as 64 hex digits or base64; default: `master.key` in the data directory (created).
    #[arg(long, env = "FERRY_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// Master keys stored secrets may still be sealed with while a key rotation is under way
    /// (comma-separated, hex or base64): they open values; only the master key seals.
    #[arg(
        long = "previous-master-keys",
        env = "FERRY_PREVIOUS_MASTER_KEYS",
        value_delimiter = ',',
        hide_env_values = true
    )]
    pub previous_master_keys: Vec<String>,
    /// A directory of connector folders (`<key>/connector.yaml`) to add to the bundled ones at
    /// start; every process sharing a database should be given the same one.
    #[arg(long, env = "FERRY_CONNECTORS_DIR")]
    pub connectors_dir: Option<PathBuf>,
}

/// `ferry worker`: runs executions, schedules and event polls from the shared database, and
/// serves nothing.
#[derive(Args, Debug, Clone)]
pub struct WorkerArgs {
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub flows: FlowArgs,
    /// `FROM=TO` origin rewrites, as `ferry serve` takes them (point a provider elsewhere).
    #[arg(
        long = "endpoint-rewrite",
        env = "FERRY_ENDPOINT_REWRITES",
        value_delimiter = ','
    )]
    pub endpoint_rewrites: Vec<String>,
    /// Vendor budgets, as `ferry serve` takes them (`gmail=30000`, `gmail=off`); each process
    /// paces its own calls.
    #[arg(
        long = "vendor-quota",
        env = "FERRY_VENDOR_QUOTAS",
        value_delimiter = ','
    )]
    pub vendor_quotas: Vec<String>,
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "FERRY_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// How browsers reach ferry (default: http://LISTEN); OAuth callbacks go to PUBLIC_URL/oauth/callback.
    #[arg(long, env = "FERRY_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Send a provider's traffic elsewhere: `FROM=TO` origins (e.g. https://gmail.googleapis.com=http://127.0.0.1:9000).
    #[arg(
        long = "endpoint-rewrite",
        env = "FERRY_ENDPOINT_REWRITES",
        value_delimiter = ','
    )]
    pub endpoint_rewrites: Vec<String>,
    /// Pace a connector's vendor calls under another budget than its definition's
    /// (`gmail=30000` units a minute) or not at all (`gmail=off`, e.g. against an emulator).
    #[arg(
        long = "vendor-quota",
        env = "FERRY_VENDOR_QUOTAS",
        value_delimiter = ','
    )]
    pub vendor_quotas: Vec<String>,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub flows: FlowArgs,
}

impl StorageArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("ferry.db").display()))
    }

    pub fn ensure_data_dir(&self) -> Result<(), CliError> {
        std::fs::create_dir_all(&self.data_dir).map_err(CliError::io(format!(
            "cannot create the data directory {}",
            self.data_dir.display()
        )))
    }

    pub fn master_key(&self) -> Result<MasterKey, CliError> {
        match &self.master_key {
            Some(text) => parse_key(text.trim()).ok_or_else(|| {
                CliError::Config(
                    "FERRY_MASTER_KEY must be 32 bytes: 64 hex digits or base64".into(),
                )
            }),
            None => load_or_create_key_file(&self.data_dir.join("master.key")),
        }
    }

    pub fn previous_master_keys(&self) -> Result<Vec<MasterKey>, CliError> {
        self.previous_master_keys
            .iter()
            .map(|text| text.trim())
            .filter(|text| !text.is_empty())
            .enumerate()
            .map(|(index, text)| {
                parse_key(text).ok_or_else(|| {
                    CliError::Config(format!(
                        "FERRY_PREVIOUS_MASTER_KEYS item {}: must be 32 bytes, 64 hex digits or base64",
                        index + 1
                    ))
                })
            })
            .collect()
    }
}

pub fn rewrites(specs: &[String]) -> Result<EndpointRewrites, CliError> {
    EndpointRewrites::parse(&specs.join(",")).map_err(CliError::Config)
}

fn parse_key(text: &str) -> Option<MasterKey> {
    let bytes = hex::decode(text)
        .ok()
        .or_else(|| base64::engine::general_purpose::STANDARD.decode(text).ok())?;
    let bytes: [u8; 32] = bytes.try_into().ok()?;
    Some(MasterKey::from_bytes(bytes))
}

fn load_or_create_key_file(path: &Path) -> Result<MasterKey, CliError> {
    if path.exists() {
        let text = std::fs::read_to_string(path).map_err(CliError::io(format!(
            "cannot read the master key {}",
            path.display()
        )))?;
        return parse_key(text.trim()).ok_or_else(|| {
            CliError::Config(format!(
                "{} does not hold a 32-byte key in hex",
                path.display()
            ))
        });
    }
    let key = MasterKey::generate();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(CliError::io(format!(
        "cannot create the master key {}",
        path.display()
    )))?;
    file.write_all(hex::encode(key.as_bytes()).as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .map_err(CliError::io(format!(
            "cannot write the master key {}",
            path.display()
        )))?;
    tracing::info!(path = %path.display(), "created a new master key; back it up with the database");
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let hex_key = "00".repeat(32);
        assert!(parse_key(&hex_key).is_some());
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert_eq!(parse_key(&b64).unwrap().as_bytes(), &[7u8; 32]);
        assert!(parse_key("abcd").is_none());
    }

    #[cfg(unix)]
    #[test]
    fn a_created_key_file_is_private_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let first = load_or_create_key_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let second = load_or_create_key_file(&path).unwrap();
        assert_eq!(first.as_bytes(), second.as_bytes());
    }
}

/// How this process runs flows.
#[derive(Args, Debug, Clone)]
pub struct FlowArgs {
    /// Executions this process runs at once (0: none; another process runs the queue).
    #[arg(long, env = "FERRY_WORKERS", default_value_t = 32)]
    pub workers: usize,
    /// Seconds between event polls of one instance (default: what each connector says).
    #[arg(long, env = "FERRY_EVENT_POLL_SECONDS")]
    pub event_poll_seconds: Option<f64>,
    /// Base delay of retryFormulaExecution steps, in seconds (times e^attempt).
    #[arg(long, env = "FERRY_RETRY_BASE_SECONDS", default_value_t = 60.0)]
    pub retry_base_seconds: f64,
    /// Days finished executions are kept.
    #[arg(long, env = "FERRY_EXECUTION_RETENTION_DAYS", default_value_t = 30.0)]
    pub execution_retention_days: f64,
    /// Wall-clock limit of one script step, in seconds.
    #[arg(long, env = "FERRY_SCRIPT_TIMEOUT_SECONDS", default_value_t = 30.0)]
    pub script_timeout_seconds: f64,
    /// Seconds an execution stays claimed by a process without renewal; after a crash, other
    /// processes resume its executions this much later.
    #[arg(long, env = "FERRY_LEASE_SECONDS", default_value_t = 60.0)]
    pub lease_seconds: f64,
    /// Memory limit of one script step, in MiB.
    #[arg(long, env = "FERRY_SCRIPT_MEMORY_MIB", default_value_t = 64)]
    pub script_memory_mib: usize,
    /// Seconds between looks at the queue when nothing woke this process (on PostgreSQL, other
    /// processes wake it when they queue work).
    #[arg(long, env = "FERRY_QUEUE_POLL_SECONDS", default_value_t = 0.5)]
    pub queue_poll_seconds: f64,
    /// Networks httpRequest steps may not connect to: comma-separated CIDRs, or `none`
    /// (default: the link-local ranges where clouds serve instance credentials).
    #[arg(
        long,
        env = "FERRY_FLOW_HTTP_DENY",
        default_value = ferry_app::DEFAULT_DENIED_NETWORKS
    )]
    pub flow_http_deny: String,
}

impl FlowArgs {
    pub fn config(&self) -> Result<ferry_app::FlowsConfig, CliError> {
        let seconds = |value: f64, name: &str| {
            if value.is_finite() && value > 0.0 {
                Ok(std::time::Duration::from_secs_f64(value))
            } else {
                Err(CliError::Config(format!(
                    "{name} must be a positive number of seconds"
                )))
            }
        };
        let defaults = ferry_app::FlowsConfig::default();
        Ok(ferry_app::FlowsConfig {
            worker_concurrency: self.workers.max(1),
            run_workers: self.workers > 0,
            event_poll_interval: self
                .event_poll_seconds
                .map(|s| seconds(s, "--event-poll-seconds"))
                .transpose()?,
            retry_base: seconds(self.retry_base_seconds, "--retry-base-seconds")?,
            poll_interval: seconds(self.queue_poll_seconds, "--queue-poll-seconds")?,
            lease: seconds(self.lease_seconds, "--lease-seconds")?,
            retention: seconds(
                self.execution_retention_days * 86_400.0,
                "--execution-retention-days",
            )?,
            http_denied: ferry_app::DeniedNetworks::parse(&self.flow_http_deny)
                .map_err(|e| CliError::Config(format!("--flow-http-deny: {e}")))?,
            script_limits: ferry_sandbox::SandboxLimits {
                wall_time: seconds(self.script_timeout_seconds, "--script-timeout-seconds")?,
                memory_bytes: self.script_memory_mib.max(1) * 1024 * 1024,
                ..defaults.script_limits.clone()
            },
        })
    }
}
