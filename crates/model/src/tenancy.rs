//! Organizations and users as stored. Secrets are never part of these records: the store keeps
//! only their hashes.

use crate::{OrganizationId, UserId};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub organization_id: OrganizationId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub created_at_ms: i64,
}
