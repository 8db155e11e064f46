//! nchat's search routes (`GET` and `POST /api/search`): ranked, paginated hits among messages
//! of the caller's chats, people by username and the caller's groups by name. Sign-in required.

// A server function's arguments are its JSON body's fields (the advanced search has nine), and
// the macro does not carry attributes over to the browser-side function it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

use super::ids::Id;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::search::{self, Kind};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageResult {
    pub id: String,
    pub chat_id: String,
    pub user_id: String,
    pub username: String,
    pub content: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// Higher is a better match.
    pub score: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserResult {
    pub id: String,
    pub username: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatResult {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchResults {
    pub messages: Vec<MessageResult>,
    pub users: Vec<UserResult>,
    pub chats: Vec<ChatResult>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SearchTotals {
    pub messages: i64,
    pub users: i64,
    pub chats: i64,
    pub all: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// The largest total of the kinds searched: `limit`/`offset` page each kind alike.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SearchData {
    pub results: SearchResults,
    pub totals: SearchTotals,
    pub query: String,
    pub types: Vec<String>,
    pub pagination: Pagination,
}

#[cfg(feature = "ssr")]
async fn run(query: search::Query) -> Result<Success<SearchData>, ApiError> {
    let state = state()?;
    let caller = caller(&state, None).await.map_err(ApiError::nchat)?;
    let found = search::search(&state, &caller, &query).await.map_err(ApiError::nchat)?;
    let total = found.message_total.max(found.user_total).max(found.chat_total);
    Ok(Success::new(SearchData {
        results: SearchResults {
            messages: found
                .messages
                .into_iter()
                .map(|m| MessageResult {
                    id: m.id.to_string(),
                    chat_id: m.chat_id.to_string(),
                    user_id: m.user_id.to_string(),
                    username: m.username,
                    content: m.body,
                    created_at: crate::domain::store::rfc3339(m.created_at),
                    score: m.score,
                })
                .collect(),
            users: found
                .users
                .into_iter()
                .map(|u| UserResult {
                    id: u.id.to_string(),
                    display_name: u.display_name.unwrap_or_else(|| u.username.clone()),
                    username: u.username,
                })
                .collect(),
            chats: found.chats.into_iter().map(|c| ChatResult { id: c.id.to_string(), name: c.name }).collect(),
        },
        totals: SearchTotals {
            messages: found.message_total,
            users: found.user_total,
            chats: found.chat_total,
            all: found.message_total + found.user_total + found.chat_total,
        },
        query: query.text.trim().to_string(),
        types: found.kinds.iter().map(|k| k.as_str().to_string()).collect(),
        pagination: Pagination {
            total,
            limit: found.limit,
            offset: found.offset,
            has_more: found.offset + found.limit < total,
        },
    }))
}

/// Quick search over every kind.
#[server(prefix = "/api", endpoint = "search", input = GetUrl, output = Json)]
pub async fn quick_search(
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Success<SearchData>, ApiError> {
    run(search::Query { text: q.unwrap_or_default(), limit, offset, ..search::Query::default() }).await
}

/// Search with filters: `types` (messages, users, chats), `channelIds`, `dateFrom`/`dateTo`
/// (RFC 3339 or Unix ms), `sortBy` (`relevance` or `date`), `sortOrder` (`asc` or `desc`).
#[server(prefix = "/api", endpoint = "search", input = Json, output = Json)]
pub async fn advanced_search(
    query: String,
    #[server(default)] types: Vec<String>,
    #[server(default)]
    #[server(rename = "channelIds")]
    channel_ids: Vec<Id>,
    #[server(default)]
    #[server(rename = "dateFrom")]
    date_from: serde_json::Value,
    #[server(default)]
    #[server(rename = "dateTo")]
    date_to: serde_json::Value,
    #[server(rename = "sortBy")] sort_by: Option<String>,
    #[server(rename = "sortOrder")] sort_order: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Success<SearchData>, ApiError> {
    let invalid = |e| ApiError::nchat(e);
    let kinds = types.iter().map(|t| Kind::parse(t)).collect::<Result<Vec<_>, _>>().map_err(invalid)?;
    let by_date = match sort_by.as_deref().map(str::trim) {
        None | Some("") | Some("relevance") => false,
        Some("date") | Some("createdAt") | Some("timestamp") => true,
        Some(_) => {
            return Err(ApiError::nchat(crate::domain::DomainError::invalid(
                "sortBy",
                "sortBy must be relevance or date.",
            )))
        }
    };
    let ascending = match sort_order.as_deref().map(str::trim) {
        None | Some("") | Some("desc") => false,
        Some("asc") => true,
        Some(_) => {
            return Err(ApiError::nchat(crate::domain::DomainError::invalid(
                "sortOrder",
                "sortOrder must be asc or desc.",
            )))
        }
    };
    run(search::Query {
        text: query,
        kinds,
        chat_ids: channel_ids.into_iter().map(i64::from).collect(),
        date_from: search::parse_date("dateFrom", &date_from).map_err(invalid)?,
        date_to: search::parse_date("dateTo", &date_to).map_err(invalid)?,
        by_date,
        ascending,
        limit,
        offset,
    })
    .await
}
