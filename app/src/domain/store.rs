//! The database: one SQL dialect over sqlx's `Any` driver for SQLite and PostgreSQL.
//! Both accept `$1` placeholders, `RETURNING` and `ON CONFLICT`; timestamps are Unix ms in
//! BIGINT columns. The few queries that must differ branch on `Store::backend()`.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::AnyPool;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

impl Store {
    /// Opens `url` (`sqlite://path` or `postgres://…`), creating a SQLite file and its folder
    /// when missing.
    pub async fn connect(url: &str) -> anyhow_like::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(format!(
                "DATABASE_URL must start with sqlite:// or postgres:// (got {:?})",
                url.split(':').next().unwrap_or_default()
            )
            .into());
        };
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = match backend {
            // SQLite serialises writers; a few connections serve concurrent readers (WAL).
            Backend::Sqlite => AnyPoolOptions::new().max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    // WAL survives a process crash (SIGKILL) with synchronous=NORMAL.
                    for pragma in [
                        "PRAGMA journal_mode=WAL",
                        "PRAGMA synchronous=NORMAL",
                        "PRAGMA foreign_keys=ON",
                        "PRAGMA busy_timeout=10000",
                    ] {
                        conn.execute(pragma).await?;
                    }
                    Ok(())
                })
            }),
            Backend::Postgres => AnyPoolOptions::new().max_connections(16),
        }
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(options)
        .await?;
        Ok(Store { pool, backend })
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> anyhow_like::Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => {
                POSTGRES_MIGRATIONS.run(&self.pool).await?;
                // Fresh tables have no statistics until autovacuum gets to them, and the search
                // and membership joins plan badly without them.
                sqlx::query("ANALYZE").execute(&self.pool).await?;
            }
        }
        Ok(())
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Cheap round trip, for readiness checks.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1").execute(&self.pool).await.map(|_| ())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Makes sure the SQLite file's folder exists and the file is created when missing.
fn prepare_sqlite_url(url: &str) -> anyhow_like::Result<String> {
    let rest = url.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path != ":memory:" && !path.is_empty() {
        if let Some(parent) = Path::new(path).parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
    }
    let query = if query.contains("mode=") {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".into()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{query}"))
}

/// Now, in Unix milliseconds: the unit of every timestamp column.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn ms(duration: Duration) -> i64 {
    duration.as_millis().min(i64::MAX as u128) as i64
}

/// RFC 3339 UTC text of a Unix-ms timestamp (what every wire format sends).
pub fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let millis = ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z", rem / 3600, (rem % 3600) / 60, rem % 60)
}

/// A date or time as clients send it: `2024-01-31`, or RFC 3339 (`2024-01-31T12:00:00Z`,
/// `…+02:00`, fractions allowed). `end_of_day` makes a bare date mean its last millisecond.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<i64> {
    let text = text.trim();
    let date = text.get(..10)?;
    let mut fields = date.split('-');
    let year: i64 = fields.next().filter(|y| y.len() == 4)?.parse().ok()?;
    let month: i64 = fields.next().filter(|m| m.len() == 2)?.parse().ok()?;
    let day: i64 = fields.next().filter(|d| d.len() == 2)?.parse().ok()?;
    if !(1..=12).contains(&month) || !(1..=days_in_month(year, month)).contains(&day) {
        return None;
    }
    let midnight = days_from_civil(year, month, day) * 86_400_000;
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(if end_of_day { midnight + 86_399_999 } else { midnight });
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let number = |s: &str| -> Option<i64> { s.bytes().all(|b| b.is_ascii_digit()).then(|| s.parse().ok()).flatten() };
    let hour = number(rest.get(0..2)?)?;
    let minute = number(rest.get(3..5)?).filter(|_| rest.as_bytes().get(2) == Some(&b':'))?;
    let second = number(rest.get(6..8)?).filter(|_| rest.as_bytes().get(5) == Some(&b':'))?;
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut rest = &rest[8..];
    let mut millis = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let padded: String = fraction[..digits].chars().chain("000".chars()).take(3).collect();
        millis = number(&padded)?;
        rest = &fraction[digits..];
    }
    let offset_minutes = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first()? {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return None;
            }
            sign * (number(&rest[1..3])? * 60 + number(&rest[4..6])?)
        }
    };
    Some(midnight + ((hour * 60 + minute - offset_minutes) * 60 + second) * 1000 + millis)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Start-up errors are reported as text; the domain's own errors are `DomainError`.
pub mod anyhow_like {
    pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_render_as_rfc3339_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
    }

    #[test]
    fn dates_and_times_parse_to_unix_ms() {
        assert_eq!(parse_time("1970-01-01", false), Some(0));
        assert_eq!(parse_time("1970-01-01", true), Some(86_399_999));
        assert_eq!(parse_time("2023-11-14T22:13:20.123Z", false), Some(1_700_000_000_123));
        assert_eq!(parse_time("2023-11-15T00:13:20+02:00", false), Some(1_700_000_000_000));
        assert_eq!(parse_time("2023-02-29", false), None);
        assert_eq!(parse_time("yesterday", false), None);
        assert_eq!(parse_time("2023-11-14T25:00:00Z", false), None);
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(prepare_sqlite_url("sqlite::memory:").unwrap(), "sqlite://:memory:?mode=rwc");
        assert_eq!(prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(), "sqlite://x.db?mode=ro");
    }
}
