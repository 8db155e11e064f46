//! `GET|HEAD /api/ready`: whether this node can serve. The checks carry the names nchat's spec
//! allows (`graphql`, `auth`, `config`), each standing for what plays that part in Hearth, and
//! their messages name Hearth's own parts:
//! - `graphql` (nchat's data and live-update API): the database answers, and NATS when set;
//! - `auth` (sign-up and reset mails): the SMTP server answers when `HEARTH_SMTP_URL` is set;
//! - `config`: the app configuration loads.
//!
//! `/api/health` is a server function: being able to answer is all it says.

use std::time::Duration;

use app::api::error::{codes, ApiError, NchatError};
use app::api::nchat::Success;
use app::domain::mail::Mailer;
use app::domain::store::{now_ms, rfc3339};
use app::domain::{app_config, AppState};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Serialize;

/// A check that has not answered by then counts as failed: probes must answer quickly.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Check {
    pub name: &'static str,
    pub ready: bool,
    pub message: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Readiness {
    pub ready: bool,
    pub timestamp: String,
    pub checks: Vec<Check>,
}

/// One part's answer: `"<part>: ok"` or `"<part>: <why not>"`.
async fn part(name: &str, check: impl std::future::Future<Output = Result<(), String>>) -> Result<String, String> {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => Ok(format!("{name}: ok")),
        Ok(Err(why)) => Err(format!("{name}: {why}")),
        Err(_) => Err(format!("{name}: no answer within {}s", CHECK_TIMEOUT.as_secs())),
    }
}

/// A check made of parts: ready when every part is.
fn check(name: &'static str, parts: Vec<Result<String, String>>) -> Check {
    let ready = parts.iter().all(Result::is_ok);
    let message = parts.into_iter().map(|p| p.unwrap_or_else(|why| why)).collect::<Vec<_>>().join("; ");
    Check { name, ready, message }
}

pub async fn readiness(app: &AppState) -> Readiness {
    let mut data = vec![part("database", async { app.store.ping().await.map_err(|e| e.to_string()) }).await];
    if let Some(nats) = app.events.check() {
        data.push(part("nats", async { nats }).await);
    }
    let mail = match &app.mailer {
        Mailer::Smtp { .. } => part("smtp", app.mailer.check()).await,
        _ => Ok("mail: written to the outbox (no SMTP server configured)".into()),
    };
    let config =
        part("app configuration", async { app_config::current(app).await.map(|_| ()).map_err(|e| e.to_string()) })
            .await;
    let checks = vec![check("graphql", data), check("auth", vec![mail]), check("config", vec![config])];
    Readiness { ready: checks.iter().all(|c| c.ready), timestamp: rfc3339(now_ms()), checks }
}

/// GET: 200 with `{ready,timestamp,checks}` (in `data`), or 503 with the same fields beside the
/// error envelope's (`SERVICE_UNAVAILABLE`, `details` holding them too), as nchat's spec has
/// the readiness object on both. HEAD: 200 when the process answers, as nchat's handler does
/// (a quick liveness check; GET runs the checks).
pub async fn ready(State(app): State<AppState>, method: http::Method) -> Response {
    if method == http::Method::HEAD {
        return StatusCode::OK.into_response();
    }
    let readiness = readiness(&app).await;
    if readiness.ready {
        return axum::Json(Success::new(readiness)).into_response();
    }
    let failing: Vec<&str> = readiness.checks.iter().filter(|c| !c.ready).map(|c| c.name).collect();
    let details = serde_json::to_value(&readiness).unwrap_or_default();
    let error =
        ApiError::new(503, codes::SERVICE_UNAVAILABLE, format!("Not ready: {} unavailable.", failing.join(", ")))
            .with_details(details.clone());
    // The nchat error envelope, plus the spec's readiness fields at the top level.
    let mut body = NchatError(error).body();
    if let (Some(body), serde_json::Value::Object(fields)) = (body.as_object_mut(), details) {
        body.extend(fields);
    }
    (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response()
}
