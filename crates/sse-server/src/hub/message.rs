//! One published message, encoded once as a complete `message` event and shared by every
//! subscriber, the replay ring and the connections' queues ([`super::held`]).
//!
//! A [`Message`] is a handle (one pointer) to the encoded message: every subscriber's queue holds
//! one per place. When the queues were tokio's bounded channels, which allocate their places 32 at
//! a time, each the size of what it carries, the message's fields in each place (80 bytes) made an
//! idle subscriber's queue cost 2.6 KB before a message came; with a handle, 0.3 KB (heaptrack:
//! `scripts/profile-memory.sh h2 20 250`). The queues are now the hub's own ([`super::queue`]).

use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;

use super::budget::MESSAGE_OVERHEAD;

/// One `message` event, encoded, with its per-channel id: a shared handle, cloned once per
/// subscriber it is queued for.
#[derive(Debug, Clone)]
pub(crate) struct Message(Arc<Encoded>);

impl Deref for Message {
    type Target = Encoded;

    fn deref(&self) -> &Encoded {
        &self.0
    }
}

/// What a [`Message`] points to.
#[derive(Debug)]
pub(crate) struct Encoded {
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
    pub(crate) fn encode(id: u64, data: &str) -> Message {
        let mut buf = Vec::with_capacity(data.len() + 48);
        let mut id_buf = itoa::Buffer::new();
        let id_text = id_buf.format(id);
        sse_wire::Event {
            id: Some(id_text),
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
        Message(Arc::new(Encoded {
            id,
            event,
            data,
            cost,
        }))
    }
}
