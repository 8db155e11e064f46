//! Search over what the caller may see: messages of their chats (SQLite FTS5 or PostgreSQL full
//! text), files attached in them, people by username, and their groups by name. User input is
//! never FTS syntax. Without a caller nothing is public, so nothing is found.

use super::names::username_key;
use super::sessions::Caller;
use super::store::{arguments, parse_time, Backend, Bind};
use super::{AppState, DomainError, DomainResult};

/// nchat's bounds on the query text.
pub const QUERY_MIN_CHARS: usize = 2;
pub const QUERY_MAX_CHARS: usize = 200;
pub const LIMIT_DEFAULT: i64 = 20;
pub const LIMIT_MAX: i64 = 100;
pub const OFFSET_MAX: i64 = 100_000;
/// Most ids one `channelIds` or `userIds` filter may name.
pub const ID_FILTER_MAX: usize = 100;

/// nchat's result types, in the order results are listed when a search names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Messages,
    Files,
    Users,
    Channels,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Messages, Kind::Files, Kind::Users, Kind::Channels];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Messages => "messages",
            Kind::Files => "files",
            Kind::Users => "users",
            Kind::Channels => "channels",
        }
    }

    /// nchat's names, their singulars, and Hearth's own `chats` for channels.
    pub fn parse(raw: &str) -> DomainResult<Kind> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "messages" | "message" => Ok(Kind::Messages),
            "files" | "file" => Ok(Kind::Files),
            "users" | "user" => Ok(Kind::Users),
            "channels" | "channel" | "chats" | "chat" => Ok(Kind::Channels),
            _ => Err(DomainError::invalid(
                "types",
                format!("Invalid type {raw:?}. Valid types: messages, files, users, channels."),
            )),
        }
    }
}

/// An id filter: `None` filters nothing; `Some` keeps only these rows, so an empty list (every id
/// given was unknown) matches nothing.
pub type IdFilter = Option<Vec<i64>>;

#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    /// The kinds to search, in the order results list them (empty: none).
    pub kinds: Vec<Kind>,
    /// Chats to search in (messages, files, channels).
    pub chat_ids: IdFilter,
    /// Authors (messages), uploaders (files), people (users).
    pub user_ids: IdFilter,
    pub date_from: Option<i64>,
    pub date_to: Option<i64>,
    /// Oldest or newest first instead of best match first.
    pub by_date: bool,
    pub ascending: bool,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct MessageHit {
    pub id: i64,
    pub chat_id: i64,
    pub chat_name: String,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub created_at: i64,
    pub score: f64,
}

#[derive(Debug, Clone)]
pub struct FileHit {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub chat_id: i64,
    pub uploader_id: i64,
    pub uploader: String,
    pub message_id: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct UserHit {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub role: String,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub struct ChannelHit {
    pub id: i64,
    pub name: String,
    pub member_count: i64,
    pub created_at: i64,
}

#[derive(Debug, Clone)]
pub enum Hit {
    Message(MessageHit),
    File(FileHit),
    User(UserHit),
    Channel(ChannelHit),
}

/// How many of each kind match (messages: within the window, see `WINDOW`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Totals {
    pub messages: i64,
    pub files: i64,
    pub users: i64,
    pub channels: i64,
}

impl Totals {
    pub fn all(&self) -> i64 {
        self.messages + self.files + self.users + self.channels
    }

    fn set(&mut self, kind: Kind, total: i64) {
        match kind {
            Kind::Messages => self.messages = total,
            Kind::Files => self.files = total,
            Kind::Users => self.users = total,
            Kind::Channels => self.channels = total,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct Found {
    pub text: String,
    pub kinds: Vec<Kind>,
    /// One page of the kinds' results listed one kind after the other.
    pub hits: Vec<Hit>,
    pub totals: Totals,
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
    if text.chars().count() < QUERY_MIN_CHARS {
        return Err(DomainError::invalid("query", format!("Query must be at least {QUERY_MIN_CHARS} characters.")));
    }
    if text.chars().count() > QUERY_MAX_CHARS {
        return Err(DomainError::invalid("query", format!("Query must be at most {QUERY_MAX_CHARS} characters.")));
    }
    let limit = query.limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(DomainError::invalid("limit", format!("limit must be between 1 and {LIMIT_MAX}.")));
    }
    let offset = query.offset.unwrap_or(0);
    if !(0..=OFFSET_MAX).contains(&offset) {
        return Err(DomainError::invalid("offset", format!("offset must be between 0 and {OFFSET_MAX}.")));
    }
    for (field, ids) in [("channelIds", &query.chat_ids), ("userIds", &query.user_ids)] {
        if ids.as_ref().is_some_and(|ids| ids.len() > ID_FILTER_MAX) {
            return Err(DomainError::invalid(field, format!("{field} can name at most {ID_FILTER_MAX} ids.")));
        }
    }
    if let (Some(from), Some(to)) = (query.date_from, query.date_to) {
        if from > to {
            return Err(DomainError::invalid("dateFrom", "dateFrom must not be after dateTo."));
        }
    }
    Ok((text, limit, offset))
}

/// Checks the query, then searches what `caller` may see (nothing without a caller). Results
/// list the kinds one after the other, in `query.kinds` order; `offset` and `limit` page through
/// that list as a whole.
pub async fn search(state: &AppState, caller: Option<&Caller>, query: &Query) -> DomainResult<Found> {
    let (text, limit, offset) = parse(query)?;
    let mut found = Found { text: text.clone(), kinds: query.kinds.clone(), limit, offset, ..Found::default() };
    let Some(caller) = caller else {
        return Ok(found);
    };
    let searcher = Searcher { state, caller, query, text: &text };
    let (mut skip, mut room) = (offset, limit);
    for kind in &query.kinds {
        let (hits, total) = searcher.kind(*kind, skip, room).await?;
        found.totals.set(*kind, total);
        room -= hits.len() as i64;
        skip = (skip - total).max(0);
        found.hits.extend(hits);
    }
    Ok(found)
}

/// SQL text and its values, numbered from `$1` as they are added.
#[derive(Default)]
struct Sql {
    binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    /// ` AND column IN (…)` for a filter (nothing when there is none).
    fn in_list(&mut self, column: &str, ids: &IdFilter) -> String {
        match ids {
            None => String::new(),
            Some(ids) => {
                let list: Vec<String> = ids.iter().map(|id| self.bind(Bind::Int(*id))).collect();
                format!(" AND {column} IN ({})", list.join(", "))
            }
        }
    }

    /// ` AND column >= … AND column <= …` for the query's dates.
    fn dates(&mut self, column: &str, query: &Query) -> String {
        let mut out = String::new();
        if let Some(from) = query.date_from {
            out.push_str(&format!(" AND {column} >= {}", self.bind(Bind::Int(from))));
        }
        if let Some(to) = query.date_to {
            out.push_str(&format!(" AND {column} <= {}", self.bind(Bind::Int(to))));
        }
        out
    }

    /// The values bound so far, for `sqlx::query_as_with` and `query_scalar_with`.
    fn arguments<'q>(&self) -> Result<sqlx::any::AnyArguments<'q>, sqlx::Error> {
        arguments(self.binds.clone())
    }
}

/// An id filter that matches nothing: no query needed.
fn matches_nothing(ids: &IdFilter) -> bool {
    ids.as_ref().is_some_and(Vec::is_empty)
}

/// A search reaches this many matching messages (after the chat and date filters): the newest
/// ones, or the oldest when sorted by date ascending. They are ranked or paged among themselves,
/// and the total counts them. Ranking or counting every match of a common word costs a scan of
/// most of the table (close to a second over a million messages); the newest matches are what a
/// chat's users look for, and more words, a chat or dates reach older ones.
pub const WINDOW: i64 = 1_000;

struct Searcher<'a> {
    state: &'a AppState,
    caller: &'a Caller,
    query: &'a Query,
    text: &'a str,
}

impl Searcher<'_> {
    /// One kind's hits from `offset` (at most `limit`, which may be 0: then only the total).
    async fn kind(&self, kind: Kind, offset: i64, limit: i64) -> DomainResult<(Vec<Hit>, i64)> {
        match kind {
            Kind::Messages => self.messages(offset, limit).await,
            Kind::Files => self.files(offset, limit).await,
            Kind::Users => self.users(offset, limit).await,
            Kind::Channels => self.channels(offset, limit).await,
        }
    }

    fn pool(&self) -> &sqlx::AnyPool {
        self.state.store.pool()
    }

    /// Messages of the caller's chats that match every term, not deleted.
    async fn messages(&self, offset: i64, limit: i64) -> DomainResult<(Vec<Hit>, i64)> {
        let query = self.query;
        if matches_nothing(&query.chat_ids) || matches_nothing(&query.user_ids) {
            return Ok((Vec::new(), 0));
        }
        // `id` is the order messages were stored in, so "by date" walks the index in id order, which
        // both full-text indexes can do without sorting every match.
        let (from, matches, id, score, term) = match self.state.store.backend() {
            // bm25 is lower for better matches; negated so both backends rank higher = better. It
            // can only be computed inside the FTS5 query, for the window's rows.
            Backend::Sqlite => (
                "messages_fts JOIN messages m ON m.id = messages_fts.rowid",
                "messages_fts MATCH $2",
                "messages_fts.rowid",
                "-bm25(messages_fts)",
                fts5_query(self.text),
            ),
            Backend::Postgres => (
                "messages m",
                "m.body_tsv @@ plainto_tsquery('simple', $2)",
                "m.id",
                "CAST(ts_rank(m.body_tsv, plainto_tsquery('simple', $2)) AS DOUBLE PRECISION)",
                self.text.to_string(),
            ),
        };
        if term.is_empty() {
            return Ok((Vec::new(), 0));
        }
        let mut sql = Sql::default();
        sql.bind(Bind::Int(self.caller.user_id));
        sql.bind(Bind::Text(term));
        let filters = format!(
            "{}{}{}",
            sql.in_list("m.chat_id", &query.chat_ids),
            sql.in_list("m.user_id", &query.user_ids),
            sql.dates("m.created_at", query)
        );
        let scope = format!(
            "FROM {from} JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1 \
             WHERE {matches} AND m.deleted_at IS NULL{filters}"
        );
        if limit == 0 {
            let count = format!("SELECT COUNT(*) FROM (SELECT 1 {scope} LIMIT {WINDOW}) capped");
            let total =
                sqlx::query_scalar_with(&count, sql.arguments()?).persistent(false).fetch_one(self.pool()).await?;
            return Ok((Vec::new(), total));
        }
        // By date: no score to compute, and the window is at the end the client reads from.
        let (score, window_order, order) = match (query.by_date, query.ascending) {
            (false, _) => (score, "DESC", "w.score DESC, w.id DESC"),
            (true, false) => ("CAST(0 AS DOUBLE PRECISION)", "DESC", "w.id DESC"),
            (true, true) => ("CAST(0 AS DOUBLE PRECISION)", "ASC", "w.id ASC"),
        };
        // A private chat is named after its other member.
        let select = format!(
            "WITH window_rows AS (SELECT m.id, m.chat_id, m.user_id, m.body, m.created_at, {score} AS score \
             {scope} ORDER BY {id} {window_order} LIMIT {WINDOW}) \
             SELECT w.id, w.chat_id, w.user_id, u.username, w.body, w.created_at, w.score, \
             COALESCE(c.name, (SELECT o.username FROM chat_members om JOIN users o ON o.id = om.user_id \
                               WHERE om.chat_id = w.chat_id AND om.user_id <> $1 ORDER BY om.user_id LIMIT 1), '') \
               AS chat_name, \
             (SELECT COUNT(*) FROM window_rows) AS total \
             FROM window_rows w JOIN users u ON u.id = w.user_id JOIN chats c ON c.id = w.chat_id \
             ORDER BY {order} LIMIT {} OFFSET {}",
            sql.bind(Bind::Int(limit)),
            sql.bind(Bind::Int(offset))
        );
        // Planned with this query's words: a generic plan cannot tell a rare word from a common one.
        let rows: Vec<MessageRow> =
            sqlx::query_as_with(&select, sql.arguments()?).persistent(false).fetch_all(self.pool()).await?;
        let total = match rows.first() {
            Some(row) => row.total,
            // A page past the end: the total still tells the client where the end is.
            None if offset > 0 => return Box::pin(self.messages(0, 0)).await,
            None => 0,
        };
        let hits = rows
            .into_iter()
            .map(|r| {
                Hit::Message(MessageHit {
                    id: r.id,
                    chat_id: r.chat_id,
                    chat_name: r.chat_name,
                    user_id: r.user_id,
                    username: r.username,
                    body: r.body,
                    created_at: r.created_at,
                    score: r.score,
                })
            })
            .collect();
        Ok((hits, total))
    }

    /// Files attached to live messages of the caller's chats, by name.
    async fn files(&self, offset: i64, limit: i64) -> DomainResult<(Vec<Hit>, i64)> {
        let query = self.query;
        if matches_nothing(&query.chat_ids) || matches_nothing(&query.user_ids) {
            return Ok((Vec::new(), 0));
        }
        let mut sql = Sql::default();
        sql.bind(Bind::Int(self.caller.user_id));
        sql.bind(Bind::Text(like_pattern(&self.text.to_lowercase())));
        let filters = format!(
            "{}{}{}",
            sql.in_list("m.chat_id", &query.chat_ids),
            sql.in_list("f.uploader_id", &query.user_ids),
            sql.dates("f.created_at", query)
        );
        let scope = format!(
            "FROM files f JOIN messages m ON m.id = f.message_id \
             JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1 \
             JOIN users u ON u.id = f.uploader_id \
             WHERE f.stored_size IS NOT NULL AND m.deleted_at IS NULL \
             AND LOWER(f.filename) LIKE $2 ESCAPE '\\'{filters}"
        );
        let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) {scope}"), sql.arguments()?)
            .fetch_one(self.pool())
            .await?;
        if limit == 0 || offset >= total {
            return Ok((Vec::new(), total));
        }
        let order = order_by(query, "LENGTH(f.filename), f.created_at DESC, f.id", "f.created_at", "f.id");
        let select = format!(
            "SELECT f.id, f.filename, f.content_type, f.stored_size AS size, m.chat_id, f.uploader_id, \
             u.username AS uploader, f.message_id, f.created_at {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            sql.bind(Bind::Int(limit)),
            sql.bind(Bind::Int(offset))
        );
        let rows: Vec<FileRow> = sqlx::query_as_with(&select, sql.arguments()?).fetch_all(self.pool()).await?;
        let hits = rows
            .into_iter()
            .map(|r| {
                Hit::File(FileHit {
                    id: r.id,
                    filename: r.filename,
                    content_type: r.content_type,
                    size: r.size,
                    chat_id: r.chat_id,
                    uploader_id: r.uploader_id,
                    uploader: r.uploader,
                    message_id: r.message_id,
                    created_at: r.created_at,
                })
            })
            .collect();
        Ok((hits, total))
    }

    /// People by username (active accounts only; addresses are never searched or shown).
    async fn users(&self, offset: i64, limit: i64) -> DomainResult<(Vec<Hit>, i64)> {
        let query = self.query;
        if matches_nothing(&query.user_ids) {
            return Ok((Vec::new(), 0));
        }
        let mut sql = Sql::default();
        sql.bind(Bind::Text(like_pattern(&username_key(self.text))));
        let filters = format!("{}{}", sql.in_list("id", &query.user_ids), sql.dates("created_at", query));
        let scope = format!(
            "FROM users WHERE username_key LIKE $1 ESCAPE '\\' AND deleted_at IS NULL AND disabled_at IS NULL{filters}"
        );
        let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) {scope}"), sql.arguments()?)
            .fetch_one(self.pool())
            .await?;
        if limit == 0 || offset >= total {
            return Ok((Vec::new(), total));
        }
        let order = order_by(query, "LENGTH(username_key), username_key", "created_at", "id");
        let select = format!(
            "SELECT id, username, display_name, role, created_at {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            sql.bind(Bind::Int(limit)),
            sql.bind(Bind::Int(offset))
        );
        let rows: Vec<UserRow> = sqlx::query_as_with(&select, sql.arguments()?).fetch_all(self.pool()).await?;
        let hits = rows
            .into_iter()
            .map(|r| {
                Hit::User(UserHit {
                    id: r.id,
                    username: r.username,
                    display_name: r.display_name,
                    role: r.role,
                    created_at: r.created_at,
                })
            })
            .collect();
        Ok((hits, total))
    }

    /// The caller's groups by name.
    async fn channels(&self, offset: i64, limit: i64) -> DomainResult<(Vec<Hit>, i64)> {
        let query = self.query;
        if matches_nothing(&query.chat_ids) {
            return Ok((Vec::new(), 0));
        }
        let mut sql = Sql::default();
        sql.bind(Bind::Int(self.caller.user_id));
        sql.bind(Bind::Text(like_pattern(&self.text.to_lowercase())));
        let filters = format!("{}{}", sql.in_list("c.id", &query.chat_ids), sql.dates("c.created_at", query));
        let scope = format!(
            "FROM chats c JOIN chat_members m ON m.chat_id = c.id AND m.user_id = $1 \
             WHERE c.kind = 'group' AND LOWER(c.name) LIKE $2 ESCAPE '\\'{filters}"
        );
        let total: i64 = sqlx::query_scalar_with(&format!("SELECT COUNT(*) {scope}"), sql.arguments()?)
            .fetch_one(self.pool())
            .await?;
        if limit == 0 || offset >= total {
            return Ok((Vec::new(), total));
        }
        let order = order_by(query, "LENGTH(c.name), c.id", "c.created_at", "c.id");
        let select = format!(
            "SELECT c.id, c.name, c.created_at, \
             (SELECT COUNT(*) FROM chat_members x WHERE x.chat_id = c.id) AS member_count \
             {scope} ORDER BY {order} LIMIT {} OFFSET {}",
            sql.bind(Bind::Int(limit)),
            sql.bind(Bind::Int(offset))
        );
        let rows: Vec<ChannelRow> = sqlx::query_as_with(&select, sql.arguments()?).fetch_all(self.pool()).await?;
        let hits = rows
            .into_iter()
            .map(|r| {
                Hit::Channel(ChannelHit {
                    id: r.id,
                    name: r.name,
                    member_count: r.member_count,
                    created_at: r.created_at,
                })
            })
            .collect();
        Ok((hits, total))
    }
}

/// `ORDER BY` for a kind: its best-match order, or by date (the id breaks ties).
fn order_by(query: &Query, relevance: &str, date: &str, id: &str) -> String {
    match (query.by_date, query.ascending) {
        (false, _) => relevance.to_string(),
        (true, false) => format!("{date} DESC, {id} DESC"),
        (true, true) => format!("{date} ASC, {id} ASC"),
    }
}

#[derive(sqlx::FromRow)]
struct MessageRow {
    id: i64,
    chat_id: i64,
    user_id: i64,
    username: String,
    body: String,
    created_at: i64,
    score: f64,
    chat_name: String,
    total: i64,
}

#[derive(sqlx::FromRow)]
struct FileRow {
    id: String,
    filename: String,
    content_type: String,
    size: i64,
    chat_id: i64,
    uploader_id: i64,
    uploader: String,
    message_id: i64,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    username: String,
    display_name: Option<String>,
    role: String,
    created_at: i64,
}

#[derive(sqlx::FromRow)]
struct ChannelRow {
    id: i64,
    name: String,
    created_at: i64,
    member_count: i64,
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

    #[test]
    fn types_take_nchats_names_and_hearths() {
        assert_eq!(Kind::parse("Files").ok(), Some(Kind::Files));
        assert_eq!(Kind::parse("chats").ok(), Some(Kind::Channels));
        assert!(Kind::parse("everything").is_err());
    }
}
