//! State shared by every task of one sweep point: the metrics, the stop signal, the first fatal
//! error ([`Fatal`]) and the target's health (a server that stays unreachable ends the run) in
//! [`Ctx`]; what every client reads of the point (target, paths, POST tokens, the loss proof's
//! ledgers) in [`PointShared`].

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use vocab::{error_chain, AnswerPlan, BrowserProfile};

use crate::delivery::{Delivery, TokenTable};
use crate::error::{Fatal, FatalKind, LoadError};
use crate::metrics::{Metrics, QuicTally};
use crate::target::Target;

/// The point's metrics, stop signal, first fatal error and target health.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub metrics: Arc<Metrics>,
    pub stop: CancellationToken,
    pub connect_timeout: Duration,
    /// Whose rules the connections follow where the browsers differ (HTTP/2 windows and caps).
    pub profile: BrowserProfile,
    /// How long connects may fail without a success before the target counts as down.
    pub down_after: Duration,
    /// The QUIC connections' packets (the `h3` arm).
    pub quic: QuicTally,
    fatal: Mutex<Option<Fatal>>,
    /// The instant the point ended, set before its tasks are stopped: what is still waiting then
    /// has waited at least until it (censored samples).
    ended: OnceLock<Instant>,
    /// Since when every connect has failed, and the last failure.
    failing: Mutex<Option<(Instant, String)>>,
}

impl Ctx {
    pub fn new(metrics: Arc<Metrics>, stop: CancellationToken, connect_timeout: Duration) -> Self {
        Ctx {
            metrics,
            stop,
            connect_timeout,
            profile: BrowserProfile::default(),
            down_after: Duration::from_secs(5),
            quic: QuicTally::default(),
            fatal: Mutex::new(None),
            failing: Mutex::new(None),
            ended: OnceLock::new(),
        }
    }

    /// The same context, following `profile`'s rules.
    pub fn with_profile(mut self, profile: BrowserProfile) -> Self {
        self.profile = profile;
        self
    }

    /// Records the first fatal reason and stops the point.
    pub fn fail(&self, fatal: Fatal) {
        let mut slot = self.fatal.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none() {
            *slot = Some(fatal);
        }
        self.stop.cancel();
    }

    /// Marks the end of the point (the first call wins).
    pub fn end(&self, at: Instant) {
        let _ = self.ended.set(at);
    }

    /// The end of the point, once it has ended.
    pub fn ended(&self) -> Option<Instant> {
        self.ended.get().copied()
    }

    /// Records a wait still running at the end of the point: `from` -> the end, as a censored
    /// sample of `latency`. Does nothing while the point runs.
    pub fn censor(&self, latency: vocab::Latency, from: Instant) {
        if let Some(end) = self.ended() {
            self.metrics
                .record_censored(latency, end.saturating_duration_since(from));
        }
    }

    pub fn take_fatal(&self) -> Option<Fatal> {
        self.fatal.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    pub fn connect_succeeded(&self) {
        *self.failing.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Notes a failed connect: a fatal error stops the point, and so do failures that have lasted
    /// `down_after` with no success in between (checked here and by [`Ctx::check_down`]).
    pub fn connect_failed(&self, err: &LoadError) {
        if let Some(kind) = err.fatal_kind() {
            self.fail(Fatal {
                kind,
                message: error_chain(err),
            });
            return;
        }
        {
            // A connect that timed out was failing from its start, not from when it gave up: over
            // QUIC a server that is gone never refuses, every attempt waits out the timeout.
            let began = match err {
                LoadError::Timeout { after, .. } => Instant::now().checked_sub(*after),
                _ => None,
            }
            .unwrap_or_else(Instant::now);
            let mut failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            let since = failing.as_ref().map_or(began, |(since, _)| *since);
            *failing = Some((since, error_chain(err)));
        }
        self.check_down();
    }

    /// Stops the point when connects have failed for `down_after` with no success in between.
    /// Called on every failed connect and periodically, so that streams waiting out their
    /// reconnection delay do not postpone the verdict.
    pub fn check_down(&self) {
        let verdict = {
            let failing = self.failing.lock().unwrap_or_else(|e| e.into_inner());
            match &*failing {
                Some((since, last)) if since.elapsed() >= self.down_after => Some(format!(
                    "every connect failed for {:.1} s (last: {last})",
                    since.elapsed().as_secs_f64(),
                )),
                _ => None,
            }
        };
        if let Some(message) = verdict {
            self.fail(Fatal {
                kind: FatalKind::TargetDown,
                message,
            });
        }
    }
}

/// Per-point state shared by every client.
#[derive(Debug)]
pub(crate) struct PointShared {
    pub ctx: Arc<Ctx>,
    pub target: Arc<Target>,
    pub events_path: String,
    pub messages_path: String,
    /// Path and query of the WebSockets, on the `ws` and `wss` arms.
    pub websocket_path: String,
    pub reconnect_delay: Duration,
    pub post_body_bytes: usize,
    /// The answers the clients ask, and the body each question POSTs.
    pub answers: AnswerPlan,
    pub answer_body: bytes::Bytes,
    /// Samples of steady-state latencies (`event_delivery`) count from this instant on.
    pub measure_from: Instant,
    pub tokens: TokenTable,
    /// What each stream saw of the POSTs, for the loss proof.
    pub delivery: Delivery,
    /// Caps on each event stream's lines and events.
    pub parser_limits: sse_wire::Limits,
    /// Where events carry the server's send instant (`event_delivery`).
    pub send_stamp: sse_wire::stamp::SendStamp,
}
