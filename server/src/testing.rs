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

/// The real `hearth` binary run as a child process (`hearth serve`), for tests and benchmarks
/// that kill, terminate and restart it, or watch its memory and file descriptors.
///
/// The child inherits this process's environment (RUST_LOG set to "warn"), with `env` on top.
/// Its stdout and stderr go to `hearth-child.log` in its data folder (`HEARTH_DATA_DIR` in `env`,
/// else the temp dir), or to this process's when `TEST_LOG` is set.
pub struct ChildServer {
    pub addr: std::net::SocketAddr,
    /// `http://addr`.
    pub base: String,
    child: std::process::Child,
    /// Whether `child` has been waited for (its pid may then belong to another process).
    reaped: bool,
    binary: std::path::PathBuf,
    env: Vec<(String, String)>,
    log: Option<std::path::PathBuf>,
}

/// How long `start` and `restart` wait for `GET /api/health` to answer 200.
const CHILD_START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl ChildServer {
    /// Starts `binary serve` with `env` (HEARTH_ADDR is set to `addr`, or to a free loopback port
    /// when None; RUST_LOG defaults to "warn"), and waits (up to 60 s) until GET /api/health
    /// answers 200.
    pub async fn start(
        binary: &std::path::Path,
        addr: Option<std::net::SocketAddr>,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ChildServer> {
        if let Some(addr) = addr {
            return ChildServer::start_on(binary, addr, env).await;
        }
        // The free port is free only until someone else takes it: pick another then.
        let mut attempt = 1;
        loop {
            let addr = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
            match ChildServer::start_on(binary, addr, env).await {
                Err(e) if attempt < 3 && e.to_string().contains("Address already in use") => attempt += 1,
                started => return started,
            }
        }
    }

    async fn start_on(
        binary: &std::path::Path,
        addr: std::net::SocketAddr,
        env: &[(&str, &str)],
    ) -> anyhow::Result<ChildServer> {
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let log = if std::env::var_os("TEST_LOG").is_some() {
            None
        } else {
            let dir = env
                .iter()
                .rev()
                .find(|(k, _)| k == "HEARTH_DATA_DIR")
                .map(|(_, v)| std::path::PathBuf::from(v))
                .unwrap_or_else(std::env::temp_dir);
            std::fs::create_dir_all(&dir)?;
            let name = if dir == std::env::temp_dir() {
                format!("hearth-child-{}.log", addr.port())
            } else {
                "hearth-child.log".to_string()
            };
            Some(dir.join(name))
        };
        let child = spawn_child(binary, addr, &env, log.as_deref())?;
        let mut server = ChildServer {
            addr,
            base: format!("http://{addr}"),
            child,
            reaped: false,
            binary: binary.to_path_buf(),
            env,
            log,
        };
        server.wait_healthy().await?;
        Ok(server)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, then reaps the process.
    pub fn kill(&mut self) {
        // std sends nothing to a child it has already reaped.
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.reaped = true;
    }

    /// SIGTERM (asks for a graceful shutdown).
    pub fn terminate(&self) {
        self.signal(libc::SIGTERM);
    }

    /// Waits for the process to exit, up to `timeout`; None when it is still running.
    pub async fn wait_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.reaped = true;
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// Starts the same binary again with the same env and address (after kill or exit). A child
    /// still running is killed first.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.child = spawn_child(&self.binary, self.addr, &self.env, self.log.as_deref())?;
        self.reaped = false;
        self.wait_healthy().await
    }

    /// Resident memory (VmRSS from /proc/<pid>/status) in bytes; 0 when it cannot be read.
    pub fn rss_bytes(&self) -> u64 {
        if self.reaped {
            return 0;
        }
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }

    /// The number of open file descriptors (entries of /proc/<pid>/fd); 0 when it cannot be read.
    pub fn open_fds(&self) -> usize {
        if self.reaped {
            return 0;
        }
        std::fs::read_dir(format!("/proc/{}/fd", self.pid())).map_or(0, |entries| entries.count())
    }

    /// CPU time the process has used so far (user + system), seconds.
    pub fn cpu_secs(&self) -> f64 {
        process_cpu_secs(&self.pid().to_string())
    }

    /// The warnings and errors in its log so far, less the expected one about mail.
    pub fn problems(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| (l.contains("WARN") || l.contains("ERROR")) && !l.contains("HEARTH_SMTP_URL"))
            .map(str::to_string)
            .collect()
    }

    /// The child's log so far (empty when it goes to this process's output).
    pub fn log(&self) -> String {
        self.log.as_ref().and_then(|path| std::fs::read_to_string(path).ok()).unwrap_or_default()
    }

    fn signal(&self, signal: libc::c_int) {
        if self.reaped {
            return;
        }
        let Ok(pid) = libc::pid_t::try_from(self.child.id()) else { return };
        // SAFETY: kill(2) with our own, not yet reaped, child's pid; no memory is involved.
        unsafe {
            libc::kill(pid, signal);
        }
    }

    /// Polls `GET /api/health` until it answers 200. A child that exits first, or a timeout,
    /// is an error carrying the end of its log.
    async fn wait_healthy(&mut self) -> anyhow::Result<()> {
        let deadline = tokio::time::Instant::now() + CHILD_START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.reaped = true;
                anyhow::bail!("hearth exited during start-up ({status}); its log ends:\n{}", self.log_tail());
            }
            if health_ok(self.addr).await {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                self.kill();
                anyhow::bail!(
                    "hearth did not answer GET /api/health within {CHILD_START_TIMEOUT:?}; its log ends:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn spawn_child(
    binary: &std::path::Path,
    addr: std::net::SocketAddr,
    env: &[(String, String)],
    log: Option<&std::path::Path>,
) -> anyhow::Result<std::process::Child> {
    use std::os::unix::process::CommandExt;
    use std::process::Stdio;
    let mut command = std::process::Command::new(binary);
    command.arg("serve").stdin(Stdio::null());
    // Only the configuration given here: nothing from the developer's shell leaks in.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key.starts_with("HEARTH_") || key.starts_with("LIVEKIT_") || key == "DATABASE_URL" {
            command.env_remove(&*key);
        }
    }
    command.env("RUST_LOG", "warn").env("NO_COLOR", "1");
    // SAFETY: prctl only, between fork and exec. The server dies with the thread that started
    // it, so a killed test or benchmark leaves no server behind.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    for (key, value) in env {
        command.env(key, value);
    }
    command.env("HEARTH_ADDR", addr.to_string());
    if let Some(path) = log {
        let file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        command.stdout(file.try_clone()?).stderr(file);
    }
    command.spawn().map_err(|e| anyhow::anyhow!("starting {}: {e}", binary.display()))
}

/// Whether `GET /api/health` answers 200 (a bare HTTP/1.1 request, so the library needs no client).
async fn health_ok(addr: std::net::SocketAddr) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET /api/health HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1.1 200"))
    };
    tokio::time::timeout(std::time::Duration::from_secs(2), attempt).await.ok().flatten().unwrap_or(false)
}

/// CPU time (user + system, seconds) of a process (`"self"` for this one) from /proc.
pub fn process_cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command name: utime and stime are the 12th and 13th fields.
    let ticks: f64 = [11, 12].iter().filter_map(|&i| fields.get(i)?.parse::<f64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks / hz
}

/// What benchmarks run: the `hearth` binary on a fresh database in its own scratch folder, with
/// accounts made without mail and every limit out of the way (the limiter still counts), plus
/// `extra_env`. Dropped: the process is killed and the folder removed; `finish` also drops a
/// PostgreSQL scratch database.
pub struct BenchServer {
    pub node: ChildServer,
    pub database_url: String,
    pub scratch: std::path::PathBuf,
}

impl BenchServer {
    pub async fn start(
        binary: &Path,
        backend: Backend,
        label: &str,
        extra_env: &[(&str, &str)],
    ) -> anyhow::Result<BenchServer> {
        const UNLIMITED: &str = "4294967295";
        let scratch = scratch_dir(label);
        let database_url = match fresh_database(backend, &scratch).await {
            Ok(url) => url,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };
        let data_dir = scratch.display().to_string();
        let mut env: Vec<(&str, &str)> = vec![
            ("DATABASE_URL", &database_url),
            ("HEARTH_DATA_DIR", &data_dir),
            ("HEARTH_JWT_SECRET", "bench-secret-bench-secret-bench-secret-01"),
            ("HEARTH_EMAIL_VERIFICATION", "off"),
            ("HEARTH_REGISTRATION", "open"),
            ("HEARTH_AUTH_LIMIT_PER_IP", UNLIMITED),
            ("HEARTH_AUTH_LIMIT_PER_ACCOUNT", UNLIMITED),
            ("HEARTH_API_LIMIT", UNLIMITED),
            ("HEARTH_API_LIMIT_UPLOAD", UNLIMITED),
            ("HEARTH_API_LIMIT_SEARCH", UNLIMITED),
            ("HEARTH_API_LIMIT_WEBHOOK", UNLIMITED),
            ("HEARTH_WS_FRAMES_PER_SEC", "100000"),
        ];
        env.extend_from_slice(extra_env);
        let node = match ChildServer::start(binary, None, &env).await {
            Ok(node) => node,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };
        Ok(BenchServer { node, database_url, scratch })
    }

    pub fn base(&self) -> &str {
        &self.node.base
    }

    /// Stops the process and drops a PostgreSQL scratch database (the folder goes on drop).
    pub async fn finish(mut self) {
        self.node.kill();
        let Some((_, name)) = self.database_url.strip_prefix("postgres://").and_then(|rest| rest.rsplit_once('/'))
        else {
            return;
        };
        if name.starts_with("hearth_test_") {
            if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                    println!("  (could not drop {name}: {e})");
                }
            }
        }
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        self.node.kill();
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}
