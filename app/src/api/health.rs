//! `GET /api/health`: the liveness answer (status, time, uptime, version, environment). The
//! readiness probe (`/api/ready`, GET and HEAD) is an axum route in the server.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::state;
use super::ApiError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HealthData {
    /// Always `healthy`: a process that can answer is alive.
    pub status: String,
    pub timestamp: String,
    /// Seconds since this process started.
    pub uptime: f64,
    pub version: String,
    /// `development` for debug builds, `production` otherwise.
    pub environment: String,
}

/// In nchat's `{success,data}` envelope like every other `/api` answer (nchat-notes.md: follow
/// the server's envelope where the spec shows a bare body).
#[server(prefix = "/api", endpoint = "health", input = GetUrl, output = Json)]
pub async fn health() -> Result<Success<HealthData>, ApiError> {
    let state = state()?;
    Ok(Success::new(HealthData {
        status: "healthy".into(),
        timestamp: crate::domain::store::rfc3339(crate::domain::store::now_ms()),
        uptime: (state.started_at.elapsed().as_millis() as f64 / 1000.0),
        version: env!("CARGO_PKG_VERSION").into(),
        environment: if cfg!(debug_assertions) { "development" } else { "production" }.into(),
    }))
}
