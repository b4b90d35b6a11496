//! `bench browser SCENARIO.toml`: the scenario's sweep points in real headless Chromium, the
//! ground truth the emulation is checked against.
//!
//! Each point runs against a fresh embedded server (the scenario's `[server]` settings) in a fresh
//! Chromium; see the `browser` crate for how. The report has the emulated runs' schema with
//! `client = chromium`, so `bench compare` and `bench plot` read it, and it is written to
//! `OUT/<scenario>-chromium-<UTC time>.csv`, flushed after every point.
//!
//! Chromium-only rows: `connections_carrying_any_request` (the page's document included; the
//! emulation has no document) and `page_requests`. `connections_carrying_requests` counts the
//! connections that carried EventSource or POST responses, as the emulation does.
//!
//! Exit codes as `bench SCENARIO.toml`: 0 success; 1 a point failed (Chromium missing, a protocol
//! mismatch, a page error); 2 unusable input; 130 Ctrl-C. Rows of the points run are kept.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use browser::{PointOutcome, PointSpec};
use loadgen::{Latency, Metrics};
use report::{ClientKind, LatencySummary, ReportWriter, Row, RowKey, Value};
use tokio_util::sync::CancellationToken;

use crate::scenario::Scenario;

/// Exit code for unusable input.
const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;
/// Chromium's HTTP/1.1 connections per origin, fixed in the browser.
const CHROMIUM_CONNECTIONS_PER_ORIGIN: usize = 6;
/// Clients (one isolated browser context and tab each) a browser point runs at most.
pub const MAX_BROWSER_CLIENTS: u32 = 20;

/// Run a scenario's points in real headless Chromium (the emulation's ground truth).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Chromium is found via --chromium, then $SSEBENCH_CHROMIUM, then `chromium` on PATH \
                  (Debian: apt-get install chromium). h2c points are skipped: browsers never speak \
                  cleartext HTTP/2.\n\nExample:\n  bench browser scenarios/ci-smoke.toml"
)]
pub struct BrowserArgs {
    /// The scenario file (TOML; every key is described in scenarios/README.md).
    pub scenario: PathBuf,
    /// Directory for the CSV report.
    #[arg(long, value_name = "DIR", default_value = "results")]
    pub out: PathBuf,
    /// The Chromium binary [default: $SSEBENCH_CHROMIUM, else chromium on PATH].
    #[arg(long, value_name = "PATH")]
    pub chromium: Option<PathBuf>,
    /// Change one scenario key, as for `bench run` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<crate::scenario::Override>,
}

/// One point and what it measured.
struct Measured {
    clients: u32,
    streams: u32,
    arm: loadgen::Arm,
    outcome: PointOutcome,
}

pub fn run(args: BrowserArgs) -> anyhow::Result<ExitCode> {
    let scenario = match Scenario::load_with(&args.scenario, &args.set) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", crate::scenario::one_line(&e));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    if scenario.target.is_some() {
        eprintln!(
            "error: {}: bench browser runs against the embedded server only; remove [target]",
            args.scenario.display()
        );
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let points = runnable_points(&scenario);
    if points.is_empty() {
        eprintln!("error: no point of {} can run in a browser", scenario.name);
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let chromium = match browser::find_chromium(args.chromium.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    if scenario.max_connections_per_origin != CHROMIUM_CONNECTIONS_PER_ORIGIN {
        eprintln!(
            "note: max_connections_per_origin = {} does not apply: Chromium always uses {CHROMIUM_CONNECTIONS_PER_ORIGIN}",
            scenario.max_connections_per_origin
        );
    }

    let started = SystemTime::now();
    let meta = crate::meta::run_meta(&format!("{}-chromium", scenario.name), started);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("cannot create output directory {}", args.out.display()))?;
    let csv = args.out.join(format!("{}.csv", meta.run_id));
    let mut writer = ReportWriter::create(&csv)
        .with_context(|| format!("cannot create report {}", csv.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;

    eprintln!(
        "running {} points in {} (about {:.1} s each plus browser start)",
        points.len(),
        chromium.display(),
        scenario.point_time().as_secs_f64()
    );
    let mut measured = Vec::new();
    let mut exit = ExitCode::SUCCESS;
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                on_signal.cancel();
            }
        });
        for (i, &(clients, streams, arm)) in points.iter().enumerate() {
            let label = format!("{arm} clients={clients} streams={streams}");
            eprintln!("[{}/{}] {label}", i + 1, points.len());
            let spec = point_spec(&scenario, clients, streams, arm);
            let run = browser::run_point(browser::BrowserKind::Chromium, &chromium, &spec, crate::embedded::server_config(&scenario));
            let result = tokio::select! {
                r = run => r,
                _ = stop.cancelled() => {
                    eprintln!("\ninterrupted: the browser is closed; the report keeps the points measured");
                    exit = ExitCode::from(EXIT_INTERRUPTED);
                    break;
                }
            };
            match result {
                Ok(outcome) => {
                    let m = Measured {
                        clients,
                        streams,
                        arm,
                        outcome,
                    };
                    let rows = rows(&meta, &scenario.name, &m);
                    if let Err(e) = writer.write_rows(&rows).and_then(|()| writer.flush()) {
                        eprintln!("error: cannot write report {}: {e}", csv.display());
                        exit = ExitCode::FAILURE;
                        break;
                    }
                    measured.push(m);
                }
                Err(e) => {
                    eprintln!("error: {label}: {e}");
                    exit = ExitCode::FAILURE;
                    break;
                }
            }
        }
    });
    writer
        .finish()
        .with_context(|| format!("cannot write report {}", csv.display()))?;
    print!("{}", summary(&scenario.name, &measured, points.len()));
    println!("report: {}", csv.display());
    Ok(exit)
}

/// The scenario's points a browser can run, in run order; the others are named on stderr.
fn runnable_points(scenario: &Scenario) -> Vec<(u32, u32, loadgen::Arm)> {
    let mut skipped_arms = Vec::new();
    let mut out = Vec::new();
    for (clients, streams, arm) in scenario.points() {
        if let Err(e) = browser::browser_supports(server_protocol(arm)) {
            if !skipped_arms.contains(&arm) {
                eprintln!("skipping {arm}: {e}");
                skipped_arms.push(arm);
            }
            continue;
        }
        if clients > MAX_BROWSER_CLIENTS {
            eprintln!(
                "skipping {arm} clients={clients} streams={streams}: a browser point runs at most \
                 {MAX_BROWSER_CLIENTS} clients (one browser context and tab each)"
            );
            continue;
        }
        out.push((clients, streams, arm));
    }
    out
}

fn server_protocol(arm: loadgen::Arm) -> sse_server::Protocol {
    arm.name()
        .parse()
        .expect("every arm name is a server protocol")
}

fn point_spec(scenario: &Scenario, clients: u32, streams: u32, arm: loadgen::Arm) -> PointSpec {
    PointSpec {
        protocol: server_protocol(arm),
        clients,
        streams_per_client: streams,
        warmup: scenario.warmup,
        duration: scenario.duration,
        post_rate_per_client: scenario.posts.rate_per_client,
        post_body_bytes: scenario.posts.body_bytes,
        events_path: format!("/events?channel={}", scenario.channel),
        messages_path: format!("/messages?channel={}", scenario.channel),
    }
}

/// A latency's samples summarized with the emulation's histogram (microseconds, 3 digits).
fn summarize(latency: Latency, samples: &[Duration]) -> LatencySummary {
    let m = Metrics::new();
    for &d in samples {
        m.record(latency, d);
    }
    crate::rows::latency_summary(m.latency(latency))
}

/// A browser point's rows: the emulation's metric names where the quantity is the same.
fn rows(meta: &report::RunMeta, scenario: &str, m: &Measured) -> Vec<Row> {
    let o = &m.outcome;
    let counters = [
        ("streams_requested", o.streams_requested),
        ("streams_opened", o.streams_opened),
        ("streams_queued_at_end", o.streams_queued_at_end),
        ("streams_open_at_end", o.streams_open_at_end),
        (
            "connections_carrying_requests",
            o.connections.streams_and_posts,
        ),
        ("connections_carrying_any_request", o.connections.any),
        ("page_requests", o.requests_sent.2),
        ("posts_scheduled", o.posts_scheduled),
        ("posts_completed", o.posts_completed),
        ("posts_stalled_at_end", o.posts_stalled_at_end),
        ("events_received", o.events_received),
        ("errors", o.requests_failed + o.posts_bad_status),
        ("server_connections_accepted", o.server.connections_accepted),
        (
            "server_connections_carrying_requests",
            o.server.connections_carrying_requests,
        ),
        ("server_connections_refused", o.server.connections_refused),
        ("server_overflows", o.server.overflows),
    ];
    let latencies = [
        (Latency::TimeToFirstEvent, &o.time_to_first_event),
        (Latency::PostRtt, &o.post_rtt),
    ];
    let values = counters
        .into_iter()
        .map(|(name, v)| (name.to_owned(), Value::Counter(v)))
        .chain(
            latencies
                .into_iter()
                .map(|(l, samples)| (l.name().to_owned(), Value::Latency(summarize(l, samples)))),
        );
    let protocol = m
        .arm
        .name()
        .parse()
        .expect("every arm name is a report protocol");
    values
        .map(|(metric, value)| Row {
            meta: meta.clone(),
            key: RowKey {
                scenario: scenario.to_owned(),
                client: ClientKind::Chromium,
                protocol,
                clients: m.clients,
                streams_per_client: m.streams,
                metric,
            },
            value,
        })
        .collect()
}

/// The table printed at the end; latencies are p50/p99 in milliseconds.
fn summary(scenario: &str, measured: &[Measured], planned: usize) -> String {
    let header = [
        "clients",
        "streams",
        "arm",
        "opened",
        "queued",
        "POSTs",
        "conns",
        "first_event",
        "post_rtt",
        "errors",
    ];
    let pair = |l: Latency, s: &[Duration]| {
        let s = summarize(l, s);
        crate::summary::pair_us(s.p50, s.p99)
    };
    let rows: Vec<[String; 10]> = measured
        .iter()
        .map(|m| {
            let o = &m.outcome;
            [
                m.clients.to_string(),
                m.streams.to_string(),
                m.arm.to_string(),
                format!("{}/{}", o.streams_opened, o.streams_requested),
                o.streams_queued_at_end.to_string(),
                format!("{}/{}", o.posts_completed, o.posts_scheduled),
                format!(
                    "{} ({} srv)",
                    o.connections.streams_and_posts, o.server.connections_carrying_requests
                ),
                pair(Latency::TimeToFirstEvent, &o.time_to_first_event),
                pair(Latency::PostRtt, &o.post_rtt),
                (o.requests_failed + o.posts_bad_status).to_string(),
            ]
        })
        .collect();
    let mut out = format!(
        "\n{scenario} in Chromium: {} of {planned} points run. Latencies are p50/p99 in milliseconds.\n",
        measured.len()
    );
    out.push_str(&crate::summary::table(&header, &rows, |_, _| false));
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn scenario(text: &str) -> Scenario {
        Scenario::parse(Path::new("t.toml"), text).expect("a valid scenario")
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("ssebench-browser-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        dir
    }

    #[test]
    fn h2c_and_too_many_clients_are_skipped() {
        let s = scenario(
            r#"
name = "t"
protocols = ["h1", "h2c", "h2"]
clients = [1, 50]
streams_per_client = 3
duration = "1s"
"#,
        );
        let points = runnable_points(&s);
        assert_eq!(
            points,
            vec![(1, 3, loadgen::Arm::H1), (1, 3, loadgen::Arm::H2)]
        );
    }

    #[test]
    fn rows_are_chromium_rows_with_the_emulated_names() {
        let s = scenario("name = \"t\"\nprotocols = [\"h2\"]\nduration = \"1s\"\n");
        let meta = crate::meta::run_meta("t-chromium", SystemTime::now());
        let m = Measured {
            clients: 1,
            streams: 4,
            arm: loadgen::Arm::H2,
            outcome: PointOutcome {
                streams_requested: 4,
                streams_opened: 4,
                time_to_first_event: vec![Duration::from_millis(12); 4],
                ..PointOutcome::default()
            },
        };
        let rows = rows(&meta, &s.name, &m);
        let chromium_only = ["connections_carrying_any_request", "page_requests"];
        for row in &rows {
            row.validate().expect("a valid row");
            assert_eq!(row.key.client, ClientKind::Chromium);
            let name = row.key.metric.as_str();
            let emulated = loadgen::Counter::ALL.iter().any(|c| c.name() == name)
                || Latency::ALL.iter().any(|l| l.name() == name)
                || name.starts_with("server_")
                || name.ends_with("_at_end")
                || name == "errors";
            assert!(emulated || chromium_only.contains(&name), "{name}");
        }
        let ttfe = rows
            .iter()
            .find(|r| r.key.metric == "time_to_first_event")
            .expect("a time_to_first_event row");
        match ttfe.value {
            Value::Latency(s) => {
                assert_eq!(s.count, 4);
                assert!((11_990..=12_010).contains(&s.p50.unwrap_or(0)), "{s:?}");
            }
            Value::Counter(_) => panic!("a latency row"),
        }
    }

    #[test]
    fn a_missing_chromium_fails_naming_the_package() {
        let dir = temp_dir("missing");
        let path = dir.join("t.toml");
        std::fs::write(
            &path,
            "name = \"t\"\nprotocols = [\"h1\"]\nduration = \"1s\"\n",
        )
        .expect("scenario written");
        let code = run(BrowserArgs {
            scenario: path,
            out: dir.join("results"),
            chromium: Some(PathBuf::from("/nonexistent/chromium")),
            set: Vec::new(),
        })
        .expect("a handled failure");
        assert_eq!(code, ExitCode::FAILURE);
        let err = browser::find_chromium(Some(Path::new("/nonexistent/chromium")))
            .expect_err("no such binary");
        assert!(
            err.to_string().contains("apt-get install chromium"),
            "{err}"
        );
    }

    /// End to end in real Chromium (which must be installed: this fails without it): one h1
    /// point past the ceiling and one h2 point, written as chromium rows the reader accepts.
    #[test]
    fn tiny_run_writes_chromium_rows() {
        let chromium = browser::find_chromium(None)
            .unwrap_or_else(|e| panic!("this test needs Chromium and never skips: {e}"));
        let dir = temp_dir("run");
        let path = dir.join("tiny.toml");
        std::fs::write(
            &path,
            r#"
name = "tiny"
protocols = ["h1", "h2"]
streams_per_client = 7
warmup = "500ms"
duration = "1s"
[posts]
rate_per_client = 2.0
[server]
event_interval = "50ms"
"#,
        )
        .expect("scenario written");
        let code = run(BrowserArgs {
            scenario: path,
            out: dir.join("results"),
            chromium: Some(chromium),
            set: Vec::new(),
        })
        .expect("a run");
        assert_eq!(code, ExitCode::SUCCESS);
        let csv: Vec<PathBuf> = std::fs::read_dir(dir.join("results"))
            .expect("a results directory")
            .map(|e| e.expect("an entry").path())
            .collect();
        assert_eq!(csv.len(), 1);
        let name = csv[0].file_name().unwrap_or_default().to_string_lossy();
        assert!(name.starts_with("tiny-chromium-"), "{name}");
        let rows = report::read_report(&csv[0]).expect("a readable report");
        let value = |protocol: &str, metric: &str| {
            rows.iter()
                .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
                .map(|r| r.value)
                .unwrap_or_else(|| panic!("no {protocol} {metric} row"))
        };
        assert!(rows.iter().all(|r| r.key.client == ClientKind::Chromium));
        assert_eq!(value("h1", "streams_opened"), Value::Counter(6));
        assert_eq!(value("h1", "streams_queued_at_end"), Value::Counter(1));
        assert_eq!(value("h1", "posts_completed"), Value::Counter(0));
        assert_eq!(value("h2", "streams_opened"), Value::Counter(7));
        assert_eq!(value("h2", "posts_completed"), Value::Counter(2));
        assert_eq!(
            value("h2", "connections_carrying_requests"),
            Value::Counter(1)
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
