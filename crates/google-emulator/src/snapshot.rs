//! Optional persistence, so a demo survives a restart: accounts with their mailboxes, OAuth
//! clients, the developer console's projects, and every live refresh token (so an app that
//! stored one keeps working; access tokens are not kept, the app refreshes on its first 401).
//! The state file is JSON, written to a temporary file and renamed over the old one.

use crate::Emulator;
use crate::config::{AccountSeed, OAuthClientSeed};
use crate::console::Project;
use crate::error::EmulatorError;
use crate::mailbox::Mailbox;
use crate::mailbox::snapshot::MailboxSnapshot;
use crate::oauth::{Grant, scopes};
use crate::state::{read, write};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Duration;

/// What a state file holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StateFile {
    version: u32,
    accounts: Vec<AccountState>,
    clients: Vec<OAuthClientSeed>,
    projects: Vec<Project>,
    grants: Vec<GrantState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct AccountState {
    email: String,
    display_name: String,
    mailbox: MailboxSnapshot,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct GrantState {
    account: String,
    client_id: String,
    scopes: Vec<String>,
    refresh_token: String,
}

const VERSION: u32 = 1;

impl Emulator {
    fn state_file(&self) -> StateFile {
        let shared = self.shared();
        let mut accounts: Vec<AccountState> = read(&shared.accounts)
            .values()
            .map(|account| AccountState {
                email: account.email.clone(),
                display_name: account.display_name.clone(),
                mailbox: read(&account.mailbox).snapshot(),
            })
            .collect();
        accounts.sort_by(|a, b| a.email.cmp(&b.email));
        let mut clients: Vec<OAuthClientSeed> = read(&shared.clients)
            .values()
            .map(|c| (**c).clone())
            .collect();
        clients.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let oauth = read(&shared.oauth);
        let mut grants: Vec<GrantState> = oauth
            .refresh
            .iter()
            .filter_map(|(token, id)| {
                let grant = oauth.grants.get(id).filter(|g| !g.revoked)?;
                Some(GrantState {
                    account: grant.account.email.clone(),
                    client_id: grant.client_id.clone(),
                    scopes: grant.scopes.clone(),
                    refresh_token: token.clone(),
                })
            })
            .collect();
        grants.sort_by(|a, b| a.refresh_token.cmp(&b.refresh_token));
        StateFile {
            version: VERSION,
            accounts,
            clients,
            projects: shared.projects(),
            grants,
        }
    }

    /// Writes the accounts, mailboxes, clients, projects and refresh tokens to `path`.
    pub fn save_state(&self, path: &Path) -> Result<(), EmulatorError> {
        let json =
            serde_json::to_vec(&self.state_file()).map_err(|e| EmulatorError::Io(e.into()))?;
        let temporary = path.with_extension("tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        // The file holds refresh tokens and client secrets: readable by its owner only.
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        std::io::Write::write_all(&mut options.open(&temporary)?, &json)?;
        std::fs::rename(&temporary, path)?;
        Ok(())
    }

    /// Reads a state file written by [`Emulator::save_state`]: its accounts replace (or join)
    /// the configured ones, its clients, projects and refresh tokens are added. Answers `false`
    /// when there is no file yet.
    pub fn load_state(&self, path: &Path) -> Result<bool, EmulatorError> {
        let text = match std::fs::read(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let state: StateFile =
            serde_json::from_slice(&text).map_err(|e| EmulatorError::InvalidField {
                field: "state file",
                message: format!("{}: {e}", path.display()),
            })?;
        if state.version != VERSION {
            return Err(EmulatorError::InvalidField {
                field: "state file",
                message: format!(
                    "{}: version {} is not {VERSION}",
                    path.display(),
                    state.version
                ),
            });
        }
        let shared = self.shared();
        for saved in &state.accounts {
            let account = match shared.account(&saved.email) {
                Some(account) => account,
                None => shared.add_account(AccountSeed {
                    email: saved.email.clone(),
                    display_name: saved.display_name.clone(),
                })?,
            };
            let (mailbox, skipped): (Mailbox, _) = Mailbox::restore(&saved.mailbox);
            if !skipped.is_empty() {
                tracing::warn!(account = %saved.email, skipped = ?skipped, "messages of the state file could not be read back");
            }
            *write(&account.mailbox) = mailbox;
        }
        for client in state.clients {
            if shared.client(&client.client_id).is_none() {
                shared.add_client(client)?;
            }
        }
        {
            let mut console = write(&shared.console);
            for project in state.projects {
                for client in &project.clients {
                    console
                        .client_projects
                        .insert(client.clone(), project.project_id.clone());
                }
                console.projects.insert(project.project_id.clone(), project);
            }
        }
        let mut oauth = write(&shared.oauth);
        for grant in state.grants {
            let Some(account) = shared.account(&grant.account) else {
                continue;
            };
            if oauth.refresh.contains_key(&grant.refresh_token) {
                continue;
            }
            let id = oauth.new_grant(Grant {
                account,
                client_id: grant.client_id.clone(),
                bits: scopes::bits_of(&grant.scopes),
                scopes: grant.scopes.clone(),
                offline: true,
                revoked: false,
            });
            oauth.refresh.insert(grant.refresh_token, id);
            oauth
                .granted
                .entry((grant.account.to_lowercase(), grant.client_id))
                .or_default()
                .extend(grant.scopes);
        }
        Ok(true)
    }

    /// A fingerprint that changes whenever something a state file holds changes.
    fn state_version(&self) -> (u64, usize, usize, usize, usize) {
        let shared = self.shared();
        let history: u64 = read(&shared.accounts)
            .values()
            .map(|a| {
                let mailbox = read(&a.mailbox);
                mailbox.history_id() + mailbox.messages_total() as u64
            })
            .sum();
        let oauth = read(&shared.oauth);
        let console = read(&shared.console);
        let console_size = console
            .projects
            .values()
            .map(|p| {
                p.clients.len()
                    + usize::from(p.gmail_api_enabled)
                    + p.consent_screen
                        .as_ref()
                        .map_or(0, |s| s.product_name.len() + s.authorized_domains.len())
            })
            .sum::<usize>()
            + console.projects.len();
        (
            history,
            oauth.refresh.len(),
            oauth.grants.values().filter(|g| g.revoked).count(),
            read(&shared.clients).len(),
            console_size,
        )
    }

    /// Saves the state to `path` every `every` while it changes, until the task is aborted.
    pub fn autosave(
        &self,
        path: std::path::PathBuf,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        let emulator = self.clone();
        tokio::spawn(async move {
            let mut saved = emulator.state_version();
            loop {
                tokio::time::sleep(every).await;
                let now = emulator.state_version();
                if now != saved {
                    match emulator.save_state(&path) {
                        Ok(()) => saved = now,
                        Err(e) => {
                            tracing::warn!(error = %e, path = %path.display(), "the emulator state was not saved")
                        }
                    }
                }
            }
        })
    }
}
