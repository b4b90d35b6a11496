//! The loss proof: which POSTed tokens each stream saw, and how many times.
//!
//! Every POST of a point carries a token with an index ([`TokenTable`]). Each stream has a
//! [`StreamLedger`]: one bit per token for "seen", one for "seen again", and the instants that
//! say when the stream could receive what. The ledgers are registered in the point's shared state,
//! so they outlive the stream tasks that are cancelled when the point ends. At the end,
//! [`Delivery::tally`] compares what was owed with what arrived:
//!
//! - a stream is *anchored* when it receives a `200 text/event-stream` without having sent
//!   `Last-Event-ID` (its first connection, or a reconnect before it ever saw an id): from then on
//!   a resume with `Last-Event-ID` can replay whatever it misses, so no server could owe it
//!   anything sent earlier;
//! - a (POST, stream) pair is *expected* when the POST completed with a 2xx, was sent (granted its
//!   slot) after the stream's anchor, completed at least `grace` before the stream's coverage
//!   ended, and the stream never failed for good (bad status or content type). Coverage ends at
//!   the end of the point if the stream's connection was then open for at least `grace`, else at
//!   the end of its last connection that was: messages published while it is disconnected only
//!   arrive through the replay after the next reconnect;
//! - *lost*: expected and never seen; *duplicated*: seen more than once on one stream (counted
//!   once per pair, expected or not).
//!
//! A WebSocket (the `ws` and `wss` arms) has no `Last-Event-ID`: a socket that reconnects gets
//! only what is published from its new subscription on, and what was published while it was
//! away is gone. Its ledger ([`Delivery::register_unresumable`]) therefore keeps every
//! connection's interval, and a (message, socket) pair is *expected* when the message was sent
//! after one of the socket's connections opened (its `101`; the server subscribes it before
//! answering) and its echo came back to its sender at least `grace` before that connection ended
//! (or before the end of the point): by its echo the server had queued it for every subscriber of
//! the channel. Messages published while the socket was down are owed nothing; one whose socket
//! dropped with it still queued is lost, and counted so. What a resumable stream would have been
//! owed on top (published while the socket was away) is counted apart as *missed*
//! ([`DeliveryTally::missed`]): the cost of having no resume, not a fault of the server.
//!
//! Memory: two bits per (stream, token) pair. Past [`MAX_PAIRS`] pairs the point runs without
//! the loss proof rather than allocate without bound.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Most (stream, token) pairs tracked: 2^28 pairs are 64 MiB of bits.
pub const MAX_PAIRS: u64 = 1 << 28;

/// The loss proof of one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryTally {
    /// (POST, stream) pairs owed: see the module documentation.
    pub expected: u64,
    /// Expected pairs whose token never arrived on that stream.
    pub lost: u64,
    /// Pairs whose token arrived more than once on that stream.
    pub duplicated: u64,
    /// WebSockets only: pairs a resumable stream would be owed (sent after the socket first
    /// opened, echoed at least the grace before its coverage ended, as for an event stream) but
    /// its connections were not, because it was reconnecting when they were published, and that
    /// never arrived: what a chat without resume misses across drops. Always 0 on the SSE arms,
    /// whose replay owes them (and counts them in `lost` if they do not come).
    pub missed: u64,
}

/// Instants as nanoseconds since a base, plus one, so that zero means "never".
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    base: Instant,
}

impl Clock {
    pub fn new(base: Instant) -> Self {
        Clock { base }
    }

    pub fn stamp(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos())
            .unwrap_or(u64::MAX - 1)
            .saturating_add(1)
    }

    pub fn instant(&self, stamp: u64) -> Option<Instant> {
        (stamp != 0).then(|| self.base + Duration::from_nanos(stamp - 1))
    }
}

/// The POSTs of a point, by token index: when each was sent (granted its slot), for `fanout`,
/// and when it completed with a 2xx. Lock-free: one slot per scheduled POST.
#[derive(Debug)]
pub(crate) struct TokenTable {
    /// High 32 bits of every token of this point, so tokens of other points or runs (replayed by
    /// an external server's ring) are never matched.
    nonce: u64,
    clock: Clock,
    sent: Box<[AtomicU64]>,
    completed: Box<[AtomicU64]>,
}

impl TokenTable {
    pub fn new(nonce: u32, capacity: usize, base: Instant) -> Self {
        let slots = || (0..capacity).map(|_| AtomicU64::new(0)).collect();
        TokenTable {
            nonce: u64::from(nonce) << 32,
            clock: Clock::new(base),
            sent: slots(),
            completed: slots(),
        }
    }

    pub fn len(&self) -> usize {
        self.sent.len()
    }

    pub fn token(&self, index: usize) -> u64 {
        self.nonce | index as u64
    }

    /// The index of one of this point's tokens.
    pub fn index(&self, token: u64) -> Option<usize> {
        if token & !0xFFFF_FFFF != self.nonce {
            return None;
        }
        let index = usize::try_from(token & 0xFFFF_FFFF).ok()?;
        (index < self.sent.len()).then_some(index)
    }

    pub fn mark_sent(&self, token: u64, at: Instant) {
        if let Some(i) = self.index(token) {
            self.sent[i].store(self.clock.stamp(at), Ordering::Relaxed);
        }
    }

    pub fn mark_completed(&self, token: u64, at: Instant) {
        if let Some(i) = self.index(token) {
            self.completed[i].store(self.clock.stamp(at), Ordering::Relaxed);
        }
    }

    /// When the POST carrying `token` was sent, if it is one of this point's and was sent.
    pub fn sent_at(&self, token: u64) -> Option<Instant> {
        self.clock
            .instant(self.sent[self.index(token)?].load(Ordering::Relaxed))
    }

    /// When the POST carrying `token` completed with a 2xx, if it did.
    pub fn completed_at(&self, token: u64) -> Option<Instant> {
        self.clock
            .instant(self.completed[self.index(token)?].load(Ordering::Relaxed))
    }
}

/// What one stream saw and when it could see it. Written by its stream task only.
#[derive(Debug)]
pub(crate) struct StreamLedger {
    clock: Clock,
    seen: Box<[AtomicU64]>,
    seen_again: Box<[AtomicU64]>,
    /// The 200 after which nothing sent can be missed for good (see the module documentation).
    anchor: AtomicU64,
    /// The 200 of the current (or last) connection.
    up: AtomicU64,
    /// The end of the current connection, zero while it is open.
    down: AtomicU64,
    /// The end of the connection before the current one.
    previous_down: AtomicU64,
    failed: AtomicBool,
    /// For a stream that cannot resume (a WebSocket): every connection's (up, down) stamps, down
    /// zero while open.
    intervals: Option<Mutex<Vec<(u64, u64)>>>,
}

impl StreamLedger {
    fn new(clock: Clock, tokens: usize, resumable: bool) -> Self {
        let words = || {
            (0..tokens.div_ceil(64))
                .map(|_| AtomicU64::new(0))
                .collect()
        };
        StreamLedger {
            clock,
            seen: words(),
            seen_again: words(),
            anchor: AtomicU64::new(0),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            previous_down: AtomicU64::new(0),
            failed: AtomicBool::new(false),
            intervals: (!resumable).then(|| Mutex::new(Vec::new())),
        }
    }

    /// The stream got its `200 text/event-stream`; `resumed` if it sent `Last-Event-ID`.
    pub fn opened(&self, at: Instant, resumed: bool) {
        let stamp = self.clock.stamp(at);
        if !resumed {
            self.anchor.store(stamp, Ordering::Relaxed);
        }
        self.previous_down
            .store(self.down.load(Ordering::Relaxed), Ordering::Relaxed);
        self.down.store(0, Ordering::Relaxed);
        self.up.store(stamp, Ordering::Relaxed);
        if let Some(intervals) = &self.intervals {
            lock(intervals).push((stamp, 0));
        }
    }

    /// The connection opened last ended (cleanly, with an error, or cancelled).
    pub fn closed(&self, at: Instant) {
        let stamp = self.clock.stamp(at);
        self.down.store(stamp, Ordering::Relaxed);
        if let Some(intervals) = &self.intervals {
            if let Some(last) = lock(intervals).last_mut().filter(|(_, down)| *down == 0) {
                last.1 = stamp;
            }
        }
    }

    /// For a stream that cannot resume: whether a message sent at `sent` and echoed at
    /// `completed` is owed to one of its connections.
    fn owed_unresumable(
        intervals: &[(u64, u64)],
        sent: u64,
        completed: u64,
        end: u64,
        grace: u64,
    ) -> bool {
        intervals.iter().any(|&(up, down)| {
            let until = if down == 0 || down >= end { end } else { down };
            up <= end && sent > up && completed.saturating_add(grace) <= until
        })
    }

    /// The stream failed for good: nothing is owed to it.
    pub fn failed(&self) {
        self.failed.store(true, Ordering::Relaxed);
    }

    /// The event carrying the token with this index arrived.
    pub fn saw(&self, index: usize) {
        let (word, bit) = (index / 64, 1u64 << (index % 64));
        let Some(seen) = self.seen.get(word) else {
            return;
        };
        if seen.fetch_or(bit, Ordering::Relaxed) & bit != 0 {
            self.seen_again[word].fetch_or(bit, Ordering::Relaxed);
        }
    }

    fn bit(words: &[AtomicU64], index: usize) -> bool {
        words[index / 64].load(Ordering::Relaxed) & (1 << (index % 64)) != 0
    }

    /// The last instant a POST may have completed at and still be owed to this stream, as a
    /// stamp; zero when nothing is owed.
    fn covered_until(&self, end: u64, grace: u64) -> u64 {
        let up = self.up.load(Ordering::Relaxed);
        if up == 0 || self.failed.load(Ordering::Relaxed) {
            return 0;
        }
        let down = self.down.load(Ordering::Relaxed);
        let previous_down = self.previous_down.load(Ordering::Relaxed);
        let open_at_end = up <= end && (down == 0 || down >= end);
        let until = if open_at_end && up.saturating_add(grace) <= end {
            end
        } else if up <= end && down != 0 && down < end {
            down
        } else {
            // Opened within the grace period (or after the end): what it missed before is still
            // being replayed.
            previous_down
        };
        until.saturating_sub(grace)
    }
}

/// The ledgers of one point.
#[derive(Debug)]
pub(crate) struct Delivery {
    clock: Clock,
    tokens: usize,
    /// False when the point has too many (stream, token) pairs to track.
    enabled: bool,
    ledgers: Mutex<Vec<Arc<StreamLedger>>>,
}

impl Delivery {
    pub fn new(base: Instant, tokens: usize, streams: u64) -> Self {
        let enabled = streams.saturating_mul(tokens as u64) <= MAX_PAIRS;
        if !enabled {
            tracing::warn!(
                "{streams} streams x {tokens} POSTs is over {MAX_PAIRS} pairs: this point runs without the loss proof"
            );
        }
        Delivery {
            clock: Clock::new(base),
            tokens,
            enabled,
            ledgers: Mutex::new(Vec::new()),
        }
    }

    /// A new stream's ledger, or `None` when the point is too large to track.
    pub fn register(&self) -> Option<Arc<StreamLedger>> {
        self.register_as(true)
    }

    /// A new ledger for a stream that cannot resume (a WebSocket), or `None` when the point is
    /// too large to track.
    pub fn register_unresumable(&self) -> Option<Arc<StreamLedger>> {
        self.register_as(false)
    }

    fn register_as(&self, resumable: bool) -> Option<Arc<StreamLedger>> {
        if !self.enabled {
            return None;
        }
        let ledger = Arc::new(StreamLedger::new(self.clock, self.tokens, resumable));
        self.ledgers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(ledger.clone());
        Some(ledger)
    }

    /// The loss proof at `end`, or `None` when the point was too large to track.
    pub fn tally(
        &self,
        table: &TokenTable,
        end: Instant,
        grace: Duration,
    ) -> Option<DeliveryTally> {
        if !self.enabled {
            return None;
        }
        let end = self.clock.stamp(end);
        let grace = u64::try_from(grace.as_nanos()).unwrap_or(u64::MAX);
        // (index, sent, completed) of every POST that completed with a 2xx.
        let completed: Vec<(usize, u64, u64)> = (0..table.len())
            .filter_map(|i| {
                let sent = table.sent[i].load(Ordering::Relaxed);
                let completed = table.completed[i].load(Ordering::Relaxed);
                (sent != 0 && completed != 0).then_some((i, sent, completed))
            })
            .collect();
        let mut tally = DeliveryTally::default();
        let ledgers = self.ledgers.lock().unwrap_or_else(|e| e.into_inner());
        for ledger in ledgers.iter() {
            tally.duplicated += ledger
                .seen_again
                .iter()
                .map(|w| u64::from(w.load(Ordering::Relaxed).count_ones()))
                .sum::<u64>();
            if let Some(intervals) = &ledger.intervals {
                if ledger.failed.load(Ordering::Relaxed) {
                    continue;
                }
                let intervals = lock(intervals);
                let first_up = intervals.first().map_or(0, |&(up, _)| up);
                // What an event stream would be owed: from the first open to its coverage.
                let until = ledger.covered_until(end, grace);
                for &(i, sent, completed) in &completed {
                    let seen = StreamLedger::bit(&ledger.seen, i);
                    if StreamLedger::owed_unresumable(&intervals, sent, completed, end, grace) {
                        tally.expected += 1;
                        tally.lost += u64::from(!seen);
                    } else if first_up != 0 && sent > first_up && completed <= until && !seen {
                        tally.missed += 1;
                    }
                }
                continue;
            }
            let until = ledger.covered_until(end, grace);
            let anchor = ledger.anchor.load(Ordering::Relaxed);
            if until == 0 || anchor == 0 {
                continue;
            }
            for &(i, sent, completed) in &completed {
                if sent > anchor && completed <= until {
                    tally.expected += 1;
                    if !StreamLedger::bit(&ledger.seen, i) {
                        tally.lost += 1;
                    }
                }
            }
        }
        Some(tally)
    }
}

#[cfg(test)]
mod tests;
