//! `/api/audit`: read (everyone signed in: their own entries; admins: all), add (attributed to
//! the caller) and delete (admins) audit entries. The export (`/api/audit/export`, CSV or JSON)
//! is an axum route in the server, as its body is not JSON.

use leptos::prelude::*;
use leptos::server_fn::codec::{DeleteUrl, GetUrl, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, set_status, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::audit::{self, AuditEvent, AuditFilter};

/// One page of a list: the guide's `{items,total,page,limit,hasMore}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DeletedData {
    pub deleted: u64,
}

/// A stored entry, in nchat's AuditLogEntry shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    pub timestamp: String,
    pub category: String,
    pub action: String,
    pub severity: String,
    pub actor: AuditActor,
    pub description: String,
    pub success: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditActor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `system`, `bot`, `integration` or `anonymous`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// Default and largest page sizes (the guide's).
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;

/// The filters every audit route takes, from query text, with a clear 400 for each bad one.
#[cfg(feature = "ssr")]
pub fn parse_filter(
    action: Option<String>,
    category: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<AuditFilter, ApiError> {
    let given = |value: Option<String>| value.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let category = given(category);
    if let Some(category) = &category {
        if !audit::CATEGORIES.contains(&category.as_str()) {
            return Err(invalid("category", &format!("category must be one of {}.", audit::CATEGORIES.join(", "))));
        }
    }
    let actor_id = match given(actor) {
        None => None,
        Some(actor) => Some(actor.parse::<i64>().map_err(|_| invalid("actor", "actor must be a user id."))?),
    };
    let time = |value: Option<String>, name: &str, end: bool| -> Result<Option<i64>, ApiError> {
        match given(value) {
            None => Ok(None),
            Some(text) => crate::domain::store::parse_time(&text, end)
                .map(Some)
                .ok_or_else(|| invalid(name, &format!("{name} must be a date (2024-01-31) or an RFC 3339 time."))),
        }
    };
    let from = time(from, "from", false)?;
    let to = time(to, "to", true)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(invalid("from", "from must not be after to."));
        }
    }
    Ok(AuditFilter { action: given(action), category, actor_id, from, to })
}

#[cfg(feature = "ssr")]
fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, super::error::codes::VALIDATION_ERROR, message)
        .with_details(serde_json::json!({ "field": field }))
}

#[cfg(feature = "ssr")]
fn page_number(value: Option<String>, name: &str, default: i64, max: i64) -> Result<i64, ApiError> {
    match value.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(name, &format!("{name} must be a whole number from 1 to {max}."))),
    }
}

/// Newest first. Members see their own entries; admins everyone's (and may filter by `actor`).
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = GetUrl, output = Json)]
pub async fn list_audit(
    page: Option<String>,
    limit: Option<String>,
    action: Option<String>,
    category: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Success<ListPage<AuditEntry>>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    let page = page_number(page, "page", 1, 1_000_000)?;
    let limit = page_number(limit, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = parse_filter(action, category, actor, from, to)?;
    let found = audit::query(&state, &caller, filter, page, limit).await.map_err(ApiError::nchat)?;
    let has_more = page * limit < found.total;
    Ok(Success::new(ListPage { items: found.items, total: found.total, page, limit, has_more }))
}

/// Adds an entry by the caller. `actor` in the body is ignored: entries are always the caller's.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = Json, output = Json)]
pub async fn create_audit(
    category: String,
    action: String,
    severity: Option<String>,
    description: String,
    success: Option<bool>,
    metadata: Option<Value>,
    actor: Option<Value>,
) -> Result<Success<AuditEntry>, ApiError> {
    let _ = actor;
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    if !audit::CATEGORIES.contains(&category.as_str()) {
        return Err(invalid("category", &format!("category must be one of {}.", audit::CATEGORIES.join(", "))));
    }
    let severity = severity.unwrap_or_else(|| "info".into());
    if !audit::SEVERITIES.contains(&severity.as_str()) {
        return Err(invalid("severity", &format!("severity must be one of {}.", audit::SEVERITIES.join(", "))));
    }
    if action.trim().is_empty() || action.chars().count() > 100 {
        return Err(invalid("action", "action must be 1-100 characters."));
    }
    if description.trim().is_empty() || description.chars().count() > 1000 {
        return Err(invalid("description", "description must be 1-1000 characters."));
    }
    match &metadata {
        None | Some(Value::Null) => {}
        Some(Value::Object(_)) if metadata.as_ref().is_some_and(|m| m.to_string().len() <= 8 * 1024) => {}
        Some(Value::Object(_)) => return Err(invalid("metadata", "metadata must be at most 8 KiB of JSON.")),
        Some(_) => return Err(invalid("metadata", "metadata must be an object.")),
    }
    let mut event =
        AuditEvent::new(&category, action.trim(), description.trim()).by_caller(&caller).from_ip(client_ip());
    event.severity = severity;
    event.success = success.unwrap_or(true);
    event.metadata = metadata.filter(|m| !m.is_null());
    let entry = audit::append(&state, event).await.map_err(ApiError::nchat)?;
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(entry))
}

/// Admins: deletes the entries the filter covers (at least one filter) and says how many.
#[server(prefix = "/api", endpoint = "audit", input = DeleteUrl, output = Json)]
pub async fn delete_audit(
    action: Option<String>,
    category: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Success<DeletedData>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    audit::require_admin(&caller).map_err(ApiError::nchat)?;
    let filter = parse_filter(action, category, actor, from, to)?;
    let deleted = audit::delete(&state, &caller, &filter).await.map_err(ApiError::nchat)?;
    Ok(Success::new(DeletedData { deleted }))
}
