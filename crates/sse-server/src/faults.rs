//! Fault injection: the failures a benchmark client must survive, on a schedule, so that a run
//! can show how each protocol arm recovers (reconnects, replays, errors by class).
//!
//! [`FaultConfig`] says which faults run and how often; `Faults` is the per-server state that
//! counts requests for the every-Nth faults. Where each fault acts:
//!
//! | fault | where | what happens, per protocol | counted in |
//! |---|---|---|---|
//! | `close_streams` (every, mode) | the event body (`routes::events`), the WebSocket (`routes::ws`: a Close frame 1000, or for `Reset` the connection dropped without one) | `Clean`: the body ends (h1: last chunk, the connection stays usable; h2: END_STREAM). `Reset`: the body fails, so hyper sends RST_STREAM(INTERNAL_ERROR) on h2 (the connection lives on), the h3 listener RESET_STREAM(H3_INTERNAL_ERROR), and the connection is dropped on h1 (the client sees the chunked body cut short) | `faults_streams_closed` |
//! | `reset_connections_every` | the accepted socket (`listen`); the QUIC connection (`listen::quic`) | any TCP protocol, at any stage (TLS handshake, idle, streaming): the connection is dropped with `SO_LINGER` 0, so the peer gets a TCP RST (`ECONNRESET`), with no TLS close_notify, no GOAWAY, no last chunk. `h3` (once its handshake is done): closed at once with CONNECTION_CLOSE H3_INTERNAL_ERROR, QUIC's nearest to a reset | `faults_connections_reset` |
//! | `goaway_every` | the HTTP/2 connection (`listen::connection`), the HTTP/3 one (`listen::quic`) | HTTP/2 and HTTP/3 listeners: GOAWAY (hyper's graceful shutdown; h3's, which then refuses later streams with H3_REQUEST_REJECTED); the connection's event streams end cleanly (END_STREAM, FIN), as at server shutdown; other requests in flight finish; the connection closes once they have (HTTP/3: CONNECTION_CLOSE H3_NO_ERROR), or is cut 5 s (`SHUTDOWN_GRACE`) after the GOAWAY. HTTP/1.1 listeners: nothing | `faults_goaways` |
//! | `stall` (every, length) | the event body; a WebSocket stops writing (it goes on reading) | any protocol: the stream writes nothing (no events, no heartbeats) for `stall_for`; the first stall starts `stall_every` after the stream opened, each next one `stall_every` after the previous ended; messages published meanwhile wait in the subscriber queue (if it overflows, the usual overflow policy applies) | `faults_stalls` |
//! | `post_error_every_nth` | `POST /messages`, and text messages received on WebSockets (counted together) | 503; the body is read (up to the limit) and dropped, nothing is broadcast. A WebSocket message is dropped (its sender gets no echo) | `faults_errors` |
//! | `stream_error_every_nth` | `GET /events` and `GET /ws` (counted together) | 503 before subscribing | `faults_errors` |
//! | `delay_events` | the event body, the WebSocket's messages | any protocol: every frame (event, message, heartbeat) is produced and stamped, then written this much later, so `event_delivery` and `fanout` grow by it; the delays of one stream add up, they do not overlap; under 1 ms (the timer's resolution) the stream waits by yielding to the runtime until the instant comes | `faults_delayed` |
//! | `drop_ticks_every_nth` | the event body, the WebSocket's ticks | any protocol: each tick whose sequence number is a multiple of N is made but never written (2: half the ticks); its number is not reused | `faults_ticks_dropped` |
//! | `delay_tls_handshake` | the accepted socket of a TLS listener (`listen`) | `h1-tls`, `h2`, `wss`, `h3`: the server waits this long before it reads the ClientHello (on `h3`, before it processes the client's Initial packet), so each TLS handshake (the client's `connect`) takes that much longer | `faults_delayed` |
//! | `delay_posts` | `POST /messages`; on a WebSocket each received message is published that much later, in order | any protocol: the server waits this long after reading the body, then broadcasts and answers, so `post_rtt` and `fanout` grow by it | `faults_delayed` |
//! | `answer_stall` (after, length) | each streamed answer (`routes::answers`) | any protocol: after its `after` first tokens the answer writes nothing for `length`, then goes on (the tokens due meanwhile come at once) | `faults_stalls` |
//! | `answer_reset_after` | each streamed answer | after that many tokens the body fails: RST_STREAM(INTERNAL_ERROR) on HTTP/2, the connection dropped on HTTP/1.1 (no `[DONE]`) | `faults_streams_closed` |
//! | `slow_first_token` | each streamed answer | its first token comes this much later than its time to first token says | `faults_delayed` |
//!
//! The every-Nth faults count requests per server, across listeners; the counters are per
//! listener.
//!
//! None of them can lose a message that is still in the replay ring: a message is in the ring
//! before it is queued to any subscriber, and event ids tell a reconnecting client's
//! `Last-Event-ID` exactly which messages it has (`routes::events`).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use vocab::{UnknownWord, Word};

use crate::error::ServerError;

/// Which faults the server injects, and how often. The default injects none.
///
/// Each fault is an `Option`: `None` is off, and a fault that needs several values carries them
/// together ([`CloseStreams`], [`Stall`]), so no half-configured fault can be written.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaultConfig {
    /// Each event stream is ended this long after it opened (and again on every reconnect).
    pub close_streams: Option<CloseStreams>,
    /// Every connection is aborted (TCP closed/reset under whatever it carries) this long after it
    /// was accepted.
    pub reset_connections_every: Option<Duration>,
    /// HTTP/2 and HTTP/3 only: each connection gets a graceful GOAWAY this long after it was
    /// accepted
    /// (streams in flight finish or are cut when the connection closes; new requests must use a
    /// new connection).
    pub goaway_every: Option<Duration>,
    /// Each event stream stops writing for a while, periodically (events produced meanwhile are
    /// queued, not lost).
    pub stall: Option<Stall>,
    /// Every Nth `POST /messages` (counted per server) is answered 503 without broadcasting.
    pub post_error_every_nth: Option<NonZeroU32>,
    /// Every Nth `GET /events` is answered 503 (an EventSource then fails for good:
    /// docs/browsers.md, "EventSource reconnection").
    pub stream_error_every_nth: Option<NonZeroU32>,
    /// Every event frame is written this long after it was produced (and stamped): a server that
    /// is slower to deliver.
    pub delay_events: Option<Duration>,
    /// Every `POST /messages` is broadcast and answered this long after its body was read: a
    /// server that is slower to accept messages.
    pub delay_posts: Option<Duration>,
    /// Every tick whose sequence number is a multiple of N is made but not written: a server
    /// that sends fewer ticks than asked (2: half of them).
    pub drop_ticks_every_nth: Option<NonZeroU32>,
    /// Every TLS handshake starts this long after its connection was accepted: a server slower
    /// to set up a connection.
    pub delay_tls_handshake: Option<Duration>,
    /// Each streamed answer stops writing for a while after some of its tokens.
    pub answer_stall: Option<AnswerStall>,
    /// Each streamed answer's body fails after this many tokens (0: before its first).
    pub answer_reset_after: Option<u32>,
    /// Each streamed answer's first token comes this much later.
    pub slow_first_token: Option<Duration>,
}

/// The `answer_stall` fault: after its first `after_tokens` tokens, an answer writes nothing for
/// `length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerStall {
    pub after_tokens: u32,
    pub length: Duration,
}

/// The `close_streams` fault: each event stream ends `every` after it opened, as `mode` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseStreams {
    /// How long after it opened a stream is ended.
    pub every: Duration,
    /// How it ends.
    pub mode: CloseMode,
}

/// The `stall` fault: the first stall begins `every` after a stream opened, each next one `every`
/// after the previous one ended; each lasts `length` (which may exceed `every`: the stream still
/// writes between stalls).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    /// Time between stalls.
    pub every: Duration,
    /// How long each stall lasts.
    pub length: Duration,
}

/// How a stream closed by the `close_streams` fault ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CloseMode {
    /// The body ends normally: the client sees a clean end of stream and reconnects.
    #[default]
    Clean,
    /// The body fails: RST_STREAM(INTERNAL_ERROR) on HTTP/2, RESET_STREAM(H3_INTERNAL_ERROR) on
    /// HTTP/3, the connection aborted on HTTP/1.1.
    Reset,
}

impl CloseMode {
    /// The name used on the command line and in scenario files: `clean` or `reset`.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseMode::Clean => "clean",
            CloseMode::Reset => "reset",
        }
    }
}

impl Word for CloseMode {
    const WHAT: &'static str = "close mode";
    const ALL: &'static [CloseMode] = &[CloseMode::Clean, CloseMode::Reset];

    fn as_str(self) -> &'static str {
        CloseMode::as_str(self)
    }
}

impl fmt::Display for CloseMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CloseMode {
    type Err = UnknownWord;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CloseMode::parse_word(s)
    }
}

impl FaultConfig {
    /// True when no fault is configured.
    pub fn is_none(&self) -> bool {
        *self == FaultConfig::default()
    }

    /// Checks the values, naming the first bad one.
    pub(crate) fn validate(&self) -> Result<(), ServerError> {
        for (key, value) in [
            (
                "fault close_streams_every",
                self.close_streams.map(|c| c.every),
            ),
            (
                "fault reset_connections_every",
                self.reset_connections_every,
            ),
            ("fault goaway_every", self.goaway_every),
            ("fault stall_every", self.stall.map(|s| s.every)),
            ("fault stall_for", self.stall.map(|s| s.length)),
            ("fault delay_events", self.delay_events),
            ("fault delay_posts", self.delay_posts),
            (
                "fault answer_stall_for",
                self.answer_stall.map(|s| s.length),
            ),
            ("fault slow_first_token", self.slow_first_token),
            ("fault delay_tls_handshake", self.delay_tls_handshake),
        ] {
            if value.is_some_and(|d| d.is_zero()) {
                return Err(ServerError::invalid(key, "0s", "must be longer than zero"));
            }
        }
        Ok(())
    }
}

/// The faults of one running server, with its request counts for the every-Nth faults.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    pub(crate) config: FaultConfig,
    posts: AtomicU64,
    streams: AtomicU64,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Faults {
        Faults {
            config,
            ..Faults::default()
        }
    }

    /// Counts a `POST /messages`; true if this one must fail.
    pub(crate) fn post_fails(&self) -> bool {
        nth(&self.posts, self.config.post_error_every_nth)
    }

    /// Counts a `GET /events`; true if this one must fail.
    pub(crate) fn stream_fails(&self) -> bool {
        nth(&self.streams, self.config.stream_error_every_nth)
    }
}

fn nth(count: &AtomicU64, every: Option<NonZeroU32>) -> bool {
    let Some(every) = every else {
        return false;
    };
    let n = count.fetch_add(1, Ordering::Relaxed) + 1;
    n.is_multiple_of(u64::from(every.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_nth_counts_each_kind_apart() {
        let faults = Faults::new(FaultConfig {
            post_error_every_nth: NonZeroU32::new(3),
            ..FaultConfig::default()
        });
        let posts: Vec<bool> = (0..6).map(|_| faults.post_fails()).collect();
        assert_eq!(posts, [false, false, true, false, false, true]);
        assert!((0..10).all(|_| !faults.stream_fails()));
    }

    #[test]
    fn bad_values_are_named() {
        assert!(FaultConfig::default().validate().is_ok());
        assert!(FaultConfig::default().is_none());
        let c = FaultConfig {
            stall: Some(Stall {
                every: Duration::from_secs(1),
                length: Duration::ZERO,
            }),
            ..FaultConfig::default()
        };
        assert!(!c.is_none());
        assert!(c.validate().unwrap_err().to_string().contains("stall_for"));
        let c = FaultConfig {
            goaway_every: Some(Duration::ZERO),
            ..FaultConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("goaway_every"));
        let c = FaultConfig {
            delay_posts: Some(Duration::ZERO),
            ..FaultConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("delay_posts"));
        assert_eq!("reset".parse(), Ok(CloseMode::Reset));
        assert_eq!(CloseMode::default().to_string(), "clean");
        let unknown = "rst".parse::<CloseMode>().unwrap_err().to_string();
        for mode in CloseMode::ALL {
            assert!(unknown.contains(mode.as_str()), "{unknown}");
        }
    }
}
