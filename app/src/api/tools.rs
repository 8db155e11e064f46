//! nchat's utility routes: `/api/translate`, `/api/gif`, `/api/link-preview` and `/api/save-svg`.
//! All need a signed-in caller (they spend the server's upstream quotas and make it fetch URLs);
//! save-svg needs an admin or the owner. Saved logos are served by the server at `/api/logos/{name}`.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::error::codes;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, set_status, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::integrations::ToolError;
#[cfg(feature = "ssr")]
use crate::domain::{gif, link_preview, logos, translate, AppState};

/// Codes of these routes beyond nchat's list.
pub const UPSTREAM_ERROR: &str = "UPSTREAM_ERROR";
pub const UPSTREAM_TIMEOUT: &str = "UPSTREAM_TIMEOUT";
pub const FILE_TOO_LARGE: &str = "FILE_TOO_LARGE";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TranslateData {
    pub translated_text: String,
    pub source_language: String,
    pub target_language: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct GifItem {
    pub id: String,
    pub title: String,
    pub url: String,
    pub preview_url: String,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct GifData {
    pub results: Vec<GifItem>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct LinkPreviewData {
    /// The page's address after redirects.
    pub url: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub image: Option<String>,
    pub site_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedLogoData {
    /// The stored file's name (letters, digits, `-`, `_`, then `.svg`).
    pub filename: String,
    /// Where the logo is served.
    pub url: String,
    /// Bytes stored after sanitising.
    pub size: u64,
}

#[cfg(feature = "ssr")]
fn tool_error(error: ToolError) -> ApiError {
    let message = error.to_string();
    match error {
        ToolError::Invalid { field, .. } => {
            ApiError::new(400, codes::VALIDATION_ERROR, message).with_details(serde_json::json!({ "field": field }))
        }
        ToolError::Unavailable(_) => ApiError::new(503, codes::SERVICE_UNAVAILABLE, message),
        ToolError::Refused(_) => ApiError::new(403, codes::FORBIDDEN, message)
            .with_details(serde_json::json!({ "field": "url", "reason": "ADDRESS_NOT_ALLOWED" })),
        ToolError::Upstream(_) => ApiError::new(502, UPSTREAM_ERROR, message),
        ToolError::Timeout => ApiError::new(504, UPSTREAM_TIMEOUT, message),
        ToolError::TooLarge(_) => ApiError::new(413, FILE_TOO_LARGE, message),
        ToolError::Internal(detail) => {
            tracing::error!(%detail, "internal error");
            ApiError::internal()
        }
    }
}

/// The state, once the caller proved to be signed in.
#[cfg(feature = "ssr")]
async fn signed_in() -> Result<(AppState, crate::domain::sessions::Caller), ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    Ok((state, caller))
}

/// Translates through the configured LibreTranslate server; 503 without one.
#[server(prefix = "/api", endpoint = "translate", input = Json, output = Json)]
pub async fn translate_text(
    text: String,
    #[server(rename = "targetLanguage")] target_language: String,
    #[server(rename = "sourceLanguage")] source_language: Option<String>,
) -> Result<Success<TranslateData>, ApiError> {
    let (state, _) = signed_in().await?;
    let settings = &state.settings.integrations;
    let done = translate::translate(
        settings.translate.as_ref(),
        settings.timeout,
        &text,
        &target_language,
        source_language.as_deref(),
    )
    .await
    .map_err(tool_error)?;
    Ok(Success::new(TranslateData {
        translated_text: done.text,
        source_language: done.source,
        target_language: done.target,
    }))
}

/// Searches GIFs at Giphy or Tenor; 503 without a key.
#[server(prefix = "/api", endpoint = "gif", input = GetUrl, output = Json)]
pub async fn gif_search(q: Option<String>, limit: Option<u32>) -> Result<Success<GifData>, ApiError> {
    let (state, _) = signed_in().await?;
    let settings = &state.settings.integrations;
    let found = gif::search(settings.gif.as_ref(), settings.timeout, q.as_deref().unwrap_or_default(), limit)
        .await
        .map_err(tool_error)?;
    let results = found
        .into_iter()
        .map(|g| GifItem {
            id: g.id,
            title: g.title,
            url: g.url,
            preview_url: g.preview_url,
            width: g.width,
            height: g.height,
        })
        .collect();
    Ok(Success::new(GifData { results }))
}

/// Title, description, image and site name of a public web page.
#[server(prefix = "/api", endpoint = "link-preview", input = GetUrl, output = Json)]
pub async fn link_preview(url: Option<String>) -> Result<Success<LinkPreviewData>, ApiError> {
    let (state, _) = signed_in().await?;
    let settings = &state.settings.integrations;
    let url = url.ok_or_else(|| tool_error(ToolError::invalid("url", "Missing query parameter: url.")))?;
    let page = link_preview::preview(&url, settings).await.map_err(tool_error)?;
    Ok(Success::new(LinkPreviewData {
        url: page.url,
        title: page.title,
        description: page.description,
        image: page.image,
        site_name: page.site_name,
    }))
}

/// Stores a logo after sanitising it (admins and the owner only).
#[server(prefix = "/api", endpoint = "save-svg", input = Json, output = Json)]
pub async fn save_svg(svg: String, filename: String) -> Result<Success<SavedLogoData>, ApiError> {
    let (state, caller) = signed_in().await?;
    use crate::domain::names::Role;
    if !matches!(caller.role, Role::Owner | Role::Admin) {
        return Err(ApiError::new(403, codes::FORBIDDEN, "Only admins can save logos."));
    }
    let (filename, size) =
        logos::save(&state.settings.integrations.logo_dir, &filename, &svg).await.map_err(tool_error)?;
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(SavedLogoData { url: format!("/api/logos/{filename}"), filename, size: size as u64 }))
}
