//! The `hearth` server: configuration, the router, and start-up. The rules live in `app::domain`;
//! this crate wires them to sockets, files and mail servers.

pub mod config;
pub mod envelope;
pub mod live;
pub mod startup;
pub mod telemetry;
pub mod testing;
