CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    email TEXT NOT NULL UNIQUE,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    password_hash TEXT,
    created_at BIGINT NOT NULL
);

CREATE TABLE instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    connector_key TEXT NOT NULL,
    name TEXT NOT NULL,
    tags TEXT NOT NULL,
    configuration TEXT NOT NULL,
    secret_configuration BLOB NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    token_sealed BLOB NOT NULL,
    access_token_sealed BLOB,
    refresh_token_sealed BLOB,
    access_expires_at BIGINT,
    refresh_due_at BIGINT,
    granted_scope TEXT,
    account TEXT,
    grant_version BIGINT NOT NULL DEFAULT 0,
    auth_state TEXT NOT NULL,
    auth_state_reason TEXT,
    disabled INTEGER NOT NULL DEFAULT 0,
    external_authentication TEXT NOT NULL,
    refresh_lease_owner TEXT,
    refresh_lease_until BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX instances_by_organization ON instances (organization_id, id);

CREATE TABLE oauth_authorizations (
    id TEXT PRIMARY KEY,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    instance_id BIGINT REFERENCES instances(id) ON DELETE CASCADE,
    pkce_verifier_sealed BLOB,
    redirect_uri TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    consumed_at BIGINT
);
