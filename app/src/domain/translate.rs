//! Translation through a LibreTranslate-compatible server (`POST <url>/translate`).

use serde::Deserialize;
use serde_json::json;

use super::integrations::{ToolError, ToolResult, Upstream};

/// Longest text accepted, in characters (nchat's limit).
pub const MAX_TEXT_CHARS: usize = 5000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub text: String,
    /// The source language given, or the one the server detected.
    pub source: String,
    pub target: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    translated_text: String,
    #[serde(default)]
    detected_language: Option<Detected>,
}

#[derive(Deserialize)]
struct Detected {
    language: String,
}

#[derive(Deserialize)]
struct UpstreamError {
    error: String,
}

/// Language codes look like `en`, `pt-BR` or `zh-Hans`; `auto` asks the server to detect.
fn language(field: &'static str, code: &str) -> ToolResult<String> {
    let code = code.trim();
    let valid = (2..=12).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_alphabetic() || b == b'-');
    if !valid {
        return Err(ToolError::invalid(field, format!("{field} must be a language code such as \"en\".")));
    }
    Ok(code.to_string())
}

fn source_language(source: Option<&str>) -> ToolResult<String> {
    match source.filter(|s| !s.trim().is_empty()) {
        Some(source) => language("sourceLanguage", source),
        None => Ok("auto".to_string()),
    }
}

/// The text as sent, for when no translation server is configured (nchat answers so). Call it
/// with input `translate` accepted.
pub fn untranslated(text: &str, target: &str, source: Option<&str>) -> Translation {
    Translation {
        text: text.to_string(),
        source: source_language(source).unwrap_or_else(|_| "auto".into()),
        target: target.trim().to_string(),
    }
}

pub async fn translate(
    upstream: Option<&Upstream>,
    timeout: std::time::Duration,
    text: &str,
    target: &str,
    source: Option<&str>,
) -> ToolResult<Translation> {
    if text.trim().is_empty() {
        return Err(ToolError::invalid("text", "text must not be empty."));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(ToolError::invalid("text", format!("text must be at most {MAX_TEXT_CHARS} characters.")));
    }
    let target = language("targetLanguage", target)?;
    let source = source_language(source)?;
    // Checked after the input, so a bad request is a 400 whether or not a server is configured.
    let upstream = upstream.ok_or(ToolError::Unavailable("Translation is not configured on this server."))?;
    let mut body = json!({ "q": text, "source": source, "target": target, "format": "text" });
    if let Some(key) = &upstream.api_key {
        body["api_key"] = json!(secrecy::ExposeSecret::expose_secret(key));
    }
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| ToolError::Internal(e.to_string()))?;
    let response = client
        .post(format!("{}/translate", upstream.url))
        .json(&body)
        .send()
        .await
        .map_err(|e| ToolError::from_reqwest(e, "translation"))?;
    let status = response.status();
    if !status.is_success() {
        // LibreTranslate explains itself in `{"error": …}`; pass that on, it helps the caller.
        let why = response.json::<UpstreamError>().await.map(|e| e.error).unwrap_or_default();
        let why: String = why.chars().take(200).collect();
        return Err(ToolError::Upstream(format!("The translation service answered {}: {why}", status.as_u16())));
    }
    let reply: Reply = response.json().await.map_err(|e| {
        if e.is_timeout() {
            return ToolError::Timeout;
        }
        ToolError::Upstream("The translation service sent an answer Hearth cannot read.".into())
    })?;
    let source = match (source.as_str(), reply.detected_language) {
        ("auto", Some(detected)) => detected.language,
        _ => source,
    };
    Ok(Translation { text: reply.translated_text, source, target })
}
