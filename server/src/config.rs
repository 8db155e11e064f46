//! Process configuration: the `hearth` command line, every option also read from an environment
//! variable (`hearth serve --help` lists them). Secrets are never printed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use app::domain::livekit::LiveKit;
use app::domain::settings::{Registration, Settings};
use clap::{Args, Parser, Subcommand, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Parser)]
#[command(name = "hearth", version, about = "Hearth: a self-hosted chat server")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (creates and migrates the database on start).
    Serve(Box<ServeArgs>),
    /// Create or update the database schema, then exit.
    Migrate(StorageArgs),
    /// Manage invite codes (for HEARTH_REGISTRATION=invite).
    Invite {
        #[command(subcommand)]
        command: InviteCommand,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum InviteCommand {
    /// Print a new invite code.
    Create {
        /// How many sign-ups the code allows.
        #[arg(long, default_value_t = 1)]
        uses: u32,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Give an account a server role: owner, admin, moderator, member or guest.
    SetRole {
        name: String,
        role: String,
        #[command(flatten)]
        storage: StorageArgs,
    },
}

#[derive(Debug, Clone, Args)]
pub struct StorageArgs {
    /// `sqlite://path/to/file.db` or `postgres://user@host/db`. Default: a SQLite file under the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where Hearth keeps its SQLite file, generated secret and mail outbox.
    #[arg(long, env = "HEARTH_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
}

impl StorageArgs {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|url| !url.trim().is_empty())
            .unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("hearth.db").display()))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmailVerification {
    Required,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RateLimitStore {
    Memory,
    Database,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnOff {
    On,
    Off,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegistrationMode {
    Open,
    Invite,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HEARTH_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    #[command(flatten)]
    pub storage: StorageArgs,
    /// The address people reach Hearth at, used in mailed links. Default: http://<HEARTH_ADDR>.
    #[arg(long, env = "HEARTH_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Secret that signs access tokens. Default: generated once and kept in <data dir>/jwt-secret.
    #[arg(long, env = "HEARTH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,
    /// Outgoing mail server, e.g. smtp://127.0.0.1:2525 or smtps://user:pass@mail.example.org.
    /// When unset, mails are logged and written to <data dir>/outbox.
    #[arg(long, env = "HEARTH_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<SecretString>,
    /// Sender of Hearth's mails.
    #[arg(long, env = "HEARTH_MAIL_FROM", default_value = "Hearth <no-reply@hearth.localhost>")]
    pub mail_from: String,
    /// Whether new accounts must confirm their e-mail address with a mailed code.
    #[arg(long, env = "HEARTH_EMAIL_VERIFICATION", value_enum, default_value = "required")]
    pub email_verification: EmailVerification,
    /// `open`: anyone may sign up; `invite`: sign-up needs a code from `hearth invite create`.
    #[arg(long, env = "HEARTH_REGISTRATION", value_enum, default_value = "open")]
    pub registration: RegistrationMode,
    /// Folder holding the built browser bundle (`pkg/hearth.js`, `pkg/hearth_bg.wasm`).
    #[arg(long, env = "HEARTH_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Sign-in, sign-up, verification and reset attempts allowed per minute from one IP address.
    #[arg(long, env = "HEARTH_AUTH_LIMIT_PER_IP", default_value_t = 30)]
    pub auth_limit_per_ip: u32,
    /// The same attempts allowed per minute against one account.
    #[arg(long, env = "HEARTH_AUTH_LIMIT_PER_ACCOUNT", default_value_t = 10)]
    pub auth_limit_per_account: u32,
    /// Largest request body accepted on the JSON routes, in bytes.
    #[arg(long, env = "HEARTH_BODY_LIMIT_BYTES", default_value_t = 64 * 1024)]
    pub body_limit_bytes: usize,
    /// Requests per window to one `/api` route group, per signed-in user or else per address.
    #[arg(long, env = "HEARTH_API_LIMIT", default_value_t = 60)]
    pub api_limit: u32,
    /// The same for `/api/upload*`.
    #[arg(long, env = "HEARTH_API_LIMIT_UPLOAD", default_value_t = 30)]
    pub api_limit_upload: u32,
    /// The same for `/api/search`.
    #[arg(long, env = "HEARTH_API_LIMIT_SEARCH", default_value_t = 60)]
    pub api_limit_search: u32,
    /// Requests per window to one webhook (`/api/webhook/{id}`), whoever sends them.
    #[arg(long, env = "HEARTH_API_LIMIT_WEBHOOK", default_value_t = 30)]
    pub api_limit_webhook: u32,
    /// Requests per window to `/api/translate`, `/api/gif` and `/api/link-preview` from one address
    /// without a token (signed-in callers count against HEARTH_API_LIMIT).
    #[arg(long, env = "HEARTH_API_LIMIT_ANONYMOUS_TOOLS", default_value_t = 10)]
    pub api_limit_anonymous_tools: u32,
    /// `on`: translate, GIF search and link previews answer without a token (nchat's guide);
    /// `off`: they need a signed-in caller.
    #[arg(long, env = "HEARTH_ANONYMOUS_TOOLS", value_enum, default_value = "on")]
    pub anonymous_tools: OnOff,
    /// Length of the `/api` rate-limit window, in seconds (`/api/auth/*` uses HEARTH_AUTH_LIMIT_PER_IP).
    #[arg(long, env = "HEARTH_API_LIMIT_WINDOW_SECS", default_value_t = 60)]
    pub api_limit_window_secs: u64,
    /// Where `/api` request counts live: `memory` (this node) or `database` (shared by every node
    /// on the same database: use it with several nodes on PostgreSQL).
    #[arg(long, env = "HEARTH_RATE_LIMIT_SHARED", value_enum, default_value = "memory")]
    pub rate_limit_shared: RateLimitStore,
    #[arg(long, env = "HEARTH_ACCESS_TOKEN_TTL_SECS", default_value_t = 24 * 3600)]
    pub access_token_ttl_secs: u64,
    #[arg(long, env = "HEARTH_REFRESH_TOKEN_TTL_SECS", default_value_t = 60 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
    #[arg(long, env = "HEARTH_VERIFICATION_CODE_TTL_SECS", default_value_t = 5 * 60)]
    pub verification_code_ttl_secs: u64,
    #[arg(long, env = "HEARTH_RESET_LINK_TTL_SECS", default_value_t = 3600)]
    pub reset_link_ttl_secs: u64,
    /// NATS server that links several Hearth nodes sharing one PostgreSQL database
    /// (e.g. nats://127.0.0.1:4222). Unset: one node, events delivered in-process.
    #[arg(long, env = "HEARTH_NATS_URL")]
    pub nats_url: Option<String>,
    /// NATS subject the nodes of one deployment share.
    #[arg(long, env = "HEARTH_NATS_SUBJECT", default_value = "hearth.events")]
    pub nats_subject: String,
    /// This node's name in presence announcements. Default: random at each start.
    #[arg(long, env = "HEARTH_NODE_ID")]
    pub node_id: Option<String>,
    /// Frames queued for one WebSocket before the client counts as not reading and is cut off.
    #[arg(long, env = "HEARTH_WS_QUEUE_FRAMES", default_value_t = 256)]
    pub ws_queue_frames: usize,
    /// Largest WebSocket frame a client may send, in bytes (larger: closed with 1009).
    #[arg(long, env = "HEARTH_WS_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub ws_max_frame_bytes: usize,
    /// Frames per second one WebSocket may send on average, bursts of twice that (more: closed with 1008).
    #[arg(long, env = "HEARTH_WS_FRAMES_PER_SEC", default_value_t = 20)]
    pub ws_frames_per_sec: u32,
    /// Seconds a new WebSocket has to send its `auth` frame (then: closed with 1008).
    #[arg(long, env = "HEARTH_WS_AUTH_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_auth_timeout_secs: u64,
    /// Origins whose browser pages may call the API (comma-separated, or `*`). Empty: none.
    #[arg(long, env = "HEARTH_CORS_ORIGINS", default_value = "", value_parser = crate::security::CorsOrigins::parse)]
    pub cors_origins: crate::security::CorsOrigins,
    /// Seconds a shutdown (SIGTERM, Ctrl-C) waits for requests in flight and sockets to finish.
    #[arg(long, env = "HEARTH_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,
    /// Seconds a call rings unanswered before it ends.
    #[arg(long, env = "HEARTH_CALL_RING_SECS", default_value_t = 45)]
    pub call_ring_secs: u64,
    /// Key of incoming webhooks' HMAC signatures (`X-Webhook-Signature`, `X-Hub-Signature-256`,
    /// `X-Hub-Signature`): a signed post must match it. Unset: signatures are not checked.
    #[arg(long, env = "HEARTH_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<SecretString>,
    /// Largest file an upload may declare, in bytes.
    #[arg(long, env = "HEARTH_UPLOAD_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub upload_max_bytes: u64,
    /// Comma-separated content types uploads may have.
    #[arg(
        long,
        env = "HEARTH_UPLOAD_TYPES",
        default_value = "image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain,application/zip"
    )]
    pub upload_types: String,
    /// Seconds a presigned upload URL stays good.
    #[arg(long, env = "HEARTH_UPLOAD_URL_TTL_SECS", default_value_t = 900)]
    pub upload_url_ttl_secs: u64,
    /// LiveKit server for voice calls (ws://, wss://, http:// or https://); call sockets relay its
    /// signalling. Unset: call sockets relay JSON frames among the call's participants.
    #[arg(long, env = "LIVEKIT_URL")]
    pub livekit_url: Option<String>,
    /// LiveKit API key (the `iss` of the tokens Hearth mints). Needs LIVEKIT_API_SECRET.
    #[arg(long, env = "LIVEKIT_API_KEY")]
    pub livekit_api_key: Option<String>,
    /// LiveKit API secret, which signs call tokens.
    #[arg(long, env = "LIVEKIT_API_SECRET", hide_env_values = true)]
    pub livekit_api_secret: Option<SecretString>,
    /// Lifetime of the LiveKit tokens Hearth mints, in seconds.
    #[arg(long, env = "HEARTH_LIVEKIT_TOKEN_TTL_SECS", default_value_t = 600)]
    pub livekit_token_ttl_secs: u64,
    /// Seconds a call socket waits for LiveKit to accept its signalling connection.
    #[arg(long, env = "HEARTH_LIVEKIT_CONNECT_TIMEOUT_SECS", default_value_t = 5)]
    pub livekit_connect_timeout_secs: u64,
    /// Translate, GIF search and link previews.
    #[command(flatten)]
    pub integrations: crate::integrations::IntegrationArgs,
}

impl ServeArgs {
    /// Defaults, as if `hearth serve` ran with no flags and no environment (tests start here).
    pub fn defaults() -> Self {
        #[derive(Parser)]
        struct Only {
            #[command(flatten)]
            serve: ServeArgs,
        }
        Only::try_parse_from(["hearth"]).expect("the defaults parse").serve
    }

    pub fn live_config(&self) -> crate::live::socket::LiveConfig {
        crate::live::socket::LiveConfig {
            queue_frames: self.ws_queue_frames,
            max_frame_bytes: self.ws_max_frame_bytes,
            frames_per_sec: self.ws_frames_per_sec,
            auth_timeout: Duration::from_secs(self.ws_auth_timeout_secs),
            // A safety net only: revocations reach sockets at once as events.
            session_check_every: Duration::from_secs(120),
            typing_every: Duration::from_secs(2),
            livekit_connect_timeout: Duration::from_secs(self.livekit_connect_timeout_secs.max(1)),
        }
    }

    pub fn api_limits(&self) -> crate::api_limits::ApiLimitConfig {
        crate::api_limits::ApiLimitConfig {
            default: self.api_limit,
            upload: self.api_limit_upload,
            search: self.api_limit_search,
            webhook: self.api_limit_webhook,
            anonymous_tools: self.api_limit_anonymous_tools,
            auth: self.auth_limit_per_ip,
            window: Duration::from_secs(self.api_limit_window_secs.max(1)),
            shared: self.rate_limit_shared == RateLimitStore::Database,
        }
    }

    /// The LiveKit server calls use: key and secret together, and LIVEKIT_URL only with them.
    pub fn livekit(&self) -> anyhow::Result<Option<LiveKit>> {
        let given =
            |value: &Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from);
        let url = given(&self.livekit_url);
        let secret = self.livekit_api_secret.as_ref().map(|s| s.expose_secret().trim().to_string());
        match (given(&self.livekit_api_key), secret.filter(|s| !s.is_empty())) {
            (Some(key), Some(secret)) => {
                if let Some(url) = &url {
                    let schemes = ["ws://", "wss://", "http://", "https://"];
                    anyhow::ensure!(
                        schemes.iter().any(|scheme| url.starts_with(scheme)),
                        "LIVEKIT_URL must start with ws://, wss://, http:// or https://"
                    );
                }
                anyhow::ensure!(self.livekit_token_ttl_secs > 0, "HEARTH_LIVEKIT_TOKEN_TTL_SECS must be at least 1");
                let ttl = Duration::from_secs(self.livekit_token_ttl_secs);
                Ok(Some(LiveKit::new(url, key, secret, ttl)))
            }
            (None, None) => {
                anyhow::ensure!(url.is_none(), "LIVEKIT_URL needs LIVEKIT_API_KEY and LIVEKIT_API_SECRET");
                Ok(None)
            }
            _ => anyhow::bail!("set both LIVEKIT_API_KEY and LIVEKIT_API_SECRET, or neither"),
        }
    }

    /// The domain's settings, with `jwt_secret` already resolved.
    pub fn settings(&self, public_url: String, jwt_secret: Vec<u8>) -> Settings {
        let mut settings = Settings::new(public_url, jwt_secret);
        settings.email_verification_required = self.email_verification == EmailVerification::Required;
        settings.registration = match self.registration {
            RegistrationMode::Open => Registration::Open,
            RegistrationMode::Invite => Registration::Invite,
        };
        settings.access_token_ttl = Duration::from_secs(self.access_token_ttl_secs);
        settings.refresh_token_ttl = Duration::from_secs(self.refresh_token_ttl_secs);
        settings.verification_code_ttl = Duration::from_secs(self.verification_code_ttl_secs);
        settings.reset_link_ttl = Duration::from_secs(self.reset_link_ttl_secs);
        settings.auth_limit_per_ip = self.auth_limit_per_ip;
        settings.auth_limit_per_account = self.auth_limit_per_account;
        settings.password_hash_concurrency = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        settings.mail_from = self.mail_from.clone();
        settings.call_ring_timeout = Duration::from_secs(self.call_ring_secs.max(1));
        settings.integrations = self.integrations.settings(&self.storage.data_dir);
        settings.anonymous_tools = self.anonymous_tools == OnOff::On;
        settings.upload_dir = self.storage.data_dir.join("uploads");
        settings.upload_max_bytes = self.upload_max_bytes;
        settings.upload_types =
            self.upload_types.split(',').map(|t| t.trim().to_ascii_lowercase()).filter(|t| !t.is_empty()).collect();
        settings.upload_url_ttl = Duration::from_secs(self.upload_url_ttl_secs.max(1));
        settings.webhook_secret =
            self.webhook_secret.clone().filter(|secret| !secret.expose_secret().trim().is_empty());
        settings
    }
}
