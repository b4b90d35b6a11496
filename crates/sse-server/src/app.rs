//! The state shared by every connection of one server: the hub, the per-request settings, the
//! faults, the listeners' counters and the shutdown signal.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::config::EventDefaults;
use crate::faults::Faults;
use crate::hub::Hub;
use crate::routes::body::BodyLimits;
use crate::stats::{ListenerCounters, Stats};

#[derive(Debug)]
pub(crate) struct App {
    pub(crate) hub: Arc<Hub>,
    pub(crate) events: EventDefaults,
    /// How request bodies are read.
    pub(crate) body: BodyLimits,
    pub(crate) faults: Faults,
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
        }
    }
}
