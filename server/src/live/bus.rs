//! The bus that carries live events to every node's hub. One node: events go straight to the
//! local hub. Several nodes (`HEARTH_NATS_URL`): every event is published on one NATS subject and
//! each node, this one included, delivers what it receives; nodes also announce who is connected
//! to them every few seconds, so a node that dies stops counting users as online.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use app::domain::events::{Event, EventSink};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::Hub;

/// Delivers events on this node only.
pub struct LocalBus {
    hub: Arc<Hub>,
}

impl LocalBus {
    pub fn new(hub: Arc<Hub>) -> Arc<LocalBus> {
        Arc::new(LocalBus { hub })
    }
}

impl EventSink for LocalBus {
    fn publish(&self, event: Event) {
        self.hub.dispatch(&event);
    }
}

/// Publishes events on NATS, in order, through one task.
pub struct NatsBus {
    queue: mpsc::Sender<Event>,
    /// Only asked whether it is connected (readiness).
    client: async_nats::Client,
}

impl EventSink for NatsBus {
    fn publish(&self, event: Event) {
        // Live events are best effort: what is stored is never lost, and clients catch up with `after`.
        if self.queue.try_send(event).is_err() {
            tracing::warn!("NATS publish queue is full: a live event was dropped");
        }
    }

    fn check(&self) -> Option<Result<(), String>> {
        Some(match self.client.connection_state() {
            async_nats::connection::State::Connected => Ok(()),
            other => Err(format!("NATS is {other}")),
        })
    }
}

const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);
const NODE_SILENT_AFTER: Duration = Duration::from_secs(16);

/// Connects to NATS and starts the publishing, receiving and heartbeat tasks.
pub async fn connect_nats(url: &str, subject: String, hub: Arc<Hub>) -> anyhow::Result<Arc<NatsBus>> {
    let client = async_nats::connect(url).await.map_err(|e| anyhow::anyhow!("connecting to NATS at {url}: {e}"))?;
    let mut subscription =
        client.subscribe(subject.clone()).await.map_err(|e| anyhow::anyhow!("subscribing to {subject}: {e}"))?;
    let (queue, mut outgoing) = mpsc::channel::<Event>(65_536);

    let publisher = client.clone();
    let publish_subject = subject.clone();
    tokio::spawn(async move {
        while let Some(event) = outgoing.recv().await {
            match serde_json::to_vec(&event) {
                Ok(payload) => {
                    if let Err(e) = publisher.publish(publish_subject.clone(), payload.into()).await {
                        tracing::warn!(error = %e, "NATS publish failed");
                    }
                }
                Err(e) => tracing::error!(error = %e, "event does not serialise"),
            }
        }
    });

    let receiving_hub = hub.clone();
    tokio::spawn(async move {
        let mut last_heard: HashMap<String, Instant> = HashMap::new();
        let mut sweep = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tokio::select! {
                message = subscription.next() => {
                    let Some(message) = message else { break };
                    match serde_json::from_slice::<Event>(&message.payload) {
                        Ok(event) => {
                            if let Event::PresenceHeartbeat { node, .. } = &event {
                                last_heard.insert(node.clone(), Instant::now());
                            }
                            receiving_hub.dispatch(&event);
                        }
                        Err(e) => tracing::warn!(error = %e, "ignored an unreadable event from NATS"),
                    }
                }
                _ = sweep.tick() => {
                    last_heard.retain(|_, heard| heard.elapsed() < NODE_SILENT_AFTER);
                    let alive: HashSet<String> = last_heard.keys().cloned().collect();
                    receiving_hub.forget_nodes_except(&alive);
                }
            }
        }
        tracing::warn!("NATS subscription ended: live events from other nodes stop");
    });

    let bus = Arc::new(NatsBus { queue, client: client.clone() });
    let heartbeat_bus = bus.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(HEARTBEAT_EVERY);
        loop {
            tick.tick().await;
            heartbeat_bus.publish(Event::PresenceHeartbeat { node: hub.node.clone(), users: hub.local_users() });
        }
    });
    Ok(bus)
}
