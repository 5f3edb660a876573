//! `ferry sandbox`: ferry on its embedded default plus the local Google emulator, wired together by
//! endpoint rewrites, with two demo Google accounts and a registered OAuth client — everything the
//! seed walkthrough needs, with no Google account and no network. `sandbox.json` in the data
//! directory tells scripts and tests where everything is.

use crate::error::CliError;
use crate::server::{bind, build_app, run_http, shutdown_signal};
use crate::settings::StorageArgs;
use clap::Args;
use ferry_app::AuthorizationParts;
use ferry_connectors::EndpointRewrites;
use ferry_model::Secret;
use google_emulator::{AccountSeed, Emulator, EmulatorConfig, OAuthClientSeed};
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// The real Google origins the emulator stands in for.
pub const GOOGLE_ORIGINS: [&str; 4] = [
    "https://accounts.google.com",
    "https://oauth2.googleapis.com",
    "https://gmail.googleapis.com",
    "https://www.googleapis.com",
];

const DEMO_ACCOUNTS: [(&str, &str); 2] = [
    ("ada@example.com", "Ada Lovelace"),
    ("grace@example.com", "Grace Hopper"),
];
const CLIENT_ID: &str = "1042-ferry-sandbox.apps.googleusercontent.com";

#[derive(Args, Debug, Clone)]
pub struct SandboxArgs {
    /// ferry's port (0 = any free port).
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The Google emulator's port (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    pub emulator_port: u16,
    /// Interface to listen on; keep it on loopback unless you know why.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Lifetime of the emulator's access tokens, in seconds (short ones exercise refreshing).
    #[arg(long, default_value_t = 3600)]
    pub emulator_token_lifetime: u64,
    /// Where the emulator keeps its mailboxes, clients and refresh tokens across restarts
    /// (default: emulator-state.json in the data directory).
    #[arg(long)]
    pub emulator_state: Option<std::path::PathBuf>,
    /// Start the emulator afresh, without reading or writing its state file.
    #[arg(long, conflicts_with = "emulator_state")]
    pub fresh_emulator: bool,
    #[command(flatten)]
    pub storage: StorageArgs,
    #[command(flatten)]
    pub flows: crate::settings::FlowArgs,
}

#[derive(Args, Debug, Clone)]
pub struct EmulatorArgs {
    #[arg(long, default_value_t = 8081)]
    pub port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// OAuth client id to register.
    #[arg(long, default_value = CLIENT_ID)]
    pub client_id: String,
    #[arg(long, default_value = "ferry-sandbox-secret")]
    pub client_secret: String,
    /// Authorized redirect URI of that client (repeatable).
    #[arg(
        long = "redirect-uri",
        default_value = "http://127.0.0.1:8080/oauth/callback"
    )]
    pub redirect_uris: Vec<String>,
    /// Keep mailboxes, clients, projects and refresh tokens in this file across restarts.
    #[arg(long)]
    pub state_file: Option<std::path::PathBuf>,
}

/// How often a changed emulator state is written to its file.
const AUTOSAVE_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// Reads the emulator's state file (if there is one yet) and keeps it up to date.
fn persist(emulator: &Emulator, path: &Path) -> Result<tokio::task::JoinHandle<()>, CliError> {
    match emulator.load_state(path) {
        Ok(true) => tracing::info!(path = %path.display(), "emulator state restored"),
        Ok(false) => {}
        Err(error) => {
            return Err(CliError::Config(format!(
                "the emulator state file cannot be used: {error} (move it away, or start with --fresh-emulator)"
            )));
        }
    }
    Ok(emulator.autosave(path.to_owned(), AUTOSAVE_EVERY))
}

fn save_on_exit(emulator: &Emulator, path: Option<&Path>) {
    if let Some(path) = path
        && let Err(error) = emulator.save_state(path)
    {
        tracing::warn!(error = %error, path = %path.display(), "the emulator state was not saved");
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxClient {
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
}

/// `sandbox.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxFile {
    pub ferry_url: String,
    pub emulator_url: String,
    pub user_secret: String,
    pub organization_secret: String,
    pub oauth_client: SandboxClient,
    pub accounts: Vec<String>,
    pub data_dir: String,
    /// The web console's password for `admin@ferry.local`.
    #[serde(default)]
    pub console_password: String,
}

fn demo_accounts() -> Vec<AccountSeed> {
    DEMO_ACCOUNTS
        .iter()
        .map(|(email, name)| AccountSeed {
            email: (*email).into(),
            display_name: (*name).into(),
        })
        .collect()
}

fn write_private(path: &Path, text: &str) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(CliError::io(format!("cannot write {}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(CliError::io(format!("cannot write {}", path.display())))
}

pub async fn run(args: SandboxArgs) -> Result<(), CliError> {
    let started = std::time::Instant::now();
    args.storage.ensure_data_dir()?;
    let sandbox_path = args.storage.data_dir.join("sandbox.json");
    let previous: Option<SandboxFile> = std::fs::read_to_string(&sandbox_path)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok());

    let ferry_listener = bind(&format!("{}:{}", args.host, args.port)).await?;
    let emulator_listener = bind(&format!("{}:{}", args.host, args.emulator_port)).await?;
    let ferry_address = ferry_listener
        .local_addr()
        .map_err(CliError::io("cannot read ferry's address"))?;
    let emulator_address = emulator_listener
        .local_addr()
        .map_err(CliError::io("cannot read the emulator's address"))?;
    let ferry_url = format!("http://{ferry_address}");
    let emulator_url = format!("http://{emulator_address}");

    let client = SandboxClient {
        client_id: CLIENT_ID.into(),
        client_secret: previous
            .as_ref()
            .map(|p| p.oauth_client.client_secret.clone())
            .unwrap_or_else(|| format!("GOCSPX-{}", hex::encode(rand::random::<[u8; 12]>()))),
        redirect_uri: format!("{ferry_url}/oauth/callback"),
    };
    let emulator = Emulator::new(EmulatorConfig {
        accounts: demo_accounts(),
        clients: vec![OAuthClientSeed {
            client_id: client.client_id.clone(),
            client_secret: client.client_secret.clone(),
            redirect_uris: vec![client.redirect_uri.clone()],
            app_name: "ferry sandbox".into(),
            verified: false,
        }],
        access_token_lifetime: std::time::Duration::from_secs(args.emulator_token_lifetime.max(1)),
        ..EmulatorConfig::default()
    });

    let mut rewrites = EndpointRewrites::new();
    for origin in GOOGLE_ORIGINS {
        rewrites.add(origin, &emulator_url);
    }
    let app = build_app(&args.storage, &ferry_url, &rewrites, args.flows.config()?).await?;
    let (user_secret, organization_secret) =
        match app.bootstrap("Sandbox organization", SANDBOX_ADMIN).await? {
            Some(secrets) => (secrets.user_secret, secrets.organization_secret),
            None => reuse_or_rotate(&app, previous.as_ref()).await?,
        };
    let console_password = match previous.as_ref().map(|p| p.console_password.clone()) {
        Some(password) if !password.is_empty() => password,
        _ => {
            let password = random_password();
            app.set_console_password(SANDBOX_ADMIN, &password).await?;
            password
        }
    };
    let file = SandboxFile {
        ferry_url: ferry_url.clone(),
        emulator_url: emulator_url.clone(),
        user_secret: user_secret.expose().to_owned(),
        organization_secret: organization_secret.expose().to_owned(),
        oauth_client: client,
        accounts: DEMO_ACCOUNTS
            .iter()
            .map(|(email, _)| (*email).to_owned())
            .collect(),
        data_dir: args.storage.data_dir.display().to_string(),
        console_password,
    };
    let json = serde_json::to_string_pretty(&file).expect("sandbox file serializes");
    write_private(
        &args.storage.data_dir.join("sandbox.env"),
        &shell_exports(&file),
    )?;
    write_private(&sandbox_path, &json)?;

    let state_path = (!args.fresh_emulator).then(|| {
        args.emulator_state
            .clone()
            .unwrap_or_else(|| args.storage.data_dir.join("emulator-state.json"))
    });
    let autosave = state_path
        .as_deref()
        .map(|path| persist(&emulator, path))
        .transpose()?;
    let emulator_task = tokio::spawn(emulator.clone().serve(emulator_listener));
    print_banner(&file, &sandbox_path, started.elapsed().as_millis());
    let served = run_http(ferry_listener, app).await;
    emulator_task.abort();
    if let Some(task) = autosave {
        task.abort();
    }
    save_on_exit(&emulator, state_path.as_deref());
    served
}

/// On a restart the secrets in `sandbox.json` still work unless someone rotated them; then the
/// sandbox issues new ones (it is a demo: its secrets live in that file anyway).
/// `sandbox.env`: the same as `sandbox.json`, for `source` in a shell (the README's walkthrough).
fn shell_exports(file: &SandboxFile) -> String {
    let quote = |value: &str| format!("'{}'", value.replace('\'', r"'\''"));
    [
        ("FERRY_URL", file.ferry_url.clone()),
        ("EMULATOR_URL", file.emulator_url.clone()),
        (
            "FERRY_AUTH",
            format!(
                "User {}, Organization {}",
                file.user_secret, file.organization_secret
            ),
        ),
        ("GOOGLE_CLIENT_ID", file.oauth_client.client_id.clone()),
        (
            "GOOGLE_CLIENT_SECRET",
            file.oauth_client.client_secret.clone(),
        ),
        (
            "GOOGLE_REDIRECT_URI",
            file.oauth_client.redirect_uri.clone(),
        ),
    ]
    .iter()
    .map(|(name, value)| format!("export {name}={}\n", quote(value)))
    .collect()
}

async fn reuse_or_rotate(
    app: &ferry_app::App,
    previous: Option<&SandboxFile>,
) -> Result<(Secret, Secret), CliError> {
    if let Some(previous) = previous {
        let parts = AuthorizationParts {
            user: Some(Secret::new(previous.user_secret.clone())),
            organization: Some(Secret::new(previous.organization_secret.clone())),
            element: None,
        };
        if app.authenticate(&parts).await.is_ok() {
            return Ok((
                Secret::new(previous.user_secret.clone()),
                Secret::new(previous.organization_secret.clone()),
            ));
        }
    }
    let users = app.store().list_organizations().await?;
    let first = users
        .first()
        .ok_or_else(|| CliError::Config("the database has users but no organization".into()))?;
    let user = app
        .store()
        .list_users(first.id)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Config("the first organization has no user".into()))?;
    let secrets = app.rotate_secrets(&user.email).await?;
    Ok((secrets.user_secret, secrets.organization_secret))
}

const SANDBOX_ADMIN: &str = "admin@ferry.local";

/// 24 random characters for the sandbox's console sign-in.
fn random_password() -> String {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn print_banner(file: &SandboxFile, sandbox_path: &Path, startup_ms: u128) {
    let auth = format!(
        "User {}, Organization {}",
        file.user_secret, file.organization_secret
    );
    println!(
        r#"ferry sandbox ready in {startup_ms} ms
  ferry API          {ferry}/elements/api-v2
  Web console        {ferry}/console   (admin@ferry.local, password {console_password})
  Google emulator    {emulator}   (accounts: {accounts})
  Google console     {emulator}/console
  User secret        {user}
  Organization secret {org}
  OAuth client id    {client_id}
  OAuth client secret {client_secret}
  Redirect URI       {redirect}
  Everything above is also in {path} (and, for a shell, in sandbox.env next to it)

Walk the seed with curl:
  AUTH='{auth}'
  # 1. Create a Gmail instance; open the oauthUrl it returns in a browser and consent
  curl -s -X POST {ferry}/elements/api-v2/instances/authorizations -H "Authorization: $AUTH" \
    -H 'Content-Type: application/json' \
    -d '{{"element":{{"key":"gmail"}},"name":"my gmail","configuration":{{"oauth.api.key":"{client_id}","oauth.api.secret":"{client_secret}"}}}}'
  # 2. After consent, read the instance token
  curl -s {ferry}/elements/api-v2/instances -H "Authorization: $AUTH"
  TOKEN=...   # the "token" of the instance
  # 3. List messages, read one, send one
  curl -s {ferry}/elements/api-v2/messages -H "Authorization: $AUTH, Element $TOKEN"
  curl -s {ferry}/elements/api-v2/messages/ID -H "Authorization: $AUTH, Element $TOKEN"
  curl -s -X POST {ferry}/elements/api-v2/messages -H "Authorization: $AUTH, Element $TOKEN" \
    -H 'Content-Type: application/json' \
    -d '{{"to":"grace@example.com","subject":"Hello from ferry","data":"It works."}}'"#,
        ferry = file.ferry_url,
        emulator = file.emulator_url,
        accounts = file.accounts.join(", "),
        user = file.user_secret,
        org = file.organization_secret,
        client_id = file.oauth_client.client_id,
        client_secret = file.oauth_client.client_secret,
        redirect = file.oauth_client.redirect_uri,
        path = sandbox_path.display(),
        console_password = file.console_password,
    );
}

pub async fn run_emulator(args: EmulatorArgs) -> Result<(), CliError> {
    let listener = bind(&format!("{}:{}", args.host, args.port)).await?;
    let address = listener
        .local_addr()
        .map_err(CliError::io("cannot read the emulator's address"))?;
    let emulator = Emulator::new(EmulatorConfig {
        accounts: demo_accounts(),
        clients: vec![OAuthClientSeed {
            client_id: args.client_id.clone(),
            client_secret: args.client_secret.clone(),
            redirect_uris: args.redirect_uris.clone(),
            app_name: "ferry sandbox".into(),
            verified: false,
        }],
        ..EmulatorConfig::default()
    });
    let autosave = args
        .state_file
        .as_deref()
        .map(|path| persist(&emulator, path))
        .transpose()?;
    println!(
        "{}",
        serde_json::json!({
            "emulator_url": format!("http://{address}"),
            "console_url": format!("http://{address}/console"),
            "accounts": DEMO_ACCOUNTS.iter().map(|(e, _)| *e).collect::<Vec<_>>(),
            "oauth_client": {"client_id": args.client_id, "redirect_uris": args.redirect_uris},
        })
    );
    let served = axum::serve(listener, emulator.router())
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(CliError::io("the emulator stopped"));
    if let Some(task) = autosave {
        task.abort();
    }
    save_on_exit(&emulator, args.state_file.as_deref());
    served
}
