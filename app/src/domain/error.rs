//! What can go wrong in a domain call. Each face maps these to its own envelope and status;
//! the texts are the ChatCLI reference's where it has one, so ChatCLI clients see what they expect.

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// A field failed validation; `field` names it for clients that show errors inline.
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// A configuration field failed validation: nchat's `details:{field,constraint}`.
    #[error("{message}")]
    InvalidConfig { field: String, constraint: String, message: String },
    #[error("{0}")]
    BadRequest(String),
    /// Unknown user, wrong password, unverified or disabled account: one answer for all, so a
    /// stranger cannot tell which.
    #[error("Username or password is incorrect.")]
    BadCredentials,
    /// Only reported where the password was already proven right (nchat sign-in).
    #[error("Email address is not verified yet. Check your inbox for the code.")]
    EmailNotVerified,
    #[error("Invalid or expired session token.")]
    InvalidSession,
    /// No token at all: nchat answers UNAUTHORIZED ("authentication required") here and keeps
    /// INVALID_TOKEN for a token that is bad, expired or revoked. ChatCLI has one answer for both.
    #[error("Sign in first (a session token or Authorization: Bearer).")]
    SignInRequired,
    #[error("Invalid or expired refresh token.")]
    InvalidRefreshToken,
    #[error("Invalid or expired code.")]
    InvalidCode,
    #[error("Invalid or expired reset link.")]
    InvalidResetLink,
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("Too many attempts. Try again in {retry_after} seconds.")]
    RateLimited { retry_after: u64 },
    #[error("Could not send the email right now. Try again later.")]
    MailUnavailable,
    /// Details go to the log, never to the client.
    #[error("Something went wrong on our side. Try again later.")]
    Internal(String),
}

impl DomainError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        DomainError::Invalid { field, message: message.into() }
    }
}

impl From<sqlx::Error> for DomainError {
    fn from(error: sqlx::Error) -> Self {
        DomainError::Internal(format!("database: {error}"))
    }
}

/// True when a database error is a unique-constraint violation (e.g. a name just taken).
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}
