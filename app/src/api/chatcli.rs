//! The ChatCLI account routes (`/verify-connection`, `/subscribe`, `/user/*`), shaped exactly as
//! `shared/reference/chatcli-wire.md` gives them. Each argument is a field of the JSON body.

use leptos::prelude::*;
use leptos::server_fn::codec::{GetUrl, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg(feature = "ssr")]
use super::error::ApiError;
use super::error::ChatCliError;
#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, request_language, set_status, state};
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

#[server(prefix = "", endpoint = "verify-connection", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn verify_connection() -> Result<MessageReply, ChatCliError> {
    Ok(MessageReply::new("Server is reachable!"))
}

#[server(prefix = "", endpoint = "verify-connection", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn verify_connection_get() -> Result<MessageReply, ChatCliError> {
    Ok(MessageReply::new("Server is reachable!"))
}

#[server(prefix = "", endpoint = "subscribe", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn subscribe(email: String) -> Result<MessageReply, ChatCliError> {
    accounts::subscribe(&state()?, &email, client_ip()).await?;
    Ok(MessageReply::new("Subscription successful."))
}

#[server(prefix = "", endpoint = "subscribe", input = GetUrl, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn subscribe_get(email: String) -> Result<MessageReply, ChatCliError> {
    accounts::subscribe(&state()?, &email, client_ip()).await?;
    Ok(MessageReply::new("Subscription successful."))
}

#[server(prefix = "/user", endpoint = "register", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn register(
    username: String,
    password: String,
    email: String,
    invite_code: Option<String>,
) -> Result<MessageReply, ChatCliError> {
    let rule = crate::domain::passwords::PasswordRule::ChatCli;
    let language = request_language();
    let new = accounts::NewAccount { username, email, password, display_name: None, invite_code, rule, language };
    let message = match accounts::register(&state()?, new, client_ip()).await? {
        accounts::SignedUp::VerificationSent(_) => "Verification email sent!",
        accounts::SignedUp::Active(_) => "Email Verification skipped!",
    };
    set_status(http::StatusCode::CREATED);
    Ok(MessageReply::new(message))
}

#[server(prefix = "/user", endpoint = "verify-email", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn verify_email(username: String, email_token: String) -> Result<MessageReply, ChatCliError> {
    accounts::verify_email(&state()?, &username, &email_token, client_ip()).await?;
    Ok(MessageReply::new("Email verified!"))
}

#[server(prefix = "/user", endpoint = "resend-verification", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn resend_verification(username: String) -> Result<MessageReply, ChatCliError> {
    accounts::resend_verification(&state()?, &username, client_ip()).await?;
    Ok(MessageReply::new("Verification email resent!"))
}

#[server(prefix = "/user", endpoint = "login", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn login(username: String, password: String) -> Result<LoginReply, ChatCliError> {
    let name = accounts::AccountName::Username(username);
    let (_, tokens) = accounts::login(&state()?, name, &password, client_ip()).await?;
    Ok(LoginReply {
        message: "Login successful".into(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

#[server(prefix = "/user", endpoint = "refresh-token", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn refresh_token(refresh_token: String) -> Result<RefreshReply, ChatCliError> {
    let tokens = sessions::refresh(&state()?, &refresh_token).await?;
    Ok(RefreshReply {
        ok: true,
        message: "Token refreshed".into(),
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
    })
}

#[server(prefix = "/user", endpoint = "profile", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn profile(
    #[server(rename = "session_token")] _session_token: Option<String>,
) -> Result<ProfileReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    Ok(ProfileReply { username: caller.username, email: caller.email })
}

#[server(prefix = "/user", endpoint = "submit-profile", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn submit_profile(
    #[server(rename = "session_token")] _session_token: Option<String>,
    username: Option<String>,
    email: Option<String>,
    #[server(default)] disable: bool,
    #[server(default)] delete: bool,
) -> Result<SubmitProfileReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
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

/// `/user/set-language`'s answer: the language now saved on the account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct LanguageReply {
    pub message: String,
    /// The catalogue's code for it (`de` for `de-AT`).
    pub language: String,
}

/// `/user/language`'s answer: the language saved on the account, if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SavedLanguage {
    /// The catalogue's code (`de`), or `null` until the person chooses one.
    pub language: Option<String>,
}

/// Hearth's addition, for the browser app: the language saved on the account, so a device the
/// person signs in on follows the choice they made on another.
#[server(prefix = "/user", endpoint = "language", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn get_language(
    #[server(rename = "session_token")] _session_token: Option<String>,
) -> Result<SavedLanguage, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let account = accounts::account_by_id(&state, caller.user_id).await?;
    Ok(SavedLanguage { language: account.language.map(|language| language.to_string()) })
}

/// Hearth's addition, for the browser app: saves the language the person chose, which every
/// device and the mails Hearth sends them follow. An unknown one is 400, naming `language`.
#[server(prefix = "/user", endpoint = "set-language", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn set_language(
    #[server(rename = "session_token")] _session_token: Option<String>,
    language: String,
) -> Result<LanguageReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let account = accounts::set_language(&state, &caller, &language).await?;
    Ok(LanguageReply { message: "Language saved.".into(), language: account.mail_language().to_string() })
}

#[server(prefix = "/user", endpoint = "change-password", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn change_password(
    #[server(rename = "session_token")] _session_token: Option<String>,
    current_password: String,
    new_password: String,
) -> Result<MessageReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    accounts::change_password(&state, &caller, &current_password, &new_password).await?;
    Ok(MessageReply::new("Password changed successfully."))
}

#[server(prefix = "/user", endpoint = "logout", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn logout(
    #[server(rename = "session_token")] _session_token: Option<String>,
    refresh_token: Option<String>,
) -> Result<MessageReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    sessions::logout(&state, &caller, refresh_token.as_deref()).await?;
    Ok(MessageReply::new("Logged out successfully."))
}

#[server(prefix = "/user", endpoint = "logout-all", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn logout_all(
    #[server(rename = "session_token")] _session_token: Option<String>,
) -> Result<MessageReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    sessions::logout_all(&state, &caller).await?;
    Ok(MessageReply::new("Logged out from all sessions successfully."))
}

#[server(prefix = "/user", endpoint = "reset-password-request", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn reset_password_request(
    username: Option<String>,
    email: Option<String>,
) -> Result<MessageReply, ChatCliError> {
    let name = match (username.filter(|u| !u.trim().is_empty()), email.filter(|e| !e.trim().is_empty())) {
        (Some(username), _) => accounts::AccountName::Username(username),
        (None, Some(email)) => accounts::AccountName::Email(email),
        (None, None) => return Err(ApiError::bad_request("Missing field: username (or email).").into()),
    };
    accounts::request_password_reset(&state()?, name, client_ip()).await?;
    Ok(MessageReply::new("Password reset email sent!"))
}

/// Also reached by the reset page's plain form post (the envelope layer turns the form into this
/// JSON); that caller is sent back to the page, with the outcome in the query string.
#[server(prefix = "/user", endpoint = "reset-password", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn reset_password(
    token: String,
    username: String,
    password: String,
    confirm_password: String,
) -> Result<MessageReply, ChatCliError> {
    let reset =
        accounts::PasswordReset { token: token.clone(), username: username.clone(), password, confirm_password };
    let result = accounts::reset_password(&state()?, reset, client_ip()).await.map_err(ChatCliError::from);
    if super::request::is_browser_form_post() {
        let location = match &result {
            Ok(()) => format!("{RESET_PAGE}?done=1"),
            Err(error) => {
                // The page says it in the reader's language: the code (and field) travel, not the sentence.
                let field = error.details.as_ref().and_then(|d| d.get("field")?.as_str().map(str::to_string));
                let query = [("token", token), ("username", username), ("error", error.code.clone())]
                    .into_iter()
                    .chain(field.map(|field| ("field", field)))
                    .collect::<Vec<_>>();
                format!("{RESET_PAGE}?{}", serde_urlencoded::to_string(query).unwrap_or_default())
            }
        };
        super::request::redirect_to(&location);
    }
    result?;
    Ok(MessageReply::new("Password reset successfully"))
}

#[cfg(feature = "ssr")]
const RESET_PAGE: &str = "/user/reset-password";
