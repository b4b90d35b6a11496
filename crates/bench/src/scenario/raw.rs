//! Stage one: the scenario file as written. Every key is known (`deny_unknown_fields`) and every
//! value keeps its span, so that stage two can name the line of a value it rejects.

use serde::Deserialize;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    pub name: Spanned<String>,
    pub description: Option<Spanned<String>>,
    pub protocols: Spanned<Vec<Spanned<String>>>,
    pub clients: Option<Spanned<OneOrMany>>,
    pub streams_per_client: Option<Spanned<OneOrMany>>,
    pub stream_kind: Option<Spanned<String>>,
    pub duration: Spanned<String>,
    pub warmup: Option<Spanned<String>>,
    pub max_connections_per_origin: Option<Spanned<i64>>,
    pub browser: Option<Spanned<String>>,
    pub reconnect_delay: Option<Spanned<String>>,
    pub connect_timeout: Option<Spanned<String>>,
    pub channel: Option<Spanned<String>>,
    pub page: Option<Spanned<String>>,
    pub client_threads: Option<Spanned<i64>>,
    pub posts: Option<RawPosts>,
    pub answers: Option<Spanned<RawAnswers>>,
    pub server: Option<RawServer>,
    pub target: Option<Spanned<RawTarget>>,
    pub faults: Option<Spanned<RawFaults>>,
    pub network: Option<Spanned<RawNetwork>>,
}

/// A number, or a list of numbers (a sweep).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum OneOrMany {
    One(i64),
    Many(Vec<i64>),
}

/// Shown as written in the file (`4`, `[1, 2]`), since error messages quote it.
impl std::fmt::Debug for OneOrMany {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OneOrMany::One(n) => write!(f, "{n}"),
            OneOrMany::Many(list) => write!(f, "{list:?}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPosts {
    pub rate_per_client: Option<Spanned<f64>>,
    pub body_size: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAnswers {
    pub rate_per_client: Option<Spanned<f64>>,
    pub think_time: Option<Spanned<String>>,
    pub framing: Option<Spanned<String>>,
    pub max_tokens: Option<Spanned<i64>>,
    pub prompt_size: Option<Spanned<i64>>,
    pub stall_threshold: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawServer {
    pub event_interval: Option<Spanned<String>>,
    pub event_size: Option<Spanned<i64>>,
    pub heartbeat: Option<Spanned<String>>,
    pub max_concurrent_streams: Option<Spanned<i64>>,
    pub http3_max_streams: Option<Spanned<i64>>,
    pub replay_ring: Option<Spanned<i64>>,
    pub subscriber_queue: Option<Spanned<i64>>,
    pub threads: Option<Spanned<i64>>,
    pub time_to_first_token: Option<Spanned<String>>,
    pub time_to_first_token_p99: Option<Spanned<String>>,
    pub token_gap: Option<Spanned<String>>,
    pub token_gap_p99: Option<Spanned<String>>,
    pub seed: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub url: Option<Spanned<String>>,
    pub h1: Option<Spanned<String>>,
    #[serde(rename = "h1-tls")]
    pub h1_tls: Option<Spanned<String>>,
    pub h2: Option<Spanned<String>>,
    pub h2c: Option<Spanned<String>>,
    pub ws: Option<Spanned<String>>,
    pub wss: Option<Spanned<String>>,
    pub h3: Option<Spanned<String>>,
    pub events_path: Option<Spanned<String>>,
    pub messages_path: Option<Spanned<String>>,
    pub cacert: Option<Spanned<String>>,
    pub insecure: Option<Spanned<bool>>,
    pub send_stamp: Option<Spanned<String>>,
    pub send_stamp_unit: Option<Spanned<String>>,
    pub answers_path: Option<Spanned<String>>,
    pub answers_model: Option<Spanned<String>>,
    pub answers_body: Option<Spanned<String>>,
    pub answers_token: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFaults {
    pub close_streams_every: Option<Spanned<String>>,
    pub close_mode: Option<Spanned<String>>,
    pub reset_connections_every: Option<Spanned<String>>,
    pub goaway_every: Option<Spanned<String>>,
    pub stall_every: Option<Spanned<String>>,
    pub stall_for: Option<Spanned<String>>,
    pub post_error_every_nth: Option<Spanned<i64>>,
    pub stream_error_every_nth: Option<Spanned<i64>>,
    pub delay_events: Option<Spanned<String>>,
    pub delay_posts: Option<Spanned<String>>,
    pub answer_stall_after: Option<Spanned<i64>>,
    pub answer_stall_for: Option<Spanned<String>>,
    pub answer_reset_after: Option<Spanned<i64>>,
    pub slow_first_token: Option<Spanned<String>>,
    pub drop_ticks_every_nth: Option<Spanned<i64>>,
    pub delay_tls_handshake: Option<Spanned<String>>,
}

/// A value or a list of values (a sweep), each a string (durations) or a number (percentages).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Sweep<T> {
    One(T),
    Many(Vec<T>),
}

impl<T: Clone> Sweep<T> {
    pub fn values(&self) -> Vec<T> {
        match self {
            Sweep::One(v) => vec![v.clone()],
            Sweep::Many(list) => list.clone(),
        }
    }
}

/// Shown as written in the file, since error messages quote it.
impl<T: std::fmt::Debug> std::fmt::Debug for Sweep<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Sweep::One(v) => write!(f, "{v:?}"),
            Sweep::Many(list) => write!(f, "{list:?}"),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNetwork {
    pub rtt: Option<Spanned<Sweep<String>>>,
    pub jitter: Option<Spanned<String>>,
    pub bandwidth: Option<Spanned<String>>,
    pub bandwidth_up: Option<Spanned<String>>,
    pub bandwidth_down: Option<Spanned<String>>,
    pub loss: Option<Spanned<Sweep<f64>>>,
    pub queue: Option<Spanned<i64>>,
}
