//! Keeping the connection limit for clients that use it.
//!
//! `max_connections` bounds what the server holds, but a limit that anyone can fill locks
//! everyone else out: a few hundred connections that opened a POST and stopped sending its body
//! got every new client refused on all four listeners for as long as they liked. So when a new
//! connection would go over the limit, the server first closes a connection that has made no
//! progress for at least [`QUIET_BEFORE_RECLAIM`], and admits the new one in its place; only if
//! there is none is the new connection refused.
//!
//! Progress (`activity.rs`): a request arriving, a piece of a request body, an event frame taken by
//! the connection. A connection serving an event stream that is being written is never chosen,
//! however quiet its stream: ticks and heartbeats can be minutes apart. Among the others, first
//! those that have sent nothing useful yet (still in their TLS handshake or request head, or in
//! the middle of a request body that stopped arriving), then those that have (kept alive idle
//! after their requests, or with event streams waiting on a full socket or a shut window); within
//! each, the one whose last progress is oldest. Each reclaimed connection is counted in
//! `connections_reclaimed` on its own listener.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::Activity;
use crate::stats::{incr, ListenerCounters};

/// How long a connection must have made no progress before its slot can be reclaimed: long
/// enough for any live client to get from its TCP connect through TLS to its first request.
pub(crate) const QUIET_BEFORE_RECLAIM: Duration = Duration::from_secs(1);

/// Every open connection that is being served, across all listeners.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    slots: Mutex<HashMap<u64, Slot>>,
    next_id: AtomicU64,
}

#[derive(Debug)]
struct Slot {
    activity: Arc<Activity>,
    counters: Arc<ListenerCounters>,
}

/// A connection's place in the registry; dropping it removes the connection.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut slots = self
            .registry
            .slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        slots.remove(&self.id);
    }
}

impl Registry {
    /// Registers a connection being served.
    pub(crate) fn register(
        self: &Arc<Self>,
        activity: Arc<Activity>,
        counters: Arc<ListenerCounters>,
    ) -> Registered {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.insert(id, Slot { activity, counters });
        Registered {
            registry: Arc::clone(self),
            id,
        }
    }

    /// Closes the connection to reclaim (see the module documentation), if any has made no
    /// progress for [`QUIET_BEFORE_RECLAIM`], and counts it. Returns whether one was found.
    pub(crate) fn reclaim(&self) -> bool {
        let Some(quiet_since) = Instant::now().checked_sub(QUIET_BEFORE_RECLAIM) else {
            return false;
        };
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        let victim = slots
            .values()
            .filter(|slot| {
                let a = &slot.activity;
                !a.is_closing()
                    && (a.streams() == 0 || a.frames_waiting())
                    && a.last_progress() <= quiet_since
            })
            .min_by_key(|slot| {
                let a = &slot.activity;
                (!a.nothing_useful_yet(), a.last_progress())
            });
        let Some(victim) = victim else {
            return false;
        };
        victim.activity.close();
        incr(&victim.counters.connections_reclaimed);
        true
    }

    /// Connections registered now.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    fn counters() -> Arc<ListenerCounters> {
        Arc::new(ListenerCounters::new(
            Protocol::H1,
            "127.0.0.1:1".parse().unwrap(),
        ))
    }

    #[tokio::test(start_paused = true)]
    async fn connections_that_did_nothing_useful_go_before_idle_ones() {
        let registry = Arc::new(Registry::default());
        let c = counters();
        let used = Activity::new();
        drop(used.request());
        let _a = registry.register(Arc::clone(&used), Arc::clone(&c));
        tokio::time::sleep(Duration::from_secs(5)).await;
        let stalled_body = Activity::new();
        let _in_flight = stalled_body.request();
        let _b = registry.register(Arc::clone(&stalled_body), Arc::clone(&c));
        let silent = Activity::new();
        let _c = registry.register(Arc::clone(&silent), Arc::clone(&c));
        tokio::time::sleep(Duration::from_secs(2)).await;
        // The idle connection that answered a request is the quietest, yet goes last.
        assert!(registry.reclaim() && registry.reclaim());
        assert!(stalled_body.is_closing() && silent.is_closing());
        assert!(!used.is_closing());
        assert!(registry.reclaim());
        assert!(used.is_closing());
    }

    #[tokio::test(start_paused = true)]
    async fn the_quietest_connection_without_a_live_stream_goes_first() {
        let registry = Arc::new(Registry::default());
        let c = counters();
        let oldest_idle = Activity::new();
        let _a = registry.register(Arc::clone(&oldest_idle), Arc::clone(&c));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let streaming = Activity::new();
        let _stream = streaming.stream();
        let _b = registry.register(Arc::clone(&streaming), Arc::clone(&c));
        let newer_idle = Activity::new();
        let _c = registry.register(Arc::clone(&newer_idle), Arc::clone(&c));
        // Nothing has been quiet long enough but the first.
        assert!(registry.reclaim());
        assert!(oldest_idle.is_closing() && !newer_idle.is_closing());
        assert!(!registry.reclaim(), "the others are too fresh");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert!(registry.reclaim());
        assert!(newer_idle.is_closing());
        assert!(
            !registry.reclaim(),
            "a connection whose event stream is being written is never reclaimed"
        );
        assert!(!streaming.is_closing());
        assert_eq!(c.connections_reclaimed.load(Ordering::Relaxed), 2);
        drop(_a);
        assert_eq!(registry.len(), 2);
    }
}
