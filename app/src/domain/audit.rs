//! The audit log: security events Hearth records itself (sign-ins, passwords, roles, members,
//! configuration, webhooks) and entries signed-in clients add; queried, exported and pruned.

use serde_json::Value;

pub use crate::api::audit::{AuditActor, AuditEntry};

use super::sessions::Caller;
use super::store::{now_ms, rfc3339};
use super::{AppState, DomainError, DomainResult};

/// nchat's categories and severities; anything else is refused on the wire.
pub const CATEGORIES: [&str; 7] = ["auth", "config", "message", "channel", "user", "file", "admin"];
pub const SEVERITIES: [&str; 5] = ["debug", "info", "warning", "error", "critical"];

/// Most rows one export carries; narrow the filter for more.
pub const EXPORT_MAX_ROWS: i64 = 10_000;

/// One event to write down.
#[derive(Debug, Clone)]
pub struct AuditEvent {
    pub category: String,
    pub action: String,
    pub severity: String,
    pub actor_id: Option<i64>,
    /// `user`, `system`, `bot`, `integration` or `anonymous`.
    pub actor_type: String,
    pub actor_username: Option<String>,
    pub description: String,
    pub success: bool,
    pub ip: Option<String>,
    pub metadata: Option<Value>,
}

impl AuditEvent {
    /// An event by nobody in particular (the system); name the actor with `by`.
    pub fn new(category: &str, action: &str, description: impl Into<String>) -> Self {
        AuditEvent {
            category: category.into(),
            action: action.into(),
            severity: "info".into(),
            actor_id: None,
            actor_type: "system".into(),
            actor_username: None,
            description: description.into(),
            success: true,
            ip: None,
            metadata: None,
        }
    }

    pub fn by(mut self, user_id: i64, username: &str) -> Self {
        self.actor_id = Some(user_id);
        self.actor_type = "user".into();
        self.actor_username = Some(username.into());
        self
    }

    /// Someone not signed in (e.g. a sign-in with an unknown name).
    pub fn anonymous(mut self) -> Self {
        self.actor_type = "anonymous".into();
        self
    }

    pub fn by_caller(self, caller: &Caller) -> Self {
        self.by(caller.user_id, &caller.username)
    }

    /// A refused attempt (e.g. a wrong password): severity warning.
    pub fn failed(mut self) -> Self {
        self.success = false;
        self.severity = "warning".into();
        self
    }

    pub fn from_ip(mut self, ip: Option<std::net::IpAddr>) -> Self {
        self.ip = ip.map(|ip| ip.to_string());
        self
    }

    pub fn with(mut self, metadata: Value) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// A message posted through webhook `webhook_id` into `chat_id` (for the webhook routes).
    pub fn webhook_used(webhook_id: i64, chat_id: i64, ip: Option<std::net::IpAddr>) -> Self {
        let mut event = AuditEvent::new("channel", "webhook.used", format!("Webhook {webhook_id} posted a message."))
            .from_ip(ip)
            .with(serde_json::json!({ "webhookId": webhook_id.to_string(), "chatId": chat_id.to_string() }));
        event.actor_type = "integration".into();
        event
    }
}

/// Which entries a query, export or deletion covers. Times are Unix ms, both ends included.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub action: Option<String>,
    pub category: Option<String>,
    pub actor_id: Option<i64>,
    pub from: Option<i64>,
    pub to: Option<i64>,
}

impl AuditFilter {
    pub fn is_empty(&self) -> bool {
        self.action.is_none()
            && self.category.is_none()
            && self.actor_id.is_none()
            && self.from.is_none()
            && self.to.is_none()
    }

    /// ` WHERE …` and its values, numbered from `$1`.
    fn clause(&self) -> (String, Vec<Bind>) {
        let mut conditions = Vec::new();
        let mut binds = Vec::new();
        let mut add = |condition: &str, bind: Bind| {
            binds.push(bind);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(action) = &self.action {
            add("action = ?", Bind::Text(action.clone()));
        }
        if let Some(category) = &self.category {
            add("category = ?", Bind::Text(category.clone()));
        }
        if let Some(actor) = self.actor_id {
            add("actor_id = ?", Bind::Int(actor));
        }
        if let Some(from) = self.from {
            add("created_at >= ?", Bind::Int(from));
        }
        if let Some(to) = self.to {
            add("created_at <= ?", Bind::Int(to));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, binds)
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;
type QueryAs<'q, T> = sqlx::query::QueryAs<'q, sqlx::Any, T, sqlx::any::AnyArguments<'q>>;

fn bind_all<'q>(mut query: Query<'q>, binds: Vec<Bind>) -> Query<'q> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    query
}

fn bind_all_as<'q, T>(mut query: QueryAs<'q, T>, binds: Vec<Bind>) -> QueryAs<'q, T> {
    for bind in binds {
        query = match bind {
            Bind::Text(text) => query.bind(text),
            Bind::Int(int) => query.bind(int),
        };
    }
    query
}

/// Writes `event` down. Best effort: a failure is logged, never passed to the action it audits.
pub async fn record(state: &AppState, event: AuditEvent) {
    if let Err(error) = append(state, event).await {
        tracing::error!(%error, "could not write an audit entry");
    }
}

/// Writes `event` down and returns the stored entry.
pub async fn append(state: &AppState, event: AuditEvent) -> DomainResult<AuditEntry> {
    let created_at = now_ms();
    let metadata = event.metadata.as_ref().map(Value::to_string);
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO audit_log (created_at, category, action, severity, actor_id, actor_type, actor_username, \
         description, success, ip, metadata) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(created_at)
    .bind(&event.category)
    .bind(&event.action)
    .bind(&event.severity)
    .bind(event.actor_id)
    .bind(&event.actor_type)
    .bind(&event.actor_username)
    .bind(&event.description)
    .bind(i64::from(event.success))
    .bind(&event.ip)
    .bind(metadata)
    .fetch_one(state.store.pool())
    .await?;
    Ok(entry_from(Row {
        id,
        created_at,
        category: event.category,
        action: event.action,
        severity: event.severity,
        actor_id: event.actor_id,
        actor_type: event.actor_type,
        actor_username: event.actor_username,
        description: event.description,
        success: i64::from(event.success),
        ip: event.ip,
        metadata: event.metadata.map(|m| m.to_string()),
    }))
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    created_at: i64,
    category: String,
    action: String,
    severity: String,
    actor_id: Option<i64>,
    actor_type: String,
    actor_username: Option<String>,
    description: String,
    success: i64,
    ip: Option<String>,
    metadata: Option<String>,
}

const COLUMNS: &str = "id, created_at, category, action, severity, actor_id, actor_type, actor_username, \
                       description, success, ip, metadata";

fn entry_from(row: Row) -> AuditEntry {
    AuditEntry {
        id: row.id.to_string(),
        timestamp: rfc3339(row.created_at),
        category: row.category,
        action: row.action,
        severity: row.severity,
        actor: AuditActor {
            id: row.actor_id.map(|id| id.to_string()),
            kind: row.actor_type,
            username: row.actor_username,
        },
        description: row.description,
        success: row.success != 0,
        ip_address: row.ip,
        metadata: row.metadata.and_then(|m| serde_json::from_str(&m).ok()),
    }
}

pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    pub total: i64,
}

/// Entries newest first. Members see only their own: the filter's actor is forced to them.
pub async fn query(
    state: &AppState,
    caller: &Caller,
    mut filter: AuditFilter,
    page: i64,
    limit: i64,
) -> DomainResult<AuditPage> {
    if !is_admin(caller) {
        if filter.actor_id.is_some_and(|actor| actor != caller.user_id) {
            return Err(DomainError::Forbidden("Only admins can read other people's audit entries.".into()));
        }
        filter.actor_id = Some(caller.user_id);
    }
    let (clause, binds) = filter.clause();
    let (total,): (i64,) = bind_all_as(sqlx::query_as(&format!("SELECT COUNT(*) FROM audit_log{clause}")), binds)
        .fetch_one(state.store.pool())
        .await?;
    let (clause, binds) = filter.clause();
    let offset = (page - 1).saturating_mul(limit);
    let sql = format!(
        "SELECT {COLUMNS} FROM audit_log{clause} ORDER BY created_at DESC, id DESC LIMIT {limit} OFFSET {offset}"
    );
    let rows: Vec<Row> = bind_all_as(sqlx::query_as(&sql), binds).fetch_all(state.store.pool()).await?;
    Ok(AuditPage { items: rows.into_iter().map(entry_from).collect(), total })
}

/// Every entry the filter covers (up to `EXPORT_MAX_ROWS`), oldest first. Admins only.
pub async fn export(state: &AppState, caller: &Caller, filter: &AuditFilter) -> DomainResult<Vec<AuditEntry>> {
    require_admin(caller)?;
    let (clause, binds) = filter.clause();
    let sql = format!("SELECT {COLUMNS} FROM audit_log{clause} ORDER BY created_at, id LIMIT {EXPORT_MAX_ROWS}");
    let rows: Vec<Row> = bind_all_as(sqlx::query_as(&sql), binds).fetch_all(state.store.pool()).await?;
    record(
        state,
        AuditEvent::new("admin", "audit.exported", format!("Exported {} audit entries.", rows.len())).by_caller(caller),
    )
    .await;
    Ok(rows.into_iter().map(entry_from).collect())
}

/// Deletes what the filter covers (which must say something) and returns how many went. The
/// deletion itself is recorded afterwards, so it is never silent.
pub async fn delete(state: &AppState, caller: &Caller, filter: &AuditFilter) -> DomainResult<u64> {
    require_admin(caller)?;
    if filter.is_empty() {
        return Err(DomainError::BadRequest(
            "Name what to delete: action, category, actor, from or to (all entries: a date range).".into(),
        ));
    }
    let (clause, binds) = filter.clause();
    let deleted = bind_all(sqlx::query(&format!("DELETE FROM audit_log{clause}")), binds)
        .execute(state.store.pool())
        .await?
        .rows_affected();
    record(
        state,
        AuditEvent::new("admin", "audit.deleted", format!("Deleted {deleted} audit entries."))
            .by_caller(caller)
            .with(serde_json::json!({ "count": deleted })),
    )
    .await;
    Ok(deleted)
}

pub fn is_admin(caller: &Caller) -> bool {
    caller.role.at_least(super::names::Role::Admin)
}

pub fn require_admin(caller: &Caller) -> DomainResult<()> {
    if is_admin(caller) {
        Ok(())
    } else {
        Err(DomainError::Forbidden("Admins only.".into()))
    }
}

/// Entries as CSV (RFC 4180: fields quoted when they hold a comma, quote or line break).
pub fn to_csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("id,timestamp,category,action,severity,actor_id,actor_type,actor_username,description,success,ip_address,metadata\r\n");
    for entry in entries {
        let metadata = entry.metadata.as_ref().map(Value::to_string).unwrap_or_default();
        let fields = [
            entry.id.as_str(),
            &entry.timestamp,
            &entry.category,
            &entry.action,
            &entry.severity,
            entry.actor.id.as_deref().unwrap_or_default(),
            &entry.actor.kind,
            entry.actor.username.as_deref().unwrap_or_default(),
            &entry.description,
            if entry.success { "true" } else { "false" },
            entry.ip_address.as_deref().unwrap_or_default(),
            &metadata,
        ];
        let line: Vec<String> = fields.iter().map(|field| csv_field(field)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

fn csv_field(field: &str) -> String {
    // A leading =, +, - or @ would run as a formula in a spreadsheet: quote it inert.
    let formula = field.starts_with(['=', '+', '-', '@']);
    if formula || field.contains([',', '"', '\n', '\r']) {
        let inert = if formula { format!("'{field}") } else { field.to_string() };
        format!("\"{}\"", inert.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\"\nthere"), "\"say \"\"hi\"\"\nthere\"");
        assert_eq!(csv_field("=SUM(A1)"), "\"'=SUM(A1)\"");
    }
}
