//! Secrets never reach the log: run the real binary with debug logging through sign-up, sign-in,
//! refresh and reset, then search everything it printed for passwords, tokens and codes.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::helpers::{fresh_database, Backend, Reply, PASSWORD};
use crate::on_both_backends;
use crate::smtp::MailServer;

on_both_backends!(passwords_tokens_and_codes_stay_out_of_the_log);

async fn passwords_tokens_and_codes_stay_out_of_the_log(backend: Backend) {
    let mail = MailServer::start().await;
    let data_dir = hearth::testing::scratch_dir("log-test");
    let database_url = fresh_database(backend, &data_dir).await;
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        probe.local_addr().expect("addr").port()
    };
    let log_file = data_dir.join("hearth.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hearth"))
        .arg("serve")
        .env("HEARTH_ADDR", format!("127.0.0.1:{port}"))
        .env("DATABASE_URL", &database_url)
        .env("HEARTH_DATA_DIR", &data_dir)
        .env("HEARTH_SMTP_URL", &mail.url)
        .env("RUST_LOG", "trace")
        .stdout(Stdio::from(std::fs::File::create(&log_file).expect("log file")))
        .stderr(Stdio::from(std::fs::File::options().append(true).open(&log_file).expect("log file")))
        .spawn()
        .expect("start hearth");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        let request = client.post(format!("{base}{path}")).json(&body);
        async move {
            let response = request.send().await.expect("reachable");
            let status = response.status();
            let text = response.text().await.unwrap_or_default();
            Reply { status, headers: Default::default(), body: serde_json::from_str(&text).unwrap_or_default(), text }
        }
    };
    for _ in 0..100 {
        if client.get(format!("{base}/verify-connection")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    post("/user/register", json!({"username": "alice", "password": PASSWORD, "email": "alice@example.org"})).await;
    let code = mail.verification_code("alice@example.org").await;
    post("/user/verify-email", json!({"username": "alice", "email_token": code})).await;
    let login = post("/user/login", json!({"username": "alice", "password": PASSWORD})).await;
    let access = login.field("access_token").to_string();
    let refresh = login.field("refresh_token").to_string();
    post("/user/refresh-token", json!({"refresh_token": refresh})).await;
    post("/user/refresh-token", json!({"refresh_token": refresh})).await; // reuse: logged as a warning
    post("/user/login", json!({"username": "alice", "password": "Wr0ng-password!"})).await;
    post("/user/reset-password-request", json!({"username": "alice"})).await;
    let link = mail.reset_link("alice@example.org").await;
    let reset_token = link.split("token=").nth(1).and_then(|t| t.split('&').next()).expect("token").to_string();

    let _ = child.kill();
    let _ = child.wait();
    let log = std::fs::read_to_string(&log_file).expect("read log");
    assert!(log.contains("Hearth is listening"), "the log was captured: {log}");
    for secret in [PASSWORD, "Wr0ng-password!", &code, &access, &refresh, &reset_token] {
        assert!(!log.contains(secret), "a secret reached the log: {secret}");
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
