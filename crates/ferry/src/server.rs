//! Wiring: store + catalog + OAuth client + connector runtime → application → HTTP server.

use crate::error::CliError;
use crate::settings::{ServeArgs, StorageArgs, rewrites};
use ferry_app::{
    App, AppConfig, AppParts, BootstrapSecrets, ConnectorsDirectory, FlowsConfig, SystemClock,
};
use ferry_connectors::{
    Catalog, Egress, EgressConfig, EndpointRewrites, QuotaLimiter, QuotaOverrides, Runtime,
};
use ferry_oauth::OAuthClient;
use ferry_store::{MasterKey, Store, StoreOptions};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Derives the OAuth state signing key from the master key, so the master key itself never signs.
fn state_key(master: &MasterKey) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(master.as_bytes()).expect("HMAC takes any key");
    mac.update(b"ferry oauth state v1");
    mac.finalize().into_bytes().to_vec()
}

fn process_id() -> String {
    format!("{}-{:08x}", std::process::id(), rand::random::<u32>())
}

pub async fn build_app(
    storage: &StorageArgs,
    public_url: &str,
    rewrites: &EndpointRewrites,
    flows: FlowsConfig,
) -> Result<App, CliError> {
    build_paced_app(
        storage,
        public_url,
        rewrites,
        flows,
        QuotaOverrides::default(),
    )
    .await
}

/// [`build_app`] with the operator's changes to connectors' vendor quotas.
pub async fn build_paced_app(
    storage: &StorageArgs,
    public_url: &str,
    rewrites: &EndpointRewrites,
    flows: FlowsConfig,
    quotas: QuotaOverrides,
) -> Result<App, CliError> {
    let embedded = Catalog::embedded(rewrites)?;
    let mut catalog = embedded.clone();
    let mut connectors_directory = None;
    if let Some(dir) = &storage.connectors_dir {
        // Read once here, strictly: a broken folder stops the start-up with its error.
        catalog = catalog.with_directory(dir)?;
        connectors_directory = Some(ConnectorsDirectory::new(dir.clone(), embedded));
    }
    if storage.database_url.is_none() {
        storage.ensure_data_dir()?;
    }
    let key = storage.master_key()?;
    let previous_keys = storage.previous_master_keys()?;
    tracing::info!(
        master_key = %key.id(),
        previous_keys = ?previous_keys.iter().map(MasterKey::id).collect::<Vec<_>>(),
        "secrets are sealed with this master key"
    );
    let options = StoreOptions {
        schema: storage.database_schema.clone(),
        previous_keys,
        ..StoreOptions::default()
    };
    let store = Store::connect(&storage.database_url(), &key, options).await?;
    let egress = Egress::new(EgressConfig::default())?;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| CliError::Config(format!("cannot build the HTTP client: {e}")))?;
    let app = App::new(AppParts {
        store,
        catalog,
        runtime: Runtime::with_quota(egress, QuotaLimiter::default().with_overrides(quotas)),
        oauth: OAuthClient::new(http),
        state_key: state_key(&key),
        clock: Arc::new(SystemClock),
        config: AppConfig {
            public_url: public_url.trim_end_matches('/').to_owned(),
            authorization_ttl: Duration::from_secs(15 * 60),
            process_id: process_id(),
        },
        flows,
        connectors_directory,
    });
    // The connectors users added through the API, before the first request.
    app.load_user_connectors().await?;
    Ok(app)
}

pub async fn bind(address: &str) -> Result<TcpListener, CliError> {
    TcpListener::bind(address)
        .await
        .map_err(CliError::io(format!("cannot listen on {address}")))
}

pub fn print_secrets(secrets: &BootstrapSecrets) {
    println!(
        "Created organization {:?} and user {}.",
        secrets.organization.name, secrets.user.email
    );
    println!(
        "Their secrets are shown only now (rotate them with `ferry admin rotate-secrets --email {}`):",
        secrets.user.email
    );
    println!("  User secret:         {}", secrets.user_secret.expose());
    println!(
        "  Organization secret: {}",
        secrets.organization_secret.expose()
    );
}

pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
    tracing::info!("shutting down");
}

pub async fn run_http(listener: TcpListener, app: App) -> Result<(), CliError> {
    let api = ferry_api::router(app.clone());
    app.set_platform_api(ferry_api::platform_api(api.clone()));
    let router = ferry_console::router(app.clone()).merge(api);
    let services = app.start_services();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(CliError::io("the HTTP server stopped"));
    services.shutdown(Duration::from_secs(10)).await;
    // The last proxy calls and the rate-limit state they spent.
    app.flush_proxy_calls().await;
    served
}

pub async fn serve(args: ServeArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    let listener = bind(&args.listen).await?;
    let address = listener
        .local_addr()
        .map_err(CliError::io("cannot read the listening address"))?;
    let public_url = args
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{address}"));
    let app = build_paced_app(
        &args.storage,
        &public_url,
        &rewrites(&args.endpoint_rewrites)?,
        args.flows.config()?,
        QuotaOverrides::parse(&args.vendor_quotas).map_err(CliError::Config)?,
    )
    .await?;
    if let Some(secrets) = app
        .bootstrap("Default organization", "admin@ferry.local")
        .await?
    {
        print_secrets(&secrets);
    }
    println!(
        "ferry ready on http://{address} (public URL {public_url}) in {} ms",
        started.elapsed().as_millis()
    );
    run_http(listener, app).await
}

/// `ferry worker`: the background services alone, until SIGTERM or Ctrl-C; then running
/// executions finish or go back to the queue.
pub async fn work(args: crate::settings::WorkerArgs) -> Result<(), CliError> {
    let flows = args.flows.config()?;
    if !flows.run_workers {
        return Err(CliError::Config(
            "a worker with --workers 0 would do nothing; give it at least 1".into(),
        ));
    }
    let app = build_paced_app(
        &args.storage,
        "http://127.0.0.1",
        &rewrites(&args.endpoint_rewrites)?,
        flows,
        QuotaOverrides::parse(&args.vendor_quotas).map_err(CliError::Config)?,
    )
    .await?;
    let services = app.start_services();
    println!("ferry worker ready");
    shutdown_signal().await;
    services.shutdown(Duration::from_secs(10)).await;
    Ok(())
}
