//! Issue 7: no acknowledged message is lost when the server dies. Posters write continuously
//! over REST (`/chat/post-message`) and the WebSocket (`post_msg` with a nonce, answered by
//! `ack`) while the real `hearth` binary is SIGKILLed mid-stream. After a restart on the same
//! address and database, every message whose 2xx or `ack` its client received must be stored
//! exactly once, with the acknowledged id, in its sender's order, and be replayed to a client
//! resuming with `join_chat {after}`. Requests that never got an answer may or may not be stored,
//! but each sender's stored messages must still be a gap-free prefix of what it sent; sent again
//! with their nonces after the restart, each ends up stored exactly once. A reader following the
//! chat live must get its `new_message` frames in id order, so that resuming after the last id
//! it saw skips nothing.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use hearth::testing::ChildServer;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::helpers::{Backend, PASSWORD};
use crate::on_both_backends;

on_both_backends!(acknowledged_messages_survive_sigkill);

/// Kill/restart cycles per backend.
const CYCLES: usize = 3;
/// Posts one WebSocket poster keeps in flight (frames on one socket are handled in order).
const WS_WINDOW: usize = 8;
/// Posting lasts this long, plus up to the jitter, and until at least MIN_ACKS acks.
const POSTING_MIN: Duration = Duration::from_millis(1000);
const POSTING_JITTER_MS: u64 = 1500;
const MIN_ACKS: usize = 300;
const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
const WAIT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What one poster did in one cycle. Its messages are `c{cycle}-{name}-{seq}`, seq from 0.
#[derive(Debug, Clone)]
struct SenderLog {
    name: String,
    cycle: usize,
    user: &'static str,
    /// Whether its posts carry a nonce (the text), so it can safely send them again.
    nonce: bool,
    /// Posts that may have reached the server (seq 0..sent).
    sent: usize,
    /// (seq, stored id) for every 2xx or `ack` received, in the order received.
    acked: Vec<(usize, i64)>,
    /// Answers that refused a post (non-2xx, `error` frames): none are expected.
    rejected: Vec<String>,
}

impl SenderLog {
    fn new(name: String, cycle: usize, user: &'static str, nonce: bool) -> Self {
        SenderLog { name, cycle, user, nonce, sent: 0, acked: Vec::new(), rejected: Vec::new() }
    }

    fn text(&self, seq: usize) -> String {
        format!("c{}-{}-{seq}", self.cycle, self.name)
    }

    fn prefix(&self) -> String {
        format!("c{}-{}-", self.cycle, self.name)
    }

    fn unknown(&self) -> usize {
        self.sent - self.acked.len()
    }
}

#[derive(Debug, Clone)]
struct Stored {
    id: i64,
    username: String,
    text: String,
}

struct Users {
    alice: String,
    bob: String,
}

impl Users {
    fn token(&self, user: &str) -> &str {
        if user == "alice" {
            &self.alice
        } else {
            &self.bob
        }
    }
}

fn child_env(database_url: &str, data_dir: &str) -> Vec<(&'static str, String)> {
    vec![
        ("DATABASE_URL", database_url.to_string()),
        ("HEARTH_DATA_DIR", data_dir.to_string()),
        ("HEARTH_JWT_SECRET", JWT_SECRET.to_string()),
        // Accounts are not what this test is about: no mailed codes.
        ("HEARTH_EMAIL_VERIFICATION", "off".to_string()),
        ("HEARTH_AUTH_LIMIT_PER_IP", "1000".to_string()),
        ("HEARTH_AUTH_LIMIT_PER_ACCOUNT", "1000".to_string()),
        ("HEARTH_API_LIMIT", "10000".to_string()),
        // Posters send as fast as they can; the watcher receives every message.
        ("HEARTH_WS_FRAMES_PER_SEC", "100000".to_string()),
        ("HEARTH_WS_QUEUE_FRAMES", "100000".to_string()),
        ("HEARTH_SITE_ROOT", format!("{}/../target/site", env!("CARGO_MANIFEST_DIR"))),
    ]
}

async fn acknowledged_messages_survive_sigkill(backend: Backend) {
    let began = Instant::now();
    let data_dir = hearth::testing::scratch_dir("durability");
    let database_url = crate::helpers::fresh_database(backend, &data_dir).await;
    let env = child_env(&database_url, &data_dir.display().to_string());
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let binary = std::path::Path::new(env!("CARGO_BIN_EXE_hearth"));
    let mut server = ChildServer::start(binary, None, &env).await.expect("hearth starts");
    let client = http_client();

    let users = Users {
        alice: sign_up(&client, &server.base, "alice").await,
        bob: sign_up(&client, &server.base, "bob").await,
    };
    let reply =
        post(&client, &server.base, "/chat/create-chat", json!({"session_token": users.alice, "receiver": "bob"}))
            .await
            .expect("create-chat answers");
    let chat = reply["chatID"].as_i64().unwrap_or_else(|| panic!("chatID in {reply}"));

    let mut logs: Vec<SenderLog> = Vec::new();
    let mut last_id = 0;
    for cycle in 0..CYCLES {
        let cycle_began = Instant::now();
        let kill_after = POSTING_MIN + Duration::from_millis(rand::random::<u64>() % POSTING_JITTER_MS);
        let acks = Arc::new(AtomicUsize::new(0));
        // New clients on each side of a kill: no pooled connection to the dead process is reused.
        let client = http_client();

        // A reader following the chat live, as a browser would; it resumes after the restart.
        let (watcher_ready, watcher) = {
            let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
            let url = ws_url(&server.base);
            let token = users.alice.clone();
            let handle = tokio::spawn(async move { watch(url, token, chat, last_id, ready_tx).await });
            (ready_rx, handle)
        };
        watcher_ready.await.expect("the watcher joins the chat");

        let stop = Arc::new(AtomicBool::new(false));
        let mut posters = Vec::new();
        // rest0 is a plain ChatCLI client (no nonce); the others send nonces.
        for (index, user) in ["alice", "bob", "alice"].into_iter().enumerate() {
            let log = SenderLog::new(format!("rest{index}"), cycle, user, index > 0);
            let (client, base, token) = (client.clone(), server.base.clone(), users.token(user).to_string());
            let (acks, stop) = (acks.clone(), stop.clone());
            posters.push(tokio::spawn(async move { rest_poster(log, client, base, token, chat, acks, stop).await }));
        }
        for (index, user) in ["bob", "alice", "bob"].into_iter().enumerate() {
            let log = SenderLog::new(format!("ws{index}"), cycle, user, true);
            let (url, token) = (ws_url(&server.base), users.token(user).to_string());
            let (acks, stop) = (acks.clone(), stop.clone());
            posters.push(tokio::spawn(async move { ws_poster(log, url, token, chat, acks, stop).await }));
        }

        // SIGKILL at a random moment after a second or two of posting (and some hundreds of
        // acks), with posts in flight.
        let posting_began = Instant::now();
        while posting_began.elapsed() < kill_after || acks.load(Ordering::SeqCst) < MIN_ACKS {
            assert!(
                posting_began.elapsed() < Duration::from_secs(60),
                "only {} acks in 60 s; server log:\n{}",
                acks.load(Ordering::SeqCst),
                server.log()
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let acked_at_kill = acks.load(Ordering::SeqCst);
        server.kill();
        stop.store(true, Ordering::SeqCst);
        let posting = posting_began.elapsed();

        let mut cycle_logs = Vec::new();
        for poster in posters {
            let log = tokio::time::timeout(Duration::from_secs(30), poster)
                .await
                .expect("posters notice the dead server")
                .expect("poster task");
            assert!(log.rejected.is_empty(), "{} had posts refused: {:?}", log.name, log.rejected);
            cycle_logs.push(log);
        }
        let seen_live = tokio::time::timeout(Duration::from_secs(30), watcher)
            .await
            .expect("the watcher notices the dead server")
            .expect("watcher task");

        server.restart().await.expect("hearth restarts on the same database");
        let client = http_client();

        // Every acknowledged message of every cycle so far, checked against what is stored.
        logs.extend(cycle_logs.iter().cloned());
        let stored = stored_messages(&client, &server.base, &users.alice, chat).await;
        check_stored(&stored, &logs);
        let by_id: HashMap<i64, &Stored> = stored.iter().map(|m| (m.id, m)).collect();
        for id in &seen_live {
            assert!(by_id.contains_key(id), "message {id} was delivered live before the kill but is not stored");
        }

        // Resuming: where the watcher stopped, and from the middle of this cycle's acks.
        let mut cycle_acks: Vec<i64> = cycle_logs.iter().flat_map(|l| l.acked.iter().map(|(_, id)| *id)).collect();
        cycle_acks.sort_unstable();
        let watcher_after = seen_live.iter().copied().max().unwrap_or(last_id);
        // Live frames come in id order: "the last id it saw" is then a lossless cursor for a
        // client that reconnects at any moment.
        let inversions: Vec<&[i64]> = seen_live.windows(2).filter(|pair| pair[0] > pair[1]).collect();
        assert!(
            inversions.is_empty(),
            "{} live new_message frames came after a higher id (first: {:?}): a client resuming after \
             the last id it saw would never get them",
            inversions.len(),
            inversions.first()
        );
        let middle_after = cycle_acks.get(cycle_acks.len() / 2).copied().unwrap_or(last_id);
        for after in [watcher_after, middle_after] {
            let expected: Vec<&Stored> = stored.iter().filter(|m| m.id > after).collect();
            let replayed = resume(&ws_url(&server.base), &users.bob, chat, after, expected.len()).await;
            let replayed_ids: Vec<i64> = replayed.iter().map(|m| m.id).collect();
            let expected_ids: Vec<i64> = expected.iter().map(|m| m.id).collect();
            assert_eq!(replayed_ids, expected_ids, "replay after {after} differs from the stored history");
            for (got, want) in replayed.iter().zip(&expected) {
                assert_eq!((&got.text, &got.username), (&want.text, &want.username), "message {}", want.id);
            }
            for id in cycle_acks.iter().filter(|id| **id > after) {
                assert!(
                    replayed_ids.binary_search(id).is_ok(),
                    "acknowledged {id} missing from the replay after {after}"
                );
            }
        }

        let acked: usize = cycle_logs.iter().map(|l| l.acked.len()).sum();
        let unknown: usize = cycle_logs.iter().map(SenderLog::unknown).sum();
        let stored_this_cycle = stored.iter().filter(|m| m.text.starts_with(&format!("c{cycle}-"))).count();
        let rest_acked: usize = cycle_logs.iter().filter(|l| l.name.starts_with("rest")).map(|l| l.acked.len()).sum();
        println!(
            "durability {backend:?} kill {}: acked {acked} (REST {rest_acked}, WS {}; {acked_at_kill} at the kill), \
             stored {stored_this_cycle}, unknown {unknown} (stored {}, lost {}), acked lost 0, \
             live-seen {}, replays after {watcher_after} and {middle_after} ok; posting {:.2}s, cycle {:.2}s",
            cycle + 1,
            acked - rest_acked,
            stored_this_cycle - acked,
            acked + unknown - stored_this_cycle,
            seen_live.len(),
            posting.as_secs_f64(),
            cycle_began.elapsed().as_secs_f64(),
        );

        // The clients with nonces send their unanswered posts again, as after a reconnect:
        // each ends up stored exactly once, the ones that had been stored under their first id.
        let stored_ids: HashMap<&str, i64> = stored.iter().map(|m| (m.text.as_str(), m.id)).collect();
        let newest = stored.last().map_or(0, |m| m.id);
        let (mut again, mut already) = (0, 0);
        let first_of_cycle = logs.len() - cycle_logs.len();
        for log in logs[first_of_cycle..].iter_mut().filter(|l| l.nonce) {
            let token = users.token(log.user).to_string();
            again += log.unknown();
            already += redeliver(log, &client, &server.base, &token, chat, &stored_ids, newest).await;
        }
        let stored = stored_messages(&client, &server.base, &users.alice, chat).await;
        check_stored(&stored, &logs);
        println!(
            "durability {backend:?} kill {}: {again} unanswered posts sent again with their nonces: \
             {already} had been stored (same id back, no duplicate), {} stored now",
            cycle + 1,
            again - already
        );
        last_id = stored.last().map_or(last_id, |m| m.id);
    }

    // After all this, the server still stops gracefully on SIGTERM.
    server.terminate();
    let status = server.wait_exit(Duration::from_secs(20)).await.expect("hearth exits after SIGTERM");
    assert!(status.success(), "hearth exited with {status} after SIGTERM; log:\n{}", server.log());
    println!("durability {backend:?}: {CYCLES} kills in {:.1}s", began.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&data_dir);
}

/// Checks the whole stored history of the chat against what the posters were told.
fn check_stored(stored: &[Stored], logs: &[SenderLog]) {
    for pair in stored.windows(2) {
        assert!(pair[0].id < pair[1].id, "history out of order: {} before {}", pair[0].id, pair[1].id);
    }
    let mut by_text: HashMap<&str, &Stored> = HashMap::new();
    for message in stored {
        if let Some(earlier) = by_text.insert(&message.text, message) {
            panic!("{:?} is stored twice: ids {} and {}", message.text, earlier.id, message.id);
        }
    }
    let mut attributed = 0;
    for log in logs {
        // Acknowledged: stored, once, with the id the client was given.
        for (seq, id) in &log.acked {
            let text = log.text(*seq);
            let found = by_text.get(text.as_str()).unwrap_or_else(|| {
                panic!("LOST: {text:?} was acknowledged with id {id} but is not stored after the restart")
            });
            assert_eq!(found.id, *id, "{text:?} was acknowledged as {id} but stored as {}", found.id);
            assert_eq!(found.username, log.user, "{text:?} stored under the wrong user");
        }
        // Acks came in send order.
        for pair in log.acked.windows(2) {
            assert!(pair[0].0 < pair[1].0 && pair[0].1 < pair[1].1, "{}: acks out of order {pair:?}", log.name);
        }
        // What is stored of this sender: a gap-free prefix of what it sent, ids rising with seq.
        let prefix = log.prefix();
        let mut mine: Vec<(usize, i64)> =
            stored.iter().filter_map(|m| Some((m.text.strip_prefix(&prefix)?.parse::<usize>().ok()?, m.id))).collect();
        mine.sort_unstable();
        attributed += mine.len();
        for (expected_seq, (seq, _)) in mine.iter().enumerate() {
            assert_eq!(*seq, expected_seq, "{}: stored messages skip from seq {expected_seq} to {seq}", log.name);
        }
        for pair in mine.windows(2) {
            assert!(pair[0].1 < pair[1].1, "{}: seq {} stored after seq {}", log.name, pair[0].0, pair[1].0);
        }
        assert!(
            mine.len() >= log.acked.len() && mine.len() <= log.sent,
            "{}: {} stored, {} acked, {} sent",
            log.name,
            mine.len(),
            log.acked.len(),
            log.sent
        );
    }
    assert_eq!(attributed, stored.len(), "messages nobody sent are stored");
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(WAIT).build().expect("client")
}

async fn post(client: &reqwest::Client, base: &str, path: &str, body: Value) -> Result<Value, String> {
    let response = client.post(format!("{base}{path}")).json(&body).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let text = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() {
        return Err(format!("{path}: {status} {text}"));
    }
    serde_json::from_str(&text).map_err(|e| format!("{path}: {e} in {text}"))
}

/// Registers (e-mail verification is off) and signs in; returns the access token.
async fn sign_up(client: &reqwest::Client, base: &str, username: &str) -> String {
    let email = format!("{username}@example.org");
    post(client, base, "/user/register", json!({"username": username, "password": PASSWORD, "email": email}))
        .await
        .expect("register");
    let reply =
        post(client, base, "/user/login", json!({"username": username, "password": PASSWORD})).await.expect("login");
    reply["access_token"].as_str().expect("access_token").to_string()
}

/// The chat's whole history, paged forwards with `after`.
async fn stored_messages(client: &reqwest::Client, base: &str, token: &str, chat: i64) -> Vec<Stored> {
    let mut all = Vec::new();
    let mut after = 0;
    loop {
        let body = json!({"session_token": token, "chatID": chat, "limit": 200, "after": after});
        let reply = post(client, base, "/chat/messages", body).await.expect("messages");
        let page = reply["messages"].as_array().expect("messages").clone();
        let Some(last) = page.last() else { return all };
        after = last["messageID"].as_i64().expect("messageID");
        all.extend(page.iter().map(stored_from));
    }
}

fn stored_from(message: &Value) -> Stored {
    Stored {
        id: message["messageID"].as_i64().unwrap_or_else(|| panic!("messageID in {message}")),
        username: message["username"].as_str().unwrap_or_default().to_string(),
        text: message["message"].as_str().unwrap_or_default().to_string(),
    }
}

/// Sends a sender's unanswered posts again with the same nonces, in order, over its own
/// transport. Returns how many had been stored already (they must come back with their id).
async fn redeliver(
    log: &mut SenderLog,
    client: &reqwest::Client,
    base: &str,
    token: &str,
    chat: i64,
    stored: &HashMap<&str, i64>,
    newest: i64,
) -> usize {
    let mut socket = match log.name.starts_with("ws") {
        true => Some(connect(&ws_url(base), token).await.expect("the poster reconnects")),
        false => None,
    };
    let mut already = 0;
    for seq in log.acked.len()..log.sent {
        let text = log.text(seq);
        let (id, is_new) = match socket.as_mut() {
            Some(socket) => {
                let frame = json!({"type": "post_msg", "chatID": chat, "text": text, "nonce": text});
                socket.send(Message::Text(frame.to_string().into())).await.expect("post_msg");
                let ack = loop {
                    let frame = next_frame(socket).await.expect("an ack for the post sent again");
                    match frame["type"].as_str() {
                        Some("ack") => break frame,
                        Some("error") => panic!("{}: post sent again refused: {frame}", log.name),
                        _ => {}
                    }
                };
                assert_eq!(ack["nonce"].as_str(), Some(text.as_str()), "{}: ack for another post", log.name);
                (ack["messageID"].as_i64().expect("messageID"), None)
            }
            None => {
                let body = json!({"session_token": token, "chatID": chat, "text": text, "nonce": text});
                let response =
                    client.post(format!("{base}/chat/post-message")).json(&body).send().await.expect("post again");
                let status = response.status().as_u16();
                let reply: Value = response.json().await.expect("JSON answer");
                assert!(status == 200 || status == 201, "{}: post sent again got {status} {reply}", log.name);
                (reply["messageID"].as_i64().expect("messageID"), Some(status == 201))
            }
        };
        match stored.get(text.as_str()) {
            Some(first) => {
                assert_eq!(id, *first, "{text:?} was stored as {first}, but sending it again gave {id}");
                assert_ne!(is_new, Some(true), "{text:?} sent again was answered 201 though it was stored");
                already += 1;
            }
            None => {
                assert!(id > newest, "{text:?} sent again got id {id}, not after the newest {newest}");
                assert_ne!(is_new, Some(false), "{text:?} sent again was answered 200 though it was not stored");
            }
        }
        log.acked.push((seq, id));
    }
    if let Some(mut socket) = socket {
        let _ = socket.close(None).await;
    }
    already
}

async fn rest_poster(
    mut log: SenderLog,
    client: reqwest::Client,
    base: String,
    token: String,
    chat: i64,
    acks: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> SenderLog {
    while !stop.load(Ordering::SeqCst) {
        let seq = log.sent;
        let mut body = json!({"session_token": token, "chatID": chat, "text": log.text(seq)});
        if log.nonce {
            body["nonce"] = json!(log.text(seq));
        }
        let response = match client.post(format!("{base}/chat/post-message")).json(&body).send().await {
            Ok(response) => response,
            // Never connected: the post did not reach the server.
            Err(e) if e.is_connect() => break,
            Err(_) => {
                log.sent += 1;
                break;
            }
        };
        log.sent += 1;
        let status = response.status();
        // An answer cut off before its body counts as no answer.
        let Ok(text) = response.text().await else { break };
        if !status.is_success() {
            log.rejected.push(format!("{status} {text}"));
            break;
        }
        let Some(id) = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["messageID"].as_i64()) else {
            log.rejected.push(format!("{status} without messageID: {text}"));
            break;
        };
        log.acked.push((seq, id));
        acks.fetch_add(1, Ordering::SeqCst);
    }
    log
}

async fn ws_poster(
    mut log: SenderLog,
    url: String,
    token: String,
    chat: i64,
    acks: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> SenderLog {
    let Some(mut socket) = connect(&url, &token).await else { return log };
    let mut pending: VecDeque<usize> = VecDeque::new();
    loop {
        while pending.len() < WS_WINDOW && !stop.load(Ordering::SeqCst) {
            let seq = log.sent;
            let text = log.text(seq);
            let frame = json!({"type": "post_msg", "chatID": chat, "text": text, "nonce": text});
            // Counted as sent even if the write fails: part of it may have left.
            log.sent += 1;
            pending.push_back(seq);
            if socket.send(Message::Text(frame.to_string().into())).await.is_err() {
                return log;
            }
        }
        let Some(frame) = next_frame(&mut socket).await else { return log };
        match frame["type"].as_str() {
            Some("ack") => {
                let seq =
                    pending.pop_front().unwrap_or_else(|| panic!("{}: ack with nothing pending: {frame}", log.name));
                assert_eq!(
                    frame["nonce"].as_str(),
                    Some(log.text(seq).as_str()),
                    "{}: acks out of send order",
                    log.name
                );
                let id = frame["messageID"].as_i64().unwrap_or_else(|| panic!("messageID in {frame}"));
                log.acked.push((seq, id));
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Some("error") => {
                log.rejected.push(frame.to_string());
                return log;
            }
            _ => {}
        }
    }
}

/// Follows the chat from `after` on, returning the ids of the `new_message` frames it got
/// until the socket ended.
async fn watch(url: String, token: String, chat: i64, after: i64, ready: tokio::sync::oneshot::Sender<()>) -> Vec<i64> {
    let mut socket = connect(&url, &token).await.expect("watcher connects");
    let join = json!({"type": "join_chat", "chatID": chat, "after": after});
    socket.send(Message::Text(join.to_string().into())).await.expect("join_chat");
    // Frames are handled in order: once the barrier's error is back, the join is done.
    let barrier = json!({"type": "durability-barrier"});
    socket.send(Message::Text(barrier.to_string().into())).await.expect("barrier");
    let mut seen = Vec::new();
    let mut ready = Some(ready);
    while let Some(frame) = next_frame(&mut socket).await {
        match frame["type"].as_str() {
            Some("error") => {
                assert!(
                    frame["message"].as_str().unwrap_or_default().contains("durability-barrier"),
                    "watcher: {frame}"
                );
                if let Some(ready) = ready.take() {
                    let _ = ready.send(());
                }
            }
            Some("new_message") => seen.push(frame["messageID"].as_i64().expect("messageID")),
            _ => {}
        }
    }
    seen
}

/// Joins the chat with `after` and collects `expected` replayed messages, then makes sure
/// nothing more arrives.
async fn resume(url: &str, token: &str, chat: i64, after: i64, expected: usize) -> Vec<Stored> {
    let mut socket = connect(url, token).await.expect("resuming client connects");
    let join = json!({"type": "join_chat", "chatID": chat, "after": after});
    socket.send(Message::Text(join.to_string().into())).await.expect("join_chat");
    let mut replayed = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while replayed.len() < expected {
        assert!(Instant::now() < deadline, "replay after {after}: {} of {expected} messages", replayed.len());
        let frame = next_frame(&mut socket).await.expect("the replay goes on");
        if frame["type"] == "new_message" {
            replayed.push(stored_from(&frame));
        }
    }
    let barrier = json!({"type": "durability-barrier"});
    socket.send(Message::Text(barrier.to_string().into())).await.expect("barrier");
    loop {
        let frame = next_frame(&mut socket).await.expect("the barrier is answered");
        match frame["type"].as_str() {
            Some("new_message") => panic!("replay after {after} sent more than the {expected} stored: {frame}"),
            Some("error") => break,
            _ => {}
        }
    }
    let _ = socket.close(None).await;
    replayed
}

fn ws_url(base: &str) -> String {
    format!("{}/ws", base.replacen("http", "ws", 1))
}

/// Connects and authenticates; None when the server is gone.
async fn connect(url: &str, token: &str) -> Option<Socket> {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.ok()?;
    socket.send(Message::Text(json!({"type": "auth", "token": token}).to_string().into())).await.ok()?;
    let ack = next_frame(&mut socket).await?;
    assert_eq!(ack["type"], "auth_ack", "{ack}");
    Some(socket)
}

/// The next JSON text frame; None when the socket ends (or stays silent for 10 s).
async fn next_frame(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(&text).ok(),
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
