//! LiveKit access tokens: one room per call, the user's id as identity and their username as
//! name, allowed to join, publish, subscribe and send data, for a short while.

use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};

use super::{DomainError, DomainResult};

/// The LiveKit server Hearth's calls use (`LIVEKIT_*`). The secret never leaves this struct.
#[derive(Clone)]
pub struct LiveKit {
    /// Where clients and the call socket reach LiveKit (`ws://`, `wss://`, `http://` or `https://`).
    /// None: tokens are minted, but call sockets relay JSON among participants themselves.
    pub url: Option<String>,
    pub api_key: String,
    api_secret: secrecy::SecretString,
    pub token_ttl: Duration,
}

impl std::fmt::Debug for LiveKit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveKit").field("url", &self.url).field("api_key", &self.api_key).finish_non_exhaustive()
    }
}

/// A token for one user in one call, with where to use it.
#[derive(Debug, Clone, PartialEq)]
pub struct CallToken {
    pub token: String,
    pub url: Option<String>,
    pub room: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

impl LiveKit {
    pub fn new(url: Option<String>, api_key: String, api_secret: String, token_ttl: Duration) -> Self {
        LiveKit { url, api_key, api_secret: api_secret.into(), token_ttl }
    }

    /// Mints the token `user_id` joins `call_id`'s room with.
    pub fn token(&self, call_id: &str, user_id: i64, username: &str) -> DomainResult<CallToken> {
        let room = room_of(call_id);
        let grants = VideoGrants {
            room_join: true,
            room: room.clone(),
            can_publish: Some(true),
            can_subscribe: Some(true),
            can_publish_data: Some(true),
            ..VideoGrants::default()
        };
        let token = AccessToken::with_api_key(&self.api_key, secrecy::ExposeSecret::expose_secret(&self.api_secret))
            .with_identity(&user_id.to_string())
            .with_name(username)
            .with_grants(grants)
            .with_ttl(self.token_ttl)
            .to_jwt()
            .map_err(|e| DomainError::Internal(format!("livekit token: {e}")))?;
        Ok(CallToken { token, url: self.url.clone(), room, expires_in: self.token_ttl.as_secs() })
    }
}

/// The LiveKit room of a call. Prefixed, so Hearth's rooms stand apart on a shared LiveKit.
pub fn room_of(call_id: &str) -> String {
    format!("hearth-call-{call_id}")
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
    use serde_json::Value;

    use super::*;

    #[test]
    fn tokens_carry_room_identity_name_and_grants_and_verify_with_the_secret() {
        let livekit = LiveKit::new(None, "APIkey".into(), "a-livekit-secret".into(), Duration::from_secs(600));
        let minted = livekit.token("abc123", 42, "alice").expect("minted");
        assert_eq!((minted.room.as_str(), minted.expires_in), ("hearth-call-abc123", 600));
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.set_issuer(&["APIkey"]);
        let claims =
            jsonwebtoken::decode::<Value>(&minted.token, &DecodingKey::from_secret(b"a-livekit-secret"), &validation)
                .expect("verifies with the API secret")
                .claims;
        assert_eq!((claims["sub"].as_str(), claims["name"].as_str()), (Some("42"), Some("alice")));
        let video = &claims["video"];
        assert_eq!((video["roomJoin"].as_bool(), video["room"].as_str()), (Some(true), Some("hearth-call-abc123")));
        assert_eq!((video["canPublish"].as_bool(), video["canSubscribe"].as_bool()), (Some(true), Some(true)));
        assert!(jsonwebtoken::decode::<Value>(&minted.token, &DecodingKey::from_secret(b"wrong"), &validation).is_err());
    }

    #[test]
    fn minting_leaves_hearths_own_tokens_working() {
        // LiveKit's crate installs a crypto provider for jsonwebtoken on first use; Hearth's
        // session tokens go through the same crate and must keep working, in either order.
        let livekit = LiveKit::new(None, "k".into(), "s".into(), Duration::from_secs(60));
        livekit.token("c", 1, "u").expect("minted");
        let claims = serde_json::json!({"sub": "7", "exp": 4_000_000_000u64});
        let key = b"hearth-secret-hearth-secret-hearth-secret";
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(key))
            .expect("Hearth signs");
        let read =
            jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_secret(key), &Validation::new(Algorithm::HS256))
                .expect("Hearth verifies");
        assert_eq!(read.claims["sub"], "7");
    }

    #[test]
    fn the_secret_stays_out_of_debug_output() {
        let livekit = LiveKit::new(None, "key".into(), "top-secret".into(), Duration::from_secs(60));
        assert!(!format!("{livekit:?}").contains("top-secret"));
    }
}
