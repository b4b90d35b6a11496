//! The run loop: every sweep point of a scenario, run by one [`Client`] kind, each point's rows
//! written to the CSV report as soon as the point ends.
//!
//! Before the first point, each external target URL is probed once (TCP, TLS with its certificate
//! check and ALPN, the HTTP/2 handshake; for a scenario that asks answers, one question whose
//! answer must be an event stream the framing reads, up to a first token): an unreachable server,
//! a certificate that does not verify or an endpoint that does not stream answers is unusable
//! input ([`RunError::Target`]), reported with where the URL came from, before any report is
//! written.
//!
//! A point that stops early (Ctrl-C, a dead server, a protocol mismatch, a browser that failed)
//! still has its rows written when it measured any; the run then stops and says why. A report
//! that cannot be written stops the run too, and is said apart (exit 1, not 2).

pub mod client;
pub mod embedded;
pub mod health;
pub mod limits;
pub mod measurement;
pub mod memory;
pub mod meta;
pub mod network;
pub mod progress;
pub mod rows;
pub mod series;
pub mod summary;

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use loadgen::{Target, Trust};
use report::ReportWriter;
use tokio_util::sync::CancellationToken;
use vocab::{error_chain, ClientKind};

pub use client::{Client, Destination, PointRun};
pub use measurement::{Measurement, PointId};

use crate::scenario::{Scenario, TargetSpec, TrustSpec};
use progress::Progress;

/// How the command line sets up a run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub out_dir: PathBuf,
    /// The resolved external target, or `None` for the embedded server.
    pub target: Option<TargetSpec>,
    pub client: Client,
    /// Draw a progress bar (stderr is a terminal).
    pub progress_bar: bool,
    /// The emulated network, when the scenario has a `[network]` table (the client runtime's
    /// threads are already inside its client namespace).
    pub network: Option<std::sync::Arc<netem::Emulator>>,
    /// With a target: the target server's process, whose memory is read per point
    /// (`server_rss_per_client`).
    pub server_pid: Option<u32>,
}

/// Why a run ended before its last point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// Ctrl-C.
    Interrupted,
    /// The measurement could not go on: the one-line reason.
    Failed(String),
}

/// A run's points, and how it ended.
#[derive(Debug)]
pub struct RunResult {
    pub csv: PathBuf,
    pub client: ClientKind,
    pub points: Vec<Measurement>,
    pub stopped: Option<Stopped>,
    /// True when the report could not be written (the run stopped there).
    pub report_failed: bool,
    pub points_planned: usize,
    /// The embedded server injected faults: the summary shows reconnects and losses.
    pub faults: bool,
    /// Worker threads of the load generator, and of the embedded server (none with a target).
    pub threads: (usize, Option<usize>),
}

/// What kept a run from starting.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// An external target cannot be used: unusable input.
    #[error("{0}")]
    Target(String),
    /// The scenario has no point this client can run: unusable input.
    #[error("no point of {scenario} can run with the {client} client")]
    NoPoints {
        scenario: String,
        client: ClientKind,
    },
    /// The report could not be created.
    #[error("cannot create report {}", path.display())]
    CreateReport {
        path: PathBuf,
        #[source]
        source: anyhow::Error,
    },
}

pub async fn run(
    scenario: &Scenario,
    opts: &RunOptions,
    stop: CancellationToken,
) -> Result<RunResult, RunError> {
    let targets = match &opts.target {
        Some(t) => Some(preflight(scenario, t).await?),
        None => None,
    };
    let destination = match (&opts.target, &targets) {
        (Some(t), Some(targets)) => Destination::External {
            targets,
            events_path: &t.events_path,
            messages_path: &t.messages_path,
            send_stamp: &t.send_stamp,
            answers: &t.answers,
            server_pid: opts.server_pid,
        },
        _ => Destination::Embedded {
            network: opts.network.as_ref(),
        },
    };
    let mut condition = None;
    let mut network_rtt: Vec<std::time::Duration> = Vec::new();
    let client = &opts.client;
    let points = client.points(scenario);
    if points.is_empty() {
        return Err(RunError::NoPoints {
            scenario: scenario.name.clone(),
            client: client.kind(),
        });
    }
    let run_name = match client.kind() {
        ClientKind::Emulated => scenario.name.clone(),
        kind => format!("{}-{kind}", scenario.name),
    };
    let shard = opts.client.shard().map_or(String::new(), |s| s.to_string());
    let meta = meta::run_meta(&run_name, SystemTime::now(), &shard);
    let csv = opts.out_dir.join(format!("{}.csv", meta.run_id));
    let mut writer = create_report(&opts.out_dir, &csv)?;
    // The time series and interval logs go beside the report; failing to write them costs them
    // only (a warning), never the report.
    let series_csv = report::series::series_path(&csv);
    let created = std::fs::create_dir_all(report::series::series_dir(&csv)).map_err(|source| {
        report::ReportError::Io {
            path: report::series::series_dir(&csv),
            action: "create",
            source,
        }
    });
    let mut series_writer =
        match created.and_then(|()| report::series::SeriesWriter::create(&series_csv)) {
            Ok(w) => Some(w),
            Err(e) => {
                eprintln!("warning: no time series: {}", error_chain(&e));
                None
            }
        };
    let progress = Progress::new(opts.progress_bar, points.len(), scenario.point_time());
    let mut results = Vec::new();
    let mut stopped = None;
    let mut report_failed = false;
    for (i, &id) in points.iter().enumerate() {
        if stop.is_cancelled() {
            stopped = Some(Stopped::Interrupted);
            break;
        }
        if let (Some(emulator), Some(settings), Some(c)) =
            (&opts.network, &scenario.network, id.network)
        {
            if condition != Some(c) {
                match network::apply(emulator, settings, c).await {
                    Ok(rtt) => network_rtt = rtt,
                    Err(e) => {
                        stopped = Some(Stopped::Failed(format!("{e:#}")));
                        break;
                    }
                }
                condition = Some(c);
            }
        }
        let run = client
            .run_point(scenario, i, id, &destination, &progress, &stop)
            .await;
        let measured = match run {
            Ok(PointRun::Measured(mut m)) => {
                if id.network.is_some() {
                    m.add_network_rtt(&network_rtt);
                }
                *m
            }
            Ok(PointRun::Interrupted) => {
                stopped = Some(Stopped::Interrupted);
                break;
            }
            Err(e) => {
                stopped = Some(Stopped::Failed(format!("{e:#}")));
                break;
            }
        };
        let rows = rows::point_rows(&meta, scenario, &measured);
        if let Err(e) = writer.write_rows(&rows).and_then(|()| writer.flush()) {
            stopped = Some(Stopped::Failed(format!(
                "cannot write report {}: {}",
                csv.display(),
                error_chain(&e)
            )));
            report_failed = true;
            break;
        }
        if let (Some(w), Some(series)) = (series_writer.as_mut(), &measured.series) {
            let written = w
                .write_rows(&series::series_rows(
                    &meta,
                    scenario,
                    &id,
                    client.kind(),
                    series,
                ))
                .and_then(|()| {
                    let label = format!(
                        "ssebench {} point {}: {id}, network {}",
                        meta.run_id,
                        i + 1,
                        scenario.network_label(&id)
                    );
                    series::write_hlog(&series::hlog_path(&csv, i), &label, series)
                });
            if let Err(e) = written {
                eprintln!("warning: time series stopped: {}", error_chain(&e));
                series_writer = None;
            }
        }
        progress.finish_point(i, &measured);
        let fatal = measured.fatal.clone();
        let interrupted = measured.interrupted;
        results.push(measured);
        if let Some(f) = fatal {
            stopped = Some(Stopped::Failed(f.to_string()));
            break;
        }
        if interrupted {
            stopped = Some(Stopped::Interrupted);
            break;
        }
    }
    progress.finish();
    if let Err(e) = writer.finish() {
        if !report_failed {
            stopped = Some(Stopped::Failed(format!(
                "cannot write report {}: {}",
                csv.display(),
                error_chain(&e)
            )));
            report_failed = true;
        }
    }
    let embedded = opts.target.is_none();
    Ok(RunResult {
        csv,
        client: client.kind(),
        points: results,
        stopped,
        report_failed,
        points_planned: points.len(),
        faults: embedded && !scenario.faults.is_none(),
        threads: (
            scenario.client_threads,
            (embedded && client.kind().is_emulated()).then_some(scenario.server.threads),
        ),
    })
}

fn create_report(dir: &Path, csv: &Path) -> Result<ReportWriter, RunError> {
    let failed = |source: anyhow::Error| RunError::CreateReport {
        path: csv.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|e| failed(e.into()))?;
    ReportWriter::create(csv).map_err(|e| failed(e.into()))
}

/// How long the probe waits for the first token of a target's answer (a model's time to first
/// token, under load, can be seconds).
const ANSWER_PROBE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Resolves and probes every target URL of the scenario's arms. An error names where the URL
/// came from (the scenario's line and key, or the `--target` flag) and the cause, on one line.
async fn preflight(scenario: &Scenario, t: &TargetSpec) -> Result<Vec<Target>, RunError> {
    let trust = resolve_trust(t, scenario)?;
    let mut targets = Vec::new();
    for (arm, url) in &t.urls {
        let from = t.url_from(*arm);
        let target = Target::within(*arm, url, &trust, t.reach)
            .map_err(|e| RunError::Target(format!("{from}: {}", error_chain(&e))))?;
        if let Err(e) = loadgen::probe(&target, scenario.connect_timeout).await {
            return Err(RunError::Target(format!(
                "{from}: {arm}: {}",
                error_chain(&e)
            )));
        }
        if scenario.has_answers() {
            let mut request = scenario.answers.request.clone();
            t.answers.apply(&mut request);
            let timeout = scenario.connect_timeout.max(ANSWER_PROBE_TIMEOUT);
            if let Err(e) = loadgen::probe_answers(&target, &request, timeout).await {
                return Err(RunError::Target(format!(
                    "{from}: {arm}: answers (POST {}, {} framing): {}",
                    request.path,
                    request.framing,
                    error_chain(&e)
                )));
            }
        }
        targets.push(target);
    }
    Ok(targets)
}

fn resolve_trust(t: &TargetSpec, scenario: &Scenario) -> Result<Trust, RunError> {
    let needs_tls = scenario.protocols.iter().any(|a| a.is_tls());
    match &t.trust {
        TrustSpec::Insecure => Ok(Trust::Insecure),
        TrustSpec::CaFile(path) => Ok(Trust::Certificates(read_certs(path)?)),
        TrustSpec::None if needs_tls => Err(RunError::Target(
            "the target uses TLS: pass --cacert PATH (the server's certificate or CA, PEM) or --insecure"
                .to_owned(),
        )),
        TrustSpec::None => Ok(Trust::Certificates(Vec::new())),
    }
}

fn read_certs(path: &Path) -> Result<Vec<rustls_pki_types::CertificateDer<'static>>, RunError> {
    use rustls_pki_types::pem::PemObject;
    let certs = rustls_pki_types::CertificateDer::pem_file_iter(path)
        .map_err(|e| {
            RunError::Target(format!(
                "cannot read CA certificate {}: {}",
                path.display(),
                error_chain(&e)
            ))
        })?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            RunError::Target(format!(
                "{} is not a PEM certificate file: {}",
                path.display(),
                error_chain(&e)
            ))
        })?;
    if certs.is_empty() {
        return Err(RunError::Target(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    Ok(certs)
}
