//! nchat's utility routes: `/api/translate`, `/api/gif`, `/api/link-preview` and `/api/save-svg`.
//! The first three answer without a token, as nchat's guide lists them (the server counts
//! callers without one per address, under a lower limit of their own);
//! `HEARTH_ANONYMOUS_TOOLS=off` makes them ask for a signed-in caller. save-svg needs an admin or
//! the owner. Saved logos are served by the server at `/api/logos/{name}`.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg(feature = "ssr")]
use super::error::codes;
use super::error::NchatError;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, state};
#[cfg(feature = "ssr")]
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
    /// False when no translation service is configured: `translatedText` is then the text as
    /// sent (nchat's graceful degradation).
    pub translated: bool,
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
    /// nchat's field; Hearth fetches every time.
    pub cached: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedLogoData {
    /// nchat's field: where the logo is served (the same as `url`).
    pub path: String,
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
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    Ok((state, caller))
}

/// The state, once the caller may use the anonymous tools: anyone, unless the server asks for
/// sign-in (`HEARTH_ANONYMOUS_TOOLS=off`). A token sent along is not needed, so not checked.
#[cfg(feature = "ssr")]
async fn tool_user() -> Result<AppState, ApiError> {
    let state = state()?;
    if !state.settings.anonymous_tools {
        caller(&state).await.map_err(ApiError::nchat)?;
    }
    Ok(state)
}

/// Translates through the configured LibreTranslate server. Without one, the text comes back as
/// sent with `translated: false`, as nchat does.
#[server(prefix = "/api", endpoint = "translate", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn translate_text(
    text: String,
    #[server(rename = "targetLanguage")] target_language: String,
    #[server(rename = "sourceLanguage")] source_language: Option<String>,
) -> Result<Success<TranslateData>, NchatError> {
    let state = tool_user().await?;
    let settings = &state.settings.integrations;
    let done = translate::translate(
        settings.translate.as_ref(),
        settings.timeout,
        &text,
        &target_language,
        source_language.as_deref(),
    )
    .await;
    let (done, translated) = match done {
        Ok(done) => (done, true),
        Err(ToolError::Unavailable(_)) => {
            (translate::untranslated(&text, &target_language, source_language.as_deref()), false)
        }
        Err(error) => return Err(tool_error(error).into()),
    };
    Ok(Success::new(TranslateData {
        translated_text: done.text,
        source_language: done.source,
        target_language: done.target,
        translated,
    }))
}

/// Searches GIFs at Giphy or Tenor; 503 without a key.
#[server(prefix = "/api", endpoint = "gif", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn gif_search(q: Option<String>, limit: Option<u32>) -> Result<Success<GifData>, NchatError> {
    let state = tool_user().await?;
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
#[server(prefix = "/api", endpoint = "link-preview", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn link_preview(url: Option<String>) -> Result<Success<LinkPreviewData>, NchatError> {
    let state = tool_user().await?;
    let settings = &state.settings.integrations;
    let url = url.ok_or_else(|| tool_error(ToolError::invalid("url", "Missing query parameter: url.")))?;
    let page = link_preview::preview(&url, settings).await.map_err(tool_error)?;
    Ok(Success::new(LinkPreviewData {
        url: page.url,
        title: page.title,
        description: page.description,
        image: page.image,
        site_name: page.site_name,
        cached: false,
    }))
}

/// Stores a logo after sanitising it (admins and the owner only). As in nchat, the name must end
/// in `.svg`.
#[server(prefix = "/api", endpoint = "save-svg", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn save_svg(svg: String, filename: String) -> Result<Success<SavedLogoData>, NchatError> {
    let (state, caller) = signed_in().await?;
    use crate::domain::names::Role;
    if !matches!(caller.role, Role::Owner | Role::Admin) {
        return Err(ApiError::new(403, codes::FORBIDDEN, "Only admins can save logos.").into());
    }
    if !filename.trim().to_ascii_lowercase().ends_with(".svg") {
        return Err(tool_error(ToolError::invalid("filename", "Filename must end with .svg.")).into());
    }
    let (filename, size) =
        logos::save(&state.settings.integrations.logo_dir, &filename, &svg).await.map_err(tool_error)?;
    let url = format!("/api/logos/{filename}");
    Ok(Success::new(SavedLogoData { path: url.clone(), url, filename, size: size as u64 }))
}
