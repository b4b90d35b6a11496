//! Runs a scenario: every sweep point, against a fresh embedded server or an external target,
//! writing each point's rows to the CSV report as soon as the point ends.
//!
//! Before the first point, each external target URL is probed once (TCP, TLS with its certificate
//! check and ALPN, the HTTP/2 handshake): an unreachable server or a certificate that does not
//! verify is unusable input, reported with where the URL came from, before any report is written.
//!
//! A point that stops early (Ctrl-C, a dead server, a protocol mismatch) still has its rows
//! written; the run then stops and says why.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{bail, Context as _};
use loadgen::context::error_chain;
use loadgen::{Arm, FatalKind, Metrics, PointConfig, PointOutcome, Target, Trust};
use report::ReportWriter;
use tokio_util::sync::CancellationToken;

use crate::meta::run_meta;
use crate::progress::Progress;
use crate::rows::{point_rows, PointId, ServerCounts};
use crate::scenario::{Scenario, TargetSpec, TrustSpec};

/// How the command line adjusts a run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub out_dir: PathBuf,
    /// `--target`: replaces the scenario's target (or the embedded server).
    pub target: Option<TargetSpec>,
    /// Draw a progress bar (stderr is a terminal).
    pub progress_bar: bool,
}

/// One point's headline numbers, for the summary table.
#[derive(Debug)]
pub struct PointResult {
    pub id: PointId,
    pub outcome: PointOutcome,
    pub server: Option<ServerCounts>,
}

/// Why a run ended before its last point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Interrupted,
    Fatal(FatalKind, String),
}

#[derive(Debug)]
pub struct RunResult {
    pub csv: PathBuf,
    pub points: Vec<PointResult>,
    pub stopped: Option<Stopped>,
    pub points_planned: usize,
    /// The embedded server injected faults: the summary shows reconnects and losses.
    pub faults: bool,
    /// Worker threads of the load generator, and of the embedded server (none with a target).
    pub threads: (usize, Option<usize>),
}

pub async fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    stop: CancellationToken,
) -> anyhow::Result<RunResult> {
    let target = opts.target.as_ref().or(scenario.target.as_ref());
    let targets = match target {
        Some(t) => Some(preflight(scenario, t).await?),
        None => None,
    };
    let started = SystemTime::now();
    let meta = run_meta(&scenario.name, started);
    std::fs::create_dir_all(&opts.out_dir)
        .with_context(|| format!("cannot create output directory {}", opts.out_dir.display()))?;
    let csv = opts.out_dir.join(format!("{}.csv", meta.run_id));
    let mut writer = ReportWriter::create(&csv)
        .with_context(|| format!("cannot create report {}", csv.display()))?;
    let points = scenario.points();
    let progress = Progress::new(opts.progress_bar, points.len(), scenario.point_time());
    let mut results = Vec::new();
    let mut stopped = None;
    for (i, &(clients, streams, arm)) in points.iter().enumerate() {
        if stop.is_cancelled() {
            stopped = Some(Stopped::Interrupted);
            break;
        }
        let id = PointId {
            arm,
            clients,
            streams_per_client: streams,
        };
        let metrics = Arc::new(Metrics::new());
        let ticker = progress.start_point(i, id, metrics.clone());
        let (outcome, server) = match (target, &targets) {
            (Some(t), Some(targets)) => {
                let target = targets
                    .iter()
                    .find(|tg| tg.arm == arm)
                    .context("no target URL for this protocol")?
                    .clone();
                let config = point_config(scenario, id, target, &t.events_path, &t.messages_path);
                (loadgen::run_point(&config, metrics, &stop).await, None)
            }
            _ => run_embedded(scenario, id, metrics, &stop).await?,
        };
        drop(ticker);
        let rows = point_rows(
            &meta,
            &scenario.name,
            id,
            &outcome,
            server,
            scenario.client_threads,
        );
        writer
            .write_rows(&rows)
            .and_then(|()| writer.flush())
            .with_context(|| format!("cannot write report {}", csv.display()))?;
        progress.finish_point(i, id, &outcome);
        let fatal = outcome.fatal.clone();
        let interrupted = outcome.interrupted;
        results.push(PointResult {
            id,
            outcome,
            server,
        });
        if let Some(f) = fatal {
            stopped = Some(Stopped::Fatal(f.kind, f.to_string()));
            break;
        }
        if interrupted {
            stopped = Some(Stopped::Interrupted);
            break;
        }
    }
    progress.finish();
    writer
        .finish()
        .with_context(|| format!("cannot write report {}", csv.display()))?;
    Ok(RunResult {
        csv,
        points: results,
        stopped,
        points_planned: points.len(),
        faults: target.is_none() && !scenario.faults.is_none(),
        threads: (
            scenario.client_threads,
            target.is_none().then_some(scenario.server.threads),
        ),
    })
}

/// Resolves and probes every target URL of the scenario's arms. An error names where the URL
/// came from (the scenario's line and key, or the `--target` flag) and the cause, on one line.
async fn preflight(scenario: &Scenario, t: &TargetSpec) -> anyhow::Result<Vec<Target>> {
    let trust = resolve_trust(t, scenario)?;
    let mut targets = Vec::new();
    for (arm, url) in &t.urls {
        let from = t.url_from(*arm);
        let target = Target::new(*arm, url, &trust)
            .map_err(|e| anyhow::anyhow!("{from}: {}", error_chain(&e)))?;
        if let Err(e) = loadgen::probe(&target, scenario.connect_timeout).await {
            bail!("{from}: {arm}: {}", error_chain(&e));
        }
        targets.push(target);
    }
    Ok(targets)
}

fn resolve_trust(t: &TargetSpec, scenario: &Scenario) -> anyhow::Result<Trust> {
    let needs_tls = scenario.protocols.iter().any(|a| a.is_tls());
    match &t.trust {
        TrustSpec::Insecure => Ok(Trust::Insecure),
        TrustSpec::CaFile(path) => Ok(Trust::Certificates(read_certs(path)?)),
        TrustSpec::None if needs_tls => bail!(
            "the target uses TLS: pass --cacert PATH (the server's certificate or CA, PEM) or --insecure"
        ),
        TrustSpec::None => Ok(Trust::Certificates(Vec::new())),
    }
}

fn read_certs(path: &Path) -> anyhow::Result<Vec<rustls_pki_types::CertificateDer<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .with_context(|| format!("cannot read CA certificate {}", path.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} is not a PEM certificate file", path.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", path.display());
    }
    Ok(certs)
}

fn point_config(
    scenario: &Scenario,
    id: PointId,
    target: Target,
    events_path: &str,
    messages_path: &str,
) -> PointConfig {
    PointConfig {
        target: Arc::new(target),
        clients: id.clients,
        streams_per_client: id.streams_per_client,
        max_connections_per_origin: scenario.max_connections_per_origin,
        events_path: events_path.to_owned(),
        messages_path: messages_path.to_owned(),
        post_rate_per_client: scenario.posts.rate_per_client,
        post_body_bytes: scenario.posts.body_bytes,
        warmup: scenario.warmup,
        duration: scenario.duration,
        reconnect_delay: scenario.reconnect_delay,
        connect_timeout: scenario.connect_timeout,
        drain_timeout: Duration::from_secs(5),
        loss_grace: PointConfig::DEFAULT_LOSS_GRACE,
        // 1 MiB per line, 4 MiB per event.
        parser_limits: loadgen::ParserLimits::default(),
    }
}

/// Runs one point against a fresh embedded server that listens for this arm only.
async fn run_embedded(
    scenario: &Scenario,
    id: PointId,
    metrics: Arc<Metrics>,
    stop: &CancellationToken,
) -> anyhow::Result<(PointOutcome, Option<ServerCounts>)> {
    let protocol = server_protocol(id.arm);
    let mut config = crate::embedded::server_config(scenario);
    config.listeners = vec![(protocol, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))];
    // The server runs on its own runtime and threads, as another process would.
    let threads = scenario.server.threads;
    let server =
        tokio::task::spawn_blocking(move || sse_server::DedicatedServer::start(config, threads))
            .await
            .context("cannot start the embedded server")?
            .context("cannot start the embedded server")?;
    let url = server
        .url(protocol)
        .context("the embedded server has no listener for the arm")?;
    let target = Target::new(id.arm, &url, &Trust::Certificates(vec![server.cert_der()]))
        .context("cannot target the embedded server")?;
    let config = point_config(
        scenario,
        id,
        target,
        &format!("/events?channel={}", scenario.channel),
        &format!("/messages?channel={}", scenario.channel),
    );
    let outcome = loadgen::run_point(&config, metrics, stop).await;
    let counts = server.stats().listener(protocol).map(|l| ServerCounts {
        connections_accepted: l.connections_accepted,
        connections_carrying_requests: l.connections_carrying_requests,
        connections_refused: l.connections_refused,
        overflows: l.overflows,
        threads: server.workers() as u64,
    });
    server.shutdown().await;
    Ok((outcome, counts))
}

fn server_protocol(arm: Arm) -> sse_server::Protocol {
    arm.name()
        .parse()
        .expect("every arm name is a server protocol")
}
