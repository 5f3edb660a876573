//! The storage conformance suite: every test runs against SQLite and, when
//! `FERRY_TEST_DATABASE_URL` is set, against PostgreSQL (in a schema of its own).

mod connector_definitions;
mod console_sessions;
mod executions;
mod instances;
mod proxies;
mod support;
mod webhook_events;
