//! The nchat auth routes (`/api/auth/*`) in nchat's `{success,data}` envelope, with Bearer JWTs.
//! Same accounts and sessions as the ChatCLI routes: one account works on both surfaces.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[cfg(feature = "ssr")]
use super::error::codes;
use super::error::NchatError;
#[cfg(feature = "ssr")]
use super::request::{caller, client_ip, request_language, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::passwords::PasswordRule;
#[cfg(feature = "ssr")]
use crate::domain::{accounts, sessions, DomainError, DomainResult};

/// nchat's success envelope: `{"success":true,"data":{…}}` with the fields of `data` repeated at
/// the top level. nchat's route handlers wrap in `data`; its guide's example code and its OpenAPI
/// spec read the same fields at the top level (`data.config`, `{fileId, uploadUrl}`, `results`):
/// answering both is the only way both kinds of client work. This is the one place it happens.
#[derive(Debug, Clone)]
pub struct Success<T> {
    pub data: T,
}

impl<T> Success<T> {
    pub fn new(data: T) -> Self {
        Success { data }
    }
}

impl<T: Serialize> Serialize for Success<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeMap};
        let data = serde_json::to_value(&self.data).map_err(S::Error::custom)?;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("success", &true)?;
        if let serde_json::Value::Object(fields) = &data {
            // The envelope's own two names win over a field of the same name.
            for (name, value) in fields.iter().filter(|(name, _)| *name != "success" && *name != "data") {
                map.serialize_entry(name, value)?;
            }
        }
        map.serialize_entry("data", &data)?;
        map.end()
    }
}

/// In the OpenAPI document: `data`'s fields at the top level (when it is an object), plus
/// `success` and `data` itself.
#[cfg(feature = "ssr")]
impl<T: utoipa::ToSchema> utoipa::PartialSchema for Success<T> {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, Schema, Type};
        use utoipa::openapi::RefOr;
        let data = T::schema();
        let envelope = ObjectBuilder::new()
            .property("success", ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])))
            .property("data", data.clone())
            .required("success")
            .required("data");
        match data {
            RefOr::T(Schema::Object(object)) => {
                let mut top = object;
                top.required.retain(|name| name != "success" && name != "data");
                AllOfBuilder::new().item(top).item(envelope).into()
            }
            _ => envelope.into(),
        }
    }
}

#[cfg(feature = "ssr")]
impl<T: utoipa::ToSchema> utoipa::ToSchema for Success<T> {
    /// One component per kind of data: `AuthDataReply`, `HealthDataReply`…
    fn name() -> std::borrow::Cow<'static, str> {
        format!("{}Reply", T::name()).into()
    }

    fn schemas(schemas: &mut Vec<(String, utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>)>) {
        schemas.push((T::name().into(), T::schema()));
        T::schemas(schemas);
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Success<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire<T> {
            data: T,
        }
        Wire::deserialize(deserializer).map(|wire| Success { data: wire.data })
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
    /// True when the account must verify its e-mail before signing in (then no tokens come).
    pub requires_email_verification: bool,
}

/// A refresh's answer: new tokens and whose they are (nchat's handler sends the user along).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct TokenData {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: u64,
    pub user: NchatUser,
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
        requires_email_verification: false,
    }
}

/// nchat's spec: `^[a-zA-Z0-9_-]{3,20}$` (Hearth's own rule, checked after, is wider).
#[cfg(feature = "ssr")]
fn nchat_username(username: &str) -> Result<(), ApiError> {
    let chars = username.chars().count();
    let allowed = username.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if (3..=20).contains(&chars) && allowed {
        return Ok(());
    }
    Err(ApiError::new(
        400,
        codes::VALIDATION_ERROR,
        "Username must be 3-20 characters: letters, digits, underscores and hyphens.",
    )
    .with_details(serde_json::json!({ "field": "username" })))
}

/// 400 naming the field, for a required value sent empty.
#[cfg(feature = "ssr")]
fn required(field: &str, message: &str) -> ApiError {
    ApiError::new(400, codes::VALIDATION_ERROR, message).with_details(serde_json::json!({ "field": field }))
}

/// The first account ever becomes the server's owner. 200, as nchat's spec and handler answer.
#[server(prefix = "/api/auth", endpoint = "signup", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn signup(
    email: String,
    password: String,
    username: String,
    #[server(rename = "displayName")] display_name: Option<String>,
    #[server(rename = "inviteCode")] invite_code: Option<String>,
) -> Result<Success<AuthData>, NchatError> {
    let state = state()?;
    nchat_username(&username)?;
    let rule = PasswordRule::Nchat;
    let language = request_language();
    let new =
        accounts::NewAccount { username, email, password: password.clone(), display_name, invite_code, rule, language };
    let data = match nchat(accounts::register(&state, new, client_ip()).await)? {
        accounts::SignedUp::VerificationSent(account) => AuthData {
            user: nchat_user(account, false),
            access_token: None,
            refresh_token: None,
            expires_in: None,
            requires_email_verification: true,
        },
        accounts::SignedUp::Active(account) => {
            let name = accounts::AccountName::Username(account.username.clone());
            let (account, tokens) = nchat(accounts::login(&state, name, &password, client_ip()).await)?;
            signed_in(account, tokens)
        }
    };
    Ok(Success::new(data))
}

/// `email` may also be a username.
#[server(prefix = "/api/auth", endpoint = "signin", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn signin(email: String, password: String) -> Result<Success<AuthData>, NchatError> {
    if email.trim().is_empty() || password.is_empty() {
        let field = if email.trim().is_empty() { "email" } else { "password" };
        return Err(required(field, "Email and password are required").into());
    }
    let name = accounts::AccountName::Either(email);
    let (account, tokens) = accounts::login(&state()?, name, &password, client_ip()).await.map_err(|error| {
        let unverified = matches!(error, DomainError::EmailNotVerified);
        let error = ApiError::nchat(error);
        // nchat's client reads this flag to offer the verification step.
        if unverified {
            error.with_details(serde_json::json!({ "requiresEmailVerification": true }))
        } else {
            error
        }
    })?;
    Ok(Success::new(signed_in(account, tokens)))
}

/// Rotates the refresh token: the one sent is used up.
#[server(prefix = "/api/auth", endpoint = "refresh", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn refresh(
    #[server(rename = "refreshToken")] refresh_token: String,
) -> Result<Success<TokenData>, NchatError> {
    if refresh_token.trim().is_empty() {
        return Err(required("refreshToken", "Refresh token is required").into());
    }
    let state = state()?;
    let tokens = nchat(sessions::refresh(&state, &refresh_token).await)?;
    let user_id = sessions::token_user_id(&state, &tokens.access_token)
        .ok_or_else(|| ApiError::nchat(DomainError::Internal("a fresh access token did not decode".into())))?;
    let account = nchat(accounts::account_by_id(&state, user_id).await)?;
    Ok(Success::new(TokenData {
        access_token: tokens.access_token,
        refresh_token: tokens.refresh_token,
        expires_in: tokens.expires_in,
        user: nchat_user(account, true),
    }))
}

/// A wrong password is 401 `INVALID_CREDENTIALS`, never a 2xx: nchat's client takes any 2xx as
/// "verified".
#[server(prefix = "/api/auth", endpoint = "verify-password", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn verify_password(password: String) -> Result<Success<ValidData>, NchatError> {
    let state = state()?;
    let caller = nchat(caller(&state).await)?;
    if password.is_empty() {
        return Err(required("password", "Password is required").into());
    }
    if !nchat(accounts::check_password(&state, &caller, &password).await)? {
        return Err(wrong_password("Invalid password").into());
    }
    Ok(Success::new(ValidData { valid: true }))
}

#[cfg(feature = "ssr")]
fn wrong_password(message: &str) -> ApiError {
    ApiError::new(401, codes::INVALID_CREDENTIALS, message)
}

/// Ends every session of the account, this one included: sign in again with the new password.
/// nchat's client also sends `userId`; when given it must be the caller's own.
#[server(prefix = "/api/auth", endpoint = "change-password", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn change_password(
    #[server(rename = "currentPassword")] current_password: String,
    #[server(rename = "newPassword")] new_password: String,
    #[server(rename = "userId")] user_id: Option<serde_json::Value>,
) -> Result<Success<MessageData>, NchatError> {
    let state = state()?;
    let caller = nchat(caller(&state).await)?;
    if let Some(user_id) = user_id {
        let named = match &user_id {
            serde_json::Value::String(id) => id.trim().to_string(),
            serde_json::Value::Number(id) => id.to_string(),
            _ => return Err(required("userId", "userId must be the caller's id").into()),
        };
        if named != caller.user_id.to_string() {
            return Err(ApiError::new(403, codes::FORBIDDEN, "You can only change your own password.").into());
        }
    }
    if current_password.is_empty() || new_password.is_empty() {
        let field = if current_password.is_empty() { "currentPassword" } else { "newPassword" };
        return Err(required(field, "Missing required fields").into());
    }
    if !nchat(accounts::check_password(&state, &caller, &current_password).await)? {
        accounts::record_refused_change(&state, &caller).await;
        return Err(wrong_password("Incorrect current password").into());
    }
    accounts::set_password(&state, &caller, &new_password, PasswordRule::Nchat).await.map_err(|error| match error {
        // The new password is `newPassword` on this surface.
        DomainError::Invalid { field: "password", message } => ApiError::new(400, codes::VALIDATION_ERROR, message)
            .with_details(serde_json::json!({ "field": "newPassword" })),
        other => ApiError::nchat(other),
    })?;
    Ok(Success::new(MessageData { message: "Password updated successfully. Sign in again on every device.".into() }))
}

/// Confirms the 6-digit code mailed at sign-up (or for a new address). Name the account by
/// `username` or `email`.
#[server(prefix = "/api/auth", endpoint = "verify-email", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn verify_email(
    username: Option<String>,
    email: Option<String>,
    code: String,
) -> Result<Success<NchatUser>, NchatError> {
    let state = state()?;
    let username = account_username(&state, username, email).await?;
    let account = nchat(accounts::verify_email(&state, &username, &code, client_ip()).await)?;
    Ok(Success::new(nchat_user(account, false)))
}

#[server(prefix = "/api/auth", endpoint = "resend-verification", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn resend_verification(
    username: Option<String>,
    email: Option<String>,
) -> Result<Success<MessageData>, NchatError> {
    let state = state()?;
    let username = account_username(&state, username, email).await?;
    nchat(accounts::resend_verification(&state, &username, client_ip()).await)?;
    Ok(Success::new(MessageData { message: "Verification email resent.".into() }))
}

/// Ends this session (the access token's).
#[server(prefix = "/api/auth", endpoint = "signout", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn signout(
    #[server(rename = "refreshToken")] refresh_token: Option<String>,
) -> Result<Success<MessageData>, NchatError> {
    let state = state()?;
    let caller = nchat(caller(&state).await)?;
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
