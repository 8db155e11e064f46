//! `GET /api/audit/export?format=csv|json` (admins): the audit entries a filter covers, as a
//! download. An axum route because its body is not JSON; errors use nchat's envelope.

use app::api::audit::parse_filter;
use app::api::error::ApiError;
use app::domain::{audit, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::HeaderMap;
use serde::Deserialize;

use crate::envelope::{render, Surface};

#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    format: Option<String>,
    action: Option<String>,
    category: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

pub async fn export(
    State(app): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    match answer(&app, &headers, query).await {
        Ok(response) => response,
        Err(error) => render(Surface::Nchat, &error),
    }
}

async fn answer(
    app: &AppState,
    headers: &HeaderMap,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let caller = crate::files::bearer_caller(app, headers).await?;
    audit::require_admin(&caller).map_err(ApiError::nchat)?;
    let Query(query) = query.map_err(|_| ApiError::bad_request("Invalid query string."))?;
    let format = query.format.as_deref().map(str::trim).unwrap_or("json").to_ascii_lowercase();
    if format != "csv" && format != "json" {
        return Err(ApiError::new(400, app::api::error::codes::VALIDATION_ERROR, "format must be csv or json.")
            .with_details(serde_json::json!({ "field": "format" })));
    }
    let filter = parse_filter(query.action, query.category, query.actor, query.from, query.to)?;
    let entries = audit::export(app, &caller, &filter).await.map_err(ApiError::nchat)?;
    let stamp = app::domain::store::now_ms() / 1000;
    let (content_type, body) = if format == "csv" {
        ("text/csv; charset=utf-8", audit::to_csv(&entries))
    } else {
        ("application/json", serde_json::to_string(&entries).map_err(|_| ApiError::internal())?)
    };
    let disposition = format!("attachment; filename=\"hearth-audit-{stamp}.{format}\"");
    Ok((
        [
            (CONTENT_TYPE, content_type.to_string()),
            (CONTENT_DISPOSITION, disposition),
            (CACHE_CONTROL, "no-store".into()),
        ],
        body,
    )
        .into_response())
}
