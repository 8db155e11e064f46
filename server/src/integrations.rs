//! The options of the outbound helpers (translate, GIF search, link previews) as `hearth serve`
//! flags and environment variables, flattened into `ServeArgs`.

use std::path::Path;
use std::time::Duration;

use app::domain::gif;
use app::domain::integrations::{GifProvider, Integrations, Upstream};
use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GifProviderArg {
    Giphy,
    Tenor,
}

#[derive(Debug, Clone, Args)]
pub struct IntegrationArgs {
    /// A LibreTranslate-compatible server for /api/translate, e.g. http://127.0.0.1:5000.
    #[arg(long, env = "HEARTH_TRANSLATE_URL")]
    pub translate_url: Option<String>,
    /// The translate server's API key, when it wants one.
    #[arg(long, env = "HEARTH_TRANSLATE_API_KEY", hide_env_values = true)]
    pub translate_api_key: Option<SecretString>,
    /// The GIF service /api/gif searches.
    #[arg(long, env = "HEARTH_GIF_PROVIDER", value_enum, default_value = "giphy")]
    pub gif_provider: GifProviderArg,
    /// The GIF service's API key; unset: /api/gif answers 503.
    #[arg(long, env = "HEARTH_GIF_API_KEY", hide_env_values = true)]
    pub gif_api_key: Option<SecretString>,
    /// Another base URL for the GIF service's API (a proxy, or a stand-in in tests).
    #[arg(long, env = "HEARTH_GIF_API_URL")]
    pub gif_api_url: Option<String>,
    /// Let /api/link-preview fetch private and loopback addresses (for tests only).
    #[arg(long, env = "HEARTH_LINK_PREVIEW_ALLOW_PRIVATE", default_value_t = false)]
    pub link_preview_allow_private: bool,
    /// Private addresses link previews may reach all the same: for tests, not a flag.
    #[arg(skip)]
    pub link_preview_allowed: Vec<std::net::SocketAddr>,
    /// Seconds an outbound call (translate, GIF search, link preview) may take.
    #[arg(long, env = "HEARTH_OUTBOUND_TIMEOUT_SECS", default_value_t = 10)]
    pub outbound_timeout_secs: u64,
}

fn given(value: &Option<String>) -> Option<String> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(String::from)
}

/// A secret that was set to something other than blanks.
fn given_secret(value: &Option<SecretString>) -> Option<SecretString> {
    value.as_ref().filter(|v| !v.expose_secret().trim().is_empty()).map(|v| v.expose_secret().trim().into())
}

impl IntegrationArgs {
    pub fn settings(&self, data_dir: &Path) -> Integrations {
        let translate = given(&self.translate_url).map(|url| Upstream {
            url: url.trim_end_matches('/').into(),
            api_key: given_secret(&self.translate_api_key),
        });
        let provider = match self.gif_provider {
            GifProviderArg::Giphy => GifProvider::Giphy,
            GifProviderArg::Tenor => GifProvider::Tenor,
        };
        let gif = given_secret(&self.gif_api_key).map(|key| {
            let url = given(&self.gif_api_url).unwrap_or_else(|| gif::default_url(provider).into());
            (provider, Upstream { url: url.trim_end_matches('/').into(), api_key: Some(key) })
        });
        Integrations {
            translate,
            gif,
            link_preview_allow_private: self.link_preview_allow_private,
            link_preview_allowed: self.link_preview_allowed.clone(),
            logo_dir: data_dir.join("logos"),
            timeout: Duration::from_secs(self.outbound_timeout_secs.max(1)),
        }
    }
}
