//! Events a request holds back until its answer is sent (a logout closes the caller's own
//! socket only once the client has its answer): published when hyper is done with the body.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use app::domain::events::{holding_events, Event, EventSink};
use app::domain::AppState;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

pub async fn publish_held_events(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let (response, held) = holding_events(next.run(request)).await;
    if held.is_empty() {
        return response;
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(parts, Body::new(ThenPublish { body, held, events: state.events.clone() }))
}

/// A response body that publishes the held events once dropped: after its last byte was
/// written, or when the client went away before that.
struct ThenPublish {
    body: Body,
    held: Vec<Event>,
    events: Arc<dyn EventSink>,
}

impl HttpBody for ThenPublish {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

impl Drop for ThenPublish {
    fn drop(&mut self) {
        for event in self.held.drain(..) {
            self.events.publish(event);
        }
    }
}
