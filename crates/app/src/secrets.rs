//! Secrets ferry issues (user, organization and instance secrets) and how they are stored: 256
//! random bits, so a fast hash is as safe as a slow one and lookups stay cheap.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ferry_model::Secret;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub(crate) fn generate_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    Secret::new(URL_SAFE_NO_PAD.encode(bytes))
}

pub(crate) fn random_id() -> String {
    let mut bytes = [0u8; 18];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of a secret: hex SHA-256.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Constant-time comparison of two hashes.
pub(crate) fn hashes_equal(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// A stable, non-secret name of this installation, derived from a key only it has.
pub(crate) fn install_id(key: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"ferry install id");
    hasher.update(key);
    hex::encode(&hasher.finalize()[..6])
}
