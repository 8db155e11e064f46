//! The `hearth` server: configuration, the router, and start-up. The rules live in `app::domain`;
//! this crate wires them to sockets, files and mail servers.

// The server renders the app's deeply nested Leptos views (see app/src/lib.rs).
#![recursion_limit = "512"]

pub mod config;
pub mod envelope;
pub mod live;
pub mod startup;
pub mod telemetry;
pub mod testing;
