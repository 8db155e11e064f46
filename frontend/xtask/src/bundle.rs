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

pub fn bundle(release: bool) -> Result<()> {
    ensure_target()?;

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
        // The name section roughly doubles the file; debug builds keep it for readable traces.
        .remove_name_section(release)
        .remove_producers_section(release)
        .generate(&pkg)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;

    let out_wasm = pkg.join(format!("{NAME}_bg.wasm"));
    // Optional: binaryen is not a build requirement, so its absence is not an error.
    if release && on_path("wasm-opt") {
        header("bundle: wasm-opt -Oz");
        let mut cmd = Command::new("wasm-opt");
        cmd.arg("-Oz").arg(&out_wasm).arg("-o").arg(&out_wasm);
        status(cmd)?;
    }

    for file in [pkg.join(format!("{NAME}.js")), out_wasm] {
        print_size(&file)?;
    }
    Ok(())
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

fn print_size(file: &Path) -> Result<()> {
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
    Ok(())
}

fn kib(n: usize) -> String {
    format!("{:.1} KiB", n as f64 / 1024.0)
}
