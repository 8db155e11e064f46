//! Benchmark: sign-in and token-refresh throughput and latency over real HTTP, on SQLite and
//! PostgreSQL, plus how alike the unknown-user and wrong-password answers are in time.
//! `cargo bench -p server --bench auth` (HEARTH_BENCH_SECS sets each phase's length, default 5;
//! HEARTH_BENCH_BACKENDS=sqlite limits the backends). The client runs in the same process and
//! shares the machine's cores with the server, so the figures are a floor.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hearth::config::{EmailVerification, ServeArgs};
use hearth::startup;
use hearth::testing::{fresh_database, scratch_dir, Backend};
use serde_json::{json, Value};

const PASSWORD: &str = "Bench-passw0rd";
const LOGIN_WORKERS: usize = 8;
const REFRESH_WORKERS: usize = 16;

fn main() -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let seconds: u64 = std::env::var("HEARTH_BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    let wanted = std::env::var("HEARTH_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if wanted.contains(&format!("{backend:?}").to_lowercase()) {
            runtime.block_on(bench(backend, Duration::from_secs(seconds)))?;
        }
    }
    Ok(())
}

struct Stats {
    count: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
}

impl Stats {
    fn report(&mut self, label: &str) {
        self.latencies.sort();
        let at = |q: f64| {
            self.latencies.get(((self.latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or_default()
        };
        println!(
            "  {label:<28} {:>8.0} req/s   p50 {:>7.2} ms   p99 {:>7.2} ms   ({} requests)",
            self.count as f64 / self.elapsed.as_secs_f64(),
            at(0.50).as_secs_f64() * 1e3,
            at(0.99).as_secs_f64() * 1e3,
            self.count
        );
    }
}

async fn post(client: &reqwest::Client, url: &str, body: Value) -> anyhow::Result<(u16, Value)> {
    let response = client.post(url).json(&body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

async fn bench(backend: Backend, phase: Duration) -> anyhow::Result<()> {
    let scratch = scratch_dir("bench");
    let mut config = ServeArgs::defaults();
    config.addr = "127.0.0.1:0".parse()?;
    config.storage.data_dir = scratch.clone();
    config.storage.database_url = Some(fresh_database(backend, &scratch).await?);
    config.email_verification = EmailVerification::Off;
    config.jwt_secret = Some("bench-secret-bench-secret-bench-secret-01".into());
    config.auth_limit_per_ip = u32::MAX;
    config.auth_limit_per_account = u32::MAX;
    let server = startup::start(&config).await?;
    let base = format!("http://{}", server.addr);
    let client = reqwest::Client::new();
    println!("{backend:?} ({phase:?} per phase)");

    for i in 0..REFRESH_WORKERS {
        let body =
            json!({"username": format!("user{i}"), "password": PASSWORD, "email": format!("user{i}@example.org")});
        let (status, reply) = post(&client, &format!("{base}/user/register"), body).await?;
        anyhow::ensure!(status == 201, "register: {reply}");
    }

    // Sign-in: bound by argon2id (19 MiB, t=2) on the blocking pool.
    let login_url = format!("{base}/user/login");
    let login_client = client.clone();
    let stats = run_workers(LOGIN_WORKERS, phase, move |i| {
        let (client, url) = (login_client.clone(), login_url.clone());
        async move {
            let (status, _) =
                post(&client, &url, json!({"username": format!("user{i}"), "password": PASSWORD})).await?;
            anyhow::ensure!(status == 200, "login answered {status}");
            Ok(())
        }
    })
    .await?;
    stats.lock().expect("stats").report("POST /user/login");

    // Refresh: each worker follows its own chain of rotating tokens.
    let chains = Arc::new(std::sync::Mutex::new(Vec::new()));
    for i in 0..REFRESH_WORKERS {
        let (_, reply) =
            post(&client, &format!("{base}/user/login"), json!({"username": format!("user{i}"), "password": PASSWORD}))
                .await?;
        chains.lock().expect("chains").push(reply["refresh_token"].as_str().unwrap_or_default().to_string());
    }
    let refresh_url = format!("{base}/user/refresh-token");
    let refresh_client = client.clone();
    let stats = run_workers(REFRESH_WORKERS, phase, move |i| {
        let (client, url, chains) = (refresh_client.clone(), refresh_url.clone(), chains.clone());
        async move {
            let token = chains.lock().expect("chains")[i].clone();
            let (status, reply) = post(&client, &url, json!({"refresh_token": token})).await?;
            anyhow::ensure!(status == 200, "refresh answered {status}: {reply}");
            chains.lock().expect("chains")[i] = reply["refresh_token"].as_str().unwrap_or_default().to_string();
            Ok(())
        }
    })
    .await?;
    stats.lock().expect("stats").report("POST /user/refresh-token");

    // Unknown user vs wrong password: one at a time, so only the server's work is compared.
    for (label, username, password) in
        [("unknown user", "nobody", PASSWORD), ("wrong password", "user0", "Wrong-passw0rd")]
    {
        let mut latencies = Vec::new();
        for _ in 0..40 {
            let started = Instant::now();
            let (status, _) =
                post(&client, &format!("{base}/user/login"), json!({"username": username, "password": password}))
                    .await?;
            anyhow::ensure!(status == 400, "failed login answered {status}");
            latencies.push(started.elapsed());
        }
        latencies.sort();
        println!("  failed login, {label:<15} median {:>7.2} ms", latencies[latencies.len() / 2].as_secs_f64() * 1e3);
    }
    server.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}

/// Runs `workers` loops of `request(worker)` for `phase`, timing each request.
async fn run_workers<F, Fut>(
    workers: usize,
    phase: Duration,
    request: F,
) -> anyhow::Result<Arc<std::sync::Mutex<Stats>>>
where
    F: Fn(usize) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let stats = Arc::new(std::sync::Mutex::new(Stats { count: 0, elapsed: phase, latencies: Vec::new() }));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for worker in 0..workers {
        let (request, stats) = (request.clone(), stats.clone());
        tasks.push(tokio::spawn(async move {
            while started.elapsed() < phase {
                let sent = Instant::now();
                request(worker).await?;
                let mut stats = stats.lock().expect("stats");
                stats.count += 1;
                stats.latencies.push(sent.elapsed());
            }
            anyhow::Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    stats.lock().expect("stats").elapsed = started.elapsed();
    Ok(stats)
}
