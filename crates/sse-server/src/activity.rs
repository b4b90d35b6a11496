//! What one connection is doing, as its requests and event streams report it, for the timeouts
//! and the connection limit that read it:
//!
//! - requests in flight, from hyper's hand-over to the end of the response (of the stream, for an
//!   event stream): an HTTP/2 connection with none for `http2_idle_timeout` is idle
//!   ([`Activity::idle_for`]; hyper's header timeout covers an idle HTTP/1.1 connection);
//! - event frames handed to hyper and not yet taken (on HTTP/2: no flow-control window): frames
//!   waiting `write_stall_timeout` while no frame of the connection is taken and the socket is
//!   not blocked mean a client keeping its windows shut ([`Activity::window_stall`]; see
//!   crates/sse-server/FINDINGS.md, "Idle and zero-window HTTP/2 connections");
//! - progress, the last request, piece of a request body or frame taken, and what the client
//!   itself last sent (a request, a piece of a body, a WebSocket frame): the connection limit
//!   closes the quietest connection first (`listen::reclaim`);
//! - WebSockets that have not yet answered the server's first ping: until then a socket counts as
//!   having done nothing useful, however much the server writes to it.
//!
//! Times are nanoseconds since the connection's epoch in atomics: a frame handed and taken takes
//! no lock.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;

use crate::peer::ClientAddr;

/// The activity of one connection, shared by its requests, its event streams and its watchdogs.
#[derive(Debug)]
pub(crate) struct Activity {
    epoch: Instant,
    progress: AtomicU64,
    /// What the client last sent.
    heard: AtomicU64,
    /// WebSockets that have not heard from their client yet.
    unproven: AtomicUsize,
    in_flight: AtomicUsize,
    /// Requests whose handler has finished (an event stream counts once its stream has begun).
    completed: AtomicU64,
    idle_since: AtomicU64,
    became_idle: Notify,
    streams: AtomicUsize,
    waiting: AtomicUsize,
    waiting_since: AtomicU64,
    started_waiting: Notify,
    /// Cancelled to close the connection (its slot is reclaimed).
    close: CancellationToken,
}

impl Activity {
    /// A connection accepted now, closed by [`Activity::close`] or with `force`, the server's
    /// last step of shutting down: one token, a child of `force`, so that the connection's task
    /// waits on one token, not two, each time it wakes (crates/sse-server/FINDINGS.md, "Fan-out
    /// profile").
    pub(crate) fn new(force: &CancellationToken) -> Arc<Activity> {
        Arc::new(Activity {
            epoch: Instant::now(),
            progress: AtomicU64::new(0),
            heard: AtomicU64::new(0),
            unproven: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            completed: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            became_idle: Notify::new(),
            streams: AtomicUsize::new(0),
            waiting: AtomicUsize::new(0),
            waiting_since: AtomicU64::new(0),
            started_waiting: Notify::new(),
            close: force.child_token(),
        })
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn at(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }

    /// Records progress now.
    pub(crate) fn progress(&self) {
        self.progress.store(self.now(), Ordering::Relaxed);
    }

    /// Records that the client sent something now (which is progress too).
    pub(crate) fn heard(&self) {
        let now = self.now();
        self.progress.store(now, Ordering::Relaxed);
        self.heard.store(now, Ordering::Relaxed);
    }

    /// A request has arrived; in flight until the guard is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        self.heard();
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        InFlight(Arc::clone(self))
    }

    /// An event stream opens on this connection.
    pub(crate) fn stream(self: &Arc<Self>) -> StreamActivity {
        self.streams.fetch_add(1, Ordering::Relaxed);
        StreamActivity {
            in_flight: self.request(),
            handed: false,
            unproven: false,
            since: None,
        }
    }

    /// The last progress.
    pub(crate) fn last_progress(&self) -> Instant {
        self.at(self.progress.load(Ordering::Relaxed))
    }

    /// When the client last sent something.
    pub(crate) fn last_heard(&self) -> Instant {
        self.at(self.heard.load(Ordering::Relaxed))
    }

    /// Whether a WebSocket of this connection has not heard from its client yet.
    pub(crate) fn unproven(&self) -> bool {
        self.unproven.load(Ordering::Relaxed) > 0
    }

    /// Event streams open now.
    pub(crate) fn streams(&self) -> usize {
        self.streams.load(Ordering::Relaxed)
    }

    /// Whether the connection has done nothing useful yet: no request has been answered, a
    /// request other than an event stream is still in flight (its body has not arrived), or a
    /// WebSocket has not heard from its client.
    pub(crate) fn nothing_useful_yet(&self) -> bool {
        let streams = self.streams();
        self.completed.load(Ordering::Relaxed) == 0
            || self.in_flight.load(Ordering::Relaxed) > streams
            || self.unproven()
    }

    /// Asks the connection to close.
    pub(crate) fn close(&self) {
        self.close.cancel();
    }

    pub(crate) fn is_closing(&self) -> bool {
        self.close.is_cancelled()
    }

    /// Whether some event frame is waiting for hyper to take it.
    pub(crate) fn frames_waiting(&self) -> bool {
        self.waiting.load(Ordering::Relaxed) > 0
    }

    /// Resolves when [`Activity::close`] is called, or the server forces every connection closed.
    pub(crate) async fn closed(&self) {
        self.close.cancelled().await;
    }

    /// Resolves once no request has been in flight for `timeout`.
    pub(crate) async fn idle_for(&self, timeout: Duration) {
        loop {
            if self.in_flight.load(Ordering::Acquire) > 0 {
                self.became_idle.notified().await;
                continue;
            }
            let deadline = self.at(self.idle_since.load(Ordering::Acquire)) + timeout;
            if Instant::now() >= deadline {
                if self.in_flight.load(Ordering::Acquire) == 0 {
                    return;
                }
                continue;
            }
            sleep_until(deadline).await;
        }
    }

    /// Resolves once event frames have waited `timeout` for hyper without any frame of this
    /// connection being taken meanwhile, while the socket is not the one blocking (as
    /// `socket_blocked` says).
    pub(crate) async fn window_stall(&self, timeout: Duration, socket_blocked: impl Fn() -> bool) {
        loop {
            if !self.frames_waiting() {
                self.started_waiting.notified().await;
                continue;
            }
            let deadline = self.at(self.waiting_since.load(Ordering::Acquire)) + timeout;
            let now = Instant::now();
            if now < deadline {
                sleep_until(deadline).await;
                continue;
            }
            if self.frames_waiting() && !socket_blocked() {
                return;
            }
            // The socket is blocked (the write-stall timeout's case) or a frame was just taken:
            // look again a little later.
            sleep_until(now + timeout / 8).await;
        }
    }
}

/// A request in flight; dropping it ends the request.
#[derive(Debug)]
pub(crate) struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        activity.progress();
        activity.completed.fetch_add(1, Ordering::Relaxed);
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            activity.idle_since.store(activity.now(), Ordering::Release);
            activity.became_idle.notify_one();
        }
    }
}

/// An event stream's report of its frames.
#[derive(Debug)]
pub(crate) struct StreamActivity {
    in_flight: InFlight,
    /// A frame has been handed to hyper and not yet taken.
    handed: bool,
    /// A WebSocket that has not heard from its client yet.
    unproven: bool,
    /// This stream's own watch (HTTP/2): when its frame started waiting.
    since: Option<Arc<StreamWait>>,
}

/// What an HTTP/2 stream's own watchdog (`listen::streams`) watches: since when its frame has
/// waited, and whether its subscriber overflowed.
#[derive(Debug, Default)]
pub(crate) struct StreamWatch {
    pub(crate) wait: Arc<StreamWait>,
    /// Cancelled by the hub when the stream's subscriber overflows.
    pub(crate) overflowed: CancellationToken,
}

/// Since when one stream's frame has waited for hyper to take it: what its watchdog reads
/// (`listen::streams`).
#[derive(Debug, Default)]
pub(crate) struct StreamWait {
    /// Nanoseconds after the connection's epoch, plus one; 0 while nothing waits.
    since: AtomicU64,
    started: Notify,
}

impl StreamWait {
    /// Resolves once a frame of the stream is waiting; returns since when (as the connection's
    /// [`Activity`] counts time).
    pub(crate) async fn waiting(&self, activity: &Activity) -> Instant {
        loop {
            let notified = self.started.notified();
            if let Some(since) = self.since(activity) {
                return since;
            }
            notified.await;
        }
    }

    /// Since when a frame of the stream has waited, if one does.
    pub(crate) fn since(&self, activity: &Activity) -> Option<Instant> {
        match self.since.load(Ordering::Acquire) {
            0 => None,
            ns => Some(activity.at(ns - 1)),
        }
    }
}

impl StreamActivity {
    /// Reports this stream's waits to `wait` as well (its own watchdog).
    pub(crate) fn watched_by(&mut self, wait: Arc<StreamWait>) {
        self.since = Some(wait);
    }

    /// A WebSocket opened: it counts as having done nothing useful until [`StreamActivity::heard`].
    pub(crate) fn awaiting_client(&mut self) {
        if !std::mem::replace(&mut self.unproven, true) {
            self.in_flight.0.unproven.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The client sent something now (a WebSocket frame).
    pub(crate) fn heard(&mut self) {
        self.in_flight.0.heard();
        if std::mem::take(&mut self.unproven) {
            self.in_flight.0.unproven.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// hyper has come back for the next frame: the last one was taken.
    pub(crate) fn taken(&mut self) {
        if !std::mem::take(&mut self.handed) {
            return;
        }
        let activity = &self.in_flight.0;
        let now = activity.now();
        activity.progress.store(now, Ordering::Relaxed);
        activity.waiting_since.store(now, Ordering::Release);
        activity.waiting.fetch_sub(1, Ordering::AcqRel);
        if let Some(wait) = &self.since {
            wait.since.store(0, Ordering::Release);
        }
    }

    /// A frame has been handed to hyper.
    pub(crate) fn handed(&mut self) {
        if std::mem::replace(&mut self.handed, true) {
            return;
        }
        let activity = &self.in_flight.0;
        let now = activity.now();
        if activity.waiting.fetch_add(1, Ordering::AcqRel) == 0 {
            activity.waiting_since.store(now, Ordering::Release);
            activity.started_waiting.notify_one();
        }
        if let Some(wait) = &self.since {
            wait.since.store(now.saturating_add(1), Ordering::Release);
            wait.started.notify_one();
        }
    }
}

impl Drop for StreamActivity {
    fn drop(&mut self) {
        let activity = &self.in_flight.0;
        if self.handed {
            activity.waiting.fetch_sub(1, Ordering::AcqRel);
        }
        if self.unproven {
            activity.unproven.fetch_sub(1, Ordering::Relaxed);
        }
        activity.streams.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One accepted connection: when, from whom, and what it is doing.
#[derive(Debug)]
pub(crate) struct Accepted {
    pub(crate) at: tokio::time::Instant,
    pub(crate) peer: ClientAddr,
    pub(crate) activity: Arc<Activity>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_connection_closes_when_asked_or_when_the_server_forces_it() {
        use futures_util::FutureExt;
        let force = CancellationToken::new();
        let (asked, other) = (Activity::new(&force), Activity::new(&force));
        asked.close();
        assert!(asked.closed().now_or_never().is_some() && asked.is_closing());
        assert!(other.closed().now_or_never().is_none() && !other.is_closing());
        force.cancel();
        assert!(other.closed().now_or_never().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_only_without_requests_in_flight() {
        let activity = Activity::new(&CancellationToken::new());
        let request = activity.request();
        let idle = activity.idle_for(Duration::from_secs(1));
        tokio::pin!(idle);
        tokio::select! {
            () = &mut idle => panic!("idle with a request in flight"),
            () = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        drop(request);
        let started = Instant::now();
        idle.await;
        assert_eq!(started.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_window_stall_needs_frames_waiting_and_none_taken() {
        let activity = Activity::new(&CancellationToken::new());
        let mut stuck = activity.stream();
        let mut moving = activity.stream();
        stuck.handed();
        let stall = activity.window_stall(Duration::from_secs(2), || false);
        tokio::pin!(stall);
        // Another stream of the connection keeps making progress: no stall.
        for _ in 0..10 {
            tokio::select! {
                () = &mut stall => panic!("a connection that makes progress stalled"),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
            moving.handed();
            moving.taken();
        }
        let started = Instant::now();
        stall.await;
        assert_eq!(started.elapsed(), Duration::from_secs(2));
        assert_eq!(activity.streams(), 2);
        drop(stuck);
        assert!(!activity.frames_waiting());
    }
}
