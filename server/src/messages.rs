//! nchat's per-message routes, `/api/messages/{id}/…`: the message's id is in the path, so these
//! are axum handlers; each is one domain call, answered in nchat's envelope.

use app::api::error::{codes, ApiError, NchatError};
use app::api::messages::{
    nchat_reactions, EditHistory, EditUser, HistoryQuery, MessageReactions, NchatEdit, NchatReaction, NchatSaved,
    PinStatus, ReactionAdded, ReactionRemoved, ReactionToggled, SaveStatus, SavedList, SavedStats, Unsaved,
};
use app::api::nchat::Success;
use app::api::search::Pagination;
use app::domain::sessions::Caller;
use app::domain::store::rfc3339;
use app::domain::{chats, edits, pins, reactions, saved};
use app::domain::{AppState, DomainError};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::Value;

use crate::envelope::NchatPath;
use crate::files::query_params;

fn answer(result: Result<(StatusCode, impl serde::Serialize), ApiError>) -> Response {
    match result {
        Ok((status, data)) => (status, axum::Json(Success::new(data))).into_response(),
        Err(error) => NchatError(error).into_response(),
    }
}

/// The message the path names and its chat, for the caller: nchat answers 400 for an id that is
/// not one of its ids (Hearth's are numbers), and a message of a chat the caller is not in is 404.
async fn message_and_chat(state: &AppState, caller: &Caller, raw_id: &str) -> Result<(i64, i64), ApiError> {
    let message_id: i64 =
        raw_id.parse().map_err(|_| ApiError::new(400, codes::VALIDATION_ERROR, "Invalid message ID format."))?;
    let chat_id = chats::chat_of_message(state, caller, message_id).await.map_err(ApiError::nchat)?;
    Ok((message_id, chat_id))
}

/// The emoji (`?emoji=` first, as nchat reads DELETE's, then the body's `emoji`), and a check
/// that a `userId` sent along (nchat's client sends one) is the caller's own. The body's fields
/// are `ReactionInput`'s.
fn reaction_input(caller: &Caller, body: &[u8], query: Option<String>) -> Result<String, ApiError> {
    let invalid = |message: &str| ApiError::nchat(DomainError::invalid("emoji", message));
    let mut emoji = query_params(query).remove("emoji");
    if !body.is_empty() {
        // The envelope layer has checked that a body is a JSON object.
        let body: Value =
            serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Request body must be a JSON object."))?;
        match body.get("emoji") {
            None | Some(Value::Null) => {}
            Some(Value::String(text)) => {
                emoji.get_or_insert_with(|| text.clone());
            }
            Some(_) => return Err(invalid("emoji must be a string.")),
        }
        check_own_id(caller, &body, "You can only react as yourself.")?;
    }
    emoji.ok_or_else(|| invalid("emoji is required."))
}

/// The body as JSON (the envelope layer has checked that a body is a JSON object).
fn json_object(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|_| ApiError::bad_request("Request body must be a JSON object."))
}

/// nchat's clients name themselves as `userId`: someone else's id is refused.
fn check_own_id(caller: &Caller, body: &Value, refusal: &str) -> Result<(), ApiError> {
    let own_id = caller.user_id.to_string();
    match body.get("userId") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(id)) if *id == own_id => Ok(()),
        Some(Value::Number(id)) if id.to_string() == own_id => Ok(()),
        Some(_) => Err(ApiError::new(403, codes::FORBIDDEN, refusal)),
    }
}

/// `message_and_chat`, and a check that a `channelId` sent along is that chat.
async fn message_and_chat_checked(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    body: &[u8],
) -> Result<(i64, i64), ApiError> {
    let (message_id, chat_id) = message_and_chat(state, caller, raw_id).await?;
    if body.is_empty() {
        return Ok((message_id, chat_id));
    }
    let body = json_object(body)?;
    check_own_id(caller, &body, "You can only act as yourself.")?;
    let named = match body.get("channelId") {
        None | Some(Value::Null) => return Ok((message_id, chat_id)),
        Some(Value::String(id)) => id.clone(),
        Some(Value::Number(id)) => id.to_string(),
        Some(_) => String::new(),
    };
    if named != chat_id.to_string() {
        return Err(ApiError::nchat(DomainError::invalid("channelId", "channelId is not the message's channel.")));
    }
    Ok((message_id, chat_id))
}

/// What a write to a message's reactions asks for.
#[derive(Clone, Copy)]
enum Change {
    Add,
    Remove,
    Toggle,
}

/// Applies the caller's change; returns whether their reaction is now on, and the message's
/// reactions as nchat lists them.
async fn change(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    emoji: &str,
    change: Change,
) -> Result<(bool, Vec<NchatReaction>), ApiError> {
    let (message_id, chat_id) = message_and_chat(state, caller, raw_id).await?;
    let changed = match change {
        Change::Add => {
            reactions::set_reaction(state, caller, chat_id, message_id, emoji, true).await.map(|l| (true, l))
        }
        Change::Remove => {
            reactions::set_reaction(state, caller, chat_id, message_id, emoji, false).await.map(|l| (false, l))
        }
        Change::Toggle => reactions::toggle_reaction(state, caller, chat_id, message_id, emoji).await,
    };
    let (on, list) = changed.map_err(ApiError::nchat)?;
    Ok((on, nchat_reactions(&list, caller.user_id)))
}

/// `GET /api/messages/{id}/reactions`: nchat's ReactionCount list.
pub async fn list_reactions(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
) -> Response {
    let result = async {
        let (message_id, chat_id) = message_and_chat(&state, &caller, &id).await?;
        let list = reactions::reactions_of(&state, &caller, chat_id, message_id).await.map_err(ApiError::nchat)?;
        Ok((StatusCode::OK, MessageReactions { reactions: nchat_reactions(&list, caller.user_id) }))
    };
    answer(result.await)
}

/// `POST /api/messages/{id}/reactions {emoji}`: 201 `{added: true}`.
pub async fn add_reaction(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let result = async {
        let emoji = reaction_input(&caller, &body, None)?;
        let (_, reactions) = change(&state, &caller, &id, &emoji, Change::Add).await?;
        Ok((StatusCode::CREATED, ReactionAdded { added: true, reactions }))
    };
    answer(result.await)
}

/// `DELETE /api/messages/{id}/reactions` with `?emoji=` or `{emoji}`: `{removed: true}`.
pub async fn remove_reaction(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let result = async {
        let emoji = reaction_input(&caller, &body, query)?;
        let (_, reactions) = change(&state, &caller, &id, &emoji, Change::Remove).await?;
        Ok((StatusCode::OK, ReactionRemoved { removed: true, reactions }))
    };
    answer(result.await)
}

/// `PATCH /api/messages/{id}/reactions {emoji}`: toggles, `{action: "added" | "removed"}`.
pub async fn toggle_reaction(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let result = async {
        let emoji = reaction_input(&caller, &body, None)?;
        let (on, reactions) = change(&state, &caller, &id, &emoji, Change::Toggle).await?;
        Ok((StatusCode::OK, ReactionToggled { action: if on { "added" } else { "removed" }.into(), reactions }))
    };
    answer(result.await)
}

async fn pin_status(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    body: &[u8],
    change: Option<bool>,
) -> Result<PinStatus, ApiError> {
    let (message_id, chat_id) = message_and_chat_checked(state, caller, raw_id, body).await?;
    let is_pinned = match change {
        Some(pinned) => pins::set_pinned(state, caller, chat_id, message_id, pinned).await.map_err(ApiError::nchat)?,
        None => pins::is_pinned(state, caller, chat_id, message_id).await.map_err(ApiError::nchat)?,
    };
    Ok(PinStatus { message_id: message_id.to_string(), channel_id: chat_id.to_string(), is_pinned })
}

/// `GET /api/messages/{id}/pin`: `{isPinned, messageId, channelId}`.
pub async fn pin_get(State(state): State<AppState>, NchatPath(id): NchatPath<String>, caller: Caller) -> Response {
    answer(pin_status(&state, &caller, &id, &[], None).await.map(|status| (StatusCode::OK, status)))
}

/// `POST /api/messages/{id}/pin {channelId?, userId?}`: 201, pinned for everyone in the chat.
pub async fn pin_post(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    body: Bytes,
) -> Response {
    answer(pin_status(&state, &caller, &id, &body, Some(true)).await.map(|status| (StatusCode::CREATED, status)))
}

/// `DELETE /api/messages/{id}/pin`: unpinned.
pub async fn pin_delete(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    body: Bytes,
) -> Response {
    answer(pin_status(&state, &caller, &id, &body, Some(false)).await.map(|status| (StatusCode::OK, status)))
}

/// `GET /api/messages/{id}/history?limit=&offset=`: nchat's `{edits, totalCount, hasMore}`.
pub async fn history(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    RawQuery(query): RawQuery,
) -> Response {
    let result = async {
        let params = query_params(query);
        let page = HistoryQuery { limit: query_number(&params, "limit")?, offset: query_number(&params, "offset")? };
        let (message_id, chat_id) = message_and_chat(&state, &caller, &id).await?;
        let (list, total) = edits::history(&state, &caller, chat_id, message_id, page.limit, page.offset)
            .await
            .map_err(ApiError::nchat)?;
        let shown = page.offset.unwrap_or(0) + list.len() as i64;
        let edits = list
            .into_iter()
            .map(|edit| NchatEdit {
                id: edit.id.to_string(),
                message_id: message_id.to_string(),
                editor_id: edit.editor_id.to_string(),
                previous_content: edit.previous_body,
                new_content: edit.new_body,
                edited_at: rfc3339(edit.edited_at),
                editor: EditUser {
                    id: edit.editor_id.to_string(),
                    username: edit.editor,
                    display_name: edit.editor_display_name,
                },
            })
            .collect();
        Ok((StatusCode::OK, EditHistory { edits, total_count: total, has_more: shown < total }))
    };
    answer(result.await)
}

/// A whole number from the query string, or VALIDATION_ERROR naming the field.
fn query_number(
    params: &std::collections::HashMap<String, String>,
    field: &'static str,
) -> Result<Option<i64>, ApiError> {
    match params.get(field).map(|raw| raw.trim()).filter(|raw| !raw.is_empty()) {
        None => Ok(None),
        Some(raw) => raw
            .parse()
            .map(Some)
            .map_err(|_| ApiError::nchat(DomainError::invalid(field, format!("{field} must be a whole number.")))),
    }
}

/// `GET /api/messages/{id}/save`: `{isSaved, saved?}`.
pub async fn save_get(State(state): State<AppState>, NchatPath(id): NchatPath<String>, caller: Caller) -> Response {
    let result = async {
        let (message_id, chat_id) = message_and_chat(&state, &caller, &id).await?;
        let status = saved::saved_status(&state, &caller, chat_id, message_id).await.map_err(ApiError::nchat)?;
        let saved = status.map(|s| NchatSaved::new(caller.user_id, s));
        Ok((StatusCode::OK, SaveStatus { is_saved: saved.is_some(), saved }))
    };
    answer(result.await)
}

/// `POST /api/messages/{id}/save {channelId?, note?}`: nchat's SavedMessage; 409 when it was
/// saved already, as nchat answers.
pub async fn save_post(
    State(state): State<AppState>,
    NchatPath(id): NchatPath<String>,
    caller: Caller,
    body: Bytes,
) -> Response {
    let result = async {
        let (message_id, chat_id) = message_and_chat_checked(&state, &caller, &id, &body).await?;
        let note = match body.is_empty() {
            true => None,
            false => match json_object(&body)?.get("note") {
                None | Some(Value::Null) => None,
                Some(Value::String(note)) => Some(note.clone()),
                Some(_) => return Err(ApiError::nchat(DomainError::invalid("note", "note must be a string."))),
            },
        };
        let (saved, new) =
            saved::save(&state, &caller, chat_id, message_id, note.as_deref()).await.map_err(ApiError::nchat)?;
        if !new {
            return Err(ApiError::new(409, codes::CONFLICT, "Message is already saved."));
        }
        Ok((StatusCode::OK, NchatSaved::new(caller.user_id, saved)))
    };
    answer(result.await)
}

/// `DELETE /api/messages/{id}/save`: `{messageId}`; 404 when it was not saved.
pub async fn save_delete(State(state): State<AppState>, NchatPath(id): NchatPath<String>, caller: Caller) -> Response {
    let result = async {
        let (message_id, chat_id) = message_and_chat(&state, &caller, &id).await?;
        if !saved::unsave(&state, &caller, chat_id, message_id).await.map_err(ApiError::nchat)? {
            return Err(ApiError::new(404, codes::NOT_FOUND, "Saved message not found."));
        }
        Ok((StatusCode::OK, Unsaved { message_id: message_id.to_string() }))
    };
    answer(result.await)
}

/// `GET /api/saved-messages?channelId=&limit=&offset=`: `{messages, pagination, stats}`.
pub async fn saved_list(State(state): State<AppState>, caller: Caller, RawQuery(query): RawQuery) -> Response {
    let result = async {
        let params = query_params(query);
        let (limit, offset) = (query_number(&params, "limit")?, query_number(&params, "offset")?);
        let chat_id = query_number(&params, "channelId")?;
        let (list, total) = saved::list(&state, &caller, chat_id, limit, offset).await.map_err(ApiError::nchat)?;
        let (limit, offset) = (limit.unwrap_or(50), offset.unwrap_or(0));
        let messages: Vec<NchatSaved> = list.into_iter().map(|s| NchatSaved::new(caller.user_id, s)).collect();
        let pagination = Pagination { total, limit, offset, has_more: offset + (messages.len() as i64) < total };
        Ok((StatusCode::OK, SavedList { messages, pagination, stats: SavedStats { total_saved: total } }))
    };
    answer(result.await)
}
