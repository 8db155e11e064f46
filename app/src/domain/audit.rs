//! The audit log: security events Hearth records itself (sign-ins, passwords, roles, members,
//! configuration, webhooks) and entries signed-in clients add; queried, exported and pruned.

use serde_json::Value;

pub use crate::api::audit::{AuditActor, AuditEntry};

use super::sessions::Caller;
use super::store::{arguments, now_ms, rfc3339, Bind};
use super::{AppState, DomainError, DomainResult};

/// nchat's spec's categories and severities: what an entry may have; anything else is refused.
pub const CATEGORIES: [&str; 7] = ["auth", "config", "message", "channel", "user", "file", "admin"];
pub const SEVERITIES: [&str; 5] = ["debug", "info", "warning", "error", "critical"];
/// Categories a filter may name: the spec's and those of nchat's own client, which Hearth never
/// records (so they match nothing, rather than being an error).
pub const FILTER_CATEGORIES: [&str; 11] = [
    "auth",
    "config",
    "message",
    "channel",
    "user",
    "file",
    "admin",
    "attachment",
    "moderation",
    "security",
    "integration",
];

/// Most rows one export carries; narrow the filter for more.
pub const EXPORT_MAX_ROWS: i64 = 10_000;
/// Most ids one deletion may name.
pub const DELETE_IDS_MAX: usize = 1_000;

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

/// Whose entries a filter asks for: a user id, or a name that is none (it matches nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    Id(i64),
    Unknown,
}

/// Which entries a query, export or deletion covers; every condition given must hold. Times are
/// Unix ms.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only these entries (an empty list: none).
    pub ids: Option<Vec<i64>>,
    pub actions: Vec<String>,
    pub categories: Vec<String>,
    pub severities: Vec<String>,
    pub actor: Option<Actor>,
    /// `user`, `system`, `bot`, `integration` or `anonymous`.
    pub actor_type: Option<String>,
    /// Inclusive bounds.
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Strictly older than this (nchat's `olderThan`).
    pub before: Option<i64>,
    pub success: Option<bool>,
    /// Text found (any case) in the description, action, category or actor (name or id).
    pub text: Option<String>,
    /// Part of the address the entry came from.
    pub ip: Option<String>,
    /// A condition no entry can meet (e.g. a resource filter: Hearth's entries have none).
    pub nothing: bool,
}

impl AuditFilter {
    /// True when it covers every entry.
    pub fn is_empty(&self) -> bool {
        self.ids.is_none()
            && self.actions.is_empty()
            && self.categories.is_empty()
            && self.severities.is_empty()
            && self.actor.is_none()
            && self.actor_type.is_none()
            && self.from.is_none()
            && self.to.is_none()
            && self.before.is_none()
            && self.success.is_none()
            && self.text.is_none()
            && self.ip.is_none()
            && !self.nothing
    }

    /// ` WHERE …` and its values, numbered from `$1`.
    fn clause(&self) -> (String, Vec<Bind>) {
        let mut conditions: Vec<String> = Vec::new();
        let mut binds = Vec::new();
        let mut bind = |value: Bind| {
            binds.push(value);
            format!("${}", binds.len())
        };
        let one_of = |column: &str, values: Vec<Bind>, bind: &mut dyn FnMut(Bind) -> String| {
            if values.is_empty() {
                "1 = 0".to_string()
            } else {
                let list: Vec<String> = values.into_iter().map(&mut *bind).collect();
                format!("{column} IN ({})", list.join(", "))
            }
        };
        if self.nothing || self.actor == Some(Actor::Unknown) {
            conditions.push("1 = 0".into());
        }
        if let Some(ids) = &self.ids {
            conditions.push(one_of("id", ids.iter().map(|id| Bind::Int(*id)).collect(), &mut bind));
        }
        for (column, values) in
            [("action", &self.actions), ("category", &self.categories), ("severity", &self.severities)]
        {
            if !values.is_empty() {
                conditions.push(one_of(column, values.iter().map(|v| Bind::Text(v.clone())).collect(), &mut bind));
            }
        }
        if let Some(Actor::Id(actor)) = self.actor {
            conditions.push(format!("actor_id = {}", bind(Bind::Int(actor))));
        }
        if let Some(kind) = &self.actor_type {
            conditions.push(format!("actor_type = {}", bind(Bind::Text(kind.clone()))));
        }
        if let Some(from) = self.from {
            conditions.push(format!("created_at >= {}", bind(Bind::Int(from))));
        }
        if let Some(to) = self.to {
            conditions.push(format!("created_at <= {}", bind(Bind::Int(to))));
        }
        if let Some(before) = self.before {
            conditions.push(format!("created_at < {}", bind(Bind::Int(before))));
        }
        if let Some(success) = self.success {
            conditions.push(format!("success = {}", bind(Bind::Int(i64::from(success)))));
        }
        if let Some(text) = &self.text {
            let escaped = text.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            let pattern = bind(Bind::Text(format!("%{escaped}%")));
            let searched = [
                "description",
                "action",
                "category",
                "COALESCE(actor_username, '')",
                "COALESCE(CAST(actor_id AS TEXT), '')",
            ];
            let any: Vec<String> =
                searched.iter().map(|column| format!("LOWER({column}) LIKE {pattern} ESCAPE '\\'")).collect();
            conditions.push(format!("({})", any.join(" OR ")));
        }
        if let Some(ip) = &self.ip {
            let escaped = ip.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            conditions.push(format!("ip LIKE {} ESCAPE '\\'", bind(Bind::Text(format!("%{escaped}%")))));
        }
        let clause = if conditions.is_empty() { String::new() } else { format!(" WHERE {}", conditions.join(" AND ")) };
        (clause, binds)
    }
}

/// What a list is ordered by (nchat's `sort`), newest first unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortField {
    #[default]
    Timestamp,
    Category,
    Action,
    Severity,
    Actor,
}

impl SortField {
    pub fn parse(raw: &str) -> Option<SortField> {
        match raw.trim() {
            "timestamp" | "createdAt" => Some(SortField::Timestamp),
            "category" => Some(SortField::Category),
            "action" => Some(SortField::Action),
            "severity" => Some(SortField::Severity),
            "actor" => Some(SortField::Actor),
            _ => None,
        }
    }

    fn order_by(self, ascending: bool) -> String {
        let direction = if ascending { "ASC" } else { "DESC" };
        let column = match self {
            SortField::Timestamp => "created_at",
            SortField::Category => "category",
            SortField::Action => "action",
            SortField::Severity => {
                "CASE severity WHEN 'debug' THEN 0 WHEN 'info' THEN 1 WHEN 'warning' THEN 2 \
                 WHEN 'error' THEN 3 ELSE 4 END"
            }
            SortField::Actor => "COALESCE(actor_username, CAST(actor_id AS TEXT), '')",
        };
        // The newest first among equals, whatever the order.
        format!("{column} {direction}, created_at DESC, id DESC")
    }
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
    let id: i64 = sqlx::query_scalar(
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

/// One page of entries, newest first unless `sort` says otherwise. Members see only their own:
/// the filter's actor is forced to them (asking for someone else's is refused).
pub async fn query(
    state: &AppState,
    caller: &Caller,
    mut filter: AuditFilter,
    sort: (SortField, bool),
    page: i64,
    limit: i64,
) -> DomainResult<AuditPage> {
    if !is_admin(caller) {
        if filter.actor.is_some_and(|actor| actor != Actor::Id(caller.user_id)) {
            return Err(DomainError::Forbidden("Only admins can read other people's audit entries.".into()));
        }
        filter.actor = Some(Actor::Id(caller.user_id));
    }
    let (clause, binds) = filter.clause();
    let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) FROM audit_log{clause}"), arguments(binds)?)
        .fetch_one(state.store.pool())
        .await?;
    let (clause, binds) = filter.clause();
    let offset = (page - 1).saturating_mul(limit);
    let order = sort.0.order_by(sort.1);
    let sql = format!("SELECT {COLUMNS} FROM audit_log{clause} ORDER BY {order} LIMIT {limit} OFFSET {offset}");
    let rows: Vec<Row> = sqlx::query_as_with(&sql, arguments(binds)?).fetch_all(state.store.pool()).await?;
    Ok(AuditPage { items: rows.into_iter().map(entry_from).collect(), total })
}

/// Every entry the filter covers (up to `EXPORT_MAX_ROWS`), oldest first. Admins only.
pub async fn export(state: &AppState, caller: &Caller, filter: &AuditFilter) -> DomainResult<Vec<AuditEntry>> {
    require_admin(caller)?;
    let (clause, binds) = filter.clause();
    let sql = format!("SELECT {COLUMNS} FROM audit_log{clause} ORDER BY created_at, id LIMIT {EXPORT_MAX_ROWS}");
    let rows: Vec<Row> = sqlx::query_as_with(&sql, arguments(binds)?).fetch_all(state.store.pool()).await?;
    record(
        state,
        AuditEvent::new("admin", "audit.exported", format!("Exported {} audit entries.", rows.len())).by_caller(caller),
    )
    .await;
    Ok(rows.into_iter().map(entry_from).collect())
}

/// How a deletion went: nchat's `deletedCount` and `remainingCount`.
#[derive(Debug, Clone, Copy)]
pub struct Deleted {
    pub deleted: u64,
    /// Entries left, the record of this deletion included.
    pub remaining: i64,
}

/// Deletes what the filter covers (which must say something) and says how many went. The
/// deletion itself is recorded afterwards, so it is never silent.
pub async fn delete(state: &AppState, caller: &Caller, filter: &AuditFilter) -> DomainResult<Deleted> {
    require_admin(caller)?;
    if filter.is_empty() {
        return Err(DomainError::BadRequest(
            "Missing delete criteria: give ids or olderThan (or action, category, actor, from or to).".into(),
        ));
    }
    let (clause, binds) = filter.clause();
    let deleted = sqlx::query_with(&format!("DELETE FROM audit_log{clause}"), arguments(binds)?)
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
    let remaining: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_log").fetch_one(state.store.pool()).await?;
    Ok(Deleted { deleted, remaining })
}

/// A few lines about exported entries: how many, their span, and counts by category and severity.
pub fn summary(entries: &[AuditEntry]) -> String {
    let mut out = format!("{} audit entries", entries.len());
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        out.push_str(&format!(" from {} to {}", first.timestamp, last.timestamp));
    }
    out.push('.');
    let counts = |key: fn(&AuditEntry) -> &str| {
        let mut counted: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
        for entry in entries {
            *counted.entry(key(entry)).or_default() += 1;
        }
        counted.iter().map(|(name, n)| format!("{name} {n}")).collect::<Vec<_>>().join(", ")
    };
    if !entries.is_empty() {
        out.push_str(&format!("\nBy category: {}.", counts(|e| &e.category)));
        out.push_str(&format!("\nBy severity: {}.", counts(|e| &e.severity)));
        let failed = entries.iter().filter(|e| !e.success).count();
        out.push_str(&format!("\nFailed: {failed}."));
    }
    out
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
