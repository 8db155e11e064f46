//! nchat's search routes (`GET` and `POST /api/search`): one list of typed results (messages and
//! files of the caller's chats, people by username, the caller's groups as channels). A token is
//! optional: without one nothing is public, so nothing is found; a bad one is refused.

// A server function's arguments are its JSON body's fields (the advanced search has ten), and
// the macro does not carry attributes over to the browser-side function it generates.
#![allow(clippy::too_many_arguments)]

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

use super::error::NchatError;
use super::ids::LooseId;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::search::{self, Hit, Kind};
#[cfg(feature = "ssr")]
use crate::domain::DomainError;

/// One result, in nchat's SearchResultItem shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct SearchItem {
    pub id: String,
    /// `messages`, `files`, `users` or `channels`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snippet: Option<String>,
    /// Higher is a better match (messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    /// RFC 3339 UTC.
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// How many of each type match; `total` is their sum.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchTotals {
    pub messages: i64,
    pub files: i64,
    pub users: i64,
    pub channels: i64,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
    pub has_more: bool,
}

/// `POST /api/search`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SearchData {
    /// One page of the list: each type's results in turn, in the order of `types`.
    pub results: Vec<SearchItem>,
    pub totals: SearchTotals,
    pub query: String,
    pub types: Vec<String>,
    pub pagination: Pagination,
}

/// Pages as nchat's list handlers count them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct PagePagination {
    pub total: i64,
    pub page: i64,
    pub limit: i64,
    pub total_pages: i64,
    pub has_next: bool,
    pub has_prev: bool,
}

/// `GET /api/search`: nchat's SearchResults (`items`, `total`, `page`, `limit`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct QuickSearchData {
    pub items: Vec<SearchItem>,
    pub total: i64,
    /// 1-based.
    pub page: i64,
    pub limit: i64,
    pub has_more: bool,
    pub totals: SearchTotals,
    pub pagination: PagePagination,
}

#[cfg(feature = "ssr")]
fn item(hit: Hit) -> SearchItem {
    use crate::domain::store::rfc3339;
    let blank = |kind: Kind, id: String, title: String, created_at: i64| SearchItem {
        id,
        kind: kind.as_str().into(),
        title,
        content: None,
        snippet: None,
        score: None,
        channel_id: None,
        channel_name: None,
        user_id: None,
        user_name: None,
        created_at: rfc3339(created_at),
        metadata: None,
    };
    match hit {
        Hit::Message(m) => SearchItem {
            snippet: Some(m.body.chars().take(200).collect()),
            content: Some(m.body),
            score: Some(m.score),
            channel_id: Some(m.chat_id.to_string()),
            channel_name: Some(m.chat_name),
            user_id: Some(m.user_id.to_string()),
            user_name: Some(m.username.clone()),
            ..blank(Kind::Messages, m.id.to_string(), format!("Message from {}", m.username), m.created_at)
        },
        Hit::File(f) => SearchItem {
            channel_id: Some(f.chat_id.to_string()),
            user_id: Some(f.uploader_id.to_string()),
            user_name: Some(f.uploader),
            metadata: Some(serde_json::json!({
                "size": f.size,
                "mimeType": f.content_type,
                "fileType": crate::domain::files::category(&f.content_type),
                "messageId": f.message_id.to_string(),
                "url": format!("/api/files/{}", f.id),
            })),
            ..blank(Kind::Files, f.id, f.filename, f.created_at)
        },
        Hit::User(u) => SearchItem {
            user_id: Some(u.id.to_string()),
            user_name: Some(u.username.clone()),
            metadata: Some(serde_json::json!({ "username": u.username, "role": u.role })),
            ..blank(Kind::Users, u.id.to_string(), u.display_name.unwrap_or_else(|| u.username.clone()), u.created_at)
        },
        Hit::Channel(c) => SearchItem {
            channel_id: Some(c.id.to_string()),
            channel_name: Some(c.name.clone()),
            // Hearth's groups are joined by invitation only.
            metadata: Some(serde_json::json!({ "isPrivate": true, "memberCount": c.member_count })),
            ..blank(Kind::Channels, c.id.to_string(), c.name, c.created_at)
        },
    }
}

#[cfg(feature = "ssr")]
async fn run(query: search::Query) -> Result<(search::Found, Vec<SearchItem>, SearchTotals), ApiError> {
    let state = state()?;
    // No token: an anonymous search (nothing is public). A token that does not work is refused.
    let caller = match caller(&state).await {
        Ok(caller) => Some(caller),
        Err(DomainError::SignInRequired) => None,
        Err(error) => return Err(ApiError::nchat(error)),
    };
    let mut found = search::search(&state, caller.as_ref(), &query).await.map_err(ApiError::nchat)?;
    let totals = SearchTotals {
        messages: found.totals.messages,
        files: found.totals.files,
        users: found.totals.users,
        channels: found.totals.channels,
        total: found.totals.all(),
    };
    let items = std::mem::take(&mut found.hits).into_iter().map(item).collect();
    Ok((found, items, totals))
}

/// Quick search over every type (`q` at least 2 characters); `offset`, or a 1-based `page`.
#[server(prefix = "/api", endpoint = "search", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn quick_search(
    q: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
    page: Option<i64>,
) -> Result<Success<QuickSearchData>, NchatError> {
    let size = limit.unwrap_or(search::LIMIT_DEFAULT);
    let offset = match (offset, page) {
        (Some(offset), _) => Some(offset),
        (None, Some(page)) if page >= 1 => Some((page - 1).saturating_mul(size)),
        (None, Some(_)) => return Err(DomainError::invalid("page", "page must be 1 or more.").into()),
        (None, None) => None,
    };
    let query =
        search::Query { text: q.unwrap_or_default(), kinds: Kind::ALL.to_vec(), limit, offset, ..Default::default() };
    let (found, items, totals) = run(query).await?;
    let total = totals.total;
    let page = found.offset / found.limit + 1;
    let total_pages = (total + found.limit - 1) / found.limit;
    Ok(Success::new(QuickSearchData {
        items,
        total,
        page,
        limit: found.limit,
        has_more: found.offset + found.limit < total,
        totals,
        pagination: PagePagination {
            total,
            page,
            limit: found.limit,
            total_pages,
            has_next: page < total_pages,
            has_prev: page > 1,
        },
    }))
}

/// Search with filters: `types` (messages, files, users, channels), `channelIds` and `userIds`
/// (nchat's string ids; an id Hearth does not know matches nothing), `dateFrom`/`dateTo` (a date,
/// RFC 3339 or Unix ms), `sortBy` (`relevance` or `date`), `sortOrder` (`asc` or `desc`).
#[server(prefix = "/api", endpoint = "search", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn advanced_search(
    query: String,
    types: Option<Vec<String>>,
    #[server(rename = "channelIds")] channel_ids: Option<Vec<LooseId>>,
    #[server(rename = "userIds")] user_ids: Option<Vec<LooseId>>,
    #[server(default)]
    #[server(rename = "dateFrom")]
    date_from: Value,
    #[server(default)]
    #[server(rename = "dateTo")]
    date_to: Value,
    #[server(rename = "sortBy")] sort_by: Option<String>,
    #[server(rename = "sortOrder")] sort_order: Option<String>,
    limit: Option<i64>,
    offset: Option<i64>,
) -> Result<Success<SearchData>, NchatError> {
    let invalid = ApiError::nchat;
    let kinds = match types {
        None => Kind::ALL.to_vec(),
        Some(types) => {
            let mut kinds = Vec::new();
            for kind in types.iter().map(|t| Kind::parse(t)) {
                let kind = kind.map_err(invalid)?;
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            kinds
        }
    };
    let by_date = match sort_by.as_deref().map(str::trim) {
        None | Some("") | Some("relevance") => false,
        Some("date") | Some("createdAt") | Some("timestamp") => true,
        Some(_) => return Err(invalid(DomainError::invalid("sortBy", "sortBy must be relevance or date.")).into()),
    };
    let ascending = match sort_order.as_deref().map(str::trim) {
        None | Some("") | Some("desc") => false,
        Some("asc") => true,
        Some(_) => return Err(invalid(DomainError::invalid("sortOrder", "sortOrder must be asc or desc.")).into()),
    };
    // An empty list filters nothing; otherwise the ids Hearth knows (possibly none).
    let ids = |given: Option<Vec<LooseId>>| {
        given.filter(|ids| !ids.is_empty()).map(|ids| ids.iter().filter_map(LooseId::row).collect())
    };
    let (found, results, totals) = run(search::Query {
        text: query,
        kinds,
        chat_ids: ids(channel_ids),
        user_ids: ids(user_ids),
        date_from: search::parse_date("dateFrom", &date_from).map_err(invalid)?,
        date_to: search::parse_date("dateTo", &date_to).map_err(invalid)?,
        by_date,
        ascending,
        limit,
        offset,
    })
    .await?;
    let total = totals.total;
    Ok(Success::new(SearchData {
        results,
        totals,
        types: found.kinds.iter().map(|k| k.as_str().to_string()).collect(),
        pagination: Pagination {
            total,
            limit: found.limit,
            offset: found.offset,
            has_more: found.offset + found.limit < total,
        },
        query: found.text,
    }))
}
