//! The rules of Hearth, independent of any wire format. Every face (ChatCLI REST, nchat REST,
//! WebSocket, browser) parses its input, calls in here, and renders the result its own way.

pub mod accounts;
pub mod app_config;
pub mod audit;
pub mod calls;
pub mod chats;
pub mod edits;
pub mod error;
pub mod events;
pub mod files;
pub mod gif;
pub mod html_meta;
pub mod integrations;
pub mod link_preview;
pub mod livekit;
pub mod logos;
pub mod mail;
pub mod names;
pub mod passwords;
pub mod pins;
pub mod rate_limit;
pub mod reactions;
pub mod saved;
pub mod search;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod store;
pub mod svg;
pub mod translate;
pub mod webhooks;

pub use error::DomainError;
pub use state::AppState;

/// Result of a domain call.
pub type DomainResult<T> = Result<T, DomainError>;

/// A page's `limit` (1 to `max`, 50 when absent) and `offset` (0 or more, 0 when absent), as
/// the list routes that page by offset take them.
pub(crate) fn page_window(limit: Option<i64>, offset: Option<i64>, max: i64) -> DomainResult<(i64, i64)> {
    let limit = limit.unwrap_or(50.min(max));
    if !(1..=max).contains(&limit) {
        return Err(DomainError::invalid("limit", format!("limit must be between 1 and {max}.")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(DomainError::invalid("offset", "offset cannot be negative."));
    }
    Ok((limit, offset))
}
