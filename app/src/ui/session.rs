//! The signed-in person in this browser: tokens kept in localStorage, and server calls that
//! renew an expired access token once before giving up.

use std::future::Future;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::browser;
use crate::api::chatcli::refresh_token;
use crate::api::ApiError;

const KEY: &str = "hearth.session";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub username: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// The session, shared by every component through context.
#[derive(Clone, Copy)]
pub struct SessionStore(pub RwSignal<Option<Session>>);

impl SessionStore {
    /// Reads what this browser remembers (nothing on the server).
    pub fn from_browser() -> Self {
        let saved = browser::load(KEY).and_then(|json| serde_json::from_str(&json).ok());
        SessionStore(RwSignal::new(saved))
    }

    pub fn set(&self, session: Option<Session>) {
        browser::store(KEY, session.as_ref().and_then(|s| serde_json::to_string(s).ok()).as_deref());
        self.0.set(session);
    }

    pub fn username(&self) -> Option<String> {
        self.0.with_untracked(|s| s.as_ref().map(|s| s.username.clone()))
    }

    pub fn access_token(&self) -> Option<String> {
        self.0.with_untracked(|s| s.as_ref().map(|s| s.access_token.clone()))
    }

    /// Trades the refresh token for new tokens; forgets the session when that fails for good.
    pub async fn renew(&self) -> bool {
        let Some(session) = self.0.get_untracked() else { return false };
        match refresh_token(session.refresh_token.clone()).await {
            Ok(reply) => {
                self.set(Some(Session {
                    access_token: reply.access_token,
                    refresh_token: reply.refresh_token,
                    ..session
                }));
                true
            }
            Err(error) if error.code == "NETWORK_ERROR" => false,
            Err(_) => {
                self.set(None);
                false
            }
        }
    }

    /// Runs a server call with the access token, renewing it once if it had expired.
    /// Either surface's error type comes back as the problem it carries.
    pub async fn call<T, E, F, Fut>(&self, call: F) -> Result<T, ApiError>
    where
        E: Into<ApiError>,
        F: Fn(Option<String>) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        match call(self.access_token()).await.map_err(Into::into) {
            Err(error) if error.code == "UNAUTHORIZED" => {
                if self.renew().await {
                    call(self.access_token()).await.map_err(Into::into)
                } else {
                    Err(error)
                }
            }
            other => other,
        }
    }
}

pub fn use_session() -> SessionStore {
    expect_context::<SessionStore>()
}
