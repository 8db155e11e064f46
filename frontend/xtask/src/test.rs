//! `cargo xtask test`: services up, stale test databases gone, cargo tests, schemathesis, a bounded
//! fuzzing run, browser tests.

use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::{bundle, cargo, header, on_path, root, status};

const POSTGRES: &str = "127.0.0.1:5432";
const NATS: &str = "127.0.0.1:4222";
const NATS_SERVER: &str = "/usr/sbin/nats-server";
const CHROMIUM: &str = "/usr/bin/chromium";
const EMOJI_FONT: &str = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf";
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

pub fn test() -> Result<()> {
    let pg_url = std::env::var("HEARTH_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_PG_URL.into());
    let mut results: Vec<(&str, &str)> = Vec::new();

    header("test: services (PostgreSQL, NATS)");
    ensure_postgres()?;
    results.push(("postgres", "up"));
    results.push(("nats", if ensure_nats()? { "up" } else { "skipped" }));

    header("test: drop leftover hearth_test_* databases");
    results.push(("cleanup", drop_test_databases(&pg_url)));

    // Cheap and first: a missing key or a sentence outside the catalogue fails in seconds.
    header("test: the message catalogue (cargo xtask i18n)");
    let outcome = report(crate::i18n::check());
    let mut failed = outcome == "FAILED";
    results.push(("i18n", outcome));

    // One package at a time: `--workspace` would unify app's `ssr` and `hydrate` features.
    for (name, args) in
        [("app", &["test", "-p", "app", "--features", "ssr"][..]), ("server", &["test", "-p", "server"][..])]
    {
        header(&format!("test: cargo {}", args.join(" ")));
        let mut cmd = cargo();
        cmd.args(args).env("HEARTH_TEST_POSTGRES_URL", &pg_url);
        let outcome = report(status(cmd));
        failed |= outcome == "FAILED";
        results.push((name, outcome));
    }

    header("test: schemathesis against /openapi.json and nchat's spec");
    let outcome = report(crate::schemathesis::run(&[]));
    failed |= outcome == "FAILED";
    results.push(("schemathesis", outcome));

    header("test: cargo fuzz, a bounded run of each target");
    let outcome = report(crate::fuzz::seconds(None).and_then(|seconds| crate::fuzz::run(seconds, &[])));
    failed |= outcome == "FAILED";
    results.push(("fuzz", outcome));

    let end2end = root().join("end2end");
    if end2end.join("package.json").is_file() {
        let outcome = report(browser_tests(&end2end));
        failed |= outcome == "FAILED";
        results.push(("end2end", outcome));
    } else {
        results.push(("end2end", "skipped (no end2end/package.json)"));
    }

    let summary: Vec<String> = results.iter().map(|(step, r)| format!("{step} {r}")).collect();
    println!("\nxtask test: {}", summary.join(", "));
    if failed {
        bail!("some test steps failed");
    }
    Ok(())
}

/// Turns a step's result into its summary word, printing the error so the log says why.
fn report(result: Result<()>) -> &'static str {
    match result {
        Ok(()) => "passed",
        Err(e) => {
            eprintln!("error: {e:#}");
            "FAILED"
        }
    }
}

fn ensure_postgres() -> Result<()> {
    if listening(POSTGRES) {
        return Ok(());
    }
    // Debian keeps one directory per major version in /etc/postgresql.
    let version = std::fs::read_dir("/etc/postgresql")
        .context("PostgreSQL is not running on 127.0.0.1:5432 and /etc/postgresql is missing")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .context("PostgreSQL is not running and /etc/postgresql holds no cluster")?;
    eprintln!("starting PostgreSQL {version}");
    let mut cmd = Command::new("pg_ctlcluster");
    // Without the flag pg_ctlcluster hands over to systemctl, which containers do not have.
    cmd.args(["--skip-systemctl-redirect", &version, "main", "start"]);
    if let Err(e) = status(cmd) {
        eprintln!("warning: {e:#}");
    }
    wait_for(POSTGRES, "PostgreSQL")
}

/// Returns false when NATS is down and not installed: the tests do not use it yet.
fn ensure_nats() -> Result<bool> {
    if listening(NATS) {
        return Ok(true);
    }
    if !Path::new(NATS_SERVER).exists() {
        eprintln!("warning: NATS is not running on {NATS} and {NATS_SERVER} is missing; skipping");
        return Ok(false);
    }
    eprintln!("starting NATS");
    let mut cmd = Command::new("start-stop-daemon");
    let daemon = "--start --oknodo --background --exec";
    let nats = "-a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log";
    cmd.args(daemon.split(' ')).args([NATS_SERVER, "--"]).args(nats.split(' '));
    status(cmd)?;
    wait_for(NATS, "NATS")?;
    Ok(true)
}

fn listening(addr: &str) -> bool {
    let addr: SocketAddr = addr.parse().expect("valid socket address");
    TcpStream::connect_timeout(&addr, Duration::from_millis(500)).is_ok()
}

pub fn wait_for(addr: &str, what: &str) -> Result<()> {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if listening(addr) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    bail!("{what} did not come up on {addr} within 30 s")
}

/// Tests that crashed leave their databases behind; best effort, never fails the run.
fn drop_test_databases(pg_url: &str) -> &'static str {
    if !on_path("psql") {
        eprintln!("psql not found; skipping");
        return "skipped";
    }
    let list = Command::new("psql")
        .args(["-d", pg_url, "-Atc"])
        .arg("select datname from pg_database where datname like 'hearth_test_%'")
        .output();
    let names = match list {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).into_owned(),
        Ok(out) => {
            eprintln!("warning: listing databases failed: {}", String::from_utf8_lossy(&out.stderr).trim());
            return "skipped";
        }
        Err(e) => {
            eprintln!("warning: could not run psql: {e}");
            return "skipped";
        }
    };
    let names: Vec<&str> = names.lines().map(str::trim).filter(|n| !n.is_empty()).collect();
    let mut dropped = 0;
    for name in &names {
        // No FORCE: a database still in use belongs to a test run in progress elsewhere.
        let sql = format!("DROP DATABASE IF EXISTS \"{}\"", name.replace('"', "\"\""));
        let out = Command::new("psql").args(["-d", pg_url, "-qc", &sql]).output();
        dropped += out.is_ok_and(|o| o.status.success()) as usize;
    }
    eprintln!("dropped {dropped} of {} database(s); the rest are in use", names.len());
    "done"
}

/// Playwright tests in end2end/, against a fresh (debug) bundle.
fn browser_tests(end2end: &Path) -> Result<()> {
    ensure_chromium()?;
    header("test: cargo build -p server --bin hearth (for the browser tests)");
    let mut cmd = cargo();
    cmd.args(["build", "-p", "server", "--bin", "hearth"]);
    status(cmd)?;
    bundle::bundle(bundle::Build::Debug)?;
    let install = if end2end.join("package-lock.json").is_file() { "ci" } else { "install" };
    header(&format!("test: npm {install} && npm test (end2end)"));
    let mut cmd = Command::new("npm");
    cmd.arg(install).current_dir(end2end);
    status(cmd)?;
    let mut cmd = Command::new("npm");
    cmd.arg("test").current_dir(end2end);
    status(cmd)
}

/// Debian's Chromium, which the browser tests drive (Playwright cannot download one here), and a
/// colour emoji font, so reactions in the tests' screenshots look as people see them.
fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).is_file() && Path::new(EMOJI_FONT).is_file() {
        return Ok(());
    }
    header("test: apt-get install chromium fonts-noto-color-emoji (for the browser tests)");
    let mut update = Command::new("apt-get");
    update.args(["update", "-qq"]);
    status(update)?;
    let mut install = Command::new("apt-get");
    install
        .args(["install", "-y", "-qq", "chromium", "fonts-noto-color-emoji"])
        .env("DEBIAN_FRONTEND", "noninteractive");
    status(install)?;
    if !Path::new(CHROMIUM).is_file() {
        bail!("{CHROMIUM} is still missing after apt-get install chromium");
    }
    Ok(())
}
