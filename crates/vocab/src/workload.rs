//! What one sweep point asks of its clients, whichever kind drives them.
//!
//! The emulation (`loadgen::PointConfig` carries a [`Workload`]) and the real browsers (the
//! `browser` crate runs one in a page) read this one description, so the paths a point uses on
//! the server and the instants of its POSTs are written once. The arm is not part of it: the
//! emulation's target and the browser's server each name theirs.

use std::time::Duration;

use crate::answer::{AnswerPlan, StreamKind};

/// The clients, streams and POSTs of one sweep point.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Virtual clients, each a browser profile of its own (its own connection pools).
    pub clients: u32,
    /// Streams per client, each of `stream_kind`.
    pub streams_per_client: u32,
    /// What each stream is: an EventSource (a WebSocket on the `ws` and `wss` arms), or a tab
    /// asking answers.
    pub stream_kind: StreamKind,
    /// Streams open and settle; POSTs and `event_delivery` samples start after it.
    pub warmup: Duration,
    /// The measured time after warm-up.
    pub duration: Duration,
    /// The chat messages each client sends.
    pub posts: PostPlan,
    /// The answers each client asks for: its tabs' (when `stream_kind` is
    /// [`StreamKind::Answer`]) and the open-loop ones.
    pub answers: AnswerPlan,
    /// Where the streams, POSTs and sockets go on the server.
    pub paths: Paths,
    /// How long a closed stream waits before it opens again, until the server sends `retry:`.
    pub reconnect_delay: Duration,
}

impl Workload {
    /// Whether the point's clients ask any answer: tabs, or a rate.
    pub fn has_answers(&self) -> bool {
        let tabs = self.stream_kind == StreamKind::Answer && self.streams_per_client > 0;
        tabs || self.answers.rate_per_client > 0.0
    }

    /// EventSources (WebSockets) per client: the streams, unless they are answer tabs.
    pub fn event_sources_per_client(&self) -> u32 {
        match self.stream_kind {
            StreamKind::EventSource => self.streams_per_client,
            StreamKind::Answer => 0,
        }
    }
}

/// Path and query of each kind of request a point makes, e.g. `/events?channel=bench`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// The event stream.
    pub events: String,
    /// Where the POSTs go.
    pub messages: String,
    /// The WebSockets on the `ws` and `wss` arms.
    pub websocket: String,
}

impl Paths {
    /// The test server's routes for `channel`: `/events`, `/messages` and `/ws`, each with
    /// `?channel=` (the one place these are formatted).
    pub fn for_channel(channel: &str) -> Paths {
        Paths {
            events: format!("/events?channel={channel}"),
            messages: format!("/messages?channel={channel}"),
            websocket: format!("/ws?channel={channel}"),
        }
    }
}

/// An open-loop POST schedule: each client sends `rate_per_client` POSTs per second at fixed
/// instants, whatever happened to the earlier ones, so a POST stuck behind a full pool shows up
/// as latency instead of slowing the schedule (coordinated omission). Clients are spread over one
/// period so they do not POST in lockstep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PostPlan {
    /// POSTs per second per client; 0 sends none.
    pub rate_per_client: f64,
    /// Bytes of each POST body (at least the token and send stamp it carries).
    pub body_bytes: usize,
}

impl PostPlan {
    /// How many POSTs each client sends in `duration`: `floor(rate x duration)`, 0 without a rate.
    pub fn per_client(&self, duration: Duration) -> usize {
        crate::open_loop::count(self.rate_per_client, duration)
    }

    /// The offset of client `index` of `clients` within one period, in periods (`index /
    /// clients`): client 0 POSTs at the start of the measured time, the others spread after it.
    pub fn phase(index: u32, clients: u32) -> f64 {
        f64::from(index) / f64::from(clients.max(1))
    }

    /// When POST `k` of a client with `phase` is due, counted from the start of the measured
    /// time (the end of warm-up): `(k + phase) / rate`.
    pub fn due(&self, k: usize, phase: f64) -> Duration {
        crate::open_loop::due(self.rate_per_client, k, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_carry_the_channel() {
        let p = Paths::for_channel("bench");
        assert_eq!(p.events, "/events?channel=bench");
        assert_eq!(p.messages, "/messages?channel=bench");
        assert_eq!(p.websocket, "/ws?channel=bench");
    }

    #[test]
    fn the_schedule_is_open_loop_and_spread_over_one_period() {
        let plan = PostPlan {
            rate_per_client: 4.0,
            body_bytes: 64,
        };
        assert_eq!(plan.per_client(Duration::from_millis(2_900)), 11);
        assert_eq!(plan.per_client(Duration::from_millis(249)), 0);
        let none = PostPlan {
            rate_per_client: 0.0,
            ..plan
        };
        assert_eq!(none.per_client(Duration::from_secs(60)), 0);
        assert_eq!(PostPlan::phase(0, 4), 0.0);
        assert_eq!(PostPlan::phase(1, 4), 0.25);
        assert_eq!(PostPlan::phase(3, 0), 3.0);
        // POST k of client 1 of 4 at 4/s: (k + 0.25) / 4 s.
        assert_eq!(plan.due(0, 0.25), Duration::from_micros(62_500));
        assert_eq!(plan.due(2, 0.25), Duration::from_micros(562_500));
    }
}
