//! The `google-emulator` binary: serves the emulator on loopback and prints one JSON line with its
//! URL, accounts and OAuth client.

use clap::Parser;
use google_emulator::{AccountSeed, Emulator, EmulatorConfig, OAuthClientSeed};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "google-emulator",
    about = "A local stand-in for Google OAuth and the Gmail API v1"
)]
struct Args {
    /// Port to listen on (0 = any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// A hosted account (repeatable); default: two demo accounts.
    #[arg(long = "account", value_name = "EMAIL")]
    accounts: Vec<String>,
    /// OAuth client id.
    #[arg(long, default_value = "ferry-demo.apps.googleusercontent.com")]
    client_id: String,
    /// OAuth client secret.
    #[arg(long, default_value = "GOCSPX-ferry-demo-secret")]
    client_secret: String,
    /// Registered redirect URI (repeatable).
    #[arg(long = "redirect-uri", value_name = "URI")]
    redirect_uris: Vec<String>,
    /// App name shown on the consent screens.
    #[arg(long, default_value = "ferry")]
    app_name: String,
    /// Treat the client as verified (no "unverified app" warning).
    #[arg(long)]
    verified: bool,
    /// Access token lifetime in seconds.
    #[arg(long, default_value_t = 3600)]
    access_token_lifetime: u64,
    /// Do not put welcome mails into new inboxes.
    #[arg(long)]
    no_demo_mail: bool,
    /// Keep mailboxes, clients, projects and refresh tokens in this file across restarts.
    #[arg(long)]
    state_file: Option<std::path::PathBuf>,
}

fn display_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or(email);
    let mut chars = local.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => email.to_string(),
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let accounts = if args.accounts.is_empty() {
        vec![
            "alice@example.com".to_string(),
            "bob@example.com".to_string(),
        ]
    } else {
        args.accounts.clone()
    };
    let redirect_uris = if args.redirect_uris.is_empty() {
        vec![
            "http://127.0.0.1:8080/oauth/callback".to_string(),
            "http://localhost:8080/oauth/callback".to_string(),
        ]
    } else {
        args.redirect_uris.clone()
    };
    let client = OAuthClientSeed {
        client_id: args.client_id.clone(),
        client_secret: args.client_secret.clone(),
        redirect_uris,
        app_name: args.app_name.clone(),
        verified: args.verified,
    };
    let config = EmulatorConfig {
        accounts: accounts
            .iter()
            .map(|e| AccountSeed {
                email: e.clone(),
                display_name: display_name(e),
            })
            .collect(),
        clients: vec![client.clone()],
        access_token_lifetime: Duration::from_secs(args.access_token_lifetime),
        seed_demo_mail: !args.no_demo_mail,
        ..EmulatorConfig::default()
    };
    let emulator = Emulator::new(config);
    let autosave = match &args.state_file {
        Some(path) => {
            emulator.load_state(path).map_err(std::io::Error::other)?;
            Some(emulator.autosave(path.clone(), Duration::from_secs(2)))
        }
        None => None,
    };
    let running = emulator
        .clone()
        .start(SocketAddr::new(args.bind, args.port))
        .await?;
    println!(
        "{}",
        serde_json::json!({
            "url": running.url(),
            "accounts": accounts,
            "client": client,
        })
    );
    stopped().await?;
    if let Some(task) = autosave {
        task.abort();
    }
    if let Some(path) = &args.state_file {
        emulator.save_state(path).map_err(std::io::Error::other)?;
    }
    running.shutdown().await
}

/// Resolves on Ctrl-C, or on SIGTERM where there is one.
async fn stopped() -> std::io::Result<()> {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r,
            _ = term.recv() => Ok(()),
        }
    }
    #[cfg(not(unix))]
    {
        tokio::signal::ctrl_c().await
    }
}
