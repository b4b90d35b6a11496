//! Event-stream output cut into frames of at most [`FRAME_MAX`] bytes, so that what a slow reader
//! costs does not grow with the size of an event (crates/sse-server/FINDINGS.md, "Slow readers"):
//! hyper buffers whole frames, up to `send_buffer_bytes` per HTTP/1.1 connection or
//! HTTP/2 stream, so at most a few frames wait per connection or stream.
//!
//! A large tick is never built in memory: its one-line data `{"seq":..,"sent_ns":..,"pad":"xx"}`
//! is written as a small head, the padding as slices of one static buffer of `x` and a static
//! tail, byte for byte what `sse_wire` encodes for the same event (tested below). A message is
//! cut into slices of the one buffer the replay ring holds anyway.

use std::collections::VecDeque;

use bytes::Bytes;

/// The largest frame handed to hyper: HTTP/2's default `SETTINGS_MAX_FRAME_SIZE`.
pub(crate) const FRAME_MAX: usize = 16 * 1024;

/// Tick padding, shared by every stream.
static PADDING: [u8; FRAME_MAX] = [b'x'; FRAME_MAX];
/// The end of a tick's data: the end of the `pad` string and of the JSON object.
const DATA_CLOSE: &str = "\"}";
/// What follows a tick's padding: [`DATA_CLOSE`], the end of the `data` line and the blank line
/// that dispatches the event.
const TICK_TAIL: &[u8] = b"\"}\n\n";

/// How a frame counts in the stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Not an event: the `retry:` line, a heartbeat, or the continuation of a cut event.
    Control,
    /// The first frame of an event other than a message (a tick, a replay gap).
    Event,
    /// The first frame of a `message` event.
    Message,
}

/// Frames waiting to be written, in order.
#[derive(Debug, Default)]
pub(crate) struct Frames(VecDeque<(Bytes, Kind)>);

impl Frames {
    /// Whether no frame waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The next frame.
    pub(crate) fn pop(&mut self) -> Option<(Bytes, Kind)> {
        self.0.pop_front()
    }

    /// Queues `bytes`, cut into frames of at most [`FRAME_MAX`] (slices, not copies); the first
    /// frame counts as `kind`, the others as [`Kind::Control`].
    pub(crate) fn push(&mut self, mut bytes: Bytes, kind: Kind) {
        let mut kind = kind;
        while bytes.len() > FRAME_MAX {
            let rest = bytes.split_off(FRAME_MAX);
            self.0.push_back((bytes, kind));
            kind = Kind::Control;
            bytes = rest;
        }
        self.0.push_back((bytes, kind));
    }

    /// Queues a `tick` event with this id whose data is `data_head` (a tick's data with its
    /// `pad` string left empty, as `sse_wire::stamp::write_tick_data` writes it for size 0)
    /// padded with `x` to `size` bytes. Small ticks are one frame; large ones a head, static
    /// padding and a static tail.
    pub(crate) fn push_tick(&mut self, id: &str, data_head: &str, size: usize) {
        let head_len = data_head.len();
        let pad = size.saturating_sub(head_len);
        // `data_head` ends with the empty string's closing quote and the object's brace.
        let open = data_head.strip_suffix(DATA_CLOSE).unwrap_or(data_head);
        let mut head = Vec::with_capacity(open.len() + id.len() + 32 + pad.min(FRAME_MAX));
        head.extend_from_slice(b"id: ");
        head.extend_from_slice(id.as_bytes());
        head.extend_from_slice(b"\nevent: tick\ndata: ");
        head.extend_from_slice(open.as_bytes());
        if head.len() + pad + TICK_TAIL.len() <= FRAME_MAX {
            head.extend_from_slice(&PADDING[..pad]);
            head.extend_from_slice(TICK_TAIL);
            self.0.push_back((Bytes::from(head), Kind::Event));
            return;
        }
        self.0.push_back((Bytes::from(head), Kind::Event));
        let mut left = pad;
        while left > 0 {
            let n = left.min(FRAME_MAX);
            self.0
                .push_back((Bytes::from_static(&PADDING[..n]), Kind::Control));
            left -= n;
        }
        self.0
            .push_back((Bytes::from_static(TICK_TAIL), Kind::Control));
    }

    #[cfg(test)]
    fn concat(&self) -> (Vec<u8>, Vec<Kind>) {
        let bytes = self.0.iter().flat_map(|(b, _)| b.to_vec()).collect();
        (bytes, self.0.iter().map(|&(_, k)| k).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tick_as_sse_wire_encodes_it(id: &str, seq: u64, ns: u64, size: usize) -> Vec<u8> {
        let mut data = String::new();
        sse_wire::stamp::write_tick_data(seq, ns, size, &mut data);
        sse_wire::Event {
            id: Some(id),
            event: Some("tick"),
            data: &data,
            retry: None,
        }
        .to_vec()
    }

    #[test]
    fn ticks_are_byte_identical_to_the_encoder_and_frames_are_bounded() {
        for size in [0, 10, 64, 100, 16_000, 16_384, 16_500, 100_000, 1 << 20] {
            let (seq, ns) = (12_345, 1_732_380_000_123_456_789);
            let mut head = String::new();
            sse_wire::stamp::write_tick_data(seq, ns, 0, &mut head);
            let mut frames = Frames::default();
            frames.push_tick("7.12345", &head, size);
            let (bytes, kinds) = frames.concat();
            assert_eq!(
                bytes,
                tick_as_sse_wire_encodes_it("7.12345", seq, ns, size),
                "size {size}"
            );
            assert_eq!(kinds[0], Kind::Event);
            assert!(kinds[1..].iter().all(|&k| k == Kind::Control));
            assert!(frames.0.iter().all(|(b, _)| b.len() <= FRAME_MAX));
            if size < 16_000 {
                assert_eq!(kinds.len(), 1, "a small tick is one frame (size {size})");
            }
        }
    }

    #[test]
    fn large_bytes_are_cut_into_slices() {
        let mut frames = Frames::default();
        frames.push(Bytes::from(vec![b'a'; FRAME_MAX * 2 + 1]), Kind::Message);
        frames.push(Bytes::from_static(b"small"), Kind::Event);
        let lens: Vec<usize> = frames.0.iter().map(|(b, _)| b.len()).collect();
        assert_eq!(lens, [FRAME_MAX, FRAME_MAX, 1, 5]);
        let (_, kinds) = frames.concat();
        assert_eq!(
            kinds,
            [Kind::Message, Kind::Control, Kind::Control, Kind::Event]
        );
    }
}
