//! Password hashing: argon2id with OWASP's parameters, run on the blocking pool and never more
//! than `concurrency` at once, so a sign-in flood cannot starve message delivery.

use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use super::DomainError;

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
