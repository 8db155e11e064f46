//! The raw-byte upload routes: the presigned `PUT /api/upload/{fileId}` (streamed to disk, capped
//! at the declared size) and `GET /api/files/{fileId}` (download for members of the file's chat).

use std::collections::HashMap;

use app::api::error::{codes, ApiError, NchatError};
use app::api::files::{upload_error, StoredBytes};
use app::api::nchat::Success;
use app::domain::files::{self, UploadError};
use app::domain::sessions::Caller;
use app::domain::AppState;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use tokio::io::AsyncWriteExt;

use crate::envelope::NchatPath;

fn nchat_error(error: ApiError) -> Response {
    NchatError(error).into_response()
}

/// The query string's parameters; an unreadable one reads as none (the signature check fails).
pub fn query_params(raw: Option<String>) -> HashMap<String, String> {
    raw.and_then(|q| serde_urlencoded::from_str(&q).ok()).unwrap_or_default()
}

/// Receives the bytes of an announced upload. The URL's signature covers the file id, size, type
/// and expiry; more bytes than declared are refused as they arrive.
pub async fn put_upload(
    State(state): State<AppState>,
    NchatPath(file_id): NchatPath<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = query_params(query);
    let pending = match files::authorize_put(
        &state,
        &file_id,
        params.get("expires").map(String::as_str),
        params.get("signature").map(String::as_str),
    )
    .await
    {
        Ok(pending) => pending,
        Err(error) => return nchat_error(upload_error(error)),
    };
    let too_large =
        || upload_error(UploadError::TooLarge(format!("This upload was declared as {} bytes.", pending.declared_size)));
    // The PUT's own Content-Type, when given, must be the one that was signed.
    let put_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(files::base_type);
    if put_type.is_some_and(|put_type| !put_type.is_empty() && put_type != pending.content_type) {
        let message = format!("This upload was declared as {}.", pending.content_type);
        return nchat_error(upload_error(UploadError::BadType(message)));
    }
    let announced = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<i64>().ok());
    if announced.is_some_and(|length| length > pending.declared_size) {
        return nchat_error(too_large());
    }
    if let Err(error) = tokio::fs::create_dir_all(&state.settings.upload_dir).await {
        tracing::error!(%error, "cannot create the upload folder");
        return nchat_error(ApiError::internal());
    }
    match receive(&pending, body).await {
        Ok(Some(received)) => match files::finish_put(&state, &pending, received).await {
            Ok(()) => (
                StatusCode::OK,
                axum::Json(Success::new(StoredBytes { file_id: pending.file_id.clone(), size: received })),
            )
                .into_response(),
            Err(error) => nchat_error(upload_error(error)),
        },
        Ok(None) => {
            let _ = tokio::fs::remove_file(&pending.partial_path).await;
            nchat_error(too_large())
        }
        Err(error) => {
            let _ = tokio::fs::remove_file(&pending.partial_path).await;
            tracing::warn!(%error, "upload body could not be stored");
            nchat_error(ApiError::bad_request("The upload did not arrive completely."))
        }
    }
}

/// Streams the body into the partial file: Some(bytes received), or None once it passes the
/// declared size (the rest is not read).
async fn receive(pending: &files::PendingUpload, body: Body) -> std::io::Result<Option<i64>> {
    let mut file = tokio::fs::File::create(&pending.partial_path).await?;
    let mut received: i64 = 0;
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        received += chunk.len() as i64;
        if received > pending.declared_size {
            return Ok(None);
        }
        file.write_all(&chunk).await?;
    }
    file.flush().await?;
    file.sync_all().await?;
    Ok(Some(received))
}

/// `attachment; filename="…"` with an ASCII fallback and the exact name in `filename*` (RFC 6266).
fn content_disposition(filename: &str) -> HeaderValue {
    let fallback: String = filename.chars().map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { '_' }).collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    HeaderValue::from_str(&format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The file's bytes, for members of the chat it is attached to.
pub async fn download(
    State(state): State<AppState>,
    NchatPath(file_id): NchatPath<String>,
    caller: Caller,
) -> Response {
    let file = match files::download(&state, &caller, &file_id).await {
        Ok(file) => file,
        Err(error) => return nchat_error(ApiError::nchat(error)),
    };
    let bytes = match tokio::fs::read(&file.path).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, file = %file.id, "stored upload is missing");
            return nchat_error(ApiError::new(404, codes::NOT_FOUND, "File not found."));
        }
    };
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let mut response = Body::from(bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type);
    headers.insert(CONTENT_DISPOSITION, content_disposition(&file.filename));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
    response
}
