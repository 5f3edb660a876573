//! ferry-oauth: the client side of the OAuth2 authorization-code grant for connector instances —
//! authorization URLs (with PKCE and provider extras such as Google's `access_type=offline`), the
//! signed, expiring `state` that ferry's hosted callback trusts, the code exchange and the refresh
//! grant, with provider errors kept intact (`invalid_grant` and its description) so callers can tell
//! a revoked grant from a network failure. It depends on `ferry-model` only; it never stores
//! anything: callers persist what it returns.

mod client;
mod error;
mod state;

pub use client::{
    AuthorizationUrlRequest, ClientCredentials, OAuthClient, Pkce, TokenSet, authorization_url,
};
pub use error::OAuthError;
pub use state::{StateClaims, StateError, StateSigner};
