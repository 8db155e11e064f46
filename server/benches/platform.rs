//! Benchmark: the platform routes of a `hearth serve` process started for the run (its own
//! process, on loopback, like `live.rs`), on SQLite and PostgreSQL:
//!  1. Search: a few accounts and HEARTH_BENCH_CHATS (default 100) groups made through the HTTP
//!     API, the searching account a member of half of them; then HEARTH_BENCH_MESSAGES (default
//!     1,000,000) messages written straight into `messages` with sqlx (multi-row INSERTs of 2,500
//!     rows, 20,000 rows a transaction, so the FTS5 triggers / the generated `body_tsv` column
//!     index them as in use) from a fixed vocabulary of 2,000 made-up words drawn Zipf-like (s = 1),
//!     4 to 20 words a message. The load stops at HEARTH_BENCH_LOAD_SECS (default 420) and says how
//!     far it got. PostgreSQL then gets `VACUUM ANALYZE` (the whole database, `chat_members` too,
//!     as autovacuum would by then; without it the planner guesses 6 memberships rather than 50,
//!     runs the GIN scan once per chat, and searches are several times slower). Then
//!     HEARTH_BENCH_SEARCHES (default 200) `GET /api/search?q=` one at a time (after 10
//!     unmeasured ones), mixing rare, medium and common words and two-word queries, at most
//!     HEARTH_BENCH_SEARCH_SECS (default 150): p50/p95/p99/max overall and per kind, and the
//!     message totals found (goal: p95 < 50 ms).
//!  2. Uploads: HEARTH_BENCH_UPLOAD_FILES (default 50) files of HEARTH_BENCH_UPLOAD_MIB (default 1)
//!     MiB each through `POST /api/upload` → `PUT <uploadUrl>` → `POST /api/upload/complete`, from
//!     HEARTH_BENCH_UPLOAD_CLIENTS (default 4) clients at once: MiB/s and files/s.
//!  3. The `/api` rate limiter's cost: `GET /verify-connection` (outside `/api`, so never counted)
//!     against `GET /api/health` anonymous (counted per address) and with a Bearer token (counted
//!     per user, after checking the token's signature), with every limit at u32::MAX so nothing is
//!     refused (the counting is the same whatever the limit; the limiter cannot be switched off).
//!     Counted in memory (the server of phases 1 and 2) and in the database
//!     (HEARTH_RATE_LIMIT_SHARED=database, a fresh server). Per route: requests/s from 8 clients
//!     for HEARTH_BENCH_SECS (default 3), the server's CPU µs per request over that run, and p50
//!     of 1,000 requests one at a time.
//!
//! HEARTH_BENCH_PHASES=3 picks phases; HEARTH_BENCH_BASELINE=<an earlier hearth binary> runs phase
//! 3 on it too, before this build. HEARTH_BENCH_BACKENDS=sqlite limits the backends (PostgreSQL: HEARTH_TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/test; its scratch database is dropped at the end).
//! `cargo bench -p server --bench platform` (builds this and the `hearth` binary in release). The
//! clients share the machine's cores with the server and the database, so the figures are a floor.

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::StreamExt;
use hearth::testing::{Backend, BenchServer as Server};
use serde_json::{json, Value};
use sqlx::Connection;
use support::{builds, env_num, load_average, Build};

const PASSWORD: &str = "Bench-passw0rd";
const VOCABULARY: usize = 2_000;
const ROWS_PER_INSERT: usize = 2_500;
const INSERTS_PER_TRANSACTION: usize = 8;
const RATE_WORKERS: usize = 8;
const SEQUENTIAL_REQUESTS: usize = 1_000;

fn main() -> anyhow::Result<()> {
    // The loads and checks reach either database through sqlx's Any driver.
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    // Everything is bounded; this is the backstop. Dropping a `Server` kills its process.
    let outcome = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(45 * 60), run()).await });
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Ok(result) => result,
        Err(_) => bail!("the benchmark ran out of time (45 min)"),
    }
}

async fn run() -> anyhow::Result<()> {
    let wanted = std::env::var("HEARTH_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!("machine: {} cores, load average {}", cores(), load_average());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if wanted.contains(&format!("{backend:?}").to_lowercase()) {
            bench(backend).await?;
        }
    }
    println!("machine load average at the end: {}", load_average());
    Ok(())
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

async fn bench(backend: Backend) -> anyhow::Result<()> {
    println!("\n== {backend:?} ==");
    let phases = std::env::var("HEARTH_BENCH_PHASES").unwrap_or_else(|_| "1,2,3".into());
    let builds = builds()?;
    let this_build = builds.last().expect("builds() always has this build");
    if phases.contains('1') || phases.contains('2') {
        let server = start_server(this_build, backend, "bench-platform", &[]).await?;
        let outcome = async {
            if phases.contains('1') {
                search_phase(&server, backend).await?;
            }
            if phases.contains('2') {
                upload_phase(&server).await?;
            }
            anyhow::Ok(())
        }
        .await;
        report_problems(&server);
        server.finish().await;
        outcome?;
    }
    if phases.contains('3') {
        // Every build on a fresh server, one after the other, so they see the same machine.
        for (counted_in, env) in
            [("memory", "memory"), ("the database (HEARTH_RATE_LIMIT_SHARED=database)", "database")]
        {
            for build in &builds {
                println!("3. rate limiter, counted in {counted_in}: {} ({})", build.label, build.binary.display());
                let server =
                    start_server(build, backend, "bench-platform-rl", &[("HEARTH_RATE_LIMIT_SHARED", env)]).await?;
                let outcome = rate_phase(&server).await;
                report_problems(&server);
                server.finish().await;
                outcome?;
            }
        }
    }
    Ok(())
}

/// A `hearth` binary in release, large uploads allowed (see BenchServer for the rest).
async fn start_server(
    build: &Build,
    backend: Backend,
    label: &str,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<Server> {
    let upload_max = (64u64 << 20).to_string();
    let mut env = vec![("HEARTH_UPLOAD_MAX_BYTES", upload_max.as_str()), ("HEARTH_RATE_LIMIT_SHARED", "memory")];
    env.extend_from_slice(extra_env);
    Server::start(&build.binary, backend, label, &env).await
}

fn report_problems(server: &Server) {
    let problems = server.node.problems();
    if problems.is_empty() {
        println!("  server log: no warnings or errors");
    } else {
        println!("  server log: {} warnings/errors, the first few:", problems.len());
        for line in problems.iter().take(8) {
            println!("    {}", line.chars().take(400).collect::<String>());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

async fn post(http: &reqwest::Client, url: &str, token: Option<&str>, body: Value) -> anyhow::Result<(u16, Value)> {
    let mut request = http.post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

/// Signs up and signs in `name`; its access token.
async fn account(http: &reqwest::Client, base: &str, name: &str) -> anyhow::Result<String> {
    let body = json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.org")});
    let (status, reply) = post(http, &format!("{base}/user/register"), None, body).await?;
    ensure!(status == 201, "register {name}: {status} {reply}");
    let (status, reply) =
        post(http, &format!("{base}/user/login"), None, json!({"username": name, "password": PASSWORD})).await?;
    ensure!(status == 200, "login {name}: {status} {reply}");
    Ok(reply["access_token"].as_str().context("access_token")?.to_string())
}

async fn create_group(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    name: &str,
    members: &[&str],
) -> anyhow::Result<i64> {
    let (status, reply) =
        post(http, &format!("{base}/chat/create-group"), Some(token), json!({"name": name, "members": members}))
            .await?;
    ensure!(status == 201 || status == 200, "create-group {name}: {status} {reply}");
    reply["chatID"].as_i64().context("chatID")
}

fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

// ---------------------------------------------------------------------------------------------
// Text: a made-up vocabulary drawn Zipf-like, from a fixed seed

/// splitmix64: small, fast and the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Vocabulary {
    /// By rank: `words[0]` is the most frequent.
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Vocabulary {
    fn new() -> Vocabulary {
        const SYLLABLES: [&str; 20] = [
            "ka", "lo", "mi", "ne", "su", "ra", "te", "vo", "di", "pa", "ge", "bu", "zo", "fi", "ha", "ju", "ce", "wy",
            "no", "tri",
        ];
        let mut rng = Rng(7);
        let mut words: Vec<String> = (0..VOCABULARY)
            .map(|i| format!("{}{}{}", SYLLABLES[i % 20], SYLLABLES[(i / 20) % 20], SYLLABLES[(i / 400) % 20]))
            .collect();
        // Shuffled, so frequency has nothing to do with spelling.
        for i in (1..words.len()).rev() {
            words.swap(i, rng.below(i + 1));
        }
        let mut total = 0.0;
        let cumulative = (1..=VOCABULARY)
            .map(|rank| {
                total += 1.0 / rank as f64;
                total
            })
            .collect::<Vec<_>>();
        let cumulative = cumulative.iter().map(|c| c / total).collect();
        Vocabulary { words, cumulative }
    }

    fn draw(&self, rng: &mut Rng) -> &str {
        let u = rng.unit();
        let rank = self.cumulative.partition_point(|&c| c < u).min(VOCABULARY - 1);
        &self.words[rank]
    }

    fn message(&self, rng: &mut Rng) -> String {
        let length = 4 + rng.below(17);
        let mut body = String::with_capacity(length * 7);
        for i in 0..length {
            if i > 0 {
                body.push(' ');
            }
            body.push_str(self.draw(rng));
        }
        body
    }

    /// The share of 12-word messages expected to hold the word of this rank (0-based).
    fn expected_share(&self, rank: usize) -> f64 {
        let p = self.cumulative[rank] - if rank == 0 { 0.0 } else { self.cumulative[rank - 1] };
        1.0 - (1.0 - p).powi(12)
    }
}

// ---------------------------------------------------------------------------------------------
// 1. Search

async fn search_phase(server: &Server, backend: Backend) -> anyhow::Result<()> {
    let total_messages: usize = env_num("HEARTH_BENCH_MESSAGES", 1_000_000);
    let chat_count: usize = env_num("HEARTH_BENCH_CHATS", 100).max(2);
    let load_limit = Duration::from_secs(env_num("HEARTH_BENCH_LOAD_SECS", 420));
    let searches: usize = env_num("HEARTH_BENCH_SEARCHES", 200);
    let search_limit = Duration::from_secs(env_num("HEARTH_BENCH_SEARCH_SECS", 150));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build()?;
    let base = &server.node.base;

    // Accounts and chats through the API: the searcher and a friend share half of the chats; two
    // others have the other half, which the searcher must never see.
    let names = ["searcher", "friend", "other1", "other2"];
    let mut tokens = Vec::new();
    for name in names {
        tokens.push(account(&http, base, name).await?);
    }
    let mut chats = Vec::new();
    for i in 0..chat_count {
        let visible = i % 2 == 0;
        let (token, members) = if visible { (&tokens[0], ["friend"]) } else { (&tokens[2], ["other2"]) };
        let id = create_group(&http, base, token, &format!("bench group {i:03}"), &members).await?;
        chats.push((id, visible));
    }
    let visible_chats = chats.iter().filter(|(_, v)| *v).count();
    println!(
        "1. search: {} accounts and {chat_count} groups made through the API (searcher in {visible_chats})",
        names.len()
    );

    let mut user_ids = std::collections::HashMap::new();
    let loaded = {
        let started = Instant::now();
        let mut conn = sqlx::AnyConnection::connect(&server.database_url).await?;
        for (id, name) in
            sqlx::query_as::<_, (i64, String)>("SELECT id, username FROM users").fetch_all(&mut conn).await?
        {
            user_ids.insert(name, id);
        }
        let plan = LoadPlan::new(&chats, &user_ids)?;
        let outcome = load(&mut conn, &plan, total_messages, started + load_limit).await?;
        if backend == Backend::Postgres {
            let load_secs = started.elapsed().as_secs_f64();
            let vacuum = Instant::now();
            sqlx::query("VACUUM ANALYZE").execute(&mut conn).await?;
            println!("  (insert {:.1} s, then VACUUM ANALYZE {:.1} s)", load_secs, vacuum.elapsed().as_secs_f64());
        }
        let secs = started.elapsed().as_secs_f64();
        println!(
            "  bulk load: {outcome} of {total_messages} messages in {secs:.1} s ({:.0} messages/s){}",
            outcome as f64 / secs,
            if outcome < total_messages { "  -- STOPPED at HEARTH_BENCH_LOAD_SECS" } else { "" }
        );
        outcome
    };
    if let Ok(size) = database_size(backend, &server.database_url).await {
        println!("  database size after the load: {:.0} MiB", size as f64 / (1 << 20) as f64);
    }

    // The queries: a fixed mix drawn by rank.
    let vocabulary = Vocabulary::new();
    let mut rng = Rng(42);
    let mut queries: Vec<(&'static str, String)> = Vec::new();
    for i in 0..searches + 10 {
        let word = |rng: &mut Rng, from: usize, to: usize| vocabulary.words[from + rng.below(to - from)].clone();
        queries.push(match i % 5 {
            0 | 1 => ("rare (rank 1000-2000)", word(&mut rng, 1000, 2000)),
            2 => ("medium (rank 50-300)", word(&mut rng, 50, 300)),
            3 => ("common (rank 1-10)", word(&mut rng, 0, 10)),
            _ if i % 10 == 4 => {
                ("two words, medium+medium", format!("{} {}", word(&mut rng, 50, 300), word(&mut rng, 50, 300)))
            }
            _ => ("two words, common+medium", format!("{} {}", word(&mut rng, 0, 10), word(&mut rng, 50, 300))),
        });
    }
    println!(
        "  expected share of messages holding a word: rank 1 {:.1}%, rank 10 {:.1}%, rank 100 {:.2}%, rank 1500 {:.3}%",
        vocabulary.expected_share(0) * 100.0,
        vocabulary.expected_share(9) * 100.0,
        vocabulary.expected_share(99) * 100.0,
        vocabulary.expected_share(1499) * 100.0
    );

    let token = &tokens[0];
    let started = Instant::now();
    let mut by_kind: Vec<(&str, Vec<Duration>, Vec<i64>)> = Vec::new();
    let mut all = Vec::new();
    let mut failures = 0;
    for (i, (kind, q)) in queries.iter().enumerate() {
        if started.elapsed() > search_limit {
            println!("  -- searches STOPPED at HEARTH_BENCH_SEARCH_SECS after {} measured", all.len());
            break;
        }
        let sent = Instant::now();
        let response =
            http.get(format!("{base}/api/search")).query(&[("q", q.as_str())]).bearer_auth(token).send().await?;
        let status = response.status().as_u16();
        let reply: Value = response.json().await.unwrap_or(Value::Null);
        let took = sent.elapsed();
        if status != 200 {
            failures += 1;
            if failures <= 3 {
                println!(
                    "  search {q:?} answered {status}: {}",
                    reply.to_string().chars().take(300).collect::<String>()
                );
            }
            continue;
        }
        let total = reply["data"]["totals"]["messages"].as_i64().unwrap_or(-1);
        // One list of typed results, messages first.
        let shown = reply["data"]["items"]
            .as_array()
            .map_or(0, |items| items.iter().filter(|item| item["type"] == "messages").count());
        ensure!(total < 0 || shown as i64 == total.min(20), "search {q:?}: {shown} shown of {total}");
        if i < 10 {
            continue; // warm-up
        }
        all.push(took);
        match by_kind.iter_mut().find(|(k, _, _)| k == kind) {
            Some(entry) => {
                entry.1.push(took);
                entry.2.push(total);
            }
            None => by_kind.push((kind, vec![took], vec![total])),
        }
    }
    all.sort();
    println!(
        "  GET /api/search over {loaded} messages, {} searches one at a time: p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms  ({failures} failed)  goal p95 < 50 ms: {}",
        all.len(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.95)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default()),
        if percentile(&all, 0.95) < Duration::from_millis(50) { "met" } else { "MISSED" }
    );
    for (kind, latencies, totals) in &mut by_kind {
        latencies.sort();
        totals.sort();
        println!(
            "    {kind:<26} n={:<3} p50 {:>8.1} ms  p95 {:>8.1} ms  max {:>8.1} ms   messages found: min {} median {} max {}",
            latencies.len(),
            ms(percentile(latencies, 0.5)),
            ms(percentile(latencies, 0.95)),
            ms(latencies.last().copied().unwrap_or_default()),
            totals.first().unwrap_or(&0),
            totals[totals.len() / 2],
            totals.last().unwrap_or(&0)
        );
    }

    // Sanity: a word only in the hidden chats is never found; counting by hand agrees.
    let (status, reply) = {
        let response =
            http.get(format!("{base}/api/search")).query(&[("q", "zzhiddenword")]).bearer_auth(token).send().await?;
        (response.status().as_u16(), response.json::<Value>().await.unwrap_or(Value::Null))
    };
    ensure!(status == 200, "search for a missing word answered {status}: {reply}");
    ensure!(reply["data"]["totals"]["messages"].as_i64() == Some(0), "a missing word was found: {reply}");
    let probe = &vocabulary.words[1500];
    let expected = count_visible(&server.database_url, probe, user_ids["searcher"]).await?;
    let response =
        http.get(format!("{base}/api/search")).query(&[("q", probe.as_str())]).bearer_auth(token).send().await?;
    let reply: Value = response.json().await.unwrap_or(Value::Null);
    let found = reply["data"]["totals"]["messages"].as_i64().unwrap_or(-1);
    println!(
        "  sanity: {probe:?} found {found}, counted directly in the searcher's chats {expected}: {}",
        if found == expected { "agree" } else { "DISAGREE" }
    );
    Ok(())
}

/// Who may write in which chat.
struct LoadPlan {
    chats: Vec<(i64, [i64; 2])>,
}

impl LoadPlan {
    fn new(chats: &[(i64, bool)], users: &std::collections::HashMap<String, i64>) -> anyhow::Result<LoadPlan> {
        let id = |name: &str| users.get(name).copied().with_context(|| format!("no user {name}"));
        let (visible, hidden) = ([id("searcher")?, id("friend")?], [id("other1")?, id("other2")?]);
        Ok(LoadPlan { chats: chats.iter().map(|&(chat, v)| (chat, if v { visible } else { hidden })).collect() })
    }

    /// The next batch of rows: (chat_id, user_id, body, created_at).
    fn batch(
        &self,
        vocabulary: &Vocabulary,
        rng: &mut Rng,
        first: usize,
        count: usize,
    ) -> Vec<(i64, i64, String, i64)> {
        // A year of messages, evenly spread, ending now.
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_millis() as i64;
        let year_ms = 365 * 24 * 3600 * 1000i64;
        (first..first + count)
            .map(|n| {
                let (chat, writers) = self.chats[rng.below(self.chats.len())];
                let user = writers[rng.below(2)];
                let at = now - year_ms + (n as i64 * 30_000) % year_ms;
                (chat, user, vocabulary.message(rng), at)
            })
            .collect()
    }
}

/// Inserts `total` messages in multi-row INSERTs (`$n` placeholders, which both backends read).
async fn load(
    conn: &mut sqlx::AnyConnection,
    plan: &LoadPlan,
    total: usize,
    deadline: Instant,
) -> anyhow::Result<usize> {
    let vocabulary = Vocabulary::new();
    let mut rng = Rng(1);
    let mut done = 0;
    let mut last_note = Instant::now();
    while done < total && Instant::now() < deadline {
        let mut tx = conn.begin().await?;
        for _ in 0..INSERTS_PER_TRANSACTION {
            let count = ROWS_PER_INSERT.min(total - done);
            if count == 0 {
                break;
            }
            let rows = plan.batch(&vocabulary, &mut rng, done, count);
            let values: Vec<String> = (0..rows.len())
                .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
                .collect();
            let sql = format!("INSERT INTO messages (chat_id, user_id, body, created_at) VALUES {}", values.join(", "));
            let mut insert = sqlx::query(&sql);
            for (chat, user, body, at) in rows {
                insert = insert.bind(chat).bind(user).bind(body).bind(at);
            }
            insert.execute(&mut *tx).await?;
            done += count;
        }
        tx.commit().await?;
        if last_note.elapsed() > Duration::from_secs(30) {
            println!("    ... {done} loaded");
            last_note = Instant::now();
        }
    }
    Ok(done)
}

async fn database_size(backend: Backend, url: &str) -> anyhow::Result<i64> {
    Ok(match backend {
        Backend::Sqlite => {
            let path = url.trim_start_matches("sqlite://");
            let size = |p: String| std::fs::metadata(p).map(|m| m.len() as i64).unwrap_or(0);
            size(path.to_string()) + size(format!("{path}-wal"))
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(url).await?;
            sqlx::query_as::<_, (i64,)>("SELECT pg_database_size(current_database())").fetch_one(&mut conn).await?.0
        }
    })
}

/// Messages holding `word` in the chats `user` is in, counted without the search index.
async fn count_visible(url: &str, word: &str, user: i64) -> anyhow::Result<i64> {
    let padded = format!("% {word} %");
    let sql = "SELECT COUNT(*) FROM messages m JOIN chat_members cm ON cm.chat_id = m.chat_id AND cm.user_id = $1 \
               WHERE ' ' || m.body || ' ' LIKE $2 AND m.deleted_at IS NULL";
    let mut conn = sqlx::AnyConnection::connect(url).await?;
    Ok(sqlx::query_as::<_, (i64,)>(sql).bind(user).bind(&padded).fetch_one(&mut conn).await?.0)
}

// ---------------------------------------------------------------------------------------------
// 2. Uploads

async fn upload_phase(server: &Server) -> anyhow::Result<()> {
    let files: usize = env_num("HEARTH_BENCH_UPLOAD_FILES", 50);
    let mib: usize = env_num("HEARTH_BENCH_UPLOAD_MIB", 1).max(1);
    let clients: usize = env_num("HEARTH_BENCH_UPLOAD_CLIENTS", 4).max(1);
    let http = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let base = server.node.base.clone();
    let token = account(&http, &base, "uploader").await?;
    let chat = create_group(&http, &base, &token, "uploads", &[]).await?;
    // A ZIP by its magic bytes, then bytes that are none of the refused kinds.
    let mut rng = Rng(9);
    let mut content = vec![0u8; mib << 20];
    for chunk in content.chunks_mut(8) {
        let bytes = rng.next().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
    content[..4].copy_from_slice(b"PK\x03\x04");
    let content = Arc::new(content);
    let latencies = Arc::new(Mutex::new(Vec::new()));
    let cpu_before = server.node.cpu_secs();
    let started = Instant::now();
    let results: Vec<anyhow::Result<()>> = futures_util::stream::iter(0..files)
        .map(|i| {
            let (http, base, token, content, latencies) =
                (http.clone(), base.clone(), token.clone(), content.clone(), latencies.clone());
            async move {
                let sent = Instant::now();
                let body = json!({"filename": format!("bench-{i:03}.zip"), "contentType": "application/zip",
                                  "size": content.len(), "channelId": chat});
                let (status, reply) = post(&http, &format!("{base}/api/upload"), Some(&token), body).await?;
                ensure!(status == 201, "POST /api/upload: {status} {reply}");
                let file_id = reply["data"]["fileId"].as_str().context("fileId")?.to_string();
                let url = reply["data"]["uploadUrl"].as_str().context("uploadUrl")?.to_string();
                let response =
                    http.put(&url).header("Content-Type", "application/zip").body(content.to_vec()).send().await?;
                let status = response.status().as_u16();
                ensure!(status == 200, "PUT: {status} {}", response.text().await.unwrap_or_default());
                let (status, reply) = post(
                    &http,
                    &format!("{base}/api/upload/complete"),
                    Some(&token),
                    json!({"fileId": file_id, "chatID": chat}),
                )
                .await?;
                ensure!(status == 200, "POST /api/upload/complete: {status} {reply}");
                latencies.lock().expect("latencies").push(sent.elapsed());
                Ok(())
            }
        })
        .buffer_unordered(clients)
        .collect()
        .await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = server.node.cpu_secs() - cpu_before;
    let failed: Vec<_> = results.into_iter().filter_map(Result::err).collect();
    let done = files - failed.len();
    let mut latencies = latencies.lock().expect("latencies").clone();
    latencies.sort();
    println!(
        "2. uploads: {done} of {files} files of {mib} MiB, {clients} clients: {:.1} MiB/s, {:.1} files/s, per file p50 {:.0} ms p95 {:.0} ms; server CPU {:.1} ms per file",
        (done * mib) as f64 / elapsed,
        done as f64 / elapsed,
        ms(percentile(&latencies, 0.5)),
        ms(percentile(&latencies, 0.95)),
        cpu * 1e3 / done.max(1) as f64
    );
    for error in failed.iter().take(3) {
        println!("  failed: {error:#}");
    }
    let stored = std::fs::read_dir(server.scratch.join("uploads")).map(|d| d.count()).unwrap_or(0);
    println!("  files in the upload folder: {stored}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 3. The rate limiter

async fn rate_phase(server: &Server) -> anyhow::Result<()> {
    let phase = Duration::from_secs(env_num("HEARTH_BENCH_SECS", 3));
    let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let token = account(&http, &server.node.base, "limited").await?;
    let routes: [(&str, String, Option<String>); 3] = [
        ("GET /verify-connection (no limiter)", format!("{}/verify-connection", server.node.base), None),
        ("GET /api/health (anonymous)", format!("{}/api/health", server.node.base), None),
        ("GET /api/health (Bearer)", format!("{}/api/health", server.node.base), Some(token)),
    ];
    let mut baseline: Option<(f64, f64, f64)> = None;
    for (label, url, token) in &routes {
        let get = |http: reqwest::Client, url: String, token: Option<String>| async move {
            let mut request = http.get(&url);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await?;
            let status = response.status().as_u16();
            let limited = response.headers().contains_key("x-ratelimit-limit");
            response.bytes().await?;
            ensure!(status == 200, "{url} answered {status}");
            anyhow::Ok(limited)
        };
        let counted = get(http.clone(), url.clone(), token.clone()).await?;
        // Throughput, several clients.
        let cpu_before = server.node.cpu_secs();
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..RATE_WORKERS {
            let (http, url, token) = (http.clone(), url.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let mut count = 0usize;
                while started.elapsed() < phase {
                    get(http.clone(), url.clone(), token.clone()).await?;
                    count += 1;
                }
                anyhow::Ok(count)
            }));
        }
        let mut count = 0;
        for task in tasks {
            count += task.await??;
        }
        let elapsed = started.elapsed().as_secs_f64();
        let cpu_us = (server.node.cpu_secs() - cpu_before) * 1e6 / count.max(1) as f64;
        let rate = count as f64 / elapsed;
        // Latency, one at a time.
        let mut latencies = Vec::with_capacity(SEQUENTIAL_REQUESTS);
        for _ in 0..SEQUENTIAL_REQUESTS {
            let sent = Instant::now();
            get(http.clone(), url.clone(), token.clone()).await?;
            latencies.push(sent.elapsed());
        }
        latencies.sort();
        let p50_us = percentile(&latencies, 0.5).as_secs_f64() * 1e6;
        let difference = match baseline {
            None => {
                baseline = Some((rate, cpu_us, p50_us));
                String::new()
            }
            Some((base_rate, base_cpu, base_p50)) => format!(
                "   vs no limiter: {:+.1} µs/request at {RATE_WORKERS} clients (from req/s), {:+.1} µs server CPU, {:+.1} µs p50",
                1e6 / rate - 1e6 / base_rate,
                cpu_us - base_cpu,
                p50_us - base_p50
            ),
        };
        println!(
            "  {label:<38} {rate:>7.0} req/s  server CPU {cpu_us:>6.1} µs/req  p50 {p50_us:>6.0} µs  ({count} + {SEQUENTIAL_REQUESTS} requests, X-RateLimit headers: {counted}){difference}"
        );
    }
    Ok(())
}
