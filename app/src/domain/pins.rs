//! Pins: members who may write pin and unpin messages of their chat; everyone in it sees the
//! pinned list. A deleted message loses its pin (`chats::delete_message`).

use super::chats::{changeable_message, complete, ensure_can_write, membership, messages_by_ids, Message};
use super::events::Event;
use super::sessions::Caller;
use super::store::now_ms;
use super::{AppState, DomainError, DomainResult};

/// Pins one chat may hold at once (Slack's limit too).
pub const PINS_PER_CHAT_MAX: i64 = 100;

/// A pinned message, who pinned it and when.
#[derive(Debug, Clone)]
pub struct Pin {
    pub message: Message,
    pub pinned_by: String,
    pub pinned_at: i64,
}

/// Pins or unpins a message; doing what is already done changes nothing and announces nothing.
/// Returns whether the message is pinned now.
pub async fn set_pinned(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    pinned: bool,
) -> DomainResult<bool> {
    ensure_can_write(caller)?;
    let message = changeable_message(state, caller, chat_id, message_id).await?;
    let pool = state.store.pool();
    let changed = if pinned {
        sqlx::query(
            "INSERT INTO pins (message_id, chat_id, pinned_by, pinned_at) SELECT $1, $2, $3, $4 \
             WHERE (SELECT COUNT(*) FROM pins WHERE chat_id = $2) < $5 ON CONFLICT DO NOTHING",
        )
        .bind(message_id)
        .bind(chat_id)
        .bind(caller.user_id)
        .bind(now_ms())
        .bind(PINS_PER_CHAT_MAX)
        .execute(pool)
        .await?
        .rows_affected()
            > 0
    } else {
        sqlx::query("DELETE FROM pins WHERE message_id = $1").bind(message_id).execute(pool).await?.rows_affected() > 0
    };
    if pinned && !changed && message.pinned_at.is_none() {
        return Err(DomainError::invalid(
            "messageID",
            format!("A chat can have at most {PINS_PER_CHAT_MAX} pinned messages: unpin one first."),
        ));
    }
    if changed {
        state.events.publish(Event::PinChanged { chat_id, message_id, pinned, username: caller.username.clone() });
    }
    Ok(pinned)
}

/// Whether a message the caller can see is pinned.
pub async fn is_pinned(state: &AppState, caller: &Caller, chat_id: i64, message_id: i64) -> DomainResult<bool> {
    Ok(changeable_message(state, caller, chat_id, message_id).await?.pinned_at.is_some())
}

#[derive(sqlx::FromRow)]
struct PinRow {
    message_id: i64,
    pinned_by: String,
    pinned_at: i64,
}

/// The chat's pinned messages, the latest pinned first.
pub async fn pinned(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<Vec<Pin>> {
    membership(state, chat_id, caller.user_id).await?;
    let rows: Vec<PinRow> = sqlx::query_as(
        "SELECT p.message_id, u.username AS pinned_by, p.pinned_at FROM pins p JOIN users u ON u.id = p.pinned_by \
         WHERE p.chat_id = $1 ORDER BY p.pinned_at DESC, p.message_id DESC",
    )
    .bind(chat_id)
    .fetch_all(state.store.pool())
    .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.message_id).collect();
    let mut by_id = messages_by_ids(state, &ids).await?;
    let (rows, mut messages): (Vec<PinRow>, Vec<Message>) =
        rows.into_iter().filter_map(|row| by_id.remove(&row.message_id).map(|message| (row, message))).unzip();
    complete(state, &mut messages).await?;
    Ok(rows
        .into_iter()
        .zip(messages)
        .map(|(row, message)| Pin { message, pinned_by: row.pinned_by, pinned_at: row.pinned_at })
        .collect())
}
