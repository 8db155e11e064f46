//! What the benchmarks share: their clock, settings from the environment, the WebSocket client's
//! reads and writes, and short notes of what went wrong. Each benchmark uses part of it.
#![allow(dead_code)]

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long a client waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(10);

static CLOCK: OnceLock<Instant> = OnceLock::new();

/// Microseconds on this process's one clock (senders and receivers alike).
pub fn now_us() -> u64 {
    CLOCK.get_or_init(Instant::now).elapsed().as_micros() as u64
}

pub fn env_num<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(default)
}

/// The machine's load averages (1, 5, 15 minutes): the figures are a floor when it is busy.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The next JSON text frame (pings skipped); a close, an error or silence for WAIT is an error.
pub async fn next_json(ws: &mut Ws) -> anyhow::Result<Value> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => bail!("no frame within {WAIT:?}"),
            Ok(None) => bail!("socket ended"),
            Ok(Some(Err(e))) => bail!("socket failed: {e}"),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(serde_json::from_str(&text)?),
            Ok(Some(Ok(Message::Close(frame)))) => bail!("closed by the server: {}", describe_close(frame)),
            Ok(Some(Ok(_))) => continue,
        }
    }
}

pub fn describe_close(frame: Option<CloseFrame>) -> String {
    frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_else(|| "no close frame".into())
}

pub async fn send_json(ws: &mut Ws, frame: Value) -> anyhow::Result<()> {
    ws.send(Message::text(frame.to_string())).await?;
    Ok(())
}

/// Notes of what went wrong, kept short: the first few of each kind, and a count.
#[derive(Default)]
pub struct Notes(Mutex<Vec<(String, usize)>>);

impl Notes {
    pub fn add(&self, note: impl Into<String>) {
        let note = note.into();
        let mut notes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = notes.iter_mut().find(|(n, _)| *n == note) {
            entry.1 += 1;
        } else if notes.len() < 30 {
            notes.push((note, 1));
        }
    }

    /// "count × note", one line each.
    pub fn lines(&self) -> Vec<String> {
        let notes = self.0.lock().unwrap_or_else(|p| p.into_inner());
        notes.iter().map(|(note, count)| format!("{count} × {note}")).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).is_empty()
    }
}

/// A `hearth` binary a run measures.
pub struct Build {
    pub label: String,
    pub binary: std::path::PathBuf,
}

/// The builds a run compares: the one HEARTH_BENCH_BASELINE names (a `hearth` binary built from an
/// earlier commit, e.g. `git worktree add ../base <commit> && cargo build --release --bin hearth`)
/// first, then this one, so before and after are measured in the same run on the same machine.
pub fn builds() -> anyhow::Result<Vec<Build>> {
    let mut builds = Vec::new();
    if let Some(baseline) = std::env::var_os("HEARTH_BENCH_BASELINE").filter(|path| !path.is_empty()) {
        let binary = std::path::PathBuf::from(baseline);
        anyhow::ensure!(binary.is_file(), "HEARTH_BENCH_BASELINE={} is not a file", binary.display());
        builds.push(Build { label: "baseline".into(), binary });
    }
    builds.push(Build { label: "this build".into(), binary: env!("CARGO_BIN_EXE_hearth").into() });
    Ok(builds)
}
