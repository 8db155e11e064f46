//! Command line of `cargo xtask` and the helpers its subcommands share.

mod bundle;
mod fuzz;
mod i18n;
mod schemathesis;
mod test;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(bin_name = "cargo xtask", about = "Hearth's build tool")]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the browser bundle into target/site/pkg (hearth.js, hearth_bg.wasm).
    Bundle {
        /// Optimised build (`wasm-release` profile, custom sections stripped, wasm-opt if found).
        #[arg(long)]
        release: bool,
        /// With --release: keep the function names, to see what is big (`twiggy top
        /// target/site/pkg/hearth_bg.wasm`). Roughly doubles the file; not for serving.
        #[arg(long, requires = "release")]
        names: bool,
    },
    /// Bundle, then build and start the server (http://127.0.0.1:3000 by default).
    Run {
        /// Debug builds of the bundle and the server (faster to compile).
        #[arg(long)]
        dev: bool,
        /// Extra arguments for `hearth serve`, after `--`.
        #[arg(last = true)]
        args: Vec<String>,
    },
    /// Run the whole test suite, starting PostgreSQL and NATS if they are down.
    Test,
    /// Only the schemathesis step of `test`: debug servers checked against Hearth's own OpenAPI
    /// and against nchat's spec (../shared/reference/nchat-openapi.yaml).
    Schemathesis {
        /// Only these runs (own, nchat); default: both.
        #[arg(value_enum)]
        specs: Vec<schemathesis::Spec>,
    },
    /// Check the message catalogue: every language complete, no text in views or mails outside
    /// it, logical CSS properties (also a step of `test`).
    I18n,
    /// Run the cargo-fuzz targets (server/fuzz) for longer than `test` does.
    Fuzz {
        /// Seconds per target (default: HEARTH_FUZZ_SECONDS, else 60).
        seconds: Option<u64>,
        /// Only these targets (ws_frame, json_bodies); default: all.
        targets: Vec<String>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Cmd::Bundle { release: false, .. } => bundle::bundle(bundle::Build::Debug),
        Cmd::Bundle { release: true, names } => bundle::bundle(bundle::Build::Release { names }),
        Cmd::Run { dev, args } => run(dev, &args),
        Cmd::Test => test::test(),
        Cmd::I18n => i18n::check(),
        Cmd::Schemathesis { specs } => schemathesis::run(&specs),
        Cmd::Fuzz { seconds, targets } => fuzz::seconds(seconds).and_then(|s| fuzz::run(s, &targets)),
    };
    // Our own message, not `Result` from main: with RUST_BACKTRACE set, anyhow would add a
    // backtrace of xtask to every failed build or test.
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `cargo run -p server`, with the site root pointing at the bundle just built.
fn run(dev: bool, args: &[String]) -> Result<()> {
    bundle::bundle(if dev { bundle::Build::Debug } else { bundle::Build::Release { names: false } })?;
    header("server: cargo run -p server --bin hearth -- serve");
    let mut cmd = cargo();
    cmd.args(["run", "-p", "server", "--bin", "hearth"]);
    if !dev {
        cmd.arg("--release");
    }
    cmd.args(["--", "serve"]).args(args);
    if std::env::var_os("HEARTH_SITE_ROOT").is_none() {
        cmd.env("HEARTH_SITE_ROOT", root().join("target/site"));
    }
    exec(cmd)
}

/// The workspace root: this crate lives at `<root>/frontend/xtask`.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

/// Cargo's target directory, honouring CARGO_TARGET_DIR (relative to the root, where we run cargo).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// The cargo that launched us (so `cargo +toolchain xtask` keeps its toolchain), run from the root.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// One line per step, so CI logs show where each step's output starts.
fn header(step: &str) {
    eprintln!("\n==> {step}");
}

/// Runs a command with inherited stdio; an error if it cannot start or exits non-zero.
fn status(mut cmd: Command) -> Result<()> {
    let shown = show(&cmd);
    let st = cmd.status().with_context(|| format!("could not start `{shown}`"))?;
    if !st.success() {
        bail!("`{shown}` failed ({st})");
    }
    Ok(())
}

/// Replaces this process with the command, so signals (Ctrl-C) and the exit code are the server's.
#[cfg(unix)]
fn exec(mut cmd: Command) -> Result<()> {
    use std::os::unix::process::CommandExt;
    let shown = show(&cmd);
    Err(cmd.exec()).with_context(|| format!("could not start `{shown}`"))
}

#[cfg(not(unix))]
fn exec(cmd: Command) -> Result<()> {
    status(cmd)
}

/// Whether a program can be found on PATH.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|dir| dir.join(program).is_file()))
}

fn show(cmd: &Command) -> String {
    let args: Vec<&OsStr> = cmd.get_args().collect();
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in args {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
