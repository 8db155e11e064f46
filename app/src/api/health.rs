//! `GET /api/health`: the liveness answer (status, time, uptime, version, environment). The
//! readiness probe (`/api/ready`, GET and HEAD) is an axum route in the server.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::NchatError;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{set_header, state};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct HealthData {
    /// Always `healthy`: a process that can answer is alive.
    pub status: String,
    pub timestamp: String,
    /// Seconds since this process started.
    pub uptime: f64,
    pub version: String,
    /// `development` for debug builds, `production` otherwise (two of the spec's three).
    pub environment: String,
}

/// The spec's fields (read at the top level by its clients, inside `data` by the envelope's);
/// `Cache-Control: no-cache` and `X-Response-Time` as nchat's handler sends them.
#[server(prefix = "/api", endpoint = "health", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn health() -> Result<Success<HealthData>, NchatError> {
    let started = std::time::Instant::now();
    let state = state()?;
    set_header(http::header::CACHE_CONTROL, "no-cache");
    let took = format!("{:.3}ms", started.elapsed().as_secs_f64() * 1000.0);
    set_header(http::HeaderName::from_static("x-response-time"), &took);
    Ok(Success::new(HealthData {
        status: "healthy".into(),
        timestamp: crate::domain::store::rfc3339(crate::domain::store::now_ms()),
        uptime: (state.started_at.elapsed().as_millis() as f64 / 1000.0),
        version: env!("CARGO_PKG_VERSION").into(),
        environment: if cfg!(debug_assertions) { "development" } else { "production" }.into(),
    }))
}
