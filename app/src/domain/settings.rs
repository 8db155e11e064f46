//! The process settings the domain needs. Built by the server from environment variables and
//! flags (see `server/src/config.rs`); tests shorten the lifetimes to watch things expire.

use std::time::Duration;

use super::livekit::LiveKit;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registration {
    Open,
    /// Sign-up needs a code made with `hearth invite create`.
    Invite,
}

#[derive(Debug, Clone)]
pub struct Settings {
    /// Base of links in mails, e.g. `https://chat.example.org`.
    pub public_url: String,
    pub email_verification_required: bool,
    pub registration: Registration,
    pub jwt_secret: secrecy::SecretSlice<u8>,
    pub access_token_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub verification_code_ttl: Duration,
    pub reset_link_ttl: Duration,
    /// Attempts per minute at each sensitive auth action, from one IP address...
    pub auth_limit_per_ip: u32,
    /// ...and against one account.
    pub auth_limit_per_account: u32,
    /// Password hashes computed at once; each takes ~19 MiB and one core for ~20 ms.
    pub password_hash_concurrency: usize,
    pub mail_from: String,
    /// The LiveKit server calls use; None: calls still ring, and call sockets relay JSON.
    pub livekit: Option<LiveKit>,
    /// A call nobody answers stops ringing after this long.
    pub call_ring_timeout: Duration,
    /// Where uploaded files are kept (`<data dir>/uploads`).
    pub upload_dir: std::path::PathBuf,
    /// Largest file an upload may declare, in bytes.
    pub upload_max_bytes: u64,
    /// Content types an upload may declare, lower case.
    pub upload_types: Vec<String>,
    /// How long a presigned upload URL stays good.
    pub upload_url_ttl: Duration,
    /// Translate, GIF search, link previews and logos.
    pub integrations: super::integrations::Integrations,
    /// Translate, GIF search and link previews answer callers without a token (nchat's guide);
    /// false: they need a signed-in caller.
    pub anonymous_tools: bool,
    /// The key of incoming webhooks' HMAC signatures (`X-Webhook-Signature: sha256=…`), as nchat's
    /// WEBHOOK_SECRET; None: signatures are not checked (the webhook's token still is).
    pub webhook_secret: Option<secrecy::SecretString>,
}

impl Settings {
    /// Defaults suitable for tests and local runs; the server overrides from its config.
    pub fn new(public_url: impl Into<String>, jwt_secret: Vec<u8>) -> Self {
        Settings {
            public_url: public_url.into(),
            email_verification_required: true,
            registration: Registration::Open,
            jwt_secret: jwt_secret.into(),
            access_token_ttl: Duration::from_secs(24 * 3600),
            refresh_token_ttl: Duration::from_secs(60 * 24 * 3600),
            verification_code_ttl: Duration::from_secs(5 * 60),
            reset_link_ttl: Duration::from_secs(3600),
            auth_limit_per_ip: 30,
            auth_limit_per_account: 10,
            password_hash_concurrency: 2,
            mail_from: "Hearth <no-reply@hearth.localhost>".into(),
            livekit: None,
            call_ring_timeout: Duration::from_secs(45),
            upload_dir: std::path::PathBuf::from("./data/uploads"),
            upload_max_bytes: super::files::DEFAULT_MAX_BYTES,
            upload_types: super::files::DEFAULT_TYPES.iter().map(|t| t.to_string()).collect(),
            upload_url_ttl: Duration::from_secs(15 * 60),
            integrations: Default::default(),
            anonymous_tools: true,
            webhook_secret: None,
        }
    }
}
