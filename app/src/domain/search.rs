//! Search over what the caller may see: messages of their chats (SQLite FTS5 or PostgreSQL full
//! text), people by username, and their chats by name. User input is never FTS syntax.

use super::names::username_key;
use super::sessions::Caller;
use super::store::{parse_time, Backend};
use super::{AppState, DomainError, DomainResult};

pub const QUERY_MAX_CHARS: usize = 200;
pub const LIMIT_DEFAULT: i64 = 20;
pub const LIMIT_MAX: i64 = 100;
pub const CHAT_FILTER_MAX: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Messages,
    Users,
    Chats,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Messages => "messages",
            Kind::Users => "users",
            Kind::Chats => "chats",
        }
    }

    pub fn parse(raw: &str) -> DomainResult<Kind> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "messages" | "message" => Ok(Kind::Messages),
            "users" | "user" => Ok(Kind::Users),
            "chats" | "chat" | "channels" | "channel" => Ok(Kind::Chats),
            _ => Err(DomainError::invalid("types", "types may contain messages, users and chats.")),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// Empty: every kind.
    pub kinds: Vec<Kind>,
    pub chat_ids: Vec<i64>,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    /// Newest first instead of best match first.
    pub by_date: bool,
    pub ascending: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct MessageHit {
    pub id: i64,
    pub chat_id: i64,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub created_at: i64,
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct UserHit {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ChatHit {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Default)]
pub struct Found {
    pub kinds: Vec<Kind>,
    pub messages: Vec<MessageHit>,
    pub users: Vec<UserHit>,
    pub chats: Vec<ChatHit>,
    pub message_total: i64,
    pub user_total: i64,
    pub chat_total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// An FTS5 query matching every term of `text` literally: each whitespace-separated term is a
/// quoted string (inner quotes doubled), so `*`, `:`, `-`, `NEAR`, brackets are just text.
pub fn fts5_query(text: &str) -> String {
    text.split_whitespace().map(|term| format!("\"{}\"", term.replace('"', "\"\""))).collect::<Vec<_>>().join(" ")
}

/// A LIKE pattern for `text` anywhere, with `\` escaping LIKE's own wildcards.
fn like_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

fn parse(query: &Query) -> DomainResult<(String, i64, i64)> {
    let text = query.text.trim().to_string();
    if text.is_empty() {
        return Err(DomainError::invalid("query", "Give something to search for."));
    }
    // Query strings bypass the JSON body checks, and PostgreSQL cannot take NUL in text.
    if text.contains('\0') {
        return Err(DomainError::invalid("query", "A search cannot contain NUL characters."));
    }
    if text.chars().count() > QUERY_MAX_CHARS {
        return Err(DomainError::invalid("query", format!("A search can be at most {QUERY_MAX_CHARS} characters.")));
    }
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(DomainError::invalid("limit", format!("limit must be between 1 and {LIMIT_MAX}.")));
    }
    let offset = query.offset.unwrap_or(0);
    if !(0..=100_000).contains(&offset) {
        return Err(DomainError::invalid("offset", "offset must be between 0 and 100000."));
    }
    if query.chat_ids.len() > CHAT_FILTER_MAX {
        return Err(DomainError::invalid(
            "channelIds",
            format!("At most {CHAT_FILTER_MAX} chats can be searched at once."),
        ));
    }
    Ok((text, limit, offset))
}

pub async fn search(state: &AppState, caller: &Caller, query: &Query) -> DomainResult<Found> {
    let (text, limit, offset) = parse(query)?;
    let kinds =
        if query.kinds.is_empty() { vec![Kind::Messages, Kind::Users, Kind::Chats] } else { query.kinds.clone() };
    let mut found = Found { kinds: kinds.clone(), limit, offset, ..Found::default() };
    if kinds.contains(&Kind::Messages) {
        (found.messages, found.message_total) = messages(state, caller, query, &text, limit, offset).await?;
    }
    if kinds.contains(&Kind::Users) {
        (found.users, found.user_total) = users(state, &text, limit, offset).await?;
    }
    if kinds.contains(&Kind::Chats) {
        (found.chats, found.chat_total) = chats(state, caller, &text, limit, offset).await?;
    }
    Ok(found)
}

type HitRow = (i64, i64, i64, String, String, i64, f64, i64);

/// A search reaches this many matching messages (after the chat and date filters): the newest
/// ones, or the oldest when sorted by date ascending. They are ranked or paged among themselves,
/// and the total counts them. Ranking or counting every match of a common word costs a scan of
/// most of the table (close to a second over a million messages); the newest matches are what a
/// chat's users look for, and more words, a chat or dates reach older ones.
pub const WINDOW: i64 = 1_000;

/// Messages of the caller's chats that match every term, not deleted.
async fn messages(
    state: &AppState,
    caller: &Caller,
    query: &Query,
    text: &str,
    limit: i64,
    offset: i64,
) -> DomainResult<(Vec<MessageHit>, i64)> {
    // $1 caller, $2 the match, then the optional filters, numbered as they come.
    let mut filters = String::new();
    let mut next = 3;
    for _ in &query.chat_ids {
        filters.push_str(if filters.is_empty() { " AND m.chat_id IN (" } else { ", " });
        filters.push_str(&format!("${next}"));
        next += 1;
    }
    if !query.chat_ids.is_empty() {
        filters.push(')');
    }
    if query.date_from.is_some() {
        filters.push_str(&format!(" AND m.created_at >= ${next}"));
        next += 1;
    }
    if query.date_to.is_some() {
        filters.push_str(&format!(" AND m.created_at <= ${next}"));
        next += 1;
    }
    // `id` is the order messages were stored in, so "by date" walks the index in id order, which
    // both full-text indexes can do without sorting every match.
    let (from, matches, id, score, term) = match state.store.backend() {
        // bm25 is lower for better matches; negated so both backends rank higher = better. It
        // can only be computed inside the FTS5 query, for the window's rows.
        Backend::Sqlite => (
            "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
            "messages_fts MATCH $2",
            "messages_fts.rowid",
            "-bm25(messages_fts)",
            fts5_query(text),
        ),
        Backend::Postgres => (
            "messages m",
            "m.body_tsv @@ plainto_tsquery('simple', $2)",
            "m.id",
            "CAST(ts_rank(m.body_tsv, plainto_tsquery('simple', $2)) AS DOUBLE PRECISION)",
            text.to_string(),
        ),
    };
    if term.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let scope = format!(
        "FROM {from} JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1 \
         WHERE {matches} AND m.deleted_at IS NULL{filters}"
    );
    let (page, total) = (format!("${next}"), format!("${}", next + 1));
    // By date: no score to compute, and the window is at the end the client reads from.
    let (score, window_order, order) = match (query.by_date, query.ascending) {
        (false, _) => (score, "DESC", "w.score DESC, w.id DESC"),
        (true, false) => ("CAST(0 AS DOUBLE PRECISION)", "DESC", "w.id DESC"),
        (true, true) => ("CAST(0 AS DOUBLE PRECISION)", "ASC", "w.id ASC"),
    };
    let sql = format!(
        "WITH window_rows AS (SELECT m.id, m.chat_id, m.user_id, m.body, m.created_at, {score} AS score \
         {scope} ORDER BY {id} {window_order} LIMIT {WINDOW}) \
         SELECT w.id, w.chat_id, w.user_id, u.username, w.body, w.created_at, w.score, \
         (SELECT COUNT(*) FROM window_rows) AS total \
         FROM window_rows w JOIN users u ON u.id = w.user_id \
         ORDER BY {order} LIMIT {page} OFFSET {total}"
    );
    let mut select = sqlx::query_as::<_, HitRow>(&sql).bind(caller.user_id).bind(&term);
    for chat_id in &query.chat_ids {
        select = select.bind(*chat_id);
    }
    for bound in [query.date_from, query.date_to].into_iter().flatten() {
        select = select.bind(bound);
    }
    // Planned with this query's words: a generic plan cannot tell a rare word from a common one.
    let rows = select.bind(limit).bind(offset).persistent(false).fetch_all(state.store.pool()).await?;
    let total = match rows.first() {
        Some(row) => row.7,
        // A page past the end: the total still tells the client where the end is.
        None if offset > 0 => {
            let count_sql = format!("SELECT COUNT(*) FROM (SELECT 1 {scope} LIMIT {WINDOW}) capped");
            let mut count = sqlx::query_as::<_, (i64,)>(&count_sql).bind(caller.user_id).bind(&term);
            for chat_id in &query.chat_ids {
                count = count.bind(*chat_id);
            }
            for bound in [query.date_from, query.date_to].into_iter().flatten() {
                count = count.bind(bound);
            }
            count.persistent(false).fetch_one(state.store.pool()).await?.0
        }
        None => 0,
    };
    let hits = rows
        .into_iter()
        .map(|(id, chat_id, user_id, username, body, created_at, score, _)| MessageHit {
            id,
            chat_id,
            user_id,
            username,
            body,
            created_at,
            score,
        })
        .collect();
    Ok((hits, total))
}

/// People by username (active accounts only; addresses are never searched or shown).
async fn users(state: &AppState, text: &str, limit: i64, offset: i64) -> DomainResult<(Vec<UserHit>, i64)> {
    let pattern = like_pattern(&username_key(text));
    let scope = "FROM users WHERE username_key LIKE $1 ESCAPE '\\' AND deleted_at IS NULL AND disabled_at IS NULL";
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(&format!(
        "SELECT id, username, display_name {scope} ORDER BY LENGTH(username_key), username_key LIMIT $2 OFFSET $3"
    ))
    .bind(&pattern)
    .bind(limit)
    .bind(offset)
    .fetch_all(state.store.pool())
    .await?;
    let (total,): (i64,) =
        sqlx::query_as(&format!("SELECT COUNT(*) {scope}")).bind(&pattern).fetch_one(state.store.pool()).await?;
    let hits = rows.into_iter().map(|(id, username, display_name)| UserHit { id, username, display_name }).collect();
    Ok((hits, total))
}

/// The caller's groups by name.
async fn chats(
    state: &AppState,
    caller: &Caller,
    text: &str,
    limit: i64,
    offset: i64,
) -> DomainResult<(Vec<ChatHit>, i64)> {
    let pattern = like_pattern(&text.to_lowercase());
    let scope = "FROM chats c JOIN chat_members m ON m.chat_id = c.id AND m.user_id = $1 \
                 WHERE c.kind = 'group' AND LOWER(c.name) LIKE $2 ESCAPE '\\'";
    let rows: Vec<(i64, String)> =
        sqlx::query_as(&format!("SELECT c.id, c.name {scope} ORDER BY LENGTH(c.name), c.id LIMIT $3 OFFSET $4"))
            .bind(caller.user_id)
            .bind(&pattern)
            .bind(limit)
            .bind(offset)
            .fetch_all(state.store.pool())
            .await?;
    let (total,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) {scope}"))
        .bind(caller.user_id)
        .bind(&pattern)
        .fetch_one(state.store.pool())
        .await?;
    Ok((rows.into_iter().map(|(id, name)| ChatHit { id, name }).collect(), total))
}

/// A date filter: Unix milliseconds, or RFC 3339 / `YYYY-MM-DD` text (UTC unless an offset is given).
pub fn parse_date(field: &'static str, raw: &serde_json::Value) -> DomainResult<Option<i64>> {
    let bad = || DomainError::invalid(field, format!("{field} must be a date (RFC 3339) or Unix milliseconds."));
    match raw {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n.as_i64().map(Some).ok_or_else(bad),
        serde_json::Value::String(s) if s.trim().is_empty() => Ok(None),
        // A bare `dateTo` date includes that whole day.
        serde_json::Value::String(s) => parse_time(s, field == "dateTo").map(Some).ok_or_else(bad),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_syntax_is_quoted() {
        assert_eq!(fts5_query(r#"a "b NEAR(c* -d:e"#), r#""a" """b" "NEAR(c*" "-d:e""#);
        assert_eq!(fts5_query("   "), "");
    }

    #[test]
    fn date_filters_take_dates_times_or_milliseconds() {
        let date = |field, raw: serde_json::Value| parse_date(field, &raw).ok().flatten();
        assert_eq!(date("dateFrom", "1970-01-02".into()), Some(86_400_000));
        assert_eq!(date("dateTo", "1970-01-02".into()), Some(2 * 86_400_000 - 1), "a bare end date includes its day");
        assert_eq!(date("dateFrom", "2023-11-14T23:13:20+01:00".into()), Some(1_700_000_000_000));
        assert_eq!(date("dateFrom", 1_700_000_000_000i64.into()), Some(1_700_000_000_000));
        assert_eq!(date("dateFrom", serde_json::Value::Null), None);
        assert!(parse_date("dateFrom", &"yesterday".into()).is_err());
        assert!(parse_date("dateFrom", &serde_json::json!([1])).is_err());
    }
}
