//! Scenario files: what to run, parsed in two stages.
//!
//! `raw` deserializes the TOML as written (unknown keys rejected, spans kept); [`Scenario::parse`]
//! turns it into a validated [`Scenario`] whose every value is in range, or a [`ScenarioError`]
//! naming the file, the line, the key, the value and what is allowed. Every key, its unit and its
//! default is documented in `scenarios/README.md`.

mod answer_target;
mod answers;
mod checks;
mod faults;
mod network;
mod overrides;
mod raw;
mod server;
pub mod shipped;
mod target;
mod validate;

pub use answer_target::AnswerTarget;
pub use network::{NetworkCondition, NetworkSettings};
pub use overrides::Override;
pub use target::{
    resolve as resolve_target, FileTarget, TargetError, TargetFlags, TargetSpec, TrustSpec,
};

use std::path::{Path, PathBuf};
use std::time::Duration;

use vocab::{AnswerPlan, BrowserProfile, Paths, PostPlan, Protocol, StreamKind, Workload};

/// The page each emulated client loads first on the embedded server: a tiny same-origin
/// document, the one the browser points load too (`browser::PAGE_PATH`).
pub const DEFAULT_PAGE: &str = "/health";

/// A validated scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    pub protocols: Vec<Protocol>,
    /// Sweep over the number of virtual clients.
    pub clients: Vec<u32>,
    /// Sweep over the number of streams each client opens, each of `stream_kind`.
    pub streams_per_client: Vec<u32>,
    /// `stream_kind`: EventSources (the default), or tabs asking answers.
    pub stream_kind: StreamKind,
    pub duration: Duration,
    pub warmup: Duration,
    pub max_connections_per_origin: usize,
    /// `browser`: whose rules the emulation follows where Chromium and Firefox differ
    /// (reconnection delay, HTTP/2 windows and stream cap); its rows say `emulated` (Chromium)
    /// or `emulated-firefox`.
    pub browser: BrowserProfile,
    /// EventSource's reconnection delay; by default the `browser`'s (3 s, or 5 s in Firefox).
    pub reconnect_delay: Duration,
    pub connect_timeout: Duration,
    pub channel: String,
    /// `page`: the same-origin page each client loads before its streams start, as a browser
    /// does; `None` when unset ([`Scenario::page_path`] gives the default), `Some("")` for none.
    pub page: Option<String>,
    /// Worker threads of the load generator's runtime.
    pub client_threads: usize,
    pub posts: PostPlan,
    /// `[answers]`: what the tabs and the open-loop answers ask.
    pub answers: AnswerPlan,
    pub server: ServerSettings,
    /// The `[target]` table: an external server instead of the embedded one (completed and
    /// overridden by the command line in [`resolve_target`]).
    pub target: Option<FileTarget>,
    /// Faults the embedded server injects (`[faults]`); none by default.
    pub faults: sse_server::FaultConfig,
    /// Emulated network conditions (`[network]`); `None` is loopback.
    pub network: Option<NetworkSettings>,
}

/// Where a point sits in the sweep: the arm, the clients and streams, the network condition.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub arm: Protocol,
    pub clients: u32,
    pub streams_per_client: u32,
    /// `None` over loopback.
    pub network: Option<NetworkCondition>,
}

impl std::fmt::Display for Point {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} clients={} streams/client={}",
            self.arm, self.clients, self.streams_per_client
        )?;
        if let Some(n) = self.network {
            write!(
                f,
                " rtt={} loss={}%",
                humantime::format_duration(n.rtt),
                n.loss * 100.0
            )?;
        }
        Ok(())
    }
}

/// Settings of the embedded server (ignored with an external target).
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSettings {
    pub event_interval: Duration,
    pub event_bytes: usize,
    pub heartbeat: Duration,
    pub max_concurrent_streams: u32,
    /// The HTTP/3 listener's stream limit (QUIC MAX_STREAMS, bidirectional).
    pub http3_max_streams: u32,
    pub replay_ring: usize,
    pub subscriber_queue: usize,
    /// Worker threads of the embedded server's own runtime.
    pub threads: usize,
    /// How the server paces streamed answers, and the seed of its draws.
    pub answers: sse_server::AnswerDefaults,
}

/// How the machine's cores are shared by default: the embedded server gets half (at least one),
/// the load generator the rest (at least one), so that a run measures a client against a server
/// rather than two halves of one scheduler. With an external target the client gets them all.
pub fn default_threads(external_target: bool) -> (usize, usize) {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if external_target {
        return (cores, 0);
    }
    let server = (cores / 2).max(1);
    (cores.saturating_sub(server).max(1), server)
}

/// A scenario that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}:{line}: {message}", path.display())]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("{}:{line}: {key} = {value}: {reason}", path.display())]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        value: String,
        reason: String,
    },
    /// A `--set` flag that cannot be used.
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },
}

impl Scenario {
    /// Reads a scenario file, applies `--set` overrides, and validates the result.
    pub fn load_with(path: &Path, overrides: &[Override]) -> Result<Scenario, ScenarioError> {
        overrides::load(path, overrides)
    }

    /// Validates scenario text; `path` is only used in messages.
    pub fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        validate::parse(path, text)
    }

    /// The sweep points in run order: network conditions outermost (the emulator is reconfigured
    /// between them), then each (clients, streams) point runs every arm back to back, so arms are
    /// compared under the same machine and network conditions.
    pub fn points(&self) -> Vec<Point> {
        let conditions: Vec<Option<NetworkCondition>> = match &self.network {
            None => vec![None],
            Some(n) => n.conditions().into_iter().map(Some).collect(),
        };
        let mut out = Vec::new();
        for &network in &conditions {
            for &clients in &self.clients {
                for &streams_per_client in &self.streams_per_client {
                    for &arm in &self.protocols {
                        out.push(Point {
                            arm,
                            clients,
                            streams_per_client,
                            network,
                        });
                    }
                }
            }
        }
        out
    }

    /// The report's `network` cell of a point.
    pub fn network_label(&self, point: &Point) -> String {
        match (&self.network, point.network) {
            (Some(settings), Some(c)) => settings.label(c),
            _ => report::LOOPBACK.to_owned(),
        }
    }

    /// The page each client loads first: the scenario's `page`, else `/health` on the embedded
    /// server (which serves it) and none on an external target (whose pages ssebench does not
    /// know).
    pub fn page_path(&self, embedded: bool) -> Option<String> {
        match (&self.page, embedded) {
            (Some(p), _) if p.is_empty() => None,
            (Some(p), _) => Some(p.clone()),
            (None, true) => Some(DEFAULT_PAGE.to_owned()),
            (None, false) => None,
        }
    }

    /// Whether the scenario's clients ask streamed answers (tabs, or a rate).
    pub fn has_answers(&self) -> bool {
        self.stream_kind == StreamKind::Answer || self.answers.rate_per_client > 0.0
    }

    /// What the clients of `point` do, whichever kind drives them: the one description the
    /// emulation and the browsers run, on the embedded server's paths for the scenario's channel.
    pub fn workload(&self, point: &Point) -> Workload {
        Workload {
            clients: point.clients,
            streams_per_client: point.streams_per_client,
            warmup: self.warmup,
            duration: self.duration,
            stream_kind: self.stream_kind,
            posts: self.posts,
            answers: self.answers.clone(),
            paths: Paths::for_channel(&self.channel),
            reconnect_delay: self.reconnect_delay,
        }
    }

    /// Seconds one point takes at least (warm-up plus duration).
    pub fn point_time(&self) -> Duration {
        self.warmup + self.duration
    }
}

/// A scenario error on one line, with its cause.
/// Validates scenario `text` with `overrides` applied; `path` is only used in messages (a shipped
/// scenario's repository path).
pub fn parse_with(
    path: &Path,
    text: &str,
    overrides: &[Override],
) -> Result<Scenario, ScenarioError> {
    overrides::parse(path, text, overrides)
}

pub fn one_line(e: &ScenarioError) -> String {
    match e {
        ScenarioError::Read { source, .. } => format!("{e}: {source}"),
        _ => e.to_string(),
    }
}

#[cfg(test)]
mod tests;
