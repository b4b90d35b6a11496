//! The ranges a client may ask for in a query string, and the ranges the server's own defaults must
//! keep to. They exist so that no request can make the server send absurd values (a `retry:` of
//! 2^64 - 1 ms), sleep for centuries, or count past what a JavaScript client can represent.
//!
//! | query key | range | unit |
//! |---|---|---|
//! | `interval_ms`, `heartbeat_ms` | 1 to [`MAX_PERIOD_MS`] (one day) | milliseconds |
//! | `retry_ms` | 0 to [`MAX_PERIOD_MS`] | milliseconds |
//! | `size` | 0 to [`MAX_TICK_SIZE`] (1 MiB) | bytes of tick data |
//! | `count` | 1 to [`MAX_COUNT`] | ticks |
//! | `channel` | 1 to [`MAX_CHANNEL_LEN`] bytes | UTF-8 |
//!
//! Event ids: a `Last-Event-ID` whose tick sequence is over [`MAX_RESUME_SEQ`] (2^53 - 1, the
//! largest integer a JavaScript number holds exactly) is not resumed: the stream's ticks start
//! again at 1, so tick ids can never wrap.

/// Largest `interval_ms`, `heartbeat_ms` and `retry_ms`: one day.
pub const MAX_PERIOD_MS: u64 = 24 * 60 * 60 * 1000;
/// Largest `size` a client may ask for, in bytes.
pub const MAX_TICK_SIZE: usize = 1 << 20;
/// Largest `count`.
pub const MAX_COUNT: u64 = 1_000_000_000;
/// Longest channel name, in bytes.
pub const MAX_CHANNEL_LEN: usize = 256;
/// Largest tick sequence number a `Last-Event-ID` may resume from.
pub const MAX_RESUME_SEQ: u64 = (1 << 53) - 1;
