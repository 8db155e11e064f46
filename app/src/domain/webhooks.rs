//! Incoming webhooks: secret URLs that post into one chat. Each webhook speaks as its own bot
//! account (`webhook:<hex>`, display name = the webhook's name), which cannot sign in.

use sha2::{Digest, Sha256};

use super::audit::{self, AuditEvent};
use super::chats::{self, Author, ChatKind, Message, NewMessage};
use super::names::Role;
use super::sessions::Caller;
use super::store::now_ms;
use super::{AppState, DomainError, DomainResult};

pub const NAME_MAX_CHARS: usize = 80;
/// nchat's limits on a webhook post (its spec's WebhookPayload).
pub const CONTENT_MAX_CHARS: usize = 2000;
pub const EMBEDS_MAX: usize = 10;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Webhook {
    pub id: i64,
    pub chat_id: i64,
    pub name: String,
    pub bot_username: String,
    pub creator_id: i64,
    pub created_at: i64,
}

/// A new webhook and its token, which is shown this once.
#[derive(Debug, Clone)]
pub struct Created {
    pub webhook: Webhook,
    pub token: String,
    pub url: String,
}

/// A `Webhook`'s columns.
const WEBHOOK_COLUMNS: &str = "w.id, w.chat_id, w.name, u.username AS bot_username, w.creator_id, w.created_at";

/// A webhook that has not been revoked, with what lets it in and whom it speaks as.
#[derive(sqlx::FromRow)]
struct LiveWebhook {
    #[sqlx(flatten)]
    webhook: Webhook,
    token_hash: String,
    bot_user_id: i64,
}

/// What decides who manages a chat's webhooks.
#[derive(sqlx::FromRow)]
struct ManagedChat {
    creator_id: i64,
    #[sqlx(try_from = "String")]
    kind: ChatKind,
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub(super) fn not_found() -> DomainError {
    DomainError::NotFound("Webhook not found.".into())
}

fn parse_name(raw: &str) -> DomainResult<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("name", "Give the webhook a name."));
    }
    if name.chars().count() > NAME_MAX_CHARS || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "name",
            format!("A webhook name is at most {NAME_MAX_CHARS} characters, without control characters."),
        ));
    }
    Ok(name.to_string())
}

/// Server admins manage any chat's webhooks; a group's creator manages that group's. Other
/// members are refused; strangers are told the chat does not exist.
async fn ensure_may_manage(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<()> {
    let chat: Option<ManagedChat> = sqlx::query_as("SELECT creator_id, kind FROM chats WHERE id = $1")
        .bind(chat_id)
        .fetch_optional(state.store.pool())
        .await?;
    let Some(chat) = chat else {
        return Err(DomainError::NotFound("Chat not found.".into()));
    };
    if caller.role.at_least(Role::Admin) {
        return Ok(());
    }
    if !chats::is_member(state, chat_id, caller.user_id).await? {
        return Err(DomainError::NotFound("Chat not found.".into()));
    }
    if chat.kind == ChatKind::Group && chat.creator_id == caller.user_id {
        return Ok(());
    }
    Err(DomainError::Forbidden("Only the group's creator or an admin can manage its webhooks.".into()))
}

pub async fn create(state: &AppState, caller: &Caller, chat_id: i64, name: &str) -> DomainResult<Created> {
    let name = parse_name(name)?;
    ensure_may_manage(state, caller, chat_id).await?;
    let token = hex::encode(rand::random::<[u8; 32]>());
    let tag = hex::encode(rand::random::<[u8; 6]>());
    // ':' is not allowed in usernames people choose, so a bot can never collide with a person.
    let bot_username = format!("webhook:{tag}");
    let now = now_ms();
    let mut tx = state.store.pool().begin().await?;
    let bot_id: i64 = sqlx::query_scalar(
        "INSERT INTO users (username, username_key, email, email_key, display_name, password_hash, role, \
                            email_verified_at, disabled_at, created_at) \
         VALUES ($1, $1, $2, $2, $3, '', 'member', $4, $4, $4) RETURNING id",
    )
    .bind(&bot_username)
    .bind(format!("{tag}@webhooks.invalid"))
    .bind(&name)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO webhooks (chat_id, name, token_hash, bot_user_id, creator_id, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(chat_id)
    .bind(&name)
    .bind(token_hash(&token))
    .bind(bot_id)
    .bind(caller.user_id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    audit::record(
        state,
        AuditEvent::new("channel", "webhook.created", format!("Webhook {id} created for chat {chat_id}."))
            .by_caller(caller)
            .with(serde_json::json!({ "webhookId": id.to_string(), "chatId": chat_id.to_string() })),
    )
    .await;
    let base = state.settings.public_url.trim_end_matches('/');
    Ok(Created {
        url: format!("{base}/api/webhook/{id}/{token}"),
        webhook: Webhook { id, chat_id, name, bot_username, creator_id: caller.user_id, created_at: now },
        token,
    })
}

/// The chat's live webhooks, for those who may manage them.
pub async fn list(state: &AppState, caller: &Caller, chat_id: i64) -> DomainResult<Vec<Webhook>> {
    ensure_may_manage(state, caller, chat_id).await?;
    let sql = format!(
        "SELECT {WEBHOOK_COLUMNS} FROM webhooks w JOIN users u ON u.id = w.bot_user_id \
         WHERE w.chat_id = $1 AND w.revoked_at IS NULL ORDER BY w.id"
    );
    let webhooks = sqlx::query_as(&sql).bind(chat_id).fetch_all(state.store.pool()).await?;
    Ok(webhooks)
}

async fn live_webhook(state: &AppState, id: i64) -> DomainResult<Option<LiveWebhook>> {
    let sql = format!(
        "SELECT {WEBHOOK_COLUMNS}, w.token_hash, w.bot_user_id FROM webhooks w JOIN users u ON u.id = w.bot_user_id \
         WHERE w.id = $1 AND w.revoked_at IS NULL"
    );
    let live = sqlx::query_as(&sql).bind(id).fetch_optional(state.store.pool()).await?;
    Ok(live)
}

/// Revokes a webhook: its URL answers 404 from now on.
pub async fn revoke(state: &AppState, caller: &Caller, id: i64) -> DomainResult<()> {
    let webhook = live_webhook(state, id).await?.ok_or_else(not_found)?.webhook;
    match ensure_may_manage(state, caller, webhook.chat_id).await {
        // Strangers learn nothing about the webhook either.
        Err(DomainError::NotFound(_)) => return Err(not_found()),
        other => other?,
    }
    sqlx::query("UPDATE webhooks SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(state.store.pool())
        .await?;
    audit::record(
        state,
        AuditEvent::new("channel", "webhook.revoked", format!("Webhook {id} revoked."))
            .by_caller(caller)
            .with(serde_json::json!({ "webhookId": id.to_string(), "chatId": webhook.chat_id.to_string() })),
    )
    .await;
    Ok(())
}

/// The webhook named by `id`, when `token` is its token. Unknown and revoked: 404; no token:
/// `SignInRequired`; a wrong one: `InvalidSession` (both 401).
pub async fn authenticate(state: &AppState, id: i64, token: Option<&str>) -> DomainResult<(Webhook, i64)> {
    let LiveWebhook { webhook, token_hash: hash, bot_user_id } =
        live_webhook(state, id).await?.ok_or_else(not_found)?;
    let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(DomainError::SignInRequired)?;
    let given = token_hash(token);
    // Both are hex digests of equal length; compare without an early exit.
    let same = given.len() == hash.len() && given.bytes().zip(hash.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if !same {
        return Err(DomainError::InvalidSession);
    }
    Ok((webhook, bot_user_id))
}

/// When the webhook last posted (its bot posts nothing else), if ever.
pub async fn last_used(state: &AppState, bot_id: i64) -> DomainResult<Option<i64>> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(created_at) FROM messages WHERE user_id = $1")
        .bind(bot_id)
        .fetch_one(state.store.pool())
        .await?;
    Ok(last)
}

fn parse_content(raw: &str) -> DomainResult<String> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("content", "content cannot be empty."));
    }
    if raw.chars().count() > CONTENT_MAX_CHARS {
        return Err(DomainError::invalid("content", format!("content can be at most {CONTENT_MAX_CHARS} characters.")));
    }
    if raw.contains('\0') {
        return Err(DomainError::invalid("content", "content cannot contain NUL characters."));
    }
    Ok(raw.to_string())
}

/// Posts `content` into the chat of a webhook `authenticate` let in, as its bot, and announces
/// it like any message.
pub async fn post(
    state: &AppState,
    webhook: &Webhook,
    bot_id: i64,
    content: &str,
    ip: Option<std::net::IpAddr>,
) -> DomainResult<Message> {
    let body = parse_content(content)?;
    let author = Author::Bot { user_id: bot_id, username: &webhook.bot_username };
    let message = chats::post(state, NewMessage::text(webhook.chat_id, author, &body, None)).await?.message;
    audit::record(state, AuditEvent::webhook_used(webhook.id, webhook.chat_id, ip)).await;
    Ok(message)
}
