//! Authenticated encryption of secrets at rest (XChaCha20-Poly1305: 192-bit random nonces need no
//! counter, so many processes can seal with one key safely).

use crate::StoreError;
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use std::fmt;

const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

/// The 256-bit key every secret is sealed with.
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
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(********)")
    }
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl SecretBox {
    pub fn new(key: &MasterKey) -> Self {
        SecretBox {
            cipher: XChaCha20Poly1305::new(&Key::from(key.0)),
        }
    }

    /// Seals `plaintext`; `context` (e.g. the column) is authenticated, so a sealed value copied
    /// into another column does not open.
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce = XNonce::generate();
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(FORMAT_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != FORMAT_VERSION {
            return Err(StoreError::Corrupt(format!(
                "sealed {context} has an unknown format"
            )));
        }
        let nonce = XNonce::try_from(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| StoreError::Corrupt(format!("sealed {context} has a bad nonce")))?;
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Unseal)
    }

    pub fn seal_str(&self, context: &str, plaintext: &str) -> Vec<u8> {
        self.seal(context, plaintext.as_bytes())
    }

    pub fn open_string(&self, context: &str, sealed: &[u8]) -> Result<String, StoreError> {
        String::from_utf8(self.open(context, sealed)?)
            .map_err(|_| StoreError::Corrupt(format!("sealed {context} is not UTF-8")))
    }
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
            Err(StoreError::Unseal)
        ));
    }

    #[test]
    fn two_seals_of_one_value_differ() {
        let sealer = SecretBox::new(&MasterKey::generate());
        assert_ne!(sealer.seal_str("c", "same"), sealer.seal_str("c", "same"));
    }
}
