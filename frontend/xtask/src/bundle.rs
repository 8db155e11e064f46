//! `cargo xtask bundle`: frontend crate -> wasm -> target/site/pkg/{hearth.js, hearth_bg.wasm}.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use flate2::{write::GzEncoder, Compression};

use crate::{cargo, header, on_path, root, status, target_dir};

const TARGET: &str = "wasm32-unknown-unknown";
/// The server asks for `/pkg/hearth.js` and `/pkg/hearth_bg.wasm` (leptos `output_name`).
const NAME: &str = "hearth";
/// What the chat screen may download before it works: hearth.js and hearth_bg.wasm, gzipped.
const BUDGET_BYTES: usize = 450 * 1024;

#[derive(Clone, Copy)]
pub enum Build {
    /// Quick to compile, with function names for readable traces.
    Debug,
    /// Optimised for download size; `names` keeps function names for size profiling.
    Release { names: bool },
}

pub fn bundle(build: Build) -> Result<()> {
    ensure_target()?;
    let (release, names) = match build {
        Build::Debug => (false, true),
        Build::Release { names } => (true, names),
    };

    let profile = if release { "wasm-release" } else { "debug" };
    header(&format!("bundle: cargo build -p frontend ({profile}, {TARGET})"));
    let mut cmd = cargo();
    cmd.args(["build", "-p", "frontend", "--lib", "--target", TARGET]);
    if release {
        cmd.args(["--profile", "wasm-release"]);
    }
    status(cmd)?;

    let wasm = target_dir().join(TARGET).join(profile).join("frontend.wasm");
    let pkg = root().join("target/site/pkg");
    header(&format!("bundle: wasm-bindgen -> {}", pkg.display()));
    // Stale files from an earlier layout would otherwise be served forever.
    if pkg.exists() {
        std::fs::remove_dir_all(&pkg).with_context(|| format!("clearing {}", pkg.display()))?;
    }
    std::fs::create_dir_all(&pkg)?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .out_name(NAME)
        .typescript(false)
        // The name section roughly doubles the file.
        .remove_name_section(!names)
        .remove_producers_section(release)
        .generate(&pkg)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;

    let out_wasm = pkg.join(format!("{NAME}_bg.wasm"));
    // Release bundles go through wasm-opt: one on PATH, else npm's binaryen (frontend/package.json).
    if release {
        if let Some(wasm_opt) = wasm_opt()? {
            header(&format!("bundle: wasm-opt {}", WASM_OPT_SETTINGS.join(" ")));
            let mut cmd = Command::new(wasm_opt);
            cmd.args(WASM_OPT_SETTINGS);
            // wasm-bindgen's output uses these post-MVP features; wasm-opt must keep them.
            cmd.args(["--enable-bulk-memory", "--enable-nontrapping-float-to-int", "--enable-sign-ext"]);
            if names {
                cmd.arg("--debuginfo");
            }
            cmd.arg(&out_wasm).arg("-o").arg(&out_wasm);
            status(cmd)?;
        }
    }

    bundle_call_audio(&pkg)?;

    let js = pkg.join(format!("{NAME}.js"));
    let first_download = print_size(&js)? + print_size(&out_wasm)?;
    if pkg.join(CALL_AUDIO).is_file() {
        print_size(&pkg.join(CALL_AUDIO))?;
    }
    // With names the file is not what browsers get.
    if release && !names {
        let over = if first_download > BUDGET_BYTES { ", OVER BUDGET" } else { "" };
        println!("{:>25} gzip  first download (js + wasm): budget {}{over}", kib(first_download), kib(BUDGET_BYTES));
    }
    Ok(())
}

/// wasm-opt's settings, chosen by gzipped size, which is what browsers download. By default
/// wasm-opt inlines every function that has one caller, whatever its size: the file shrinks, but
/// gzip finds far fewer repeats in it (the chat app: 493 KiB gzip with `-Oz`, 442 KiB with these,
/// 463 KiB without wasm-opt at all). `-Oz` also loses to `-Os` after gzip.
const WASM_OPT_SETTINGS: &[&str] = &["-Os", "--one-caller-inline-max-function-size=10"];

/// The LiveKit call-audio module the chat screen loads when a call starts.
const CALL_AUDIO: &str = "call-audio.js";

/// Bundles frontend/call-audio (livekit-client) with esbuild into `pkg/call-audio.js`.
fn bundle_call_audio(pkg: &Path) -> Result<()> {
    let Some(tools) = frontend_tools()? else {
        eprintln!("note: no npm: calls will ring but carry no audio (pkg/{CALL_AUDIO} is not built)");
        return Ok(());
    };
    header("bundle: esbuild frontend/call-audio -> pkg/call-audio.js");
    let mut cmd = Command::new(tools.join("node_modules/.bin/esbuild"));
    cmd.arg(root().join("frontend/call-audio/index.js"))
        .args(["--bundle", "--format=esm", "--minify", "--target=es2020", "--log-level=warning"])
        .arg(format!("--outfile={}", pkg.join(CALL_AUDIO).display()));
    status(cmd)
}

/// frontend/ with its npm packages installed (binaryen, esbuild, livekit-client); None without npm.
fn frontend_tools() -> Result<Option<std::path::PathBuf>> {
    let tools = root().join("frontend");
    let installed = ["wasm-opt", "esbuild"].iter().all(|bin| tools.join("node_modules/.bin").join(bin).is_file())
        && tools.join("node_modules/livekit-client").is_dir();
    if !installed {
        if !on_path("npm") {
            return Ok(None);
        }
        header("bundle: npm install in frontend/ (binaryen, esbuild, livekit-client)");
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--no-audit", "--no-fund"]).current_dir(&tools);
        status(cmd)?;
    }
    Ok(Some(tools))
}

/// wasm-opt from PATH, or from npm's binaryen (frontend/package.json); None without either.
fn wasm_opt() -> Result<Option<std::path::PathBuf>> {
    if on_path("wasm-opt") {
        return Ok(Some("wasm-opt".into()));
    }
    Ok(frontend_tools()?.map(|tools| tools.join("node_modules/.bin/wasm-opt")))
}

/// Adds the wasm target through rustup unless it is already installed.
fn ensure_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("could not run `rustup target list --installed`")?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == TARGET) {
        return Ok(());
    }
    header(&format!("bundle: rustup target add {TARGET}"));
    let mut cmd = Command::new("rustup");
    cmd.args(["target", "add", TARGET]);
    status(cmd)
}

/// Prints a file's size, raw and gzipped; returns the gzipped size in bytes.
fn print_size(file: &Path) -> Result<usize> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let mut gz = GzEncoder::new(Vec::new(), Compression::best());
    gz.write_all(&bytes)?;
    let gzipped = gz.finish()?.len();
    println!(
        "{:>10} raw {:>10} gzip  {}",
        kib(bytes.len()),
        kib(gzipped),
        file.strip_prefix(root()).unwrap_or(file).display()
    );
    Ok(gzipped)
}

fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}
