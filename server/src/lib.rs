//! The `hearth` server: configuration, the router, and start-up. The rules live in `app::domain`;
//! this crate wires them to sockets, files and mail servers.

// The server renders the app's deeply nested Leptos views (see app/src/lib.rs).
#![recursion_limit = "512"]

pub mod after_answer;
pub mod api_limits;
pub mod audit_export;
pub mod config;
pub mod envelope;
pub mod files;
pub mod integrations;
pub mod live;
pub mod logos;
pub mod messages;
pub mod observe;
pub mod openapi;
pub mod probes;
pub mod security;
pub mod startup;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod webhooks;
