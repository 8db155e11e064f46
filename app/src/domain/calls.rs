//! Voice calls: who may ring, answer, decline, hang up and join, and when a call ends. Every
//! call's state lives in the database, so all nodes agree on it; changes go out as events.
//!
//! A call rings (`ringing`) until someone answers (`active`) or it ends: the caller cancels,
//! everyone else declines, nobody answers in time, a hang-up leaves fewer than two people in it,
//! or its last participant's call socket closes. A chat has at most one call that is not over.

use rand::RngCore;

use super::chats;
use super::error::is_unique_violation;
use super::events::{CallChange, Event};
use super::livekit::CallToken;
use super::names::Role;
use super::sessions::Caller;
use super::store::{ms, now_ms};
use super::{AppState, DomainError, DomainResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    Ringing,
    Active,
    Ended,
}

impl CallState {
    pub fn as_str(self) -> &'static str {
        match self {
            CallState::Ringing => "ringing",
            CallState::Active => "active",
            CallState::Ended => "ended",
        }
    }

    fn parse(raw: &str) -> CallState {
        match raw {
            "ringing" => CallState::Ringing,
            "active" => CallState::Active,
            // Anything unexpected counts as over: a call nobody can join harms no one.
            _ => CallState::Ended,
        }
    }
}

/// The `state` column reads as a `CallState` (never an error: see `parse`).
impl sqlx::Type<sqlx::Any> for CallState {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <String as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'r> sqlx::Decode<'r, sqlx::Any> for CallState {
    fn decode(value: sqlx::any::AnyValueRef<'r>) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(CallState::parse(&<String as sqlx::Decode<sqlx::Any>>::decode(value)?))
    }
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Call {
    pub id: String,
    pub chat_id: i64,
    pub initiator_id: i64,
    /// The initiator's username.
    #[sqlx(rename = "username")]
    pub initiator: String,
    pub state: CallState,
    pub created_at: i64,
}

/// Why a call action was refused. `code` is the wire's (`call_error`, `call_ws_error`).
#[derive(Debug)]
pub enum CallError {
    /// No such call (or not in the chat named with it), or no live call in the chat.
    NotFound,
    /// Not a member of the call's chat, a guest ringing, or hanging up a call one is not in.
    AccessDenied(String),
    /// The call is over.
    NotActive,
    /// The chat has a live call already: answer that one (`call_accept` with its id).
    InProgress {
        call_id: String,
    },
    Failed(DomainError),
}

pub type CallResult<T> = Result<T, CallError>;

impl CallError {
    pub fn code(&self) -> &'static str {
        match self {
            CallError::NotFound => "CALL_NOT_FOUND",
            CallError::AccessDenied(_) => "ACCESS_DENIED",
            CallError::NotActive => "CALL_NOT_ACTIVE",
            CallError::InProgress { .. } => "CALL_IN_PROGRESS",
            CallError::Failed(_) => "INTERNAL_ERROR",
        }
    }

    /// The live call an `InProgress` refusal points to.
    pub fn call_id(&self) -> Option<&str> {
        match self {
            CallError::InProgress { call_id } => Some(call_id),
            _ => None,
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::NotFound => f.write_str("Call not found."),
            CallError::AccessDenied(why) => f.write_str(why),
            CallError::NotActive => f.write_str("This call has ended."),
            CallError::InProgress { .. } => f.write_str("A call is already going on in this chat."),
            CallError::Failed(error) => write!(f, "{error}"),
        }
    }
}

impl From<DomainError> for CallError {
    fn from(error: DomainError) -> Self {
        CallError::Failed(error)
    }
}

impl From<sqlx::Error> for CallError {
    fn from(error: sqlx::Error) -> Self {
        CallError::Failed(error.into())
    }
}

/// The HTTP routes' reading: statuses come from the domain error.
impl From<CallError> for DomainError {
    fn from(error: CallError) -> Self {
        let message = error.to_string();
        match error {
            CallError::NotFound => DomainError::NotFound(message),
            CallError::AccessDenied(_) => DomainError::Forbidden(message),
            CallError::NotActive | CallError::InProgress { .. } => DomainError::Conflict(message),
            CallError::Failed(error) => error,
        }
    }
}

fn not_a_member() -> CallError {
    CallError::AccessDenied("You are not a member of this chat.".into())
}

/// The columns a `Call` reads from, with `calls c JOIN users u ON u.id = c.initiator_id`.
const CALL_COLUMNS: &str = "c.id, c.chat_id, c.initiator_id, u.username, c.state, c.created_at";

/// 128 random bits as hex: a call id cannot be guessed.
fn new_call_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Only strings shaped like Hearth's ids can name a call; others never reach the database.
fn plausible_id(call_id: &str) -> bool {
    !call_id.is_empty() && call_id.len() <= 64 && call_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

async fn call_by_id(state: &AppState, call_id: &str) -> CallResult<Option<Call>> {
    if !plausible_id(call_id) {
        return Ok(None);
    }
    let sql = format!("SELECT {CALL_COLUMNS} FROM calls c JOIN users u ON u.id = c.initiator_id WHERE c.id = $1");
    Ok(sqlx::query_as(&sql).bind(call_id).fetch_optional(state.store.pool()).await?)
}

/// The chat's ringing or active call.
async fn live_call_in(state: &AppState, chat_id: i64) -> CallResult<Option<Call>> {
    let sql = format!(
        "SELECT {CALL_COLUMNS} FROM calls c JOIN users u ON u.id = c.initiator_id \
         WHERE c.chat_id = $1 AND c.state <> 'ended'"
    );
    Ok(sqlx::query_as(&sql).bind(chat_id).fetch_optional(state.store.pool()).await?)
}

async fn ensure_member(state: &AppState, caller: &Caller, chat_id: i64) -> CallResult<()> {
    if chats::is_member(state, chat_id, caller.user_id).await? {
        Ok(())
    } else {
        Err(not_a_member())
    }
}

async fn member_ids(state: &AppState, chat_id: i64) -> CallResult<Vec<i64>> {
    Ok(sqlx::query_scalar("SELECT user_id FROM chat_members WHERE chat_id = $1")
        .bind(chat_id)
        .fetch_all(state.store.pool())
        .await?)
}

fn announce(state: &AppState, call: &Call, recipients: Vec<i64>, change: CallChange) {
    state.events.publish(Event::CallChanged { chat_id: call.chat_id, call_id: call.id.clone(), recipients, change });
}

async fn announce_to_members(state: &AppState, call: &Call, change: CallChange) -> CallResult<()> {
    let members = member_ids(state, call.chat_id).await?;
    announce(state, call, members, change);
    Ok(())
}

/// True while the user is in the call (joined, not left).
async fn is_present(state: &AppState, call_id: &str, user_id: i64) -> CallResult<bool> {
    let row: Option<i64> = sqlx::query_scalar(
        "SELECT user_id FROM call_participants \
         WHERE call_id = $1 AND user_id = $2 AND joined_at IS NOT NULL AND left_at IS NULL",
    )
    .bind(call_id)
    .bind(user_id)
    .fetch_optional(state.store.pool())
    .await?;
    Ok(row.is_some())
}

async fn present_count(state: &AppState, call_id: &str) -> CallResult<i64> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM call_participants WHERE call_id = $1 AND joined_at IS NOT NULL AND left_at IS NULL",
    )
    .bind(call_id)
    .fetch_one(state.store.pool())
    .await?;
    Ok(count)
}

/// The chat's live call as one member should learn of it on joining the chat (a page that loaded
/// or reconnected mid-call): ringing for them, or on (accepted by them when they are in it).
/// None when there is no live call, or it rings but they declined it.
pub async fn live_call_for(state: &AppState, caller: &Caller, chat_id: i64) -> CallResult<Option<(Call, CallChange)>> {
    let Some(call) = live_call_in(state, chat_id).await? else { return Ok(None) };
    let change = match call.state {
        CallState::Ringing => {
            let declined: Option<i64> = sqlx::query_scalar(
                "SELECT user_id FROM call_participants WHERE call_id = $1 AND user_id = $2 AND declined_at IS NOT NULL",
            )
            .bind(&call.id)
            .bind(caller.user_id)
            .fetch_optional(state.store.pool())
            .await?;
            if declined.is_some() {
                return Ok(None);
            }
            CallChange::Invited { caller: call.initiator.clone() }
        }
        CallState::Active => {
            let accepted_by = if is_present(state, &call.id, caller.user_id).await? {
                caller.username.clone()
            } else {
                call.initiator.clone()
            };
            CallChange::Accepted { accepted_by }
        }
        CallState::Ended => return Ok(None),
    };
    Ok(Some((call, change)))
}

/// Rings the chat's other members. The chat's live call, if any, is named in the refusal.
pub async fn invite(state: &AppState, caller: &Caller, chat_id: i64) -> CallResult<Call> {
    ensure_member(state, caller, chat_id).await?;
    if caller.role == Role::Guest {
        return Err(CallError::AccessDenied("Guests cannot start calls.".into()));
    }
    let call_id = new_call_id();
    let now = now_ms();
    let mut tx = state.store.pool().begin().await?;
    let inserted = sqlx::query(
        "INSERT INTO calls (id, chat_id, initiator_id, state, created_at) VALUES ($1, $2, $3, 'ringing', $4)",
    )
    .bind(&call_id)
    .bind(chat_id)
    .bind(caller.user_id)
    .bind(now)
    .execute(&mut *tx)
    .await;
    match inserted {
        Ok(_) => {}
        Err(error) if is_unique_violation(&error) => {
            drop(tx);
            let live = live_call_in(state, chat_id).await?;
            // The live call ended in between: the caller may simply try again.
            return Err(live.map_or(CallError::NotActive, |call| CallError::InProgress { call_id: call.id }));
        }
        Err(error) => return Err(error.into()),
    }
    sqlx::query("INSERT INTO call_participants (call_id, user_id, joined_at) VALUES ($1, $2, $3)")
        .bind(&call_id)
        .bind(caller.user_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let call = Call {
        id: call_id,
        chat_id,
        initiator_id: caller.user_id,
        initiator: caller.username.clone(),
        state: CallState::Ringing,
        created_at: now,
    };
    // The caller's own socket is answered directly; everyone else's ring.
    let others = member_ids(state, chat_id).await?.into_iter().filter(|id| *id != caller.user_id).collect();
    announce(state, &call, others, CallChange::Invited { caller: caller.username.clone() });
    Ok(call)
}

/// Puts the caller in the call, answering it when it rings for them; `socket_id` names the
/// call socket they joined with. True when they were not in it already.
async fn take_part(state: &AppState, caller: &Caller, call: &Call, socket_id: Option<&str>) -> CallResult<bool> {
    let now = now_ms();
    if caller.user_id == call.initiator_id {
        if call_by_id(state, &call.id).await?.is_none_or(|c| c.state == CallState::Ended) {
            return Err(CallError::NotActive);
        }
    } else {
        let answered = sqlx::query(
            "UPDATE calls SET state = 'active', answered_at = COALESCE(answered_at, $1) WHERE id = $2 AND state <> 'ended'",
        )
        .bind(now)
        .bind(&call.id)
        .execute(state.store.pool())
        .await?;
        if answered.rows_affected() == 0 {
            return Err(CallError::NotActive);
        }
    }
    let was_in = is_present(state, &call.id, caller.user_id).await?;
    sqlx::query(
        "INSERT INTO call_participants (call_id, user_id, joined_at, socket_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (call_id, user_id) DO UPDATE SET \
           joined_at = COALESCE(call_participants.joined_at, excluded.joined_at), left_at = NULL, \
           socket_id = COALESCE(excluded.socket_id, call_participants.socket_id)",
    )
    .bind(&call.id)
    .bind(caller.user_id)
    .bind(now)
    .bind(socket_id)
    .execute(state.store.pool())
    .await?;
    Ok(!was_in)
}

/// What `call_accept` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Answered {
    /// The caller joined; everyone was told.
    Joined(Call),
    /// They were in the call already; nothing new to announce.
    AlreadyIn(Call),
}

pub async fn accept(state: &AppState, caller: &Caller, chat_id: i64, call_id: &str) -> CallResult<Answered> {
    ensure_member(state, caller, chat_id).await?;
    let call = call_by_id(state, call_id).await?.filter(|c| c.chat_id == chat_id).ok_or(CallError::NotFound)?;
    if call.state == CallState::Ended {
        return Err(CallError::NotActive);
    }
    if !take_part(state, caller, &call, None).await? {
        return Ok(Answered::AlreadyIn(call));
    }
    let call = Call { state: CallState::Active, ..call };
    announce_to_members(state, &call, CallChange::Accepted { accepted_by: caller.username.clone() }).await?;
    Ok(Answered::Joined(call))
}

/// Declines the chat's live call. The caller declining cancels it; someone in it leaves it.
pub async fn decline(state: &AppState, caller: &Caller, chat_id: i64) -> CallResult<Call> {
    ensure_member(state, caller, chat_id).await?;
    let call = live_call_in(state, chat_id).await?.ok_or(CallError::NotFound)?;
    if caller.user_id == call.initiator_id || is_present(state, &call.id, caller.user_id).await? {
        return leave(state, caller, call).await;
    }
    turn_down(state, caller, call).await
}

/// Records a decline; a ringing call that nobody is left to answer ends.
async fn turn_down(state: &AppState, caller: &Caller, call: Call) -> CallResult<Call> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO call_participants (call_id, user_id, declined_at) VALUES ($1, $2, $3) \
         ON CONFLICT (call_id, user_id) DO UPDATE SET declined_at = excluded.declined_at",
    )
    .bind(&call.id)
    .bind(caller.user_id)
    .bind(now)
    .execute(state.store.pool())
    .await?;
    let change = CallChange::Declined { by: caller.username.clone(), initiator: call.initiator.clone() };
    announce_to_members(state, &call, change).await?;
    if call.state == CallState::Ringing {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM chat_members m WHERE m.chat_id = $1 AND m.user_id <> $2 AND NOT EXISTS \
             (SELECT 1 FROM call_participants p WHERE p.call_id = $3 AND p.user_id = m.user_id AND p.declined_at IS NOT NULL)",
        )
        .bind(call.chat_id)
        .bind(call.initiator_id)
        .bind(&call.id)
        .fetch_one(state.store.pool())
        .await?;
        if waiting == 0 {
            end(state, &call, "declined", Some(caller), Ending::IfRinging).await?;
        }
    }
    Ok(call)
}

/// Hangs up the chat's live call (`call_end`).
pub async fn hang_up(state: &AppState, caller: &Caller, chat_id: i64) -> CallResult<Call> {
    ensure_member(state, caller, chat_id).await?;
    let call = live_call_in(state, chat_id).await?.ok_or(CallError::NotFound)?;
    leave(state, caller, call).await
}

/// The caller leaves. Their own ringing call is cancelled; a call left with fewer than two
/// people ends. Hanging up a call that rings for you declines it.
async fn leave(state: &AppState, caller: &Caller, call: Call) -> CallResult<Call> {
    let left = sqlx::query(
        "UPDATE call_participants SET left_at = $1 \
         WHERE call_id = $2 AND user_id = $3 AND joined_at IS NOT NULL AND left_at IS NULL",
    )
    .bind(now_ms())
    .bind(&call.id)
    .bind(caller.user_id)
    .execute(state.store.pool())
    .await?;
    let is_initiator = caller.user_id == call.initiator_id;
    if left.rows_affected() == 0 && !is_initiator {
        return match call.state {
            CallState::Ringing => turn_down(state, caller, call).await,
            _ => Err(CallError::AccessDenied("You are not in this call.".into())),
        };
    }
    if call.state == CallState::Ringing && is_initiator {
        // Unless someone answered in the meantime: then it is an ordinary hang-up.
        if end(state, &call, "cancelled", Some(caller), Ending::IfRinging).await? {
            return Ok(call);
        }
    }
    if present_count(state, &call.id).await? < 2 {
        end(state, &call, "hangup", Some(caller), Ending::Always).await?;
    }
    Ok(call)
}

/// The call a call socket names, when the caller may join it.
pub async fn admit(state: &AppState, caller: &Caller, call_id: &str) -> CallResult<Call> {
    let call = call_by_id(state, call_id).await?.ok_or(CallError::NotFound)?;
    if !chats::is_member(state, call.chat_id, caller.user_id).await? {
        return Err(CallError::AccessDenied("You are not a member of this call's chat.".into()));
    }
    if call.state == CallState::Ended {
        return Err(CallError::NotActive);
    }
    Ok(call)
}

/// A call socket opened: its user takes part, which answers a call that rings for them.
/// Only the closing of `socket_id`, their newest call socket, counts as leaving.
pub async fn join(state: &AppState, caller: &Caller, call: &Call, socket_id: &str) -> CallResult<()> {
    let newly_in = take_part(state, caller, call, Some(socket_id)).await?;
    if newly_in && caller.user_id != call.initiator_id {
        let call = Call { state: CallState::Active, ..call.clone() };
        announce_to_members(state, &call, CallChange::Accepted { accepted_by: caller.username.clone() }).await?;
    }
    Ok(())
}

/// A call socket closed. When it was its user's newest, they left; a call nobody is left in ends.
pub async fn socket_closed(state: &AppState, caller: &Caller, call_id: &str, socket_id: &str) -> CallResult<()> {
    let left = sqlx::query(
        "UPDATE call_participants SET left_at = $1 \
         WHERE call_id = $2 AND user_id = $3 AND socket_id = $4 AND left_at IS NULL",
    )
    .bind(now_ms())
    .bind(call_id)
    .bind(caller.user_id)
    .bind(socket_id)
    .execute(state.store.pool())
    .await?;
    if left.rows_affected() == 1 && present_count(state, call_id).await? == 0 {
        if let Some(call) = call_by_id(state, call_id).await? {
            end(state, &call, "empty", Some(caller), Ending::Always).await?;
        }
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Always,
    /// Only a call still ringing (one answered meanwhile goes on).
    IfRinging,
}

/// Ends a call once: the conditional update decides which of several racing enders (or nodes)
/// announces it. True when this one did.
async fn end(state: &AppState, call: &Call, reason: &str, by: Option<&Caller>, when: Ending) -> CallResult<bool> {
    let condition = match when {
        Ending::Always => "state <> 'ended'",
        Ending::IfRinging => "state = 'ringing'",
    };
    let now = now_ms();
    let sql = format!(
        "UPDATE calls SET state = 'ended', ended_at = $1, ended_reason = $2, ended_by = $3 WHERE id = $4 AND {condition}"
    );
    let ended = sqlx::query(&sql)
        .bind(now)
        .bind(reason)
        .bind(by.map(|c| c.user_id))
        .bind(&call.id)
        .execute(state.store.pool())
        .await?;
    if ended.rows_affected() == 0 {
        return Ok(false);
    }
    announce_end(state, call, by.map(|c| c.username.clone()), reason, now).await?;
    Ok(true)
}

async fn announce_end(
    state: &AppState,
    call: &Call,
    ended_by: Option<String>,
    reason: &str,
    now: i64,
) -> CallResult<()> {
    sqlx::query(
        "UPDATE call_participants SET left_at = $1 WHERE call_id = $2 AND joined_at IS NOT NULL AND left_at IS NULL",
    )
    .bind(now)
    .bind(&call.id)
    .execute(state.store.pool())
    .await?;
    let change = CallChange::Ended { ended_by, initiator: call.initiator.clone(), reason: reason.into() };
    announce_to_members(state, &Call { state: CallState::Ended, ..call.clone() }, change).await
}

/// Ends the calls that rang longer than the ring timeout. Every node runs this; the single
/// conditional update means each call is ended, and announced, by one of them only.
pub async fn end_unanswered(state: &AppState) -> DomainResult<usize> {
    let now = now_ms();
    let cutoff = now - ms(state.settings.call_ring_timeout);
    // Reading first keeps the usual case (nothing due) from taking SQLite's write lock.
    let due: Option<String> =
        sqlx::query_scalar("SELECT id FROM calls WHERE state = 'ringing' AND created_at < $1 LIMIT 1")
            .bind(cutoff)
            .fetch_optional(state.store.pool())
            .await?;
    if due.is_none() {
        return Ok(0);
    }
    let ended: Vec<String> = sqlx::query_scalar(
        "UPDATE calls SET state = 'ended', ended_at = $1, ended_reason = 'timeout' \
         WHERE state = 'ringing' AND created_at < $2 RETURNING id",
    )
    .bind(now)
    .bind(cutoff)
    .fetch_all(state.store.pool())
    .await?;
    for call_id in &ended {
        if let Some(call) = call_by_id(state, call_id).await.map_err(DomainError::from)? {
            announce_end(state, &call, None, "timeout", now).await.map_err(DomainError::from)?;
        }
    }
    Ok(ended.len())
}

/// A member's LiveKit token for a call (the HTTP routes). `chat_id`, when given, must be the
/// call's chat. The token is None when no LiveKit server is configured.
pub async fn token(
    state: &AppState,
    caller: &Caller,
    call_id: &str,
    chat_id: Option<i64>,
) -> CallResult<(Call, Option<CallToken>)> {
    let call = admit(state, caller, call_id).await?;
    if chat_id.is_some_and(|id| id != call.chat_id) {
        return Err(CallError::NotFound);
    }
    let token = match &state.settings.livekit {
        Some(livekit) => Some(livekit.token(&call.id, caller.user_id, &caller.username)?),
        None => None,
    };
    Ok((call, token))
}

/// The caller's token for a call, for frames answered directly (None without LiveKit).
pub fn token_for(state: &AppState, caller: &Caller, call_id: &str) -> Option<CallToken> {
    let livekit = state.settings.livekit.as_ref()?;
    match livekit.token(call_id, caller.user_id, &caller.username) {
        Ok(token) => Some(token),
        Err(error) => {
            tracing::error!(%error, "could not mint a LiveKit token");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_ids_are_random_and_only_plausible_ids_are_looked_up() {
        let (a, b) = (new_call_id(), new_call_id());
        assert_ne!(a, b);
        assert!(plausible_id(&a) && a.len() == 32);
        for bad in ["", "x'; DROP TABLE calls;--", &"a".repeat(65), "spaces here"] {
            assert!(!plausible_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn refusals_have_the_wire_codes() {
        assert_eq!(CallError::NotFound.code(), "CALL_NOT_FOUND");
        assert_eq!(CallError::AccessDenied("x".into()).code(), "ACCESS_DENIED");
        assert_eq!(CallError::NotActive.code(), "CALL_NOT_ACTIVE");
        let busy = CallError::InProgress { call_id: "c1".into() };
        assert_eq!((busy.code(), busy.call_id()), ("CALL_IN_PROGRESS", Some("c1")));
        assert!(matches!(DomainError::from(CallError::NotActive), DomainError::Conflict(_)));
    }
}
