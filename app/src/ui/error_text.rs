//! What a failed call says to the person, in their language. The APIs' error sentences are wire
//! contracts and stay English; the browser reads the machine-readable code (and the field, where
//! the surface names it) and says it in the catalogue's words.

use crate::api::error::codes;
use crate::api::ApiError;
use crate::locale::use_i18n;
use crate::tr;

/// The sentence for `error` in the page's language.
pub fn error_text(error: &ApiError) -> String {
    let field = error.details.as_ref().and_then(|d| d.get("field")).and_then(|f| f.as_str());
    sentence(&error.code, field)
}

/// The sentence for an error code (and field), e.g. from a redirect's query string.
pub fn sentence(code: &str, field: Option<&str>) -> String {
    let i18n = use_i18n();
    match code {
        "NETWORK_ERROR" => tr!(i18n, errors.network),
        codes::INVALID_CREDENTIALS | codes::EMAIL_NOT_VERIFIED => tr!(i18n, errors.invalid_credentials),
        codes::INVALID_CODE => tr!(i18n, errors.invalid_code),
        codes::INVALID_RESET_LINK => tr!(i18n, errors.invalid_reset_link),
        codes::UNAUTHORIZED | codes::INVALID_TOKEN => tr!(i18n, errors.session_ended),
        codes::FORBIDDEN => tr!(i18n, errors.forbidden),
        codes::NOT_FOUND => tr!(i18n, errors.not_found),
        codes::CONFLICT => tr!(i18n, errors.conflict),
        codes::RATE_LIMIT_EXCEEDED => tr!(i18n, errors.rate_limited),
        codes::PAYLOAD_TOO_LARGE => tr!(i18n, errors.too_large),
        codes::SERVICE_UNAVAILABLE => tr!(i18n, errors.unavailable),
        codes::VALIDATION_ERROR | codes::BAD_REQUEST => match field {
            Some("username") => tr!(i18n, errors.invalid_username),
            Some("password" | "new_password" | "newPassword") => tr!(i18n, errors.invalid_password),
            Some("email") => tr!(i18n, errors.invalid_email),
            Some("confirm_password") => tr!(i18n, errors.passwords_differ),
            _ => tr!(i18n, errors.invalid_input),
        },
        _ => tr!(i18n, errors.generic),
    }
}
