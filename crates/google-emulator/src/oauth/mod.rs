//! Google's OAuth 2.0 side: the consent pages (`accounts.google.com`), the token, revoke and
//! tokeninfo endpoints (`oauth2.googleapis.com`), and the grants and tokens they hand out.

pub(crate) mod consent;
pub(crate) mod id_token;
pub(crate) mod pages;
pub(crate) mod scopes;
pub(crate) mod token;
pub(crate) mod userinfo;

use crate::state::Account;
use scopes::ScopeBits;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

/// How a PKCE challenge was derived from its verifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    Plain,
    S256,
}

/// A PKCE challenge remembered from the authorization request.
#[derive(Debug, Clone)]
pub(crate) struct Pkce {
    pub challenge: String,
    pub method: PkceMethod,
}

/// The consent a user gave one client: every token issued from it dies when it is revoked.
#[derive(Debug)]
pub(crate) struct Grant {
    pub account: Arc<Account>,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub bits: ScopeBits,
    pub offline: bool,
    pub revoked: bool,
}

/// An issued access token.
#[derive(Debug)]
pub(crate) struct AccessToken {
    pub grant: u64,
    pub expires_at: SystemTime,
}

/// An authorization code waiting to be exchanged.
#[derive(Debug)]
pub(crate) struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub account: Arc<Account>,
    pub pkce: Option<Pkce>,
    pub nonce: Option<String>,
    pub offline: bool,
    pub expires_at: SystemTime,
    /// The grant created when the code was exchanged; set once used.
    pub exchanged_into: Option<u64>,
}

/// Which page of the consent dance a pending flow is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    ChooseAccount,
    Unverified,
    /// The consent screen for the n-th scope that needs one.
    Scope(usize),
    Confirm,
}

impl Step {
    pub(crate) fn name(&self) -> String {
        match self {
            Step::ChooseAccount => "account".into(),
            Step::Unverified => "unverified".into(),
            Step::Scope(n) => format!("scope-{n}"),
            Step::Confirm => "confirm".into(),
        }
    }
}

/// An authorization request between `GET /o/oauth2/v2/auth` and the redirect back.
#[derive(Debug, Clone)]
pub(crate) struct PendingFlow {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub offline: bool,
    pub include_granted_scopes: bool,
    pub pkce: Option<Pkce>,
    pub login_hint: Option<String>,
    pub nonce: Option<String>,
    pub account: Option<Arc<Account>>,
    pub step: Step,
    pub created: SystemTime,
}

impl PendingFlow {
    /// Scopes that get a consent screen of their own.
    pub(crate) fn consent_scopes(&self) -> Vec<&'static scopes::ScopeInfo> {
        self.scopes
            .iter()
            .filter_map(|s| scopes::lookup(s))
            .filter(|s| !s.basic)
            .collect()
    }
}

/// Everything OAuth keeps, behind one lock in the shared state.
#[derive(Debug, Default)]
pub(crate) struct OAuthState {
    pub flows: HashMap<String, PendingFlow>,
    pub codes: HashMap<String, AuthCode>,
    pub grants: HashMap<u64, Grant>,
    pub next_grant: u64,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, u64>,
    /// Scopes each (account, client) pair was granted before, for `include_granted_scopes`.
    pub granted: HashMap<(String, String), BTreeSet<String>>,
}

/// Why an access token was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenRejection {
    Unknown,
    Expired,
    Revoked,
}

/// A valid access token's identity.
#[derive(Debug, Clone)]
pub(crate) struct TokenIdentity {
    pub account: Arc<Account>,
    pub scopes: Vec<String>,
    pub client_id: String,
    pub expires_at: SystemTime,
    pub offline: bool,
}

impl OAuthState {
    pub(crate) fn check_access(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<(&Grant, SystemTime), TokenRejection> {
        let t = self.access.get(token).ok_or(TokenRejection::Unknown)?;
        let grant = self.grants.get(&t.grant).ok_or(TokenRejection::Unknown)?;
        if grant.revoked {
            return Err(TokenRejection::Revoked);
        }
        if now >= t.expires_at {
            return Err(TokenRejection::Expired);
        }
        Ok((grant, t.expires_at))
    }

    pub(crate) fn identity(
        &self,
        token: &str,
        now: SystemTime,
    ) -> Result<TokenIdentity, TokenRejection> {
        let (grant, expires_at) = self.check_access(token, now)?;
        Ok(TokenIdentity {
            account: grant.account.clone(),
            scopes: grant.scopes.clone(),
            client_id: grant.client_id.clone(),
            expires_at,
            offline: grant.offline,
        })
    }

    pub(crate) fn new_grant(&mut self, grant: Grant) -> u64 {
        self.next_grant += 1;
        self.grants.insert(self.next_grant, grant);
        self.next_grant
    }

    /// Revokes a grant and forgets its tokens.
    pub(crate) fn revoke_grant(&mut self, id: u64) {
        if let Some(g) = self.grants.get_mut(&id) {
            g.revoked = true;
        }
        self.access.retain(|_, t| t.grant != id);
        self.refresh.retain(|_, g| *g != id);
    }

    /// Revokes every grant of an account.
    pub(crate) fn revoke_account(&mut self, email: &str) {
        let ids: Vec<u64> = self
            .grants
            .iter()
            .filter(|(_, g)| g.account.email.eq_ignore_ascii_case(email))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.revoke_grant(id);
        }
        self.granted
            .retain(|(e, _), _| !e.eq_ignore_ascii_case(email));
    }

    /// Makes every access token of an account expired now (refresh tokens keep working).
    pub(crate) fn expire_account(&mut self, email: &str, now: SystemTime) {
        let grants: Vec<u64> = self
            .grants
            .iter()
            .filter(|(_, g)| g.account.email.eq_ignore_ascii_case(email))
            .map(|(id, _)| *id)
            .collect();
        for t in self.access.values_mut() {
            if grants.contains(&t.grant) && t.expires_at > now {
                t.expires_at = now;
            }
        }
    }

    /// Drops pending flows and used or expired codes older than an hour.
    pub(crate) fn sweep(&mut self, now: SystemTime) {
        let hour = std::time::Duration::from_secs(3600);
        self.flows
            .retain(|_, f| now.duration_since(f.created).map_or(true, |d| d < hour));
        self.codes
            .retain(|_, c| now.duration_since(c.expires_at).map_or(true, |d| d < hour));
        self.access
            .retain(|_, t| now.duration_since(t.expires_at).map_or(true, |d| d < hour));
    }
}
