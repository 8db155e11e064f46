//! `GET|HEAD /api/ready`: whether this node can serve: the database answers, and the SMTP and
//! NATS servers do when configured. 503 names the failing checks. (`/api/health` is a server
//! function: being able to answer is all it says.)

use std::time::Duration;

use app::api::error::{codes, ApiError};
use app::domain::mail::Mailer;
use app::domain::store::{now_ms, rfc3339};
use app::domain::AppState;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::envelope::{render, Surface};

/// A check that has not answered by then counts as failed: probes must answer quickly.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub ready: bool,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct Readiness {
    pub ready: bool,
    pub timestamp: String,
    pub checks: Vec<Check>,
}

async fn run(name: &'static str, check: impl std::future::Future<Output = Result<(), String>>) -> Check {
    match tokio::time::timeout(CHECK_TIMEOUT, check).await {
        Ok(Ok(())) => Check { name, ready: true, message: "ok".into() },
        Ok(Err(why)) => Check { name, ready: false, message: why },
        Err(_) => Check { name, ready: false, message: format!("no answer within {}s", CHECK_TIMEOUT.as_secs()) },
    }
}

pub async fn readiness(app: &AppState) -> Readiness {
    let mut checks =
        vec![run("database", async { app.store.ping().await.map_err(|e| format!("database: {e}")) }).await];
    if matches!(app.mailer, Mailer::Smtp { .. }) {
        checks.push(run("smtp", app.mailer.check()).await);
    }
    if let Some(nats) = app.events.check() {
        checks.push(run("nats", async { nats }).await);
    }
    Readiness { ready: checks.iter().all(|c| c.ready), timestamp: rfc3339(now_ms()), checks }
}

/// 200 `{success:true,data:{ready,timestamp,checks}}`, or 503 `SERVICE_UNAVAILABLE` in the
/// error envelope with the same object as `details`. HEAD gets the status alone.
pub async fn ready(State(app): State<AppState>) -> Response {
    let readiness = readiness(&app).await;
    if readiness.ready {
        return axum::Json(serde_json::json!({ "success": true, "data": readiness })).into_response();
    }
    let failing: Vec<&str> = readiness.checks.iter().filter(|c| !c.ready).map(|c| c.name).collect();
    let error =
        ApiError::new(503, codes::SERVICE_UNAVAILABLE, format!("Not ready: {} unavailable.", failing.join(", ")))
            .with_details(serde_json::to_value(&readiness).unwrap_or_default());
    render(Surface::Nchat, &error)
}
