//! Builds Hearth from its configuration and serves it. Tests call `start` with port 0 and get the
//! address back, so every test runs its own server on its own database.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use app::domain::events::EventSink;
use app::domain::mail::Mailer;
use app::domain::store::Store;
use app::domain::AppState;
use app::ui::{shell, App};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use leptos::prelude::*;
use leptos_axum::{file_and_error_handler_with_context, generate_route_list, LeptosRoutes};
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::api_limits::ApiLimits;
use crate::config::ServeArgs;
use crate::envelope::{envelope, ApiRoutes, EnvelopeConfig};
use crate::live::bus::{connect_nats, LocalBus};
use crate::live::socket::{self, Live};
use crate::live::Hub;
use crate::live::{call_socket, calls};
use crate::observe::Observed;

/// The stylesheet is compiled in, so pages are styled even before a browser bundle is built.
const STYLESHEET: &str = include_str!("../../style/main.css");

pub async fn open_store(storage: &crate::config::StorageArgs) -> anyhow::Result<Store> {
    let url = storage.database_url();
    let store = Store::connect(&url).await.map_err(|e| anyhow::anyhow!("{e}")).context("opening the database")?;
    store.migrate().await.map_err(|e| anyhow::anyhow!("{e}")).context("migrating the database")?;
    Ok(store)
}

/// The secret that signs access tokens: configured, or generated once and kept in the data folder.
fn jwt_secret(config: &ServeArgs) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = config.jwt_secret.as_ref().map(|s| s.expose_secret()).filter(|s| !s.is_empty()) {
        anyhow::ensure!(secret.len() >= 32, "HEARTH_JWT_SECRET must be at least 32 characters");
        return Ok(secret.as_bytes().to_vec());
    }
    let path = config.storage.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.as_bytes().to_vec());
        }
    }
    std::fs::create_dir_all(&config.storage.data_dir)
        .with_context(|| format!("creating {}", config.storage.data_dir.display()))?;
    let secret = hex::encode(rand::random::<[u8; 32]>());
    write_private(&path, &secret).with_context(|| format!("writing {}", path.display()))?;
    Ok(secret.into_bytes())
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

/// The shared state and this node's hub. `public_url` is where mailed links point.
pub async fn build_state(config: &ServeArgs, public_url: String) -> anyhow::Result<(AppState, Arc<Hub>)> {
    let store = open_store(&config.storage).await?;
    let mailer = match config.smtp_url.as_ref().map(|u| u.expose_secret()).filter(|u| !u.is_empty()) {
        Some(url) => Mailer::smtp(url, &config.mail_from).map_err(anyhow::Error::msg)?,
        None => {
            let outbox = config.storage.data_dir.join("outbox");
            tracing::warn!("HEARTH_SMTP_URL is not set: mails go to the log and to {}", outbox.display());
            Mailer::outbox(outbox)
        }
    };
    let mut settings = config.settings(public_url, jwt_secret(config)?);
    settings.livekit = config.livekit()?;
    let node = config.node_id.clone().unwrap_or_else(|| format!("node-{:08x}", rand::random::<u32>()));
    let hub = Hub::new(node, settings.livekit.clone());
    let events: Arc<dyn EventSink> = match config.nats_url.as_ref().filter(|u| !u.is_empty()) {
        Some(url) => connect_nats(url, config.nats_subject.clone(), hub.clone()).await?,
        None => LocalBus::new(hub.clone()),
    };
    Ok((AppState::new(store, settings, mailer, events), hub))
}

pub fn router(state: AppState, hub: Arc<Hub>, config: &ServeArgs) -> Router {
    let observed = Observed { metrics: Arc::default(), app: state.clone(), hub: hub.clone() };
    let limits = ApiLimits { app: state.clone(), config: Arc::new(config.api_limits()) };
    let live = Live { app: state.clone(), hub, config: Arc::new(config.live_config()) };
    let leptos_options = LeptosOptions::builder()
        .output_name("hearth")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .build();
    let routes = generate_route_list(App);
    let context = {
        let state = state.clone();
        move || provide_context(state.clone())
    };
    let page = {
        let options = leptos_options.clone();
        move || shell(options.clone())
    };
    let routes = Router::new()
        .route("/pkg/hearth.css", get(stylesheet))
        .route("/ws", get(socket::upgrade).with_state(live.clone()))
        .route("/ws/call/{call_id}", get(call_socket::upgrade).with_state(live.clone()))
        .route("/call/{call_id}", get(call_socket::upgrade).with_state(live))
        .route(crate::logos::ROUTE, get(crate::logos::serve).with_state(state.clone()))
        .route("/openapi.yaml", get(crate::openapi::yaml_handler))
        .merge(crate::openapi::swagger_ui())
        .merge(upload_and_webhook_routes(state.clone()))
        .merge(platform_routes(state.clone(), observed.clone()))
        .leptos_routes_with_context(&leptos_options, routes, context.clone(), page)
        .fallback(file_and_error_handler_with_context(context, shell))
        .layer(axum::middleware::from_fn_with_state(
            EnvelopeConfig {
                body_limit_bytes: config.body_limit_bytes,
                // The documented routes: the one registry also says which paths exist.
                api_routes: Arc::new(ApiRoutes::new(crate::openapi::routes().into_iter().map(|r| (r.method, r.path)))),
            },
            envelope,
        ))
        // A logout's own socket closes once its answer is out (see `after_answer`).
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::after_answer::publish_held_events))
        // Outside the envelope: limits answer before any work, and metrics count every answer.
        .layer(axum::middleware::from_fn_with_state(limits, crate::api_limits::limit_api))
        .layer(axum::middleware::from_fn_with_state(observed.metrics, crate::observe::record_requests));
    // Outermost: preflights are answered before limits, and every answer gets the headers.
    let routes = match config.cors_origins.layer() {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    routes.layer(axum::middleware::from_fn(crate::security::security_headers)).with_state(leptos_options)
}

/// Probes, metrics and the audit export: HEAD, Prometheus text and downloads (not server functions).
fn platform_routes(state: AppState, observed: Observed) -> Router<LeptosOptions> {
    Router::new()
        .route("/api/ready", get(crate::probes::ready).with_state(state.clone()))
        .route(
            "/api/audit/export",
            get(crate::audit_export::export).post(crate::audit_export::export_post).with_state(state),
        )
        .route("/api/metrics", get(crate::observe::metrics).with_state(observed))
}

/// The upload and webhook routes that carry ids in the path or raw bytes (not server functions).
fn upload_and_webhook_routes(state: AppState) -> Router<LeptosOptions> {
    use axum::routing::{delete, put};
    Router::new()
        .route("/api/upload/{file_id}", put(crate::files::put_upload))
        .route("/api/files/{file_id}", get(crate::files::download))
        .route("/api/webhook/{id}", get(crate::webhooks::info_query).post(crate::webhooks::post_query))
        .route("/api/webhook/{id}/{token}", get(crate::webhooks::info_path).post(crate::webhooks::post_path))
        .route("/api/webhooks/{id}", delete(crate::webhooks::delete))
        .route(
            "/api/messages/{id}/reactions",
            get(crate::messages::list_reactions)
                .post(crate::messages::add_reaction)
                .delete(crate::messages::remove_reaction)
                .patch(crate::messages::toggle_reaction),
        )
        .route(
            "/api/messages/{id}/pin",
            get(crate::messages::pin_get).post(crate::messages::pin_post).delete(crate::messages::pin_delete),
        )
        .route("/api/messages/{id}/history", get(crate::messages::history))
        .route(
            "/api/messages/{id}/save",
            get(crate::messages::save_get).post(crate::messages::save_post).delete(crate::messages::save_delete),
        )
        .route("/api/saved-messages", get(crate::messages::saved_list))
        .with_state(state)
}

async fn stylesheet() -> impl IntoResponse {
    ([(http::header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLESHEET)
}

/// A server running in the background of this process.
pub struct RunningServer {
    pub addr: SocketAddr,
    pub state: AppState,
    pub hub: Arc<Hub>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    ring_timeouts: JoinHandle<()>,
}

impl RunningServer {
    /// Shuts down with the default grace period.
    pub async fn stop(self) {
        self.shutdown(Duration::from_secs(10)).await;
    }

    /// Stops accepting, tells every WebSocket to reconnect (close 1012), lets requests in flight
    /// finish, and gives up on whatever is still running after `grace`. True when all finished.
    pub async fn shutdown(mut self, grace: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + grace;
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.hub.close_all_for_shutdown();
        let hub = self.hub.clone();
        let finished = tokio::time::timeout_at(deadline, async {
            let _ = (&mut self.task).await;
            // Upgraded connections are no longer the HTTP server's: wait for the sockets apart.
            while hub.open_sockets() > 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .is_ok();
        if !finished {
            tracing::warn!(
                sockets = self.hub.open_sockets(),
                "shutdown grace period ({} s) is over: stopping what is still running",
                grace.as_secs_f64()
            );
            self.task.abort();
        }
        self.ring_timeouts.abort();
        // Connections held by aborted requests are dropped with them; do not wait on them.
        let _ = tokio::time::timeout(Duration::from_secs(1), self.state.store.close()).await;
        finished
    }
}

/// Binds `config.addr` (port 0 picks a free one) and serves in a background task.
pub async fn start(config: &ServeArgs) -> anyhow::Result<RunningServer> {
    let listener = TcpListener::bind(config.addr).await.with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let (state, hub) = build_state(config, public_url).await?;
    let app = router(state.clone(), hub.clone(), config).into_make_service_with_connect_info::<SocketAddr>();
    let ring_timeouts = calls::spawn_ring_timeouts(state.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    // Small frames (an ack after a message) go out at once, not after the client's delayed ACK.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(RunningServer { addr, state, hub, stop: Some(stop), task, ring_timeouts })
}

/// Serves until Ctrl-C or SIGTERM.
pub async fn serve(config: &ServeArgs) -> anyhow::Result<()> {
    let server = start(config).await?;
    tracing::info!("Hearth is listening on http://{} (public URL {})", server.addr, server.state.settings.public_url);
    shutdown_signal().await;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    tracing::info!("shutting down (up to {} s for requests in flight)", grace.as_secs());
    if server.shutdown(grace).await {
        tracing::info!("shut down cleanly");
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
