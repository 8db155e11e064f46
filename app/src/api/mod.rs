//! The wire: request and response types of every documented route, and the server functions
//! that serve them. The browser calls these functions; external clients POST the same JSON.
//! Statuses and envelopes are finished in one place, the server's `envelope` layer.

pub mod app_config;
pub mod audit;
pub mod calls;
pub mod chatcli;
pub mod chats;
pub mod error;
pub mod files;
pub mod health;
pub mod ids;
pub mod nchat;
#[cfg(feature = "ssr")]
pub mod request;
pub mod search;
pub mod tools;
pub mod webhooks;
pub mod ws;

pub use error::ApiError;
