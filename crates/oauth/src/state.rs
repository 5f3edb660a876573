//! The `state` parameter of ferry-hosted consent: `v1.<payload>.<mac>`, an HMAC-SHA256 signed,
//! expiring reference to a stored pending authorization. Single use is enforced by the store
//! (the referenced authorization is consumed once); the signature keeps forged values from ever
//! reaching the database.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use thiserror::Error;

const PREFIX: &str = "v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateClaims {
    /// The pending authorization this state refers to.
    #[serde(rename = "a")]
    pub authorization_id: String,
    /// Epoch milliseconds after which the state is refused.
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum StateError {
    #[error("the state parameter is not one ferry issued")]
    Malformed,
    #[error("the state parameter's signature does not match: it was altered or forged")]
    BadSignature,
    #[error("the authorization has expired; start again")]
    Expired,
}

#[derive(Clone)]
pub struct StateSigner {
    key: Vec<u8>,
}

impl StateSigner {
    pub fn new(key: &[u8]) -> Self {
        StateSigner { key: key.to_vec() }
    }

    fn mac(&self, payload: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(PREFIX.as_bytes());
        mac.update(b".");
        mac.update(payload.as_bytes());
        mac
    }

    pub fn sign(&self, claims: &StateClaims) -> String {
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialize"));
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&payload).finalize().into_bytes());
        format!("{PREFIX}.{payload}.{tag}")
    }

    /// Checks signature (in constant time) and expiry.
    pub fn verify(&self, state: &str, now_ms: i64) -> Result<StateClaims, StateError> {
        let mut parts = state.split('.');
        let (Some(PREFIX), Some(payload), Some(tag), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(StateError::Malformed);
        };
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| StateError::Malformed)?;
        self.mac(payload)
            .verify_slice(&tag)
            .map_err(|_| StateError::BadSignature)?;
        let claims: StateClaims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or(StateError::Malformed)?;
        if claims.expires_at_ms <= now_ms {
            return Err(StateError::Expired);
        }
        Ok(claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> StateClaims {
        StateClaims {
            authorization_id: "abc".into(),
            expires_at_ms: 1_000,
        }
    }

    #[test]
    fn a_signed_state_verifies_until_it_expires() {
        let signer = StateSigner::new(b"k");
        let state = signer.sign(&claims());
        assert_eq!(signer.verify(&state, 999), Ok(claims()));
        assert_eq!(signer.verify(&state, 1_000), Err(StateError::Expired));
    }

    #[test]
    fn forged_and_altered_states_are_refused() {
        let signer = StateSigner::new(b"k");
        let state = signer.sign(&claims());
        let other = StateSigner::new(b"other").sign(&claims());
        assert_eq!(signer.verify(&other, 0), Err(StateError::BadSignature));
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"a":"zzz","e":99999}"#);
        let tag = state.rsplit('.').next().unwrap();
        assert_eq!(
            signer.verify(&format!("v1.{forged_payload}.{tag}"), 0),
            Err(StateError::BadSignature)
        );
        assert_eq!(signer.verify("gmail", 0), Err(StateError::Malformed));
        assert_eq!(signer.verify("v1.a.b.c", 0), Err(StateError::Malformed));
    }
}
