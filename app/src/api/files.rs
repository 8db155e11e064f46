//! nchat's upload routes (`/api/upload`, `/api/upload/complete`). The presigned PUT and the
//! download (`/api/files/{fileId}`) carry raw bytes, so they are axum routes in `server/src/files.rs`.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::NchatError;
use super::ids::LooseId;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, set_status, state};
use super::ws::ChatMessage;
#[cfg(feature = "ssr")]
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

/// `GET /api/upload`: nchat's upload status, with Hearth's limits.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct UploadService {
    /// Always `upload`.
    pub service: String,
    /// `available`.
    pub status: String,
    pub config: UploadConfig,
    /// The largest size per allowed type.
    pub limits: Vec<UploadLimit>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadConfig {
    /// As nchat writes it, e.g. `10 MB`.
    pub max_file_size: String,
    /// The same in bytes.
    pub max_file_size_bytes: u64,
    /// The content types an upload may declare.
    pub allowed_types: Vec<String>,
    /// Seconds a presigned URL stays good.
    pub presigned_url_expiry: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadLimit {
    #[serde(rename = "type")]
    pub kind: String,
    pub max_size: String,
}

/// `POST /api/upload`: where and how to send the bytes (nchat's UploadInitResponse).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PresignedUpload {
    pub file_id: String,
    /// Hearth's own URL: send the bytes there with `method` and `headers`, no token needed.
    pub upload_url: String,
    /// Always `PUT`.
    pub method: String,
    /// Headers the PUT should carry.
    pub headers: std::collections::BTreeMap<String, String>,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// Where Hearth keeps the bytes: the bucket (folder) and the object key within it.
    pub bucket: String,
    pub key: String,
    /// Exactly this many bytes are expected.
    pub max_size: i64,
}

/// `POST /api/upload/complete`: nchat's attachment record, plus the message it was attached to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CompletedUpload {
    pub attachment: UploadAttachment,
    /// The `etag` the client sent, echoed as nchat does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// The new message carrying the file, as `/ws` announces it.
    pub message: ChatMessage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct UploadAttachment {
    /// The file id.
    pub id: String,
    pub filename: String,
    pub original_filename: String,
    pub mime_type: String,
    pub size: i64,
    /// Download here with the Bearer token of a member of the chat.
    pub url: String,
    /// nchat's category: image, video, audio, document, archive, code or other.
    pub category: String,
    /// Echoed from the request when given (not stored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    pub uploaded_by: String,
    pub channel_id: String,
    pub message_id: String,
    /// RFC 3339 UTC.
    pub created_at: String,
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

/// An announcement's refusal: nchat's spec documents 400 for it, with its codes (the bytes
/// themselves, at the PUT, get 413 and 415).
#[cfg(feature = "ssr")]
fn announce_error(error: UploadError) -> ApiError {
    match error {
        UploadError::TooLarge(message) => {
            ApiError::new(400, files::FILE_TOO_LARGE, message).with_details(serde_json::json!({ "field": "size" }))
        }
        UploadError::BadType(message) => ApiError::new(400, files::INVALID_FILE_TYPE, message)
            .with_details(serde_json::json!({ "field": "contentType" })),
        other => upload_error(other),
    }
}

/// The chat a client names, as Hearth's id: a name that is not one is a chat they are not in.
#[cfg(feature = "ssr")]
fn named_chat(id: Option<LooseId>) -> Result<Option<i64>, ApiError> {
    match id {
        None => Ok(None),
        Some(id) => match id.row() {
            Some(row) => Ok(Some(row)),
            None => Err(ApiError::nchat(crate::domain::DomainError::NotFound("Chat not found.".into()))),
        },
    }
}

/// What uploads accept; no sign-in needed.
#[server(prefix = "/api", endpoint = "upload", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn upload_status() -> Result<Success<UploadService>, NchatError> {
    let state = state()?;
    let max = state.settings.upload_max_bytes;
    let max_file_size = files::nchat_size(max);
    let limits = state
        .settings
        .upload_types
        .iter()
        .map(|kind| UploadLimit { kind: kind.clone(), max_size: max_file_size.clone() })
        .collect();
    Ok(Success::new(UploadService {
        service: "upload".into(),
        status: "available".into(),
        config: UploadConfig {
            max_file_size,
            max_file_size_bytes: max,
            allowed_types: state.settings.upload_types.clone(),
            presigned_url_expiry: state.settings.upload_url_ttl.as_secs(),
        },
        limits,
    }))
}

/// Announces an upload and answers with the presigned URL to PUT the bytes to. Uploads belong to
/// an account (a file is only ever attached to a chat by its uploader), so a token is needed.
/// `channelId`, when given, must be a chat the caller is in; `messageId` is accepted and ignored
/// (files are attached to a new message by `/api/upload/complete`).
#[server(prefix = "/api", endpoint = "upload", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn begin_upload(
    filename: String,
    #[server(rename = "contentType")] content_type: String,
    size: i64,
    #[server(rename = "channelId")] channel_id: Option<LooseId>,
    #[server(rename = "messageId")] _message_id: Option<LooseId>,
) -> Result<Success<PresignedUpload>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let new = files::NewUpload { filename, content_type, size, chat_id: named_chat(channel_id)? };
    let presigned = files::begin_upload(&state, &caller, new).await.map_err(announce_error)?;
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(PresignedUpload {
        file_id: presigned.file_id,
        upload_url: presigned.upload_url,
        method: "PUT".into(),
        headers: [("Content-Type".to_string(), presigned.content_type)].into_iter().collect(),
        expires_at: crate::domain::store::rfc3339(presigned.expires_at),
        bucket: files::UPLOAD_BUCKET.into(),
        key: presigned.key,
        max_size: presigned.max_size,
    }))
}

/// Attaches an uploaded file to a new message in the chat named at upload (or here, as `chatID`
/// or `channelId`), with `text` above the file's name. Members get it as `new_message`. nchat's
/// `etag`, `width`, `height` and `duration` are echoed in the answer.
#[allow(clippy::too_many_arguments)]
#[server(prefix = "/api/upload", endpoint = "complete", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn complete_upload(
    #[server(rename = "fileId")] file_id: String,
    #[server(rename = "chatID")] chat_id: Option<LooseId>,
    #[server(rename = "channelId")] channel_id: Option<LooseId>,
    text: Option<String>,
    etag: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    duration: Option<f64>,
) -> Result<Success<CompletedUpload>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    if etag.as_ref().is_some_and(|e| e.chars().count() > 200) {
        return Err(crate::domain::DomainError::invalid("etag", "etag can be at most 200 characters.").into());
    }
    if duration.is_some_and(|d| !d.is_finite() || d < 0.0) {
        return Err(crate::domain::DomainError::invalid("duration", "duration must be 0 or more seconds.").into());
    }
    let chat_id = named_chat(chat_id.or(channel_id))?;
    let attached = files::complete(&state, &caller, &file_id, chat_id, text.as_deref()).await.map_err(upload_error)?;
    let message = ChatMessage::from(attached.message);
    let file = attached.file;
    Ok(Success::new(CompletedUpload {
        attachment: UploadAttachment {
            url: format!("/api/files/{}", file.id),
            category: files::category(&file.content_type).into(),
            original_filename: file.filename.clone(),
            filename: file.filename,
            mime_type: file.content_type,
            size: file.size,
            id: file.id,
            width,
            height,
            duration,
            uploaded_by: caller.user_id.to_string(),
            channel_id: message.chat_id.to_string(),
            message_id: message.message_id.to_string(),
            created_at: message.timestamp.clone(),
        },
        etag,
        message,
    }))
}

/// What the presigned `PUT` answers once the bytes are stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct StoredBytes {
    pub file_id: String,
    pub size: i64,
}
