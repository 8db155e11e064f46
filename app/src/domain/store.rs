//! The database: one SQL dialect over sqlx's `Any` driver for SQLite and PostgreSQL.
//! Both accept `$1` placeholders, `RETURNING` and `ON CONFLICT`; timestamps are Unix ms in
//! BIGINT columns. The few queries that must differ branch on `Store::backend()`.

use std::path::Path;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Arguments};

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

/// A value for a `$n` placeholder of SQL built at run time (search, audit filters).
#[derive(Debug, Clone)]
pub enum Bind {
    Int(i64),
    Text(String),
}

/// The values of SQL built at run time, in placeholder order, for `sqlx::query_with`,
/// `query_as_with` and `query_scalar_with`.
pub fn arguments<'q>(binds: impl IntoIterator<Item = Bind>) -> Result<AnyArguments<'q>, sqlx::Error> {
    let mut arguments = AnyArguments::default();
    for bind in binds {
        match bind {
            Bind::Int(value) => arguments.add(value),
            Bind::Text(value) => arguments.add(value),
        }
        .map_err(sqlx::Error::Encode)?;
    }
    Ok(arguments)
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
    let time = chrono::DateTime::<chrono::Utc>::from_timestamp_millis(ms).unwrap_or_default();
    time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A date or time as clients send it: `2024-01-31`, or RFC 3339 (`2024-01-31T12:00:00Z`,
/// `…+02:00`, fractions allowed, a space for the `T`). `end_of_day` makes a bare date mean its
/// last millisecond.
pub fn parse_time(text: &str, end_of_day: bool) -> Option<i64> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // `%Y` also takes years of more or fewer than four digits: clients send four.
        if text.len() != 10 {
            return None;
        }
        let midnight = date.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        return Some(if end_of_day { midnight + 86_399_999 } else { midnight });
    }
    let spaced = text.get(10..11) == Some(" ");
    let text = if spaced { format!("{}T{}", &text[..10], &text[11..]) } else { text.to_string() };
    chrono::DateTime::parse_from_rfc3339(&text).ok().map(|time| time.timestamp_millis())
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
        assert_eq!(parse_time("2023-11-14 22:13:20.123Z", false), Some(1_700_000_000_123));
        assert_eq!(parse_time("2023-02-29", false), None);
        assert_eq!(parse_time("12023-01-01", false), None);
        assert_eq!(parse_time("yesterday", false), None);
        assert_eq!(parse_time("2023-11-14T25:00:00Z", false), None);
    }

    #[test]
    fn sqlite_urls_get_create_mode() {
        assert_eq!(prepare_sqlite_url("sqlite::memory:").unwrap(), "sqlite://:memory:?mode=rwc");
        assert_eq!(prepare_sqlite_url("sqlite://x.db?mode=ro").unwrap(), "sqlite://x.db?mode=ro");
    }
}
