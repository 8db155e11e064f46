//! Settings and errors shared by the outbound helpers (translate, GIF search, link previews,
//! logos): which upstreams exist, and how a failed call toward one is reported.

use std::path::PathBuf;
use std::time::Duration;

/// A GIF search service whose API Hearth speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GifProvider {
    Giphy,
    Tenor,
}

#[derive(Debug, Clone)]
pub struct Upstream {
    /// Base URL, without a trailing slash.
    pub url: String,
    pub api_key: Option<secrecy::SecretString>,
}

#[derive(Debug, Clone)]
pub struct Integrations {
    /// A LibreTranslate-compatible server; None: `/api/translate` returns the text untranslated.
    pub translate: Option<Upstream>,
    /// The GIF service and its key; None: `/api/gif` answers 503.
    pub gif: Option<(GifProvider, Upstream)>,
    /// Lets link previews reach private and loopback addresses (tests only).
    pub link_preview_allow_private: bool,
    /// Private addresses link previews may reach all the same (tests: one stand-in, not another).
    pub link_preview_allowed: Vec<std::net::SocketAddr>,
    /// Where sanitised SVG logos are kept.
    pub logo_dir: PathBuf,
    /// How long one outbound call may take, redirects included.
    pub timeout: Duration,
}

impl Default for Integrations {
    fn default() -> Self {
        Integrations {
            translate: None,
            gif: None,
            link_preview_allow_private: false,
            link_preview_allowed: Vec::new(),
            logo_dir: PathBuf::from("./data/logos"),
            timeout: Duration::from_secs(10),
        }
    }
}

/// What went wrong in an outbound helper; the API maps each to a status and a code.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The input is wrong (400 `VALIDATION_ERROR`).
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    /// The service is not configured (503 `SERVICE_UNAVAILABLE`).
    #[error("{0}")]
    Unavailable(&'static str),
    /// A link preview target Hearth refuses to contact (403 `FORBIDDEN`).
    #[error("{0}")]
    Refused(String),
    /// The upstream answered badly or not at all (502 `UPSTREAM_ERROR`).
    #[error("{0}")]
    Upstream(String),
    /// The upstream took longer than the timeout (504 `UPSTREAM_TIMEOUT`).
    #[error("The upstream service did not answer in time.")]
    Timeout,
    /// Larger than allowed (413 `FILE_TOO_LARGE`).
    #[error("{0}")]
    TooLarge(String),
    /// Details go to the log only.
    #[error("Something went wrong on our side. Try again later.")]
    Internal(String),
}

impl ToolError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ToolError::Invalid { field, message: message.into() }
    }

    /// Reads a reqwest failure: a timeout is 504, anything else a broken upstream.
    pub fn from_reqwest(error: reqwest::Error, service: &str) -> Self {
        if error.is_timeout() {
            return ToolError::Timeout;
        }
        tracing::warn!(%error, service, "upstream call failed");
        ToolError::Upstream(format!("Could not reach the {service} service."))
    }
}

pub type ToolResult<T> = Result<T, ToolError>;
