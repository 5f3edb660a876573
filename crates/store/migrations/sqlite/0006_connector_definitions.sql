-- Connectors users add through POST /elements (the connector builder): the definition as
-- written, JSON text. Installation-wide, like the connectors directory; every process loads them,
-- and updated_at tells a process that its copy is stale.
CREATE TABLE connector_definitions (
    connector_key TEXT PRIMARY KEY,
    connector_id BIGINT NOT NULL UNIQUE,
    definition TEXT NOT NULL,
    organization_id BIGINT NOT NULL,
    created_by BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
