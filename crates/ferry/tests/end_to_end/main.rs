//! End-to-end tests: the real `ferry` binary in sandbox mode (ferry + the Google emulator) on
//! loopback ports chosen at run time, driven over HTTP the way a user or a browser would.

mod deployment;
mod flow_support;
mod notes_service;
mod support;

mod api_docs;
mod bad_input;
mod browser_docs;
mod cli;
mod connector_builder;
mod connector_removal;
mod connector_webhooks;
mod console;
mod console_connectors;
mod credential_checks;
mod durability;
mod emulator_cli;
mod flows;
mod fuzzing;
mod gmail_errors;
mod gmail_operations;
mod gmail_suite;
mod instances;
mod key_rotation;
mod proxies;
mod refresh;
mod scale_out;
mod seed;
mod shared_catalog;
