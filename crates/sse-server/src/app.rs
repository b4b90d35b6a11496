//! What every request is handled with: the state the server's connections share ([`App`]) and
//! what the request knows of its own connection ([`Conn`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::activity::{Activity, StreamActivity, StreamWatch};
use crate::config::{AnswerDefaults, EventDefaults};
use crate::faults::Faults;
use crate::hub::{Held, Hub, Subscriber};
use crate::peer::ClientAddr;
use crate::stats::{ListenerCounters, Stats};

/// The state shared by every connection of one server: the hub, the per-request settings, the
/// faults, the listeners' counters and the shutdown signal.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) hub: Arc<Hub>,
    pub(crate) events: EventDefaults,
    /// How streamed answers are paced, unless a request says otherwise.
    pub(crate) answers: AnswerDefaults,
    /// Streamed answers started: the next one's number (its draws depend on it).
    pub(crate) answers_started: AtomicU64,
    /// How request bodies are read.
    pub(crate) body: BodyLimits,
    pub(crate) faults: Faults,
    /// `websocket_idle_timeout`.
    pub(crate) websocket_idle_timeout: Duration,
    pub(crate) listeners: Vec<Arc<ListenerCounters>>,
    /// Cancelled when graceful shutdown begins: event streams end, listeners stop accepting.
    pub(crate) shutdown: CancellationToken,
}

impl App {
    pub(crate) fn stats(&self) -> Stats {
        let hub = self.hub.counts();
        Stats {
            listeners: self.listeners.iter().map(|l| l.snapshot()).collect(),
            channels: hub.channels,
            messages: hub.messages,
            subscribers: hub.subscribers,
            channels_evicted: hub.channels_evicted,
            replay_bytes: hub.replay_bytes,
            replay_budget_bytes: hub.replay_budget_bytes,
            channels_displaced: hub.channels_displaced,
            queued_bytes: hub.queued_bytes,
            replays_active: hub.replays_active,
        }
    }
}

/// The limits a request body is read under (`routes::body`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimits {
    pub(crate) max_bytes: usize,
    pub(crate) read_timeout: Duration,
    pub(crate) total_timeout: Duration,
}

/// What a request knows of its connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The listener's counters.
    pub(crate) counters: Arc<ListenerCounters>,
    /// Cancelled at server shutdown and at the connection's GOAWAY fault: it ends the
    /// connection's event streams.
    pub(crate) streams: CancellationToken,
    /// What the connection is doing.
    pub(crate) activity: Arc<Activity>,
    /// Who the client is, for its shares.
    pub(crate) peer: ClientAddr,
    /// What the connection's subscribers have queued.
    pub(crate) held: Arc<Held>,
    /// On HTTP/2: the request's stream, under its own watchdog.
    pub(crate) stream: Option<Arc<StreamWatch>>,
    /// On the WebSocket listeners: where `GET /ws` parks its session.
    pub(crate) upgrade: Option<Arc<UpgradeSlot>>,
}

impl Conn {
    /// This request as a subscriber: on HTTP/2 its overflow ends its stream through the stream's
    /// watchdog.
    pub(crate) fn subscriber(&self) -> Subscriber {
        Subscriber {
            counters: Arc::clone(&self.counters),
            held: Arc::clone(&self.held),
            peer: self.peer,
            overflowed: self
                .stream
                .as_ref()
                .map_or_else(CancellationToken::new, |s| s.overflowed.clone()),
        }
    }

    /// An event stream opens on this request: its frames reported to the connection and, on
    /// HTTP/2, to the stream's watchdog.
    pub(crate) fn stream_activity(&self) -> StreamActivity {
        let mut activity = self.activity.stream();
        if let Some(stream) = &self.stream {
            activity.watched_by(Arc::clone(&stream.wait));
        }
        activity
    }
}

/// A WebSocket session waiting for its connection to be handed over.
pub(crate) type Parked = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Where a `GET /ws` leaves its session for the connection to run once hyper has written the
/// `101` and given up the socket: one per connection of a WebSocket listener, so that the
/// session runs on the connection's own task, under its watchdogs.
#[derive(Default)]
pub(crate) struct UpgradeSlot(Mutex<Option<Parked>>);

impl std::fmt::Debug for UpgradeSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UpgradeSlot")
    }
}

impl UpgradeSlot {
    /// Leaves `session` for the connection to run.
    pub(crate) fn park(&self, session: Parked) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(session);
    }

    /// The parked session, if a request upgraded.
    pub(crate) fn take(&self) -> Option<Parked> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}
