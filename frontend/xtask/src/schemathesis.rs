//! The schemathesis step of `cargo xtask test`: Hearth's own `/openapi.json` drives a property-based
//! run against a debug server on a fresh SQLite database; any 5xx or off-schema answer fails it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::{cargo, header, on_path, status, target_dir};

/// Pinned, so a new release cannot change what passes.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Examples per operation: about 70 operations stay well under two minutes on 2 cores.
const MAX_EXAMPLES: &str = "15";

/// Stops the server however the run ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn run() -> Result<()> {
    if !on_path("python3") {
        eprintln!("warning: python3 not found; skipping schemathesis");
        return Ok(());
    }
    let venv = target_dir().join("schemathesis-venv");
    let cli = venv.join("bin/schemathesis");
    let stamp = venv.join("installed");
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(SCHEMATHESIS) {
        header(&format!("test: python3 -m venv + pip install {SCHEMATHESIS}"));
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(&venv);
        status(cmd)?;
        let mut cmd = Command::new(venv.join("bin/pip"));
        cmd.args(["install", "-q", SCHEMATHESIS]);
        status(cmd)?;
        std::fs::write(&stamp, SCHEMATHESIS).context("writing the venv's stamp")?;
    }

    header("test: cargo build -p server --bin hearth (for schemathesis)");
    let mut cmd = cargo();
    cmd.args(["build", "-p", "server", "--bin", "hearth"]);
    status(cmd)?;

    let data = target_dir().join("schemathesis-data");
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    // A free port: bind 0, note the port, let it go for the server.
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = format!("127.0.0.1:{port}");
    let log = std::fs::File::create(data.join("server.log")).context("creating the server log")?;
    let child = Command::new(target_dir().join("debug/hearth"))
        .arg("serve")
        .env_remove("DATABASE_URL")
        .env("HEARTH_ADDR", &addr)
        .env("HEARTH_DATA_DIR", &data)
        .env("HEARTH_JWT_SECRET", "schemathesis-secret-schemathesis-secret")
        // Generated requests come fast from one address; the limits have their own tests.
        .env("HEARTH_AUTH_LIMIT_PER_IP", "1000000")
        .env("HEARTH_AUTH_LIMIT_PER_ACCOUNT", "1000000")
        .env("HEARTH_API_LIMIT", "1000000")
        .env("HEARTH_API_LIMIT_UPLOAD", "1000000")
        .env("HEARTH_API_LIMIT_SEARCH", "1000000")
        .env("HEARTH_API_LIMIT_WEBHOOK", "1000000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting target/debug/hearth")?;
    let _server = Server(child);
    crate::test::wait_for(&addr, "hearth (for schemathesis)")?;

    header("test: schemathesis run /openapi.json");
    let mut cmd = Command::new(cli);
    cmd.arg("run")
        .arg(format!("http://{addr}/openapi.json"))
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        .args(["--max-examples", MAX_EXAMPLES])
        // WebSocket upgrades are documented, but are not HTTP request/response operations.
        .args(["--exclude-path-regex", "^/(ws|call)(/|$)"])
        .args(["--workers", "2", "--no-color"])
        // Its cache (`.schemathesis/`) goes beside the server's data, not into the work tree.
        .current_dir(&data);
    status(cmd)
}
