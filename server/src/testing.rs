//! Support shared by the integration tests and the benchmarks: a fresh, empty database per run,
//! on SQLite or PostgreSQL (`HEARTH_TEST_POSTGRES_URL`, default the local `test` database).

use std::path::Path;

use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_admin_url() -> String {
    std::env::var("HEARTH_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

/// The URL of a new, empty database: a SQLite file in `scratch`, or a new PostgreSQL database
/// named `hearth_test_…` (the test command drops old ones before each run).
pub async fn fresh_database(backend: Backend, scratch: &Path) -> anyhow::Result<String> {
    match backend {
        Backend::Sqlite => Ok(format!("sqlite://{}", scratch.join("hearth.db").display())),
        Backend::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("hearth_test_{:016x}", rand::random::<u64>());
            let mut conn = sqlx::PgConnection::connect(&admin).await.map_err(|e| {
                anyhow::anyhow!("PostgreSQL at {admin} is needed (start it, or set HEARTH_TEST_POSTGRES_URL): {e}")
            })?;
            let create = format!("CREATE DATABASE {name}");
            sqlx::query(&create).execute(&mut conn).await?;
            let (base, _) = admin.rsplit_once('/').ok_or_else(|| anyhow::anyhow!("database URL has no path"))?;
            Ok(format!("{base}/{name}"))
        }
    }
}

/// A scratch folder under the system's temp dir.
pub fn scratch_dir(label: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("hearth-{label}-{:016x}", rand::random::<u64>()));
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}
