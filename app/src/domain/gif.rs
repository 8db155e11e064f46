//! GIF search through Giphy or Tenor (v2), normalised to one shape.

use serde_json::Value;

use super::integrations::{GifProvider, ToolError, ToolResult, Upstream};

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 50;

#[derive(Debug, Clone, PartialEq)]
pub struct Gif {
    pub id: String,
    pub title: String,
    pub url: String,
    pub preview_url: String,
    pub width: u32,
    pub height: u32,
}

pub fn default_url(provider: GifProvider) -> &'static str {
    match provider {
        GifProvider::Giphy => "https://api.giphy.com",
        GifProvider::Tenor => "https://tenor.googleapis.com",
    }
}

pub async fn search(
    provider: Option<&(GifProvider, Upstream)>,
    timeout: std::time::Duration,
    query: &str,
    limit: Option<u32>,
) -> ToolResult<Vec<Gif>> {
    let (provider, upstream) =
        provider.ok_or(ToolError::Unavailable("GIF search is not configured on this server."))?;
    let query = query.trim();
    if query.is_empty() || query.chars().count() > 200 {
        return Err(ToolError::invalid("q", "q must be 1 to 200 characters."));
    }
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ToolError::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}.")));
    }
    let key =
        upstream.api_key.as_ref().map(|key| secrecy::ExposeSecret::expose_secret(key).to_string()).unwrap_or_default();
    let limit_text = limit.to_string();
    let (path, params) = match provider {
        GifProvider::Giphy => ("/v1/gifs/search", [("api_key", key.as_str()), ("q", query), ("limit", &limit_text)]),
        GifProvider::Tenor => ("/v2/search", [("key", key.as_str()), ("q", query), ("limit", &limit_text)]),
    };
    let client = reqwest::Client::builder().timeout(timeout).build().map_err(|e| ToolError::Internal(e.to_string()))?;
    let response = client
        .get(format!("{}{path}", upstream.url))
        .query(&params)
        .send()
        .await
        .map_err(|e| ToolError::from_reqwest(e, "GIF"))?;
    if !response.status().is_success() {
        return Err(ToolError::Upstream(format!("The GIF service answered {}.", response.status().as_u16())));
    }
    let body: Value = response.json().await.map_err(|e| match e.is_timeout() {
        true => ToolError::Timeout,
        false => ToolError::Upstream("The GIF service sent an answer Hearth cannot read.".into()),
    })?;
    let gifs = match provider {
        GifProvider::Giphy => body["data"].as_array().map(|items| items.iter().filter_map(giphy).collect()),
        GifProvider::Tenor => body["results"].as_array().map(|items| items.iter().filter_map(tenor).collect()),
    };
    gifs.ok_or_else(|| ToolError::Upstream("The GIF service sent an answer Hearth cannot read.".into()))
}

/// Giphy sends sizes as strings ("480").
fn number(value: &Value) -> u32 {
    value.as_u64().or_else(|| value.as_str().and_then(|s| s.parse().ok())).unwrap_or(0).min(u32::MAX as u64) as u32
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_string()
}

fn giphy(item: &Value) -> Option<Gif> {
    let original = &item["images"]["original"];
    let url = original["url"].as_str()?.to_string();
    let preview = item["images"]["fixed_width_small"]["url"].as_str().or(item["images"]["preview_gif"]["url"].as_str());
    Some(Gif {
        id: text(&item["id"]),
        title: text(&item["title"]),
        preview_url: preview.map(String::from).unwrap_or_else(|| url.clone()),
        url,
        width: number(&original["width"]),
        height: number(&original["height"]),
    })
}

fn tenor(item: &Value) -> Option<Gif> {
    let gif = &item["media_formats"]["gif"];
    let url = gif["url"].as_str()?.to_string();
    let preview = item["media_formats"]["tinygif"]["url"].as_str();
    Some(Gif {
        id: text(&item["id"]),
        title: text(&item["content_description"]),
        preview_url: preview.map(String::from).unwrap_or_else(|| url.clone()),
        url,
        width: number(&gif["dims"][0]),
        height: number(&gif["dims"][1]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_providers_normalise_to_one_shape() {
        let giphy_item = serde_json::json!({"id": "a", "title": "Cat", "images": {
            "original": {"url": "https://g/a.gif", "width": "480", "height": "270"},
            "fixed_width_small": {"url": "https://g/a-s.gif"}}});
        let tenor_item = serde_json::json!({"id": "b", "content_description": "Dog", "media_formats": {
            "gif": {"url": "https://t/b.gif", "dims": [320, 240]}, "tinygif": {"url": "https://t/b-s.gif"}}});
        let a = giphy(&giphy_item).unwrap();
        assert_eq!((a.width, a.height, a.preview_url.as_str()), (480, 270, "https://g/a-s.gif"));
        let b = tenor(&tenor_item).unwrap();
        assert_eq!((b.title.as_str(), b.width, b.height), ("Dog", 320, 240));
        assert!(giphy(&serde_json::json!({"id": "x"})).is_none());
    }
}
