//! Edit history: every edit of a message keeps the text it replaced, and members of the chat can
//! read the versions. Deleting a message deletes its history too.

use super::chats::changeable_message;
use super::sessions::Caller;
use super::{AppState, DomainResult};

/// The most edits one page of history lists (nchat's limit).
pub const HISTORY_PAGE_MAX: i64 = 100;

/// One edit: who made it, the text before and after, and when.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Edit {
    pub id: i64,
    pub editor_id: i64,
    pub editor: String,
    pub editor_display_name: String,
    pub previous_body: String,
    pub new_body: String,
    pub edited_at: i64,
}

/// Stores one edit, in the transaction that changes the message.
pub(super) async fn record(
    conn: &mut sqlx::AnyConnection,
    message_id: i64,
    editor_id: i64,
    previous: &str,
    new: &str,
    at: i64,
) -> DomainResult<()> {
    sqlx::query(
        "INSERT INTO message_edits (message_id, editor_id, previous_body, new_body, edited_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(message_id)
    .bind(editor_id)
    .bind(previous)
    .bind(new)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(())
}

/// A page of a message's edits, oldest first, and how many there are in all.
pub async fn history(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    limit: Option<i64>,
    offset: Option<i64>,
) -> DomainResult<(Vec<Edit>, i64)> {
    let (limit, offset) = super::page_window(limit, offset, HISTORY_PAGE_MAX)?;
    changeable_message(state, caller, chat_id, message_id).await?;
    let pool = state.store.pool();
    let edits: Vec<Edit> = sqlx::query_as(
        "SELECT e.id, e.editor_id, u.username AS editor, COALESCE(u.display_name, u.username) AS editor_display_name, \
         e.previous_body, e.new_body, e.edited_at FROM message_edits e JOIN users u ON u.id = e.editor_id \
         WHERE e.message_id = $1 ORDER BY e.id LIMIT $2 OFFSET $3",
    )
    .bind(message_id)
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM message_edits WHERE message_id = $1")
        .bind(message_id)
        .fetch_one(pool)
        .await?;
    Ok((edits, total))
}
