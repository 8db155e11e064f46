//! Integration tests: each scenario runs against a real Hearth on a random port, once on SQLite
//! and once on PostgreSQL, through its public HTTP surface.

mod helpers;
mod livekit_standin;
mod smtp;
mod ws_client;

mod accounts;
mod bad_input;
mod calls;
mod chats;
mod cross_surface;
mod live;
mod nchat_auth;
mod nodes;
mod passwords;
mod secrets;
mod sessions;
