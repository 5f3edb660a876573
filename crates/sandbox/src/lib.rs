//! ferry-sandbox
