//! One channel: its messages, each encoded once, its replay ring and its subscribers' queues.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::budget::{ReplayBudget, MESSAGE_OVERHEAD};
use crate::stats::ListenerCounters;

/// One `message` event, encoded, with its per-channel id.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) event: Bytes,
    /// The message as published, what a WebSocket subscriber is sent: a slice of `event` when the
    /// body is one line (no copy), its own buffer otherwise.
    pub(crate) data: Bytes,
    /// What it counts against the replay budget.
    pub(super) cost: usize,
}

impl Message {
    /// Message `id` of its channel, with body `data`: encoded once as a complete `message` event.
    pub(super) fn encode(id: u64, data: &str) -> Message {
        let mut buf = Vec::with_capacity(data.len() + 48);
        let id_text = id.to_string();
        sse_wire::Event {
            id: Some(&id_text),
            event: Some("message"),
            data,
            retry: None,
        }
        .encode_into(&mut buf);
        // One line of data encodes as `id: ID\nevent: message\ndata: DATA\n\n`; every line
        // break makes it longer (a `data: ` and a `\n` for at most two bytes of break).
        let one_line =
            buf.len() == "id: \nevent: message\ndata: \n\n".len() + id_text.len() + data.len();
        let copied = if one_line { 0 } else { data.len() };
        let cost = buf
            .capacity()
            .saturating_add(copied)
            .saturating_add(MESSAGE_OVERHEAD);
        let event = Bytes::from(buf);
        let data = if one_line {
            // `data: BODY\n\n` ends the event.
            let end = event.len() - 2;
            event.slice(end - data.len()..end)
        } else {
            Bytes::copy_from_slice(data.as_bytes())
        };
        Message {
            id,
            event,
            data,
            cost,
        }
    }
}

/// What a new subscriber must be sent before live messages.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// Messages the client missed that the ring no longer holds: first and last id, inclusive.
    pub(crate) gap: Option<(u64, u64)>,
    /// Missed messages still in the ring, in order.
    pub(crate) messages: Vec<Message>,
    /// The stream's position once the replay is sent: the channel's last message id.
    pub(crate) position: u64,
}

#[derive(Debug)]
pub(super) struct Channel {
    pub(super) last_id: u64,
    pub(super) ring: VecDeque<Message>,
    /// The bytes `ring` counts against the budget.
    pub(super) ring_bytes: usize,
    pub(super) subscribers: Vec<Slot>,
    /// The last message, subscription or unsubscription.
    pub(super) last_active: Instant,
}

impl Channel {
    pub(super) fn new() -> Channel {
        Channel {
            last_id: 0,
            ring: VecDeque::new(),
            ring_bytes: 0,
            subscribers: Vec::new(),
            last_active: Instant::now(),
        }
    }

    /// Drops the oldest message of the ring, giving its bytes back to the budget.
    pub(super) fn drop_oldest(&mut self, budget: &ReplayBudget) -> bool {
        let Some(oldest) = self.ring.pop_front() else {
            return false;
        };
        self.ring_bytes -= oldest.cost;
        budget.release(oldest.cost);
        true
    }

    /// What a subscriber whose last message was `last_seen` must be sent before live messages:
    /// every later message still in the ring, and the gap of those the ring lost. Without
    /// `last_seen`, or when it is not behind, nothing: the stream starts at the current position.
    pub(super) fn replay(&self, last_seen: Option<u64>) -> Replay {
        let position = self.last_id;
        let Some(last_seen) = last_seen.filter(|&l| l < position) else {
            return Replay {
                position,
                ..Replay::default()
            };
        };
        let oldest_kept = self
            .ring
            .front()
            .map_or(position.saturating_add(1), |m| m.id);
        let gap = (oldest_kept > last_seen + 1).then_some((last_seen + 1, oldest_kept - 1));
        let messages = self
            .ring
            .iter()
            .filter(|m| m.id > last_seen)
            .cloned()
            .collect();
        Replay {
            gap,
            messages,
            position,
        }
    }
}

/// One subscriber of a channel: its bounded queue, and the token that ends its stream when the
/// queue overflows.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) key: u64,
    pub(super) queue: mpsc::Sender<Message>,
    pub(super) overflowed: CancellationToken,
    pub(super) counters: Arc<ListenerCounters>,
}
