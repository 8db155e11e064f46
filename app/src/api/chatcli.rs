//! The ChatCLI account routes (`/verify-connection`, `/subscribe`, `/user/*`), shaped exactly as
//! `shared/reference/chatcli-wire.md` gives them. Each argument is a field of the JSON body.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, set_status, state};
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::{accounts, sessions};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MessageReply {
    pub message: String,
}

impl MessageReply {
    pub fn new(message: &str) -> Self {
        MessageReply { message: message.into() }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LoginReply {
    pub message: String,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RefreshReply {
    pub ok: bool,
    pub message: String,
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProfileReply {
    pub username: String,
    pub email: String,
}

/// `/user/submit-profile`'s answer: the updated profile, or what happened to the account.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SubmitProfileReply {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(rename = "verificationSent", default, skip_serializing_if = "Option::is_none")]
    pub verification_sent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<bool>,
    pub message: String,
}

#[server(prefix = "", endpoint = "verify-connection", input = Json, output = Json)]
pub async fn verify_connection() -> Result<MessageReply, ApiError> {
    Ok(MessageReply::new("Server is reachable!"))
}

#[server(prefix = "", endpoint = "verify-connection", input = GetUrl, output = Json)]
pub async fn verify_connection_get() -> Result<MessageReply, ApiError> {
    Ok(MessageReply::new("Server is reachable!"))
}

#[server(prefix = "", endpoint = "subscribe", input = Json, output = Json)]
pub async fn subscribe(email: String) -> Result<MessageReply, ApiError> {
    accounts::subscribe(&state()?, &email, client_ip()).await?;
    Ok(MessageReply::new("Subscription successful."))
}

#[server(prefix = "", endpoint = "subscribe", input = GetUrl, output = Json)]
pub async fn subscribe_get(email: String) -> Result<MessageReply, ApiError> {
    accounts::subscribe(&state()?, &email, client_ip()).await?;
    Ok(MessageReply::new("Subscription successful."))
}

#[server(prefix = "/user", endpoint = "register", input = Json, output = Json)]
pub async fn register(
    username: String,
    password: String,
    email: String,
    invite_code: Option<String>,
) -> Result<MessageReply, ApiError> {
    let new = accounts::NewAccount { username, email, password, display_name: None, invite_code };
    let message = match accounts::register(&state()?, new, client_ip()).await? {
        accounts::SignedUp::VerificationSent(_) => "Verification email sent!",
        accounts::SignedUp::Active(_) => "Email Verification skipped!",
    };
    set_status(http::StatusCode::CREATED);
    Ok(MessageReply::new(message))
}

#[server(prefix = "/user", endpoint = "verify-email", input = Json, output = Json)]
pub async fn verify_email(username: String, email_token: String) -> Result<MessageReply, ApiError> {
    accounts::verify_email(&state()?, &username, &email_token, client_ip()).await?;
    Ok(MessageReply::new("Email verified!"))
}

#[server(prefix = "/user", endpoint = "resend-verification", input = Json, output = Json)]
pub async fn resend_verification(username: String) -> Result<MessageReply, ApiError> {
    accounts::resend_verification(&state()?, &username, client_ip()).await?;
    Ok(MessageReply::new("Verification email resent!"))
}

#[server(prefix = "/user", endpoint = "login", input = Json, output = Json)]
pub async fn login(username: String, password: String) -> Result<LoginReply, ApiError> {
    let name = accounts::AccountName::Username(username);
    let (_, tokens) = accounts::login(&state()?, name, &password, client_ip()).await?;
    Ok(LoginReply {
        message: "Login successful".into(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

#[server(prefix = "/user", endpoint = "refresh-token", input = Json, output = Json)]
pub async fn refresh_token(refresh_token: String) -> Result<RefreshReply, ApiError> {
    let tokens = sessions::refresh(&state()?, &refresh_token).await?;
    Ok(RefreshReply {
        ok: true,
        message: "Token refreshed".into(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

#[server(prefix = "/user", endpoint = "profile", input = Json, output = Json)]
pub async fn profile(session_token: Option<String>) -> Result<ProfileReply, ApiError> {
    let state = state()?;
    let caller = caller(&state, session_token.as_deref()).await?;
    Ok(ProfileReply { username: caller.username, email: caller.email })
}

#[server(prefix = "/user", endpoint = "submit-profile", input = Json, output = Json)]
pub async fn submit_profile(
    session_token: Option<String>,
    username: Option<String>,
    email: Option<String>,
    #[server(default)] disable: bool,
    #[server(default)] delete: bool,
) -> Result<SubmitProfileReply, ApiError> {
    let state = state()?;
    let caller = caller(&state, session_token.as_deref()).await?;
    let changes = accounts::ProfileChanges { username, email, disable, delete };
    let reply = match accounts::update_profile(&state, &caller, changes).await? {
        accounts::ProfileOutcome::Updated { account, verification_sent } => SubmitProfileReply {
            username: Some(account.username),
            email: Some(account.email),
            verification_sent: Some(verification_sent),
            disable: None,
            delete: None,
            message: "Profile updated.".into(),
        },
        accounts::ProfileOutcome::Disabled => SubmitProfileReply {
            username: None,
            email: None,
            verification_sent: None,
            disable: Some(true),
            delete: Some(false),
            message: "Account disabled.".into(),
        },
        accounts::ProfileOutcome::Deleted => SubmitProfileReply {
            username: None,
            email: None,
            verification_sent: None,
            disable: Some(false),
            delete: Some(true),
            message: "Account deleted.".into(),
        },
    };
    Ok(reply)
}

#[server(prefix = "/user", endpoint = "change-password", input = Json, output = Json)]
pub async fn change_password(
    session_token: Option<String>,
    current_password: String,
    new_password: String,
) -> Result<MessageReply, ApiError> {
    let state = state()?;
    let caller = caller(&state, session_token.as_deref()).await?;
    accounts::change_password(&state, &caller, &current_password, &new_password).await?;
    Ok(MessageReply::new("Password changed successfully."))
}

#[server(prefix = "/user", endpoint = "logout", input = Json, output = Json)]
pub async fn logout(session_token: Option<String>, refresh_token: Option<String>) -> Result<MessageReply, ApiError> {
    let state = state()?;
    let caller = caller(&state, session_token.as_deref()).await?;
    sessions::logout(&state, &caller, refresh_token.as_deref()).await?;
    Ok(MessageReply::new("Logged out successfully."))
}

#[server(prefix = "/user", endpoint = "logout-all", input = Json, output = Json)]
pub async fn logout_all(session_token: Option<String>) -> Result<MessageReply, ApiError> {
    let state = state()?;
    let caller = caller(&state, session_token.as_deref()).await?;
    sessions::revoke_all_sessions(&state, caller.user_id, "logout_all").await?;
    Ok(MessageReply::new("Logged out from all sessions successfully."))
}

#[server(prefix = "/user", endpoint = "reset-password-request", input = Json, output = Json)]
pub async fn reset_password_request(username: Option<String>, email: Option<String>) -> Result<MessageReply, ApiError> {
    let name = match (username.filter(|u| !u.trim().is_empty()), email.filter(|e| !e.trim().is_empty())) {
        (Some(username), _) => accounts::AccountName::Username(username),
        (None, Some(email)) => accounts::AccountName::Email(email),
        (None, None) => return Err(ApiError::bad_request("Missing field: username (or email).")),
    };
    accounts::request_password_reset(&state()?, name, client_ip()).await?;
    Ok(MessageReply::new("Password reset email sent!"))
}

/// Also reached by the reset page's plain form post (the envelope layer turns the form into
/// this JSON and the answer into a redirect back to the page).
#[server(prefix = "/user", endpoint = "reset-password", input = Json, output = Json)]
pub async fn reset_password(
    token: String,
    username: String,
    password: String,
    confirm_password: String,
) -> Result<MessageReply, ApiError> {
    let reset = accounts::PasswordReset { token, username, password, confirm_password };
    accounts::reset_password(&state()?, reset, client_ip()).await?;
    Ok(MessageReply::new("Password reset successfully"))
}
