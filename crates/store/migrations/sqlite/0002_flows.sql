CREATE TABLE flows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    definition TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX flows_by_organization ON flows (organization_id, id);

CREATE TABLE flow_instances (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    flow_id BIGINT NOT NULL REFERENCES flows(id),
    name TEXT NOT NULL,
    active INTEGER NOT NULL,
    configuration TEXT NOT NULL,
    settings TEXT NOT NULL,
    webhook_secret_sealed BLOB,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX flow_instances_by_organization ON flow_instances (organization_id, id);
CREATE INDEX flow_instances_by_flow ON flow_instances (flow_id);

CREATE TABLE executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id BIGINT NOT NULL,
    flow_id BIGINT NOT NULL,
    flow_instance_id BIGINT NOT NULL,
    status TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    trigger_values TEXT NOT NULL,
    state TEXT NOT NULL,
    error TEXT,
    attempt BIGINT NOT NULL,
    parent_execution_id BIGINT,
    event_id TEXT,
    object_id TEXT,
    lease_owner TEXT,
    lease_until BIGINT,
    run_after BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX executions_waiting ON executions (status, run_after, id);
CREATE INDEX executions_by_flow_instance ON executions (flow_instance_id, id);
CREATE INDEX executions_by_creation ON executions (created_at);

CREATE TABLE step_executions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    execution_id BIGINT NOT NULL REFERENCES executions(id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    step_name TEXT NOT NULL,
    step_kind TEXT NOT NULL,
    status TEXT NOT NULL,
    input TEXT NOT NULL,
    output TEXT NOT NULL,
    console TEXT NOT NULL,
    error TEXT,
    attempts BIGINT NOT NULL,
    duration_us BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (execution_id, seq)
);

CREATE TABLE schedule_ticks (
    flow_instance_id BIGINT NOT NULL,
    tick BIGINT NOT NULL,
    PRIMARY KEY (flow_instance_id, tick)
);

CREATE TABLE event_cursors (
    instance_id BIGINT PRIMARY KEY,
    cursor_value TEXT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    updated_at BIGINT NOT NULL
);
