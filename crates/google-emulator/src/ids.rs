//! Identifiers: unguessable tokens and Gmail-like message ids.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use std::sync::Mutex;

/// `bytes` random bytes from the thread-local CSPRNG, base64url without padding.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(&buf)
}

/// An access token as Google shapes them: `ya29.` and 256 random bits.
pub(crate) fn access_token() -> String {
    format!("ya29.a0{}", random_token(48))
}

/// A refresh token as Google shapes them: `1//` and 256 random bits.
pub(crate) fn refresh_token() -> String {
    format!("1//0{}", random_token(40))
}

/// An authorization code as Google shapes them: `4/0` and 256 random bits.
pub(crate) fn authorization_code() -> String {
    format!("4/0{}", random_token(40))
}

/// Message ids like Gmail's: the receive time in ms shifted left by 20 bits plus a small random
/// part, strictly increasing across the whole emulator, printed as 16 lowercase hex digits.
#[derive(Debug, Default)]
pub(crate) struct MessageIdGenerator {
    last: Mutex<u64>,
}

impl MessageIdGenerator {
    pub(crate) fn next(&self, now_millis: i64) -> u64 {
        let base = (u64::try_from(now_millis).unwrap_or(0) << 20)
            | (rand::rng().next_u32() as u64 & 0xffff);
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let id = base.max(*last + 1);
        *last = id;
        id
    }
}

/// Formats a message or thread id the way Gmail prints them.
pub(crate) fn format_id(id: u64) -> String {
    format!("{id:016x}")
}

/// Parses an id printed by [`format_id`]; `None` when it is not 1–16 hex digits.
pub(crate) fn parse_id(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 16 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_increase_and_round_trip() {
        let generator = MessageIdGenerator::default();
        let a = generator.next(1_560_549_974_000);
        let b = generator.next(1_560_549_974_000);
        let c = generator.next(1_000);
        assert!(a < b && b < c);
        let printed = format_id(a);
        assert_eq!(printed.len(), 16);
        assert!(printed.starts_with("16b5"));
        assert_eq!(parse_id(&printed), Some(a));
        assert_eq!(parse_id("xyz"), None);
        assert_eq!(parse_id("12345678901234567"), None);
    }

    #[test]
    fn tokens_have_google_prefixes_and_enough_entropy() {
        let a = access_token();
        assert!(a.starts_with("ya29."));
        assert!(a.len() > 40);
        assert_ne!(a, access_token());
        assert!(refresh_token().starts_with("1//"));
    }
}
