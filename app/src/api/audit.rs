//! `/api/audit`: read (everyone signed in: their own entries; admins: all), add (attributed to
//! the caller) and delete (admins) audit entries, in the shapes of nchat's spec and handlers. The
//! export (`/api/audit/export`, CSV or JSON) is an axum route in the server, as its body is not
//! JSON; its request types and filters live here.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::NchatError;
use super::ids::LooseId;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::audit::{self, Actor, AuditEvent, AuditFilter, SortField};

/// A stored entry, in nchat's AuditLogEntry shape.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditEntry {
    pub id: String,
    /// RFC 3339 UTC.
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
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AuditActor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `system`, `bot`, `integration` or `anonymous`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

/// nchat's handler's page counts.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditPagination {
    /// 1-based.
    pub page: i64,
    pub page_size: i64,
    pub total_count: i64,
    pub total_pages: i64,
}

/// `GET /api/audit`: the spec's AuditLogResponse (`entries`, `total`, `page`, `pageSize`) and the
/// handler's `pagination`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditList {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
    pub pagination: AuditPagination,
}

/// `DELETE /api/audit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuditDeleted {
    pub deleted_count: u64,
    /// Entries left, the record of this deletion included.
    pub remaining_count: i64,
}

/// Default and largest page sizes (the guide's).
pub const DEFAULT_LIMIT: i64 = 20;
pub const MAX_LIMIT: i64 = 100;
/// The longest `q`.
pub const QUERY_MAX_CHARS: usize = 200;

/// The query string of `GET /api/audit` and `GET /api/audit/export`: nchat's `page`, `limit`,
/// `q`, `categories` and `severities` (comma-separated), `actor`, `resource`, `from`, `to`,
/// `success`, `sort`, `order`; Hearth's `action`, `category` and `severity`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct AuditQuery {
    pub page: Option<String>,
    pub limit: Option<String>,
    pub q: Option<String>,
    pub categories: Option<String>,
    pub category: Option<String>,
    pub severities: Option<String>,
    pub severity: Option<String>,
    pub action: Option<String>,
    /// A user id (anything else matches nothing).
    pub actor: Option<String>,
    /// Hearth's entries have no resource: any value matches nothing.
    pub resource: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub success: Option<String>,
    /// `timestamp` (default), `category`, `action`, `severity` or `actor`.
    pub sort: Option<String>,
    /// `desc` (default) or `asc`.
    pub order: Option<String>,
}

#[cfg(feature = "ssr")]
fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(400, super::error::codes::VALIDATION_ERROR, message)
        .with_details(serde_json::json!({ "field": field }))
}

/// Each name must be one of `known`.
#[cfg(feature = "ssr")]
fn checked(field: &str, names: Vec<String>, known: &[&str]) -> Result<Vec<String>, ApiError> {
    for name in &names {
        if !known.contains(&name.as_str()) {
            return Err(invalid(field, &format!("{field} must be among {}; got {name:?}.", known.join(", "))));
        }
    }
    Ok(names)
}

/// A comma-separated list, without blanks.
#[cfg(feature = "ssr")]
fn comma_list(value: &Option<String>) -> Vec<String> {
    value.iter().flat_map(|v| v.split(',')).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

/// A JSON filter value that may be one string or a list of strings.
#[cfg(feature = "ssr")]
fn one_or_many(field: &str, value: &Value) -> Result<Vec<String>, ApiError> {
    let text = |v: &Value| v.as_str().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    match value {
        Value::Null => Ok(Vec::new()),
        Value::String(_) => Ok(text(value).into_iter().collect()),
        Value::Array(items) => items
            .iter()
            .map(|item| text(item).ok_or_else(|| invalid(field, &format!("{field} must hold strings."))))
            .collect(),
        _ => Err(invalid(field, &format!("{field} must be a string or a list of strings."))),
    }
}

/// A date (`2024-01-31`, an end meaning its last millisecond), RFC 3339 time or Unix ms.
#[cfg(feature = "ssr")]
fn time_of(field: &str, value: &Value, end: bool) -> Result<Option<i64>, ApiError> {
    let bad = || invalid(field, &format!("{field} must be a date (2024-01-31) or an RFC 3339 time."));
    match value {
        Value::Null => Ok(None),
        Value::String(text) if text.trim().is_empty() => Ok(None),
        Value::String(text) => crate::domain::store::parse_time(text, end).map(Some).ok_or_else(bad),
        Value::Number(n) => n.as_i64().map(Some).ok_or_else(bad),
        _ => Err(bad()),
    }
}

#[cfg(feature = "ssr")]
fn text_of(value: &Option<String>) -> Option<String> {
    value.as_ref().map(|v| v.trim().to_string()).filter(|v| !v.is_empty())
}

#[cfg(feature = "ssr")]
fn actor_of(id: &str) -> Actor {
    id.trim().parse().map(Actor::Id).unwrap_or(Actor::Unknown)
}

/// The filter a query string describes, with a clear 400 naming each bad field.
#[cfg(feature = "ssr")]
pub fn parse_filter(query: &AuditQuery) -> Result<AuditFilter, ApiError> {
    let all = [
        &query.page,
        &query.limit,
        &query.q,
        &query.categories,
        &query.category,
        &query.severities,
        &query.severity,
        &query.action,
        &query.actor,
        &query.resource,
        &query.from,
        &query.to,
        &query.success,
        &query.sort,
        &query.order,
    ];
    // Query strings bypass the JSON body checks, and PostgreSQL cannot take NUL in text.
    if all.iter().any(|v| v.as_ref().is_some_and(|v| v.contains('\0'))) {
        return Err(ApiError::new(400, super::error::codes::VALIDATION_ERROR, "Text cannot contain NUL characters."));
    }
    let mut categories = comma_list(&query.categories);
    categories.extend(comma_list(&query.category));
    let mut severities = comma_list(&query.severities);
    severities.extend(comma_list(&query.severity));
    let from = time_of("from", &text_of(&query.from).map(Value::String).unwrap_or_default(), false)?;
    let to = time_of("to", &text_of(&query.to).map(Value::String).unwrap_or_default(), true)?;
    if let (Some(from), Some(to)) = (from, to) {
        if from > to {
            return Err(invalid("from", "from must not be after to."));
        }
    }
    let success = match text_of(&query.success).as_deref() {
        None => None,
        Some("true") => Some(true),
        Some("false") => Some(false),
        Some(_) => return Err(invalid("success", "success must be true or false.")),
    };
    let text = text_of(&query.q);
    if text.as_ref().is_some_and(|q| q.chars().count() > QUERY_MAX_CHARS) {
        return Err(invalid("q", &format!("q can be at most {QUERY_MAX_CHARS} characters.")));
    }
    Ok(AuditFilter {
        categories: checked("categories", categories, &audit::FILTER_CATEGORIES)?,
        severities: checked("severities", severities, &audit::SEVERITIES)?,
        actions: text_of(&query.action).into_iter().collect(),
        actor: text_of(&query.actor).map(|a| actor_of(&a)),
        nothing: text_of(&query.resource).is_some(),
        from,
        to,
        success,
        text,
        ..AuditFilter::default()
    })
}

#[cfg(feature = "ssr")]
fn page_number(value: &Option<String>, name: &str, default: i64, max: i64) -> Result<i64, ApiError> {
    match text_of(value) {
        None => Ok(default),
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| invalid(name, &format!("{name} must be a whole number from 1 to {max}."))),
    }
}

#[cfg(feature = "ssr")]
fn sort_of(query: &AuditQuery) -> Result<(SortField, bool), ApiError> {
    let field = match text_of(&query.sort) {
        None => SortField::Timestamp,
        Some(sort) => SortField::parse(&sort)
            .ok_or_else(|| invalid("sort", "sort must be timestamp, category, action, severity or actor."))?,
    };
    let ascending = match text_of(&query.order).as_deref() {
        None | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(invalid("order", "order must be asc or desc.")),
    };
    Ok((field, ascending))
}

/// Newest first unless sorted otherwise. Members see their own entries; admins everyone's (and
/// may filter by `actor`). The query's fields are `AuditQuery`'s.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn list_audit(
    page: Option<String>,
    limit: Option<String>,
    q: Option<String>,
    categories: Option<String>,
    category: Option<String>,
    severities: Option<String>,
    severity: Option<String>,
    action: Option<String>,
    actor: Option<String>,
    resource: Option<String>,
    from: Option<String>,
    to: Option<String>,
    success: Option<String>,
    sort: Option<String>,
    order: Option<String>,
) -> Result<Success<AuditList>, NchatError> {
    let query = AuditQuery {
        page,
        limit,
        q,
        categories,
        category,
        severities,
        severity,
        action,
        actor,
        resource,
        from,
        to,
        success,
        sort,
        order,
    };
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let page = page_number(&query.page, "page", 1, 1_000_000)?;
    let limit = page_number(&query.limit, "limit", DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = parse_filter(&query)?;
    let sort = sort_of(&query)?;
    let found = audit::query(&state, &caller, filter, sort, page, limit).await.map_err(ApiError::nchat)?;
    let total_pages = (found.total + limit - 1) / limit;
    Ok(Success::new(AuditList {
        entries: found.items,
        total: found.total,
        page,
        page_size: limit,
        pagination: AuditPagination { page, page_size: limit, total_count: found.total, total_pages },
    }))
}

/// Adds an entry by the caller. `actor` in the body (an object) is not trusted: entries are
/// always the caller's. `severity` defaults to `info`, `success` to true.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn create_audit(
    category: String,
    action: String,
    severity: Option<String>,
    description: String,
    success: Option<bool>,
    metadata: Option<Value>,
    actor: Option<Value>,
) -> Result<Success<AuditEntry>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    if !matches!(actor, None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(invalid("actor", "actor must be an object.").into());
    }
    if !audit::CATEGORIES.contains(&category.as_str()) {
        return Err(invalid("category", &format!("category must be one of {}.", audit::CATEGORIES.join(", "))).into());
    }
    let severity = severity.unwrap_or_else(|| "info".into());
    if !audit::SEVERITIES.contains(&severity.as_str()) {
        return Err(invalid("severity", &format!("severity must be one of {}.", audit::SEVERITIES.join(", "))).into());
    }
    if action.trim().is_empty() || action.chars().count() > 100 {
        return Err(invalid("action", "action must be 1-100 characters.").into());
    }
    if description.trim().is_empty() || description.chars().count() > 1000 {
        return Err(invalid("description", "description must be 1-1000 characters.").into());
    }
    match &metadata {
        None | Some(Value::Null) => {}
        Some(Value::Object(_)) if metadata.as_ref().is_some_and(|m| m.to_string().len() <= 8 * 1024) => {}
        Some(Value::Object(_)) => return Err(invalid("metadata", "metadata must be at most 8 KiB of JSON.").into()),
        Some(_) => return Err(invalid("metadata", "metadata must be an object.").into()),
    }
    let mut event =
        AuditEvent::new(&category, action.trim(), description.trim()).by_caller(&caller).from_ip(client_ip());
    event.severity = severity;
    event.success = success.unwrap_or(true);
    event.metadata = metadata.filter(|m| !m.is_null());
    let entry = audit::append(&state, event).await.map_err(ApiError::nchat)?;
    Ok(Success::new(entry))
}

/// What `DELETE /api/audit` deletes: nchat's body `{ids}` (only those entries) or
/// `{olderThan, category?, severity?}`, and Hearth's query filters `action`, `category`, `actor`,
/// `from`, `to` (one of them at least).
#[cfg(feature = "ssr")]
struct AuditDeletion {
    ids: Option<Vec<LooseId>>,
    older_than: Value,
    category: Option<String>,
    severity: Value,
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
}

#[cfg(feature = "ssr")]
fn deletion_filter(request: AuditDeletion) -> Result<AuditFilter, ApiError> {
    if let Some(ids) = request.ids.filter(|ids| !ids.is_empty()) {
        if ids.len() > audit::DELETE_IDS_MAX {
            return Err(invalid("ids", &format!("ids can name at most {} entries.", audit::DELETE_IDS_MAX)));
        }
        // nchat's handler: ids alone decide.
        return Ok(AuditFilter { ids: Some(ids.iter().filter_map(LooseId::row).collect()), ..AuditFilter::default() });
    }
    let mut filter = parse_filter(&AuditQuery {
        category: request.category,
        action: request.action,
        actor: request.actor,
        from: request.from,
        to: request.to,
        ..AuditQuery::default()
    })?;
    filter.severities = checked("severity", one_or_many("severity", &request.severity)?, &audit::SEVERITIES)?;
    filter.before = time_of("olderThan", &request.older_than, false)?;
    Ok(filter)
}

/// Admins: deletes the entries named (by ids, age or filters) and says how many went and how many
/// are left. The deletion is itself recorded. nchat's client sends a JSON body with the DELETE;
/// the query string's filters are read too (see `DeleteJson`). `ids`: ids Hearth does not know
/// delete nothing; `olderThan`: a date or RFC 3339 time, entries strictly older go; `severity`:
/// one or a list.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api", endpoint = "audit", input = DeleteJson, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn delete_audit(
    ids: Option<Vec<LooseId>>,
    #[server(default)]
    #[server(rename = "olderThan")]
    older_than: Value,
    category: Option<String>,
    #[server(default)] severity: Value,
    action: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
) -> Result<Success<AuditDeleted>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    audit::require_admin(&caller).map_err(ApiError::nchat)?;
    let request = AuditDeletion { ids, older_than, category, severity, action, actor, from, to };
    let filter = deletion_filter(request)?;
    let done = audit::delete(&state, &caller, &filter).await.map_err(ApiError::nchat)?;
    Ok(Success::new(AuditDeleted { deleted_count: done.deleted, remaining_count: done.remaining }))
}

/// `POST /api/audit/export`'s body: nchat's ExportRequest.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExportRequest {
    /// `csv` or `json`.
    pub format: Option<String>,
    pub filters: Option<ExportFilters>,
    pub date_range: Option<DateRange>,
    /// JSON only: keep each entry's `metadata` (default true).
    pub include_metadata: Option<bool>,
    /// Add a few lines of `summary` (in the JSON answer).
    pub include_summary: Option<bool>,
}

/// nchat's AuditLogFilters. Lists may also be one string.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ExportFilters {
    #[serde(default)]
    pub category: Value,
    #[serde(default)]
    pub action: Value,
    #[serde(default)]
    pub severity: Value,
    pub actor_id: Option<LooseId>,
    pub actor_type: Option<String>,
    /// Hearth's entries have no resource: either matches nothing.
    pub resource_type: Option<String>,
    pub resource_id: Option<LooseId>,
    #[serde(default)]
    pub start_date: Value,
    #[serde(default)]
    pub end_date: Value,
    pub success: Option<bool>,
    pub search_query: Option<String>,
    pub ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct DateRange {
    #[serde(default)]
    pub start: Value,
    #[serde(default)]
    pub end: Value,
}

/// The export formats.
pub const EXPORT_FORMATS: [&str; 2] = ["csv", "json"];

/// A format named by a client, checked.
#[cfg(feature = "ssr")]
pub fn export_format(format: Option<&str>) -> Result<&'static str, ApiError> {
    let given = format.map(|f| f.trim().to_ascii_lowercase()).unwrap_or_default();
    EXPORT_FORMATS
        .into_iter()
        .find(|known| *known == given)
        .ok_or_else(|| invalid("format", "Invalid export format: format must be one of csv, json."))
}

/// The filter an export body describes.
#[cfg(feature = "ssr")]
pub fn export_filter(request: &ExportRequest) -> Result<AuditFilter, ApiError> {
    let mut filter = AuditFilter::default();
    if let Some(given) = &request.filters {
        let category = one_or_many("filters.category", &given.category)?;
        filter.categories = checked("filters.category", category, &audit::FILTER_CATEGORIES)?;
        filter.actions = one_or_many("filters.action", &given.action)?;
        filter.severities =
            checked("filters.severity", one_or_many("filters.severity", &given.severity)?, &audit::SEVERITIES)?;
        filter.actor = given.actor_id.as_ref().map(|id| actor_of(&id.0));
        filter.actor_type = text_of(&given.actor_type);
        filter.nothing = text_of(&given.resource_type).is_some() || given.resource_id.is_some();
        filter.from = time_of("filters.startDate", &given.start_date, false)?;
        filter.to = time_of("filters.endDate", &given.end_date, true)?;
        filter.success = given.success;
        filter.text = text_of(&given.search_query);
        filter.ip = text_of(&given.ip_address);
        let texts = [&filter.text, &filter.ip, &filter.actor_type];
        if texts.iter().any(|t| t.as_ref().is_some_and(|t| t.chars().count() > QUERY_MAX_CHARS))
            || filter.actions.iter().any(|a| a.chars().count() > QUERY_MAX_CHARS)
        {
            return Err(invalid("filters", &format!("Filter texts can be at most {QUERY_MAX_CHARS} characters.")));
        }
    }
    if let Some(range) = &request.date_range {
        // Both ends hold: the range narrows the filters' dates, never widens them.
        let start = time_of("dateRange.start", &range.start, false)?;
        let end = time_of("dateRange.end", &range.end, true)?;
        filter.from = filter.from.max(start);
        filter.to = match (filter.to, end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    if let (Some(from), Some(to)) = (filter.from, filter.to) {
        if from > to {
            return Err(invalid("dateRange", "The start must not be after the end."));
        }
    }
    Ok(filter)
}

pub use delete_json::DeleteJson;

/// `DELETE` with a JSON body, as nchat's client sends `DELETE /api/audit`; the query string's
/// parameters are read too (Hearth's filters), and a name given in both is refused.
mod delete_json {
    use futures::StreamExt;
    use leptos::server_fn::codec::{Encoding, FromReq, IntoReq};
    use leptos::server_fn::error::{FromServerFnError, IntoAppError, ServerFnErrorErr};
    use leptos::server_fn::request::{ClientReq, Req};
    use leptos::server_fn::ContentType;
    use serde_json::{Map, Value};

    use super::DeleteAudit;

    /// The largest body read; a deletion names at most a thousand ids.
    const BODY_MAX_BYTES: usize = 64 * 1024;

    pub struct DeleteJson;

    impl ContentType for DeleteJson {
        const CONTENT_TYPE: &'static str = "application/json";
    }

    impl Encoding for DeleteJson {
        const METHOD: http::Method = http::Method::DELETE;
    }

    fn has_nul(value: &Value) -> bool {
        match value {
            Value::String(text) => text.contains('\0'),
            Value::Array(items) => items.iter().any(has_nul),
            Value::Object(fields) => fields.iter().any(|(key, value)| key.contains('\0') || has_nul(value)),
            _ => false,
        }
    }

    fn refused<E: FromServerFnError>(why: impl Into<String>) -> E {
        ServerFnErrorErr::Args(why.into()).into_app_error()
    }

    impl<E, Request> IntoReq<DeleteJson, Request, E> for DeleteAudit
    where
        Request: ClientReq<E>,
        E: FromServerFnError,
    {
        fn into_req(self, path: &str, accepts: &str) -> Result<Request, E> {
            let body = serde_json::to_string(&self)
                .map_err(|e| ServerFnErrorErr::Serialization(e.to_string()).into_app_error())?;
            Request::try_new_req_text(path, DeleteJson::CONTENT_TYPE, accepts, body, http::Method::DELETE)
        }
    }

    impl<E, Request> FromReq<DeleteJson, Request, E> for DeleteAudit
    where
        Request: Req<E> + Send + 'static,
        E: FromServerFnError,
    {
        async fn from_req(req: Request) -> Result<Self, E> {
            let query: Vec<(String, String)> = serde_urlencoded::from_str(req.as_query().unwrap_or_default())
                .map_err(|_| refused::<E>("Invalid query string."))?;
            let mut fields = Map::new();
            let mut stream = std::pin::pin!(req.try_into_stream()?);
            let mut body = Vec::new();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(|_| refused::<E>("The request body did not arrive completely."))?;
                body.extend_from_slice(&chunk);
                if body.len() > BODY_MAX_BYTES {
                    return Err(refused(format!("The body can be at most {BODY_MAX_BYTES} bytes.")));
                }
            }
            if !body.iter().all(u8::is_ascii_whitespace) {
                match serde_json::from_slice::<Value>(&body) {
                    Ok(Value::Object(given)) => fields = given,
                    _ => return Err(refused("Request body must be a JSON object.")),
                }
            }
            // PostgreSQL cannot store NUL in text (POST bodies are checked by the envelope layer).
            if has_nul(&Value::Object(fields.clone())) {
                return Err(refused("Text cannot contain NUL characters."));
            }
            for (name, value) in query {
                if value.contains('\0') {
                    return Err(refused("Text cannot contain NUL characters."));
                }
                if fields.insert(name.clone(), Value::String(value)).is_some() {
                    return Err(refused(format!("{name} is given both in the query string and in the body.")));
                }
            }
            serde_json::from_value(Value::Object(fields)).map_err(|e| refused(e.to_string()))
        }
    }
}
