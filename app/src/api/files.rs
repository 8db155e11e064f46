//! nchat's upload routes (`/api/upload`, `/api/upload/complete`). The presigned PUT and the
//! download (`/api/files/{fileId}`) carry raw bytes, so they are axum routes in `server/src/files.rs`.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

use super::ids::Id;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, set_status, state};
use super::ws::ChatMessage;
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::files::{self, UploadError};

/// A file attached to a message (the optional `attachments` of messages).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct FileAttachment {
    pub file_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Download here with the Bearer token of a member of the chat.
    pub url: String,
}

#[cfg(feature = "ssr")]
impl From<files::Attachment> for FileAttachment {
    fn from(a: files::Attachment) -> Self {
        FileAttachment {
            url: format!("/api/files/{}", a.file_id),
            file_id: a.file_id,
            filename: a.filename,
            content_type: a.content_type,
            size: a.size,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadInfo {
    pub enabled: bool,
    /// Where the bytes go: `local` (Hearth's data folder).
    pub storage: String,
    pub max_size: u64,
    pub allowed_types: Vec<String>,
    /// Seconds a presigned URL stays good.
    pub url_expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PresignedUpload {
    pub file_id: String,
    pub upload_url: String,
    /// Always `PUT`.
    pub method: String,
    /// Headers the PUT should carry.
    pub headers: std::collections::BTreeMap<String, String>,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// Exactly this many bytes are expected.
    pub max_size: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompletedUpload {
    pub file_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    /// Where members of the chat download it (Bearer token).
    pub url: String,
    #[serde(rename = "chatID")]
    pub chat_id: i64,
    #[serde(rename = "messageID")]
    pub message_id: i64,
    pub message: ChatMessage,
}

/// nchat's reading of an upload refusal: 413 FILE_TOO_LARGE, 415 INVALID_FILE_TYPE, or the
/// domain error's own.
#[cfg(feature = "ssr")]
pub fn upload_error(error: UploadError) -> ApiError {
    match error {
        UploadError::TooLarge(message) => ApiError::new(413, files::FILE_TOO_LARGE, message),
        UploadError::BadType(message) => ApiError::new(415, files::INVALID_FILE_TYPE, message),
        UploadError::Domain(error) => ApiError::nchat(error),
    }
}

/// What uploads accept; no sign-in needed.
#[server(prefix = "/api", endpoint = "upload", input = GetUrl, output = Json)]
pub async fn upload_status() -> Result<Success<UploadInfo>, ApiError> {
    let state = state()?;
    Ok(Success::new(UploadInfo {
        enabled: true,
        storage: "local".into(),
        max_size: state.settings.upload_max_bytes,
        allowed_types: state.settings.upload_types.clone(),
        url_expires_in: state.settings.upload_url_ttl.as_secs(),
    }))
}

/// Announces an upload and answers with the presigned URL to PUT the bytes to. `channelId`, when
/// given, must be a chat the caller is in; `messageId` is accepted and ignored (files are attached
/// to a new message by `/api/upload/complete`).
#[server(prefix = "/api", endpoint = "upload", input = Json, output = Json)]
pub async fn begin_upload(
    filename: String,
    #[server(rename = "contentType")] content_type: String,
    size: i64,
    #[server(rename = "channelId")] channel_id: Option<Id>,
    #[server(rename = "messageId")] _message_id: Option<Id>,
) -> Result<Success<PresignedUpload>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    let new = files::NewUpload { filename, content_type, size, chat_id: channel_id.map(i64::from) };
    let presigned = files::begin_upload(&state, &caller, new).await.map_err(upload_error)?;
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(PresignedUpload {
        file_id: presigned.file_id,
        upload_url: presigned.upload_url,
        method: "PUT".into(),
        headers: [("Content-Type".to_string(), presigned.content_type)].into_iter().collect(),
        expires_at: crate::domain::store::rfc3339(presigned.expires_at),
        max_size: presigned.max_size,
    }))
}

/// Attaches an uploaded file to a new message in the chat (`chatID` or `channelId`, or the one
/// named at upload), with `text` above the file's name. Members get it as `new_message`.
#[server(prefix = "/api/upload", endpoint = "complete", input = Json, output = Json)]
pub async fn complete_upload(
    #[server(rename = "fileId")] file_id: String,
    #[server(rename = "chatID")] chat_id: Option<Id>,
    #[server(rename = "channelId")] channel_id: Option<Id>,
    text: Option<String>,
) -> Result<Success<CompletedUpload>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    let chat_id = chat_id.or(channel_id).map(i64::from);
    let attached = files::complete(&state, &caller, &file_id, chat_id, text.as_deref()).await.map_err(upload_error)?;
    let message = ChatMessage::from(attached.message);
    Ok(Success::new(CompletedUpload {
        url: format!("/api/files/{}", attached.file.id),
        file_id: attached.file.id,
        filename: attached.file.filename,
        content_type: attached.file.content_type,
        size: attached.file.size,
        chat_id: message.chat_id,
        message_id: message.message_id,
        message,
    }))
}
