//! The emulator's shared state: accounts with their mailboxes, OAuth clients and tokens, and
//! the one place where messages enter a mailbox.

use crate::clock::{Clock, epoch_millis};
use crate::config::{AccountSeed, OAuthClientSeed};
use crate::console::Console;
use crate::error::EmulatorError;
use crate::faults::FaultQueue;
use crate::ids::MessageIdGenerator;
use crate::mailbox::Mailbox;
use crate::mailbox::message::ParsedMessage;
use crate::oauth::OAuthState;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, SystemTime};

/// Read access that survives a panic elsewhere (the data is plain and stays consistent).
pub(crate) fn read<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|e| e.into_inner())
}

/// Write access that survives a panic elsewhere.
pub(crate) fn write<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|e| e.into_inner())
}

/// A hosted Google account.
#[derive(Debug)]
pub(crate) struct Account {
    pub email: String,
    pub display_name: String,
    pub mailbox: RwLock<Mailbox>,
    pub faults: FaultQueue,
}

/// How many token endpoint calls were made, by grant type.
#[derive(Debug, Default)]
pub(crate) struct TokenCounters {
    pub authorization_code: AtomicU64,
    pub refresh_token: AtomicU64,
    pub other: AtomicU64,
}

/// Where a message goes and how it is labelled.
#[derive(Debug, Default)]
pub(crate) struct StoreOptions {
    pub labels: Vec<String>,
    pub thread: Option<u64>,
    pub internal_date: Option<i64>,
}

/// A message just stored.
#[derive(Debug, Clone)]
pub(crate) struct Stored {
    pub id: u64,
    pub thread_id: u64,
    pub labels: Vec<String>,
}

pub(crate) struct Shared {
    pub clock: Arc<dyn Clock>,
    pub access_token_lifetime: Duration,
    pub code_lifetime: Duration,
    pub seed_demo_mail: bool,
    pub accounts: RwLock<HashMap<String, Arc<Account>>>,
    pub clients: RwLock<HashMap<String, Arc<OAuthClientSeed>>>,
    pub oauth: RwLock<OAuthState>,
    pub console: RwLock<Console>,
    pub ids: MessageIdGenerator,
    pub token_counts: TokenCounters,
}

impl Shared {
    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub(crate) fn now_millis(&self) -> i64 {
        epoch_millis(self.clock.now())
    }

    pub(crate) fn account(&self, email: &str) -> Option<Arc<Account>> {
        read(&self.accounts).get(&email.to_lowercase()).cloned()
    }

    pub(crate) fn client(&self, client_id: &str) -> Option<Arc<OAuthClientSeed>> {
        read(&self.clients).get(client_id).cloned()
    }

    /// Adds a hosted account (with the demo mail when configured).
    pub(crate) fn add_account(&self, seed: AccountSeed) -> Result<Arc<Account>, EmulatorError> {
        let email = seed.email.trim().to_string();
        if !email.contains('@') || email.contains(char::is_whitespace) {
            return Err(EmulatorError::InvalidField {
                field: "email",
                message: format!("{email:?} is not an email address"),
            });
        }
        let key = email.to_lowercase();
        let account = Arc::new(Account {
            display_name: if seed.display_name.trim().is_empty() {
                email.split('@').next().unwrap_or_default().to_string()
            } else {
                seed.display_name.trim().to_string()
            },
            email,
            mailbox: RwLock::new(Mailbox::new()),
            faults: FaultQueue::default(),
        });
        {
            let mut accounts = write(&self.accounts);
            if accounts.contains_key(&key) {
                return Err(EmulatorError::AlreadyExists {
                    kind: "account",
                    key,
                });
            }
            accounts.insert(key, account.clone());
        }
        if self.seed_demo_mail {
            for raw in crate::demo::welcome_mails(&account, self.now()) {
                self.store(
                    &account,
                    raw,
                    StoreOptions {
                        labels: vec!["INBOX".into(), "UNREAD".into(), "CATEGORY_PERSONAL".into()],
                        ..Default::default()
                    },
                )?;
            }
        }
        Ok(account)
    }

    /// Registers an OAuth client.
    pub(crate) fn add_client(&self, seed: OAuthClientSeed) -> Result<(), EmulatorError> {
        if seed.client_id.trim().is_empty() {
            return Err(EmulatorError::InvalidField {
                field: "client_id",
                message: "must not be empty".into(),
            });
        }
        if seed.client_secret.is_empty() {
            return Err(EmulatorError::InvalidField {
                field: "client_secret",
                message: "must not be empty".into(),
            });
        }
        for uri in &seed.redirect_uris {
            if url::Url::parse(uri).is_err() {
                return Err(EmulatorError::InvalidField {
                    field: "redirect_uris",
                    message: format!("{uri:?} is not an absolute URL"),
                });
            }
        }
        let mut clients = write(&self.clients);
        if clients.contains_key(&seed.client_id) {
            return Err(EmulatorError::AlreadyExists {
                kind: "client",
                key: seed.client_id,
            });
        }
        clients.insert(seed.client_id.clone(), Arc::new(seed));
        Ok(())
    }

    /// Parses and stores a message in one mailbox; threads it by the requested thread or by
    /// its In-Reply-To/References.
    pub(crate) fn store(
        &self,
        account: &Account,
        raw: Vec<u8>,
        opts: StoreOptions,
    ) -> Result<Stored, EmulatorError> {
        let parsed = Arc::new(ParsedMessage::parse(raw).map_err(EmulatorError::InvalidMessage)?);
        Ok(self.store_parsed(account, parsed, opts))
    }

    pub(crate) fn store_parsed(
        &self,
        account: &Account,
        parsed: Arc<ParsedMessage>,
        opts: StoreOptions,
    ) -> Stored {
        let now = self.now_millis();
        let id = self.ids.next(now);
        let internal_date = opts.internal_date.unwrap_or(now);
        let mut mailbox = write(&account.mailbox);
        let thread = mailbox.thread_for(&parsed, opts.thread);
        let entry = mailbox.add(id, parsed, opts.labels, thread, internal_date);
        Stored {
            id: entry.id,
            thread_id: entry.thread_id,
            labels: entry.labels.clone(),
        }
    }

    pub(crate) fn count_token_request(&self, grant_type: &str) {
        let counter = match grant_type {
            "authorization_code" => &self.token_counts.authorization_code,
            "refresh_token" => &self.token_counts.refresh_token,
            _ => &self.token_counts.other,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }
}
