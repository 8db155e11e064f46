//! The rules of Hearth, independent of any wire format. Every face (ChatCLI REST, nchat REST,
//! WebSocket, browser) parses its input, calls in here, and renders the result its own way.

pub mod accounts;
pub mod calls;
pub mod chats;
pub mod error;
pub mod events;
pub mod livekit;
pub mod mail;
pub mod names;
pub mod passwords;
pub mod rate_limit;
pub mod sessions;
pub mod settings;
pub mod state;
pub mod store;

pub use error::DomainError;
pub use state::AppState;

/// Result of a domain call.
pub type DomainResult<T> = Result<T, DomainError>;
