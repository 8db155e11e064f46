//! `/api/config`: the app configuration. GET is public and cacheable (ETag, If-None-Match → 304);
//! POST replaces and PATCH deep-merges, for admins; `?history=true` (admins) adds the changes.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json, PatchJson};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, header, set_header, set_status, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::app_config;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigData {
    /// nchat's AppConfig: setup, owner, branding, theme, features.
    pub config: Value,
    /// The configuration's version: "0" until the first change, then one more per change.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// How many past changes `?history=true` shows.
#[cfg(feature = "ssr")]
const HISTORY_LIMIT: i64 = 50;

#[cfg(feature = "ssr")]
fn etag(version: i64) -> String {
    format!("\"config-v{version}\"")
}

#[server(prefix = "/api", endpoint = "config", input = GetUrl, output = Json)]
pub async fn get_config(history: Option<String>) -> Result<Success<ConfigData>, ApiError> {
    let state = state()?;
    let with_history = match history.as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::bad_request("history must be true or false.")),
    };
    let history = if with_history {
        let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
        Some(app_config::history(&state, &caller, HISTORY_LIMIT).await.map_err(ApiError::nchat)?)
    } else {
        None
    };
    let current = app_config::current(&state).await.map_err(ApiError::nchat)?;
    if history.is_none() {
        let tag = etag(current.version);
        set_header(http::header::ETAG, &tag);
        set_header(http::header::CACHE_CONTROL, "public, max-age=300, must-revalidate");
        let matches = header(http::header::IF_NONE_MATCH).is_some_and(|wanted| {
            wanted.split(',').any(|t| t.trim().trim_start_matches("W/") == tag || t.trim() == "*")
        });
        if matches {
            // The body is dropped for 304; the client keeps what it has.
            set_status(http::StatusCode::NOT_MODIFIED);
        }
    } else {
        set_header(http::header::CACHE_CONTROL, "private, no-store");
    }
    Ok(Success::new(ConfigData {
        config: current.config,
        version: current.version.to_string(),
        history,
        message: None,
    }))
}

/// Full replace: fields the body leaves out take their defaults.
#[server(prefix = "/api", endpoint = "config", input = Json, output = Json)]
pub async fn replace_config(#[server(flatten)] config: Map<String, Value>) -> Result<Success<ConfigData>, ApiError> {
    change(config, false).await
}

/// Partial update: deep-merged into the current configuration.
#[server(prefix = "/api", endpoint = "config", input = PatchJson, output = Json)]
pub async fn patch_config(#[server(flatten)] changes: Map<String, Value>) -> Result<Success<ConfigData>, ApiError> {
    change(changes, true).await
}

#[cfg(feature = "ssr")]
async fn change(update: Map<String, Value>, merge: bool) -> Result<Success<ConfigData>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    let updated = app_config::update(&state, &caller, update, merge).await.map_err(ApiError::nchat)?;
    Ok(Success::new(ConfigData {
        config: updated.config,
        version: updated.version.to_string(),
        history: None,
        message: Some("Configuration updated successfully".into()),
    }))
}
