//! Short-lived caches of who a secret belongs to and which instance a token names, so a hub call
//! needs no database round trip. Writes in this process invalidate at once; other processes see a
//! change within the TTL (a rotated secret or a disabled instance keeps working for at most that
//! long elsewhere; a refreshed grant is picked up immediately on the next 401 anyway).

use crate::Principal;
use ferry_model::instance::Instance;
use moka::sync::Cache;
use std::sync::Arc;
use std::time::Duration;

const PRINCIPAL_TTL: Duration = Duration::from_secs(5);
const INSTANCE_TTL: Duration = Duration::from_secs(2);
const CAPACITY: u64 = 100_000;

pub(crate) struct AuthCache {
    /// `user hash` + `:` + `organization hash` (empty when no Organization part) → the caller.
    principals: Cache<String, Arc<Principal>>,
    /// Token hash → instance.
    instances: Cache<String, Arc<Instance>>,
}

impl AuthCache {
    pub fn new() -> Self {
        AuthCache {
            principals: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(PRINCIPAL_TTL)
                .build(),
            instances: Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(INSTANCE_TTL)
                .build(),
        }
    }

    pub fn principal(&self, key: &str) -> Option<Arc<Principal>> {
        self.principals.get(key)
    }

    pub fn remember_principal(&self, key: String, principal: Arc<Principal>) {
        self.principals.insert(key, principal);
    }

    pub fn forget_principals(&self) {
        self.principals.invalidate_all();
    }

    pub fn instance(&self, token_hash: &str) -> Option<Arc<Instance>> {
        self.instances.get(token_hash)
    }

    pub fn remember_instance(&self, token_hash: String, instance: Arc<Instance>) {
        self.instances.insert(token_hash, instance);
    }

    pub fn forget_instances(&self) {
        self.instances.invalidate_all();
    }
}
