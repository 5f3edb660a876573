-- The ids of the events connector instances received by webhook: a vendor that delivers an event
-- again (a retry, a manual redelivery, a replay) starts nothing the second time. An id is inserted
-- in the transaction that queues its executions, and forgotten after a bounded time (the
-- background retention), so the table does not grow without end.
CREATE TABLE webhook_event_ids (
    instance_id BIGINT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (instance_id, event_id)
);
CREATE INDEX webhook_event_ids_by_age ON webhook_event_ids (received_at);
