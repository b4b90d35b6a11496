//! File descriptors: a point whose connections cannot fit the process's descriptor limit would fail
//! midway with `EMFILE` and measure the harness instead of the server. So the soft limit is raised
//! to the hard one at start, and before the first point every point's need is computed: a point
//! that cannot fit stops the run (exit 2) naming the limit, the need and the largest point that
//! fits.
//!
//! What a point needs, at most:
//! - client connections: per client on HTTP/1.1 one per stream, plus one for POSTs when it sends
//!   any, capped at `max_connections_per_origin`; on HTTP/2 one (two while a GOAWAY'd connection
//!   drains); on HTTP/3 the same, each QUIC connection with a UDP socket of its own (as a
//!   browser's);
//! - over TCP the same again when the server is embedded (its accepted sockets live in this
//!   process); over UDP nothing more: the embedded server's one UDP socket serves every
//!   connection;
//! - [`OVERHEAD`] for everything else (runtime, listeners, stdio, the report, TLS roots).

use std::fmt;

use vocab::{Protocol, Transport};

use crate::scenario::Scenario;

/// Descriptors a run holds besides its connections.
pub const OVERHEAD: u64 = 64;

/// The soft and hard `RLIMIT_NOFILE` after raising the soft limit to the hard one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileLimit {
    pub soft: u64,
    pub hard: Option<u64>,
}

/// Raises the soft descriptor limit to the hard limit; returns the limit now in force.
pub fn raise_nofile() -> NofileLimit {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let raised = rustix::process::Rlimit {
            current: limit.maximum,
            maximum: limit.maximum,
        };
        match setrlimit(Resource::Nofile, raised) {
            Ok(()) => limit = getrlimit(Resource::Nofile),
            Err(e) => tracing::warn!("cannot raise the descriptor limit: {e}"),
        }
    }
    NofileLimit {
        soft: limit.current.unwrap_or(u64::MAX),
        hard: limit.maximum,
    }
}

/// A point that does not fit the descriptor limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TooManyDescriptors {
    pub arm: Protocol,
    pub clients: u32,
    pub streams_per_client: u32,
    pub need: u64,
    pub limit: NofileLimit,
    pub embedded: bool,
    /// The most clients that fit at this arm and streams per client (0: not even one).
    pub largest_clients: u32,
}

impl fmt::Display for TooManyDescriptors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the point {} clients={} streams_per_client={} needs about {} file descriptors, over this \
             process's limit of {}",
            self.arm, self.clients, self.streams_per_client, self.need, self.limit.soft
        )?;
        if self.limit.hard == Some(self.limit.soft) {
            f.write_str(" (the hard limit, which bench cannot raise)")?;
        }
        if self.embedded {
            f.write_str("; the embedded server's sockets count too")?;
        }
        if self.largest_clients > 0 {
            write!(
                f,
                "; the largest point that fits has clients={}",
                self.largest_clients
            )?;
        }
        f.write_str(
            ": lower clients or streams_per_client, split the load with several bench processes, or \
             point --target at a server in another process",
        )
    }
}

/// Connections one client holds at most on `arm`.
pub fn connections_per_client(scenario: &Scenario, arm: Protocol, streams: u32) -> u64 {
    if arm.is_multiplexed() {
        return 2;
    }
    let posts = u64::from(scenario.posts.rate_per_client > 0.0);
    (u64::from(streams) + posts).min(scenario.max_connections_per_origin as u64)
}

/// Descriptors a point needs at most (see the module documentation).
pub fn descriptors_needed(
    scenario: &Scenario,
    arm: Protocol,
    clients: u32,
    streams: u32,
    embedded: bool,
) -> u64 {
    let sides = if embedded && arm.transport() == Transport::Tcp {
        2
    } else {
        1
    };
    u64::from(clients) * connections_per_client(scenario, arm, streams) * sides + OVERHEAD
}

/// Checks every point of the scenario against `limit`; the first that does not fit is the error.
pub fn check(
    scenario: &Scenario,
    embedded: bool,
    limit: NofileLimit,
    shard: Option<crate::cli::ShardArg>,
) -> Result<(), TooManyDescriptors> {
    for point in scenario.points() {
        let (streams, arm) = (point.streams_per_client, point.arm);
        // With a shard, this process holds its part of the clients only.
        let clients = shard.map_or(point.clients, |s| {
            loadgen::Shard::clients_of(s.index - 1, s.count, point.clients)
        });
        let need = descriptors_needed(scenario, arm, clients, streams, embedded);
        if need <= limit.soft {
            continue;
        }
        let per_client = descriptors_needed(scenario, arm, 1, streams, embedded) - OVERHEAD;
        let largest = limit.soft.saturating_sub(OVERHEAD) / per_client.max(1);
        return Err(TooManyDescriptors {
            arm,
            clients,
            streams_per_client: streams,
            need,
            limit,
            embedded,
            largest_clients: u32::try_from(largest).unwrap_or(u32::MAX),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::parse(Path::new("t.toml"), text).unwrap()
    }

    #[test]
    fn needs_count_both_sides_of_an_embedded_server() {
        let s = scenario(
            "name = \"t\"\nprotocols = [\"h1\", \"h2\"]\nclients = [100, 3000]\nstreams_per_client = 8\nduration = \"1s\"\n[posts]\nrate_per_client = 1.0\n",
        );
        // h1: 8 streams + POSTs, capped at 6 connections; both sides in this process.
        assert_eq!(
            descriptors_needed(&s, Protocol::H1, 100, 8, true),
            100 * 6 * 2 + 64
        );
        assert_eq!(
            descriptors_needed(&s, Protocol::H1, 100, 8, false),
            100 * 6 + 64
        );
        assert_eq!(
            descriptors_needed(&s, Protocol::H2, 100, 8, true),
            100 * 2 * 2 + 64
        );
        assert_eq!(
            descriptors_needed(&s, Protocol::H1, 100, 2, false),
            100 * 3 + 64
        );
        // h3: two UDP sockets per client at most; the embedded server's one socket is overhead.
        assert_eq!(
            descriptors_needed(&s, Protocol::H3, 100, 8, true),
            100 * 2 + 64
        );
        let limit = NofileLimit {
            soft: 20_000,
            hard: Some(20_000),
        };
        let e = check(&s, true, limit, None).unwrap_err();
        assert_eq!((e.arm, e.clients), (Protocol::H1, 3000));
        assert_eq!(e.need, 3000 * 12 + 64);
        assert_eq!(e.largest_clients, (20_000 - 64) / 12);
        let text = e.to_string();
        assert!(
            text.contains("needs about 36064 file descriptors"),
            "{text}"
        );
        assert!(text.contains("limit of 20000 (the hard limit"), "{text}");
        assert!(
            text.contains("largest point that fits has clients=1661"),
            "{text}"
        );
        assert!(
            check(&s, false, limit, None).is_ok(),
            "18,064 fit without the server's half"
        );
        let half = crate::cli::ShardArg { index: 1, count: 2 };
        assert!(
            check(&s, true, limit, Some(half)).is_ok(),
            "1,500 clients per shard fit"
        );
    }

    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let limit = raise_nofile();
        assert!(
            limit.hard.is_none_or(|hard| limit.soft == hard),
            "{limit:?}"
        );
    }
}
