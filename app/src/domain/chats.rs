//! Chats, members and messages: who may see, post, edit, add and remove, in one place for the
//! REST routes and the WebSocket alike. Non-members are told a chat does not exist.

use serde::{Deserialize, Serialize};

use super::events::Event;
use super::names::{username_key, Role};
use super::sessions::Caller;
use super::store::{now_ms, Backend};
use super::{AppState, DomainError, DomainResult};

pub const MESSAGE_MAX_CHARS: usize = 4000;
pub const GROUP_NAME_MAX_CHARS: usize = 50;
pub const NONCE_MAX_CHARS: usize = 64;
/// Most people named in one add/create request.
pub const MEMBERS_PER_REQUEST: usize = 1000;
pub const PAGE_DEFAULT: i64 = 50;
pub const PAGE_MAX: i64 = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatKind {
    Private,
    Group,
}

impl ChatKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChatKind::Private => "private",
            ChatKind::Group => "group",
        }
    }
    fn parse(raw: &str) -> ChatKind {
        if raw == "group" {
            ChatKind::Group
        } else {
            ChatKind::Private
        }
    }
}

#[derive(Debug, Clone)]
pub struct ChatSummary {
    pub id: i64,
    pub kind: ChatKind,
    /// The group's name, or the other person's username.
    pub name: String,
    pub last_message: Option<Message>,
    /// Messages from others after the caller's read marker.
    pub unread: i64,
}

/// A stored message. Deleted messages keep their place but not their text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub id: i64,
    pub chat_id: i64,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// Files attached by `/api/upload/complete`; none for most messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<super::files::Attachment>,
}

type MessageRow = (i64, i64, i64, String, String, i64, Option<i64>, Option<i64>);
const MESSAGE_COLUMNS: &str = "m.id, m.chat_id, m.user_id, u.username, m.body, m.created_at, m.edited_at, m.deleted_at";

fn message_from(row: MessageRow) -> Message {
    let (id, chat_id, user_id, username, body, created_at, edited_at, deleted_at) = row;
    Message { id, chat_id, user_id, username, body, created_at, edited_at, deleted_at, attachments: Vec::new() }
}

fn chat_not_found() -> DomainError {
    DomainError::NotFound("Chat not found.".into())
}

fn members_not_found() -> DomainError {
    DomainError::NotFound("One or more members not found.".into())
}

/// Guests read; everyone else may write.
fn ensure_can_write(caller: &Caller) -> DomainResult<()> {
    if caller.role == Role::Guest {
        return Err(DomainError::Forbidden("Guests have read-only access.".into()));
    }
    Ok(())
}

struct Membership {
    kind: ChatKind,
    creator_id: i64,
}

/// The chat as the caller may see it, or "Chat not found." for strangers.
async fn membership(state: &AppState, chat_id: i64, user_id: i64) -> DomainResult<Membership> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT c.kind, c.creator_id FROM chats c JOIN chat_members m ON m.chat_id = c.id \
         WHERE c.id = $1 AND m.user_id = $2",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(state.store.pool())
    .await?;
    let (kind, creator_id) = row.ok_or_else(chat_not_found)?;
    Ok(Membership { kind: ChatKind::parse(&kind), creator_id })
}

/// True when `user_id` is a member of `chat_id` (for subscriptions).
pub async fn is_member(state: &AppState, chat_id: i64, user_id: i64) -> DomainResult<bool> {
    match membership(state, chat_id, user_id).await {
        Ok(_) => Ok(true),
        Err(DomainError::NotFound(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// id, kind, group name, the other member's name, newest message id, unread count.
type ChatListRow = (i64, String, Option<String>, Option<String>, Option<i64>, i64);

pub async fn list_chats(state: &AppState, caller: &Caller, archived: bool) -> DomainResult<Vec<ChatSummary>> {
    let archived_filter = if archived { "m.archived_at IS NOT NULL" } else { "m.archived_at IS NULL" };
    // Most recent activity first: the newest message, or the chat's creation.
    let sql = format!(
        "SELECT c.id, c.kind, c.name, \
                (SELECT u.username FROM chat_members o JOIN users u ON u.id = o.user_id \
                  WHERE o.chat_id = c.id AND o.user_id <> $1 ORDER BY o.user_id LIMIT 1), \
                (SELECT MAX(x.id) FROM messages x WHERE x.chat_id = c.id), \
                (SELECT COUNT(*) FROM messages x WHERE x.chat_id = c.id AND x.user_id <> $1 \
                   AND x.deleted_at IS NULL AND x.id > COALESCE(m.last_read_id, 0)) \
         FROM chats c JOIN chat_members m ON m.chat_id = c.id \
         WHERE m.user_id = $1 AND {archived_filter} \
         ORDER BY COALESCE((SELECT MAX(x.id) FROM messages x WHERE x.chat_id = c.id), 0) DESC, c.id DESC"
    );
    let rows: Vec<ChatListRow> = sqlx::query_as(&sql).bind(caller.user_id).fetch_all(state.store.pool()).await?;
    let last_ids: Vec<i64> = rows.iter().filter_map(|row| row.4).collect();
    let mut last_messages = messages_by_ids(state, &last_ids).await?;
    Ok(rows
        .into_iter()
        .map(|(id, kind, name, other, last_id, unread)| {
            let kind = ChatKind::parse(&kind);
            let name = match kind {
                ChatKind::Group => name.unwrap_or_default(),
                ChatKind::Private => other.unwrap_or_else(|| "(nobody)".into()),
            };
            let last_message = last_id.and_then(|id| last_messages.remove(&id));
            ChatSummary { id, kind, name, last_message, unread }
        })
        .collect())
}

async fn messages_by_ids(state: &AppState, ids: &[i64]) -> DomainResult<std::collections::HashMap<i64, Message>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, MessageRow>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let rows = query.fetch_all(state.store.pool()).await?;
    Ok(rows.into_iter().map(|row| (row.0, message_from(row))).collect())
}

/// Moves the caller's read marker forward to `message_id` (never back).
pub async fn mark_read(state: &AppState, caller: &Caller, chat_id: i64, message_id: i64) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    sqlx::query(
        "UPDATE chat_members SET last_read_id = $1 \
         WHERE chat_id = $2 AND user_id = $3 AND (last_read_id IS NULL OR last_read_id < $1)",
    )
    .bind(message_id)
    .bind(chat_id)
    .bind(caller.user_id)
    .execute(state.store.pool())
    .await?;
    Ok(())
}

/// The ids and exact names of these usernames; `members_not_found` if any is unknown.
async fn resolve_usernames(state: &AppState, names: &[String]) -> DomainResult<Vec<(i64, String)>> {
    let mut keys: Vec<String> = names.iter().map(|n| username_key(n)).collect();
    if keys.is_empty() || keys.iter().any(String::is_empty) {
        return Err(DomainError::invalid("members", "Name at least one member, by username."));
    }
    keys.sort();
    keys.dedup();
    if keys.len() > MEMBERS_PER_REQUEST {
        return Err(DomainError::invalid("members", format!("At most {MEMBERS_PER_REQUEST} members per request.")));
    }
    let placeholders: Vec<String> = (1..=keys.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT id, username FROM users WHERE deleted_at IS NULL AND username_key IN ({})",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
    for key in &keys {
        query = query.bind(key);
    }
    let found = query.fetch_all(state.store.pool()).await?;
    if found.len() != keys.len() {
        return Err(members_not_found());
    }
    Ok(found)
}

/// The 1:1 chat between the caller and `receiver`: created once, then returned (and un-archived).
pub async fn open_private_chat(state: &AppState, caller: &Caller, receiver: &str) -> DomainResult<i64> {
    ensure_can_write(caller)?;
    if receiver.trim().is_empty() {
        return Err(DomainError::invalid("receiver", "Name the person to chat with."));
    }
    let found: Option<(i64, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE username_key = $1 AND deleted_at IS NULL")
            .bind(username_key(receiver))
            .fetch_optional(state.store.pool())
            .await?;
    let (receiver_id, _) = found.ok_or_else(|| DomainError::NotFound("User not found.".into()))?;
    if receiver_id == caller.user_id {
        return Err(DomainError::BadRequest("Cannot chat with yourself.".into()));
    }
    let key = format!("{}:{}", caller.user_id.min(receiver_id), caller.user_id.max(receiver_id));
    let now = now_ms();
    let created: Option<(i64,)> = sqlx::query_as(
        "INSERT INTO chats (kind, name, creator_id, private_key, created_at) VALUES ('private', NULL, $1, $2, $3) \
         ON CONFLICT (private_key) DO NOTHING RETURNING id",
    )
    .bind(caller.user_id)
    .bind(&key)
    .bind(now)
    .fetch_optional(state.store.pool())
    .await?;
    let chat_id = match created {
        Some((id,)) => id,
        None => {
            sqlx::query_as::<_, (i64,)>("SELECT id FROM chats WHERE private_key = $1")
                .bind(&key)
                .fetch_one(state.store.pool())
                .await?
                .0
        }
    };
    // Also repairs a chat whose members were never written (a crash between the two steps).
    for user_id in [caller.user_id, receiver_id] {
        add_member_row(state, chat_id, user_id, now).await?;
    }
    sqlx::query("UPDATE chat_members SET archived_at = NULL WHERE chat_id = $1 AND user_id = $2")
        .bind(chat_id)
        .bind(caller.user_id)
        .execute(state.store.pool())
        .await?;
    if created.is_some() {
        state.events.publish(Event::ChatCreated {
            chat_id,
            creator: caller.username.clone(),
            recipients: vec![caller.user_id, receiver_id],
        });
    }
    Ok(chat_id)
}

/// Adds a member; false when they already were one.
async fn add_member_row(state: &AppState, chat_id: i64, user_id: i64, now: i64) -> DomainResult<bool> {
    let added = sqlx::query(
        "INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES ($1, $2, $3) ON CONFLICT (chat_id, user_id) DO NOTHING",
    )
    .bind(chat_id)
    .bind(user_id)
    .bind(now)
    .execute(state.store.pool())
    .await?;
    Ok(added.rows_affected() == 1)
}

fn parse_group_name(raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "Give the group a name."));
    }
    if name.chars().count() > GROUP_NAME_MAX_CHARS {
        return Err(DomainError::invalid(
            "name",
            format!("Group name must be at most {GROUP_NAME_MAX_CHARS} characters."),
        ));
    }
    if name.chars().any(char::is_control) {
        return Err(DomainError::invalid("name", "Group name cannot contain control characters."));
    }
    Ok(name.to_string())
}

pub async fn create_group(state: &AppState, caller: &Caller, name: &str, members: &[String]) -> DomainResult<i64> {
    ensure_can_write(caller)?;
    let name = parse_group_name(name)?;
    let others: Vec<String> =
        members.iter().filter(|m| username_key(m) != username_key(&caller.username)).cloned().collect();
    let resolved = if others.is_empty() { Vec::new() } else { resolve_usernames(state, &others).await? };
    let now = now_ms();
    let mut tx = state.store.pool().begin().await?;
    let (chat_id,): (i64,) = sqlx::query_as(
        "INSERT INTO chats (kind, name, creator_id, created_at) VALUES ('group', $1, $2, $3) RETURNING id",
    )
    .bind(&name)
    .bind(caller.user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let mut recipients = vec![caller.user_id];
    recipients.extend(resolved.iter().map(|(id, _)| *id));
    for user_id in &recipients {
        sqlx::query("INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES ($1, $2, $3)")
            .bind(chat_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    state.events.publish(Event::ChatCreated { chat_id, creator: caller.username.clone(), recipients });
    Ok(chat_id)
}

pub async fn add_members(state: &AppState, caller: &Caller, chat_id: i64, names: &[String]) -> DomainResult<()> {
    let chat = membership(state, chat_id, caller.user_id).await?;
    ensure_can_write(caller)?;
    if chat.kind != ChatKind::Group {
        return Err(DomainError::BadRequest("Members can only be added to a group.".into()));
    }
    let resolved = resolve_usernames(state, names).await?;
    let now = now_ms();
    let mut added = Vec::new();
    for (user_id, _) in resolved {
        if add_member_row(state, chat_id, user_id, now).await? {
            added.push(user_id);
        }
    }
    if !added.is_empty() {
        let event = super::audit::AuditEvent::new(
            "channel",
            "channel.members.added",
            format!("Members added to chat {chat_id}."),
        )
        .by_caller(caller)
        .with(serde_json::json!({ "chatId": chat_id.to_string(), "userIds": added }));
        super::audit::record(state, event).await;
        state.events.publish(Event::ChatCreated { chat_id, creator: caller.username.clone(), recipients: added });
    }
    Ok(())
}

/// A member may remove themselves; the group's creator and server moderators may remove anyone.
pub async fn remove_members(state: &AppState, caller: &Caller, chat_id: i64, names: &[String]) -> DomainResult<()> {
    let chat = membership(state, chat_id, caller.user_id).await?;
    if chat.kind != ChatKind::Group {
        return Err(DomainError::BadRequest("Members cannot be removed from a private chat.".into()));
    }
    let resolved = resolve_usernames(state, names).await?;
    let may_remove_others = chat.creator_id == caller.user_id || caller.role.at_least(Role::Moderator);
    if !may_remove_others && resolved.iter().any(|(id, _)| *id != caller.user_id) {
        return Err(DomainError::Forbidden("Only the group's creator or a moderator can remove other members.".into()));
    }
    let mut removed = Vec::new();
    for (user_id, _) in resolved {
        let gone = sqlx::query("DELETE FROM chat_members WHERE chat_id = $1 AND user_id = $2")
            .bind(chat_id)
            .bind(user_id)
            .execute(state.store.pool())
            .await?;
        if gone.rows_affected() == 1 {
            removed.push(user_id);
        }
    }
    if !removed.is_empty() {
        let event = super::audit::AuditEvent::new(
            "channel",
            "channel.members.removed",
            format!("Members removed from chat {chat_id}."),
        )
        .by_caller(caller)
        .with(serde_json::json!({ "chatId": chat_id.to_string(), "userIds": removed }));
        super::audit::record(state, event).await;
        state.events.publish(Event::MembersRemoved { chat_id, user_ids: removed });
    }
    Ok(())
}

pub async fn member_names(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<Vec<String>> {
    membership(state, chat_id, caller.user_id).await?;
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT u.username FROM chat_members m JOIN users u ON u.id = m.user_id WHERE m.chat_id = $1 ORDER BY m.joined_at, u.username",
    )
    .bind(chat_id)
    .fetch_all(state.store.pool())
    .await?;
    Ok(rows.into_iter().map(|(name,)| name).collect())
}

pub async fn set_archived(state: &AppState, caller: &Caller, chat_id: i64, archived: bool) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    sqlx::query("UPDATE chat_members SET archived_at = $1 WHERE chat_id = $2 AND user_id = $3")
        .bind(archived.then(now_ms))
        .bind(chat_id)
        .bind(caller.user_id)
        .execute(state.store.pool())
        .await?;
    Ok(())
}

/// Which slice of a chat's history to read; results are always oldest first.
#[derive(Debug, Clone, Copy, Default)]
pub struct Page {
    pub limit: Option<i64>,
    /// Only messages older than this id (paging back through history).
    pub before: Option<i64>,
    /// Only messages newer than this id (catching up after a disconnect).
    pub after: Option<i64>,
}

pub async fn history(state: &AppState, caller: &Caller, chat_id: i64, page: Page) -> DomainResult<Vec<Message>> {
    membership(state, chat_id, caller.user_id).await?;
    let limit = page.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(DomainError::invalid("limit", format!("limit must be between 1 and {PAGE_MAX}.")));
    }
    messages_between(state, chat_id, page.after, page.before, limit).await
}

/// Up to `limit` messages of a chat with after < id < before: the first ones after `after`
/// when it is given, else the last ones before `before`. Oldest first.
pub async fn messages_between(
    state: &AppState,
    chat_id: i64,
    after: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> DomainResult<Vec<Message>> {
    let forward = after.is_some();
    let sql = format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id \
         WHERE m.chat_id = $1 AND m.id > $2 AND m.id < $3 ORDER BY m.id {} LIMIT $4",
        if forward { "ASC" } else { "DESC" }
    );
    let rows: Vec<MessageRow> = sqlx::query_as(&sql)
        .bind(chat_id)
        .bind(after.unwrap_or(0))
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(state.store.pool())
        .await?;
    let mut messages: Vec<Message> = rows.into_iter().map(message_from).collect();
    if !forward {
        messages.reverse();
    }
    super::files::attach(state, &mut messages).await?;
    Ok(messages)
}

fn parse_text(raw: &str) -> DomainResult<String> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("text", "A message cannot be empty."));
    }
    if raw.chars().count() > MESSAGE_MAX_CHARS {
        return Err(DomainError::invalid("text", format!("A message can be at most {MESSAGE_MAX_CHARS} characters.")));
    }
    if raw.contains('\0') {
        return Err(DomainError::invalid("text", "Text cannot contain NUL characters."));
    }
    Ok(raw.to_string())
}

async fn message_by_id(state: &AppState, message_id: i64) -> DomainResult<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id WHERE m.id = $1");
    let row: Option<MessageRow> = sqlx::query_as(&sql).bind(message_id).fetch_optional(state.store.pool()).await?;
    let mut found: Vec<Message> = row.map(message_from).into_iter().collect();
    // Edits announce the whole message, files included.
    super::files::attach(state, &mut found).await?;
    Ok(found.pop())
}

async fn message_by_nonce(state: &AppState, user_id: i64, nonce: &str) -> DomainResult<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM messages m JOIN users u ON u.id = m.user_id WHERE m.user_id = $1 AND m.nonce = $2");
    let row: Option<MessageRow> =
        sqlx::query_as(&sql).bind(user_id).bind(nonce).fetch_optional(state.store.pool()).await?;
    Ok(row.map(message_from))
}

pub struct Posted {
    pub message: Message,
    /// False when the nonce had been used already: nothing new was stored or announced.
    pub is_new: bool,
}

/// Stores a message and announces it. With a `nonce`, posting the same one again returns the
/// stored message instead of a second copy.
pub async fn post_message(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    text: &str,
    nonce: Option<&str>,
) -> DomainResult<Posted> {
    let _turn = posting_turn(chat_id).await;
    let posted = store_message(state, caller, chat_id, text, nonce).await?;
    if posted.is_new {
        state.events.publish(Event::MessagePosted { message: posted.message.clone() });
    }
    Ok(posted)
}

/// Taken before storing a new message of this chat and held until it is announced: the
/// messages of one chat are then announced on this node in id order, so a client that
/// reconnects with `after` = the last id it saw misses none (two posts announced in the other
/// order would let a client see the higher id first and resume past the lower one).
pub async fn posting_turn(chat_id: i64) -> tokio::sync::MutexGuard<'static, ()> {
    const SHARDS: usize = 64;
    static TURNS: [tokio::sync::Mutex<()>; SHARDS] = [const { tokio::sync::Mutex::const_new(()) }; SHARDS];
    TURNS[chat_id.rem_euclid(SHARDS as i64) as usize].lock().await
}

/// `post_message` without the announcement, for callers that complete the message first
/// (uploads link their file, then announce, holding `posting_turn`).
pub async fn store_message(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    text: &str,
    nonce: Option<&str>,
) -> DomainResult<Posted> {
    ensure_can_write(caller)?;
    let text = parse_text(text)?;
    let nonce = nonce.map(str::trim).filter(|n| !n.is_empty());
    if let Some(nonce) = nonce {
        if nonce.chars().count() > NONCE_MAX_CHARS || nonce.contains('\0') {
            return Err(DomainError::invalid("nonce", format!("A nonce can be at most {NONCE_MAX_CHARS} characters.")));
        }
        if let Some(message) = message_by_nonce(state, caller.user_id, nonce).await? {
            return Ok(Posted { message, is_new: false });
        }
    }
    let now = now_ms();
    let insert = "INSERT INTO messages (chat_id, user_id, body, created_at, nonce) \
                  SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM chat_members WHERE chat_id = $1 AND user_id = $2) \
                  ON CONFLICT DO NOTHING RETURNING id";
    let inserted: Option<(i64,)> = match state.store.backend() {
        // One writer at a time: ids are assigned in commit order already.
        Backend::Sqlite => {
            sqlx::query_as(insert)
                .bind(chat_id)
                .bind(caller.user_id)
                .bind(&text)
                .bind(now)
                .bind(nonce)
                .fetch_optional(state.store.pool())
                .await?
        }
        // Serialise writers per chat, so a message never commits after a higher id of its chat.
        Backend::Postgres => {
            let mut tx = state.store.pool().begin().await?;
            sqlx::query("SELECT id FROM chats WHERE id = $1 FOR UPDATE").bind(chat_id).execute(&mut *tx).await?;
            let row = sqlx::query_as(insert)
                .bind(chat_id)
                .bind(caller.user_id)
                .bind(&text)
                .bind(now)
                .bind(nonce)
                .fetch_optional(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        }
    };
    let Some((id,)) = inserted else {
        // Either a concurrent post with the same nonce won, or the caller is not a member.
        if let Some(message) = match nonce {
            Some(nonce) => message_by_nonce(state, caller.user_id, nonce).await?,
            None => None,
        } {
            return Ok(Posted { message, is_new: false });
        }
        return Err(chat_not_found());
    };
    let message = Message {
        id,
        chat_id,
        user_id: caller.user_id,
        username: caller.username.clone(),
        body: text,
        created_at: now,
        edited_at: None,
        deleted_at: None,
        attachments: Vec::new(),
    };
    Ok(Posted { message, is_new: true })
}

/// Finds a message the caller may change: in a chat they are in, not deleted.
async fn changeable_message(state: &AppState, caller: &Caller, chat_id: i64, message_id: i64) -> DomainResult<Message> {
    membership(state, chat_id, caller.user_id).await?;
    match message_by_id(state, message_id).await? {
        Some(message) if message.chat_id == chat_id && message.deleted_at.is_none() => Ok(message),
        _ => Err(DomainError::NotFound("Message not found.".into())),
    }
}

pub async fn edit_message(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    text: &str,
) -> DomainResult<Message> {
    ensure_can_write(caller)?;
    let text = parse_text(text)?;
    let message = changeable_message(state, caller, chat_id, message_id).await?;
    if message.user_id != caller.user_id {
        return Err(DomainError::Forbidden("You can only edit your own messages.".into()));
    }
    let now = now_ms();
    sqlx::query("UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3 AND deleted_at IS NULL")
        .bind(&text)
        .bind(now)
        .bind(message_id)
        .execute(state.store.pool())
        .await?;
    let message = Message { body: text, edited_at: Some(now), ..message };
    state.events.publish(Event::MessageEdited { message: message.clone() });
    Ok(message)
}

/// Authors delete their own messages; moderators and up may delete anyone's. Guests do neither.
pub async fn delete_message(state: &AppState, caller: &Caller, chat_id: i64, message_id: i64) -> DomainResult<i64> {
    ensure_can_write(caller)?;
    let message = changeable_message(state, caller, chat_id, message_id).await?;
    if message.user_id != caller.user_id && !caller.role.at_least(Role::Moderator) {
        return Err(DomainError::Forbidden("You can only delete your own messages.".into()));
    }
    let now = now_ms();
    // The text goes; the row stays so history keeps its shape.
    sqlx::query("UPDATE messages SET body = '', deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(message_id)
        .execute(state.store.pool())
        .await?;
    state.events.publish(Event::MessageDeleted { chat_id, message_id, deleted_at: now });
    Ok(now)
}

/// Announces that the caller is typing in a chat they belong to.
pub async fn typing(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    state.events.publish(Event::Typing { chat_id, user_id: caller.user_id, username: caller.username.clone() });
    Ok(())
}

/// Re-announces a chat to its other members (the client's `chat_created` frame).
pub async fn announce_chat(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    let members: Vec<(i64,)> = sqlx::query_as("SELECT user_id FROM chat_members WHERE chat_id = $1 AND user_id <> $2")
        .bind(chat_id)
        .bind(caller.user_id)
        .fetch_all(state.store.pool())
        .await?;
    state.events.publish(Event::ChatCreated {
        chat_id,
        creator: caller.username.clone(),
        recipients: members.into_iter().map(|(id,)| id).collect(),
    });
    Ok(())
}

/// Everyone who shares at least one chat with `user_id` (who sees their presence), themselves included.
pub async fn contacts(state: &AppState, user_id: i64) -> DomainResult<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT DISTINCT o.user_id FROM chat_members m JOIN chat_members o ON o.chat_id = m.chat_id WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(state.store.pool())
    .await?;
    let mut ids: Vec<i64> = rows.into_iter().map(|(id,)| id).collect();
    if !ids.contains(&user_id) {
        ids.push(user_id);
    }
    Ok(ids)
}
