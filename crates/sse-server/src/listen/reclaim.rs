//! Admission under the connection limit, kept for clients that use it: a limit anyone can fill
//! with connections that send nothing locks everyone else out
//! (crates/sse-server/FINDINGS.md, "Admission under the connection limit").
//!
//! A new connection that finds `max_connections` reached reclaims the slot of one that has made
//! no progress ([`Activity`]) for a while: that one is closed and counted in
//! `connections_reclaimed` on its own listener. A connection writing a live event stream is never
//! chosen. First those that have sent nothing useful yet (a TLS handshake, a request head or a
//! body that stopped arriving, a WebSocket that has not answered the server's first ping,
//! however much the server writes to it), once their client has been silent for
//! [`QUIET_BEFORE_RECLAIM`]; then those that have (idle between requests, or streams waiting on a
//! full socket or a shut window), once quiet for [`QUIET_AFTER_USE`]; the quietest first.
//!
//! Then the shares: one client address ([`ClientAddr`]) cannot hold every slot. A newcomer whose
//! address holds fewer than `connection_share_per_address` slots takes the slot of the address
//! holding the most, if that is over its share: its connection whose client has been silent
//! longest, live or not (`connections_reclaimed_over_share`). A newcomer whose address is at its
//! share may reclaim only its own address's slots. Without a slot, the newcomer waits up to
//! [`ADMISSION_WAIT`] ([`MAX_WAITING`] at once), then is refused.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::activity::Activity;
use crate::peer::ClientAddr;
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
    /// `connection_share_per_address`.
    share: usize,
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
    /// The slots each client address holds (closing ones not counted).
    per_address: HashMap<ClientAddr, usize>,
}

impl State {
    fn held_by(&self, peer: ClientAddr) -> usize {
        self.per_address.get(&peer).copied().unwrap_or(0)
    }

    fn release(&mut self, peer: ClientAddr) {
        if let Some(held) = self.per_address.get_mut(&peer) {
            *held -= 1;
            if *held == 0 {
                self.per_address.remove(&peer);
            }
        }
    }

    /// Marks `id`'s connection as reclaimed: told to close, no longer counted.
    fn reclaim(&mut self, id: u64) -> Option<&Arc<ListenerCounters>> {
        let slot = self.slots.get_mut(&id)?;
        slot.reclaimed = true;
        slot.activity.close();
        let peer = slot.peer;
        self.closing += 1;
        self.release(peer);
        self.slots.get(&id).map(|slot| &slot.counters)
    }
}

#[derive(Debug)]
struct Slot {
    activity: Arc<Activity>,
    counters: Arc<ListenerCounters>,
    peer: ClientAddr,
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
            } else {
                state.release(slot.peer);
            }
        }
    }
}

impl Registry {
    pub(crate) fn new(max_connections: usize, share_per_address: usize) -> Registry {
        Registry {
            max: max_connections,
            share: share_per_address,
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
        peer: ClientAddr,
    ) -> Option<Registered> {
        let mut state = self.lock();
        if state.slots.len() - state.closing >= self.max
            && !reclaim_quiet(&mut state, peer, self.share)
            && !reclaim_over_share(&mut state, peer, self.share)
        {
            return None;
        }
        let id = state.next_id;
        state.next_id += 1;
        let slot = Slot {
            activity: Arc::clone(activity),
            counters: Arc::clone(counters),
            peer,
            reclaimed: false,
        };
        state.slots.insert(id, slot);
        *state.per_address.entry(peer).or_default() += 1;
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
        peer: ClientAddr,
    ) -> Option<Registered> {
        if let Some(admitted) = self.admit(activity, counters, peer) {
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
            admitted = self.admit(activity, counters, peer);
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

/// Since when a connection counts as quiet: its client's last word if it has done nothing
/// useful yet (a server writing to a silent WebSocket does not make it useful), else its last
/// progress either way.
fn quiet_since(a: &Activity) -> Instant {
    if a.nothing_useful_yet() {
        a.last_heard()
    } else {
        a.last_progress()
    }
}

/// Closes the connection to reclaim for a newcomer from `peer` (see the module documentation),
/// if any has been quiet long enough, and counts it. Returns whether one was found.
fn reclaim_quiet(state: &mut State, peer: ClientAddr, share: usize) -> bool {
    let now = Instant::now();
    let own_only = state.held_by(peer) >= share;
    let victim = state
        .slots
        .iter()
        .filter(|(_, slot)| {
            let a = &slot.activity;
            let quiet_enough = if a.nothing_useful_yet() {
                QUIET_BEFORE_RECLAIM
            } else {
                QUIET_AFTER_USE
            };
            !slot.reclaimed
                && !a.is_closing()
                && (!own_only || slot.peer == peer)
                && (a.streams() == 0 || a.frames_waiting() || a.unproven())
                && now.saturating_duration_since(quiet_since(a)) >= quiet_enough
        })
        .min_by_key(|(_, slot)| {
            let a = &slot.activity;
            (!a.nothing_useful_yet(), quiet_since(a))
        })
        .map(|(&id, _)| id);
    let Some(counters) = victim.and_then(|id| state.reclaim(id)) else {
        return false;
    };
    incr(&counters.connections_reclaimed);
    true
}

/// Closes, for a newcomer from `peer` under its share, the connection whose client has been
/// silent longest among those of the address holding the most slots, if that address is over its
/// share; counts it. Returns whether one was found.
fn reclaim_over_share(state: &mut State, peer: ClientAddr, share: usize) -> bool {
    if state.held_by(peer) >= share {
        return false;
    }
    let Some((&greedy, _)) = state
        .per_address
        .iter()
        .filter(|&(_, &held)| held > share)
        .max_by_key(|&(_, &held)| held)
    else {
        return false;
    };
    let victim = state
        .slots
        .iter()
        .filter(|(_, slot)| slot.peer == greedy && !slot.reclaimed && !slot.activity.is_closing())
        .min_by_key(|(_, slot)| slot.activity.last_heard())
        .map(|(&id, _)| id);
    let Some(counters) = victim.and_then(|id| state.reclaim(id)) else {
        return false;
    };
    incr(&counters.connections_reclaimed_over_share);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::sync::CancellationToken;
    use vocab::Protocol;

    const LOOPBACK: ClientAddr = ClientAddr::LOOPBACK;

    fn counters() -> Arc<ListenerCounters> {
        Arc::new(ListenerCounters::new(
            Protocol::H1,
            "127.0.0.1:1".parse().unwrap(),
        ))
    }

    /// A connection accepted now (the server's force token its own).
    fn fresh() -> Arc<Activity> {
        Activity::new(&CancellationToken::new())
    }

    /// Admits a connection accepted now, which must get a slot.
    fn admit(registry: &Arc<Registry>, c: &Arc<ListenerCounters>) -> (Arc<Activity>, Registered) {
        let activity = fresh();
        let registered = registry.admit(&activity, c, LOOPBACK).expect("a slot");
        (activity, registered)
    }

    #[tokio::test(start_paused = true)]
    async fn connections_that_did_nothing_useful_go_before_idle_ones() {
        let registry = Arc::new(Registry::new(3, 100));
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
        let registry = Arc::new(Registry::new(3, 100));
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
            registry.admit(&fresh(), &c, LOOPBACK).is_none(),
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
        let registry = Arc::new(Registry::new(1, 100));
        let c = counters();
        let (used, _a) = admit(&registry, &c);
        drop(used.request());
        tokio::time::sleep(QUIET_AFTER_USE / 2).await;
        assert!(registry.admit(&fresh(), &c, LOOPBACK).is_none());
        tokio::time::sleep(QUIET_AFTER_USE / 2).await;
        assert!(registry.admit(&fresh(), &c, LOOPBACK).is_some());
        assert!(used.is_closing());
    }

    #[tokio::test(start_paused = true)]
    async fn a_newcomer_waits_for_a_connection_to_grow_quiet() {
        let registry = Arc::new(Registry::new(1, 100));
        let c = counters();
        let (filler, _a) = admit(&registry, &c);
        let newcomer = fresh();
        let admitted = registry.admit_within(&newcomer, &c, LOOPBACK).await;
        assert!(admitted.is_some() && filler.is_closing());
        // A live event stream is never reclaimed: the wait ends in a refusal.
        let _stream = newcomer.stream();
        let started = Instant::now();
        assert!(registry
            .admit_within(&fresh(), &c, LOOPBACK)
            .await
            .is_none());
        assert!(started.elapsed() >= ADMISSION_WAIT);
        drop(admitted);
        assert!(registry
            .admit_within(&fresh(), &c, LOOPBACK)
            .await
            .is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn a_websocket_that_never_answered_is_reclaimed_whatever_the_server_writes() {
        let registry = Arc::new(Registry::new(1, 100));
        let c = counters();
        let (socket, _a) = admit(&registry, &c);
        let mut stream = socket.stream();
        stream.awaiting_client();
        // The server writes to it all the while: progress, but nothing from the client.
        for _ in 0..4 {
            tokio::time::sleep(QUIET_BEFORE_RECLAIM / 2).await;
            stream.handed();
            stream.taken();
        }
        let (answered, _b) = admit(&registry, &c);
        assert!(socket.is_closing());
        // One that has answered is a live stream: never reclaimed for being quiet.
        let mut live = answered.stream();
        live.awaiting_client();
        live.heard();
        tokio::time::sleep(QUIET_AFTER_USE * 5).await;
        assert!(registry.admit(&fresh(), &c, LOOPBACK).is_none());
        assert_eq!(c.connections_reclaimed.load(Ordering::Relaxed), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_address_over_its_share_gives_way_to_another() {
        let registry = Arc::new(Registry::new(4, 2));
        let c = counters();
        let greedy = ClientAddr::of("127.0.0.2".parse().unwrap());
        let mut held = Vec::new();
        for _ in 0..4 {
            let activity = fresh();
            let registered = registry.admit(&activity, &c, greedy).expect("a slot");
            let stream = activity.stream();
            held.push((activity, registered, stream));
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
        // Live streams all: the greedy address cannot take anyone's slot, not even its own.
        assert!(registry.admit(&fresh(), &c, greedy).is_none());
        // Another address takes the greedy one's slots down to its share, the oldest first.
        let (_n1, _r1) = admit(&registry, &c);
        let (_n2, _r2) = admit(&registry, &c);
        let closing: Vec<bool> = held.iter().map(|(a, _, _)| a.is_closing()).collect();
        assert_eq!(closing, [true, true, false, false]);
        assert!(registry.admit(&fresh(), &c, LOOPBACK).is_none());
        let over_share = c.connections_reclaimed_over_share.load(Ordering::Relaxed);
        assert_eq!(
            (over_share, c.connections_reclaimed.load(Ordering::Relaxed)),
            (2, 0)
        );
    }
}
