//! Chats, members and messages: who may see, post, edit, add and remove, in one place for the
//! REST routes and the WebSocket alike. Non-members are told a chat does not exist.

use serde::{Deserialize, Serialize};

use super::events::Event;
use super::files::Attachment;
use super::names::{username_key, Role};
use super::sessions::Caller;
use super::store::{now_ms, Backend};
use super::{AppState, DomainError, DomainResult};
use crate::api::ws::{Reaction, ReplyPreview, REPLY_PREVIEW_CHARS};

pub use crate::api::chats::MESSAGE_MAX_CHARS;
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
}

/// How the `kind` column reads back (`#[sqlx(try_from = "String")]`).
impl TryFrom<String> for ChatKind {
    type Error = String;
    fn try_from(raw: String) -> Result<ChatKind, String> {
        match raw.as_str() {
            "private" => Ok(ChatKind::Private),
            "group" => Ok(ChatKind::Group),
            other => Err(format!("unknown chat kind {other:?}")),
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Message {
    pub id: i64,
    pub chat_id: i64,
    pub user_id: i64,
    pub username: String,
    pub body: String,
    pub created_at: i64,
    pub edited_at: Option<i64>,
    pub deleted_at: Option<i64>,
    /// The id of the message this one answers, if any.
    pub reply_to: Option<i64>,
    /// When the message was pinned in its chat, if it is.
    pub pinned_at: Option<i64>,
    /// Files attached by `/api/upload/complete`; none for most messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[sqlx(skip)]
    pub attachments: Vec<Attachment>,
    /// The quoted preview of `reply_to`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[sqlx(skip)]
    pub parent: Option<ReplyPreview>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[sqlx(skip)]
    pub reactions: Vec<Reaction>,
}

/// A `Message`'s columns with the answered message's (`MessageRow`), and the tables they come
/// from; files and reactions are read apart, by `complete`.
const MESSAGE_COLUMNS: &str =
    "m.id, m.chat_id, m.user_id, u.username, m.body, m.created_at, m.edited_at, m.deleted_at, m.reply_to, \
     p.pinned_at, pu.username AS parent_username, pm.body AS parent_body, pm.deleted_at AS parent_deleted_at";
const MESSAGE_FROM: &str = "messages m JOIN users u ON u.id = m.user_id LEFT JOIN pins p ON p.message_id = m.id \
     LEFT JOIN messages pm ON pm.id = m.reply_to LEFT JOIN users pu ON pu.id = pm.user_id";

/// A message as `MESSAGE_COLUMNS` reads it: the answered message comes in the same row, so a
/// page's quotes cost no query of their own.
#[derive(sqlx::FromRow)]
struct MessageRow {
    #[sqlx(flatten)]
    message: Message,
    parent_username: Option<String>,
    parent_body: Option<String>,
    parent_deleted_at: Option<i64>,
}

impl MessageRow {
    fn into_message(self) -> Message {
        let MessageRow { mut message, parent_username, parent_body, parent_deleted_at } = self;
        if let (Some(id), Some(username), Some(body)) = (message.reply_to, parent_username, parent_body) {
            message.parent = Some(preview(&ParentRow { id, username, body, deleted_at: parent_deleted_at }));
        }
        message
    }
}

/// Reads what a page of messages shows beside their own rows: attached files and reactions, one
/// query each whatever the page's length, both at once. Deleted messages keep neither.
pub(crate) async fn complete(state: &AppState, messages: &mut [Message]) -> DomainResult<()> {
    let ids: Vec<i64> = messages.iter().filter(|m| m.deleted_at.is_none()).map(|m| m.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let (files, reactions) =
        tokio::try_join!(super::files::attachments_of(state, &ids), super::reactions::summaries_of(state, &ids))?;
    let by_id: std::collections::HashMap<i64, usize> = messages.iter().enumerate().map(|(at, m)| (m.id, at)).collect();
    for (message_id, attachment) in files {
        if let Some(&at) = by_id.get(&message_id) {
            messages[at].attachments.push(attachment);
        }
    }
    for (message_id, list) in reactions {
        if let Some(&at) = by_id.get(&message_id) {
            messages[at].reactions = list;
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ParentRow {
    id: i64,
    username: String,
    body: String,
    deleted_at: Option<i64>,
}

fn preview(row: &ParentRow) -> ReplyPreview {
    let deleted = row.deleted_at.is_some();
    ReplyPreview {
        message_id: row.id,
        username: row.username.clone(),
        message: if deleted { String::new() } else { row.body.chars().take(REPLY_PREVIEW_CHARS).collect() },
        deleted,
    }
}

fn chat_not_found() -> DomainError {
    DomainError::NotFound("Chat not found.".into())
}

fn members_not_found() -> DomainError {
    DomainError::NotFound("One or more members not found.".into())
}

/// Guests read; everyone else may write.
/// Guests read; only members and above post, edit and upload.
pub(crate) fn ensure_can_write(caller: &Caller) -> DomainResult<()> {
    if caller.role == Role::Guest {
        return Err(DomainError::Forbidden("Guests have read-only access.".into()));
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
pub(crate) struct Membership {
    #[sqlx(try_from = "String")]
    kind: ChatKind,
    creator_id: i64,
}

/// The chat as the caller may see it, or "Chat not found." for strangers.
pub(crate) async fn membership(state: &AppState, chat_id: i64, user_id: i64) -> DomainResult<Membership> {
    let found: Option<Membership> = sqlx::query_as(
        "SELECT c.kind, c.creator_id FROM chats c JOIN chat_members m ON m.chat_id = c.id \
         WHERE c.id = $1 AND m.user_id = $2",
    )
    .bind(chat_id)
    .bind(user_id)
    .fetch_optional(state.store.pool())
    .await?;
    found.ok_or_else(chat_not_found)
}

/// True when `user_id` is a member of `chat_id` (for subscriptions).
pub async fn is_member(state: &AppState, chat_id: i64, user_id: i64) -> DomainResult<bool> {
    match membership(state, chat_id, user_id).await {
        Ok(_) => Ok(true),
        Err(DomainError::NotFound(_)) => Ok(false),
        Err(other) => Err(other),
    }
}

/// A chat as the caller's list shows it, before its newest message is read.
#[derive(sqlx::FromRow)]
struct ChatListRow {
    id: i64,
    #[sqlx(try_from = "String")]
    kind: ChatKind,
    /// The group's name; none for private chats.
    name: Option<String>,
    /// In a private chat, the other member's username.
    other_member: Option<String>,
    last_message_id: Option<i64>,
    unread: i64,
}

pub async fn list_chats(state: &AppState, caller: &Caller, archived: bool) -> DomainResult<Vec<ChatSummary>> {
    let archived_filter = if archived { "m.archived_at IS NOT NULL" } else { "m.archived_at IS NULL" };
    // Most recent activity first: the newest message, or the chat's creation.
    let sql = format!(
        "SELECT c.id, c.kind, c.name, \
                (SELECT u.username FROM chat_members o JOIN users u ON u.id = o.user_id \
                  WHERE o.chat_id = c.id AND o.user_id <> $1 ORDER BY o.user_id LIMIT 1) AS other_member, \
                (SELECT MAX(x.id) FROM messages x WHERE x.chat_id = c.id) AS last_message_id, \
                (SELECT COUNT(*) FROM messages x WHERE x.chat_id = c.id AND x.user_id <> $1 \
                   AND x.deleted_at IS NULL AND x.id > COALESCE(m.last_read_id, 0)) AS unread \
         FROM chats c JOIN chat_members m ON m.chat_id = c.id \
         WHERE m.user_id = $1 AND {archived_filter} \
         ORDER BY COALESCE((SELECT MAX(x.id) FROM messages x WHERE x.chat_id = c.id), 0) DESC, c.id DESC"
    );
    let rows: Vec<ChatListRow> = sqlx::query_as(&sql).bind(caller.user_id).fetch_all(state.store.pool()).await?;
    let last_ids: Vec<i64> = rows.iter().filter_map(|row| row.last_message_id).collect();
    let mut last_messages = messages_by_ids(state, &last_ids).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let name = match row.kind {
                ChatKind::Group => row.name.unwrap_or_default(),
                ChatKind::Private => row.other_member.unwrap_or_else(|| "(nobody)".into()),
            };
            let last_message = row.last_message_id.and_then(|id| last_messages.remove(&id));
            ChatSummary { id: row.id, kind: row.kind, name, last_message, unread: row.unread }
        })
        .collect())
}

pub(crate) async fn messages_by_ids(
    state: &AppState,
    ids: &[i64],
) -> DomainResult<std::collections::HashMap<i64, Message>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, MessageRow>(&sql);
    for id in ids {
        query = query.bind(id);
    }
    let messages = query.fetch_all(state.store.pool()).await?;
    Ok(messages.into_iter().map(|row| (row.message.id, row.into_message())).collect())
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

/// The user ids of these usernames; `members_not_found` if any is unknown.
async fn resolve_usernames(state: &AppState, names: &[String]) -> DomainResult<Vec<i64>> {
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
    let sql =
        format!("SELECT id FROM users WHERE deleted_at IS NULL AND username_key IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_scalar::<_, i64>(&sql);
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
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username_key = $1 AND deleted_at IS NULL")
        .bind(username_key(receiver))
        .fetch_optional(state.store.pool())
        .await?;
    let receiver_id = found.ok_or_else(|| DomainError::NotFound("User not found.".into()))?;
    if receiver_id == caller.user_id {
        return Err(DomainError::BadRequest("Cannot chat with yourself.".into()));
    }
    let key = format!("{}:{}", caller.user_id.min(receiver_id), caller.user_id.max(receiver_id));
    let now = now_ms();
    let created: Option<i64> = sqlx::query_scalar(
        "INSERT INTO chats (kind, name, creator_id, private_key, created_at) VALUES ('private', NULL, $1, $2, $3) \
         ON CONFLICT (private_key) DO NOTHING RETURNING id",
    )
    .bind(caller.user_id)
    .bind(&key)
    .bind(now)
    .fetch_optional(state.store.pool())
    .await?;
    let chat_id = match created {
        Some(id) => id,
        None => {
            sqlx::query_scalar("SELECT id FROM chats WHERE private_key = $1")
                .bind(&key)
                .fetch_one(state.store.pool())
                .await?
        }
    };
    // Also repairs a chat whose members were never written (a crash between the two steps).
    add_member_row(state, chat_id, caller.user_id, now).await?;
    let receiver_added = add_member_row(state, chat_id, receiver_id, now).await?;
    sqlx::query("UPDATE chat_members SET archived_at = NULL WHERE chat_id = $1 AND user_id = $2")
        .bind(chat_id)
        .bind(caller.user_id)
        .execute(state.store.pool())
        .await?;
    // Once per member: opening the chat again announces nothing new.
    if receiver_added {
        announce_to(state, caller, chat_id, vec![receiver_id]);
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
    let named: Vec<String> =
        members.iter().filter(|m| username_key(m) != username_key(&caller.username)).cloned().collect();
    let others = if named.is_empty() { Vec::new() } else { resolve_usernames(state, &named).await? };
    let now = now_ms();
    let mut tx = state.store.pool().begin().await?;
    let chat_id: i64 = sqlx::query_scalar(
        "INSERT INTO chats (kind, name, creator_id, created_at) VALUES ('group', $1, $2, $3) RETURNING id",
    )
    .bind(&name)
    .bind(caller.user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    for user_id in std::iter::once(&caller.user_id).chain(&others) {
        sqlx::query("INSERT INTO chat_members (chat_id, user_id, joined_at) VALUES ($1, $2, $3)")
            .bind(chat_id)
            .bind(user_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    announce_to(state, caller, chat_id, others);
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
    for user_id in resolved {
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
        announce_to(state, caller, chat_id, added);
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
    if !may_remove_others && resolved.iter().any(|id| *id != caller.user_id) {
        return Err(DomainError::Forbidden("Only the group's creator or a moderator can remove other members.".into()));
    }
    let mut removed = Vec::new();
    for user_id in resolved {
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
    let names = sqlx::query_scalar(
        "SELECT u.username FROM chat_members m JOIN users u ON u.id = m.user_id WHERE m.chat_id = $1 ORDER BY m.joined_at, u.username",
    )
    .bind(chat_id)
    .fetch_all(state.store.pool())
    .await?;
    Ok(names)
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
        "SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} \
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
    let mut messages: Vec<Message> = rows.into_iter().map(MessageRow::into_message).collect();
    if !forward {
        messages.reverse();
    }
    complete(state, &mut messages).await?;
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
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.id = $1");
    let found: Option<MessageRow> = sqlx::query_as(&sql).bind(message_id).fetch_optional(state.store.pool()).await?;
    let mut found: Vec<Message> = found.into_iter().map(MessageRow::into_message).collect();
    // Edits announce the whole message, files and reactions included.
    complete(state, &mut found).await?;
    Ok(found.pop())
}

async fn message_by_nonce(state: &AppState, user_id: i64, nonce: &str) -> DomainResult<Option<Message>> {
    let sql = format!("SELECT {MESSAGE_COLUMNS} FROM {MESSAGE_FROM} WHERE m.user_id = $1 AND m.nonce = $2");
    let found: Option<MessageRow> =
        sqlx::query_as(&sql).bind(user_id).bind(nonce).fetch_optional(state.store.pool()).await?;
    Ok(found.map(MessageRow::into_message))
}

/// Who a new message is from, and what gives them the right to post it.
#[derive(Debug, Clone, Copy)]
pub enum Author<'a> {
    /// A signed-in person: posts into chats they are a member of, unless a guest.
    Member(&'a Caller),
    /// The bot account of a webhook `webhooks::authenticate` let in: posts into that webhook's
    /// chat while the webhook is live.
    Bot { user_id: i64, username: &'a str },
}

impl Author<'_> {
    fn user_id(self) -> i64 {
        match self {
            Author::Member(caller) => caller.user_id,
            Author::Bot { user_id, .. } => user_id,
        }
    }

    fn username(self) -> String {
        match self {
            Author::Member(caller) => caller.username.clone(),
            Author::Bot { username, .. } => username.to_string(),
        }
    }

    /// The answer when the author may not post into the chat: strangers learn nothing of it.
    fn refused(self) -> DomainError {
        match self {
            Author::Member(_) => chat_not_found(),
            Author::Bot { .. } => super::webhooks::not_found(),
        }
    }
}

/// A message to post, from whichever face: the WebSocket, ChatCLI's REST, an upload, a webhook.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    pub chat_id: i64,
    pub author: Author<'a>,
    pub body: &'a str,
    /// The author's idempotency key: posting the same one again returns the stored message.
    pub nonce: Option<&'a str>,
    /// Files the author uploaded, linked to the message in the transaction that stores it.
    pub attachments: Vec<Attachment>,
    /// The message of the same chat that this one answers.
    pub reply_to: Option<i64>,
}

impl<'a> NewMessage<'a> {
    /// A message of text alone.
    pub fn text(chat_id: i64, author: Author<'a>, body: &'a str, nonce: Option<&'a str>) -> NewMessage<'a> {
        NewMessage { chat_id, author, body, nonce, attachments: Vec::new(), reply_to: None }
    }

    /// The same message, answering `reply_to`.
    pub fn replying_to(self, reply_to: Option<i64>) -> NewMessage<'a> {
        NewMessage { reply_to, ..self }
    }
}

pub struct Posted {
    pub message: Message,
    /// False when the nonce had been used already: nothing new was stored or announced.
    pub is_new: bool,
}

/// Stores the message only if its author may post into the chat: a member, or the bot of one of
/// the chat's live webhooks. `ON CONFLICT` leaves out a second post of the same nonce.
const INSERT_MESSAGE: &str = "INSERT INTO messages (chat_id, user_id, body, created_at, nonce, reply_to) \
     SELECT $1, $2, $3, $4, $5, $6 \
     WHERE EXISTS (SELECT 1 FROM chat_members WHERE chat_id = $1 AND user_id = $2) \
        OR EXISTS (SELECT 1 FROM webhooks WHERE chat_id = $1 AND bot_user_id = $2 AND revoked_at IS NULL) \
     ON CONFLICT DO NOTHING RETURNING id";

/// Posts a message: the one path for every face. Checks the author and the text, returns the
/// stored message again for a nonce already used, stores the message with its attachments, and
/// announces it once, in id order with the chat's other messages (see `posting_turn`).
pub async fn post(state: &AppState, new: NewMessage<'_>) -> DomainResult<Posted> {
    let NewMessage { chat_id, author, body, nonce, attachments, reply_to } = new;
    if let Author::Member(caller) = author {
        ensure_can_write(caller)?;
    }
    let body = parse_text(body)?;
    let nonce = parse_nonce(nonce)?;
    let parent = match reply_to {
        Some(parent_id) => Some(answered_message(state, chat_id, author, parent_id).await?),
        None => None,
    };
    let turn = posting_turn(chat_id).await;
    if let Some(message) = posted_before(state, author, nonce).await? {
        return Ok(Posted { message, is_new: false });
    }
    let mut message = Message {
        id: 0,
        chat_id,
        user_id: author.user_id(),
        username: author.username(),
        body,
        created_at: now_ms(),
        edited_at: None,
        deleted_at: None,
        reply_to,
        pinned_at: None,
        attachments,
        parent: parent.as_ref().map(preview),
        reactions: Vec::new(),
    };
    let Some(id) = store_message(state, &message, nonce).await? else {
        // Either a concurrent post with the same nonce won, or the author may not post here.
        return match posted_before(state, author, nonce).await? {
            Some(message) => Ok(Posted { message, is_new: false }),
            None => Err(author.refused()),
        };
    };
    message.id = id;
    state.events.publish(Event::MessagePosted { message: message.clone() });
    drop(turn);
    Ok(Posted { message, is_new: true })
}

/// Inserts the message (and links its files), or None when the insert's own check refuses it.
async fn store_message(state: &AppState, message: &Message, nonce: Option<&str>) -> DomainResult<Option<i64>> {
    let insert = || {
        sqlx::query_scalar(INSERT_MESSAGE)
            .bind(message.chat_id)
            .bind(message.user_id)
            .bind(&message.body)
            .bind(message.created_at)
            .bind(nonce)
            .bind(message.reply_to)
    };
    let (chat_id, attachments) = (message.chat_id, &message.attachments);
    let backend = state.store.backend();
    if backend == Backend::Sqlite && attachments.is_empty() {
        // SQLite has one writer at a time, so ids follow commit order already, and one statement
        // holds the write lock for the shortest time (a transaction would hold it across awaits,
        // and under load other writers would wait past their busy timeout).
        return Ok(insert().fetch_optional(state.store.pool()).await?);
    }
    let mut tx = state.store.pool().begin().await?;
    if backend == Backend::Postgres {
        // Writers of one chat wait for each other here, so a message never commits after a higher id.
        sqlx::query("SELECT id FROM chats WHERE id = $1 FOR UPDATE").bind(chat_id).execute(&mut *tx).await?;
    }
    let Some(id): Option<i64> = insert().fetch_optional(&mut *tx).await? else {
        tx.rollback().await?;
        return Ok(None);
    };
    for attachment in attachments {
        super::files::link(&mut tx, &attachment.file_id, message.user_id, id, chat_id).await?;
    }
    tx.commit().await?;
    Ok(Some(id))
}

/// The message a new one answers: one of the same chat, not deleted. Strangers to the chat are
/// told it does not exist before anything is said of the message.
async fn answered_message(
    state: &AppState,
    chat_id: i64,
    author: Author<'_>,
    parent_id: i64,
) -> DomainResult<ParentRow> {
    if let Author::Member(caller) = author {
        membership(state, chat_id, caller.user_id).await?;
    }
    let found: Option<(i64, ParentRow)> = sqlx::query_as::<_, ParentInChat>(
        "SELECT m.chat_id, m.id, u.username, m.body, m.deleted_at FROM messages m JOIN users u ON u.id = m.user_id \
         WHERE m.id = $1",
    )
    .bind(parent_id)
    .fetch_optional(state.store.pool())
    .await?
    .map(|row| (row.chat_id, row.parent));
    match found {
        Some((parent_chat, parent)) if parent_chat == chat_id => {
            if parent.deleted_at.is_some() {
                return Err(DomainError::invalid("reply_to", "You cannot reply to a deleted message."));
            }
            Ok(parent)
        }
        _ => Err(DomainError::invalid("reply_to", "You can only reply to a message of this chat.")),
    }
}

#[derive(sqlx::FromRow)]
struct ParentInChat {
    chat_id: i64,
    #[sqlx(flatten)]
    parent: ParentRow,
}

/// A nonce trimmed, or none when blank.
fn parse_nonce(raw: Option<&str>) -> DomainResult<Option<&str>> {
    let nonce = raw.map(str::trim).filter(|n| !n.is_empty());
    if nonce.is_some_and(|n| n.chars().count() > NONCE_MAX_CHARS || n.contains('\0')) {
        return Err(DomainError::invalid("nonce", format!("A nonce can be at most {NONCE_MAX_CHARS} characters.")));
    }
    Ok(nonce)
}

/// The author's message stored earlier under this nonce, if any.
async fn posted_before(state: &AppState, author: Author<'_>, nonce: Option<&str>) -> DomainResult<Option<Message>> {
    match nonce {
        Some(nonce) => message_by_nonce(state, author.user_id(), nonce).await,
        None => Ok(None),
    }
}

/// Taken before storing a new message of this chat and held until it is announced: the
/// messages of one chat are then announced on this node in id order, so a client that
/// reconnects with `after` = the last id it saw misses none (two posts announced in the other
/// order would let a client see the higher id first and resume past the lower one).
async fn posting_turn(chat_id: i64) -> tokio::sync::MutexGuard<'static, ()> {
    const SHARDS: usize = 64;
    static TURNS: [tokio::sync::Mutex<()>; SHARDS] = [const { tokio::sync::Mutex::const_new(()) }; SHARDS];
    TURNS[chat_id.rem_euclid(SHARDS as i64) as usize].lock().await
}

/// The chat a message is in, for routes that name only the message (nchat's
/// `/api/messages/{id}/…`); strangers to its chat are told it does not exist.
pub async fn chat_of_message(state: &AppState, caller: &Caller, message_id: i64) -> DomainResult<i64> {
    let chat_id: Option<i64> = sqlx::query_scalar(
        "SELECT m.chat_id FROM messages m JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = $2 \
         WHERE m.id = $1 AND m.deleted_at IS NULL",
    )
    .bind(message_id)
    .bind(caller.user_id)
    .fetch_optional(state.store.pool())
    .await?;
    chat_id.ok_or_else(|| DomainError::NotFound("Message not found.".into()))
}

/// Finds a message the caller may change: in a chat they are in, not deleted.
pub(crate) async fn changeable_message(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
) -> DomainResult<Message> {
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
    if text == message.body {
        // Nothing changed: no new version, no announcement.
        return Ok(message);
    }
    let now = now_ms();
    let mut tx = state.store.pool().begin().await?;
    let updated = sqlx::query("UPDATE messages SET body = $1, edited_at = $2 WHERE id = $3 AND deleted_at IS NULL")
        .bind(&text)
        .bind(now)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    if updated.rows_affected() == 0 {
        // Deleted in the meantime.
        return Err(DomainError::NotFound("Message not found.".into()));
    }
    super::edits::record(&mut tx, message_id, caller.user_id, &message.body, &text, now).await?;
    tx.commit().await?;
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
    // The text goes, its earlier versions and its pin with it; the row stays so history keeps
    // its shape.
    let mut tx = state.store.pool().begin().await?;
    sqlx::query("UPDATE messages SET body = '', deleted_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(message_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("DELETE FROM message_edits WHERE message_id = $1").bind(message_id).execute(&mut *tx).await?;
    sqlx::query("DELETE FROM pins WHERE message_id = $1").bind(message_id).execute(&mut *tx).await?;
    tx.commit().await?;
    state.events.publish(Event::MessageDeleted { chat_id, message_id, deleted_at: now });
    Ok(now)
}

/// Announces that the caller is typing in a chat they belong to.
pub async fn typing(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    state.events.publish(Event::Typing { chat_id, user_id: caller.user_id, username: caller.username.clone() });
    Ok(())
}

/// Tells members who were just added (never the caller, who knows) that a chat is in their
/// list: `chat_created`, once per membership.
fn announce_to(state: &AppState, caller: &Caller, chat_id: i64, recipients: Vec<i64>) {
    let recipients: Vec<i64> = recipients.into_iter().filter(|id| *id != caller.user_id).collect();
    if !recipients.is_empty() {
        state.events.publish(Event::ChatCreated { chat_id, creator: caller.username.clone(), recipients });
    }
}

/// The client's own `chat_created` frame, which ChatCLI's client sends after creating a chat.
/// Every member was told when they joined (`announce_to`), so relaying it would tell them twice:
/// only the chat is checked.
pub async fn announce_chat(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<()> {
    membership(state, chat_id, caller.user_id).await?;
    Ok(())
}

/// Everyone who shares at least one chat with `user_id` (who sees their presence), themselves included.
pub async fn contacts(state: &AppState, user_id: i64) -> DomainResult<Vec<i64>> {
    let mut ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT o.user_id FROM chat_members m JOIN chat_members o ON o.chat_id = m.chat_id WHERE m.user_id = $1",
    )
    .bind(user_id)
    .fetch_all(state.store.pool())
    .await?;
    if !ids.contains(&user_id) {
        ids.push(user_id);
    }
    Ok(ids)
}
