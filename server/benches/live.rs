//! Benchmark: the live side (WebSockets at `/ws`) of a `hearth serve` process started for the
//! run, on loopback, with the server as its own process so that its memory and CPU are its own:
//!  1. Idle connections: HEARTH_BENCH_CONNECTIONS (default 10,000) authenticated, idle sockets
//!     over 100 accounts; how many were held, and the server's RSS growth per connection
//!     (goal: 10,000 held, < 20 KiB each), then held HEARTH_BENCH_IDLE_HOLD_SECS (default 35, one
//!     round of the periodic session checks) for the server's idle CPU. Lowered to fit
//!     RLIMIT_NOFILE if the hard limit is low. RSS growth undercounts when the allocator hands out
//!     memory that is already resident (e.g. freed by earlier argon2 hashing).
//!  2. Fan-out: a group of HEARTH_BENCH_FANOUT_MEMBERS (default 1,000) accounts, each online with
//!     one socket in the chat; one more socket posts HEARTH_BENCH_FANOUT_MESSAGES (default 200) at
//!     HEARTH_BENCH_FANOUT_RATE a second (default 100); deliveries a second and post-to-delivery
//!     latency, timed by one clock in this process (goal: p99 < 50 ms). Then as many reactions
//!     (HEARTH_BENCH_FANOUT_REACTIONS, default 200) at the same rate, on and off one message:
//!     `reaction_changed` deliveries and their latency (goal: p99 <= 50 ms).
//!  3. Stored messages: HEARTH_BENCH_WRITERS sockets (default 16, in 2-person chats) post with
//!     nonces as fast as acks return (32 in flight each) for HEARTH_BENCH_SECS (default 5); acks a
//!     second, cross-checked by paging `/chat/messages` with `after` (goal: 5,000/s on SQLite).
//!
//!  4. A page of history: HEARTH_BENCH_HISTORY_READS (default 1,000) reads, one at a time, of the
//!     latest 50 of 300 messages, every other one a reply and the latest 100 with 3 reactions each
//!     (a build without them stores plain messages: the page as it was); p50/p99 (goal: within 2x
//!     of the page without them).
//!
//! Phases 1 and 2 run on SQLite only, phases 3 and 4 on SQLite and PostgreSQL (HEARTH_TEST_POSTGRES_URL);
//! HEARTH_BENCH_BACKENDS=sqlite limits phase 3, HEARTH_BENCH_PHASES=1,3 picks phases, and
//! HEARTH_BENCH_BASELINE=<an earlier hearth binary> runs each phase on it too, before this build.
//! `cargo bench -p server --bench live` (builds this and the `hearth` binary in release). Signing
//! up the 1,000 accounts (argon2, 4 at a time) takes a minute or two. The clients share the
//! machine's cores with the server, so the figures are a floor.

mod support;

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::{SinkExt, StreamExt};
use hearth::testing::{process_cpu_secs, Backend, BenchServer};
use serde_json::{json, Value};
use support::{builds, describe_close, env_num, next_json, now_us, send_json, Build, Notes, Ws};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "Bench-passw0rd";
const REGISTER_CONCURRENCY: usize = 4;
const CONNECT_CONCURRENCY: usize = 64;
const IDLE_ACCOUNTS: usize = 100;
const IN_FLIGHT: usize = 32;
/// Sockets and files the processes need besides the benchmark's sockets.
const SPARE_FDS: u64 = 256;

fn main() -> anyhow::Result<()> {
    now_us();
    let (soft_before, nofile) = raise_nofile_limit();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Everything is bounded; this is the backstop. Dropping `run` kills the server processes.
    let outcome =
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(40 * 60), run(soft_before, nofile)).await });
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Ok(result) => result,
        Err(_) => bail!("the benchmark ran out of time (40 min)"),
    }
}

/// Raises this process's soft RLIMIT_NOFILE to the hard limit (the server inherits it).
fn raise_nofile_limit() -> (u64, u64) {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain libc calls on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return (1024, 1024);
        }
        let before = limit.rlim_cur;
        let mut wanted = limit.rlim_max;
        if wanted == libc::RLIM_INFINITY {
            wanted = std::fs::read_to_string("/proc/sys/fs/nr_open")
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(1 << 20);
        }
        limit.rlim_cur = wanted;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
            return (before, before);
        }
        (before, wanted)
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

/// The `hearth` binary in release on a fresh database (hearth::testing::BenchServer), with the
/// figures this benchmark reads.
struct Server {
    inner: BenchServer,
    pid: u32,
    base: String,
    ws_url: String,
}

impl Server {
    async fn start(build: &Build, backend: Backend, label: &str) -> anyhow::Result<Server> {
        let inner = BenchServer::start(&build.binary, backend, label, &[]).await?;
        let (pid, base) = (inner.node.pid(), inner.node.base.clone());
        Ok(Server { pid, ws_url: format!("ws://{}/ws", inner.node.addr), base, inner })
    }

    /// Resident memory, KiB.
    fn rss_kib(&self) -> anyhow::Result<u64> {
        match self.inner.node.rss_bytes() {
            0 => bail!("the server's VmRSS cannot be read (has it exited?)"),
            bytes => Ok(bytes / 1024),
        }
    }

    fn cpu_secs(&self) -> f64 {
        self.inner.node.cpu_secs()
    }

    /// The server's warnings and errors so far, less the expected one about mail.
    fn problems(&self) -> Vec<String> {
        self.inner.node.problems()
    }
}

/// The whole machine's (busy, total) CPU ticks, from `/proc/stat`.
fn machine_ticks() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let values: Vec<f64> =
        stat.lines().next().unwrap_or_default().split_whitespace().skip(1).filter_map(|v| v.parse().ok()).collect();
    let total: f64 = values.iter().take(8).sum();
    let idle = values.get(3).copied().unwrap_or_default() + values.get(4).copied().unwrap_or_default();
    (total - idle, total)
}

/// CPU used over a stretch of time: by the server, by this (client) process, by the machine.
struct CpuWindow {
    server_pid: u32,
    started: Instant,
    server: f64,
    client: f64,
    machine: (f64, f64),
}

impl CpuWindow {
    fn start(server: &Server) -> CpuWindow {
        CpuWindow {
            server_pid: server.pid,
            started: Instant::now(),
            server: process_cpu_secs(&server.pid.to_string()),
            client: process_cpu_secs("self"),
            machine: machine_ticks(),
        }
    }

    /// "server N% of a core, clients N%, machine N% busy" since `start`.
    fn describe(&self) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let server = (process_cpu_secs(&self.server_pid.to_string()) - self.server) / secs * 100.0;
        let client = (process_cpu_secs("self") - self.client) / secs * 100.0;
        let (busy, total) = machine_ticks();
        let machine = (busy - self.machine.0) / (total - self.machine.1).max(1.0) * 100.0;
        format!("server {server:.0}% of a core, bench clients {client:.0}%, machine {machine:.0}% busy (all cores)")
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

#[derive(Clone)]
struct Account {
    name: String,
    token: String,
}

async fn post(http: &reqwest::Client, url: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let response = http.post(url).json(&body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// Signs up and signs in `count` accounts named `{prefix}{i}`, a few at a time (argon2 bound).
async fn create_accounts(
    http: &reqwest::Client,
    base: &str,
    prefix: &str,
    range: std::ops::Range<usize>,
) -> anyhow::Result<Vec<Account>> {
    let started = Instant::now();
    let count = range.len();
    let accounts: Vec<anyhow::Result<Account>> = futures_util::stream::iter(range)
        .map(|i| {
            let (http, name) = (http.clone(), format!("{prefix}{i:04}"));
            async move {
                let body = json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.org")});
                let (status, reply) = post(&http, &format!("{base}/user/register"), body).await?;
                ensure!(status == 201, "register {name}: {status} {reply}");
                let (status, reply) =
                    post(&http, &format!("{base}/user/login"), json!({"username": name, "password": PASSWORD})).await?;
                ensure!(status == 200, "login {name}: {status} {reply}");
                let token = reply["access_token"].as_str().context("access_token")?.to_string();
                Ok(Account { name, token })
            }
        })
        .buffered(REGISTER_CONCURRENCY)
        .collect()
        .await;
    let accounts = accounts.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    println!("  ({count} accounts signed up and in, {:.1} s)", started.elapsed().as_secs_f64());
    Ok(accounts)
}

/// Opens `/ws` and authenticates; returns the socket and its `online_users`.
async fn open_socket(url: &str, token: &str) -> anyhow::Result<(Ws, Vec<String>)> {
    // Small read buffers keep this process lean with 10,000 sockets (the server's are its own).
    let config = WebSocketConfig::default().read_buffer_size(16 * 1024);
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, Some(config), true).await?;
    // Declares reactions, as the browser app does (a build without them ignores the field).
    let auth = json!({"type": "auth", "token": token, "capabilities": ["replies", "reactions"]});
    ws.send(Message::text(auth.to_string())).await?;
    let ack = next_json(&mut ws).await?;
    ensure!(ack["type"] == "auth_ack" && ack["status"] == "ok", "auth answered {ack}");
    let online = next_json(&mut ws).await?;
    ensure!(online["type"] == "online_users", "expected online_users, got {online}");
    let users = online["users"]
        .as_array()
        .map(|u| u.iter().filter_map(|n| n.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Ok((ws, users))
}

/// Polls `done` every 50 ms until it holds or `limit` passes; says whether it held.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    true
}

fn percentile(sorted: &[u64], q: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(us: u64) -> f64 {
    us as f64 / 1e3
}

// ---------------------------------------------------------------------------------------------
// Summary

struct Row {
    phase: &'static str,
    backend: &'static str,
    metric: String,
    value: String,
    goal: &'static str,
    verdict: &'static str,
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "MISSED"
    }
}

async fn run(soft_before: u64, nofile: u64) -> anyhow::Result<()> {
    let phases = std::env::var("HEARTH_BENCH_PHASES").unwrap_or_else(|_| "1,2,3,4".into());
    let backends = std::env::var("HEARTH_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    let builds = builds()?;
    let mut rows: Vec<Vec<Row>> = builds.iter().map(|_| Vec::new()).collect();
    println!("RLIMIT_NOFILE: soft {soft_before} raised to {nofile} (hard limit), for this process and the server");

    // Each phase runs for every build in turn, so the builds see the same machine.
    if phases.contains('1') || phases.contains('2') {
        for (build, rows) in builds.iter().zip(&mut rows) {
            println!("\n== {} ({}) ==", build.label, build.binary.display());
            if let Err(e) = idle_and_fanout(build, &phases, nofile, rows).await {
                println!("  FAILED: {e:#}");
                rows.push(Row {
                    phase: "1-2",
                    backend: "sqlite",
                    metric: "phases 1-2".into(),
                    value: format!("failed: {e}"),
                    goal: "",
                    verdict: "FAILED",
                });
            }
        }
    }
    // Phases 3 and 4: one server per backend and build.
    for (phase, metric) in [("3", "stored messages"), ("4", "history page")] {
        if !phases.contains(phase) {
            continue;
        }
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let name = if backend == Backend::Sqlite { "sqlite" } else { "postgres" };
            if !backends.contains(name) {
                continue;
            }
            for (build, rows) in builds.iter().zip(&mut rows) {
                println!("\n== {} ({}) ==", build.label, build.binary.display());
                let result = match phase {
                    "3" => throughput(build, backend, name, rows).await,
                    _ => history_page(build, backend, name, rows).await,
                };
                if let Err(e) = result {
                    println!("  FAILED: {e:#}");
                    rows.push(Row {
                        phase,
                        backend: name,
                        metric: metric.into(),
                        value: format!("failed: {e}"),
                        goal: "",
                        verdict: "FAILED",
                    });
                }
            }
        }
    }

    println!();
    println!(
        "Summary ({} cores, clients in the same machine)",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    for (build, rows) in builds.iter().zip(&rows) {
        println!("  {}:", build.label);
        println!("  {:<5} {:<8} {:<40} {:>26}   {:<16} result", "phase", "backend", "metric", "value", "goal");
        for row in rows {
            println!(
                "  {:<5} {:<8} {:<40} {:>26}   {:<16} {}",
                row.phase, row.backend, row.metric, row.value, row.goal, row.verdict
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phases 1 and 2 (SQLite, one server)

async fn idle_and_fanout(build: &Build, phases: &str, nofile: u64, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let members: usize = env_num("HEARTH_BENCH_FANOUT_MEMBERS", 1000).clamp(IDLE_ACCOUNTS, 1000);
    let server = Server::start(build, Backend::Sqlite, "bench-live").await?;
    let http = reqwest::Client::new();
    println!("SQLite server pid {} at {}", server.pid, server.base);
    let rss_start = server.rss_kib()?;
    let mut accounts = create_accounts(&http, &server.base, "fan", 0..IDLE_ACCOUNTS).await?;
    println!(
        "  server RSS {rss_start} KiB at start, {} KiB after {IDLE_ACCOUNTS} sign-ups and sign-ins",
        server.rss_kib()?
    );

    if phases.contains('1') {
        let wanted: usize = env_num("HEARTH_BENCH_CONNECTIONS", 10_000);
        let fit = nofile.saturating_sub(SPARE_FDS) as usize;
        let n = wanted.min(fit);
        println!("Phase 1: {n} idle connections over {IDLE_ACCOUNTS} accounts");
        if n < wanted {
            println!("  (lowered from {wanted}: the hard RLIMIT_NOFILE is {nofile})");
        }
        match idle_phase(&server, &accounts, n).await {
            Ok(idle) => {
                let per_conn = idle.growth_kib as f64 / idle.held.max(1) as f64;
                println!(
                    "  held {}/{} (failed to open {}, dropped while idle {}), opened in {:.1} s ({:.0}/s)",
                    idle.held,
                    n,
                    idle.failed,
                    idle.dropped,
                    idle.connect_secs,
                    idle.opened as f64 / idle.connect_secs
                );
                println!(
                    "  server RSS {} KiB before, {} KiB after settling, {} KiB after {} s idle: {:.1} KiB per connection",
                    idle.rss_before, idle.rss_settled, idle.rss_after, idle.hold_secs, per_conn
                );
                println!(
                    "  server CPU while idle: {:.1}% of one core; RSS once all were closed: {} KiB",
                    idle.idle_cpu_pct, idle.rss_closed
                );
                for line in idle.notes.lines() {
                    println!("  note: {line}");
                }
                let held_goal = idle.held >= 10_000;
                rows.push(Row {
                    phase: "1",
                    backend: "sqlite",
                    metric: "idle connections held".into(),
                    value: format!("{} of {}", idle.held, n),
                    goal: "10,000",
                    verdict: verdict(held_goal),
                });
                rows.push(Row {
                    phase: "1",
                    backend: "sqlite",
                    metric: "server memory per connection".into(),
                    value: format!("{per_conn:.1} KiB"),
                    goal: "< 20 KiB",
                    verdict: verdict(per_conn < 20.0),
                });
                rows.push(Row {
                    phase: "1",
                    backend: "sqlite",
                    metric: "server CPU with all idle".into(),
                    value: format!("{:.1}% of a core", idle.idle_cpu_pct),
                    goal: "",
                    verdict: "",
                });
            }
            Err(e) => {
                println!("  FAILED: {e:#}");
                rows.push(Row {
                    phase: "1",
                    backend: "sqlite",
                    metric: "idle connections".into(),
                    value: format!("failed: {e}"),
                    goal: "",
                    verdict: "FAILED",
                });
            }
        }
    }

    if phases.contains('2') {
        let messages: usize = env_num("HEARTH_BENCH_FANOUT_MESSAGES", 200);
        let rate: f64 = env_num("HEARTH_BENCH_FANOUT_RATE", 100.0_f64).max(0.1);
        println!("Phase 2: fan-out to a group of {members}, {messages} messages at {rate}/s");
        accounts.extend(create_accounts(&http, &server.base, "fan", IDLE_ACCOUNTS..members).await?);
        println!("  server RSS {} KiB after {members} sign-ups in all", server.rss_kib()?);
        match fanout_phase(&server, &http, &accounts, messages, rate).await {
            Ok(fan) => {
                println!(
                    "  {} sockets online in {:.1} s; {} presence frames during sign-on ({:.1} s to settle); {} of {} subscribed",
                    fan.online, fan.connect_secs, fan.presence, fan.settle_secs, fan.subscribed, fan.online
                );
                println!(
                    "  sent {} (acked {}), delivered {} of {} expected in {:.2} s: {:.0} deliveries/s",
                    fan.sent,
                    fan.acked,
                    fan.delivered,
                    fan.expected,
                    fan.window_secs,
                    fan.delivered as f64 / fan.window_secs
                );
                println!(
                    "  post-to-delivery: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; to the last member: p50 {:.2} ms, p99 {:.2} ms",
                    ms(fan.p50), ms(fan.p99), ms(fan.max), ms(fan.all_p50), ms(fan.all_p99)
                );
                println!("  CPU while sending: {}", fan.cpu);
                for line in fan.notes.lines() {
                    println!("  note: {line}");
                }
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: format!("deliveries/s ({} members, {rate}/s)", fan.online),
                    value: format!("{:.0}/s", fan.delivered as f64 / fan.window_secs),
                    goal: "",
                    verdict: "",
                });
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "deliveries received / expected".into(),
                    value: format!("{} / {}", fan.delivered, fan.expected),
                    goal: "all",
                    verdict: verdict(fan.delivered == fan.expected && fan.expected > 0),
                });
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "post-to-delivery p50 / p99".into(),
                    value: format!("{:.2} / {:.2} ms", ms(fan.p50), ms(fan.p99)),
                    goal: "p99 < 50 ms",
                    verdict: verdict(fan.p99 < 50_000 && fan.delivered > 0),
                });
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "post-to-delivery max".into(),
                    value: format!("{:.2} ms", ms(fan.max)),
                    goal: "",
                    verdict: "",
                });
                println!(
                    "  reactions: {} sent, {} of {} delivered; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                    fan.reactions_sent,
                    fan.reactions_delivered,
                    fan.reactions_sent * fan.subscribed,
                    ms(fan.reaction_p50),
                    ms(fan.reaction_p99),
                    ms(fan.reaction_max)
                );
                let all_reactions =
                    fan.reactions_sent > 0 && fan.reactions_delivered == fan.reactions_sent * fan.subscribed;
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "reaction deliveries received / expected".into(),
                    value: format!("{} / {}", fan.reactions_delivered, fan.reactions_sent * fan.subscribed),
                    goal: "all",
                    verdict: verdict(all_reactions),
                });
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "reaction-to-delivery p50 / p99".into(),
                    value: format!("{:.2} / {:.2} ms", ms(fan.reaction_p50), ms(fan.reaction_p99)),
                    goal: "p99 <= 50 ms",
                    verdict: verdict(all_reactions && fan.reaction_p99 <= 50_000),
                });
            }
            Err(e) => {
                println!("  FAILED: {e:#}");
                rows.push(Row {
                    phase: "2",
                    backend: "sqlite",
                    metric: "fan-out".into(),
                    value: format!("failed: {e}"),
                    goal: "",
                    verdict: "FAILED",
                });
            }
        }
    }
    report_server_log(&server);
    Ok(())
}

fn report_server_log(server: &Server) {
    let problems = server.problems();
    if problems.is_empty() {
        println!("  server log: no warnings or errors");
    } else {
        println!("  server log: {} warning/error lines, first ones:", problems.len());
        for line in problems.iter().take(8) {
            println!("    {}", line.chars().take(300).collect::<String>());
        }
    }
}

struct Idle {
    opened: usize,
    held: usize,
    failed: usize,
    dropped: usize,
    connect_secs: f64,
    rss_before: u64,
    rss_settled: u64,
    rss_after: u64,
    rss_closed: u64,
    growth_kib: u64,
    hold_secs: u64,
    idle_cpu_pct: f64,
    notes: Notes,
}

#[derive(Default)]
struct IdleCounters {
    attempted: AtomicUsize,
    opened: AtomicUsize,
    failed: AtomicUsize,
    dropped: AtomicUsize,
}

async fn idle_phase(server: &Server, accounts: &[Account], n: usize) -> anyhow::Result<Idle> {
    // 35 s: a little more than one round of the sockets' 30-second session checks.
    let hold_secs: u64 = env_num("HEARTH_BENCH_IDLE_HOLD_SECS", 35);
    // Warm up: one socket per account, then closed, so the baseline has the server's pools and
    // first-use allocations in it.
    let mut warm = Vec::new();
    for account in accounts {
        warm.push(open_socket(&server.ws_url, &account.token).await?.0);
    }
    drop(warm);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_before = server.rss_kib()?;

    let counters = Arc::new(IdleCounters::default());
    let notes = Arc::new(Notes::default());
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (url, token) = (server.ws_url.clone(), accounts[i % accounts.len()].token.clone());
        let (counters, notes, stop, gate) = (counters.clone(), notes.clone(), stop.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            let opened = tokio::time::timeout(Duration::from_secs(30), open_socket(&url, &token)).await;
            drop(permit);
            let mut ws = match opened {
                Ok(Ok((ws, _))) => ws,
                Ok(Err(e)) => {
                    notes.add(format!("open failed: {e}"));
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    counters.attempted.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(_) => {
                    notes.add("open timed out (30 s)");
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    counters.attempted.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            };
            counters.opened.fetch_add(1, Ordering::Relaxed);
            counters.attempted.fetch_add(1, Ordering::Relaxed);
            loop {
                tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    next = ws.next() => match next {
                        Some(Ok(Message::Close(frame))) => {
                            notes.add(format!("closed by the server while idle: {}", describe_close(frame)));
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Some(Ok(_)) => continue,
                        Some(Err(e)) => {
                            notes.add(format!("socket failed while idle: {e}"));
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        None => {
                            notes.add("socket ended while idle");
                            counters.dropped.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }));
    }
    let limit = Duration::from_secs(60 + n as u64 / 50);
    let all_tried = wait_until(limit, || counters.attempted.load(Ordering::Relaxed) >= n).await;
    let connect_secs = started.elapsed().as_secs_f64();
    if !all_tried {
        notes.add(format!(
            "only {} of {n} opening attempts finished within {limit:?}",
            counters.attempted.load(Ordering::Relaxed)
        ));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_settled = server.rss_kib()?;
    let cpu_before = server.cpu_secs();
    let held_from = Instant::now();
    tokio::time::sleep(Duration::from_secs(hold_secs)).await;
    let idle_cpu_pct = (server.cpu_secs() - cpu_before) / held_from.elapsed().as_secs_f64() * 100.0;
    let rss_after = server.rss_kib()?;
    let opened = counters.opened.load(Ordering::Relaxed);
    let dropped = counters.dropped.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);

    stop.cancel();
    let closing = futures_util::future::join_all(tasks);
    if tokio::time::timeout(Duration::from_secs(60), closing).await.is_err() {
        notes.add("client tasks did not end within 60 s of the stop");
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_closed = server.rss_kib()?;
    let notes = Arc::try_unwrap(notes).unwrap_or_default();
    Ok(Idle {
        opened,
        held: opened - dropped,
        failed,
        dropped,
        connect_secs,
        rss_before,
        rss_settled,
        rss_after,
        rss_closed,
        growth_kib: rss_after.max(rss_settled).saturating_sub(rss_before),
        hold_secs,
        idle_cpu_pct,
        notes,
    })
}

/// The two fields a fan-out receiver reads, borrowed from the frame (cheaper than a `Value`).
#[derive(serde::Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type", borrow)]
    kind: std::borrow::Cow<'a, str>,
    #[serde(default, borrow)]
    message: Option<std::borrow::Cow<'a, str>>,
}

struct FanOut {
    online: usize,
    subscribed: usize,
    connect_secs: f64,
    presence: usize,
    settle_secs: f64,
    sent: usize,
    acked: usize,
    delivered: usize,
    expected: usize,
    window_secs: f64,
    p50: u64,
    p99: u64,
    max: u64,
    all_p50: u64,
    all_p99: u64,
    cpu: String,
    /// Reactions toggled on one message of the group, and their `reaction_changed` deliveries.
    reactions_sent: usize,
    reactions_delivered: usize,
    reaction_p50: u64,
    reaction_p99: u64,
    reaction_max: u64,
    notes: Notes,
}

#[derive(Default)]
struct FanCounters {
    online: AtomicUsize,
    tried: AtomicUsize,
    warm: AtomicUsize,
    delivered: AtomicUsize,
    presence: AtomicUsize,
    last_delivery_us: AtomicU64,
    reactions_delivered: AtomicUsize,
}

async fn fanout_phase(
    server: &Server,
    http: &reqwest::Client,
    accounts: &[Account],
    messages: usize,
    rate: f64,
) -> anyhow::Result<FanOut> {
    let names: Vec<&str> = accounts[1..].iter().map(|a| a.name.as_str()).collect();
    let body = json!({"session_token": accounts[0].token, "name": "bench fan-out", "members": names});
    let (status, reply) = post(http, &format!("{}/chat/create-group", server.base), body).await?;
    ensure!(status == 201, "create-group: {status} {reply}");
    let chat_id = reply["chatID"].as_i64().context("chatID")?;

    let reactions: usize = env_num("HEARTH_BENCH_FANOUT_REACTIONS", 200);
    // When the sender sent reaction k, by the clock every receiver reads: the k-th
    // `reaction_changed` a receiver gets answers the k-th reaction (one sender, one chat, in order).
    let reaction_sent: Arc<Vec<AtomicU64>> = Arc::new((0..reactions).map(|_| AtomicU64::new(0)).collect());
    let counters = Arc::new(FanCounters::default());
    let notes = Arc::new(Notes::default());
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(CONNECT_CONCURRENCY));
    let started = Instant::now();
    let mut receivers = Vec::new();
    for account in accounts {
        let (url, token) = (server.ws_url.clone(), account.token.clone());
        let (counters, notes, stop, gate) = (counters.clone(), notes.clone(), stop.clone(), gate.clone());
        let reaction_sent = reaction_sent.clone();
        receivers.push(tokio::spawn(async move {
            let mut seen: Vec<(u32, u32)> = Vec::new();
            let mut reacted: Vec<u32> = Vec::new();
            let permit = gate.acquire_owned().await;
            let opened = async {
                let (mut ws, _) = open_socket(&url, &token).await?;
                send_json(&mut ws, json!({"type": "join_chat", "chatID": chat_id})).await?;
                anyhow::Ok(ws)
            };
            let opened = tokio::time::timeout(Duration::from_secs(30), opened).await;
            drop(permit);
            counters.tried.fetch_add(1, Ordering::Relaxed);
            let mut ws = match opened {
                Ok(Ok(ws)) => ws,
                Ok(Err(e)) => {
                    notes.add(format!("receiver failed to open: {e}"));
                    return (seen, reacted);
                }
                Err(_) => {
                    notes.add("receiver open timed out");
                    return (seen, reacted);
                }
            };
            counters.online.fetch_add(1, Ordering::Relaxed);
            let mut warmed = false;
            loop {
                let next = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    next = ws.next() => next,
                };
                let text = match next {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        notes.add(format!("receiver closed by the server: {}", describe_close(frame)));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        notes.add(format!("receiver socket failed: {e}"));
                        break;
                    }
                    None => {
                        notes.add("receiver socket ended");
                        break;
                    }
                };
                let at = now_us();
                let Ok(frame) = serde_json::from_str::<Incoming>(&text) else {
                    notes.add("receiver got a frame it could not read");
                    continue;
                };
                match &*frame.kind {
                    "new_message" => {
                        let body = frame.message.as_deref().unwrap_or_default();
                        if body.starts_with("warm") {
                            if !warmed {
                                warmed = true;
                                counters.warm.fetch_add(1, Ordering::Relaxed);
                            }
                        } else if let Some(rest) = body.strip_prefix("fan ") {
                            let mut parts = rest.split(' ');
                            let seq: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(u32::MAX);
                            let sent: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(at);
                            seen.push((seq, at.saturating_sub(sent) as u32));
                            counters.delivered.fetch_add(1, Ordering::Relaxed);
                            counters.last_delivery_us.fetch_max(at, Ordering::Relaxed);
                        }
                    }
                    "reaction_changed" => {
                        let sent = reaction_sent.get(reacted.len()).map_or(0, |t| t.load(Ordering::Relaxed));
                        reacted.push(at.saturating_sub(sent) as u32);
                        counters.reactions_delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    "user_status" => {
                        counters.presence.fetch_add(1, Ordering::Relaxed);
                    }
                    "error" => notes.add(format!("receiver got error: {:?}", frame.message)),
                    _ => {}
                }
            }
            (seen, reacted)
        }));
    }
    let n = accounts.len();
    let all_tried = wait_until(Duration::from_secs(180), || counters.tried.load(Ordering::Relaxed) >= n).await;
    let connect_secs = started.elapsed().as_secs_f64();
    if !all_tried {
        notes.add("not every receiver finished opening within 180 s");
    }
    let online = counters.online.load(Ordering::Relaxed);
    // Each member coming online tells every online member: let that storm pass first.
    let settling = Instant::now();
    let mut last = usize::MAX;
    while settling.elapsed() < Duration::from_secs(60) {
        let now = counters.presence.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let settle_secs = settling.elapsed().as_secs_f64();
    let presence = counters.presence.load(Ordering::Relaxed);

    // The sender: one more socket of the group's creator, not in the chat; it reads its acks.
    let (ws, _) = open_socket(&server.ws_url, &accounts[0].token).await?;
    let (mut sink, mut stream) = ws.split();
    let acked = Arc::new(AtomicUsize::new(0));
    // The first warm-up message: the one the reactions go on.
    let reacted_message = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let ack_reader = {
        let (acked, notes, stop) = (acked.clone(), notes.clone(), stop.clone());
        let reacted_message = reacted_message.clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    next = stream.next() => next,
                };
                match next {
                    Some(Ok(Message::Text(text))) => {
                        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                        match frame["type"].as_str().unwrap_or_default() {
                            "ack" if frame["nonce"].as_str().is_some_and(|n| n.starts_with('f')) => {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                            "ack" if frame["nonce"] == "warm0" => {
                                reacted_message.store(frame["messageID"].as_i64().unwrap_or(0), Ordering::Relaxed);
                            }
                            "error" => notes.add(format!("sender got error: {}", frame["message"])),
                            _ => {}
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        notes.add(format!("sender closed by the server: {}", describe_close(frame)));
                        break;
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        notes.add("sender socket ended");
                        break;
                    }
                }
            }
        })
    };
    let post_frame = |text: String, nonce: String| {
        Message::text(json!({"type": "post_msg", "chatID": chat_id, "text": text, "nonce": nonce}).to_string())
    };

    // Warm-up messages until every receiver has seen one: proves the subscriptions are in place.
    for round in 0..5 {
        sink.send(post_frame(format!("warm {round}"), format!("warm{round}"))).await?;
        if wait_until(Duration::from_secs(3), || counters.warm.load(Ordering::Relaxed) >= online).await {
            break;
        }
    }
    let subscribed = counters.warm.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(300)).await;

    let cpu = CpuWindow::start(server);
    let first_send_us = now_us();
    let start = tokio::time::Instant::now();
    let mut sent = 0;
    for i in 0..messages {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        sink.send(post_frame(format!("fan {i} {}", now_us()), format!("f{i}"))).await?;
        sent += 1;
    }
    let expected = sent * subscribed;
    let complete = wait_until(Duration::from_secs(15), || counters.delivered.load(Ordering::Relaxed) >= expected).await;
    if !complete {
        notes.add(format!(
            "deliveries still missing 15 s after the last post: {}",
            expected.saturating_sub(counters.delivered.load(Ordering::Relaxed))
        ));
    }
    let last_delivery_us = counters.last_delivery_us.load(Ordering::Relaxed);
    let window_secs = (last_delivery_us.saturating_sub(first_send_us) as f64 / 1e6).max(1e-3);
    let cpu = cpu.describe();
    wait_until(Duration::from_secs(5), || acked.load(Ordering::Relaxed) >= sent).await;

    // Reactions at the same rate, on and off again on one message: every one is a change, so
    // every one reaches every member (only the frame's size differs from a new message's).
    let message_id = reacted_message.load(Ordering::Relaxed);
    let mut reactions_sent = 0;
    if message_id > 0 && reactions > 0 {
        let start = tokio::time::Instant::now();
        for (k, sent_at) in reaction_sent.iter().enumerate() {
            tokio::time::sleep_until(start + Duration::from_secs_f64(k as f64 / rate)).await;
            let kind = if k % 2 == 0 { "add_reaction" } else { "remove_reaction" };
            let frame = json!({"type": kind, "chatID": chat_id, "messageID": message_id, "emoji": "👍"});
            sent_at.store(now_us(), Ordering::Relaxed);
            sink.send(Message::text(frame.to_string())).await?;
            reactions_sent += 1;
        }
        let expected = reactions_sent * subscribed;
        let done =
            wait_until(Duration::from_secs(15), || counters.reactions_delivered.load(Ordering::Relaxed) >= expected)
                .await;
        if !done {
            notes.add(format!(
                "reaction deliveries missing 15 s after the last: {} (a build without reactions delivers none)",
                expected.saturating_sub(counters.reactions_delivered.load(Ordering::Relaxed))
            ));
        }
    } else {
        notes.add("no id for the warm-up message: reactions not measured");
    }

    stop.cancel();
    let _ = sink.close().await;
    let _ = ack_reader.await;
    let mut latencies = Vec::new();
    let mut slowest = vec![0u64; messages];
    let mut reaction_latencies = Vec::new();
    let joined = tokio::time::timeout(Duration::from_secs(60), futures_util::future::join_all(receivers)).await;
    for (seen, reacted) in joined.context("receivers did not stop within 60 s")?.into_iter().flatten() {
        reaction_latencies.extend(reacted.into_iter().map(u64::from));
        for (seq, latency) in seen {
            latencies.push(u64::from(latency));
            if let Some(slot) = slowest.get_mut(seq as usize) {
                *slot = (*slot).max(u64::from(latency));
            }
        }
    }
    latencies.sort_unstable();
    slowest.sort_unstable();
    reaction_latencies.sort_unstable();
    let delivered = latencies.len();
    let acked = acked.load(Ordering::Relaxed);
    let notes = Arc::try_unwrap(notes).unwrap_or_default();
    Ok(FanOut {
        online,
        subscribed,
        connect_secs,
        presence,
        settle_secs,
        sent,
        acked,
        delivered,
        expected,
        window_secs,
        p50: percentile(&latencies, 0.50),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        all_p50: percentile(&slowest, 0.50),
        all_p99: percentile(&slowest, 0.99),
        cpu,
        reactions_sent,
        reactions_delivered: reaction_latencies.len(),
        reaction_p50: percentile(&reaction_latencies, 0.50),
        reaction_p99: percentile(&reaction_latencies, 0.99),
        reaction_max: reaction_latencies.last().copied().unwrap_or_default(),
        notes,
    })
}

// ---------------------------------------------------------------------------------------------
// Phase 3: stored messages per second

#[derive(Default)]
struct WriteCounters {
    sent: AtomicUsize,
    acked: AtomicUsize,
    refused: AtomicUsize,
    delivered: AtomicUsize,
    last_ack_us: AtomicU64,
}

async fn throughput(build: &Build, backend: Backend, name: &'static str, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let writers: usize = env_num("HEARTH_BENCH_WRITERS", 16usize).max(2).div_ceil(2) * 2;
    let secs: u64 = env_num("HEARTH_BENCH_SECS", 5);
    println!(
        "Phase 3 ({name}): {writers} sockets in {} 2-person chats, {IN_FLIGHT} posts in flight each, {secs} s",
        writers / 2
    );
    let server = Server::start(build, backend, "bench-live").await?;
    let http = reqwest::Client::new();
    let accounts = create_accounts(&http, &server.base, "tp", 0..writers).await?;
    let mut chats = Vec::new();
    for pair in accounts.chunks(2) {
        let body = json!({"session_token": pair[0].token, "receiver": pair[1].name});
        let (status, reply) = post(&http, &format!("{}/chat/create-chat", server.base), body).await?;
        ensure!(status == 201, "create-chat: {status} {reply}");
        chats.push(reply["chatID"].as_i64().context("chatID")?);
    }

    let counters = Arc::new(WriteCounters::default());
    let notes = Arc::new(Notes::default());
    let stop = CancellationToken::new();
    let mut sockets = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        let (mut ws, _) = open_socket(&server.ws_url, &account.token).await?;
        send_json(&mut ws, json!({"type": "join_chat", "chatID": chats[i / 2]})).await?;
        sockets.push(ws);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;

    let cpu = CpuWindow::start(&server);
    let start_us = now_us();
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut writer_tasks = Vec::new();
    let mut reader_tasks = Vec::new();
    for (w, ws) in sockets.into_iter().enumerate() {
        let chat_id = chats[w / 2];
        let (mut sink, mut stream) = ws.split();
        let window = Arc::new(Semaphore::new(IN_FLIGHT));
        let latencies: Vec<u64> = Vec::new();
        {
            let (window, counters, notes) = (window.clone(), counters.clone(), notes.clone());
            writer_tasks.push(tokio::spawn(async move {
                let mut seq = 0u64;
                while Instant::now() < deadline {
                    let Ok(permit) = window.acquire().await else { break };
                    permit.forget();
                    if Instant::now() >= deadline {
                        break;
                    }
                    let frame = json!({"type": "post_msg", "chatID": chat_id, "text": format!("tp {w} {seq}"), "nonce": format!("w{w}-{seq}-{}", now_us())});
                    if let Err(e) = sink.send(Message::text(frame.to_string())).await {
                        notes.add(format!("writer send failed: {e}"));
                        break;
                    }
                    counters.sent.fetch_add(1, Ordering::Relaxed);
                    seq += 1;
                }
                sink
            }));
        }
        let (counters, notes, stop) = (counters.clone(), notes.clone(), stop.clone());
        reader_tasks.push(tokio::spawn(async move {
            let mut latencies = latencies;
            loop {
                let next = tokio::select! {
                    biased;
                    _ = stop.cancelled() => break,
                    next = stream.next() => next,
                };
                let text = match next {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        notes.add(format!("writer closed by the server: {}", describe_close(frame)));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(e)) => {
                        notes.add(format!("writer socket failed: {e}"));
                        break;
                    }
                    None => {
                        notes.add("writer socket ended");
                        break;
                    }
                };
                let at = now_us();
                let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                match frame["type"].as_str().unwrap_or_default() {
                    "ack" => {
                        let sent = frame["nonce"]
                            .as_str()
                            .and_then(|n| n.rsplit('-').next())
                            .and_then(|t| t.parse::<u64>().ok());
                        latencies.push(at.saturating_sub(sent.unwrap_or(at)));
                        counters.acked.fetch_add(1, Ordering::Relaxed);
                        counters.last_ack_us.fetch_max(at, Ordering::Relaxed);
                        window.add_permits(1);
                    }
                    "error" => {
                        notes.add(format!("post refused: {}", frame["message"]));
                        counters.refused.fetch_add(1, Ordering::Relaxed);
                        window.add_permits(1);
                    }
                    "new_message" => {
                        counters.delivered.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                }
            }
            latencies
        }));
    }
    let mut sinks = Vec::new();
    for task in writer_tasks {
        sinks.push(task.await?);
    }
    let sent = counters.sent.load(Ordering::Relaxed);
    let answered = wait_until(Duration::from_secs(30), || {
        counters.acked.load(Ordering::Relaxed) + counters.refused.load(Ordering::Relaxed) >= sent
    })
    .await;
    if !answered {
        notes.add("posts still unanswered 30 s after the end");
    }
    let acked = counters.acked.load(Ordering::Relaxed);
    let window_secs = (counters.last_ack_us.load(Ordering::Relaxed).saturating_sub(start_us) as f64 / 1e6).max(1e-3);
    let cpu = cpu.describe();
    // Each post goes live to both members of its chat.
    wait_until(Duration::from_secs(5), || counters.delivered.load(Ordering::Relaxed) >= 2 * acked).await;
    stop.cancel();
    let mut latencies = Vec::new();
    for task in reader_tasks {
        latencies.extend(task.await?);
    }
    for mut sink in sinks {
        let _ = sink.close().await;
    }
    latencies.sort_unstable();

    // Cross-check: page through every chat with `after` and count the benchmark's messages.
    let mut stored = 0;
    for (i, chat_id) in chats.iter().enumerate() {
        let token = &accounts[2 * i].token;
        let mut after = 0i64;
        for _page in 0..100_000 {
            let body = json!({"session_token": token, "chatID": chat_id, "limit": 200, "after": after});
            let (status, reply) = post(&http, &format!("{}/chat/messages", server.base), body).await?;
            ensure!(status == 200, "/chat/messages: {status} {reply}");
            let page = reply["messages"].as_array().context("messages")?;
            for message in page {
                let id = message["messageID"].as_i64().context("messageID")?;
                ensure!(id > after, "/chat/messages went backwards ({id} after {after})");
                after = id;
                if message["message"].as_str().unwrap_or_default().starts_with("tp ") {
                    stored += 1;
                }
            }
            if page.len() < 200 {
                break;
            }
        }
    }
    let per_sec = acked as f64 / window_secs;
    let delivered = counters.delivered.load(Ordering::Relaxed);
    println!(
        "  {acked} acked of {sent} posted ({} refused) in {window_secs:.2} s: {per_sec:.0} messages/s; {stored} found by /chat/messages",
        counters.refused.load(Ordering::Relaxed)
    );
    println!(
        "  ack latency p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; live copies {delivered} of {}\n  CPU while posting: {cpu}",
        ms(percentile(&latencies, 0.50)),
        ms(percentile(&latencies, 0.99)),
        ms(latencies.last().copied().unwrap_or_default()),
        2 * acked
    );
    for line in notes.lines() {
        println!("  note: {line}");
    }
    report_server_log(&server);
    let goal = if backend == Backend::Sqlite { "5,000/s" } else { "" };
    let verdict_text = if backend == Backend::Sqlite { verdict(per_sec >= 5000.0) } else { "" };
    rows.push(Row {
        phase: "3",
        backend: name,
        metric: format!("stored messages/s ({writers} sockets)"),
        value: format!("{per_sec:.0}/s"),
        goal,
        verdict: verdict_text,
    });
    rows.push(Row {
        phase: "3",
        backend: name,
        metric: "acked / found by /chat/messages".into(),
        value: format!("{acked} / {stored}"),
        goal: "equal",
        verdict: verdict(acked == stored && notes.is_empty()),
    });
    rows.push(Row {
        phase: "3",
        backend: name,
        metric: "ack latency p50 / p99".into(),
        value: format!("{:.2} / {:.2} ms", ms(percentile(&latencies, 0.50)), ms(percentile(&latencies, 0.99))),
        goal: "",
        verdict: "",
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phase 4: a page of history with replies and reactions

/// Messages in the chat whose latest page is read.
const HISTORY_MESSAGES: usize = 300;
const HISTORY_PAGE: i64 = 50;

async fn history_page(build: &Build, backend: Backend, name: &'static str, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let reads: usize = env_num("HEARTH_BENCH_HISTORY_READS", 1000);
    println!(
        "Phase 4 ({name}): {HISTORY_MESSAGES} messages, every other one a reply, the latest 100 with 3 reactions each; \
         {reads} reads of the latest {HISTORY_PAGE}, one at a time"
    );
    let server = Server::start(build, backend, "bench-history").await?;
    let http = reqwest::Client::new();
    let accounts = create_accounts(&http, &server.base, "hist", 0..3).await?;
    let names: Vec<&str> = accounts[1..].iter().map(|a| a.name.as_str()).collect();
    let body = json!({"session_token": accounts[0].token, "name": "history", "members": names});
    let (status, reply) = post(&http, &format!("{}/chat/create-group", server.base), body).await?;
    ensure!(status == 201, "create-group: {status} {reply}");
    let chat_id = reply["chatID"].as_i64().context("chatID")?;

    // A build without replies or reactions ignores `reply_to` and has no reaction route: its
    // page is the same 50 messages without them, which is the "today" the goal compares with.
    let mut ids: Vec<i64> = Vec::new();
    for i in 0..HISTORY_MESSAGES {
        let author = &accounts[i % accounts.len()];
        let reply_to = (i % 2 == 1).then(|| ids[i / 2]);
        let text = format!("message {i}: the quick brown fox jumps over the lazy dog, again and again");
        let body = json!({"session_token": author.token, "chatID": chat_id, "text": text, "reply_to": reply_to});
        let (status, reply) = post(&http, &format!("{}/chat/post-message", server.base), body).await?;
        ensure!(status == 201, "post-message: {status} {reply}");
        ids.push(reply["messageID"].as_i64().context("messageID")?);
    }
    let mut reactions = 0;
    for &message_id in &ids[ids.len() - 100..] {
        for (account, emoji) in accounts.iter().zip(["👍", "🎉", "❤️"]) {
            let body =
                json!({"session_token": account.token, "chatID": chat_id, "messageID": message_id, "emoji": emoji});
            let (status, _) = post(&http, &format!("{}/chat/add-reaction", server.base), body).await?;
            reactions += usize::from(status == 200);
        }
    }
    let url = format!("{}/chat/messages", server.base);
    let body = json!({"session_token": accounts[1].token, "chatID": chat_id, "limit": HISTORY_PAGE});
    let (status, page) = post(&http, &url, body.clone()).await?;
    ensure!(status == 200, "/chat/messages: {status} {page}");
    let shown = page["messages"].as_array().context("messages")?;
    let with_replies = shown.iter().filter(|m| m.get("reply_to").is_some()).count();
    let with_reactions = shown.iter().filter(|m| m.get("reactions").is_some()).count();
    println!(
        "  {reactions} reactions stored; the page shows {} messages, {with_replies} with a quote, {with_reactions} with reactions",
        shown.len()
    );
    for _ in 0..20 {
        post(&http, &url, body.clone()).await?;
    }
    let cpu = CpuWindow::start(&server);
    let mut latencies = Vec::with_capacity(reads);
    for _ in 0..reads {
        let started = now_us();
        let (status, _) = post(&http, &url, body.clone()).await?;
        ensure!(status == 200, "/chat/messages: {status}");
        latencies.push(now_us() - started);
    }
    latencies.sort_unstable();
    let (p50, p99) = (percentile(&latencies, 0.50), percentile(&latencies, 0.99));
    println!("  page of {HISTORY_PAGE}: p50 {:.2} ms, p99 {:.2} ms; CPU {}", ms(p50), ms(p99), cpu.describe());
    rows.push(Row {
        phase: "4",
        backend: name,
        metric: format!("page of {HISTORY_PAGE}: quotes / reactions shown"),
        value: format!("{with_replies} / {with_reactions}"),
        goal: "",
        verdict: "",
    });
    rows.push(Row {
        phase: "4",
        backend: name,
        metric: format!("page of {HISTORY_PAGE}: p50 / p99"),
        value: format!("{:.2} / {:.2} ms", ms(p50), ms(p99)),
        goal: "<= 2x before",
        verdict: "",
    });
    Ok(())
}
