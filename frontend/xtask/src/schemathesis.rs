//! The schemathesis step of `cargo xtask test`: property-based runs against debug servers on fresh
//! SQLite databases, one driven by Hearth's own `/openapi.json`, one by nchat's spec with an
//! owner's token, so the routes nchat's clients call answer as nchat documents them. Any 5xx or
//! off-schema answer fails the step. nchat's spec is nchat's, under its licence, so the repository
//! holds no copy: it is read from the reference copy beside the clone (see `nchat_spec`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context, Result};

use crate::{cargo, header, on_path, root, status, target_dir};

/// Pinned, so a new release cannot change what passes.
const SCHEMATHESIS: &str = "schemathesis==4.32.5";
/// Examples per operation: about 70 operations stay well under two minutes on 2 cores.
const MAX_EXAMPLES: &str = "15";
/// Both runs check the same things: no 5xx, and every documented answer matches its schema.
const CHECKS: &str = "not_a_server_error,response_schema_conformance";

/// Which OpenAPI document drives a run.
#[derive(Clone, Copy, PartialEq, Eq, Debug, clap::ValueEnum)]
pub enum Spec {
    /// Hearth's own `/openapi.json`, every route of both APIs.
    Own,
    /// nchat's spec, the reference copy `../shared/reference/nchat-openapi.yaml`.
    Nchat,
}

/// Stops the server however the run ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs the given specs (both when empty); each runs even when the other fails.
pub fn run(specs: &[Spec]) -> Result<()> {
    if !on_path("python3") {
        eprintln!("warning: python3 not found; skipping schemathesis");
        return Ok(());
    }
    let venv = target_dir().join("schemathesis-venv");
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

    let outside = outside_services()?;
    let specs = if specs.is_empty() { &[Spec::Own, Spec::Nchat][..] } else { specs };
    let mut failed = Vec::new();
    for &spec in specs {
        let outcome = match spec {
            Spec::Own => own(&venv, &outside),
            Spec::Nchat => nchat(&venv, &outside),
        };
        if let Err(e) = outcome {
            eprintln!("error: {e:#}");
            failed.push(format!("{spec:?}").to_lowercase());
        }
    }
    if !failed.is_empty() {
        bail!("schemathesis found failures with: {}", failed.join(", "));
    }
    Ok(())
}

/// Every route, as Hearth documents it, without a token (the answers to a signed-out caller).
/// Link previews would fetch the generated URLs for a caller without a token (public sites this
/// machine may not reach: 502/504), so here they, translate and GIF search ask for sign-in
/// (`HEARTH_ANONYMOUS_TOOLS=off`); tests/api/tools.rs covers their anonymous answers.
fn own(venv: &Path, outside: &str) -> Result<()> {
    let (_server, addr, data) = start("own", outside, &[("HEARTH_ANONYMOUS_TOOLS", "off")])?;
    header("test: schemathesis run /openapi.json");
    let mut cmd = Command::new(venv.join("bin/schemathesis"));
    cmd.arg("run")
        .arg(format!("http://{addr}/openapi.json"))
        .args(["--checks", CHECKS, "--max-examples", MAX_EXAMPLES])
        // WebSocket upgrades are documented, but are not HTTP request/response operations.
        .args(["--exclude-path-regex", "^/(ws|call)(/|$)"])
        .args(["--workers", "2", "--no-color"])
        // Its cache (`.schemathesis/`) goes beside the server's data, not into the work tree.
        .current_dir(&data);
    status(cmd)
}

/// nchat's routes as nchat documents them, called by the first account (the owner), so the
/// admin routes run past their permission check, and with a real webhook's id and token, so the
/// webhook routes run past theirs.
fn nchat(venv: &Path, outside: &str) -> Result<()> {
    let spec = nchat_spec()?;
    // nchat signs people in straight after sign-up; Hearth's mailed code would only slow setup.
    let (_server, addr, data) = start("nchat", outside, &[("HEARTH_EMAIL_VERIFICATION", "off")])?;
    let config = data.join("schemathesis.toml");
    set_up_nchat(venv, &addr, &config)?;
    header(&format!("test: schemathesis run {} (as the owner)", spec.display()));
    let mut cmd = Command::new(venv.join("bin/schemathesis"));
    cmd.arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&spec)
        .args(["--url", &format!("http://{addr}")])
        .args(["--checks", CHECKS, "--max-examples", MAX_EXAMPLES])
        // Link previews fetch the page they are given: generated URLs name public sites, which
        // this machine may not reach (a 502/504 then). Only that needs the internet; Hearth's own
        // spec run covers the route's refusals.
        .args(["--exclude-operation-id", "getLinkPreview"])
        .args(["--workers", "2", "--no-color"])
        .current_dir(&data);
    status(cmd)
}

/// nchat's OpenAPI spec: `nchat-openapi.yaml` in the reference folder every developer machine and
/// CI have beside the clone (`../shared/reference`), or in `HEARTH_NCHAT_REFERENCE_DIR` (relative
/// to the repository's root). Missing, the run fails: a skipped conformance run would pass unseen.
fn nchat_spec() -> Result<PathBuf> {
    let dir =
        std::env::var_os("HEARTH_NCHAT_REFERENCE_DIR").map_or_else(|| "../shared/reference".into(), PathBuf::from);
    let spec = root().join(dir).join("nchat-openapi.yaml");
    if !spec.is_file() {
        bail!(
            "nchat's OpenAPI spec is not at {}: put the reference copy there, or set \
             HEARTH_NCHAT_REFERENCE_DIR to the folder holding nchat-openapi.yaml",
            spec.display()
        );
    }
    // Without `..`, so messages name the file plainly.
    spec.canonicalize().with_context(|| format!("reading {}", spec.display()))
}

/// Signs up the owner, gives it a group with a webhook, and writes schemathesis' config: the
/// owner's token on every request, the webhook's id and token on the webhook routes. Python with
/// `requests` comes with schemathesis. Setup reads answers wherever this Hearth puts the fields.
fn set_up_nchat(venv: &Path, addr: &str, config: &Path) -> Result<()> {
    const SET_UP: &str = r#"
import json, sys, requests
base, config = sys.argv[1], sys.argv[2]
def call(method, route, token=None, **body):
    headers = {'Authorization': f'Bearer {token}'} if token else {}
    r = requests.request(method, base + route, json=body, headers=headers)
    if r.status_code >= 300:
        sys.exit(f'setup: {method} {route} answered {r.status_code} {r.text}')
    answer = r.json()
    return {**(answer['data'] if isinstance(answer.get('data'), dict) else {}), **answer}
token = call('POST', '/api/auth/signup', email='owner@example.org', password='Schemathesis-0wner!',
             username='owner')['accessToken']
chat = call('POST', '/chat/create-group', token, name='Deploys', members=[])
hook = call('POST', '/api/webhooks', token, chatId=chat['chatID'], name='CI')
q = json.dumps
with open(config, 'w') as f:
    f.write(f'headers = {{ Authorization = {q("Bearer " + token)} }}\n\n')
    f.write('[[operations]]\ninclude-path = "/api/webhook/{id}"\n')
    f.write(f'parameters = {{ "path.id" = {q(str(hook["id"]))}, "query.token" = {q(hook["token"])} }}\n')
"#;
    let out = Command::new(venv.join("bin/python"))
        .args(["-c", SET_UP, &format!("http://{addr}")])
        .arg(config)
        .output()
        .context("running the venv's python")?;
    if !out.status.success() {
        bail!("setting up the nchat run: {}", String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok(())
}

/// Stands in for the outside services translate and GIF search call (LibreTranslate's
/// `POST /translate`, Giphy's `GET /v1/gifs/search`), so those routes run past "not configured"
/// (503) without the internet. Answers on a free port until xtask exits; returns its base URL.
fn outside_services() -> Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = answer(stream);
            });
        }
    });
    Ok(base)
}

fn answer(stream: TcpStream) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    reader.read_exact(&mut vec![0; length])?;
    let body = if request_line.contains("/translate") {
        r#"{"translatedText":"hola","detectedLanguage":{"confidence":90,"language":"en"}}"#
    } else {
        r#"{"data":[],"pagination":{"total_count":0,"count":0,"offset":0}}"#
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Starts `target/debug/hearth` on a free port with a fresh data folder `target/schemathesis-<name>`,
/// its outside services at `outside`.
fn start(name: &str, outside: &str, env: &[(&str, &str)]) -> Result<(Server, String, PathBuf)> {
    let data = target_dir().join(format!("schemathesis-{name}"));
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
        .env("HEARTH_TRANSLATE_URL", outside)
        .env("HEARTH_GIF_PROVIDER", "giphy")
        .env("HEARTH_GIF_API_URL", outside)
        .env("HEARTH_GIF_API_KEY", "stand-in")
        .env("HEARTH_API_LIMIT_ANONYMOUS_TOOLS", "1000000")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("starting target/debug/hearth")?;
    let server = Server(child);
    crate::test::wait_for(&addr, &format!("hearth (for schemathesis, {name})"))?;
    Ok((server, addr, data))
}
