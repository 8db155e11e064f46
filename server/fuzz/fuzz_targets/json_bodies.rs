//! Fuzz target `json_bodies`: Hearth's real router, in-process on a SQLite database in a temp dir,
//! answers requests whose route, caller and JSON body come from the fuzzer. Whatever arrives, the
//! answer is never a 5xx (bar 503 from the GIF upstream, which is not configured here) and always the
//! surface's JSON envelope.
//!
//! Input: the first line names the caller and the route, the rest is the body.
//! - byte 0, the caller: `n` nobody, `o` the owner, `m` a member, `g` a guest, `x` a forged token
//!   (any other byte picks one of them); upper case also sends `Authorization: Bearer`.
//! - the rest of the line: `[METHOD ]path`, one of the registered server-function paths or a REST
//!   route; a line naming no route picks one by its hash, so mutations still land somewhere.
//! - in the path and the body, `$TOKEN` and `$REFRESH` become the caller's fresh access and refresh
//!   tokens, `$HOOKID`/`$HOOK` the seeded webhook's id and token, `$CHAT`/`$GROUP` the seeded chats,
//!   `$MESSAGE` a message in the group.
//!
//! GET and DELETE routes get the body's top-level fields as their query string. With
//! `HEARTH_FUZZ_SHOW` set, every request and the start of its answer are printed.

#![no_main]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

use app::domain::accounts::{self, NewAccount};
use app::domain::names::Role;
use app::domain::passwords::PasswordRule;
use app::domain::sessions;
use app::domain::AppState;
use axum::body::{to_bytes, Body};
use axum::extract::ConnectInfo;
use axum::Router;
use hearth::config::{EmailVerification, ServeArgs};
use http::{header, Method, Request, StatusCode};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};
use tower::ServiceExt;

const PASSWORD: &str = "Corr3ct-horse";
/// Well formed, signed with another key: must be refused like any bad token.
const FORGED: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwic2lkIjoxLCJyb2xlIjoib3duZXIiLCJpYXQiOjE3MDAwMDAwMDAsImV4cCI6NDEwMDAwMDAwMH0.c2lnbmVkLXdpdGgtYW5vdGhlci1rZXktc2lnbmVkLXdpdGg";
/// Routes whose upstream is not configured here: they answer 503 `SERVICE_UNAVAILABLE` (translate
/// answers the text untranslated instead, as nchat does).
const UNCONFIGURED_UPSTREAMS: &[&str] = &["/api/gif"];
/// Fetches whatever URL it is given (DNS, then the network): not for a fuzzer.
const NOT_FUZZED: &[&str] = &["/api/link-preview"];

struct World {
    runtime: tokio::runtime::Runtime,
    seeded: Seeded,
}

/// The server and what the seeding made.
struct Seeded {
    router: Router,
    state: AppState,
    /// Owner, member, guest: (user id, role).
    users: [(i64, Role); 3],
    /// Their rows as seeded, put back after requests that may rename, delete or re-key them.
    user_rows: Vec<UserRow>,
    /// `$NAME` → value, for paths and bodies.
    fixed: Vec<(&'static str, String)>,
    routes: Vec<(Method, String)>,
}

/// id, username, username_key, email, email_key, password_hash, role.
type UserRow = (i64, String, String, String, String, String, String);
const USER_COLUMNS: &str = "id, username, username_key, email, email_key, password_hash, role";

static WORLD: OnceLock<World> = OnceLock::new();
static DATA_DIR: OnceLock<PathBuf> = OnceLock::new();

extern "C" fn remove_data_dir() {
    if let Some(dir) = DATA_DIR.get() {
        let _ = std::fs::remove_dir_all(dir);
    }
}

extern "C" {
    fn atexit(callback: extern "C" fn()) -> std::os::raw::c_int;
}

fn world() -> &'static World {
    WORLD.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let dir = std::env::temp_dir().join(format!("hearth-fuzz-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir is writable");
        DATA_DIR.set(dir.clone()).expect("set once");
        // SAFETY: registers a plain function; libFuzzer leaves through exit(), which runs it.
        unsafe { atexit(remove_data_dir) };
        let seeded = runtime.block_on(build(dir));
        World { runtime, seeded }
    })
}

async fn build(dir: PathBuf) -> Seeded {
    let mut config = ServeArgs::defaults();
    config.storage.database_url = Some(format!("sqlite://{}", dir.join("hearth.db").display()));
    config.storage.data_dir = dir.clone();
    config.jwt_secret = Some("fuzz-secret-fuzz-secret-fuzz-secret-0123".into());
    config.smtp_url = None;
    config.email_verification = EmailVerification::Off;
    config.site_root = dir.join("site");
    // The /api/* limits would answer 429 to almost everything; the auth limits stay as shipped,
    // which also bounds the argon2 work (a hash per sign-in or sign-up attempt) per minute.
    config.api_limit = u32::MAX;
    config.api_limit_upload = u32::MAX;
    config.api_limit_search = u32::MAX;
    config.api_limit_webhook = u32::MAX;
    config.api_limit_anonymous_tools = u32::MAX;
    let (state, hub) = hearth::startup::build_state(&config, "http://127.0.0.1:3000".into()).await.expect("state");
    let router = hearth::startup::router(state.clone(), hub, &config);

    let mut users = Vec::new();
    for name in ["olivia", "mallory", "gus"] {
        let new = NewAccount {
            username: name.into(),
            email: format!("{name}@example.org"),
            password: PASSWORD.into(),
            display_name: None,
            invite_code: None,
            rule: PasswordRule::ChatCli,
            language: None,
        };
        let signed_up = accounts::register(&state, new, None).await.unwrap_or_else(|e| panic!("register {name}: {e}"));
        let account = match signed_up {
            accounts::SignedUp::Active(account) | accounts::SignedUp::VerificationSent(account) => account,
        };
        users.push(account.id);
    }
    accounts::set_role(&state, "gus", Role::Guest).await.expect("gus is a guest");
    let users = [(users[0], Role::Owner), (users[1], Role::Member), (users[2], Role::Guest)];

    let user_rows = sqlx::query_as(&format!("SELECT {USER_COLUMNS} FROM users ORDER BY id"))
        .fetch_all(state.store.pool())
        .await
        .expect("the seeded users");
    let mut world = Seeded { router, state, users, user_rows, fixed: Vec::new(), routes: Vec::new() };
    let owner = sessions::start_session(&world.state, users[0].0, Role::Owner).await.expect("session").access_token;
    let chat = seed(&world.router, "/chat/create-chat", &owner, json!({"session_token": owner, "receiver": "mallory"}))
        .await["chatID"]
        .clone();
    let group = seed(
        &world.router,
        "/chat/create-group",
        &owner,
        json!({"session_token": owner, "name": "fuzzers", "members": ["mallory", "gus"]}),
    )
    .await["chatID"]
        .clone();
    let mut message = Value::Null;
    for (chat_id, text) in [(&chat, "hello"), (&group, "hi all"), (&group, "second")] {
        message = seed(
            &world.router,
            "/chat/post-message",
            &owner,
            json!({"session_token": owner, "chatID": chat_id, "text": text}),
        )
        .await["messageID"]
            .clone();
    }
    let hook = seed(&world.router, "/api/webhooks", &owner, json!({"chatId": group, "name": "ci"})).await;
    let text = |v: &Value| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
    world.fixed = vec![
        ("$HOOKID", text(&hook["data"]["id"])),
        ("$HOOK", text(&hook["data"]["token"])),
        ("$CHAT", text(&chat)),
        ("$GROUP", text(&group)),
        ("$MESSAGE", text(&message)),
    ];

    let mut routes: Vec<(Method, String)> = leptos::server_fn::axum::server_fn_paths()
        .filter(|(path, _)| !NOT_FUZZED.contains(path))
        .map(|(path, method)| (method, path.to_string()))
        .collect();
    for (method, path) in [
        (Method::POST, "/api/webhook/$HOOKID/$HOOK"),
        (Method::POST, "/api/webhook/$HOOKID?token=$HOOK"),
        (Method::GET, "/api/webhook/$HOOKID/$HOOK"),
        (Method::DELETE, "/api/webhooks/$HOOKID"),
        (Method::GET, "/api/messages/$MESSAGE/reactions"),
        (Method::POST, "/api/messages/$MESSAGE/reactions"),
        (Method::DELETE, "/api/messages/$MESSAGE/reactions"),
        (Method::PATCH, "/api/messages/$MESSAGE/reactions"),
        (Method::GET, "/api/messages/$MESSAGE/pin"),
        (Method::POST, "/api/messages/$MESSAGE/pin"),
        (Method::DELETE, "/api/messages/$MESSAGE/pin"),
        (Method::GET, "/api/messages/$MESSAGE/history"),
        (Method::GET, "/api/messages/$MESSAGE/save"),
        (Method::POST, "/api/messages/$MESSAGE/save"),
        (Method::DELETE, "/api/messages/$MESSAGE/save"),
        (Method::GET, "/api/saved-messages"),
    ] {
        routes.push((method, path.to_string()));
    }
    routes.sort_by(|a, b| (a.1.as_str(), a.0.as_str()).cmp(&(b.1.as_str(), b.0.as_str())));
    routes.dedup();
    world.routes = routes;
    world
}

/// Puts the seeded accounts back as they were (names, addresses, passwords, roles; not deleted,
/// not disabled), so one input that deletes the owner does not blunt every later one.
async fn restore_users(world: &Seeded) {
    let pool = world.state.store.pool();
    for (id, ..) in &world.user_rows {
        let parked = format!("parked-{id}");
        let sql = "UPDATE users SET username = $1, username_key = $1, email_key = $1 WHERE id = $2";
        sqlx::query(sql).bind(&parked).bind(id).execute(pool).await.expect("park a seeded user");
    }
    for (id, username, username_key, email, email_key, password_hash, role) in &world.user_rows {
        let sql = "UPDATE users SET username = $1, username_key = $2, email = $3, email_key = $4, \
                   password_hash = $5, role = $6, deleted_at = NULL, disabled_at = NULL WHERE id = $7";
        sqlx::query(sql)
            .bind(username)
            .bind(username_key)
            .bind(email)
            .bind(email_key)
            .bind(password_hash)
            .bind(role)
            .bind(id)
            .execute(pool)
            .await
            .expect("restore a seeded user");
    }
}

/// One request of the seeding, which must succeed.
async fn seed(router: &Router, path: &str, token: &str, body: Value) -> Value {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))))
        .body(Body::from(body.to_string()))
        .expect("a valid request");
    let response = router.clone().oneshot(request).await.expect("the router answers");
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.expect("a body");
    assert!(status.is_success(), "seeding {path}: {status} {}", String::from_utf8_lossy(&bytes));
    serde_json::from_slice(&bytes).expect("a JSON answer")
}

#[derive(Clone, Copy)]
enum Who {
    Nobody,
    User(usize),
    Forged,
}

fn caller(byte: u8) -> (Who, bool) {
    let who = match byte.to_ascii_lowercase() {
        b'n' => Who::Nobody,
        b'o' => Who::User(0),
        b'm' => Who::User(1),
        b'g' => Who::User(2),
        b'x' => Who::Forged,
        other => match other % 5 {
            0 => Who::Nobody,
            4 => Who::Forged,
            n => Who::User(n as usize - 1),
        },
    };
    let bearer = byte.is_ascii_uppercase() || (!byte.is_ascii_alphabetic() && byte & 1 == 1);
    (who, bearer)
}

/// The route a line names: `[METHOD ]path` exactly, a webhook URL, or else one picked by hash.
fn pick_route(world: &Seeded, line: &str) -> (Method, String) {
    let (method, path) = match line.split_once(' ') {
        Some((m, rest)) if ["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&m) => {
            (Some(Method::from_bytes(m.as_bytes()).expect("a known method")), rest.trim())
        }
        _ => (None, line.trim()),
    };
    if let Some(route) = world.routes.iter().find(|(m, p)| p == path && method.as_ref().is_none_or(|want| want == m)) {
        return route.clone();
    }
    if ["/api/webhook/", "/api/webhooks/", "/api/messages/"].iter().any(|prefix| path.starts_with(prefix)) {
        return (method.unwrap_or(Method::POST), path.to_string());
    }
    let hash = line.bytes().fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    world.routes[hash as usize % world.routes.len()].clone()
}

/// A query string from an object's top-level fields (nested values as JSON text).
fn query_of(body: &str) -> Option<String> {
    let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(body) else { return None };
    let pairs: Vec<(String, String)> = fields
        .into_iter()
        .map(|(k, v)| {
            let v = match v {
                Value::String(s) => s,
                other => other.to_string(),
            };
            (k, v)
        })
        .collect();
    serde_urlencoded::to_string(pairs).ok()
}

fn check(route: &(Method, String), uri: &str, status: StatusCode, content_type: &str, bytes: &[u8], sent: &str) {
    let path = uri.split('?').next().unwrap_or_default();
    let shown = || format!("{} {uri} with {sent:?} answered {status}: {}", route.0, String::from_utf8_lossy(bytes));
    let unconfigured = status == StatusCode::SERVICE_UNAVAILABLE && UNCONFIGURED_UPSTREAMS.contains(&path);
    assert!(!status.is_server_error() || unconfigured, "server error: {}", shown());
    assert!(!status.is_redirection() && !status.is_informational(), "not an API answer: {}", shown());
    assert!(content_type.starts_with("application/json"), "content type {content_type:?}: {}", shown());
    let body: Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("not JSON ({e}): {}", shown()));
    let text = |name: &str| body.get(name).and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if path == "/api" || path.starts_with("/api/") {
        if status.is_success() {
            assert_eq!(body.get("success"), Some(&Value::Bool(true)), "nchat success envelope: {}", shown());
        } else {
            assert_eq!(body.get("success"), Some(&Value::Bool(false)), "nchat error envelope: {}", shown());
            assert!(text("error") && text("code") && text("errorCode"), "nchat error envelope: {}", shown());
            if unconfigured {
                assert_eq!(body["code"], "SERVICE_UNAVAILABLE", "unconfigured upstream: {}", shown());
            }
        }
    } else if !status.is_success() {
        assert_eq!(body.get("status").and_then(Value::as_str), Some("error"), "ChatCLI error envelope: {}", shown());
        assert!(text("message") && text("code"), "ChatCLI error envelope: {}", shown());
    }
}

fuzz_target!(|data: &[u8]| {
    let World { runtime, seeded: world } = world();
    let Some((&selector, rest)) = data.split_first() else { return };
    let rest = String::from_utf8_lossy(rest);
    let (line, body) = rest.split_once('\n').unwrap_or((&rest, ""));
    let (who, bearer) = caller(selector);
    let route = pick_route(world, line);

    runtime.block_on(async {
        let wants_tokens = bearer || body.contains("$TOKEN") || body.contains("$REFRESH");
        let (access, refresh) = match who {
            Who::User(n) if wants_tokens => {
                let (id, role) = world.users[n];
                let issued = sessions::start_session(&world.state, id, role).await.expect("a session");
                (issued.access_token, issued.refresh_token)
            }
            Who::Forged => (FORGED.to_string(), "00".repeat(32)),
            _ => (String::new(), String::new()),
        };
        let fill = |text: &str| {
            // `$HOOKID` before `$HOOK`, which it starts with.
            let mut text = text.replace("$TOKEN", &access).replace("$REFRESH", &refresh);
            for (name, value) in &world.fixed {
                text = text.replace(name, value);
            }
            text
        };
        let body = fill(body);
        let mut uri = fill(&route.1);
        let sends_body = !matches!(route.0, Method::GET | Method::DELETE | Method::HEAD);
        if !sends_body {
            if let Some(query) = query_of(&body).filter(|q| !q.is_empty()) {
                uri.push(if uri.contains('?') { '&' } else { '?' });
                uri.push_str(&query);
            }
        }
        let mut request = Request::builder().method(route.0.clone()).uri(uri.as_str());
        if sends_body {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        if bearer && !access.is_empty() {
            request = request.header(header::AUTHORIZATION, format!("Bearer {access}"));
        }
        let request = request.extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000)))).body(if sends_body {
            Body::from(body.clone())
        } else {
            Body::empty()
        });
        // A path the fuzzer wrote may not be a URI at all; nothing to ask then.
        let Ok(request) = request else { return };
        let response = world.router.clone().oneshot(request).await.expect("the router answers");
        let status = response.status();
        let content_type =
            response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let bytes = to_bytes(response.into_body(), 16 * 1024 * 1024).await.expect("the body arrives");
        if std::env::var_os("HEARTH_FUZZ_SHOW").is_some() {
            let answer: String = String::from_utf8_lossy(&bytes).chars().take(160).collect();
            eprintln!("{} {uri} {body:?} -> {status} {answer}", route.0);
        }
        check(&route, &uri, status, &content_type, &bytes, &body);
        if ["profile", "password"].iter().any(|word| route.1.contains(word)) {
            restore_users(world).await;
        }
    });
});
