//! Saved messages: anyone in a chat (guests too) may keep a message for themselves, with an
//! optional note. The list shows only what they can still see: messages not deleted, in chats
//! they are still in.

use super::chats::{changeable_message, complete, messages_by_ids, Message};
use super::sessions::Caller;
use super::store::now_ms;
use super::{AppState, DomainError, DomainResult};

pub const NOTE_MAX_CHARS: usize = 500;
pub const PAGE_MAX: i64 = 100;

/// A saved message, with the saver's note and when they saved it.
#[derive(Debug, Clone)]
pub struct Saved {
    pub message: Message,
    pub note: Option<String>,
    pub saved_at: i64,
}

fn parse_note(note: Option<&str>) -> DomainResult<Option<String>> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if note.is_some_and(|n| n.chars().count() > NOTE_MAX_CHARS || n.contains('\0')) {
        return Err(DomainError::invalid("note", format!("A note can be at most {NOTE_MAX_CHARS} characters.")));
    }
    Ok(note.map(str::to_string))
}

/// Saves a message for the caller; returns it, and false when it was saved already (then the
/// note is left as it was).
pub async fn save(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    note: Option<&str>,
) -> DomainResult<(Saved, bool)> {
    let note = parse_note(note)?;
    let message = changeable_message(state, caller, chat_id, message_id).await?;
    let inserted = sqlx::query(
        "INSERT INTO saved_messages (user_id, message_id, note, saved_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(caller.user_id)
    .bind(message_id)
    .bind(&note)
    .bind(now_ms())
    .execute(state.store.pool())
    .await?
    .rows_affected()
        > 0;
    let saved =
        status_of(state, caller, message).await?.ok_or_else(|| DomainError::Internal("saved row missing".into()))?;
    Ok((saved, inserted))
}

/// Forgets a saved message; false when it was not saved.
pub async fn unsave(state: &AppState, caller: &Caller, chat_id: i64, message_id: i64) -> DomainResult<bool> {
    changeable_message(state, caller, chat_id, message_id).await?;
    let removed = sqlx::query("DELETE FROM saved_messages WHERE user_id = $1 AND message_id = $2")
        .bind(caller.user_id)
        .bind(message_id)
        .execute(state.store.pool())
        .await?
        .rows_affected();
    Ok(removed > 0)
}

/// The caller's saved copy of a message they can see, if they saved it.
pub async fn saved_status(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
) -> DomainResult<Option<Saved>> {
    let message = changeable_message(state, caller, chat_id, message_id).await?;
    status_of(state, caller, message).await
}

async fn status_of(state: &AppState, caller: &Caller, message: Message) -> DomainResult<Option<Saved>> {
    let row: Option<SavedRow> =
        sqlx::query_as("SELECT message_id, note, saved_at FROM saved_messages WHERE user_id = $1 AND message_id = $2")
            .bind(caller.user_id)
            .bind(message.id)
            .fetch_optional(state.store.pool())
            .await?;
    Ok(row.map(|row| Saved { message, note: row.note, saved_at: row.saved_at }))
}

#[derive(sqlx::FromRow)]
struct SavedRow {
    message_id: i64,
    note: Option<String>,
    saved_at: i64,
}

/// A page of the caller's saved messages, the latest saved first (of one chat when `chat_id`
/// is given), and how many there are in all.
pub async fn list(
    state: &AppState,
    caller: &Caller,
    chat_id: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> DomainResult<(Vec<Saved>, i64)> {
    let (limit, offset) = super::page_window(limit, offset, PAGE_MAX)?;
    // What the caller can still see: not deleted, in a chat they are in.
    let visible = "FROM saved_messages s JOIN messages m ON m.id = s.message_id \
         JOIN chat_members c ON c.chat_id = m.chat_id AND c.user_id = s.user_id \
         WHERE s.user_id = $1 AND m.deleted_at IS NULL AND ($2 = 0 OR m.chat_id = $2)";
    let pool = state.store.pool();
    let rows: Vec<SavedRow> = sqlx::query_as(&format!(
        "SELECT s.message_id, s.note, s.saved_at {visible} ORDER BY s.saved_at DESC, s.message_id DESC LIMIT $3 OFFSET $4"
    ))
    .bind(caller.user_id)
    .bind(chat_id.unwrap_or(0))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) {visible}"))
        .bind(caller.user_id)
        .bind(chat_id.unwrap_or(0))
        .fetch_one(pool)
        .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
    let mut by_id = messages_by_ids(state, &ids).await?;
    let (rows, mut messages): (Vec<SavedRow>, Vec<Message>) =
        rows.into_iter().filter_map(|row| by_id.remove(&row.message_id).map(|message| (row, message))).unzip();
    complete(state, &mut messages).await?;
    let saved = rows
        .into_iter()
        .zip(messages)
        .map(|(row, message)| Saved { message, note: row.note, saved_at: row.saved_at })
        .collect();
    Ok((saved, total))
}
