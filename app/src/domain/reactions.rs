//! Reactions: any emoji, once per person and message, on messages of chats the person is in.
//! Every change is announced with the message's reactions as they now are, so a client that
//! missed one frame is right again with the next.

use super::chats::{changeable_message, ensure_can_write};
use super::events::Event;
use super::sessions::Caller;
use super::store::{now_ms, Backend};
use super::{AppState, DomainError, DomainResult};
use crate::api::ws::Reaction;

/// Different emoji one message may carry (Slack's limit too): past it only existing ones count up.
pub const DISTINCT_EMOJI_MAX: i64 = 50;

/// The emoji as stored: a Unicode emoji (any skin tone), or a `:shortcode:` turned into one.
pub fn parse_emoji(raw: &str) -> DomainResult<String> {
    let raw = raw.trim();
    let found = match raw.strip_prefix(':').and_then(|r| r.strip_suffix(':')) {
        Some(shortcode) => emojis::get_by_shortcode(shortcode),
        // A heart typed without its variation selector is still a heart.
        None => emojis::get(raw).or_else(|| emojis::get(&format!("{raw}\u{fe0f}"))),
    };
    match found {
        Some(emoji) => Ok(emoji.as_str().to_string()),
        None if raw.is_empty() => Err(DomainError::invalid("emoji", "Choose an emoji to react with.")),
        None => Err(DomainError::invalid("emoji", "Reactions must be a single emoji or an emoji :shortcode:.")),
    }
}

/// Someone who reacted, as nchat's routes list them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Reactor {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
}

/// One emoji on a message and the people who chose it, in the order they did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmojiReactions {
    pub emoji: String,
    pub people: Vec<Reactor>,
}

impl EmojiReactions {
    pub fn has(&self, user_id: i64) -> bool {
        self.people.iter().any(|p| p.user_id == user_id)
    }
}

/// The wire summary every surface but nchat's shows: emoji, count, usernames.
pub fn summary(reactions: &[EmojiReactions]) -> Vec<Reaction> {
    reactions
        .iter()
        .map(|r| Reaction {
            emoji: r.emoji.clone(),
            count: r.people.len() as i64,
            users: r.people.iter().map(|p| p.username.clone()).collect(),
        })
        .collect()
}

/// Adds (`on`) or takes back the caller's reaction, and returns the message's reactions. Doing
/// what is already done changes nothing and announces nothing.
pub async fn set_reaction(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    emoji: &str,
    on: bool,
) -> DomainResult<Vec<EmojiReactions>> {
    ensure_can_write(caller)?;
    let emoji = parse_emoji(emoji)?;
    changeable_message(state, caller, chat_id, message_id).await?;
    let pool = state.store.pool();
    let changed = if on {
        // The limit is checked in the insert itself, so new emoji cannot pile past it one by one.
        sqlx::query(
            "INSERT INTO reactions (message_id, user_id, emoji, created_at) SELECT $1, $2, $3, $4 \
             WHERE EXISTS (SELECT 1 FROM reactions WHERE message_id = $1 AND emoji = $3) \
                OR (SELECT COUNT(DISTINCT emoji) FROM reactions WHERE message_id = $1) < $5 \
             ON CONFLICT DO NOTHING",
        )
        .bind(message_id)
        .bind(caller.user_id)
        .bind(&emoji)
        .bind(now_ms())
        .bind(DISTINCT_EMOJI_MAX)
        .execute(pool)
        .await?
        .rows_affected()
            > 0
    } else {
        sqlx::query("DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND emoji = $3")
            .bind(message_id)
            .bind(caller.user_id)
            .bind(&emoji)
            .execute(pool)
            .await?
            .rows_affected()
            > 0
    };
    let reactions = of_message(state, message_id).await?;
    let mine = reactions.iter().any(|r| r.emoji == emoji && r.has(caller.user_id));
    if on && !changed && !mine {
        return Err(DomainError::invalid(
            "emoji",
            format!("A message can carry at most {DISTINCT_EMOJI_MAX} different emoji."),
        ));
    }
    if changed {
        state.events.publish(Event::ReactionChanged {
            chat_id,
            message_id,
            username: caller.username.clone(),
            emoji,
            added: on,
            reactions: summary(&reactions),
        });
    }
    Ok(reactions)
}

/// Adds the caller's reaction if they have not made it, else takes it back (nchat's PATCH);
/// returns whether it is now on.
pub async fn toggle_reaction(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
    emoji: &str,
) -> DomainResult<(bool, Vec<EmojiReactions>)> {
    let emoji = parse_emoji(emoji)?;
    let current = reactions_of(state, caller, chat_id, message_id).await?;
    let on = !current.iter().any(|r| r.emoji == emoji && r.has(caller.user_id));
    Ok((on, set_reaction(state, caller, chat_id, message_id, &emoji, on).await?))
}

/// The reactions of a message the caller can see.
pub async fn reactions_of(
    state: &AppState,
    caller: &Caller,
    chat_id: i64,
    message_id: i64,
) -> DomainResult<Vec<EmojiReactions>> {
    changeable_message(state, caller, chat_id, message_id).await?;
    of_message(state, message_id).await
}

async fn of_message(state: &AppState, message_id: i64) -> DomainResult<Vec<EmojiReactions>> {
    Ok(of_messages(state, &[message_id]).await?.pop().map(|(_, r)| r).unwrap_or_default())
}

#[derive(sqlx::FromRow)]
struct ReactionRow {
    message_id: i64,
    emoji: String,
    #[sqlx(flatten)]
    reactor: Reactor,
}

/// The reactions of each message that has any, in one query: each emoji in the order it was
/// first used, its people in the order they reacted.
async fn of_messages(state: &AppState, message_ids: &[i64]) -> DomainResult<Vec<(i64, Vec<EmojiReactions>)>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=message_ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT r.message_id, r.emoji, u.id AS user_id, u.username, \
         COALESCE(u.display_name, u.username) AS display_name \
         FROM reactions r JOIN users u ON u.id = r.user_id \
         WHERE r.message_id IN ({}) ORDER BY r.message_id, r.created_at, u.username",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, ReactionRow>(&sql);
    for id in message_ids {
        query = query.bind(*id);
    }
    let mut grouped: Vec<(i64, Vec<EmojiReactions>)> = Vec::new();
    for row in query.fetch_all(state.store.pool()).await? {
        if grouped.last().is_none_or(|(id, _)| *id != row.message_id) {
            grouped.push((row.message_id, Vec::new()));
        }
        let (_, reactions) = grouped.last_mut().expect("pushed above");
        match reactions.iter_mut().find(|r| r.emoji == row.emoji) {
            Some(reaction) => reaction.people.push(row.reactor),
            None => reactions.push(EmojiReactions { emoji: row.emoji, people: vec![row.reactor] }),
        }
    }
    Ok(grouped)
}

/// The reactions of these messages as the wire summarises them, for a page of history.
///
/// The database hands back one text for the whole page instead of a row per reaction: SQLite's
/// driver passes each row from its worker thread on its own, and at a few reactions a message
/// those hand-offs were most of a page's cost. Fields are split by U+001F and reactions by U+001E,
/// which neither a username nor an emoji can hold (both are checked before they are stored).
pub(crate) async fn summaries_of(state: &AppState, message_ids: &[i64]) -> DomainResult<Vec<(i64, Vec<Reaction>)>> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=message_ids.len()).map(|n| format!("${n}")).collect();
    let from = format!(
        "FROM reactions r JOIN users u ON u.id = r.user_id WHERE r.message_id IN ({})",
        placeholders.join(", ")
    );
    let order = "r.message_id, r.created_at, u.username";
    let sql = match state.store.backend() {
        // Ordered aggregates: SQLite since 3.44 (sqlx bundles a later one).
        Backend::Sqlite => format!(
            "SELECT group_concat(r.message_id || char(31) || r.emoji || char(31) || u.username, char(30) \
             ORDER BY {order}) {from}"
        ),
        Backend::Postgres => format!(
            "SELECT string_agg(r.message_id::text || chr(31) || r.emoji || chr(31) || u.username, chr(30) \
             ORDER BY {order}) {from}"
        ),
    };
    let mut query = sqlx::query_scalar::<_, Option<String>>(&sql);
    for id in message_ids {
        query = query.bind(*id);
    }
    let joined = query.fetch_one(state.store.pool()).await?.unwrap_or_default();
    let mut grouped: Vec<(i64, Vec<Reaction>)> = Vec::new();
    for item in joined.split('\u{1e}').filter(|item| !item.is_empty()) {
        let mut fields = item.split('\u{1f}');
        let (Some(message_id), Some(emoji), Some(username)) = (fields.next(), fields.next(), fields.next()) else {
            return Err(DomainError::Internal(format!("unreadable reaction summary {item:?}")));
        };
        let message_id: i64 =
            message_id.parse().map_err(|_| DomainError::Internal(format!("unreadable reaction summary {item:?}")))?;
        if grouped.last().is_none_or(|(id, _)| *id != message_id) {
            grouped.push((message_id, Vec::new()));
        }
        let (_, reactions) = grouped.last_mut().expect("pushed above");
        match reactions.iter_mut().find(|r| r.emoji == emoji) {
            Some(reaction) => {
                reaction.count += 1;
                reaction.users.push(username.to_string());
            }
            None => reactions.push(Reaction { emoji: emoji.to_string(), count: 1, users: vec![username.to_string()] }),
        }
    }
    Ok(grouped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emoji_are_read_as_people_type_them() {
        assert_eq!(parse_emoji("👍").unwrap(), "👍");
        assert_eq!(parse_emoji("👍🏽").unwrap(), "👍🏽");
        assert_eq!(parse_emoji(":tada:").unwrap(), "🎉");
        assert_eq!(parse_emoji("❤").unwrap(), "❤️");
        assert_eq!(parse_emoji(" 🚀 ").unwrap(), "🚀");
    }

    #[test]
    fn anything_else_is_refused() {
        for bad in ["", "a", "👍👍", ":not_an_emoji:", "<b>", "👍 ok"] {
            assert!(matches!(parse_emoji(bad), Err(DomainError::Invalid { field: "emoji", .. })), "{bad:?}");
        }
    }
}
