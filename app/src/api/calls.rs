//! Voice calls on the wire: the call frames `/ws` sends, the frames of the call socket
//! (`/ws/call/{call_id}`), and the routes that hand a member the LiveKit token for a call.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ChatCliError, NchatError};
use super::ids::Id;
use super::nchat::Success;
#[cfg(feature = "ssr")]
use super::request::{caller, state};
#[cfg(feature = "ssr")]
use super::ApiError;
#[cfg(feature = "ssr")]
use crate::domain::{calls, livekit, DomainError};

/// The call frames `/ws` sends (what a client sends is in `ws::ClientFrame`). Kept apart from
/// `ws::ServerFrame`, so clients that do not do calls still match that one exhaustively.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CallFrame {
    /// A call rings. The caller's own socket gets it too (`caller` is then themselves): that is
    /// how it learns the `call_id`. Tokens are the recipient's own; null without LiveKit.
    CallInvite {
        #[serde(rename = "chatID")]
        chat_id: i64,
        call_id: String,
        caller: String,
        lk_token: Option<String>,
        lk_url: Option<String>,
    },
    CallAccepted {
        #[serde(rename = "chatID")]
        chat_id: i64,
        call_id: String,
        accepted_by: String,
        lk_token: Option<String>,
        lk_url: Option<String>,
    },
    CallDeclined {
        #[serde(rename = "chatID")]
        chat_id: i64,
        call_id: String,
        by: String,
        initiator: String,
    },
    /// `ended_by` is null when the call stopped ringing unanswered; `reason` (Hearth's addition)
    /// is `hangup`, `cancelled`, `declined`, `timeout` or `empty`.
    CallEnded {
        #[serde(rename = "chatID")]
        chat_id: i64,
        call_id: String,
        ended_by: Option<String>,
        initiator: String,
        reason: String,
    },
    /// A refused call frame, or (on the call socket) a relay that failed. `call_id` names the
    /// call concerned: the chat's live call when a new one was refused for it.
    CallError {
        #[serde(rename = "chatID")]
        chat_id: i64,
        code: String,
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        call_id: Option<String>,
    },
    /// The call socket refused to join the call; it closes with 1008 next.
    CallWsError { call_id: String, code: String, message: String },
    /// On the call socket (JSON relay): a peer's call socket closed.
    Leave,
}

impl CallFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("call frames always serialise")
    }
}

/// ChatCLI's shape: `lk_token` and `lk_url` are null when no LiveKit server is configured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CallTokenReply {
    pub call_id: String,
    pub lk_token: Option<String>,
    pub lk_url: Option<String>,
    pub room: String,
}

/// nchat's shape (inside `{success,data}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct CallTokenData {
    pub call_id: String,
    pub token: Option<String>,
    pub url: Option<String>,
    pub room: String,
    /// Seconds until the token expires.
    pub expires_in: Option<u64>,
}

/// A member's LiveKit token for a ringing or active call; `chatID`, when given, must be the call's.
#[server(prefix = "/chat", endpoint = "call-token", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn call_token(
    #[server(rename = "session_token")] _session_token: Option<String>,
    #[server(rename = "chatID")] chat_id: Option<Id>,
    call_id: String,
) -> Result<CallTokenReply, ChatCliError> {
    let state = state()?;
    let caller = caller(&state).await?;
    let (call, token) =
        calls::token(&state, &caller, call_id.trim(), chat_id.map(i64::from)).await.map_err(DomainError::from)?;
    Ok(CallTokenReply {
        room: livekit::room_of(&call.id),
        lk_url: token.as_ref().and_then(|t| t.url.clone()),
        lk_token: token.map(|t| t.token),
        call_id: call.id,
    })
}

/// The same for nchat clients (Bearer token).
#[server(prefix = "/api/calls", endpoint = "token", input = Json, output = Json, input_derive = (Clone, Serialize, Deserialize, ToSchema))]
pub async fn nchat_call_token(
    #[server(rename = "callId")] call_id: String,
) -> Result<Success<CallTokenData>, NchatError> {
    let state = state()?;
    let caller = caller(&state).await.map_err(ApiError::nchat)?;
    let (call, token) =
        calls::token(&state, &caller, call_id.trim(), None).await.map_err(|e| ApiError::nchat(DomainError::from(e)))?;
    Ok(Success::new(CallTokenData {
        room: livekit::room_of(&call.id),
        url: token.as_ref().and_then(|t| t.url.clone()),
        expires_in: token.as_ref().map(|t| t.expires_in),
        token: token.map(|t| t.token),
        call_id: call.id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_frames_have_the_reference_shapes() {
        let invite = CallFrame::CallInvite {
            chat_id: 3,
            call_id: "c1".into(),
            caller: "alice".into(),
            lk_token: None,
            lk_url: None,
        };
        assert_eq!(
            invite.to_json(),
            r#"{"type":"call_invite","chatID":3,"call_id":"c1","caller":"alice","lk_token":null,"lk_url":null}"#
        );
        let refused = CallFrame::CallError {
            chat_id: 3,
            code: "CALL_NOT_FOUND".into(),
            message: "Call not found.".into(),
            call_id: None,
        };
        assert_eq!(
            refused.to_json(),
            r#"{"type":"call_error","chatID":3,"code":"CALL_NOT_FOUND","message":"Call not found."}"#
        );
        assert_eq!(CallFrame::Leave.to_json(), r#"{"type":"leave"}"#);
    }
}
