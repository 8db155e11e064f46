//! A stand-in for the services Hearth calls out to, on loopback: a LibreTranslate server, Giphy's
//! and Tenor's search APIs, and web pages to preview (with redirects and a slow one).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Query;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

pub const TRANSLATE_KEY: &str = "tr-key";
pub const GIF_KEY: &str = "gif-key";

pub struct StandIn {
    pub addr: SocketAddr,
}

impl StandIn {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn translate(Json(body): Json<Value>) -> Response {
    let text = body["q"].as_str().unwrap_or_default().to_string();
    if body["api_key"] != TRANSLATE_KEY || body["format"] != "text" {
        return (StatusCode::FORBIDDEN, Json(json!({"error": "Invalid API key"}))).into_response();
    }
    match text.as_str() {
        "fail" => (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"error": "model crashed"}))).into_response(),
        "slow" => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Json(json!({"translatedText": "late"})).into_response()
        }
        _ => Json(json!({
            "translatedText": format!("[{}] {text}", body["target"].as_str().unwrap_or_default()),
            "detectedLanguage": {"language": "en", "confidence": 90.0},
        }))
        .into_response(),
    }
}

async fn giphy(Query(query): Query<Vec<(String, String)>>) -> Response {
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    if get("api_key") != GIF_KEY {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    let limit: usize = get("limit").parse().unwrap_or(0);
    let items: Vec<Value> = (0..limit.min(3))
        .map(|i| {
            json!({"id": format!("g{i}"), "title": format!("{} {i}", get("q")), "images": {
                "original": {"url": format!("https://media.example/g{i}.gif"), "width": "480", "height": "270"},
                "fixed_width_small": {"url": format!("https://media.example/g{i}-s.gif")}}})
        })
        .collect();
    Json(json!({"data": items, "meta": {"status": 200}})).into_response()
}

async fn tenor(Query(query): Query<Vec<(String, String)>>) -> Response {
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    if get("key") != GIF_KEY {
        return (StatusCode::UNAUTHORIZED, "bad key").into_response();
    }
    Json(json!({"results": [{"id": "t1", "content_description": get("q"), "media_formats": {
        "gif": {"url": "https://media.example/t1.gif", "dims": [320, 240]},
        "tinygif": {"url": "https://media.example/t1-s.gif"}}}]}))
    .into_response()
}

const PAGE: &str = r#"<!doctype html><html><head>
<title>Plain title</title>
<meta property="og:title" content="Tom &amp; Jerry&#39;s page">
<meta name="description" content="A page about &lt;cats&gt;">
<meta property="og:site_name" content="Stand-in">
<meta name="twitter:image" content="/images/card.png">
</head><body><p>Hello</p></body></html>"#;

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], PAGE).into_response()
}

/// A head, then far more than Hearth reads.
async fn huge_page() -> Response {
    let mut body = String::from("<html><head><title>Huge</title></head><body>");
    body.push_str(&"x".repeat(3 * 1024 * 1024));
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

async fn slow_page() -> Response {
    tokio::time::sleep(Duration::from_secs(5)).await;
    page().await
}

/// Redirects wherever `?to=` says.
async fn redirect_to(Query(query): Query<Vec<(String, String)>>) -> Response {
    let to = query.iter().find(|(k, _)| k == "to").map(|(_, v)| v.clone()).unwrap_or_default();
    Redirect::temporary(&to).into_response()
}

pub async fn start() -> StandIn {
    let app = Router::new()
        .route("/translate", post(translate))
        .route("/v1/gifs/search", get(giphy))
        .route("/v2/search", get(tenor))
        .route("/page", get(page))
        .route("/huge", get(huge_page))
        .route("/slow", get(slow_page))
        .route("/redirect", get(|| async { Redirect::temporary("/page") }))
        .route("/redirect-to", get(redirect_to))
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route("/to-ftp", get(|| async { Redirect::temporary("ftp://files.example/x") }))
        .route("/not-found", get(|| async { StatusCode::NOT_FOUND }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the stand-in");
    let addr = listener.local_addr().expect("stand-in address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    StandIn { addr }
}
