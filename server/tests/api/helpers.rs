//! `spawn_app`: a Hearth server on a random port with a fresh database (a new SQLite file, or a
//! new PostgreSQL database) and a real SMTP listener; plus the client calls tests share.

use std::path::PathBuf;
use std::time::Duration;

use hearth::config::{EmailVerification, ServeArgs};
use hearth::startup::{self, RunningServer};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::smtp::MailServer;

pub const PASSWORD: &str = "Corr3ct-horse";

pub use hearth::testing::Backend;

/// Runs a scenario `async fn name(backend: Backend)` once per backend, as `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {$(
        mod $scenario {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$scenario($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$scenario($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

pub struct TestApp {
    pub base: String,
    pub mail: MailServer,
    pub client: reqwest::Client,
    pub database_url: String,
    pub data_dir: PathBuf,
    server: Option<RunningServer>,
}

/// A new, empty database for one test.
pub async fn fresh_database(backend: Backend, scratch: &std::path::Path) -> String {
    hearth::testing::fresh_database(backend, scratch).await.expect("fresh database")
}

/// The configuration every test server starts from: random port, fresh database, our SMTP.
pub async fn test_config(backend: Backend, mail: &MailServer) -> ServeArgs {
    let data_dir = hearth::testing::scratch_dir("test");
    let mut config = ServeArgs::defaults();
    config.addr = "127.0.0.1:0".parse().expect("loopback address");
    config.storage.data_dir = data_dir.clone();
    config.storage.database_url = Some(fresh_database(backend, &data_dir).await);
    config.smtp_url = Some(mail.url.clone().into());
    config.jwt_secret = Some("test-secret-test-secret-test-secret-0123".into());
    config.email_verification = EmailVerification::Required;
    config.site_root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site");
    // Tests sign in a lot from one address; the limiter has its own tests.
    config.auth_limit_per_ip = 1000;
    config.auth_limit_per_account = 1000;
    // The same for /api/* limits; `rate_limits` tests lower them.
    config.api_limit = 10_000;
    config.api_limit_upload = 10_000;
    config.api_limit_search = 10_000;
    config.api_limit_webhook = 10_000;
    config.api_limit_anonymous_tools = 10_000;
    config
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut ServeArgs)) -> TestApp {
    if std::env::var_os("TEST_LOG").is_some() {
        hearth::telemetry::init("debug,sqlx=warn");
    }
    let mail = MailServer::start().await;
    let mut config = test_config(backend, &mail).await;
    adjust(&mut config);
    let server = startup::start(&config).await.expect("server starts");
    TestApp {
        base: format!("http://{}", server.addr),
        client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client"),
        database_url: config.storage.database_url.clone().unwrap_or_default(),
        data_dir: config.storage.data_dir.clone(),
        mail,
        server: Some(server),
    }
}

/// What a user of the API sees: status, headers and the JSON body (Null when not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    pub fn field(&self, name: &str) -> &str {
        self.body[name].as_str().unwrap_or_else(|| panic!("no string {name:?} in {} {}", self.status, self.text))
    }

    /// Asserts a ChatCLI error envelope with this status and message.
    #[track_caller]
    pub fn assert_chatcli_error(&self, status: u16, message: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["status"], "error", "body: {}", self.text);
        assert_eq!(self.body["message"], message, "body: {}", self.text);
    }

    /// Asserts an nchat error envelope with this status and code.
    #[track_caller]
    pub fn assert_nchat_error(&self, status: u16, code: &str) {
        assert_eq!(self.status.as_u16(), status, "body: {}", self.text);
        assert_eq!(self.body["success"], false, "body: {}", self.text);
        assert_eq!(self.body["code"], code, "body: {}", self.text);
        assert_eq!(self.body["errorCode"], code, "body: {}", self.text);
        assert!(self.body["error"].as_str().is_some_and(|e| !e.is_empty()), "body: {}", self.text);
    }
}

pub struct Tokens {
    pub access: String,
    pub refresh: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Reply {
        let response = request.send().await.expect("request reaches the server");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, body, text }
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(&body)).await
    }

    pub async fn post_bearer(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(self.client.post(self.url(path)).bearer_auth(token).json(&body)).await
    }

    pub async fn post_raw(&self, path: &str, content_type: &str, body: impl Into<reqwest::Body>) -> Reply {
        self.send(self.client.post(self.url(path)).header("content-type", content_type).body(body)).await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path))).await
    }

    /// Registers on the ChatCLI surface (expects 201) and returns the e-mail address used.
    pub async fn register(&self, username: &str) -> String {
        let email = format!("{}@example.org", username.to_lowercase());
        let reply =
            self.post("/user/register", json!({"username": username, "password": PASSWORD, "email": email})).await;
        assert_eq!(reply.status, 201, "register {username}: {}", reply.text);
        email
    }

    /// Registers and verifies with the mailed code.
    pub async fn register_verified(&self, username: &str) -> String {
        let email = self.register(username).await;
        let code = self.mail.verification_code(&email).await;
        let reply = self.post("/user/verify-email", json!({"username": username, "email_token": code})).await;
        assert_eq!(reply.status, 200, "verify {username}: {}", reply.text);
        email
    }

    pub async fn login(&self, username: &str, password: &str) -> Tokens {
        let reply = self.post("/user/login", json!({"username": username, "password": password})).await;
        assert_eq!(reply.status, 200, "login {username}: {}", reply.text);
        Tokens { access: reply.field("access_token").into(), refresh: reply.field("refresh_token").into() }
    }

    /// A verified, signed-in ChatCLI user.
    pub async fn signed_in(&self, username: &str) -> Tokens {
        self.register_verified(username).await;
        self.login(username, PASSWORD).await
    }

    /// The profile as the token's owner sees it (status tells whether the token works).
    pub async fn profile(&self, access: &str) -> Reply {
        self.post("/user/profile", json!({"session_token": access})).await
    }

    /// Runs the `hearth` binary against this test's database (the admin commands).
    pub fn hearth_command(&self, args: &[&str]) -> std::process::Output {
        std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
            .args(args)
            .env("DATABASE_URL", &self.database_url)
            .env("HEARTH_DATA_DIR", &self.data_dir)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run hearth")
    }

    /// The running server, for tests that shut it down themselves (TestApp::stop then does nothing).
    pub fn take_server(&mut self) -> RunningServer {
        self.server.take().expect("the server is still running")
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

pub async fn pause(millis: u64) {
    tokio::time::sleep(Duration::from_millis(millis)).await;
}

/// Chat helpers: each asserts success and returns what a client would keep.
impl TestApp {
    pub async fn create_chat(&self, access: &str, receiver: &str) -> i64 {
        let reply = self.post("/chat/create-chat", json!({"session_token": access, "receiver": receiver})).await;
        assert_eq!(reply.status, 201, "create-chat: {}", reply.text);
        reply.body["chatID"].as_i64().expect("chatID")
    }

    pub async fn create_group(&self, access: &str, name: &str, members: &[&str]) -> i64 {
        let reply =
            self.post("/chat/create-group", json!({"session_token": access, "name": name, "members": members})).await;
        assert_eq!(reply.status, 201, "create-group: {}", reply.text);
        reply.body["chatID"].as_i64().expect("chatID")
    }

    pub async fn post_message(&self, access: &str, chat_id: i64, text: &str) -> i64 {
        let reply =
            self.post("/chat/post-message", json!({"session_token": access, "chatID": chat_id, "text": text})).await;
        assert_eq!(reply.status, 201, "post-message: {}", reply.text);
        reply.body["messageID"].as_i64().expect("messageID")
    }

    /// `/chat/messages` with extra fields (limit, before, after); asserts 200.
    pub async fn messages(&self, access: &str, chat_id: i64, extra: Value) -> Vec<Value> {
        let mut body = json!({"session_token": access, "chatID": chat_id});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self.post("/chat/messages", body).await;
        assert_eq!(reply.status, 200, "messages: {}", reply.text);
        reply.body["messages"].as_array().expect("messages").clone()
    }

    pub async fn message_texts(&self, access: &str, chat_id: i64, extra: Value) -> Vec<String> {
        self.messages(access, chat_id, extra)
            .await
            .iter()
            .map(|m| m["message"].as_str().unwrap_or_default().to_string())
            .collect()
    }
}
