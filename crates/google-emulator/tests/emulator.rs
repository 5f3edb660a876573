//! Integration tests: the emulator served on a loopback port, driven over real HTTP the way a
//! client (a browser for the consent pages, an OAuth client, a Gmail API client) would.

#[path = "emulator/support.rs"]
mod support;

#[path = "emulator/consent.rs"]
mod consent;
#[path = "emulator/console.rs"]
mod console;
#[path = "emulator/control.rs"]
mod control;
#[path = "emulator/discovery.rs"]
mod discovery;
#[path = "emulator/gmail_errors.rs"]
mod gmail_errors;
#[path = "emulator/gmail_labels.rs"]
mod gmail_labels;
#[path = "emulator/gmail_messages.rs"]
mod gmail_messages;
#[path = "emulator/gmail_search.rs"]
mod gmail_search;
#[path = "emulator/python_client.rs"]
mod python_client;
#[path = "emulator/state_file.rs"]
mod state_file;
#[path = "emulator/token.rs"]
mod token;
