//! What `/api/metrics` shows, in Prometheus text: requests by route pattern, method and status
//! with latency histograms (recorded by `record_requests`), sockets, messages, events, the pool.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use app::domain::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::Method;

use crate::live::Hub;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// This server's request counts. A small registry of its own rather than the `metrics` crates:
/// their recorder is process-global, and tests run many servers in one process.
#[derive(Default)]
pub struct Metrics {
    /// (route pattern, method) → per status counts and one latency histogram.
    routes: Mutex<BTreeMap<(String, &'static str), RouteStats>>,
}

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Counts per bucket (not cumulative; summed when rendered).
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
}

impl Metrics {
    pub fn observe(&self, route: String, method: &'static str, status: u16, seconds: f64) {
        let mut routes = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let stats = routes.entry((route, method)).or_default();
        *stats.by_status.entry(status).or_default() += 1;
        if let Some(bucket) = BUCKETS.iter().position(|le| seconds <= *le) {
            stats.buckets[bucket] += 1;
        }
        stats.count += 1;
        stats.sum_seconds += seconds;
    }
}

/// What the metrics route reads from.
#[derive(Clone)]
pub struct Observed {
    pub metrics: Arc<Metrics>,
    pub app: AppState,
    pub hub: Arc<Hub>,
}

/// Times every request and counts it under its route pattern (never the raw path, so label
/// values stay few); paths no route matched count as `unmatched`.
pub async fn record_requests(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let route = match request.extensions().get::<MatchedPath>() {
        Some(matched) => matched.as_str().to_string(),
        None => "unmatched".to_string(),
    };
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    metrics.observe(route, method, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

/// Known methods by name; anything else as `OTHER` (clients choose methods, too).
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 7] =
        [Method::GET, Method::HEAD, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS];
    KNOWN.iter().find(|m| *m == method).map(Method::as_str).unwrap_or("OTHER")
}

/// `GET /api/metrics`.
pub async fn metrics(State(observed): State<Observed>) -> Response {
    let body = render(&observed);
    ([(http::header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}

fn render(observed: &Observed) -> String {
    let mut out = String::new();
    let routes = observed.metrics.routes.lock().unwrap_or_else(|p| p.into_inner());
    header(&mut out, "hearth_http_requests_total", "counter", "HTTP requests by route pattern, method and status.");
    for ((route, method), stats) in routes.iter() {
        for (status, count) in &stats.by_status {
            let _ = writeln!(
                out,
                "hearth_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {count}",
                escape(route)
            );
        }
    }
    let name = "hearth_http_request_duration_seconds";
    header(&mut out, name, "histogram", "HTTP request latency by route pattern and method.");
    for ((route, method), stats) in routes.iter() {
        let labels = format!("route=\"{}\",method=\"{method}\"", escape(route));
        let mut cumulative = 0;
        for (le, count) in BUCKETS.iter().zip(stats.buckets) {
            cumulative += count;
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{le}\"}} {cumulative}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {}", stats.count);
        let _ = writeln!(out, "{name}_sum{{{labels}}} {}", stats.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{labels}}} {}", stats.count);
    }
    drop(routes);
    let hub = &observed.hub;
    let pool = observed.app.store.pool();
    let idle = pool.num_idle() as u64;
    let open = u64::from(pool.size());
    let gauges: [(&str, &str, &str, u64); 6] = [
        (
            "hearth_websocket_connections",
            "gauge",
            "Open WebSocket connections on this node.",
            hub.connection_count() as u64,
        ),
        (
            "hearth_messages_posted_total",
            "counter",
            "Messages posted (announced to this node).",
            hub.messages_posted.load(Ordering::Relaxed),
        ),
        (
            "hearth_events_delivered_total",
            "counter",
            "Live events this node fanned out to its sockets.",
            hub.events_delivered.load(Ordering::Relaxed),
        ),
        ("hearth_db_pool_connections", "gauge", "Database connections open in the pool.", open),
        ("hearth_db_pool_idle_connections", "gauge", "Open database connections not in use.", idle),
        ("hearth_db_pool_in_use_connections", "gauge", "Database connections in use.", open.saturating_sub(idle)),
    ];
    for (name, kind, help, value) in gauges {
        header(&mut out, name, kind, help);
        let _ = writeln!(out, "{name} {value}");
    }
    header(&mut out, "hearth_uptime_seconds", "gauge", "Seconds since this process started.");
    let _ = writeln!(out, "hearth_uptime_seconds {}", observed.app.started_at.elapsed().as_secs_f64());
    out
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// A label value as Prometheus' text format wants it.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_fall_in_their_bucket() {
        let metrics = Metrics::default();
        metrics.observe("/api/health".into(), "GET", 200, 0.003);
        metrics.observe("/api/health".into(), "GET", 500, 0.2);
        let routes = metrics.routes.lock().unwrap();
        let stats = &routes[&("/api/health".to_string(), "GET")];
        assert_eq!((stats.buckets[0], stats.buckets[5], stats.count), (1, 1, 2));
        assert_eq!(stats.by_status[&500], 1);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c"), "a\\\"b\\\\c");
    }
}
