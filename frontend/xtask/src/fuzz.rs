//! The fuzzing step: the cargo-fuzz targets in `server/fuzz` (`ws_frame`, `json_bodies`), each run
//! for a bounded time on stable Rust (no sanitizer), its corpus kept in `server/fuzz/corpus/<target>`
//! and seeded from `server/fuzz/seeds/<target>`. A crash or a failed assertion fails the step.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context, Result};

use crate::{cargo, header, root, show, status};

pub const TARGETS: &[&str] = &["ws_frame", "json_bodies"];
/// Seconds per target in `cargo xtask test`; `HEARTH_FUZZ_SECONDS` changes it.
const DEFAULT_SECONDS: u64 = 60;
pub const SECONDS_VAR: &str = "HEARTH_FUZZ_SECONDS";
/// Pinned, so a new release cannot change the build.
const CARGO_FUZZ: &str = "0.13.2";
const FUZZ_DIR: &str = "server/fuzz";

/// The time per target: `seconds` if given, else `HEARTH_FUZZ_SECONDS`, else the default.
pub fn seconds(given: Option<u64>) -> Result<u64> {
    if let Some(seconds) = given {
        return Ok(seconds);
    }
    match std::env::var(SECONDS_VAR) {
        Ok(text) => text.trim().parse().with_context(|| format!("{SECONDS_VAR}={text:?} is not a number of seconds")),
        Err(_) => Ok(DEFAULT_SECONDS),
    }
}

/// Runs `targets` (all when empty) for `seconds` each.
pub fn run(seconds: u64, targets: &[String]) -> Result<()> {
    let targets: Vec<&str> = if targets.is_empty() {
        TARGETS.to_vec()
    } else {
        for target in targets {
            if !TARGETS.contains(&target.as_str()) {
                bail!("no fuzz target {target:?} (there are: {})", TARGETS.join(", "));
            }
        }
        targets.iter().map(String::as_str).collect()
    };
    if seconds == 0 {
        // libFuzzer would read -max_total_time=0 as "no limit".
        eprintln!("fuzz: 0 seconds per target, skipped");
        return Ok(());
    }
    ensure_cargo_fuzz()?;

    header("fuzz: cargo fuzz build (server/fuzz, stable, no sanitizer)");
    let started = Instant::now();
    // Both targets at once: they share every dependency.
    status(cargo_fuzz("build"))?;
    eprintln!("fuzz targets built in {} s", started.elapsed().as_secs());

    // Every target runs even when one fails, so one crash does not hide another.
    let mut summary = Vec::new();
    let mut failures = Vec::new();
    for target in targets {
        match run_target(target, seconds) {
            Ok(executions) => summary.push(format!("{target} {executions} executions")),
            Err(e) => {
                eprintln!("error: {e:#}");
                summary.push(format!("{target} FAILED"));
                failures.push(format!("{e:#}"));
            }
        }
    }
    println!("fuzz: {} ({seconds} s each)", summary.join(", "));
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(())
}

/// `cargo fuzz <subcommand>` with the flags every call shares (so `run` reuses `build`'s output).
fn cargo_fuzz(subcommand: &str) -> Command {
    let mut cmd = cargo();
    cmd.args(["fuzz", subcommand, "--fuzz-dir", FUZZ_DIR])
        // Stable Rust: AddressSanitizer needs nightly, and Hearth's own code is safe Rust.
        .args(["--sanitizer", "none"])
        // Overflow checks and debug assertions catch more; 16 codegen units build faster on 2 cores.
        .args(["--debug-assertions", "--codegen-units", "16"]);
    // `cargo run` gave us the xtask package's CARGO_MANIFEST_DIR and friends; some build scripts
    // (ring's) track them, so passing them on would rebuild half the tree whenever the targets
    // are built alternately from here and from a shell.
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        let from_cargo_run = name.starts_with("CARGO_PKG_")
            || [
                "CARGO_MANIFEST_DIR",
                "CARGO_MANIFEST_PATH",
                "CARGO_CRATE_NAME",
                "CARGO_BIN_NAME",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_ref());
        if from_cargo_run {
            cmd.env_remove(name.as_ref());
        }
    }
    cmd
}

fn ensure_cargo_fuzz() -> Result<()> {
    let installed = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success() && String::from_utf8_lossy(&out.stdout).contains(CARGO_FUZZ));
    if installed {
        return Ok(());
    }
    header(&format!("fuzz: cargo install cargo-fuzz --version {CARGO_FUZZ} --locked"));
    let mut cmd = cargo();
    cmd.args(["install", "cargo-fuzz", "--version", CARGO_FUZZ, "--locked"]);
    status(cmd)
}

/// One bounded run; returns how many inputs it executed.
fn run_target(target: &str, seconds: u64) -> Result<u64> {
    let fuzz_dir = root().join(FUZZ_DIR);
    let corpus = fuzz_dir.join("corpus").join(target);
    let seeds = fuzz_dir.join("seeds").join(target);
    std::fs::create_dir_all(&corpus).with_context(|| format!("creating {}", corpus.display()))?;
    let mut cmd = cargo_fuzz("run");
    // libFuzzer writes new inputs to the first folder and only reads the others.
    cmd.arg(target).arg(&corpus).arg(&seeds).arg("--");
    cmd.args([format!("-max_total_time={seconds}"), "-print_final_stats=1".into(), "-timeout=30".into()]);
    let dict = fuzz_dir.join(format!("{target}.dict"));
    if dict.is_file() {
        cmd.arg(format!("-dict={}", dict.display()));
    }
    header(&format!("fuzz: {target} for {seconds} s"));
    let shown = show(&cmd);
    let mut child = cmd.stderr(Stdio::piped()).spawn().with_context(|| format!("could not start `{shown}`"))?;
    // libFuzzer reports on stderr: pass it on, and keep what the summary needs.
    let mut executions = None;
    let mut artifact: Option<PathBuf> = None;
    let stderr = child.stderr.take().context("the fuzzer's stderr")?;
    for line in BufReader::new(stderr).split(b'\n') {
        let line = line.context("reading the fuzzer's output")?;
        let line = String::from_utf8_lossy(&line);
        eprintln!("{line}");
        if let Some(count) = line.strip_prefix("stat::number_of_executed_units:") {
            executions = count.trim().parse().ok();
        }
        if let Some(rest) = line.split("Test unit written to ").nth(1) {
            artifact = Some(PathBuf::from(rest.trim()));
        }
    }
    let exit = child.wait().with_context(|| format!("waiting for `{shown}`"))?;
    if !exit.success() || artifact.is_some() {
        let artifact = match &artifact {
            Some(path) => {
                let path = if path.is_absolute() { path.clone() } else { root().join(path) };
                format!(
                    "; the input is {} (replay: cargo fuzz run --fuzz-dir {FUZZ_DIR} --sanitizer none \
                     --debug-assertions --codegen-units 16 {target} {})",
                    path.display(),
                    path.display()
                )
            }
            None => String::new(),
        };
        bail!("fuzz target {target} failed ({exit}){artifact}");
    }
    let executions = executions.context("libFuzzer printed no stat::number_of_executed_units")?;
    eprintln!("fuzz: {target}: {executions} executions in {seconds} s");
    Ok(executions)
}
