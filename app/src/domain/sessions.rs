//! Sessions and their tokens. An access token is a short JWT naming a session row and is valid
//! only while that row is, so logout, logout-all and password changes take effect at once. A
//! refresh token is 256 random bits, stored hashed, good for one use: presenting a used one again
//! means it was copied, and the whole session is revoked.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::events::Event;
use super::names::Role;
use super::store::{ms, now_ms};
use super::{AppState, DomainError, DomainResult};

/// The signed-in user behind a request, as the database says now (not as the token said).
#[derive(Debug, Clone)]
pub struct Caller {
    pub user_id: i64,
    pub session_id: i64,
    pub username: String,
    pub email: String,
    pub role: Role,
}

pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

#[derive(Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: i64,
    role: String,
    iat: i64,
    exp: i64,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        TokenKeys { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), validation }
    }
}

/// 256 random bits as hex: refresh tokens, reset links.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How secrets are stored: only their SHA-256, so a leaked database leaks no usable token.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Opens a new session for a user who just proved who they are.
pub async fn start_session(state: &AppState, user_id: i64, role: Role) -> DomainResult<IssuedTokens> {
    let now = now_ms();
    let expires_at = now + ms(state.settings.refresh_token_ttl);
    let session_id: i64 =
        sqlx::query_scalar("INSERT INTO sessions (user_id, created_at, expires_at) VALUES ($1, $2, $3) RETURNING id")
            .bind(user_id)
            .bind(now)
            .bind(expires_at)
            .fetch_one(state.store.pool())
            .await?;
    issue_tokens(state, user_id, session_id, role).await
}

async fn issue_tokens(state: &AppState, user_id: i64, session_id: i64, role: Role) -> DomainResult<IssuedTokens> {
    let now = now_ms();
    let ttl = state.settings.access_token_ttl;
    let claims = Claims {
        sub: user_id.to_string(),
        sid: session_id,
        role: role.as_str().into(),
        iat: now / 1000,
        exp: (now + ms(ttl)) / 1000,
    };
    let access_token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &state.token_keys.encoding)
        .map_err(|e| DomainError::Internal(format!("jwt encode: {e}")))?;
    let refresh_token = random_token();
    sqlx::query("INSERT INTO refresh_tokens (token_hash, session_id, issued_at) VALUES ($1, $2, $3)")
        .bind(secret_hash(&refresh_token))
        .bind(session_id)
        .bind(now)
        .execute(state.store.pool())
        .await?;
    Ok(IssuedTokens { access_token, refresh_token, expires_in: ttl.as_secs() })
}

/// The user id a well-signed, unexpired access token names, without asking the database: cheap
/// enough for every request (rate-limit keys), not proof that the session still lives.
pub fn token_user_id(state: &AppState, access_token: &str) -> Option<i64> {
    let token = access_token.trim();
    if token.is_empty() || token.len() > 4096 {
        return None;
    }
    let claims =
        jsonwebtoken::decode::<Claims>(token, &state.token_keys.decoding, &state.token_keys.validation).ok()?;
    claims.claims.sub.parse().ok()
}

/// The caller behind an access token, or `InvalidSession` for a bad, expired or revoked one.
pub async fn authenticate(state: &AppState, access_token: &str) -> DomainResult<Caller> {
    let token = access_token.trim();
    if token.is_empty() || token.len() > 4096 {
        return Err(DomainError::InvalidSession);
    }
    let claims = jsonwebtoken::decode::<Claims>(token, &state.token_keys.decoding, &state.token_keys.validation)
        .map_err(|_| DomainError::InvalidSession)?
        .claims;
    let user_id: i64 = claims.sub.parse().map_err(|_| DomainError::InvalidSession)?;
    let row: Option<SessionHolder> = sqlx::query_as(
        "SELECT u.username, u.email, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.user_id = $2 AND s.revoked_at IS NULL AND s.expires_at > $3 \
           AND u.disabled_at IS NULL AND u.deleted_at IS NULL",
    )
    .bind(claims.sid)
    .bind(user_id)
    .bind(now_ms())
    .fetch_optional(state.store.pool())
    .await?;
    let holder = row.ok_or(DomainError::InvalidSession)?;
    Ok(Caller { user_id, session_id: claims.sid, username: holder.username, email: holder.email, role: holder.role })
}

/// The account a live session belongs to, as `authenticate` reads it.
#[derive(sqlx::FromRow)]
struct SessionHolder {
    username: String,
    email: String,
    role: Role,
}

/// Whether a session may still be used; if not, whether it ended by its own logout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionState {
    Alive,
    /// Its own client logged it out (`/user/logout`, or the session that called logout-all).
    LoggedOut,
    /// Revoked otherwise, expired, or its account disabled or deleted.
    Ended,
}

/// The revoke reason of a session ended by its own logout.
const OWN_LOGOUT: &str = "logout";

#[derive(sqlx::FromRow)]
struct SessionRow {
    revoked_at: Option<i64>,
    revoke_reason: Option<String>,
    expires_at: i64,
    disabled_at: Option<i64>,
    deleted_at: Option<i64>,
}

pub async fn session_state(state: &AppState, session_id: i64) -> DomainResult<SessionState> {
    let row: Option<SessionRow> = sqlx::query_as(
        "SELECT s.revoked_at, s.revoke_reason, s.expires_at, u.disabled_at, u.deleted_at \
         FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
    )
    .bind(session_id)
    .fetch_optional(state.store.pool())
    .await?;
    let Some(row) = row else { return Ok(SessionState::Ended) };
    let active = row.expires_at > now_ms() && row.disabled_at.is_none() && row.deleted_at.is_none();
    Ok(match row.revoked_at {
        Some(_) if row.revoke_reason.as_deref() == Some(OWN_LOGOUT) => SessionState::LoggedOut,
        None if active => SessionState::Alive,
        _ => SessionState::Ended,
    })
}

/// Trades a refresh token for a new pair. A token used before revokes its session.
pub async fn refresh(state: &AppState, refresh_token: &str) -> DomainResult<IssuedTokens> {
    let token = refresh_token.trim();
    if token.is_empty() || token.len() > 256 {
        return Err(DomainError::InvalidRefreshToken);
    }
    let hash = secret_hash(token);
    let now = now_ms();
    // Marking the token used is the one step that decides a race between two uses.
    let fresh: Option<i64> = sqlx::query_scalar(
        "UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL RETURNING session_id",
    )
    .bind(now)
    .bind(&hash)
    .fetch_optional(state.store.pool())
    .await?;
    let Some(session_id) = fresh else {
        let seen: Option<i64> = sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(&hash)
            .fetch_optional(state.store.pool())
            .await?;
        if let Some(session_id) = seen {
            tracing::warn!(session_id, "refresh token reused: revoking its session");
            revoke_session(state, session_id, "refresh_token_reuse").await?;
        }
        return Err(DomainError::InvalidRefreshToken);
    };
    let live: Option<LiveAccount> = sqlx::query_as(
        "SELECT u.id, u.role FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.id = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 \
           AND u.disabled_at IS NULL AND u.deleted_at IS NULL",
    )
    .bind(session_id)
    .bind(now)
    .fetch_optional(state.store.pool())
    .await?;
    let account = live.ok_or(DomainError::InvalidRefreshToken)?;
    // Sliding expiry: a session in use stays alive.
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
        .bind(now + ms(state.settings.refresh_token_ttl))
        .bind(session_id)
        .execute(state.store.pool())
        .await?;
    issue_tokens(state, account.id, session_id, account.role).await
}

/// The account behind a session that may still be refreshed.
#[derive(sqlx::FromRow)]
struct LiveAccount {
    id: i64,
    role: Role,
}

/// Marks a session revoked; the user it belonged to, or None when it was revoked already.
async fn mark_revoked(state: &AppState, session_id: i64, reason: &str) -> DomainResult<Option<i64>> {
    let revoked: Option<i64> = sqlx::query_scalar(
        "UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE id = $3 AND revoked_at IS NULL RETURNING user_id",
    )
    .bind(now_ms())
    .bind(reason)
    .bind(session_id)
    .fetch_optional(state.store.pool())
    .await?;
    Ok(revoked)
}

pub async fn revoke_session(state: &AppState, session_id: i64, reason: &str) -> DomainResult<()> {
    if let Some(user_id) = mark_revoked(state, session_id, reason).await? {
        // Open sockets of this session close too.
        state.events.publish(Event::SessionsRevoked { user_id, session_id: Some(session_id), spared: None });
    }
    Ok(())
}

pub async fn revoke_all_sessions(state: &AppState, user_id: i64, reason: &str) -> DomainResult<()> {
    sqlx::query("UPDATE sessions SET revoked_at = $1, revoke_reason = $2 WHERE user_id = $3 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(reason)
        .bind(user_id)
        .execute(state.store.pool())
        .await?;
    state.events.publish(Event::SessionsRevoked { user_id, session_id: None, spared: None });
    Ok(())
}

/// The caller's own sockets learn of their logout after the answer, and close normally: a
/// client that sees its socket refused before its logout returns reports an authentication failure.
fn close_own_sockets_after_answer(state: &AppState, caller: &Caller) {
    state.events.publish_after_answer(Event::LoggedOut { user_id: caller.user_id, session_id: caller.session_id });
}

/// Ends the caller's session; a refresh token given with it must belong to the same session.
pub async fn logout(state: &AppState, caller: &Caller, refresh_token: Option<&str>) -> DomainResult<()> {
    if let Some(token) = refresh_token.map(str::trim).filter(|t| !t.is_empty()) {
        let owner: Option<i64> = sqlx::query_scalar("SELECT session_id FROM refresh_tokens WHERE token_hash = $1")
            .bind(secret_hash(token))
            .fetch_optional(state.store.pool())
            .await?;
        if owner.is_some_and(|sid| sid != caller.session_id) {
            return Err(DomainError::Forbidden("That refresh token belongs to another session.".into()));
        }
    }
    if mark_revoked(state, caller.session_id, OWN_LOGOUT).await?.is_some() {
        close_own_sockets_after_answer(state, caller);
    }
    Ok(())
}

/// Ends every session of the caller: the others' sockets close at once, the caller's own after the answer.
pub async fn logout_all(state: &AppState, caller: &Caller) -> DomainResult<()> {
    sqlx::query(
        "UPDATE sessions SET revoked_at = $1, revoke_reason = CASE WHEN id = $2 THEN $3 ELSE 'logout_all' END \
         WHERE user_id = $4 AND revoked_at IS NULL",
    )
    .bind(now_ms())
    .bind(caller.session_id)
    .bind(OWN_LOGOUT)
    .bind(caller.user_id)
    .execute(state.store.pool())
    .await?;
    state.events.publish(Event::SessionsRevoked {
        user_id: caller.user_id,
        session_id: None,
        spared: Some(caller.session_id),
    });
    close_own_sockets_after_answer(state, caller);
    Ok(())
}
