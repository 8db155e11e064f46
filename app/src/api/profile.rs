//! nchat's profile of the signed-in person (`/api/users/me/profile`), shaped as nchat's own
//! handler answers it (`{profile}`); of its fields Hearth keeps the account's and the language.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json, PatchJson};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::NchatError;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::{accounts, DomainError};

/// nchat's `UserProfileFull`, the parts Hearth has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NchatProfile {
    /// nchat's clients expect string ids; Hearth's are integers underneath.
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub email_verified: bool,
    pub role: String,
    /// The language the person chose (ISO 639-1, one of Hearth's catalogue); absent until chosen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProfileData {
    pub profile: NchatProfile,
}

/// What `PATCH /api/users/me/profile` reads of nchat's profile form.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ProfileChanges {
    /// A language of Hearth's catalogue, such as `de` (`de-AT` saves `de`); `null` or absent
    /// leaves it as it is. Any JSON value is read, so a wrong type is nchat's VALIDATION_ERROR.
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub language: Option<serde_json::Value>,
}

#[cfg(feature = "ssr")]
impl From<accounts::Account> for ProfileData {
    fn from(account: accounts::Account) -> Self {
        let profile = NchatProfile {
            id: account.id.to_string(),
            display_name: account.display_name.unwrap_or_else(|| account.username.clone()),
            username: account.username,
            email: account.email,
            email_verified: account.email_verified,
            role: account.role.as_str().into(),
            language: account.language.map(|language| language.to_string()),
            created_at: crate::domain::store::rfc3339(account.created_at),
        };
        ProfileData { profile }
    }
}

#[server(prefix = "/api/users/me", endpoint = "profile", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn get_profile() -> Result<Success<ProfileData>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let account = accounts::account_by_id(&state, caller.user_id).await.map_err(ApiError::nchat)?;
    Ok(Success::new(account.into()))
}

/// Changes the caller's language (`language`, e.g. `de`; `null` or absent leaves it as it is; an
/// unknown one is 400 naming it). The other fields nchat's profile form sends (bio, location, …)
/// are not kept by Hearth and are ignored, as nchat ignores fields it does not know.
#[server(prefix = "/api/users/me", endpoint = "profile", input = PatchJson, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn patch_profile(#[server(flatten)] changes: ProfileChanges) -> Result<Success<ProfileData>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let account = match changes.language {
        None | Some(serde_json::Value::Null) => accounts::account_by_id(&state, caller.user_id).await,
        Some(serde_json::Value::String(tag)) => accounts::set_language(&state, &caller, &tag).await,
        // nchat validates the body's types: a wrong one is its VALIDATION_ERROR, naming the field.
        Some(_) => Err(DomainError::invalid("language", "language must be a string, such as \"de\".")),
    };
    Ok(Success::new(account.map_err(ApiError::nchat)?.into()))
}
