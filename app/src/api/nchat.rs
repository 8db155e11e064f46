//! The nchat auth routes (`/api/auth/*`) in nchat's `{success,data}` envelope, with Bearer JWTs.
//! Same accounts and sessions as the ChatCLI routes: one account works on both surfaces.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, set_status, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::{accounts, sessions, DomainResult};

/// nchat's success envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Success<T> {
    pub success: bool,
    pub data: T,
}

impl<T> Success<T> {
    pub fn new(data: T) -> Self {
        Success { success: true, data }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct NchatUser {
    /// nchat's clients expect string ids; Hearth's are integers underneath.
    pub id: String,
    pub email: String,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub status: String,
    pub email_verified: bool,
    pub created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct AuthData {
    pub user: NchatUser,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Seconds until the access token expires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
    /// True when the account must verify its e-mail before signing in.
    pub verification_required: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ValidData {
    pub valid: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageData {
    pub message: String,
}

#[cfg(feature = "ssr")]
fn nchat<T>(result: DomainResult<T>) -> Result<T, ApiError> {
    result.map_err(ApiError::nchat)
}

#[cfg(feature = "ssr")]
fn nchat_user(account: accounts::Account, online: bool) -> NchatUser {
    NchatUser {
        id: account.id.to_string(),
        display_name: account.display_name.unwrap_or_else(|| account.username.clone()),
        email: account.email,
        username: account.username,
        role: account.role.as_str().into(),
        status: if online { "online" } else { "offline" }.into(),
        email_verified: account.email_verified,
        created_at: crate::domain::store::rfc3339(account.created_at),
    }
}

#[cfg(feature = "ssr")]
fn signed_in(account: accounts::Account, tokens: sessions::IssuedTokens) -> AuthData {
    AuthData {
        user: nchat_user(account, true),
        access_token: Some(tokens.access_token),
        refresh_token: Some(tokens.refresh_token),
        expires_in: Some(tokens.expires_in),
        verification_required: false,
    }
}

/// The first account ever becomes the server's owner.
#[server(prefix = "/api/auth", endpoint = "signup", input = Json, output = Json)]
pub async fn signup(
    email: String,
    password: String,
    username: String,
    #[server(rename = "displayName")] display_name: Option<String>,
    #[server(rename = "inviteCode")] invite_code: Option<String>,
) -> Result<Success<AuthData>, ApiError> {
    let state = state()?;
    let new = accounts::NewAccount { username, email, password: password.clone(), display_name, invite_code };
    let data = match nchat(accounts::register(&state, new, client_ip()).await)? {
        accounts::SignedUp::VerificationSent(account) => AuthData {
            user: nchat_user(account, false),
            access_token: None,
            refresh_token: None,
            expires_in: None,
            verification_required: true,
        },
        accounts::SignedUp::Active(account) => {
            let name = accounts::AccountName::Username(account.username.clone());
            let (account, tokens) = nchat(accounts::login(&state, name, &password, client_ip()).await)?;
            signed_in(account, tokens)
        }
    };
    set_status(http::StatusCode::CREATED);
    Ok(Success::new(data))
}

/// `email` may also be a username.
#[server(prefix = "/api/auth", endpoint = "signin", input = Json, output = Json)]
pub async fn signin(email: String, password: String) -> Result<Success<AuthData>, ApiError> {
    let name = accounts::AccountName::Either(email);
    let (account, tokens) = nchat(accounts::login(&state()?, name, &password, client_ip()).await)?;
    Ok(Success::new(signed_in(account, tokens)))
}

#[server(prefix = "/api/auth", endpoint = "refresh", input = Json, output = Json)]
pub async fn refresh(#[server(rename = "refreshToken")] refresh_token: String) -> Result<Success<TokenData>, ApiError> {
    let tokens = nchat(sessions::refresh(&state()?, &refresh_token).await)?;
    Ok(Success::new(TokenData {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_in: tokens.expires_in,
    }))
}

#[server(prefix = "/api/auth", endpoint = "verify-password", input = Json, output = Json)]
pub async fn verify_password(password: String) -> Result<Success<ValidData>, ApiError> {
    let state = state()?;
    let caller = nchat(caller(&state, None).await)?;
    let valid = nchat(accounts::check_password(&state, &caller, &password).await)?;
    Ok(Success::new(ValidData { valid }))
}

/// Ends every session of the account, this one included: sign in again with the new password.
#[server(prefix = "/api/auth", endpoint = "change-password", input = Json, output = Json)]
pub async fn change_password(
    #[server(rename = "currentPassword")] current_password: String,
    #[server(rename = "newPassword")] new_password: String,
) -> Result<Success<MessageData>, ApiError> {
    let state = state()?;
    let caller = nchat(caller(&state, None).await)?;
    nchat(accounts::change_password(&state, &caller, &current_password, &new_password).await)?;
    Ok(Success::new(MessageData { message: "Password changed. Sign in again on every device.".into() }))
}

/// Confirms the 6-digit code mailed at sign-up (or for a new address). Name the account by
/// `username` or `email`.
#[server(prefix = "/api/auth", endpoint = "verify-email", input = Json, output = Json)]
pub async fn verify_email(
    username: Option<String>,
    email: Option<String>,
    code: String,
) -> Result<Success<NchatUser>, ApiError> {
    let state = state()?;
    let username = account_username(&state, username, email).await?;
    let account = nchat(accounts::verify_email(&state, &username, &code, client_ip()).await)?;
    Ok(Success::new(nchat_user(account, false)))
}

#[server(prefix = "/api/auth", endpoint = "resend-verification", input = Json, output = Json)]
pub async fn resend_verification(
    username: Option<String>,
    email: Option<String>,
) -> Result<Success<MessageData>, ApiError> {
    let state = state()?;
    let username = account_username(&state, username, email).await?;
    nchat(accounts::resend_verification(&state, &username, client_ip()).await)?;
    Ok(Success::new(MessageData { message: "Verification email resent.".into() }))
}

/// Ends this session (the access token's).
#[server(prefix = "/api/auth", endpoint = "signout", input = Json, output = Json)]
pub async fn signout(
    #[server(rename = "refreshToken")] refresh_token: Option<String>,
) -> Result<Success<MessageData>, ApiError> {
    let state = state()?;
    let caller = nchat(caller(&state, None).await)?;
    nchat(sessions::logout(&state, &caller, refresh_token.as_deref()).await)?;
    Ok(Success::new(MessageData { message: "Signed out.".into() }))
}

#[cfg(feature = "ssr")]
async fn account_username(
    state: &crate::domain::AppState,
    username: Option<String>,
    email: Option<String>,
) -> Result<String, ApiError> {
    if let Some(username) = username.filter(|u| !u.trim().is_empty()) {
        return Ok(username);
    }
    let email = email
        .filter(|e| !e.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("Missing field: username or email."))?;
    // An unknown address reads like a wrong code, so addresses cannot be probed here.
    Ok(nchat(accounts::username_by_email(state, &email).await)?.unwrap_or_default())
}
