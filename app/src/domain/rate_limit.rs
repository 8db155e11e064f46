//! Fixed-window request counters, kept in this process's memory.
//! Used for the sensitive auth actions (per IP address and per account).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

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

impl RateLimiter {
    /// Counts one attempt under `key`; refuses when more than `limit` fall in one `period`.
    pub fn hit(&self, key: &str, limit: u32, period: Duration) -> Result<(), DomainError> {
        let now = Instant::now();
        let mut windows = self.windows.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if windows.len() >= SWEEP_AT_ENTRIES {
            windows.retain(|_, w| now.duration_since(w.started) < period);
        }
        let window = windows.entry(key.to_string()).or_insert(Window { started: now, count: 0 });
        if now.duration_since(window.started) >= period {
            *window = Window { started: now, count: 0 };
        }
        if window.count >= limit {
            let left = period.saturating_sub(now.duration_since(window.started));
            return Err(DomainError::RateLimited { retry_after: left.as_secs().max(1) });
        }
        window.count += 1;
        Ok(())
    }
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
}
