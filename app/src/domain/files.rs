//! File uploads: presigned upload URLs on Hearth itself, checks of what actually arrived (size and
//! content against the declared type), attaching a file to a chat message, and who may download.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::chats::{self, Author, Message, NewMessage};
use super::sessions::Caller;
use super::store::now_ms;
use super::{AppState, DomainError};

pub const DEFAULT_MAX_BYTES: u64 = 10 * 1024 * 1024;
pub const DEFAULT_TYPES: &[&str] =
    &["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "application/zip"];
pub const FILENAME_MAX_CHARS: usize = 255;
/// The storage bucket nchat's answers name: Hearth keeps files in `<data dir>/uploads/`, each
/// under its file id (the object key).
pub const UPLOAD_BUCKET: &str = "uploads";
/// nchat's codes for refused uploads.
pub const FILE_TOO_LARGE: &str = "FILE_TOO_LARGE";
pub const INVALID_FILE_TYPE: &str = "INVALID_FILE_TYPE";

/// Why an upload was refused: nchat has its own codes (and statuses) for size and type.
#[derive(Debug)]
pub enum UploadError {
    /// 413 FILE_TOO_LARGE.
    TooLarge(String),
    /// 415 INVALID_FILE_TYPE.
    BadType(String),
    Domain(DomainError),
}

impl From<DomainError> for UploadError {
    fn from(error: DomainError) -> Self {
        UploadError::Domain(error)
    }
}

impl From<sqlx::Error> for UploadError {
    fn from(error: sqlx::Error) -> Self {
        UploadError::Domain(error.into())
    }
}

pub type UploadResult<T> = Result<T, UploadError>;

/// What a client announces before uploading.
#[derive(Debug, Clone)]
pub struct NewUpload {
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub chat_id: Option<i64>,
}

/// Where and until when the client may PUT the bytes.
#[derive(Debug, Clone)]
pub struct Presigned {
    pub file_id: String,
    /// Where the bytes are kept within `UPLOAD_BUCKET`.
    pub key: String,
    pub upload_url: String,
    pub content_type: String,
    pub expires_at: i64,
    pub max_size: i64,
}

/// A file as a message carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct Attachment {
    pub file_id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
}

/// The attachments of these messages, by message (one query for all of them).
pub async fn attachments_of(state: &AppState, message_ids: &[i64]) -> Result<Vec<(i64, Attachment)>, DomainError> {
    if message_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=message_ids.len()).map(|n| format!("${n}")).collect();
    let sql = format!(
        "SELECT message_id, id AS file_id, filename, content_type, stored_size AS size FROM files \
         WHERE message_id IN ({}) AND stored_size IS NOT NULL ORDER BY created_at",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, AttachedFile>(&sql);
    for id in message_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(state.store.pool()).await?;
    Ok(rows.into_iter().map(|row| (row.message_id, row.attachment)).collect())
}

/// An attachment and the message that carries it.
#[derive(sqlx::FromRow)]
struct AttachedFile {
    message_id: i64,
    #[sqlx(flatten)]
    attachment: Attachment,
}

/// Links the author's uploaded file to their new message, in the transaction that stores the
/// message (`chats::post`). A file goes with one message only: a second link is refused.
pub(super) async fn link(
    conn: &mut sqlx::AnyConnection,
    file_id: &str,
    uploader_id: i64,
    message_id: i64,
    chat_id: i64,
) -> Result<(), DomainError> {
    let linked = sqlx::query(
        "UPDATE files SET message_id = $1, chat_id = $2 WHERE id = $3 AND uploader_id = $4 AND message_id IS NULL",
    )
    .bind(message_id)
    .bind(chat_id)
    .bind(file_id)
    .bind(uploader_id)
    .execute(conn)
    .await?;
    if linked.rows_affected() != 1 {
        return Err(attached_already());
    }
    Ok(())
}

fn attached_already() -> DomainError {
    DomainError::Conflict("This file is attached already.".into())
}

/// A stored file's metadata.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub id: String,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub path: PathBuf,
}

const FILE_COLUMNS: &str =
    "id, uploader_id, chat_id, filename, content_type, declared_size, stored_size, message_id, expires_at";

#[derive(sqlx::FromRow)]
struct FileRecord {
    id: String,
    uploader_id: i64,
    chat_id: Option<i64>,
    filename: String,
    content_type: String,
    declared_size: i64,
    stored_size: Option<i64>,
    message_id: Option<i64>,
    expires_at: i64,
}

fn file_not_found() -> DomainError {
    DomainError::NotFound("File not found.".into())
}

/// The content type without parameters, lower case (`Text/Plain; charset=utf-8` → `text/plain`).
pub fn base_type(raw: &str) -> String {
    raw.split(';').next().unwrap_or_default().trim().to_ascii_lowercase()
}

fn parse_filename(raw: &str) -> Result<String, DomainError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(DomainError::invalid("filename", "Give the file a name."));
    }
    if name.chars().count() > FILENAME_MAX_CHARS {
        return Err(DomainError::invalid(
            "filename",
            format!("A file name can be at most {FILENAME_MAX_CHARS} characters."),
        ));
    }
    // The name ends up in a Content-Disposition header and in message text.
    if name.chars().any(|c| c.is_control() || c == '/' || c == '\\' || c == '"') {
        return Err(DomainError::invalid(
            "filename",
            "A file name cannot contain control characters, slashes or quotes.",
        ));
    }
    Ok(name.to_string())
}

fn is_file_id(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// HMAC-SHA256 (RFC 2104) over sha2, so no extra crate is needed for one MAC.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let inner_key: Vec<u8> = block.iter().map(|b| b ^ 0x36).collect();
    let outer_key: Vec<u8> = block.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new().chain_update(&inner_key).chain_update(message).finalize();
    Sha256::new().chain_update(&outer_key).chain_update(inner).finalize().into()
}

/// The upload URLs' key: derived from the JWT secret, so one secret is configured, yet a token
/// signature can never be replayed as an upload signature.
fn signing_key(state: &AppState) -> [u8; 32] {
    Sha256::new()
        .chain_update(b"uploads")
        .chain_update(secrecy::ExposeSecret::expose_secret(&state.settings.jwt_secret))
        .finalize()
        .into()
}

fn signature(state: &AppState, file_id: &str, size: i64, content_type: &str, expires: i64) -> String {
    let message = format!("{file_id}\n{size}\n{content_type}\n{expires}");
    hex::encode(hmac_sha256(&signing_key(state), message.as_bytes()))
}

fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    // Constant time, so a signature cannot be guessed byte by byte.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A size as nchat writes it: 1024-based units, at most two decimals (`10 MB`, `1.5 KB`, `12 B`).
pub fn nchat_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    let rounded = format!("{value:.2}");
    let trimmed = rounded.trim_end_matches('0').trim_end_matches('.');
    format!("{trimmed} {}", UNITS[unit])
}

/// nchat's file category of a content type: image, video, audio, document, archive, code or other.
pub fn category(content_type: &str) -> &'static str {
    let base = base_type(content_type);
    let (kind, sub) = base.split_once('/').unwrap_or((base.as_str(), ""));
    match kind {
        "image" => "image",
        "video" => "video",
        "audio" => "audio",
        _ => match sub {
            "pdf" | "msword" | "markdown" | "csv" | "plain" => "document",
            s if s.starts_with("vnd.openxmlformats") || s.starts_with("vnd.ms-") => "document",
            "zip" | "gzip" | "x-tar" | "x-7z-compressed" | "x-rar-compressed" => "archive",
            "javascript" | "typescript" | "json" | "html" | "css" | "xml" => "code",
            s if s.starts_with("x-") && kind == "text" => "code",
            _ => "other",
        },
    }
}

fn human_size(bytes: i64) -> String {
    match bytes {
        b if b >= 1024 * 1024 => format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        b if b >= 1024 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} bytes"),
    }
}

/// Checks the announcement and hands out a presigned URL for the bytes.
pub async fn begin_upload(state: &AppState, caller: &Caller, new: NewUpload) -> UploadResult<Presigned> {
    chats::ensure_can_write(caller)?;
    let filename = parse_filename(&new.filename)?;
    let content_type = base_type(&new.content_type);
    if !state.settings.upload_types.contains(&content_type) {
        return Err(UploadError::BadType(format!(
            "Files of type {content_type:?} cannot be uploaded. Allowed: {}.",
            state.settings.upload_types.join(", ")
        )));
    }
    let max = i64::try_from(state.settings.upload_max_bytes).unwrap_or(i64::MAX);
    if new.size < 1 {
        return Err(DomainError::invalid("size", "size must be at least 1 byte.").into());
    }
    if new.size > max {
        return Err(UploadError::TooLarge(format!("Files can be at most {max} bytes.")));
    }
    if let Some(chat_id) = new.chat_id {
        if !chats::is_member(state, chat_id, caller.user_id).await? {
            return Err(DomainError::NotFound("Chat not found.".into()).into());
        }
    }
    let file_id = hex::encode(rand::random::<[u8; 16]>());
    let now = now_ms();
    let expires_at = now + super::store::ms(state.settings.upload_url_ttl);
    sqlx::query(
        "INSERT INTO files (id, uploader_id, chat_id, filename, content_type, declared_size, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&file_id)
    .bind(caller.user_id)
    .bind(new.chat_id)
    .bind(&filename)
    .bind(&content_type)
    .bind(new.size)
    .bind(now)
    .bind(expires_at)
    .execute(state.store.pool())
    .await?;
    let signature = signature(state, &file_id, new.size, &content_type, expires_at);
    let base = state.settings.public_url.trim_end_matches('/');
    Ok(Presigned {
        upload_url: format!("{base}/api/upload/{file_id}?expires={expires_at}&signature={signature}"),
        key: file_id.clone(),
        file_id,
        content_type,
        expires_at,
        max_size: new.size,
    })
}

async fn record(state: &AppState, file_id: &str) -> Result<Option<FileRecord>, DomainError> {
    if !is_file_id(file_id) {
        return Ok(None);
    }
    let sql = format!("SELECT {FILE_COLUMNS} FROM files WHERE id = $1");
    let found = sqlx::query_as(&sql).bind(file_id).fetch_optional(state.store.pool()).await?;
    Ok(found)
}

/// An upload the presigned URL allows: where to write, and how much at most.
#[derive(Debug, Clone)]
pub struct PendingUpload {
    pub file_id: String,
    pub content_type: String,
    pub declared_size: i64,
    /// Bytes go here first, and are moved to `path` once they pass the checks.
    pub partial_path: PathBuf,
    pub path: PathBuf,
}

fn stored_path(state: &AppState, file_id: &str) -> PathBuf {
    state.settings.upload_dir.join(file_id)
}

/// Checks a presigned URL's signature and expiry. Any tampering (id, expiry, signature) is a 403.
pub async fn authorize_put(
    state: &AppState,
    file_id: &str,
    expires: Option<&str>,
    given_signature: Option<&str>,
) -> UploadResult<PendingUpload> {
    let refused = || UploadError::Domain(DomainError::Forbidden("Invalid or expired upload URL.".into()));
    let expires: i64 = expires.and_then(|e| e.parse().ok()).ok_or_else(refused)?;
    let given_signature = given_signature.ok_or_else(refused)?;
    let file = record(state, file_id).await?.ok_or_else(refused)?;
    let expected = signature(state, &file.id, file.declared_size, &file.content_type, expires);
    if !same_bytes(expected.as_bytes(), given_signature.as_bytes()) || expires != file.expires_at {
        return Err(refused());
    }
    if now_ms() > expires {
        return Err(refused());
    }
    if file.stored_size.is_some() {
        return Err(DomainError::Conflict("This file has been uploaded already.".into()).into());
    }
    Ok(PendingUpload {
        partial_path: state.settings.upload_dir.join(format!("{}.part-{:08x}", file.id, rand::random::<u32>())),
        path: stored_path(state, &file.id),
        file_id: file.id,
        content_type: file.content_type,
        declared_size: file.declared_size,
    })
}

/// Signatures of executables, which are never accepted whatever they claim to be.
fn is_executable(head: &[u8]) -> bool {
    const MAGIC: &[&[u8]] = &[
        b"MZ",
        b"\x7fELF",
        b"#!",
        b"\xfe\xed\xfa\xce",
        b"\xfe\xed\xfa\xcf",
        b"\xce\xfa\xed\xfe",
        b"\xcf\xfa\xed\xfe",
        b"\xca\xfe\xba\xbe",
        b"\0asm",
    ];
    MAGIC.iter().any(|magic| head.starts_with(magic))
}

/// Markup a browser would run: HTML, or SVG/XML with scripts or event handlers.
fn is_active_markup(content: &[u8]) -> bool {
    let text = String::from_utf8_lossy(content).to_ascii_lowercase();
    let start = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    const HTML_STARTS: &[&str] = &["<!doctype html", "<html", "<head", "<body", "<script", "<iframe", "<svg"];
    if HTML_STARTS.iter().any(|tag| start.starts_with(tag)) {
        return true;
    }
    text.contains("<script") || text.contains("javascript:") || (text.contains("<svg") && text.contains(" on"))
}

/// True when the bytes are what `content_type` says. Unknown (configured) types only have to be
/// neither executable nor active markup.
pub fn content_matches(content_type: &str, content: &[u8]) -> bool {
    if is_executable(content) {
        return false;
    }
    match content_type {
        "image/png" => content.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => content.starts_with(b"\xff\xd8\xff"),
        "image/gif" => content.starts_with(b"GIF87a") || content.starts_with(b"GIF89a"),
        "image/webp" => content.len() >= 12 && content.starts_with(b"RIFF") && &content[8..12] == b"WEBP",
        "application/pdf" => content.starts_with(b"%PDF-"),
        "application/zip" => content.starts_with(b"PK\x03\x04") || content.starts_with(b"PK\x05\x06"),
        "text/plain" | "text/csv" | "text/markdown" => {
            std::str::from_utf8(content).is_ok() && !content.contains(&0) && !is_active_markup(content)
        }
        "image/svg+xml" => std::str::from_utf8(content).is_ok() && !is_active_markup_in_svg(content),
        _ => !is_active_markup(content),
    }
}

fn is_active_markup_in_svg(content: &[u8]) -> bool {
    let text = String::from_utf8_lossy(content).to_ascii_lowercase();
    text.contains("<script")
        || text.contains("javascript:")
        || text.contains("<foreignobject")
        || text.split(|c: char| c.is_whitespace()).any(|word| word.starts_with("on") && word.contains('='))
}

/// Called once the PUT's bytes are in `partial_path` (`received` of them): checks them against
/// what was declared and keeps them. On refusal the partial file is removed.
pub async fn finish_put(state: &AppState, pending: &PendingUpload, received: i64) -> UploadResult<()> {
    let outcome = check_and_keep(state, pending, received).await;
    if outcome.is_err() {
        let _ = tokio::fs::remove_file(&pending.partial_path).await;
    }
    outcome
}

async fn check_and_keep(state: &AppState, pending: &PendingUpload, received: i64) -> UploadResult<()> {
    if received != pending.declared_size {
        return Err(DomainError::invalid(
            "size",
            format!("Received {received} bytes, but the upload declared {}.", pending.declared_size),
        )
        .into());
    }
    let content = tokio::fs::read(&pending.partial_path).await.map_err(internal)?;
    if !content_matches(&pending.content_type, &content) {
        return Err(UploadError::BadType(format!("The file's content is not {}.", pending.content_type)));
    }
    // Only one PUT may land: the first to set stored_size wins.
    let claimed =
        sqlx::query("UPDATE files SET stored_size = $1, uploaded_at = $2 WHERE id = $3 AND stored_size IS NULL")
            .bind(received)
            .bind(now_ms())
            .bind(&pending.file_id)
            .execute(state.store.pool())
            .await?;
    if claimed.rows_affected() != 1 {
        return Err(DomainError::Conflict("This file has been uploaded already.".into()).into());
    }
    tokio::fs::rename(&pending.partial_path, &pending.path).await.map_err(internal)?;
    Ok(())
}

fn internal(error: std::io::Error) -> UploadError {
    UploadError::Domain(DomainError::Internal(format!("upload storage: {error}")))
}

/// A file attached to a message.
#[derive(Debug, Clone)]
pub struct Attached {
    pub message: Message,
    pub file: StoredFile,
}

/// Attaches an uploaded file to a new message in `chat_id` (or the chat named at upload), after
/// checking once more that the bytes on disk are what was declared.
pub async fn complete(
    state: &AppState,
    caller: &Caller,
    file_id: &str,
    chat_id: Option<i64>,
    text: Option<&str>,
) -> UploadResult<Attached> {
    let file = record(state, file_id).await?.filter(|f| f.uploader_id == caller.user_id).ok_or_else(file_not_found)?;
    let chat_id = match (chat_id, file.chat_id) {
        (Some(given), Some(announced)) if given != announced => {
            return Err(DomainError::invalid("chatID", "The file was announced for another chat.").into());
        }
        (Some(chat_id), _) | (None, Some(chat_id)) => chat_id,
        (None, None) => return Err(DomainError::invalid("chatID", "Name the chat to attach the file to.").into()),
    };
    if file.message_id.is_some() {
        return Err(attached_already().into());
    }
    let Some(stored_size) = file.stored_size else {
        return Err(DomainError::Conflict("The file has not been uploaded yet.".into()).into());
    };
    let path = stored_path(state, &file.id);
    let content = tokio::fs::read(&path).await.map_err(internal)?;
    if content.len() as i64 != stored_size || stored_size != file.declared_size {
        return Err(DomainError::invalid("size", "The stored file does not have the declared size.").into());
    }
    if !content_matches(&file.content_type, &content) {
        return Err(UploadError::BadType(format!("The file's content is not {}.", file.content_type)));
    }
    let note = format!("📎 {} ({})", file.filename, human_size(stored_size));
    let body = match text.map(str::trim).filter(|t| !t.is_empty()) {
        Some(text) => format!("{text}\n{note}"),
        None => note,
    };
    // Stored and linked together, then announced: whoever sees the message can download the file.
    let attachment = Attachment {
        file_id: file.id.clone(),
        filename: file.filename.clone(),
        content_type: file.content_type.clone(),
        size: stored_size,
    };
    let new = NewMessage::text(chat_id, Author::Member(caller), &body, None);
    let posted = chats::post(state, NewMessage { attachments: vec![attachment], ..new }).await?;
    super::audit::record(
        state,
        super::audit::AuditEvent::new("file", "file.uploaded", format!("File {} attached to chat {chat_id}.", file.id))
            .by_caller(caller)
            .with(serde_json::json!({
                "fileId": file.id,
                "chatId": chat_id.to_string(),
                "contentType": file.content_type,
                "size": stored_size,
            })),
    )
    .await;
    Ok(Attached {
        message: posted.message,
        file: StoredFile {
            id: file.id,
            filename: file.filename,
            content_type: file.content_type,
            size: stored_size,
            path,
        },
    })
}

/// The file, for members of the chat it is attached to (and its uploader before that). Everyone
/// else is told it does not exist.
pub async fn download(state: &AppState, caller: &Caller, file_id: &str) -> Result<StoredFile, DomainError> {
    let file = record(state, file_id).await?.ok_or_else(file_not_found)?;
    let Some(size) = file.stored_size else {
        return Err(file_not_found());
    };
    let allowed = match (file.message_id, file.chat_id) {
        (Some(_), Some(chat_id)) => chats::is_member(state, chat_id, caller.user_id).await?,
        _ => file.uploader_id == caller.user_id,
    };
    if !allowed {
        return Err(file_not_found());
    }
    Ok(StoredFile {
        path: stored_path(state, &file.id),
        id: file.id,
        filename: file.filename,
        content_type: file.content_type,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(hex::encode(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[test]
    fn sizes_and_categories_read_like_nchats() {
        assert_eq!(nchat_size(10 * 1024 * 1024), "10 MB");
        assert_eq!(nchat_size(1536), "1.5 KB");
        assert_eq!(nchat_size(12), "12 B");
        assert_eq!(nchat_size(0), "0 B");
        assert_eq!(category("image/png"), "image");
        assert_eq!(category("application/pdf"), "document");
        assert_eq!(category("text/plain; charset=utf-8"), "document");
        assert_eq!(category("application/zip"), "archive");
        assert_eq!(category("application/json"), "code");
        assert_eq!(category("application/x-custom"), "other");
    }

    #[test]
    fn content_is_sniffed() {
        assert!(content_matches("image/png", b"\x89PNG\r\n\x1a\nrest"));
        assert!(!content_matches("image/png", b"GIF89a"));
        assert!(!content_matches("text/plain", b"<!DOCTYPE html><p>hi"));
        assert!(!content_matches("text/plain", b"MZ\x90\0"));
        assert!(content_matches("text/plain", "héllo".as_bytes()));
        assert!(!content_matches("image/svg+xml", b"<svg onload=alert(1)>"));
        assert!(!content_matches("application/x-custom", b"\x7fELF"));
    }
}
