//! Everything a request handler needs, built once at start-up and shared by cheap clones.

use std::ops::Deref;
use std::sync::Arc;
use std::time::Instant;

use super::events::EventSink;
use super::mail::Mailer;
use super::passwords::Passwords;
use super::rate_limit::RateLimiter;
use super::sessions::TokenKeys;
use super::settings::Settings;
use super::store::Store;

#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub store: Store,
    pub settings: Settings,
    pub mailer: Mailer,
    /// Where stored changes are announced (the live bus).
    pub events: Arc<dyn EventSink>,
    pub limiter: RateLimiter,
    pub passwords: Passwords,
    pub token_keys: TokenKeys,
    pub started_at: Instant,
}

impl AppState {
    pub fn new(store: Store, settings: Settings, mailer: Mailer, events: Arc<dyn EventSink>) -> Self {
        AppState(Arc::new(Shared {
            passwords: Passwords::new(settings.password_hash_concurrency),
            token_keys: TokenKeys::new(secrecy::ExposeSecret::expose_secret(&settings.jwt_secret)),
            limiter: RateLimiter::default(),
            started_at: Instant::now(),
            store,
            settings,
            mailer,
            events,
        }))
    }
}

impl Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}
