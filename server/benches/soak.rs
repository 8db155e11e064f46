//! Soak test (issue 7): hundreds of clients use `hearth serve` processes for a while, then the
//! benchmark checks that nothing was lost or duplicated and that the servers' memory and open
//! file descriptors came back to where they were before the load.
//!
//! Two runs, each on fresh databases and real `hearth` child processes (so memory and fds are
//! the servers' own):
//!  - `sqlite`: one node on a SQLite file;
//!  - `postgres`: two nodes on one PostgreSQL database (HEARTH_TEST_POSTGRES_URL, default the
//!    local `test` database; the scratch database is dropped at the end) linked by NATS
//!    (HEARTH_SOAK_NATS_URL, default nats://127.0.0.1:4222, on a subject of the run's own).
//!
//! Setup: HEARTH_SOAK_CLIENTS accounts (default 200; `/api/auth/signup`, 4 at a time: the one
//! argon2 sign-up and sign-in of each client), groups of about HEARTH_SOAK_GROUP_SIZE (default
//! 20) clients, each client in two of them (on two nodes a chat's members sit on both nodes),
//! then a warm-up burst of concurrent requests so the database pools are at their size. Then
//! the servers' RSS and fd counts are read ("before").
//!
//! Load, for HEARTH_SOAK_SECS (default 60): every client holds a WebSocket (joined to its chats
//! with `after` = the last id it saw) and, every HEARTH_SOAK_PAUSE_MS on average (default 500),
//! does one of: post on the socket with a nonce (acked), post over REST (`/chat/post-message`
//! with a nonce), send `typing`, read a page of `/chat/messages`, or call another route
//! (`/user/profile`, `/chat/fetch-chats`, `/chat/get-members`, `GET`/`POST /api/search` with a
//! Bearer token, `/api/health`, `/verify-connection`, `/api/auth/refresh`). About every
//! HEARTH_SOAK_RECONNECT_SECS (default 15) it drops its socket (half the time without a close
//! frame, and then half the time right after a post, whose ack is likely lost) and reconnects,
//! on two nodes to the other node, resending unacked posts with their nonces. Then every client
//! waits for its acks, stays connected until it has seen every stored message of its chats, and
//! closes its socket. Sockets set TCP_NODELAY, as browsers do.
//!
//! Checks (any violation fails the run with a non-zero exit):
//!  - every acked message is stored exactly once, under the acked id, and every stored message
//!    of the run was acked (read back through `/chat/messages`);
//!  - on every connection, every message of a chat with an id in (`after`, highest id received)
//!    arrived exactly once; over all its connections every client saw every message of its chats;
//!  - no HTTP status outside 2xx, no transport errors, no `error` frames, no socket closed by
//!    the server, no `user_typing` about oneself;
//!  - after the clients have gone and a settle (at least HEARTH_SOAK_SETTLE_SECS, default 5),
//!    each server's open fds are at most HEARTH_SOAK_FD_SLACK (default 4) above "before", and its
//!    RSS at most HEARTH_SOAK_RSS_GROWTH_MIB (default 64) above. RSS never comes back exactly:
//!    the allocator (mimalloc) keeps freed pages, and a young server grows bounded caches
//!    (prepared statements on each pooled connection, hub maps, tokio's and hyper's buffers),
//!    a few MiB. A leak would not stay under 64 MiB in the default run (~9k posts, ~350k frames
//!    delivered, ~12k requests, ~900 connections): 200 bytes per frame delivered, 4 KiB per
//!    post or request, or 64 KiB per connection is already more. Caveat: "before" includes the
//!    argon2 buffers of the sign-ups that the allocator has not yet returned (most visible on
//!    one node, which did every sign-up), so the lowest RSS under load is printed as well.
//!
//! HEARTH_SOAK_BACKENDS=sqlite (or postgres) picks runs. `cargo bench -p server --bench soak`
//! (builds this and the `hearth` binary in release). The clients share the machine's cores with
//! the servers and the database, so timings are indicative only.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use hearth::testing::{fresh_database, postgres_admin_url, scratch_dir, Backend, ChildServer};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use sqlx::Connection;
use support::{describe_close, env_num, load_average, next_json, now_us, Notes, Ws};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "Soak-passw0rd!";
const JWT_SECRET: &str = "soak-secret-soak-secret-soak-secret-0001";
const UNLIMITED: &str = "4294967295";
const SIGNUP_CONCURRENCY: usize = 4;
const WORDS: [&str; 12] =
    ["amber", "birch", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel", "lumen"];

#[derive(Clone)]
struct Config {
    secs: u64,
    clients: usize,
    group_size: usize,
    pause_ms: u64,
    reconnect_secs: f64,
    settle_secs: u64,
    rss_growth_mib: u64,
    fd_slack: usize,
    nats_url: String,
}

impl Config {
    fn from_env() -> Config {
        Config {
            secs: env_num("HEARTH_SOAK_SECS", 60u64).max(1),
            clients: env_num("HEARTH_SOAK_CLIENTS", 200usize).max(2),
            group_size: env_num("HEARTH_SOAK_GROUP_SIZE", 20usize).max(2),
            pause_ms: env_num("HEARTH_SOAK_PAUSE_MS", 500u64).max(1),
            reconnect_secs: env_num("HEARTH_SOAK_RECONNECT_SECS", 15.0f64).max(0.5),
            settle_secs: env_num("HEARTH_SOAK_SETTLE_SECS", 5u64),
            rss_growth_mib: env_num("HEARTH_SOAK_RSS_GROWTH_MIB", 64u64),
            fd_slack: env_num("HEARTH_SOAK_FD_SLACK", 4usize),
            nats_url: std::env::var("HEARTH_SOAK_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into()),
        }
    }
}

fn main() -> anyhow::Result<()> {
    now_us();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let config = Config::from_env();
    let limit = Duration::from_secs(30 * 60 + 3 * config.secs);
    // Everything is bounded; this is the backstop. Dropping a `ChildServer` kills its process.
    let outcome = runtime.block_on(async { tokio::time::timeout(limit, run(config)).await });
    runtime.shutdown_timeout(Duration::from_secs(5));
    match outcome {
        Ok(Ok(failures)) if failures.is_empty() => Ok(()),
        Ok(Ok(failures)) => {
            println!("\nSOAK FAILED:");
            for failure in &failures {
                println!("  - {failure}");
            }
            std::process::exit(1);
        }
        Ok(Err(e)) => Err(e),
        Err(_) => bail!("the soak ran out of time ({limit:?})"),
    }
}

async fn run(config: Config) -> anyhow::Result<Vec<String>> {
    let wanted = std::env::var("HEARTH_SOAK_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    println!(
        "soak: {} clients, {} s, a pause of ~{} ms between a client's actions, a reconnect every ~{} s; \
         machine: {} cores, load average {}",
        config.clients,
        config.secs,
        config.pause_ms,
        config.reconnect_secs,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
        load_average()
    );
    let mut failures = Vec::new();
    for (backend, name) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        if !wanted.split(',').any(|w| w.trim() == name) {
            continue;
        }
        let nodes = if backend == Backend::Sqlite { 1 } else { 2 };
        match soak(&config, backend, name, nodes).await {
            Ok(found) => failures.extend(found.into_iter().map(|f| format!("{name}: {f}"))),
            Err(e) => failures.push(format!("{name}: the run stopped: {e:#}")),
        }
    }
    println!("\nmachine load average at the end: {}", load_average());
    Ok(failures)
}

// ---------------------------------------------------------------------------------------------
// The servers

struct Cluster {
    nodes: Vec<ChildServer>,
    scratch: PathBuf,
    database_url: String,
}

impl Cluster {
    async fn start(config: &Config, backend: Backend, nodes: usize) -> anyhow::Result<Cluster> {
        let scratch = scratch_dir("soak");
        let database_url = match fresh_database(backend, &scratch).await {
            Ok(url) => url,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&scratch);
                return Err(e);
            }
        };
        let mut cluster = Cluster { nodes: Vec::new(), scratch, database_url };
        let subject = format!("hearth.soak.{:016x}", rand::random::<u64>());
        for node in 0..nodes {
            let data_dir = cluster.scratch.join(format!("node{node}"));
            std::fs::create_dir_all(&data_dir)?;
            let data_dir = data_dir.display().to_string();
            let node_id = format!("soak-{node}");
            let mut env: Vec<(&str, &str)> = vec![
                ("DATABASE_URL", &cluster.database_url),
                ("HEARTH_DATA_DIR", &data_dir),
                ("HEARTH_JWT_SECRET", JWT_SECRET),
                ("HEARTH_EMAIL_VERIFICATION", "off"),
                ("HEARTH_REGISTRATION", "open"),
                ("HEARTH_AUTH_LIMIT_PER_IP", UNLIMITED),
                ("HEARTH_AUTH_LIMIT_PER_ACCOUNT", UNLIMITED),
                ("HEARTH_API_LIMIT", UNLIMITED),
                ("HEARTH_API_LIMIT_SEARCH", UNLIMITED),
                ("HEARTH_API_LIMIT_UPLOAD", UNLIMITED),
                ("HEARTH_WS_FRAMES_PER_SEC", "10000"),
                ("HEARTH_NATS_SUBJECT", &subject),
                ("HEARTH_NODE_ID", &node_id),
                ("NO_COLOR", "1"),
            ];
            if nodes > 1 {
                env.push(("HEARTH_NATS_URL", &config.nats_url));
            }
            // One node at a time: the first one migrates the fresh database.
            match ChildServer::start(Path::new(env!("CARGO_BIN_EXE_hearth")), None, &env).await {
                Ok(server) => cluster.nodes.push(server),
                Err(e) => {
                    cluster.finish().await;
                    return Err(e.context(format!("starting node {node}")));
                }
            }
        }
        Ok(cluster)
    }

    fn ws_url(&self, node: usize) -> String {
        format!("ws://{}/ws", self.nodes[node].addr)
    }

    fn base(&self, node: usize) -> &str {
        &self.nodes[node].base
    }

    /// (RSS bytes, open fds) of each node.
    fn resources(&self) -> Vec<(u64, usize)> {
        self.nodes.iter().map(|n| (n.rss_bytes(), n.open_fds())).collect()
    }

    /// Warnings and errors in the nodes' logs.
    fn problems(&self) -> Vec<String> {
        self.nodes
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.log()
                    .lines()
                    .filter(|l| (l.contains("WARN") || l.contains("ERROR")) && !l.contains("HEARTH_SMTP_URL"))
                    .map(|l| {
                        // sqlx's slow-statement warnings carry their time at the end of a long line.
                        let elapsed = l.split_whitespace().find(|w| w.starts_with("elapsed=")).unwrap_or_default();
                        format!("node {i}: {} … {elapsed}", l.chars().take(240).collect::<String>())
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Stops the nodes, drops a PostgreSQL scratch database and removes the scratch folder.
    async fn finish(mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        if let Some((_, name)) = self.database_url.strip_prefix("postgres://").and_then(|rest| rest.rsplit_once('/')) {
            if name.starts_with("hearth_test_") {
                if let Ok(mut admin) = sqlx::PgConnection::connect(&postgres_admin_url()).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = sqlx::query(&drop).execute(&mut admin).await {
                        println!("  (could not drop {name}: {e})");
                    }
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP, with every answer counted

#[derive(Default)]
struct Stats {
    /// (route, status) → count; status 0 is a transport error.
    statuses: Mutex<BTreeMap<(&'static str, u16), u64>>,
    /// A few examples of unexpected answers.
    notes: Notes,
}

impl Stats {
    fn count(&self, route: &'static str, status: u16) {
        *self.statuses.lock().expect("stats").entry((route, status)).or_default() += 1;
    }

    fn total(&self, filter: impl Fn(u16) -> bool) -> u64 {
        self.statuses.lock().expect("stats").iter().filter(|((_, s), _)| filter(*s)).map(|(_, n)| n).sum()
    }

    /// "200 ×N, 201 ×N, …" over every route.
    fn by_status(&self) -> String {
        let mut totals: BTreeMap<u16, u64> = BTreeMap::new();
        for ((_, status), n) in self.statuses.lock().expect("stats").iter() {
            *totals.entry(*status).or_default() += n;
        }
        totals
            .iter()
            .map(|(s, n)| if *s == 0 { format!("transport error ×{n}") } else { format!("{s} ×{n}") })
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// One line per route: "route: 200 ×N …".
    fn by_route(&self) -> Vec<String> {
        let mut routes: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for ((route, status), n) in self.statuses.lock().expect("stats").iter() {
            routes.entry(route).or_default().push(format!("{status} ×{n}"));
        }
        routes.into_iter().map(|(route, counts)| format!("{route}: {}", counts.join(", "))).collect()
    }
}

#[derive(Clone)]
struct Rest {
    http: reqwest::Client,
    stats: Arc<Stats>,
}

impl Rest {
    fn new(stats: Arc<Stats>) -> anyhow::Result<Rest> {
        // Idle keep-alive connections close after a second, so that they are gone from the
        // servers' fd counts once the load stops.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_idle_timeout(Duration::from_secs(1))
            .build()?;
        Ok(Rest { http, stats })
    }

    async fn send(&self, route: &'static str, request: reqwest::RequestBuilder) -> (u16, Value) {
        match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                self.stats.count(route, status);
                let body = response.json().await.unwrap_or(Value::Null);
                if !(200..300).contains(&status) {
                    let text: String = body.to_string().chars().take(200).collect();
                    self.stats.notes.add(format!("{route} answered {status}: {text}"));
                }
                (status, body)
            }
            Err(e) => {
                self.stats.count(route, 0);
                self.stats.notes.add(format!("{route} failed: {e}"));
                (0, Value::Null)
            }
        }
    }

    async fn post(&self, base: &str, route: &'static str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(format!("{base}{route}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(route, request).await
    }

    async fn get(&self, base: &str, route: &'static str, query: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = self.http.get(format!("{base}{route}{query}"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        self.send(route, request).await
    }
}

// ---------------------------------------------------------------------------------------------
// Setup: accounts and groups

#[derive(Clone)]
struct Account {
    index: usize,
    name: String,
    token: String,
    refresh: String,
}

async fn sign_up(rest: &Rest, cluster: &Cluster, count: usize) -> anyhow::Result<Vec<Account>> {
    let run = rand::random::<u32>() % 10_000;
    let nodes = cluster.nodes.len();
    let accounts: Vec<anyhow::Result<Account>> = futures_util::stream::iter(0..count)
        .map(|index| {
            let name = format!("s{run:04}u{index:04}");
            let base = cluster.base(index % nodes).to_string();
            async move {
                let body = json!({"username": name, "password": PASSWORD, "email": format!("{name}@example.org")});
                let (status, reply) = rest.post(&base, "/api/auth/signup", None, body).await;
                ensure!(status == 200, "signup {name}: {status} {reply}");
                let data = &reply["data"];
                Ok(Account {
                    index,
                    token: data["accessToken"].as_str().context("accessToken")?.to_string(),
                    refresh: data["refreshToken"].as_str().context("refreshToken")?.to_string(),
                    name,
                })
            }
        })
        .buffered(SIGNUP_CONCURRENCY)
        .collect()
        .await;
    accounts.into_iter().collect()
}

/// The groups: client `i` is in groups `i % n` and `(i / n) % n`; each made by its first member.
async fn make_groups(
    rest: &Rest,
    cluster: &Cluster,
    accounts: &[Account],
    group_size: usize,
) -> anyhow::Result<Vec<Vec<i64>>> {
    let groups = (accounts.len() / group_size).max(1);
    let wanted = |i: usize| {
        let mut chats = vec![i % groups, (i / groups) % groups];
        chats.dedup();
        chats
    };
    let mut chat_ids = Vec::new();
    for group in 0..groups {
        let members: Vec<&Account> = accounts.iter().filter(|a| wanted(a.index).contains(&group)).collect();
        let creator = members.first().context("an empty group")?;
        let names: Vec<&str> = members[1..].iter().map(|a| a.name.as_str()).collect();
        let body = json!({"session_token": creator.token, "name": format!("soak group {group}"), "members": names});
        let (status, reply) = rest.post(cluster.base(0), "/chat/create-group", None, body).await;
        ensure!(status == 201, "create-group: {status} {reply}");
        chat_ids.push(reply["chatID"].as_i64().context("chatID")?);
    }
    Ok(accounts.iter().map(|a| wanted(a.index).into_iter().map(|g| chat_ids[g]).collect()).collect())
}

/// Concurrent requests on every node so that the database pools reach their size before the
/// "before" reading (a pool grows under load and keeps its connections for 10 minutes).
async fn warm_up(rest: &Rest, cluster: &Cluster, accounts: &[Account], chats: &[Vec<i64>]) {
    for _round in 0..3 {
        let mut calls = Vec::new();
        for node in 0..cluster.nodes.len() {
            for (account, chats) in accounts.iter().zip(chats).take(64) {
                let body = json!({"session_token": account.token, "chatID": chats[0], "limit": 20});
                calls.push(async move {
                    rest.post(cluster.base(node), "/chat/messages", None, body).await;
                    rest.get(cluster.base(node), "/api/search", "?q=ember&limit=5", Some(&account.token)).await;
                });
            }
        }
        futures_util::future::join_all(calls).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Clients

#[derive(Default)]
struct Counters {
    ws_posts: AtomicU64,
    rest_posts: AtomicU64,
    resent: AtomicU64,
    reacked: AtomicU64,
    /// Socket acks that came after the post's own `new_message` on the same socket.
    acks_after_echo: AtomicU64,
    delivered: AtomicU64,
    typing_sent: AtomicU64,
    typing_received: AtomicU64,
    own_typing: AtomicU64,
    reads: AtomicU64,
    rest_calls: AtomicU64,
    reconnects: AtomicU64,
    abrupt: AtomicU64,
    unexpected_ends: AtomicU64,
    error_frames: AtomicU64,
    other_frames: AtomicU64,
    drained: AtomicUsize,
}

struct Ctx {
    rest: Rest,
    ws_urls: Vec<String>,
    bases: Vec<String>,
    counters: Counters,
    notes: Notes,
    /// Cancelled when the clients may close their sockets and finish.
    stop: CancellationToken,
    deadline: tokio::time::Instant,
    pause: Duration,
    reconnect_every: Duration,
}

struct Pending {
    chat: i64,
    text: String,
    sent_us: u64,
}

/// What one client knows, shared by its action loop and its socket's reader.
#[derive(Default)]
struct Seen {
    /// Per chat: the highest message id seen on any connection.
    last: HashMap<i64, i64>,
    /// Per chat: every message id seen on any connection.
    all: HashMap<i64, HashSet<i64>>,
    /// WebSocket posts not acked yet, by nonce.
    pending: HashMap<String, Pending>,
    /// Every acked post (socket and REST), by nonce: (chat, id, text).
    acked: HashMap<String, (i64, i64, String)>,
    ws_ack_us: Vec<u64>,
    rest_post_us: Vec<u64>,
}

/// One connection's deliveries.
struct ConnRecord {
    node: usize,
    /// `after` sent in `join_chat`, per chat.
    after: HashMap<i64, i64>,
    /// Ids of `new_message` frames received, per chat, in order of arrival.
    received: HashMap<i64, Vec<i64>>,
    /// Why it ended, when the server ended it.
    ended_by_server: Option<String>,
}

struct Socket {
    sink: SplitSink<Ws, Message>,
    reader: JoinHandle<ConnRecord>,
    stop: CancellationToken,
}

struct Client {
    ctx: Arc<Ctx>,
    me: Account,
    chats: Vec<i64>,
    seen: Arc<Mutex<Seen>>,
    node: usize,
    rng: StdRng,
    seq: u64,
    records: Vec<ConnRecord>,
}

/// What a client hands back at the end.
struct ClientOutcome {
    chats: Vec<i64>,
    seen: Seen,
    records: Vec<ConnRecord>,
}

async fn open_socket(url: &str, token: &str) -> anyhow::Result<Ws> {
    // TCP_NODELAY, as browsers do: without it small frames wait on delayed ACKs (~40 ms).
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(url, None, true).await?;
    ws.send(Message::text(json!({"type": "auth", "token": token}).to_string())).await?;
    let ack = next_json(&mut ws).await?;
    ensure!(ack["type"] == "auth_ack" && ack["status"] == "ok", "auth answered {ack}");
    loop {
        let frame = next_json(&mut ws).await?;
        if frame["type"] == "online_users" {
            return Ok(ws);
        }
    }
}

impl Client {
    /// Opens a socket on `self.node`, joins every chat after the last id seen, resends the
    /// unacked posts and starts the reader.
    async fn connect(&mut self) -> anyhow::Result<Socket> {
        let mut last_error = None;
        for attempt in 0..5u64 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            match open_socket(&self.ctx.ws_urls[self.node], &self.me.token).await {
                Ok(ws) => return self.joined(ws).await,
                Err(e) => {
                    self.ctx.notes.add(format!("connecting failed: {e}"));
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.expect("five attempts").context(format!("{} could not connect", self.me.name)))
    }

    async fn joined(&mut self, ws: Ws) -> anyhow::Result<Socket> {
        let (mut sink, stream) = ws.split();
        let (after, resend) = {
            let seen = self.seen.lock().expect("seen");
            let after: HashMap<i64, i64> =
                self.chats.iter().map(|c| (*c, seen.last.get(c).copied().unwrap_or(0))).collect();
            let resend: Vec<(String, i64, String)> =
                seen.pending.iter().map(|(nonce, p)| (nonce.clone(), p.chat, p.text.clone())).collect();
            (after, resend)
        };
        for (chat, after) in &after {
            let frame = json!({"type": "join_chat", "chatID": chat, "after": after});
            sink.send(Message::text(frame.to_string())).await?;
        }
        for (nonce, chat, text) in resend {
            if let Some(p) = self.seen.lock().expect("seen").pending.get_mut(&nonce) {
                p.sent_us = now_us();
            }
            let frame = json!({"type": "post_msg", "chatID": chat, "text": text, "nonce": nonce});
            sink.send(Message::text(frame.to_string())).await?;
            self.ctx.counters.resent.fetch_add(1, Ordering::Relaxed);
        }
        let stop = CancellationToken::new();
        let record = ConnRecord { node: self.node, after, received: HashMap::new(), ended_by_server: None };
        let reader = tokio::spawn(read_frames(
            stream,
            self.ctx.clone(),
            self.me.name.clone(),
            self.seen.clone(),
            stop.clone(),
            record,
        ));
        Ok(Socket { sink, reader, stop })
    }

    /// Ends a connection: with a close handshake, or by dropping the TCP connection.
    async fn disconnect(&mut self, mut conn: Socket, abrupt: bool) {
        if abrupt {
            conn.stop.cancel();
            drop(conn.sink);
        } else {
            let _ = conn.sink.close().await;
        }
        let mut reader = conn.reader;
        let record = match tokio::time::timeout(Duration::from_secs(5), &mut reader).await {
            Ok(Ok(record)) => Some(record),
            Ok(Err(_)) => None,
            Err(_) => {
                // The server has not answered the close yet (busy): stop reading, keep the record.
                self.ctx.notes.add("a socket's close was not answered within 5 s");
                conn.stop.cancel();
                tokio::time::timeout(Duration::from_secs(5), reader).await.ok().and_then(Result::ok)
            }
        };
        match record {
            // After our close frame, however the server ends the socket is normal.
            Some(mut record) => {
                if !abrupt {
                    record.ended_by_server = None;
                }
                self.records.push(record)
            }
            None => self.ctx.notes.add("a reader did not stop within 5 s"),
        }
    }

    /// Replaces a connection the server ended with a new one.
    async fn revive(&mut self, conn: Socket) -> anyhow::Result<Socket> {
        if !conn.reader.is_finished() {
            return Ok(conn);
        }
        self.ctx.counters.unexpected_ends.fetch_add(1, Ordering::Relaxed);
        self.disconnect(conn, true).await;
        self.connect().await
    }

    fn next_nonce(&mut self, kind: char) -> String {
        self.seq += 1;
        format!("{kind}{}-{}", self.me.index, self.seq)
    }

    fn text_for(&mut self, nonce: &str) -> String {
        let a = WORDS[self.rng.gen_range(0..WORDS.len())];
        let b = WORDS[self.rng.gen_range(0..WORDS.len())];
        format!("soak {nonce} {a} {b}")
    }

    fn any_base(&mut self) -> String {
        let node = self.rng.gen_range(0..self.ctx.bases.len());
        self.ctx.bases[node].clone()
    }

    fn random_pause(&mut self, mean: Duration) -> Duration {
        mean.mul_f64(self.rng.gen_range(0.5..1.5))
    }

    async fn run(mut self) -> anyhow::Result<ClientOutcome> {
        // Spread the first connections over the first two seconds.
        tokio::time::sleep(Duration::from_millis(self.rng.gen_range(0..2000))).await;
        let mut conn = self.connect().await?;
        let mut next_reconnect = tokio::time::Instant::now() + self.random_pause(self.ctx.reconnect_every);
        let deadline = self.ctx.deadline;
        loop {
            let pause = self.random_pause(self.ctx.pause);
            tokio::time::sleep_until((tokio::time::Instant::now() + pause).min(deadline)).await;
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            conn = self.revive(conn).await?;
            if tokio::time::Instant::now() >= next_reconnect {
                let abrupt = self.rng.gen_bool(0.5);
                if abrupt && self.rng.gen_bool(0.5) {
                    // A post in flight as the socket goes: its ack may be lost, and the next
                    // socket resends it with the same nonce.
                    let chat = self.chats[self.rng.gen_range(0..self.chats.len())];
                    self.ws_post(&mut conn, chat).await;
                }
                self.disconnect(conn, abrupt).await;
                self.ctx.counters.reconnects.fetch_add(1, Ordering::Relaxed);
                if abrupt {
                    self.ctx.counters.abrupt.fetch_add(1, Ordering::Relaxed);
                }
                self.node = (self.node + 1) % self.ctx.ws_urls.len();
                conn = self.connect().await?;
                next_reconnect = tokio::time::Instant::now() + self.random_pause(self.ctx.reconnect_every);
                continue;
            }
            let roll = self.rng.gen_range(0..100);
            let chat = self.chats[self.rng.gen_range(0..self.chats.len())];
            if roll < 30 {
                self.ws_post(&mut conn, chat).await;
            } else if roll < 40 {
                self.rest_post(chat).await;
            } else if roll < 60 {
                let frame = json!({"type": "typing", "chatID": chat});
                if conn.sink.send(Message::text(frame.to_string())).await.is_ok() {
                    self.ctx.counters.typing_sent.fetch_add(1, Ordering::Relaxed);
                }
            } else if roll < 75 {
                self.read_page(chat).await;
            } else {
                self.other_route(chat).await;
            }
        }
        // Drain: every post acked, then stay until the coordinator has seen everyone caught up.
        let drain_until = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            conn = self.revive(conn).await?;
            let pending = self.seen.lock().expect("seen").pending.len();
            if pending == 0 || tokio::time::Instant::now() >= drain_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.ctx.counters.drained.fetch_add(1, Ordering::Relaxed);
        loop {
            tokio::select! {
                _ = self.ctx.stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
            conn = self.revive(conn).await?;
        }
        self.disconnect(conn, false).await;
        let seen = std::mem::take(&mut *self.seen.lock().expect("seen"));
        Ok(ClientOutcome { chats: self.chats, seen, records: self.records })
    }

    async fn ws_post(&mut self, conn: &mut Socket, chat: i64) {
        let nonce = self.next_nonce('w');
        let text = self.text_for(&nonce);
        let frame = json!({"type": "post_msg", "chatID": chat, "text": text, "nonce": nonce});
        self.seen.lock().expect("seen").pending.insert(nonce, Pending { chat, text, sent_us: now_us() });
        self.ctx.counters.ws_posts.fetch_add(1, Ordering::Relaxed);
        // A failed send leaves the post pending: the next connection resends it.
        let _ = conn.sink.send(Message::text(frame.to_string())).await;
    }

    async fn rest_post(&mut self, chat: i64) {
        let nonce = self.next_nonce('r');
        let text = self.text_for(&nonce);
        let body = json!({"session_token": self.me.token, "chatID": chat, "text": text, "nonce": nonce});
        self.ctx.counters.rest_posts.fetch_add(1, Ordering::Relaxed);
        // Retried with the same nonce after a transport error: stored once whatever happens.
        for attempt in 0..3 {
            let base = self.any_base();
            let started = now_us();
            let (status, reply) = self.ctx.rest.post(&base, "/chat/post-message", None, body.clone()).await;
            let took = now_us() - started;
            if status == 201 || (status == 200 && attempt > 0) {
                let Some(id) = reply["messageID"].as_i64() else {
                    self.ctx.notes.add(format!("post-message answered without messageID: {reply}"));
                    return;
                };
                let mut seen = self.seen.lock().expect("seen");
                seen.rest_post_us.push(took);
                seen.acked.insert(nonce, (chat, id, text));
                return;
            }
            if status != 0 {
                self.ctx.notes.add(format!("post-message answered {status}"));
                return;
            }
        }
        self.ctx.notes.add("post-message failed three times");
    }

    async fn read_page(&mut self, chat: i64) {
        let mut body = json!({"session_token": self.me.token, "chatID": chat, "limit": self.rng.gen_range(10..=50)});
        let before = self.seen.lock().expect("seen").last.get(&chat).copied().unwrap_or(0);
        if before > 0 && self.rng.gen_bool(0.5) {
            body["before"] = json!(self.rng.gen_range(1..=before));
        }
        let base = self.any_base();
        let (status, reply) = self.ctx.rest.post(&base, "/chat/messages", None, body).await;
        self.ctx.counters.reads.fetch_add(1, Ordering::Relaxed);
        if status == 200 {
            let ids: Vec<i64> = reply["messages"]
                .as_array()
                .map(|m| m.iter().filter_map(|m| m["messageID"].as_i64()).collect())
                .unwrap_or_default();
            if ids.windows(2).any(|w| w[0] >= w[1]) {
                self.ctx.notes.add("/chat/messages: a page not in ascending id order");
            }
        }
    }

    async fn other_route(&mut self, chat: i64) {
        let base = self.any_base();
        let token = self.me.token.clone();
        let rest = self.ctx.rest.clone();
        self.ctx.counters.rest_calls.fetch_add(1, Ordering::Relaxed);
        match self.rng.gen_range(0..8) {
            0 => {
                let (status, reply) = rest.post(&base, "/user/profile", None, json!({"session_token": token})).await;
                if status == 200 && reply["username"] != self.me.name.as_str() {
                    self.ctx.notes.add(format!("/user/profile answered {reply}"));
                }
            }
            1 => {
                let (status, reply) =
                    rest.post(&base, "/chat/fetch-chats", None, json!({"session_token": token})).await;
                let listed: HashSet<i64> = reply["response"]
                    .as_array()
                    .map(|c| c.iter().filter_map(|c| c["chatID"].as_i64()).collect())
                    .unwrap_or_default();
                if status == 200 && !self.chats.iter().all(|c| listed.contains(c)) {
                    self.ctx.notes.add("/chat/fetch-chats left out a chat of the client");
                }
            }
            2 => {
                let body = json!({"session_token": token, "chatID": chat});
                let (status, reply) = rest.post(&base, "/chat/get-members", None, body).await;
                let me = json!(self.me.name);
                if status == 200 && !reply["members"].as_array().is_some_and(|m| m.contains(&me)) {
                    self.ctx.notes.add("/chat/get-members left out the caller");
                }
            }
            3 => {
                let word = WORDS[self.rng.gen_range(0..WORDS.len())];
                let (status, reply) =
                    rest.get(&base, "/api/search", &format!("?q={word}&limit=10"), Some(&token)).await;
                if status == 200 && reply["success"] != true {
                    self.ctx.notes.add(format!("/api/search answered {reply}"));
                }
            }
            4 => {
                let word = WORDS[self.rng.gen_range(0..WORDS.len())];
                let body =
                    json!({"query": word, "types": ["messages"], "channelIds": [chat], "sortBy": "date", "limit": 10});
                rest.post(&base, "/api/search", Some(&token), body).await;
            }
            5 => {
                rest.get(&base, "/api/health", "", None).await;
            }
            6 => {
                rest.post(&base, "/verify-connection", None, json!({"version": "soak"})).await;
            }
            _ => {
                let body = json!({"refreshToken": self.me.refresh});
                let (status, reply) = rest.post(&base, "/api/auth/refresh", None, body).await;
                if status == 200 {
                    match (reply["data"]["accessToken"].as_str(), reply["data"]["refreshToken"].as_str()) {
                        (Some(access), Some(refresh)) => {
                            self.me.token = access.to_string();
                            self.me.refresh = refresh.to_string();
                        }
                        _ => self.ctx.notes.add(format!("/api/auth/refresh answered {reply}")),
                    }
                }
            }
        }
    }
}

/// Reads one connection's frames until it ends or `stop`; records its deliveries.
async fn read_frames(
    mut stream: SplitStream<Ws>,
    ctx: Arc<Ctx>,
    me: String,
    seen: Arc<Mutex<Seen>>,
    stop: CancellationToken,
    mut record: ConnRecord,
) -> ConnRecord {
    let counters = &ctx.counters;
    loop {
        let next = tokio::select! {
            biased;
            _ = stop.cancelled() => break,
            next = stream.next() => next,
        };
        let text = match next {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(frame))) => {
                let why = describe_close(frame);
                // A close frame answering ours (a graceful disconnect) is normal: 1000.
                if !why.starts_with("1000") {
                    record.ended_by_server = Some(why);
                }
                break;
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => {
                record.ended_by_server = Some(format!("socket failed: {e}"));
                break;
            }
            None => {
                record.ended_by_server = Some("socket ended without a close frame".into());
                break;
            }
        };
        let at = now_us();
        let frame: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        match frame["type"].as_str().unwrap_or_default() {
            "new_message" => {
                let (Some(chat), Some(id)) = (frame["chatID"].as_i64(), frame["messageID"].as_i64()) else {
                    ctx.notes.add(format!("new_message without ids: {frame}"));
                    continue;
                };
                counters.delivered.fetch_add(1, Ordering::Relaxed);
                record.received.entry(chat).or_default().push(id);
                let mut seen = seen.lock().expect("seen");
                let last = seen.last.entry(chat).or_default();
                *last = (*last).max(id);
                seen.all.entry(chat).or_default().insert(id);
            }
            "ack" => {
                let (Some(nonce), Some(id)) = (frame["nonce"].as_str(), frame["messageID"].as_i64()) else {
                    ctx.notes.add(format!("ack without nonce or id: {frame}"));
                    continue;
                };
                let mut seen = seen.lock().expect("seen");
                if let Some(pending) = seen.pending.remove(nonce) {
                    if record.received.get(&pending.chat).is_some_and(|ids| ids.contains(&id)) {
                        counters.acks_after_echo.fetch_add(1, Ordering::Relaxed);
                    }
                    seen.ws_ack_us.push(at.saturating_sub(pending.sent_us));
                    seen.acked.insert(nonce.to_string(), (pending.chat, id, pending.text));
                } else if let Some((_, first, _)) = seen.acked.get(nonce) {
                    // A resent post acked twice: it must be the same message.
                    counters.reacked.fetch_add(1, Ordering::Relaxed);
                    if *first != id {
                        ctx.notes.add(format!("nonce {nonce} acked as {first} and then as {id}"));
                    }
                } else {
                    ctx.notes.add(format!("an ack for an unknown nonce: {frame}"));
                }
            }
            "user_typing" => {
                counters.typing_received.fetch_add(1, Ordering::Relaxed);
                if frame["username"] == me.as_str() {
                    counters.own_typing.fetch_add(1, Ordering::Relaxed);
                }
            }
            "error" => {
                counters.error_frames.fetch_add(1, Ordering::Relaxed);
                ctx.notes.add(format!("error frame: {}", frame["message"]));
            }
            _ => {
                counters.other_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    record
}

// ---------------------------------------------------------------------------------------------
// One run

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
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

/// Polls `done` every 100 ms until it holds or `limit` passes; says whether it held.
async fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    true
}

/// Every message of `chats`, oldest first, paged with `after`: chat → [(id, text)].
async fn stored_messages(
    rest: &Rest,
    base: &str,
    readers: &HashMap<i64, String>,
) -> anyhow::Result<HashMap<i64, Vec<(i64, String)>>> {
    let mut stored = HashMap::new();
    for (chat, token) in readers {
        let mut messages: Vec<(i64, String)> = Vec::new();
        let mut after = 0i64;
        loop {
            let body = json!({"session_token": token, "chatID": chat, "limit": 200, "after": after});
            let (status, reply) = rest.post(base, "/chat/messages", None, body).await;
            ensure!(status == 200, "/chat/messages for the read-back: {status} {reply}");
            let page = reply["messages"].as_array().context("messages")?;
            for message in page {
                let id = message["messageID"].as_i64().context("messageID")?;
                ensure!(id > after, "/chat/messages went backwards ({id} after {after})");
                after = id;
                messages.push((id, message["message"].as_str().unwrap_or_default().to_string()));
            }
            if page.len() < 200 {
                break;
            }
        }
        stored.insert(*chat, messages);
    }
    Ok(stored)
}

async fn soak(config: &Config, backend: Backend, name: &str, nodes: usize) -> anyhow::Result<Vec<String>> {
    println!("\n== {name}: {nodes} node(s), {} clients, {} s ==", config.clients, config.secs);
    let cluster = Cluster::start(config, backend, nodes).await?;
    let result = soak_on(config, &cluster).await;
    let problems = cluster.problems();
    if problems.is_empty() {
        println!("  server logs: no warnings or errors");
    } else {
        // Grouped by message (the text after the level, up to its first ':'): count, first line.
        let mut kinds: Vec<(String, usize, &String)> = Vec::new();
        for line in &problems {
            let after_level = line.split_once("WARN ").or_else(|| line.split_once("ERROR ")).map_or("", |(_, r)| r);
            let kind: String = after_level.split(':').next().unwrap_or_default().chars().take(80).collect();
            match kinds.iter_mut().find(|(k, _, _)| *k == kind) {
                Some(entry) => entry.1 += 1,
                None => kinds.push((kind, 1, line)),
            }
        }
        println!("  server logs: {} warning/error lines:", problems.len());
        for (kind, count, first) in kinds.iter().take(10) {
            println!("    {count} × {kind}; first: {first}");
        }
    }
    cluster.finish().await;
    result
}

async fn soak_on(config: &Config, cluster: &Cluster) -> anyhow::Result<Vec<String>> {
    let stats = Arc::new(Stats::default());
    let nodes = cluster.nodes.len();

    // Setup, on a client of its own that is dropped (with its keep-alive connections) before the
    // "before" reading.
    let started = Instant::now();
    let setup = Rest::new(stats.clone())?;
    let accounts = sign_up(&setup, cluster, config.clients).await?;
    let chats = make_groups(&setup, cluster, &accounts, config.group_size).await?;
    let distinct: HashSet<i64> = chats.iter().flatten().copied().collect();
    warm_up(&setup, cluster, &accounts, &chats).await;
    drop(setup);
    println!(
        "  setup: {} accounts, {} groups (each client in {}), warm-up: {:.1} s",
        accounts.len(),
        distinct.len(),
        if distinct.len() > 1 { 2 } else { 1 },
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = cluster.resources();

    // Load.
    let load_rest = Rest::new(stats.clone())?;
    let ctx = Arc::new(Ctx {
        rest: load_rest.clone(),
        ws_urls: (0..nodes).map(|n| cluster.ws_url(n)).collect(),
        bases: (0..nodes).map(|n| cluster.base(n).to_string()).collect(),
        counters: Counters::default(),
        notes: Notes::default(),
        stop: CancellationToken::new(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(config.secs),
        pause: Duration::from_millis(config.pause_ms),
        reconnect_every: Duration::from_secs_f64(config.reconnect_secs),
    });
    let load_started = Instant::now();
    let mut tasks = Vec::new();
    for (account, chats) in accounts.iter().zip(&chats) {
        let client = Client {
            ctx: ctx.clone(),
            me: account.clone(),
            chats: chats.clone(),
            seen: Arc::new(Mutex::new(Seen::default())),
            node: account.index % nodes,
            rng: StdRng::seed_from_u64(0x50a4 + account.index as u64),
            seq: 0,
            records: Vec::new(),
        };
        tasks.push((client.seen.clone(), tokio::spawn(client.run())));
    }
    // Peak RSS and fds while loaded.
    let sampling = CancellationToken::new();
    let sampler = {
        let sampling = sampling.clone();
        let pids: Vec<u32> = cluster.nodes.iter().map(|n| n.pid()).collect();
        tokio::spawn(async move {
            // Per node: (lowest RSS, highest RSS, highest fd count).
            let mut peak = vec![(u64::MAX, 0u64, 0usize); pids.len()];
            // Every 30 s: (seconds into the load, RSS of each node).
            let mut timeline: Vec<(u64, Vec<u64>)> = Vec::new();
            let started = Instant::now();
            loop {
                let mut now = Vec::new();
                for (slot, pid) in peak.iter_mut().zip(&pids) {
                    let (rss, fds) = proc_resources(*pid);
                    *slot = (slot.0.min(rss), slot.1.max(rss), slot.2.max(fds));
                    now.push(rss);
                }
                let secs = started.elapsed().as_secs();
                if timeline.last().is_none_or(|(at, _)| secs >= at + 30) {
                    timeline.push((secs / 30 * 30, now));
                }
                tokio::select! {
                    _ = sampling.cancelled() => return (peak, timeline),
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        })
    };
    tokio::time::sleep_until(ctx.deadline).await;
    let all_drained = wait_until(Duration::from_secs(90), || {
        // A client that failed has finished without draining.
        let failed = tasks.iter().filter(|(_, t)| t.is_finished()).count();
        ctx.counters.drained.load(Ordering::Relaxed) + failed >= accounts.len()
    })
    .await;
    let load_secs = load_started.elapsed().as_secs_f64();

    // What was stored, read back through one member of each chat.
    let mut readers: HashMap<i64, String> = HashMap::new();
    for (account, chats) in accounts.iter().zip(&chats) {
        for chat in chats {
            readers.entry(*chat).or_insert_with(|| account.token.clone());
        }
    }
    let stored = stored_messages(&load_rest, cluster.base(0), &readers).await?;
    // Let every client catch up with what was stored, on its open socket.
    let caught_up = wait_until(Duration::from_secs(30), || {
        tasks.iter().zip(&chats).all(|((seen, _), chats)| {
            let seen = seen.lock().expect("seen");
            chats
                .iter()
                .all(|c| stored[c].last().is_none_or(|(last, _)| seen.last.get(c).copied().unwrap_or(0) >= *last))
        })
    })
    .await;
    ctx.stop.cancel();
    let mut outcomes = Vec::new();
    let mut client_errors = Vec::new();
    for (_, task) in tasks {
        match tokio::time::timeout(Duration::from_secs(30), task).await {
            Ok(Ok(Ok(outcome))) => outcomes.push(outcome),
            Ok(Ok(Err(e))) => client_errors.push(format!("{e:#}")),
            Ok(Err(e)) => client_errors.push(format!("a client panicked: {e}")),
            Err(_) => client_errors.push("a client did not finish within 30 s".into()),
        }
    }
    sampling.cancel();
    let (peak, timeline) = sampler.await.unwrap_or_default();
    drop(load_rest);

    // Settle, then read memory and fds again.
    let settle_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(config.settle_secs)).await;
    wait_until(Duration::from_secs(30), || {
        cluster.resources().iter().zip(&before).all(|((_, fds), (_, fds_before))| *fds <= fds_before + config.fd_slack)
    })
    .await;
    let settle_secs = settle_started.elapsed().as_secs_f64();
    let after = cluster.resources();

    // Checks.
    let mut failures = Vec::new();
    let mut failed = |what: String| failures.push(what);
    if !all_drained {
        failed("not every client had its posts acked within 90 s of the end".into());
    }
    if !caught_up {
        failed("not every client had seen every stored message 30 s after the read-back".into());
    }
    for e in client_errors.iter().take(5) {
        failed(format!("client: {e}"));
    }

    // Stored exactly once, under the acked id; every stored message of the run acked.
    let mut by_text: HashMap<&str, Vec<(i64, i64)>> = HashMap::new();
    let mut stored_ids: HashMap<i64, HashMap<i64, &str>> = HashMap::new();
    for (chat, messages) in &stored {
        for (id, text) in messages {
            stored_ids.entry(*chat).or_default().insert(*id, text);
            if text.starts_with("soak ") {
                by_text.entry(text).or_default().push((*chat, *id));
            }
        }
    }
    let stored_total: usize = by_text.values().map(Vec::len).sum();
    let duplicated = by_text.values().filter(|ids| ids.len() > 1).count();
    if duplicated > 0 {
        failed(format!("{duplicated} posts stored more than once"));
    }
    let mut acked_total = 0usize;
    let mut acked_missing = 0usize;
    let mut acked_texts = HashSet::new();
    let mut unacked = 0usize;
    let mut ws_acks = Vec::new();
    let mut rest_posts = Vec::new();
    for outcome in &outcomes {
        unacked += outcome.seen.pending.len();
        ws_acks.extend_from_slice(&outcome.seen.ws_ack_us);
        rest_posts.extend_from_slice(&outcome.seen.rest_post_us);
        for (chat, id, text) in outcome.seen.acked.values() {
            acked_total += 1;
            acked_texts.insert(text.as_str());
            if stored_ids.get(chat).and_then(|m| m.get(id)) != Some(&text.as_str()) {
                acked_missing += 1;
            }
        }
    }
    if acked_missing > 0 {
        failed(format!("{acked_missing} acked posts are not stored under their chat and id"));
    }
    if unacked > 0 {
        failed(format!("{unacked} socket posts were never acked"));
    }
    let never_acked = by_text.keys().filter(|t| !acked_texts.contains(*t)).count();
    if never_acked > 0 {
        failed(format!("{never_acked} stored posts were never acked"));
    }

    // Deliveries: per connection (after, highest received] complete and without duplicates;
    // over all connections, every stored message of the client's chats.
    let mut connections = 0usize;
    let mut conn_duplicates = 0usize;
    let mut conn_gaps = 0usize;
    // Stored ids that some connection had to deliver (inside its span).
    let mut span_ids = 0usize;
    let mut gap_examples = Vec::new();
    let mut missed = 0usize;
    let mut phantoms = 0usize;
    let mut ended_by_server = 0usize;
    let mut per_node = vec![0usize; nodes];
    for outcome in &outcomes {
        for record in &outcome.records {
            connections += 1;
            per_node[record.node] += 1;
            if let Some(why) = &record.ended_by_server {
                ended_by_server += 1;
                ctx.notes.add(format!("a socket ended by the server: {why}"));
            }
            for (chat, received) in &record.received {
                let mut unique = HashSet::new();
                conn_duplicates += received.iter().filter(|id| !unique.insert(**id)).count();
                let after = record.after.get(chat).copied().unwrap_or(0);
                let top = received.iter().copied().max().unwrap_or(after);
                let ids = stored.get(chat).map(Vec::as_slice).unwrap_or_default();
                for (id, _) in ids.iter().filter(|(id, _)| *id > after && *id <= top) {
                    span_ids += 1;
                    if !unique.contains(id) {
                        conn_gaps += 1;
                        if gap_examples.len() < 5 {
                            gap_examples.push(format!(
                                "chat {chat} id {id} on a node-{} connection joined after {after} (highest received {top})",
                                record.node
                            ));
                        }
                    }
                }
            }
        }
        for chat in &outcome.chats {
            let seen = outcome.seen.all.get(chat).cloned().unwrap_or_default();
            let ids: HashSet<i64> = stored.get(chat).map(|m| m.iter().map(|(id, _)| *id).collect()).unwrap_or_default();
            missed += ids.difference(&seen).count();
            phantoms += seen.difference(&ids).count();
        }
    }
    if conn_duplicates > 0 {
        failed(format!("{conn_duplicates} messages delivered twice on one connection"));
    }
    if conn_gaps > 0 {
        failed(format!("{conn_gaps} messages missing inside a connection's span: {}", gap_examples.join("; ")));
    }
    if missed > 0 {
        failed(format!("{missed} (client, message) pairs never delivered on any connection"));
    }
    if phantoms > 0 {
        failed(format!("{phantoms} deliveries of messages that are not stored"));
    }
    if ended_by_server > 0 {
        failed(format!("{ended_by_server} sockets ended by the server or the network"));
    }
    let counters = &ctx.counters;
    let error_frames = counters.error_frames.load(Ordering::Relaxed);
    if error_frames > 0 {
        failed(format!("{error_frames} error frames"));
    }
    if counters.typing_sent.load(Ordering::Relaxed) > 0 && counters.typing_received.load(Ordering::Relaxed) == 0 {
        failed("typing frames were sent but no user_typing arrived".into());
    }
    let own_typing = counters.own_typing.load(Ordering::Relaxed);
    if own_typing > 0 {
        failed(format!("{own_typing} user_typing frames about the receiver itself"));
    }
    let server_errors = stats.total(|s| s >= 500);
    let transport = stats.total(|s| s == 0);
    let refused = stats.total(|s| (300..500).contains(&s));
    if server_errors > 0 {
        failed(format!("{server_errors} HTTP 5xx answers"));
    }
    if transport > 0 {
        failed(format!("{transport} HTTP requests failed in transport"));
    }
    if refused > 0 {
        failed(format!("{refused} HTTP answers 3xx/4xx"));
    }
    for (node, ((rss0, fds0), (rss1, fds1))) in before.iter().zip(&after).enumerate() {
        if *fds1 > fds0 + config.fd_slack {
            failed(format!("node {node}: open fds {fds0} before, {fds1} after (slack {})", config.fd_slack));
        }
        if rss1.saturating_sub(*rss0) > config.rss_growth_mib * 1024 * 1024 {
            failed(format!(
                "node {node}: RSS grew {:.1} MiB ({:.1} → {:.1}), bound {} MiB",
                mib(rss1 - rss0),
                mib(*rss0),
                mib(*rss1),
                config.rss_growth_mib
            ));
        }
        // "Before" may still hold the sign-ups' argon2 buffers: also against the lowest
        // reading under load.
        let low = peak.get(node).map_or(*rss0, |(low, _, _)| (*low).min(*rss0));
        if rss1.saturating_sub(low) > config.rss_growth_mib * 1024 * 1024 {
            failed(format!(
                "node {node}: RSS {:.1} MiB after, {:.1} MiB above its lowest reading under load (bound {} MiB)",
                mib(*rss1),
                mib(rss1 - low),
                config.rss_growth_mib
            ));
        }
    }

    // Summary.
    ws_acks.sort_unstable();
    rest_posts.sort_unstable();
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    let delivered = load(&counters.delivered);
    println!("  load: {load_secs:.1} s (posting {} s, then acks and catch-up)", config.secs);
    println!(
        "  posts: {} on sockets + {} over REST = {} acked, {} stored ({} resent after a reconnect, {} acked again with the same id)",
        load(&counters.ws_posts),
        load(&counters.rest_posts),
        acked_total,
        stored_total,
        load(&counters.resent),
        load(&counters.reacked)
    );
    println!(
        "  ack latency: socket p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; REST post p50 {:.1} ms, p99 {:.1} ms",
        ms(percentile(&ws_acks, 0.5)),
        ms(percentile(&ws_acks, 0.99)),
        ms(ws_acks.last().copied().unwrap_or_default()),
        ms(percentile(&rest_posts, 0.5)),
        ms(percentile(&rest_posts, 0.99))
    );
    println!(
        "    ({} of {} socket acks came after the post's own new_message on the same socket)",
        load(&counters.acks_after_echo),
        ws_acks.len()
    );
    println!(
        "  deliveries: {delivered} new_message frames ({:.0}/s), {} typing sent, {} user_typing received, {} other frames",
        delivered as f64 / load_secs.max(1e-3),
        load(&counters.typing_sent),
        load(&counters.typing_received),
        load(&counters.other_frames)
    );
    println!(
        "  connections: {connections} (per node {per_node:?}), {} planned reconnects ({} without a close frame), {} revived after the server ended them",
        load(&counters.reconnects),
        load(&counters.abrupt),
        load(&counters.unexpected_ends)
    );
    println!(
        "  checks: {duplicated} stored twice, {acked_missing} acked but not stored, {never_acked} stored but never acked, \
         {unacked} never acked; per connection {conn_duplicates} duplicates and {conn_gaps} gaps (of {span_ids} deliveries due); {missed} never delivered, {phantoms} phantom"
    );
    println!(
        "  REST: {} page reads, {} other calls, {} requests in all (setup included): {}",
        load(&counters.reads),
        load(&counters.rest_calls),
        stats.total(|_| true),
        stats.by_status()
    );
    for line in stats.by_route() {
        println!("    {line}");
    }
    for (node, (((rss0, fds0), (rss1, fds1)), (low_rss, peak_rss, peak_fds))) in
        before.iter().zip(&after).zip(&peak).enumerate()
    {
        println!(
            "  node {node}: RSS {:.1} MiB before, {:.1}–{:.1} under load, {:.1} after ({:+.1} MiB, bound +{}); \
             fds {fds0} before, peak {peak_fds}, {fds1} after ({:+}, slack {}); settle {settle_secs:.1} s",
            mib(*rss0),
            mib(*low_rss),
            mib(*peak_rss),
            mib(*rss1),
            mib(*rss1) - mib(*rss0),
            config.rss_growth_mib,
            *fds1 as i64 - *fds0 as i64,
            config.fd_slack
        );
    }
    let points: Vec<String> = timeline
        .iter()
        .map(|(at, rss)| {
            format!("{at}s {}", rss.iter().map(|r| format!("{:.0}", mib(*r))).collect::<Vec<_>>().join("/"))
        })
        .collect();
    println!("  RSS under load every 30 s (MiB, per node): {}", points.join(", "));
    for line in ctx.notes.lines().into_iter().chain(stats.notes.lines()) {
        println!("  note: {line}");
    }
    if failures.is_empty() {
        println!("  verdict: PASS");
    } else {
        println!("  verdict: FAIL ({} problems)", failures.len());
    }
    Ok(failures)
}

/// (VmRSS bytes, open fds) of a process; zeros when it is gone.
fn proc_resources(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let rss = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024);
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |entries| entries.count());
    (rss, fds)
}
