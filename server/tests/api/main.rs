//! Integration tests: each scenario runs against a real Hearth on a random port, once on SQLite
//! and once on PostgreSQL, through its public HTTP surface.

mod helpers;
mod livekit_standin;
mod smtp;
mod upstream_standin;
mod ws_client;

mod account_language;
mod accounts;
mod app_config;
mod audit;
mod authorization;
mod bad_input;
mod calls;
mod chats;
mod client_alarms;
mod conversations;
mod cross_surface;
mod durability;
mod envelopes;
mod languages;
mod live;
mod logos;
mod nchat_auth;
mod nodes;
mod observability;
mod openapi_doc;
mod passwords;
mod rate_limits;
mod search;
mod secrets;
mod security_headers;
mod sessions;
mod shutdown;
mod tools;
mod uploads;
mod webhooks;
