//! `/api/audit/export` (admins). `GET ?format=csv|json` with the list's filters: a download;
//! `GET` without a format: nchat's export options. `POST {format, filters?, dateRange?,
//! includeMetadata?, includeSummary?}`: a download, or with `Accept: application/json` nchat's
//! `{filename, mimeType, recordCount, exportData, summary?}`. Axum routes because a download is
//! not JSON; errors use nchat's envelope.

use app::api::audit::{export_filter, export_format, parse_filter, AuditEntry, AuditQuery, ExportRequest};
use app::api::error::{ApiError, NchatError};
use app::api::nchat::Success;
use app::domain::audit::{self, AuditFilter};
use app::domain::sessions::Caller;
use app::domain::AppState;
use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use http::header::{ACCEPT, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The export's query: a file format and the list's filters.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExportQuery {
    format: Option<String>,
    #[serde(flatten)]
    filters: AuditQuery,
}

/// The JSON answer of `POST` with `Accept: application/json`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ExportData {
    filename: String,
    mime_type: &'static str,
    record_count: usize,
    export_data: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<String>,
}

pub async fn export(
    State(app): State<AppState>,
    caller: Caller,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Response {
    match answer_get(&app, caller, query).await {
        Ok(response) => response,
        Err(error) => NchatError(error).into_response(),
    }
}

pub async fn export_post(State(app): State<AppState>, caller: Caller, headers: HeaderMap, body: Bytes) -> Response {
    match answer_post(&app, caller, &headers, &body).await {
        Ok(response) => response,
        Err(error) => NchatError(error).into_response(),
    }
}

async fn answer_get(
    app: &AppState,
    caller: Caller,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    audit::require_admin(&caller).map_err(ApiError::nchat)?;
    let Query(query) = query.map_err(|_| ApiError::bad_request("Invalid query string."))?;
    let Some(format) = query.format.as_deref().filter(|f| !f.trim().is_empty()) else {
        return Ok(axum::Json(Success::new(options())).into_response());
    };
    let format = export_format(Some(format))?;
    let filter = parse_filter(&query.filters)?;
    let entries = audit::export(app, &caller, &filter).await.map_err(ApiError::nchat)?;
    let (mime, body) = encode(format, &entries, true)?;
    Ok(download(mime, &filename(format), body))
}

async fn answer_post(app: &AppState, caller: Caller, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    audit::require_admin(&caller).map_err(ApiError::nchat)?;
    // The envelope layer has checked that the body is a JSON object.
    let request: ExportRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("Invalid request body: {}", first_line(&e.to_string()))))?;
    let format = export_format(request.format.as_deref())?;
    let filter: AuditFilter = export_filter(&request)?;
    let entries = audit::export(app, &caller, &filter).await.map_err(ApiError::nchat)?;
    let (mime, data) = encode(format, &entries, request.include_metadata.unwrap_or(true))?;
    let filename = filename(format);
    if wants_json(headers) {
        let summary = request.include_summary.unwrap_or(false).then(|| audit::summary(&entries));
        let reply = ExportData { filename, mime_type: mime, record_count: entries.len(), export_data: data, summary };
        return Ok(axum::Json(Success::new(reply)).into_response());
    }
    Ok(download(mime, &filename, data))
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().chars().take(200).collect()
}

/// nchat answers JSON when the client asks for `application/json` first, else a file.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let first = accept.split(',').next().unwrap_or_default();
    first.split(';').next().unwrap_or_default().trim().eq_ignore_ascii_case("application/json")
}

/// The entries as the format's text, and its MIME type.
fn encode(format: &str, entries: &[AuditEntry], metadata: bool) -> Result<(&'static str, String), ApiError> {
    if format == "csv" {
        return Ok(("text/csv", audit::to_csv(entries)));
    }
    let entries: Vec<AuditEntry> = entries
        .iter()
        .cloned()
        .map(|mut entry| {
            if !metadata {
                entry.metadata = None;
            }
            entry
        })
        .collect();
    Ok(("application/json", serde_json::to_string(&entries).map_err(|_| ApiError::internal())?))
}

/// nchat's name: `audit-logs-2024-01-31T12-00-00.csv`.
fn filename(format: &str) -> String {
    let stamp: String = app::domain::store::rfc3339(app::domain::store::now_ms()).replace([':', '.'], "-");
    format!("audit-logs-{}.{format}", stamp.chars().take(19).collect::<String>())
}

fn download(mime: &str, filename: &str, body: String) -> Response {
    let content_type = if mime == "text/csv" { "text/csv; charset=utf-8".to_string() } else { mime.to_string() };
    (
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\"")),
            (CACHE_CONTROL, "no-store".into()),
        ],
        body,
    )
        .into_response()
}

/// nchat's export options: templates, formats, the row cap and the filters a body may carry.
fn options() -> Value {
    let template = |id: &str, name: &str, description: &str, format: &str, metadata: bool, category: Option<&str>| {
        let mut template = json!({
            "id": id, "name": name, "description": description, "format": format, "includeMetadata": metadata,
        });
        if let Some(category) = category {
            template["filters"] = json!({ "category": [category] });
        }
        template
    };
    json!({
        "templates": [
            template("full-json", "Full JSON Export", "Every field, metadata included, as JSON", "json", true, None),
            template("basic-json", "Basic JSON Export", "The entries without their metadata, as JSON", "json", false, None),
            template("csv-report", "CSV Report", "The entries as CSV, for spreadsheets", "csv", false, None),
            template("security-report", "Security Report", "Sign-ins and passwords, as CSV", "csv", true, Some("auth")),
            template("admin-actions", "Admin Actions Report", "Administrative actions, as CSV", "csv", true, Some("admin")),
        ],
        "formats": [
            {"id": "csv", "name": "CSV", "description": "Comma-separated values (RFC 4180)", "mimeType": "text/csv"},
            {"id": "json", "name": "JSON", "description": "A JSON array of entries", "mimeType": "application/json"},
        ],
        "maxRecords": audit::EXPORT_MAX_ROWS,
        "supportedFilters": [
            "category", "action", "severity", "actorId", "actorType", "resourceType", "resourceId",
            "startDate", "endDate", "success", "searchQuery", "ipAddress",
        ],
    })
}
