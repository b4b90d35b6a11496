//! The fault injection flags.

use std::num::NonZeroU32;
use std::time::Duration;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use sse_server::faults::{AnswerStall, CloseStreams, Stall};
use sse_server::{CloseMode, FaultConfig};
use vocab::Word;

/// Fault injection (all off by default); each injected fault is counted in /stats.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Fault injection")]
pub(crate) struct FaultArgs {
    /// End each event stream this long after it opened (and again after every reconnect).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_close_streams_every: Option<Duration>,
    /// How --fault-close-streams-every ends a stream: clean (end of body) or reset (HTTP/2
    /// RST_STREAM, HTTP/1.1 connection aborted).
    #[arg(
        long,
        value_name = "MODE",
        default_value_t = CloseMode::default(),
        value_parser = close_mode(),
        requires = "fault_close_streams_every"
    )]
    fault_close_mode: CloseMode,
    /// Abort every connection (TCP reset) this long after it was accepted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_reset_connections_every: Option<Duration>,
    /// HTTP/2 listeners: send each connection a GOAWAY this long after it was accepted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_goaway_every: Option<Duration>,
    /// Stop writing each event stream for --fault-stall-for, every this long.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "fault_stall_for")]
    fault_stall_every: Option<Duration>,
    /// How long each stall lasts.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "fault_stall_every")]
    fault_stall_for: Option<Duration>,
    /// Answer every Nth POST /messages (counted per server) with 503, without broadcasting it.
    #[arg(long, value_name = "N")]
    fault_post_error_every_nth: Option<NonZeroU32>,
    /// Answer every Nth GET /events (counted per server) with 503.
    #[arg(long, value_name = "N")]
    fault_stream_error_every_nth: Option<NonZeroU32>,
    /// Write every event frame this long after it was made (and stamped): a slower server.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_delay_events: Option<Duration>,
    /// Broadcast and answer every POST /messages this long after its body was read.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_delay_posts: Option<Duration>,
    /// Stop writing each streamed answer for --fault-answer-stall-for after this many tokens.
    #[arg(long, value_name = "N", requires = "fault_answer_stall_for")]
    fault_answer_stall_after: Option<u32>,
    /// How long each answer's stall lasts.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, requires = "fault_answer_stall_after")]
    fault_answer_stall_for: Option<Duration>,
    /// Fail each streamed answer's body after this many tokens (HTTP/2 RST_STREAM, HTTP/1.1
    /// connection aborted).
    #[arg(long, value_name = "N")]
    fault_answer_reset_after: Option<u32>,
    /// Send each streamed answer's first token this much later.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_slow_first_token: Option<Duration>,
    /// Make and never write every Nth tick of each stream (2: half the ticks).
    #[arg(long, value_name = "N")]
    fault_drop_ticks_every_nth: Option<NonZeroU32>,
    /// Start every TLS handshake this long after the connection was accepted.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    fault_delay_tls_handshake: Option<Duration>,
}

impl FaultArgs {
    pub(crate) fn config(&self) -> FaultConfig {
        FaultConfig {
            close_streams: self.fault_close_streams_every.map(|every| CloseStreams {
                every,
                mode: self.fault_close_mode,
            }),
            reset_connections_every: self.fault_reset_connections_every,
            goaway_every: self.fault_goaway_every,
            // clap's `requires` makes the two flags come together.
            stall: self
                .fault_stall_every
                .zip(self.fault_stall_for)
                .map(|(every, length)| Stall { every, length }),
            post_error_every_nth: self.fault_post_error_every_nth,
            stream_error_every_nth: self.fault_stream_error_every_nth,
            delay_events: self.fault_delay_events,
            delay_posts: self.fault_delay_posts,
            answer_stall: self
                .fault_answer_stall_after
                .zip(self.fault_answer_stall_for)
                .map(|(after_tokens, length)| AnswerStall {
                    after_tokens,
                    length,
                }),
            answer_reset_after: self.fault_answer_reset_after,
            slow_first_token: self.fault_slow_first_token,
            drop_ticks_every_nth: self.fault_drop_ticks_every_nth,
            delay_tls_handshake: self.fault_delay_tls_handshake,
        }
    }
}

/// The words of [`CloseMode`], which the help lists.
fn close_mode() -> impl TypedValueParser<Value = CloseMode> {
    PossibleValuesParser::new(CloseMode::names()).try_map(|mode| mode.parse::<CloseMode>())
}
