//! google-emulator: a local stand-in for Google, so ferry (and any other client, Google's own
//! Python client included) runs and is tested with no Google account and no network. It owns,
//! at one origin, what Google serves on four hosts: the OAuth consent pages of
//! `accounts.google.com` (account chooser, "unverified app" warning, per-scope consent, allow and
//! deny), the token, revoke and tokeninfo endpoints of `oauth2.googleapis.com`, the Gmail API v1
//! of `gmail.googleapis.com` exactly as the discovery document describes it, with an in-memory
//! mailbox model (messages, labels, threads, history, drafts, MIME parsing, delivery between
//! hosted accounts), and the part of the developer console the seed needs (projects, enabling
//! the Gmail API, the consent screen, OAuth clients); plus a JSON control API under `/_emulator/`
//! for tests and scripts (revoke, expire tokens, inject faults, inspect mailboxes, projects) and
//! an optional state file. It is usable as a library ([`Emulator`]) and as the `google-emulator`
//! binary. It depends on no other ferry crate, only on HTTP, MIME and utility crates from
//! crates.io.

mod clock;
mod config;
mod console;
mod control;
mod demo;
mod discovery;
mod error;
mod faults;
mod gmail;
mod ids;
mod mailbox;
mod oauth;
mod params;
mod routes;
mod search;
mod snapshot;
mod state;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{AccountSeed, EmulatorConfig, OAuthClientSeed};
pub use console::{ConsentScreen, Project};
pub use error::EmulatorError;
pub use faults::Fault;
pub use oauth::token::IssuedGrant;
pub use routes::{GMAIL_ROUTES, GmailRoute, STANDARD_QUERY};

use serde::Serialize;
use state::{Shared, StoreOptions, read, write};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

/// The emulator: cheap to clone (an `Arc` inside), shared by every route.
#[derive(Clone)]
pub struct Emulator {
    shared: Arc<Shared>,
}

/// Prints no tokens or secrets: only what the emulator hosts.
impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut accounts: Vec<String> = read(&self.shared.accounts)
            .values()
            .map(|a| a.email.clone())
            .collect();
        accounts.sort();
        let mut clients: Vec<String> = read(&self.shared.clients).keys().cloned().collect();
        clients.sort();
        f.debug_struct("Emulator")
            .field("accounts", &accounts)
            .field("clients", &clients)
            .finish_non_exhaustive()
    }
}

/// How many calls the token endpoint received, by `grant_type`, successful or not.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TokenRequestCounts {
    pub authorization_code: u64,
    pub refresh_token: u64,
    /// Calls with a missing or unsupported grant type.
    pub other: u64,
}

/// A message as stored in a mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxMessage {
    /// Gmail message id (16 hex digits).
    pub id: String,
    pub thread_id: String,
    pub label_ids: Vec<String>,
    /// The RFC 822 bytes.
    pub raw: Vec<u8>,
    /// ms since the Unix epoch.
    pub internal_date: i64,
}

impl Emulator {
    /// An emulator with the real clock.
    pub fn new(config: EmulatorConfig) -> Self {
        Self::with_clock(config, Arc::new(SystemClock))
    }

    /// An emulator whose notion of "now" comes from `clock` (token and code expiry, dates of new
    /// mail, `newer_than:`).
    pub fn with_clock(config: EmulatorConfig, clock: Arc<dyn Clock>) -> Self {
        let shared = Arc::new(Shared {
            clock,
            access_token_lifetime: config.access_token_lifetime,
            code_lifetime: config.authorization_code_lifetime,
            seed_demo_mail: config.seed_demo_mail,
            accounts: RwLock::new(HashMap::new()),
            clients: RwLock::new(HashMap::new()),
            oauth: RwLock::new(Default::default()),
            console: RwLock::new(Default::default()),
            ids: Default::default(),
            token_counts: Default::default(),
        });
        for account in config.accounts {
            if let Err(e) = shared.add_account(account) {
                tracing::warn!(error = %e, "account not added");
            }
        }
        for client in config.clients {
            if let Err(e) = shared.add_client(client) {
                tracing::warn!(error = %e, "client not added");
            }
        }
        Self { shared }
    }

    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Every route: OAuth pages and endpoints, Gmail API, batch, control API.
    pub fn router(&self) -> axum::Router {
        routes::router(self.clone())
    }

    /// Serves on `listener` until the returned future is dropped.
    pub async fn serve(self, listener: tokio::net::TcpListener) -> std::io::Result<()> {
        axum::serve(listener, self.router()).await
    }

    /// Binds `addr` (port 0 picks a free port) and serves in a background task.
    pub async fn start(self, addr: SocketAddr) -> std::io::Result<RunningEmulator> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let host = if local.ip().is_unspecified() {
            match local {
                SocketAddr::V4(_) => "127.0.0.1".to_string(),
                SocketAddr::V6(_) => "[::1]".to_string(),
            }
        } else {
            match local {
                SocketAddr::V4(a) => a.ip().to_string(),
                SocketAddr::V6(a) => format!("[{}]", a.ip()),
            }
        };
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let router = self.router();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
        });
        Ok(RunningEmulator {
            url: format!("http://{host}:{}", local.port()),
            addr: local,
            emulator: self,
            stop: Some(stop),
            task: Some(task),
        })
    }

    /// Adds a hosted account at run time.
    pub fn add_account(&self, seed: AccountSeed) -> Result<(), EmulatorError> {
        self.shared.add_account(seed).map(|_| ())
    }

    /// Registers an OAuth client at run time.
    pub fn add_client(&self, seed: OAuthClientSeed) -> Result<(), EmulatorError> {
        self.shared.add_client(seed)
    }

    /// A new project of the developer console (its Gmail API not yet enabled). Without a
    /// `project_id`, one is made from the name.
    pub fn create_project(
        &self,
        name: &str,
        project_id: Option<&str>,
    ) -> Result<Project, EmulatorError> {
        self.shared.create_project(name, project_id)
    }

    /// Enables or disables the Gmail API of a project; calls with its clients' tokens answer 403
    /// `accessNotConfigured` while it is disabled.
    pub fn set_gmail_api(&self, project_id: &str, enabled: bool) -> Result<Project, EmulatorError> {
        self.shared.set_gmail_api(project_id, enabled)
    }

    /// Configures a project's OAuth consent screen.
    pub fn configure_consent_screen(
        &self,
        project_id: &str,
        screen: ConsentScreen,
    ) -> Result<Project, EmulatorError> {
        self.shared.set_consent_screen(project_id, screen)
    }

    /// Creates an OAuth client of type "Web application" in a project (its consent screen must be
    /// configured; redirect URIs must be loopback or https on an authorized domain).
    pub fn create_web_client(
        &self,
        project_id: &str,
        redirect_uris: Vec<String>,
    ) -> Result<OAuthClientSeed, EmulatorError> {
        self.shared.create_web_client(project_id, redirect_uris)
    }

    /// The projects of the developer console.
    pub fn projects(&self) -> Vec<Project> {
        self.shared.projects()
    }

    /// A grant for `client_id` as if `email` had consented to `scopes`, skipping the consent pages.
    pub fn grant(
        &self,
        email: &str,
        client_id: &str,
        scopes: &[String],
    ) -> Result<IssuedGrant, EmulatorError> {
        oauth::token::mint_grant(self, email, client_id, scopes)
    }

    /// Every refresh and access token of the account stops working; a refresh answers
    /// `invalid_grant` "Token has been expired or revoked.".
    pub fn revoke_grants(&self, email: &str) {
        write(&self.shared.oauth).revoke_account(email);
    }

    /// Access tokens of the account answer 401 as expired; refresh tokens keep working.
    pub fn expire_access_tokens(&self, email: &str) {
        let now = self.shared.now();
        write(&self.shared.oauth).expire_account(email, now);
    }

    /// The account's next `times` Gmail API calls fail or are slowed this way (faults queue up in
    /// the order injected). Unknown accounts are ignored.
    pub fn inject_fault(&self, email: &str, fault: Fault) {
        if let Some(account) = self.shared.account(email) {
            account.faults.push(fault);
        }
    }

    /// Drops the account's pending faults.
    pub fn clear_faults(&self, email: &str) {
        if let Some(account) = self.shared.account(email) {
            account.faults.clear();
        }
    }

    /// Token endpoint calls so far, by grant type.
    pub fn token_requests(&self) -> TokenRequestCounts {
        let c = &self.shared.token_counts;
        TokenRequestCounts {
            authorization_code: c.authorization_code.load(Ordering::Relaxed),
            refresh_token: c.refresh_token.load(Ordering::Relaxed),
            other: c.other.load(Ordering::Relaxed),
        }
    }

    /// The account's messages, oldest first (empty for an unknown account).
    pub fn mailbox_messages(&self, email: &str) -> Vec<MailboxMessage> {
        let Some(account) = self.shared.account(email) else {
            return Vec::new();
        };
        let mailbox = read(&account.mailbox);
        mailbox
            .all()
            .map(|e| MailboxMessage {
                id: ids::format_id(e.id),
                thread_id: ids::format_id(e.thread_id),
                label_ids: e.labels.clone(),
                raw: e.msg.raw.clone(),
                internal_date: e.internal_date,
            })
            .collect()
    }

    /// Puts a message into the account's inbox as if it had arrived by mail (INBOX, UNREAD,
    /// CATEGORY_PERSONAL); returns its id.
    pub fn deliver(&self, email: &str, raw: Vec<u8>) -> Result<String, EmulatorError> {
        let account = self
            .shared
            .account(email)
            .ok_or_else(|| EmulatorError::UnknownAccount(email.to_string()))?;
        let stored = self.shared.store(
            &account,
            raw,
            StoreOptions {
                labels: vec!["UNREAD".into(), "CATEGORY_PERSONAL".into(), "INBOX".into()],
                ..Default::default()
            },
        )?;
        Ok(ids::format_id(stored.id))
    }
}

/// An emulator serving in a background task; stops on drop or [`RunningEmulator::shutdown`].
#[derive(Debug)]
pub struct RunningEmulator {
    url: String,
    addr: SocketAddr,
    emulator: Emulator,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn emulator(&self) -> &Emulator {
        &self.emulator
    }

    /// Stops accepting connections and waits (at most 5 s) for open ones to finish.
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(mut task) = self.task.take() {
            match tokio::time::timeout(std::time::Duration::from_secs(5), &mut task).await {
                Ok(Ok(result)) => return result,
                Ok(Err(join)) => return Err(std::io::Error::other(join)),
                Err(_) => task.abort(),
            }
        }
        Ok(())
    }
}

impl Drop for RunningEmulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
