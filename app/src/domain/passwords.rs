//! Passwords: what a new one must be, and hashing.
//!
//! Each surface keeps its own seed's composition rule (ChatCLI's on `/user/*`, nchat's on
//! `/api/auth/*`), both above one floor: at least 8 characters, at most 128, and not one of the
//! common passwords in `common-passwords.txt` (compared ignoring case). That list is the entries
//! of 8 characters or more, in ASCII, of the 20,000-password list Django ships
//! (`django/contrib/auth/common-passwords.txt.gz`, PyPI package `django` 5.2.19, BSD licence).
//!
//! Hashing: argon2id with OWASP's parameters, run on the blocking pool and never more than
//! `concurrency` at once, so a sign-in flood cannot starve message delivery.

use std::collections::HashSet;
use std::sync::{Arc, OnceLock};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::DomainError;

pub const PASSWORD_MIN_CHARS: usize = 8;
/// Bounds the work argon2 does for one request.
pub const PASSWORD_MAX_CHARS: usize = 128;

/// Whose composition rule a new password follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordRule {
    /// ChatCLI's reference: an upper-case and a lower-case letter, a digit and a punctuation
    /// character. The first failing rule is reported, in the reference's words.
    ChatCli,
    /// nchat's `validatePassword`: an upper-case and a lower-case letter and a digit. Every failing
    /// rule is reported, joined with ". ", as nchat does.
    Nchat,
}

/// One common password per line, lower case.
const COMMON_PASSWORDS: &str = include_str!("common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// True when `password` is on the list, ignoring case and surrounding spaces.
pub fn is_common(password: &str) -> bool {
    common_passwords().contains(password.trim().to_lowercase().as_str())
}

/// A new password that meets its surface's rule and the floor. Existing passwords are never
/// re-checked.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    pub fn parse(raw: &str, rule: PasswordRule) -> Result<Self, DomainError> {
        let weak = |message: String| Err(DomainError::invalid("password", message));
        let chars = raw.chars().count();
        let upper = raw.chars().any(char::is_uppercase);
        let lower = raw.chars().any(char::is_lowercase);
        let digit = raw.chars().any(|c| c.is_ascii_digit());
        match rule {
            PasswordRule::ChatCli => {
                let first_failure = [
                    (chars < PASSWORD_MIN_CHARS, "Password must be at least 8 characters."),
                    (chars > PASSWORD_MAX_CHARS, "Password must be at most 128 characters."),
                    (!upper, "Password must contain an upper-case letter."),
                    (!lower, "Password must contain a lower-case letter."),
                    (!digit, "Password must contain a digit."),
                    (!raw.chars().any(|c| c.is_ascii_punctuation()), "Password must contain a punctuation character."),
                ]
                .into_iter()
                .find_map(|(failed, message)| failed.then_some(message));
                if let Some(message) = first_failure {
                    return weak(message.into());
                }
            }
            PasswordRule::Nchat => {
                if chars > PASSWORD_MAX_CHARS {
                    return weak("Password must be at most 128 characters".into());
                }
                let failures: Vec<&str> = [
                    (chars < PASSWORD_MIN_CHARS, "Password must be at least 8 characters"),
                    (!upper, "Password must contain at least one uppercase letter"),
                    (!lower, "Password must contain at least one lowercase letter"),
                    (!digit, "Password must contain at least one number"),
                ]
                .into_iter()
                .filter_map(|(failed, message)| failed.then_some(message))
                .collect();
                if !failures.is_empty() {
                    return weak(failures.join(". "));
                }
            }
        }
        if is_common(raw) {
            let message = match rule {
                PasswordRule::ChatCli => "Password is too common. Choose one that is harder to guess.",
                PasswordRule::Nchat => "Password is too common. Choose one that is harder to guess",
            };
            return weak(message.into());
        }
        Ok(NewPassword(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(***)")
    }
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    /// Verified against when the account does not exist, so that answer takes as long.
    dummy_hash: Arc<str>,
}

fn argon2() -> Argon2<'static> {
    // OWASP: m=19 MiB, t=2, p=1.
    let params = Params::new(19 * 1024, 2, 1, None).expect("constant argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_now(password: &str) -> Result<String, DomainError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| DomainError::Internal(format!("argon2 hash: {e}")))
}

impl Passwords {
    pub fn new(concurrency: usize) -> Self {
        let dummy_hash = hash_now("hearth: nobody has this password").expect("hashing a constant works");
        Passwords { permits: Arc::new(Semaphore::new(concurrency.max(1))), dummy_hash: dummy_hash.into() }
    }

    pub async fn hash(&self, password: &str) -> Result<String, DomainError> {
        let password = password.to_string();
        self.run(move || hash_now(&password)).await?
    }

    /// True when `password` matches `stored`. With no stored hash (unknown account) it still does
    /// the same work and answers false.
    pub async fn verify(&self, password: &str, stored: Option<&str>) -> Result<bool, DomainError> {
        let password = password.to_string();
        let exists = stored.is_some_and(|s| !s.is_empty());
        let hash = if exists { stored.unwrap_or_default().to_string() } else { self.dummy_hash.to_string() };
        let matched = self
            .run(move || {
                PasswordHash::new(&hash)
                    .map(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
                    .unwrap_or(false)
            })
            .await?;
        Ok(exists && matched)
    }

    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> T + Send + 'static) -> Result<T, DomainError> {
        let _permit = self.permits.acquire().await.map_err(|e| DomainError::Internal(format!("hash permits: {e}")))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| DomainError::Internal(format!("hash task: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chatcli_passwords_need_every_character_class() {
        assert!(NewPassword::parse("Str0ng!pass", PasswordRule::ChatCli).is_ok());
        for weak in ["Sh0rt!", "nouppercase1!", "NOLOWERCASE1!", "NoDigits!!", "NoPunct123"] {
            assert!(NewPassword::parse(weak, PasswordRule::ChatCli).is_err(), "{weak:?} should be refused");
        }
        assert!(NewPassword::parse(&format!("Aa1!{}", "x".repeat(125)), PasswordRule::ChatCli).is_err());
    }

    #[test]
    fn nchat_passwords_need_upper_lower_and_a_digit_and_name_every_failure() {
        assert!(NewPassword::parse("securePassword123", PasswordRule::Nchat).is_ok());
        assert!(NewPassword::parse("securePassword123", PasswordRule::ChatCli).is_err(), "no punctuation");
        match NewPassword::parse("abc", PasswordRule::Nchat) {
            Err(DomainError::Invalid { field: "password", message }) => assert_eq!(
                message,
                "Password must be at least 8 characters. Password must contain at least one uppercase letter. \
                 Password must contain at least one number"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn common_passwords_are_refused_on_both_surfaces_whatever_their_case() {
        assert!(is_common("PassWord1") && is_common(" qwerty123 "));
        assert!(!is_common("Corr3ct-horse"));
        for (password, rule) in [("Password1", PasswordRule::Nchat), ("P@ssw0rd", PasswordRule::ChatCli)] {
            match NewPassword::parse(password, rule) {
                Err(DomainError::Invalid { message, .. }) => assert!(message.contains("too common"), "{message}"),
                other => panic!("{password}: {other:?}"),
            }
        }
        assert!(common_passwords().len() > 8000, "the list ships whole");
        assert!(common_passwords().iter().all(|p| p.chars().count() >= PASSWORD_MIN_CHARS));
    }
}
