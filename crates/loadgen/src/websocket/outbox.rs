//! The chat's upstream half on the WebSocket arms: a client's messages, sent on its first
//! WebSocket in place of POSTs, on the same open-loop schedule (`crate::post`).
//!
//! A message is due at its scheduled instant, whatever happened to earlier ones. It is written as
//! soon as the client's first socket is open: a socket that is reconnecting keeps its messages
//! queued, in order, as a chat page would (a browser discards what is sent on a closed socket and
//! throws on one still connecting, so a page must queue). Each message's round trip (`post_rtt`)
//! runs from its scheduled instant to its *echo*: the server sends every message of a channel to
//! every socket of the channel, the sender's included, so the copy carrying its token arriving
//! on the socket it was sent on is the acknowledgement that the server took and broadcast it.
//! `post_queue_wait` runs from the scheduled instant to the write. A message written on a
//! connection that dropped before its echo came back is not sent again (no browser does): it
//! stays without an echo, counted in `posts_stalled_at_end` and censored in `post_rtt`.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Instant;

use tokio::sync::Notify;

use crate::context::Ctx;
use crate::delivery::TokenTable;
use crate::metrics::Gauge;
use vocab::{Counter, Latency};

/// One chat message waiting to be written.
#[derive(Debug, Clone)]
pub(crate) struct Outgoing {
    pub token: u64,
    pub body: String,
}

/// A message scheduled and not yet echoed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    scheduled: Instant,
    written: bool,
}

/// One client's messages: waiting to be written, and waiting for their echo.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: Mutex<VecDeque<Outgoing>>,
    pending: Mutex<HashMap<u64, Pending>>,
    ready: Notify,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Outbox {
    /// The message with `token` is due now (its scheduled instant is `scheduled`). The caller has
    /// counted it in `posts_scheduled` and `PostsPending`.
    pub fn push(&self, ctx: &Ctx, token: u64, scheduled: Instant, body: String) {
        ctx.metrics.gauge_up(Gauge::PostsQueued);
        lock(&self.pending).insert(
            token,
            Pending {
                scheduled,
                written: false,
            },
        );
        lock(&self.queue).push_back(Outgoing { token, body });
        self.ready.notify_one();
    }

    /// The next message to write, once there is one (cancel-safe: nothing is taken).
    pub async fn next(&self) -> Outgoing {
        loop {
            let notified = self.ready.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if let Some(front) = lock(&self.queue).front() {
                return front.clone();
            }
            notified.await;
        }
    }

    /// The message [`Outbox::next`] returned is handed to the socket at `at`: its `fanout` runs
    /// from here (set before the write, so that no copy can arrive before its instant is known)
    /// and its `post_queue_wait` ends here.
    pub fn writing(&self, ctx: &Ctx, tokens: &TokenTable, token: u64, at: Instant) {
        tokens.mark_sent(token, at);
        if let Some(p) = lock(&self.pending).get_mut(&token) {
            if !std::mem::replace(&mut p.written, true) {
                ctx.metrics.gauge_down(Gauge::PostsQueued);
                ctx.metrics.record(
                    Latency::PostQueueWait,
                    at.saturating_duration_since(p.scheduled),
                );
            }
        }
    }

    /// The message has been written: the next one may go. (A write that failed leaves it first
    /// in line for the next connection.)
    pub fn written(&self, token: u64) {
        let mut queue = lock(&self.queue);
        if queue.front().is_some_and(|o| o.token == token) {
            queue.pop_front();
        }
    }

    /// A message carrying `token` arrived at `at` on the socket the messages are sent on: if it
    /// is one of ours still waiting, that is its echo.
    pub fn echoed(&self, ctx: &Ctx, tokens: &TokenTable, token: u64, at: Instant) {
        let p = {
            let pending = lock(&self.pending);
            // A message not written yet cannot be echoed (a server that sends what it was never
            // sent does not complete it).
            match pending.get(&token) {
                Some(p) if p.written => *p,
                _ => return,
            }
        };
        // An echo after the end of the point: the message was counted pending then, and stays so
        // (`censor` records its wait).
        if !ctx.metrics.gauge_down(Gauge::PostsPending) {
            return;
        }
        lock(&self.pending).remove(&token);
        tokens.mark_completed(token, at);
        ctx.metrics
            .record(Latency::PostRtt, at.saturating_duration_since(p.scheduled));
        ctx.metrics.incr(Counter::PostsCompleted);
    }

    /// At the end of the point: every message without its echo has waited at least until the
    /// end (censored `post_rtt`), and one never written censors `post_queue_wait` too.
    pub fn censor(&self, ctx: &Ctx) {
        for (_, p) in lock(&self.pending).drain() {
            ctx.censor(Latency::PostRtt, p.scheduled);
            if !p.written {
                ctx.censor(Latency::PostQueueWait, p.scheduled);
            }
        }
    }
}
