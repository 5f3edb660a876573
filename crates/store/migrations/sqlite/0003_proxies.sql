CREATE TABLE proxies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    instance_id BIGINT NOT NULL REFERENCES instances(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    base_path TEXT NOT NULL UNIQUE,
    operations TEXT,
    cors_origins TEXT NOT NULL,
    rate_requests BIGINT NOT NULL,
    rate_seconds BIGINT NOT NULL,
    daily_quota BIGINT,
    max_request_bytes BIGINT NOT NULL,
    published BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX proxies_by_organization ON proxies (organization_id, id);

-- A key's token bucket and daily count live on its row, so every process sharing the database
-- spends from the same bucket with one conditional UPDATE.
CREATE TABLE proxy_keys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proxy_id BIGINT NOT NULL REFERENCES proxies(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    rate_requests BIGINT,
    rate_seconds BIGINT,
    daily_quota BIGINT,
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL,
    bucket_tokens REAL NOT NULL,
    bucket_at BIGINT NOT NULL,
    quota_day BIGINT NOT NULL,
    quota_used BIGINT NOT NULL
);
CREATE INDEX proxy_keys_by_proxy ON proxy_keys (proxy_id, id);

-- No foreign key: calls are written in batches after the fact, and a batch must not fail because
-- its proxy was deleted meanwhile.
CREATE TABLE proxy_calls (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    proxy_id BIGINT NOT NULL,
    key_id BIGINT,
    at BIGINT NOT NULL,
    method TEXT NOT NULL,
    operation TEXT NOT NULL,
    status BIGINT NOT NULL,
    latency_us BIGINT NOT NULL,
    request_bytes BIGINT NOT NULL,
    response_bytes BIGINT NOT NULL
);
CREATE INDEX proxy_calls_by_proxy ON proxy_calls (proxy_id, at);
CREATE INDEX proxy_calls_by_time ON proxy_calls (at);
