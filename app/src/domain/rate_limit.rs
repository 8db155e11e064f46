//! Fixed-window request counters: in this process's memory (the auth actions, per IP address and
//! per account; `/api/*` on one node), or in the database's `rate_limits` table (shared by nodes).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::store::{ms, now_ms, Store};
use super::DomainError;

pub struct RateLimiter {
    windows: Mutex<HashMap<String, Window>>,
}

struct Window {
    started: Instant,
    count: u32,
}

/// Counters older than this are dropped on the next sweep.
const SWEEP_AT_ENTRIES: usize = 10_000;

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter { windows: Mutex::new(HashMap::new()) }
    }
}

/// Where one key stands in its window after a request was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    /// Requests left in this window (0 when refused).
    pub remaining: u32,
    /// Seconds until the window starts over.
    pub resets_in: u64,
    pub allowed: bool,
}

impl Quota {
    fn of(limit: u32, hits: u64, resets_in: Duration) -> Quota {
        let secs = resets_in.as_millis().div_ceil(1000) as u64;
        Quota {
            limit,
            remaining: u64::from(limit).saturating_sub(hits) as u32,
            resets_in: secs.max(1),
            allowed: hits <= u64::from(limit),
        }
    }
}

impl RateLimiter {
    /// Runs `f` on `key`'s current window (a fresh one once `period` has passed) with the time
    /// left in it, under the lock.
    fn with_window<R>(&self, key: &str, period: Duration, f: impl FnOnce(&mut Window, Duration) -> R) -> R {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= SWEEP_AT_ENTRIES {
            windows.retain(|_, w| now.duration_since(w.started) < period);
        }
        let window = windows.entry(key.to_string()).or_insert(Window { started: now, count: 0 });
        if now.duration_since(window.started) >= period {
            *window = Window { started: now, count: 0 };
        }
        let left = period.saturating_sub(now.duration_since(window.started));
        f(window, left)
    }

    /// Counts one request under `key` and says where the key stands (refused requests count
    /// too, so hammering does not pay).
    pub fn count(&self, key: &str, limit: u32, period: Duration) -> Quota {
        self.with_window(key, period, |window, left| {
            window.count = window.count.saturating_add(1);
            Quota::of(limit, u64::from(window.count), left)
        })
    }

    /// Counts one attempt under `key`; refuses when more than `limit` fall in one `period`.
    pub fn hit(&self, key: &str, limit: u32, period: Duration) -> Result<(), DomainError> {
        self.with_window(key, period, |window, left| {
            if window.count >= limit {
                return Err(DomainError::RateLimited { retry_after: left.as_secs().max(1) });
            }
            window.count += 1;
            Ok(())
        })
    }
}

/// The same count in the database, so every node sharing it agrees. Windows are aligned to the
/// clock (every node sees the same window) and one upsert counts atomically.
pub async fn count_shared(store: &Store, key: &str, limit: u32, period: Duration) -> Result<Quota, DomainError> {
    let period_ms = ms(period).max(1);
    let now = now_ms();
    let window_start = now - now.rem_euclid(period_ms);
    let hits: i64 = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
    )
    .bind(key)
    .bind(window_start)
    .fetch_one(store.pool())
    .await?;
    // Now and then, forget finished windows (any node may; the delete is idempotent).
    if rand::random::<u16>().is_multiple_of(500) {
        sqlx::query("DELETE FROM rate_limits WHERE window_start < $1").bind(window_start).execute(store.pool()).await?;
    }
    let resets_in = Duration::from_millis((window_start + period_ms - now).max(0) as u64);
    Ok(Quota::of(limit, hits.max(0) as u64, resets_in))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_and_forgets_after_the_period() {
        let limiter = RateLimiter::default();
        let period = Duration::from_millis(50);
        assert!(limiter.hit("k", 2, period).is_ok());
        assert!(limiter.hit("k", 2, period).is_ok());
        assert!(matches!(limiter.hit("k", 2, period), Err(DomainError::RateLimited { .. })));
        assert!(limiter.hit("other", 2, period).is_ok());
        std::thread::sleep(Duration::from_millis(60));
        assert!(limiter.hit("k", 2, period).is_ok());
    }

    #[test]
    fn counts_report_what_is_left() {
        let limiter = RateLimiter::default();
        let minute = Duration::from_secs(60);
        assert_eq!(limiter.count("k", 2, minute).remaining, 1);
        let second = limiter.count("k", 2, minute);
        assert!(second.allowed && second.remaining == 0 && second.resets_in <= 60);
        assert!(!limiter.count("k", 2, minute).allowed);
    }
}
