//! The call frames of `/ws` (ring, answer, decline, hang up) and the ring timeout. Refusals come
//! back as `call_error`; what changed reaches the chat's members through the bus and each hub.

use std::sync::Arc;
use std::time::Duration;

use app::api::calls::CallFrame;
use app::api::ws::ClientFrame;
use app::domain::calls::{self, Answered, CallError};
use app::domain::events::CallChange;
use app::domain::sessions::Caller;
use app::domain::{AppState, DomainError};
use tokio::task::JoinHandle;

use super::hub::{Conn, Frame};
use super::socket::Live;

/// How often each node looks for calls that rang too long.
const RING_SWEEP_EVERY: Duration = Duration::from_secs(1);

pub async fn handle(frame: ClientFrame, live: &Live, conn: &Arc<Conn>, caller: &Caller) {
    let app = &live.app;
    let (chat_id, outcome) = match frame {
        ClientFrame::CallInvite { chat_id } => {
            let outcome = calls::invite(app, caller, chat_id.0).await.map(|call| {
                // The caller's own socket learns the call id (and gets its token) here.
                let change = CallChange::Invited { caller: caller.username.clone() };
                conn.send(live.hub.call_frame_for(call.chat_id, &call.id, &change, caller.user_id, &caller.username));
            });
            (chat_id.0, outcome)
        }
        ClientFrame::CallAccept { chat_id, call_id } => {
            let outcome = calls::accept(app, caller, chat_id.0, call_id.trim()).await.map(|answered| {
                // A repeated accept changes nothing: only this socket hears back.
                if let Answered::AlreadyIn(call) = answered {
                    let change = CallChange::Accepted { accepted_by: caller.username.clone() };
                    conn.send(live.hub.call_frame_for(
                        call.chat_id,
                        &call.id,
                        &change,
                        caller.user_id,
                        &caller.username,
                    ));
                }
            });
            (chat_id.0, outcome)
        }
        ClientFrame::CallDecline { chat_id } => (chat_id.0, calls::decline(app, caller, chat_id.0).await.map(drop)),
        ClientFrame::CallEnd { chat_id } => (chat_id.0, calls::hang_up(app, caller, chat_id.0).await.map(drop)),
        _ => return,
    };
    if let Err(refusal) = outcome {
        conn.send(call_error(chat_id, None, &refusal));
    }
}

/// The `call_error` frame for a refusal (internal details go to the log only).
pub fn call_error(chat_id: i64, call_id: Option<&str>, refusal: &CallError) -> Frame {
    if let CallError::Failed(DomainError::Internal(detail)) = refusal {
        tracing::error!(%detail, "internal error in a call");
    }
    let frame = CallFrame::CallError {
        chat_id,
        code: refusal.code().into(),
        message: refusal.to_string(),
        call_id: refusal.call_id().or(call_id).map(str::to_string),
    };
    Frame::from(frame.to_json())
}

/// Ends, on every tick, the calls that rang longer than the ring timeout. Every node runs one;
/// the database lets exactly one of them end and announce each call.
pub fn spawn_ring_timeouts(state: AppState) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(RING_SWEEP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tick.tick().await;
            if let Err(error) = calls::end_unanswered(&state).await {
                tracing::warn!(%error, "could not end unanswered calls");
            }
        }
    })
}
