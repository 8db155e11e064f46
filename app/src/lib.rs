//! Hearth's Leptos app, compiled twice: with `ssr` inside the server binary, with `hydrate` in
//! the browser. `api` (wire types and the server functions that ARE the REST routes) and `ui`
//! exist on both sides; `domain` (rules and storage) only on the server.

// Leptos' typed views nest deeply; the chat screen needs more than the default 128.
#![recursion_limit = "512"]

pub mod api;
// The typed message catalogue, generated from app/locales/<locale>.json by app/build.rs.
include!(concat!(env!("OUT_DIR"), "/i18n.rs"));
#[cfg(feature = "ssr")]
pub mod domain;
pub mod locale;
pub mod ui;
