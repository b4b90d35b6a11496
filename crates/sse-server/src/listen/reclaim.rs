//! Admission under the connection limit, kept for clients that use it: a limit anyone can fill
//! with connections that send nothing locks everyone else out
//! (crates/sse-server/FINDINGS.md, "Admission under the connection limit").
//!
//! A new connection that finds `max_connections` reached reclaims the slot of one that has made
//! no progress ([`Activity`]) for a while: that one is closed and counted in
//! `connections_reclaimed` on its own listener. A connection writing a live event stream is never
//! chosen. First those that have sent nothing useful yet (a TLS handshake, a request head or a
//! body that stopped arriving), once quiet for [`QUIET_BEFORE_RECLAIM`]; then those that have
//! (idle between requests, or streams waiting on a full socket or a shut window), once quiet for
//! [`QUIET_AFTER_USE`]; the quietest first. Without one, the newcomer waits up to
//! [`ADMISSION_WAIT`] ([`MAX_WAITING`] at once), then is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::Activity;
use crate::stats::{incr, ListenerCounters};

/// How long a connection must have made no progress before its slot can be reclaimed: long
/// enough for a live client to get from its TCP connect through TLS to its first request over a
/// round trip of some tens of milliseconds, short enough that a newcomer that finds every slot
/// younger than that does not wait long.
pub(crate) const QUIET_BEFORE_RECLAIM: Duration = Duration::from_millis(100);
/// How long a connection that has been served must have made no progress before its slot can be
/// reclaimed: a client between two requests keeps its connection through a flood of newcomers.
pub(crate) const QUIET_AFTER_USE: Duration = Duration::from_secs(1);
/// How long a new connection over the limit may wait for a slot before it is refused.
pub(crate) const ADMISSION_WAIT: Duration = Duration::from_secs(1);
/// How often a waiting connection looks for a slot.
const ADMISSION_POLL: Duration = Duration::from_millis(20);
/// Connections that may wait for a slot at once; more are refused at once.
pub(crate) const MAX_WAITING: usize = 64;

/// The connections being served, across all listeners, against `max_connections`.
#[derive(Debug)]
pub(crate) struct Registry {
    max: usize,
    state: Mutex<State>,
    waiting: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    slots: HashMap<u64, Slot>,
    next_id: u64,
    /// Slots whose connection has been told to close and has not yet ended: they no longer count
    /// against the limit.
    closing: usize,
}

#[derive(Debug)]
struct Slot {
    activity: Arc<Activity>,
    counters: Arc<ListenerCounters>,
    reclaimed: bool,
}

/// A connection's slot; dropping it frees the slot.
#[derive(Debug)]
pub(crate) struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut state = self.registry.lock();
        if let Some(slot) = state.slots.remove(&self.id) {
            if slot.reclaimed {
                state.closing -= 1;
            }
        }
    }
}

impl Registry {
    pub(crate) fn new(max_connections: usize) -> Registry {
        Registry {
            max: max_connections,
            state: Mutex::default(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A slot for a new connection: a free one, or one reclaimed from a connection that has made
    /// no progress (closed, and counted). `None` if there is neither.
    pub(crate) fn admit(
        self: &Arc<Self>,
        activity: &Arc<Activity>,
        counters: &Arc<ListenerCounters>,
    ) -> Option<Registered> {
        let mut state = self.lock();
        if state.slots.len() - state.closing >= self.max && !reclaim(&mut state) {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        let slot = Slot {
            activity: Arc::clone(activity),
            counters: Arc::clone(counters),
            reclaimed: false,
        };
        state.slots.insert(id, slot);
        Some(Registered {
            registry: Arc::clone(self),
            id,
        })
    }

    /// Like [`Registry::admit`], waiting up to [`ADMISSION_WAIT`] for a slot, unless
    /// [`MAX_WAITING`] connections are waiting already.
    pub(crate) async fn admit_within(
        self: &Arc<Self>,
        activity: &Arc<Activity>,
        counters: &Arc<ListenerCounters>,
    ) -> Option<Registered> {
        if let Some(admitted) = self.admit(activity, counters) {
            return Some(admitted);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= MAX_WAITING {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let deadline = Instant::now() + ADMISSION_WAIT;
        let mut admitted = None;
        while admitted.is_none() && Instant::now() < deadline {
            tokio::time::sleep(ADMISSION_POLL).await;
            admitted = self.admit(activity, counters);
        }
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        admitted
    }

    /// Connections registered now (including those closing).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().slots.len()
    }
}

/// Closes the connection to reclaim (see the module documentation), if any has been quiet long
/// enough, and counts it. Returns whether one was found.
fn reclaim(state: &mut State) -> bool {
    let now = Instant::now();
    let quiet_for = |a: &Activity| now.saturating_duration_since(a.last_progress());
    let victim = state
        .slots
        .values_mut()
        .filter(|slot| {
            let a = &slot.activity;
            let quiet_enough = if a.nothing_useful_yet() {
                QUIET_BEFORE_RECLAIM
            } else {
                QUIET_AFTER_USE
            };
            !slot.reclaimed
                && !a.is_closing()
                && (a.streams() == 0 || a.frames_waiting())
                && quiet_for(a) >= quiet_enough
        })
        .min_by_key(|slot| {
            let a = &slot.activity;
            (!a.nothing_useful_yet(), a.last_progress())
        });
    let Some(victim) = victim else {
        return false;
    };
    victim.reclaimed = true;
    victim.activity.close();
    incr(&victim.counters.connections_reclaimed);
    state.closing += 1;
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use vocab::Protocol;

    fn counters() -> Arc<ListenerCounters> {
        Arc::new(ListenerCounters::new(
            Protocol::H1,
            "127.0.0.1:1".parse().unwrap(),
        ))
    }

    /// Admits a connection accepted now, which must get a slot.
    fn admit(registry: &Arc<Registry>, c: &Arc<ListenerCounters>) -> (Arc<Activity>, Registered) {
        let activity = Activity::new();
        let registered = registry.admit(&activity, c).expect("a slot");
        (activity, registered)
    }

    #[tokio::test(start_paused = true)]
    async fn connections_that_did_nothing_useful_go_before_idle_ones() {
        let registry = Arc::new(Registry::new(3));
        let c = counters();
        let (used, _a) = admit(&registry, &c);
        drop(used.request());
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (stalled_body, _b) = admit(&registry, &c);
        let _in_flight = stalled_body.request();
        let (silent, _c) = admit(&registry, &c);
        tokio::time::sleep(Duration::from_secs(2)).await;
        // The idle connection that answered a request is the quietest, yet goes last.
        let (_new1, _d) = admit(&registry, &c);
        let (_new2, _e) = admit(&registry, &c);
        assert!(stalled_body.is_closing() && silent.is_closing());
        assert!(!used.is_closing());
        let (_new3, _f) = admit(&registry, &c);
        assert!(used.is_closing());
        assert_eq!(c.connections_reclaimed.load(Ordering::Relaxed), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn the_quietest_connection_without_a_live_stream_goes_first() {
        let registry = Arc::new(Registry::new(3));
        let c = counters();
        let (oldest_idle, _a) = admit(&registry, &c);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let (streaming, _b) = admit(&registry, &c);
        let _stream = streaming.stream();
        let (newer_idle, _c) = admit(&registry, &c);
        tokio::time::sleep(Duration::from_millis(10)).await;
        let (newest, _d) = admit(&registry, &c);
        assert!(oldest_idle.is_closing() && !newer_idle.is_closing());
        assert!(
            registry.admit(&Activity::new(), &c).is_none(),
            "the others are too fresh"
        );
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (_e, _f) = admit(&registry, &c);
        assert!(newer_idle.is_closing() && !newest.is_closing());
        let (_g, _h) = admit(&registry, &c);
        assert!(newest.is_closing());
        assert!(
            !streaming.is_closing(),
            "a live event stream is never reclaimed"
        );
        assert_eq!(c.connections_reclaimed.load(Ordering::Relaxed), 3);
        assert_eq!(
            registry.len(),
            6,
            "the closing ones keep their entry until they end"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_served_connection_gets_more_patience() {
        let registry = Arc::new(Registry::new(1));
        let c = counters();
        let (used, _a) = admit(&registry, &c);
        drop(used.request());
        tokio::time::sleep(QUIET_AFTER_USE / 2).await;
        assert!(registry.admit(&Activity::new(), &c).is_none());
        tokio::time::sleep(QUIET_AFTER_USE / 2).await;
        assert!(registry.admit(&Activity::new(), &c).is_some());
        assert!(used.is_closing());
    }

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_waits_for_a_connection_to_grow_quiet() {
        let registry = Arc::new(Registry::new(1));
        let c = counters();
        let (filler, _a) = admit(&registry, &c);
        let newcomer = Activity::new();
        let admitted = registry.admit_within(&newcomer, &c).await;
        assert!(admitted.is_some() && filler.is_closing());
        // A live event stream is never reclaimed: the wait ends in a refusal.
        let _stream = newcomer.stream();
        let started = Instant::now();
        assert!(registry.admit_within(&Activity::new(), &c).await.is_none());
        assert!(started.elapsed() >= ADMISSION_WAIT);
        drop(admitted);
        assert!(registry.admit_within(&Activity::new(), &c).await.is_some());
    }
}
