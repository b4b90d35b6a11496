//! Who runs a point: the emulation, or a real browser as its ground truth. One enum, so that the
//! run loop, the rows, the summary, the progress, Ctrl-C and the exit codes are written once for
//! every client kind; each kind only says which points it can run and how it runs one.
//!
//! - [`Client::Emulated`]: `loadgen` against the embedded server (started per point on its own
//!   runtime and threads, as another process would be) or an external target.
//! - [`Client::Browser`]: a headless browser (one isolated browser context and tab per virtual
//!   client) against the embedded server, started per point as for the emulation; with an
//!   emulated network the browser runs in its client namespace, the server in its server
//!   namespace.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use loadgen::{Metrics, PointConfig, Reach, Target, Trust};
use tokio_util::sync::CancellationToken;
use vocab::{BrowserProfile, ClientKind, Protocol, Workload};

use super::embedded;
use super::health::CpuSample;
use super::measurement::{Harness, Measurement, PointId};
use super::memory;
use super::progress::Progress;
use super::series::Recorder;
use crate::cli::ShardArg;
use crate::scenario::Scenario;

/// A client kind, ready to run points.
#[derive(Debug, Clone)]
pub enum Client {
    /// ssebench's browser-faithful connection pools, following `profile`'s rules (the
    /// scenario's `browser`); with a shard, this process runs its share of every point's clients
    /// (`--shard I/N`).
    Emulated {
        shard: Option<ShardArg>,
        profile: BrowserProfile,
    },
    /// A real headless browser, at `path`.
    Browser {
        browser: BrowserProfile,
        path: PathBuf,
    },
}

/// How one point ended.
#[derive(Debug)]
pub enum PointRun {
    Measured(Box<Measurement>),
    /// Ctrl-C came before the browser point could be measured (a browser's page state is read
    /// only at the end of the point).
    Interrupted,
}

/// Where the emulated clients send their requests.
#[derive(Debug, Clone)]
pub enum Destination<'a> {
    /// A fresh embedded server per point, across the emulated network when there is one.
    Embedded {
        network: Option<&'a Arc<netem::Emulator>>,
    },
    /// External targets, one per arm, and the paths to request.
    External {
        targets: &'a [Target],
        events_path: &'a str,
        messages_path: &'a str,
        send_stamp: &'a sse_wire::stamp::SendStamp,
        /// How the target's answers are asked and read.
        answers: &'a crate::scenario::AnswerTarget,
        /// The target server's process, whose memory is read (`server_rss_per_client`).
        server_pid: Option<u32>,
    },
}

impl Client {
    /// The `client` column of this client's rows.
    pub fn kind(&self) -> ClientKind {
        match self {
            Client::Emulated { profile, .. } => profile.emulated_client(),
            Client::Browser { browser, .. } => browser.real_client(),
        }
    }

    /// The shard of every point this process runs, if it runs one.
    pub fn shard(&self) -> Option<ShardArg> {
        match self {
            Client::Emulated { shard, .. } => *shard,
            Client::Browser { .. } => None,
        }
    }

    /// The scenario's points this client can run, in run order; each point it cannot run is
    /// named on stderr with the reason.
    pub fn points(&self, scenario: &Scenario) -> Vec<PointId> {
        let all = scenario.points().into_iter();
        let browser = match self {
            Client::Emulated { .. } => return all.collect(),
            Client::Browser { browser, .. } => *browser,
        };
        let mut skipped_arms: Vec<Protocol> = Vec::new();
        let mut out = Vec::new();
        for id in all {
            if let Err(e) = browser::browser_supports(browser, id.arm) {
                if !skipped_arms.contains(&id.arm) {
                    eprintln!("skipping {}: {e}", id.arm);
                    skipped_arms.push(id.arm);
                }
                continue;
            }
            if id.clients > browser::MAX_CLIENTS {
                eprintln!(
                    "skipping {id}: a browser point runs at most {} clients \
                     (one browser context and tab each)",
                    browser::MAX_CLIENTS
                );
                continue;
            }
            out.push(id);
        }
        out
    }

    /// Runs one point. An error is what made the point impossible (the embedded server or the
    /// browser could not start); a point that stopped early is a measurement with `fatal` set.
    pub async fn run_point(
        &self,
        scenario: &Scenario,
        index: usize,
        id: PointId,
        destination: &Destination<'_>,
        progress: &Progress,
        stop: &CancellationToken,
    ) -> anyhow::Result<PointRun> {
        match self {
            Client::Emulated { shard, .. } => {
                emulated(scenario, index, id, destination, *shard, progress, stop)
                    .await
                    .map(|m| PointRun::Measured(Box::new(m)))
            }
            Client::Browser { browser, path } => {
                let Destination::Embedded { network } = destination else {
                    anyhow::bail!("a browser point runs against the embedded server only");
                };
                let _ticker = progress.start_point(index, id, None);
                browser_point(scenario, id, *browser, path, *network, stop).await
            }
        }
    }
}

/// One point in a real browser, against a fresh embedded server started as for the emulation (its
/// own runtime and threads); with an emulated network, the server in its server namespace and the
/// browser started in its client namespace, so the browser's traffic crosses the network too.
async fn browser_point(
    scenario: &Scenario,
    id: PointId,
    kind: BrowserProfile,
    path: &std::path::Path,
    network: Option<&Arc<netem::Emulator>>,
    stop: &CancellationToken,
) -> anyhow::Result<PointRun> {
    let workload = scenario.workload(&id);
    let launcher = match network {
        None => browser::Launcher::direct(),
        Some(n) => {
            let n = Arc::clone(n);
            browser::Launcher::in_network_namespace(move |program| {
                n.command(netem::Side::Client, program)
            })
        }
    };
    let started = Instant::now();
    let server = embedded::start(scenario, id.arm, network).await?;
    let net_before = network.map(|n| n.stats());
    let run = browser::run_point_with(kind, path, &launcher, id.arm, &workload, &server);
    let outcome = tokio::select! {
        outcome = run => Some(outcome),
        _ = stop.cancelled() => None,
    };
    let net = network
        .zip(net_before)
        .map(|(n, before)| n.stats().since(&before));
    server.shutdown().await;
    let Some(outcome) = outcome else {
        return Ok(PointRun::Interrupted);
    };
    let outcome = outcome.with_context(|| format!("{kind} {id}"))?;
    let mut m = Measurement::browser(id, kind.real_client(), &outcome, started.elapsed());
    if let Some(net) = net {
        m.add_network(&net);
    }
    Ok(PointRun::Measured(Box::new(m)))
}

async fn emulated(
    scenario: &Scenario,
    index: usize,
    id: PointId,
    destination: &Destination<'_>,
    shard: Option<ShardArg>,
    progress: &Progress,
    stop: &CancellationToken,
) -> anyhow::Result<Measurement> {
    let metrics = Arc::new(Metrics::new());
    let _ticker = progress.start_point(index, id, Some(metrics.clone()));
    let cpu = CpuSample::now();
    match destination {
        Destination::External {
            targets,
            events_path,
            messages_path,
            send_stamp,
            answers,
            server_pid,
        } => {
            let target = targets
                .iter()
                .find(|t| t.arm == id.arm)
                .context("no target URL for this protocol")?
                .clone();
            let mut workload = scenario.workload(&id);
            workload.paths.events = (*events_path).to_owned();
            workload.paths.messages = (*messages_path).to_owned();
            answers.apply(&mut workload.answers.request);
            let config = PointConfig {
                send_stamp: (*send_stamp).clone(),
                page_path: scenario.page_path(false),
                ..point_config(scenario, target, workload, shard)
            };
            // The server's memory before the clients start, and at the end of the warm-up.
            let rss = server_pid
                .map(|pid| {
                    let before = memory::rss_bytes(pid)?;
                    let warmup = scenario.warmup;
                    let at_warmup = tokio::spawn(async move {
                        tokio::time::sleep(warmup).await;
                        memory::rss_bytes(pid)
                    });
                    Ok::<_, memory::MemoryError>((before, at_warmup))
                })
                .transpose()
                .context("the server's memory")?;
            let recorder = Recorder::start(metrics.clone());
            let outcome = loadgen::run_point(&config, metrics, stop).await;
            let series = recorder.finish(outcome.elapsed).await;
            let rss_per_client = match rss {
                // A point stopped before its warm-up ended has no such sample.
                Some((before, at_warmup)) if at_warmup.is_finished() => {
                    let after = at_warmup
                        .await
                        .context("the server's memory")?
                        .context("the server's memory at the end of the warm-up")?;
                    Some(memory::per_client(before, after, id.clients))
                }
                Some((_, at_warmup)) => {
                    at_warmup.abort();
                    None
                }
                None => None,
            };
            let (client_cpu_ms, _, _) = CpuSample::now().since(cpu);
            let mut m = Measurement::emulated(
                id,
                scenario.browser,
                &outcome,
                None,
                Harness {
                    client_threads: scenario.client_threads,
                    client_cpu_ms,
                    server_cpu_ms: None,
                    server_threads: None,
                },
            );
            if let Some(bytes) = rss_per_client {
                m.add_server_rss_per_client(bytes);
            }
            m.series = Some(series);
            Ok(m)
        }
        Destination::Embedded { network } => {
            let server = embedded::start(scenario, id.arm, *network).await?;
            let url = server
                .url(id.arm)
                .context("the embedded server has no listener for the arm")?;
            let reach = match network {
                Some(_) => Reach::EmulatedNetwork,
                None => Reach::Loopback,
            };
            let trust = Trust::Certificates(vec![server.cert_der()]);
            let target = Target::within(id.arm, &url, &trust, reach)
                .context("cannot target the embedded server")?;
            let net_before = network.map(|n| n.stats());
            let config = PointConfig {
                page_path: scenario.page_path(true),
                ..point_config(scenario, target, scenario.workload(&id), shard)
            };
            // The server's own scheduler lag, probed on its runtime while the point runs.
            let probe_stop = CancellationToken::new();
            server.runtime().spawn(loadgen::health::lag_probe(
                metrics.clone(),
                vocab::Latency::ServerLag,
                probe_stop.clone(),
            ));
            let recorder = Recorder::start(metrics.clone());
            let outcome = loadgen::run_point(&config, metrics, stop).await;
            let series = recorder.finish(outcome.elapsed).await;
            probe_stop.cancel();
            let (client_cpu_ms, server_cpu_ms, _) = CpuSample::now().since(cpu);
            let net = network
                .zip(net_before)
                .map(|(n, before)| n.stats().since(&before));
            let counts = server.stats().listener(id.arm).cloned();
            let server_threads = server.workers() as u64;
            server.shutdown().await;
            let mut m = Measurement::emulated(
                id,
                scenario.browser,
                &outcome,
                counts.as_ref(),
                Harness {
                    client_threads: scenario.client_threads,
                    client_cpu_ms,
                    server_cpu_ms: Some(server_cpu_ms),
                    server_threads: Some(server_threads),
                },
            );
            if let Some(net) = net {
                m.add_network(&net);
            }
            m.series = Some(series);
            Ok(m)
        }
    }
}

/// A point's settings: the scenario's `workload`, on top of [`PointConfig::new`]'s defaults;
/// with a shard, its part of the point's clients.
fn point_config(
    scenario: &Scenario,
    target: Target,
    mut workload: Workload,
    shard: Option<ShardArg>,
) -> PointConfig {
    let shard = shard.map(|s| loadgen::Shard {
        index: s.index - 1,
        count: s.count,
        total_clients: workload.clients,
    });
    if let Some(s) = shard {
        workload.clients = loadgen::Shard::clients_of(s.index, s.count, s.total_clients);
    }
    PointConfig {
        shard,
        max_connections_per_origin: scenario.max_connections_per_origin,
        profile: scenario.browser,
        connect_timeout: scenario.connect_timeout,
        workload,
        ..PointConfig::new(target)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_browser_skips_h2c_and_too_many_clients() {
        let s = Scenario::parse(
            Path::new("t.toml"),
            "name = \"t\"\nprotocols = [\"h1\", \"h2c\", \"h2\"]\nclients = [1, 50]\nstreams_per_client = 3\nduration = \"1s\"\n",
        )
        .expect("a valid scenario");
        let browser = Client::Browser {
            browser: BrowserProfile::Chromium,
            path: PathBuf::from("chromium"),
        };
        let arms: Vec<(Protocol, u32)> = browser
            .points(&s)
            .iter()
            .map(|p| (p.arm, p.clients))
            .collect();
        assert_eq!(arms, [(Protocol::H1, 1), (Protocol::H2, 1)]);
        assert_eq!(
            Client::Emulated {
                shard: None,
                profile: BrowserProfile::Chromium
            }
            .points(&s)
            .len(),
            6,
            "the emulation runs them all"
        );
    }
}
