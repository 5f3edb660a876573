//! Authenticated encryption of secrets at rest (XChaCha20-Poly1305: 192-bit random nonces need no
//! counter, so many processes can seal with one key safely), under a key ring: everything is
//! sealed with the current master key, and values sealed with a previous one still open, so an
//! operator rotates the key without downtime (docs/operations.md).

use crate::StoreError;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

/// Version 1 values carry no key id (sealed before key rotation existed); version 2 values name
/// the key that sealed them, so that re-sealing finds the old ones without trying to open them.
const UNNAMED_KEY_FORMAT: u8 = 1;
const NAMED_KEY_FORMAT: u8 = 2;
const NONCE_LEN: usize = 24;
const KEY_ID_LEN: usize = 8;

/// A 256-bit master key.
#[derive(Clone)]
pub struct MasterKey([u8; 32]);

impl MasterKey {
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        MasterKey(bytes)
    }

    pub fn generate() -> Self {
        let key = Key::generate();
        MasterKey(key.into())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// A public name of the key (a one-way hash of it): stored next to each sealed value and
    /// shown to operators, so they can tell keys apart without seeing them.
    pub fn id(&self) -> String {
        self.key_id().iter().map(|b| format!("{b:02x}")).collect()
    }

    fn key_id(&self) -> [u8; KEY_ID_LEN] {
        let digest = Sha256::new()
            .chain_update(b"ferry master key id v1")
            .chain_update(self.0)
            .finalize();
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&digest[..KEY_ID_LEN]);
        id
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey({})", self.id())
    }
}

#[derive(Clone)]
struct KeyedCipher {
    id: [u8; KEY_ID_LEN],
    cipher: XChaCha20Poly1305,
}

impl KeyedCipher {
    fn new(key: &MasterKey) -> Self {
        KeyedCipher {
            id: key.key_id(),
            cipher: XChaCha20Poly1305::new(&Key::from(key.0)),
        }
    }

    fn open(&self, context: &str, nonce: &[u8], sealed: &[u8]) -> Option<Vec<u8>> {
        let nonce = XNonce::try_from(nonce).ok()?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: context.as_bytes(),
                },
            )
            .ok()
    }
}

/// Seals with the current key; opens with it or any previous one.
#[derive(Clone)]
pub struct SecretBox {
    current: KeyedCipher,
    previous: Vec<KeyedCipher>,
}

impl SecretBox {
    pub fn new(key: &MasterKey) -> Self {
        SecretBox::with_previous(key, &[])
    }

    /// A key ring: `key` seals; values sealed with any of `previous` still open.
    pub fn with_previous(key: &MasterKey, previous: &[MasterKey]) -> Self {
        SecretBox {
            current: KeyedCipher::new(key),
            previous: previous
                .iter()
                .filter(|p| p.key_id() != key.key_id())
                .map(KeyedCipher::new)
                .collect(),
        }
    }

    /// Seals `plaintext`; `context` (e.g. the column) is authenticated, so a sealed value copied
    /// into another column does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let sealed = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + sealed.len());
        out.push(NAMED_KEY_FORMAT);
        out.extend_from_slice(&self.current.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        match sealed.first() {
            Some(&NAMED_KEY_FORMAT) if sealed.len() >= 1 + KEY_ID_LEN + NONCE_LEN => {
                let id = &sealed[1..1 + KEY_ID_LEN];
                let nonce = &sealed[1 + KEY_ID_LEN..1 + KEY_ID_LEN + NONCE_LEN];
                let body = &sealed[1 + KEY_ID_LEN + NONCE_LEN..];
                let cipher = self
                    .ring()
                    .find(|c| c.id == id)
                    .ok_or_else(|| StoreError::UnknownKey(hex_id(id)))?;
                cipher.open(context, nonce, body).ok_or(StoreError::Unseal)
            }
            Some(&UNNAMED_KEY_FORMAT) if sealed.len() > NONCE_LEN => {
                let nonce = &sealed[1..1 + NONCE_LEN];
                let body = &sealed[1 + NONCE_LEN..];
                self.ring()
                    .find_map(|c| c.open(context, nonce, body))
                    .ok_or(StoreError::Unseal)
            }
            _ => Err(StoreError::Corrupt(format!(
                "sealed {context} has an unknown format"
            ))),
        }
    }

    /// Whether `sealed` is sealed with the current key (re-sealing skips it).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.first() == Some(&NAMED_KEY_FORMAT)
            && sealed.get(1..1 + KEY_ID_LEN) == Some(&self.current.id[..])
    }

    pub fn seal_str(&self, context: &str, plaintext: &str) -> Vec<u8> {
        self.seal(context, plaintext.as_bytes())
    }

    pub fn open_string(&self, context: &str, sealed: &[u8]) -> Result<String, StoreError> {
        String::from_utf8(self.open(context, sealed)?)
            .map_err(|_| StoreError::Corrupt(format!("sealed {context} is not UTF-8")))
    }

    fn ring(&self) -> impl Iterator<Item = &KeyedCipher> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

fn hex_id(id: &[u8]) -> String {
    id.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealer = SecretBox::new(&key);
        let sealed = sealer.seal_str("instances.refresh_token", "1//refresh");
        assert!(!sealed.windows(9).any(|w| w == b"1//refresh"[..9].as_ref()));
        assert_eq!(
            sealer
                .open_string("instances.refresh_token", &sealed)
                .unwrap(),
            "1//refresh"
        );
        assert!(matches!(
            sealer.open("instances.access_token", &sealed),
            Err(StoreError::Unseal)
        ));
        let other = SecretBox::new(&MasterKey::generate());
        assert!(matches!(
            other.open("instances.refresh_token", &sealed),
            Err(StoreError::UnknownKey(_))
        ));
    }

    #[test]
    fn values_sealed_with_a_previous_key_open_and_new_ones_use_the_current_key() {
        let old = MasterKey::generate();
        let new = MasterKey::generate();
        let before = SecretBox::new(&old).seal_str("instances.token", "tok");
        let ring = SecretBox::with_previous(&new, std::slice::from_ref(&old));
        assert_eq!(ring.open_string("instances.token", &before).unwrap(), "tok");
        assert!(!ring.is_current(&before));
        let after = ring.seal_str("instances.token", "tok");
        assert!(ring.is_current(&after));
        assert_eq!(
            SecretBox::new(&new)
                .open_string("instances.token", &after)
                .unwrap(),
            "tok"
        );
        // Without the old key, its values name the key that is missing.
        match SecretBox::new(&new).open("instances.token", &before) {
            Err(StoreError::UnknownKey(id)) => assert_eq!(id, old.id()),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
    }

    #[test]
    fn values_sealed_before_keys_had_ids_still_open() {
        let key = MasterKey::generate();
        let cipher = XChaCha20Poly1305::new(&Key::from(*key.as_bytes()));
        let nonce = XNonce::generate();
        let body = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: b"legacy",
                    aad: b"flow_instances.webhook_secret",
                },
            )
            .unwrap();
        let mut legacy = vec![UNNAMED_KEY_FORMAT];
        legacy.extend_from_slice(&nonce);
        legacy.extend_from_slice(&body);
        let ring = SecretBox::with_previous(&MasterKey::generate(), &[key]);
        assert_eq!(
            ring.open_string("flow_instances.webhook_secret", &legacy)
                .unwrap(),
            "legacy"
        );
        assert!(!ring.is_current(&legacy));
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let sealer = SecretBox::new(&MasterKey::generate());
        assert_ne!(sealer.seal_str("c", "same"), sealer.seal_str("c", "same"));
    }
}
