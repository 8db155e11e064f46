//! The wire: request and response types of every documented route, and the server functions
//! that serve them. The browser calls these functions; external clients POST the same JSON.
//! Each surface's error type (`error`) renders its own status and envelope; `caller` says who
//! is calling, the same way for every route and socket.

pub mod app_config;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod caller;
pub mod calls;
pub mod chatcli;
pub mod chats;
pub mod error;
pub mod files;
pub mod health;
pub mod ids;
pub mod messages;
pub mod nchat;
pub mod profile;
#[cfg(feature = "ssr")]
pub mod request;
pub mod search;
pub mod tools;
pub mod webhooks;
pub mod ws;

pub use error::ApiError;
