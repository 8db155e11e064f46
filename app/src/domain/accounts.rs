//! Accounts: sign-up (with e-mail verification and invites), sign-in, profile changes,
//! password change and reset, and the admin commands. Shared by every surface.

use std::net::IpAddr;
use std::time::Duration;

use rand::Rng;

use super::audit::{self, AuditEvent};
use super::error::is_unique_violation;
use super::mail::Mail;
use super::names::{email_key, parse_display_name, username_key, Email, Role, Username};
use super::passwords::{NewPassword, PasswordRule, PASSWORD_MAX_CHARS};
use super::sessions::{self, random_token, secret_hash, Caller, IssuedTokens};
use super::store::{ms, now_ms};
use super::{AppState, DomainError, DomainResult};
use crate::i18n::Locale;
use crate::locale::locale_for_tag;
use leptos_i18n::Locale as _;

/// Wrong guesses allowed against one verification code before it stops working.
const CODE_ATTEMPTS: i64 = 5;

#[derive(Debug, Clone)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub email: String,
    pub display_name: Option<String>,
    pub role: Role,
    pub email_verified: bool,
    pub disabled: bool,
    pub created_at: i64,
    /// The language the person chose (or signed up with); `None` until there is one.
    pub language: Option<Locale>,
}

impl Account {
    /// The language of the mails Hearth sends this person.
    pub fn mail_language(&self) -> Locale {
        self.language.unwrap_or_default()
    }
}

#[derive(sqlx::FromRow)]
struct AccountRow {
    id: i64,
    username: String,
    email: String,
    display_name: Option<String>,
    role: Role,
    email_verified_at: Option<i64>,
    disabled_at: Option<i64>,
    created_at: i64,
    password_hash: String,
    locale: Option<String>,
}

const ACCOUNT_COLUMNS: &str =
    "id, username, email, display_name, role, email_verified_at, disabled_at, created_at, password_hash, locale";

/// The account and its password hash.
fn account_from(row: AccountRow) -> (Account, String) {
    let account = Account {
        id: row.id,
        username: row.username,
        email: row.email,
        display_name: row.display_name,
        role: row.role,
        email_verified: row.email_verified_at.is_some(),
        disabled: row.disabled_at.is_some(),
        created_at: row.created_at,
        // A language the catalogue no longer has reads as none chosen.
        language: row.locale.as_deref().and_then(|tag| tag.parse().ok()),
    };
    (account, row.password_hash)
}

/// How a person names their account when signing in or asking for a reset.
#[derive(Debug, Clone)]
pub enum AccountName {
    Username(String),
    Email(String),
    /// An e-mail address if it has an `@`, a username otherwise.
    Either(String),
}

impl AccountName {
    fn column_and_key(&self) -> (&'static str, String) {
        match self {
            AccountName::Username(name) => ("username_key", username_key(name)),
            AccountName::Email(email) => ("email_key", email_key(email)),
            AccountName::Either(text) if text.contains('@') => ("email_key", email_key(text)),
            AccountName::Either(text) => ("username_key", username_key(text)),
        }
    }
}

async fn find_account(state: &AppState, name: &AccountName) -> DomainResult<Option<(Account, String)>> {
    let (column, key) = name.column_and_key();
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE {column} = $1 AND deleted_at IS NULL");
    let row: Option<AccountRow> = sqlx::query_as(&sql).bind(key).fetch_optional(state.store.pool()).await?;
    Ok(row.map(account_from))
}

pub async fn account_by_id(state: &AppState, user_id: i64) -> DomainResult<Account> {
    let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM users WHERE id = $1 AND deleted_at IS NULL");
    let row: Option<AccountRow> = sqlx::query_as(&sql).bind(user_id).fetch_optional(state.store.pool()).await?;
    row.map(|r| account_from(r).0).ok_or_else(|| DomainError::NotFound("User not found.".into()))
}

pub async fn username_by_email(state: &AppState, email: &str) -> DomainResult<Option<String>> {
    Ok(find_account(state, &AccountName::Email(email.into())).await?.map(|(account, _)| account.username))
}

/// Counts an attempt at `action` from `ip` and, when known, against `account`.
pub fn limit_attempts(state: &AppState, action: &str, ip: Option<IpAddr>, account: Option<&str>) -> DomainResult<()> {
    let minute = Duration::from_secs(60);
    if let Some(ip) = ip {
        state.limiter.hit(&format!("{action}:ip:{ip}"), state.settings.auth_limit_per_ip, minute)?;
    }
    if let Some(account) = account.map(str::trim).filter(|a| !a.is_empty()) {
        let key = account.to_lowercase();
        state.limiter.hit(&format!("{action}:account:{key}"), state.settings.auth_limit_per_account, minute)?;
    }
    Ok(())
}

pub struct NewAccount {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: Option<String>,
    pub invite_code: Option<String>,
    /// The surface's password rule (each keeps its seed's).
    pub rule: PasswordRule,
    /// The language the sign-up request came with, saved as the account's.
    pub language: Option<Locale>,
}

pub enum SignedUp {
    /// A code went to the address; the account signs in once it is verified.
    VerificationSent(Account),
    /// Verification is off: the account can sign in now.
    Active(Account),
}

pub async fn register(state: &AppState, new: NewAccount, ip: Option<IpAddr>) -> DomainResult<SignedUp> {
    limit_attempts(state, "register", ip, Some(&new.username))?;
    let username = Username::parse(&new.username)?;
    let email = Email::parse(&new.email)?;
    let password = NewPassword::parse(&new.password, new.rule)?;
    let display_name = parse_display_name(new.display_name.as_deref())?;
    ensure_name_free(state, &username, &email).await?;

    let invite = match state.settings.registration {
        super::settings::Registration::Open => None,
        super::settings::Registration::Invite => Some(use_invite(state, new.invite_code.as_deref()).await?),
    };
    let result = create_account(state, &username, &email, &password, display_name, new.language).await;
    let account = match result {
        Ok(account) => account,
        Err(error) => {
            if let Some(code) = invite {
                refund_invite(state, &code).await;
            }
            return Err(error);
        }
    };
    if !state.settings.email_verification_required {
        return Ok(SignedUp::Active(account));
    }
    // Nothing is kept for an address we could not reach: the name stays free to try again.
    let sent =
        send_verification_code(state, account.id, account.email.clone(), account.mail_language(), CodeMail::SignUp);
    if let Err(error) = sent.await {
        undo_account(state, account.id).await;
        if let Some(code) = invite {
            refund_invite(state, &code).await;
        }
        return Err(error);
    }
    Ok(SignedUp::VerificationSent(account))
}

async fn ensure_name_free(state: &AppState, username: &Username, email: &Email) -> DomainResult<()> {
    let taken: Option<String> =
        sqlx::query_scalar("SELECT username_key FROM users WHERE username_key = $1 OR email_key = $2 LIMIT 1")
            .bind(username.key())
            .bind(email.key())
            .fetch_optional(state.store.pool())
            .await?;
    match taken {
        Some(key) if key == username.key() => Err(name_taken(username.as_str())),
        Some(_) => Err(email_taken()),
        None => Ok(()),
    }
}

fn name_taken(name: &str) -> DomainError {
    DomainError::Conflict(format!("User '{name}' already exists."))
}

fn email_taken() -> DomainError {
    DomainError::Conflict("An account with this email already exists.".into())
}

async fn create_account(
    state: &AppState,
    username: &Username,
    email: &Email,
    password: &NewPassword,
    display_name: Option<String>,
    language: Option<Locale>,
) -> DomainResult<Account> {
    let hash = state.passwords.hash(password.expose()).await?;
    let now = now_ms();
    let verified_at = (!state.settings.email_verification_required).then_some(now);
    let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
        "INSERT INTO users (username, username_key, email, email_key, display_name, password_hash, role, \
                            email_verified_at, created_at, locale) \
         VALUES ($1, $2, $3, $4, $5, $6, 'member', $7, $8, $9) RETURNING id",
    )
    .bind(username.as_str())
    .bind(username.key())
    .bind(email.as_str())
    .bind(email.key())
    .bind(display_name)
    .bind(hash)
    .bind(verified_at)
    .bind(now)
    .bind(language.map(|language| language.to_string()))
    .fetch_one(state.store.pool())
    .await;
    let id = match inserted {
        Ok(id) => id,
        // Lost a race with another sign-up between the check and the insert.
        Err(e) if is_unique_violation(&e) => {
            return Err(ensure_name_free(state, username, email)
                .await
                .err()
                .unwrap_or_else(|| name_taken(username.as_str())))
        }
        Err(e) => return Err(e.into()),
    };
    // The first account ever owns the server. The single-row claim is atomic on both backends.
    let claimed = sqlx::query("UPDATE server_state SET owner_user_id = $1 WHERE id = 1 AND owner_user_id IS NULL")
        .bind(id)
        .execute(state.store.pool())
        .await?;
    if claimed.rows_affected() == 1 {
        sqlx::query("UPDATE users SET role = 'owner' WHERE id = $1").bind(id).execute(state.store.pool()).await?;
    }
    account_by_id(state, id).await
}

/// Removes an account that never got its verification mail.
async fn undo_account(state: &AppState, user_id: i64) {
    let pool = state.store.pool();
    let steps = [
        "DELETE FROM email_verifications WHERE user_id = $1",
        "UPDATE server_state SET owner_user_id = NULL WHERE owner_user_id = $1",
        "DELETE FROM users WHERE id = $1",
    ];
    for sql in steps {
        if let Err(e) = sqlx::query(sql).bind(user_id).execute(pool).await {
            tracing::error!(error = %e, user_id, "could not undo an unverified sign-up");
        }
    }
}

async fn use_invite(state: &AppState, code: Option<&str>) -> DomainResult<String> {
    let code = code
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| DomainError::Forbidden("Registration is by invitation: an invite code is required.".into()))?;
    let used = sqlx::query("UPDATE invites SET uses_left = uses_left - 1 WHERE code = $1 AND uses_left > 0")
        .bind(code)
        .execute(state.store.pool())
        .await?;
    if used.rows_affected() == 1 {
        Ok(code.to_string())
    } else {
        Err(DomainError::Forbidden("That invite code is not valid or has been used up.".into()))
    }
}

async fn refund_invite(state: &AppState, code: &str) {
    if let Err(e) = sqlx::query("UPDATE invites SET uses_left = uses_left + 1 WHERE code = $1")
        .bind(code)
        .execute(state.store.pool())
        .await
    {
        tracing::error!(error = %e, "could not give an invite use back");
    }
}

fn code_hash(user_id: i64, code: &str) -> String {
    secret_hash(&format!("{user_id}:{code}"))
}

/// What a verification code confirms, which decides the mail's words.
enum CodeMail<'a> {
    /// The address an account signed up with.
    SignUp,
    /// An address the account `username` is moving to.
    NewAddress { username: &'a str },
}

/// Mails a fresh 6-digit code for `email` (the account's address, or a new one being confirmed),
/// in `language`.
async fn send_verification_code(
    state: &AppState,
    user_id: i64,
    email: String,
    language: Locale,
    kind: CodeMail<'_>,
) -> DomainResult<()> {
    let code = format!("{:06}", rand::rngs::OsRng.gen_range(0..1_000_000u32));
    let ttl = state.settings.verification_code_ttl;
    sqlx::query(
        "INSERT INTO email_verifications (user_id, email, code_hash, expires_at, attempts) VALUES ($1, $2, $3, $4, 0) \
         ON CONFLICT (user_id) DO UPDATE SET email = excluded.email, code_hash = excluded.code_hash, \
                                             expires_at = excluded.expires_at, attempts = 0",
    )
    .bind(user_id)
    .bind(&email)
    .bind(code_hash(user_id, &code))
    .bind(now_ms() + ms(ttl))
    .execute(state.store.pool())
    .await?;
    let mail = match kind {
        CodeMail::SignUp => Mail::verification_code(email, language, &code, ttl),
        CodeMail::NewAddress { username } => Mail::new_address_code(email, language, username, &code, ttl),
    };
    state.mailer.send(mail).await
}

/// A code sent to an address, waiting to come back.
#[derive(sqlx::FromRow)]
struct PendingVerification {
    email: String,
    code_hash: String,
    expires_at: i64,
    attempts: i64,
}

pub async fn verify_email(state: &AppState, username: &str, code: &str, ip: Option<IpAddr>) -> DomainResult<Account> {
    limit_attempts(state, "verify", ip, Some(username))?;
    let code = code.trim();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(DomainError::InvalidCode);
    }
    let (account, _) =
        find_account(state, &AccountName::Username(username.into())).await?.ok_or(DomainError::InvalidCode)?;
    let pending: Option<PendingVerification> =
        sqlx::query_as("SELECT email, code_hash, expires_at, attempts FROM email_verifications WHERE user_id = $1")
            .bind(account.id)
            .fetch_optional(state.store.pool())
            .await?;
    let pending = pending.ok_or(DomainError::InvalidCode)?;
    if pending.attempts >= CODE_ATTEMPTS || pending.expires_at <= now_ms() {
        return Err(DomainError::InvalidCode);
    }
    if code_hash(account.id, code) != pending.code_hash {
        sqlx::query("UPDATE email_verifications SET attempts = attempts + 1 WHERE user_id = $1")
            .bind(account.id)
            .execute(state.store.pool())
            .await?;
        return Err(DomainError::InvalidCode);
    }
    let updated = sqlx::query(
        "UPDATE users SET email = $1, email_key = $2, email_verified_at = COALESCE(email_verified_at, $3) WHERE id = $4",
    )
    .bind(&pending.email)
    .bind(email_key(&pending.email))
    .bind(now_ms())
    .bind(account.id)
    .execute(state.store.pool())
    .await;
    match updated {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    }
    sqlx::query("DELETE FROM email_verifications WHERE user_id = $1")
        .bind(account.id)
        .execute(state.store.pool())
        .await?;
    account_by_id(state, account.id).await
}

pub async fn resend_verification(state: &AppState, username: &str, ip: Option<IpAddr>) -> DomainResult<()> {
    limit_attempts(state, "resend", ip, Some(username))?;
    let (account, _) = find_account(state, &AccountName::Username(username.into()))
        .await?
        .ok_or_else(|| DomainError::NotFound("User not found.".into()))?;
    let pending: Option<String> = sqlx::query_scalar("SELECT email FROM email_verifications WHERE user_id = $1")
        .bind(account.id)
        .fetch_optional(state.store.pool())
        .await?;
    let language = account.mail_language();
    match pending {
        Some(email) if email_key(&email) != email_key(&account.email) => {
            let kind = CodeMail::NewAddress { username: &account.username };
            send_verification_code(state, account.id, email, language, kind).await
        }
        Some(email) => send_verification_code(state, account.id, email, language, CodeMail::SignUp).await,
        None if account.email_verified => Err(DomainError::BadRequest("Email is already verified.".into())),
        None => send_verification_code(state, account.id, account.email, language, CodeMail::SignUp).await,
    }
}

/// Checks a password and opens a session. Every failure before the password is proven right
/// looks the same and takes as long (the hash is checked even for unknown accounts).
pub async fn login(
    state: &AppState,
    name: AccountName,
    password: &str,
    ip: Option<IpAddr>,
) -> DomainResult<(Account, IssuedTokens)> {
    let (_, key) = name.column_and_key();
    limit_attempts(state, "login", ip, Some(&key))?;
    let found = if key.is_empty() || password.len() > 4 * PASSWORD_MAX_CHARS {
        None
    } else {
        find_account(state, &name).await?
    };
    let matched = state.passwords.verify(password, found.as_ref().map(|(_, hash)| hash.as_str())).await?;
    let account = match found {
        Some((account, _)) if matched && !account.disabled => account,
        found => {
            let mut failed = AuditEvent::new("auth", "auth.signin.failed", "Sign-in failed.")
                .failed()
                .from_ip(ip)
                .with(serde_json::json!({ "name": key.chars().take(100).collect::<String>() }));
            failed = match found {
                Some((account, _)) => failed.by(account.id, &account.username),
                None => failed.anonymous(),
            };
            audit::record(state, failed).await;
            return Err(DomainError::BadCredentials);
        }
    };
    if !account.email_verified {
        return Err(DomainError::EmailNotVerified);
    }
    let tokens = sessions::start_session(state, account.id, account.role).await?;
    audit::record(
        state,
        AuditEvent::new("auth", "auth.signin", "Signed in.").by(account.id, &account.username).from_ip(ip),
    )
    .await;
    Ok((account, tokens))
}

/// Checks the caller's own password (nchat's verify-password).
pub async fn check_password(state: &AppState, caller: &Caller, password: &str) -> DomainResult<bool> {
    limit_attempts(state, "check-password", None, Some(&caller.user_id.to_string()))?;
    let (_, hash) = find_account(state, &AccountName::Username(caller.username.clone()))
        .await?
        .ok_or(DomainError::InvalidSession)?;
    state.passwords.verify(password, Some(&hash)).await
}

/// ChatCLI's change-password: a wrong current password is 403 "Incorrect current password.".
pub async fn change_password(state: &AppState, caller: &Caller, current: &str, new: &str) -> DomainResult<()> {
    if !check_password(state, caller, current).await? {
        record_refused_change(state, caller).await;
        return Err(DomainError::Forbidden("Incorrect current password.".into()));
    }
    set_password(state, caller, new, PasswordRule::ChatCli).await
}

/// Writes the audit entry of a change refused for a wrong current password.
pub async fn record_refused_change(state: &AppState, caller: &Caller) {
    let failed =
        AuditEvent::new("auth", "auth.password.change_failed", "Password change refused: wrong current password.");
    audit::record(state, failed.by_caller(caller).failed()).await;
}

/// Sets a new password (the current one already proven) and ends every session of the account.
pub async fn set_password(state: &AppState, caller: &Caller, new: &str, rule: PasswordRule) -> DomainResult<()> {
    let new = NewPassword::parse(new, rule)?;
    let hash = state.passwords.hash(new.expose()).await?;
    sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
        .bind(hash)
        .bind(caller.user_id)
        .execute(state.store.pool())
        .await?;
    audit::record(state, AuditEvent::new("auth", "auth.password.changed", "Password changed.").by_caller(caller)).await;
    sessions::revoke_all_sessions(state, caller.user_id, "password_changed").await
}

/// A language of the catalogue, from a tag such as `de` or `de-AT`; any other is refused,
/// naming the field `language`.
pub fn parse_language(tag: &str) -> DomainResult<Locale> {
    locale_for_tag(tag).ok_or_else(|| {
        let known: Vec<&str> = Locale::get_all().iter().map(|l| l.as_str()).collect();
        DomainError::invalid("language", format!("Unknown language: choose one of {}.", known.join(", ")))
    })
}

/// Saves the language the caller chose for the app and for the mails Hearth sends them.
pub async fn set_language(state: &AppState, caller: &Caller, tag: &str) -> DomainResult<Account> {
    let language = parse_language(tag)?;
    sqlx::query("UPDATE users SET locale = $1 WHERE id = $2")
        .bind(language.to_string())
        .bind(caller.user_id)
        .execute(state.store.pool())
        .await?;
    account_by_id(state, caller.user_id).await
}

pub struct ProfileChanges {
    pub username: Option<String>,
    pub email: Option<String>,
    pub disable: bool,
    pub delete: bool,
}

pub enum ProfileOutcome {
    Updated { account: Account, verification_sent: bool },
    Disabled,
    Deleted,
}

pub async fn update_profile(
    state: &AppState,
    caller: &Caller,
    changes: ProfileChanges,
) -> DomainResult<ProfileOutcome> {
    let pool = state.store.pool();
    if changes.delete {
        // The row stays so history keeps its author; the name and address are freed.
        let tombstone = format!("deleted-{}", caller.user_id);
        sqlx::query(
            "UPDATE users SET username = $1, username_key = $1, email = '', email_key = $1, display_name = NULL, \
                              password_hash = '', deleted_at = $2 WHERE id = $3",
        )
        .bind(&tombstone)
        .bind(now_ms())
        .bind(caller.user_id)
        .execute(pool)
        .await?;
        sqlx::query("DELETE FROM email_verifications WHERE user_id = $1").bind(caller.user_id).execute(pool).await?;
        sessions::revoke_all_sessions(state, caller.user_id, "account_deleted").await?;
        return Ok(ProfileOutcome::Deleted);
    }
    if changes.disable {
        sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
            .bind(now_ms())
            .bind(caller.user_id)
            .execute(pool)
            .await?;
        sessions::revoke_all_sessions(state, caller.user_id, "account_disabled").await?;
        return Ok(ProfileOutcome::Disabled);
    }
    let username = changes.username.as_deref().map(str::trim).filter(|n| !n.is_empty() && *n != caller.username);
    let email =
        changes.email.as_deref().map(str::trim).filter(|e| !e.is_empty() && email_key(e) != email_key(&caller.email));
    if username.is_none() && email.is_none() {
        return Err(DomainError::BadRequest("No changes requested.".into()));
    }
    // Check both before changing either, so a refused request changes nothing.
    let username = username.map(Username::parse).transpose()?;
    let email = email.map(Email::parse).transpose()?;
    if let Some(email) = &email {
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE email_key = $1")
            .bind(email.key())
            .fetch_optional(pool)
            .await?;
        if taken.is_some() {
            return Err(email_taken());
        }
    }
    if let Some(username) = &username {
        let renamed = sqlx::query("UPDATE users SET username = $1, username_key = $2 WHERE id = $3")
            .bind(username.as_str())
            .bind(username.key())
            .bind(caller.user_id)
            .execute(pool)
            .await;
        match renamed {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(name_taken(username.as_str())),
            Err(e) => return Err(e.into()),
        }
    }
    let mut verification_sent = false;
    if let Some(email) = email {
        if state.settings.email_verification_required {
            // The new address takes over only once its code comes back. The account is read
            // again: the same request may have renamed it.
            let account = account_by_id(state, caller.user_id).await?;
            let kind = CodeMail::NewAddress { username: &account.username };
            let to = email.as_str().to_string();
            send_verification_code(state, caller.user_id, to, account.mail_language(), kind).await?;
            verification_sent = true;
        } else {
            let changed = sqlx::query("UPDATE users SET email = $1, email_key = $2 WHERE id = $3")
                .bind(email.as_str())
                .bind(email.key())
                .bind(caller.user_id)
                .execute(pool)
                .await;
            match changed {
                Ok(_) => {}
                Err(e) if is_unique_violation(&e) => return Err(email_taken()),
                Err(e) => return Err(e.into()),
            }
        }
    }
    let account = account_by_id(state, caller.user_id).await?;
    Ok(ProfileOutcome::Updated { account, verification_sent })
}

/// Mails a reset link when the account exists. Answers the same either way.
pub async fn request_password_reset(state: &AppState, name: AccountName, ip: Option<IpAddr>) -> DomainResult<()> {
    let (_, key) = name.column_and_key();
    limit_attempts(state, "reset-request", ip, Some(&key))?;
    let Some((account, _)) = find_account(state, &name).await? else { return Ok(()) };
    if account.disabled {
        return Ok(());
    }
    let token = random_token();
    let ttl = state.settings.reset_link_ttl;
    sqlx::query("INSERT INTO password_resets (token_hash, user_id, expires_at) VALUES ($1, $2, $3)")
        .bind(secret_hash(&token))
        .bind(account.id)
        .bind(now_ms() + ms(ttl))
        .execute(state.store.pool())
        .await?;
    let link = format!(
        "{}/user/reset-password?token={token}&username={}",
        state.settings.public_url.trim_end_matches('/'),
        url_encode(&account.username)
    );
    let language = account.mail_language();
    state.mailer.send(Mail::password_reset(account.email, language, &account.username, &link, ttl)).await
}

pub struct PasswordReset {
    pub token: String,
    pub username: String,
    pub password: String,
    pub confirm_password: String,
}

/// A mailed reset link: whose, until when, and whether it was used.
#[derive(sqlx::FromRow)]
struct ResetLink {
    user_id: i64,
    username_key: String,
    expires_at: i64,
    used_at: Option<i64>,
}

pub async fn reset_password(state: &AppState, reset: PasswordReset, ip: Option<IpAddr>) -> DomainResult<()> {
    limit_attempts(state, "reset", ip, Some(&reset.username))?;
    let hash = secret_hash(reset.token.trim());
    let link: Option<ResetLink> = sqlx::query_as(
        "SELECT r.user_id, u.username_key, r.expires_at, r.used_at FROM password_resets r \
         JOIN users u ON u.id = r.user_id WHERE r.token_hash = $1 AND u.deleted_at IS NULL",
    )
    .bind(&hash)
    .fetch_optional(state.store.pool())
    .await?;
    let user_id = match link {
        Some(link)
            if link.used_at.is_none()
                && link.username_key == username_key(&reset.username)
                && link.expires_at > now_ms() =>
        {
            link.user_id
        }
        _ => return Err(DomainError::InvalidResetLink),
    };
    if reset.password != reset.confirm_password {
        return Err(DomainError::invalid("confirm_password", "Passwords do not match."));
    }
    // The reset link and page belong to the ChatCLI surface.
    let password = NewPassword::parse(&reset.password, PasswordRule::ChatCli)?;
    let new_hash = state.passwords.hash(password.expose()).await?;
    let consumed = sqlx::query("UPDATE password_resets SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL")
        .bind(now_ms())
        .bind(&hash)
        .execute(state.store.pool())
        .await?;
    if consumed.rows_affected() != 1 {
        return Err(DomainError::InvalidResetLink);
    }
    // The link came through the account's mailbox, which also proves the address.
    sqlx::query(
        "UPDATE users SET password_hash = $1, email_verified_at = COALESCE(email_verified_at, $2) WHERE id = $3",
    )
    .bind(new_hash)
    .bind(now_ms())
    .bind(user_id)
    .execute(state.store.pool())
    .await?;
    let reset_done = AuditEvent::new("auth", "auth.password.reset", "Password reset through a mailed link.");
    audit::record(state, reset_done.by(user_id, reset.username.trim()).from_ip(ip)).await;
    sessions::revoke_all_sessions(state, user_id, "password_reset").await
}

pub async fn subscribe(state: &AppState, email: &str, ip: Option<IpAddr>) -> DomainResult<()> {
    limit_attempts(state, "subscribe", ip, None)?;
    let email = Email::parse(email)?;
    let added = sqlx::query("INSERT INTO subscriptions (email_key, email, created_at) VALUES ($1, $2, $3) ON CONFLICT (email_key) DO NOTHING")
        .bind(email.key())
        .bind(email.as_str())
        .bind(now_ms())
        .execute(state.store.pool())
        .await?;
    if added.rows_affected() == 0 {
        return Err(DomainError::Conflict("This email is already subscribed.".into()));
    }
    Ok(())
}

/// `hearth invite create`: a code good for `uses` sign-ups.
pub async fn create_invite(state: &AppState, uses: u32) -> DomainResult<String> {
    if uses == 0 {
        return Err(DomainError::invalid("uses", "An invite needs at least one use."));
    }
    let code = random_token()[..16].to_string();
    sqlx::query("INSERT INTO invites (code, uses_left, created_at) VALUES ($1, $2, $3)")
        .bind(&code)
        .bind(i64::from(uses))
        .bind(now_ms())
        .execute(state.store.pool())
        .await?;
    Ok(code)
}

/// `hearth user set-role`: changes take effect on the user's next request.
pub async fn set_role(state: &AppState, username: &str, role: Role) -> DomainResult<Account> {
    let (account, _) = find_account(state, &AccountName::Username(username.into()))
        .await?
        .ok_or_else(|| DomainError::NotFound("User not found.".into()))?;
    sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(account.id)
        .execute(state.store.pool())
        .await?;
    let change =
        AuditEvent::new("admin", "user.role.changed", format!("{} is now {}.", account.username, role.as_str())).with(
            serde_json::json!({
                "userId": account.id.to_string(),
                "username": account.username,
                "from": account.role.as_str(),
                "to": role.as_str(),
            }),
        );
    audit::record(state, change).await;
    account_by_id(state, account.id).await
}

/// Percent-encodes a query value (RFC 3986 unreserved characters pass through).
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
