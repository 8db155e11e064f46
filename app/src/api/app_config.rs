//! `/api/config`: the app configuration. GET is public and cacheable (ETag, If-None-Match → 304);
//! POST and PATCH deep-merge a change into it, for admins; `?history=true` (admins) adds the
//! changes.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json, PatchJson};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

#[cfg(feature = "ssr")]
use super::error::codes;
use super::error::NchatError;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, header, set_header, set_status, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::{app_config, DomainError};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigData {
    /// nchat's AppConfig, every section of it.
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub config: Value,
    /// The configuration's version: "0" until the first change, then one more per change.
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Vec<Object>>))]
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

#[server(prefix = "/api", endpoint = "config", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn get_config(history: Option<String>) -> Result<Success<ConfigData>, NchatError> {
    let state = state()?;
    let with_history = match history.as_deref().map(str::trim) {
        None | Some("") | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(_) => return Err(ApiError::bad_request("history must be true or false.").into()),
    };
    let history = if with_history {
        // nchat answers 403 to anyone but an admin here, a caller without a token included.
        let refused = || ApiError::new(403, codes::FORBIDDEN, "Admin access required for history");
        let caller = caller(&state).await.map_err(|_| refused())?;
        let history = app_config::history(&state, &caller, HISTORY_LIMIT).await;
        Some(history.map_err(|error| match error {
            DomainError::Forbidden(_) => refused(),
            other => ApiError::nchat(other),
        })?)
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

/// nchat's "full update": deep-merged like PATCH (what the body leaves out stays), and a
/// `setup.currentStep` is added to `setup.visitedSteps`.
#[server(prefix = "/api", endpoint = "config", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn replace_config(#[server(flatten)] config: Map<String, Value>) -> Result<Success<ConfigData>, NchatError> {
    Ok(change(config, app_config::Change::Post).await?)
}

/// Partial update: deep-merged into the current configuration.
#[server(prefix = "/api", endpoint = "config", input = PatchJson, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn patch_config(#[server(flatten)] changes: Map<String, Value>) -> Result<Success<ConfigData>, NchatError> {
    Ok(change(changes, app_config::Change::Patch).await?)
}

#[cfg(feature = "ssr")]
async fn change(update: Map<String, Value>, how: app_config::Change) -> Result<Success<ConfigData>, ApiError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let updated = app_config::update(&state, &caller, update, how).await.map_err(ApiError::nchat)?;
    Ok(Success::new(ConfigData {
        config: updated.config,
        version: updated.version.to_string(),
        history: None,
        message: Some("Configuration updated successfully".into()),
    }))
}
