//! `bench SCENARIO.toml` (the emulation) and `bench browser SCENARIO.toml` (a real browser): load
//! and validate the scenario, resolve the target, check the descriptor budget, run the points,
//! print the summary, draw the plot. One path for every client kind; only picking the client
//! differs.

use std::path::Path;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::cli::{BrowserArgs, OutputFormat, RunArgs};
use crate::exit::ExitStatus;
use crate::run::client::Client;
use crate::run::{self, RunError, RunOptions, Stopped};
use crate::scenario::{self, Override, Scenario, TargetFlags};

/// `bench SCENARIO.toml`: the emulation against the embedded server or `--target`.
pub fn emulated(args: RunArgs) -> ExitStatus {
    let Some(path) = args.scenario.clone() else {
        eprintln!("error: no scenario file given");
        return ExitStatus::Usage;
    };
    let Some(scenario) = load(&path, &args.set) else {
        return ExitStatus::Usage;
    };
    let flags = TargetFlags {
        targets: args.target.clone(),
        cacert: args.cacert.clone(),
        insecure: args.insecure,
        events_path: args.events_path.clone(),
        messages_path: args.messages_path.clone(),
        answers_path: args.answers_path.clone(),
        allow_remote: args.allow_remote,
    };
    let target = match scenario::resolve_target(&scenario, &flags) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitStatus::Usage;
        }
    };
    if let Some(pid) = args.server_pid {
        if target.is_none() {
            eprintln!("error: --server-pid {pid}: needs a target (--target or [target]); the embedded server shares this process");
            return ExitStatus::Usage;
        }
        if let Err(e) = run::memory::rss_bytes(pid) {
            eprintln!("error: --server-pid {pid}: {}", vocab::error_chain(&e));
            return ExitStatus::Usage;
        }
    }
    let limit = run::limits::raise_nofile();
    if let Err(e) = run::limits::check(&scenario, target.is_none(), limit, args.shard) {
        eprintln!("error: {e}");
        return ExitStatus::Usage;
    }
    let Ok(network) = start_network(&scenario) else {
        return ExitStatus::Usage;
    };
    let opts = RunOptions {
        out_dir: args.output.out.clone(),
        target,
        client: Client::Emulated {
            shard: args.shard,
            profile: scenario.browser,
        },
        progress_bar: !args.output.no_progress,
        network,
        server_pid: args.server_pid,
    };
    execute(&scenario, &opts, !args.output.no_plot, args.format)
}

/// `bench browser SCENARIO.toml`: the same points in a real headless browser.
pub fn browser(args: BrowserArgs) -> ExitStatus {
    let Some(scenario) = load(&args.scenario, &args.set) else {
        return ExitStatus::Usage;
    };
    let kind = args.browser;
    let path = match browser::find_browser(kind, args.browser_path.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            if matches!(e, browser::BrowserError::NotFound { .. }) {
                eprintln!("hint: or give the binary with --browser-path PATH");
            }
            return ExitStatus::Failure;
        }
    };
    if scenario.max_connections_per_origin != loadgen::defaults::CONNECTIONS_PER_ORIGIN {
        eprintln!(
            "note: max_connections_per_origin = {} does not apply: {kind} always uses {}",
            scenario.max_connections_per_origin,
            loadgen::defaults::CONNECTIONS_PER_ORIGIN
        );
    }
    if scenario.target.is_some() {
        eprintln!("note: the scenario's [target] does not apply: a browser point runs against the embedded server");
    }
    let Ok(network) = start_network(&scenario) else {
        return ExitStatus::Usage;
    };
    let opts = RunOptions {
        out_dir: args.output.out.clone(),
        target: None,
        client: Client::Browser {
            browser: kind,
            path,
        },
        progress_bar: !args.output.no_progress,
        network,
        server_pid: None,
    };
    execute(&scenario, &opts, !args.output.no_plot, OutputFormat::Text)
}

/// The scenario's emulated network, started, or `None` without a `[network]` table; `Err` (said
/// on stderr) when it cannot start, e.g. without the privileges it names: unusable input (exit 2).
fn start_network(scenario: &Scenario) -> Result<Option<Arc<netem::Emulator>>, ()> {
    let Some(settings) = &scenario.network else {
        return Ok(None);
    };
    run::network::start(settings).map(Some).map_err(|e| {
        eprintln!("error: {e:#}");
    })
}

/// The scenario file at `path`; or, when there is no such file, the shipped scenario of that name
/// (`bench six-connection-ceiling`).
fn load(path: &Path, set: &[Override]) -> Option<Scenario> {
    let shipped = (!path.exists())
        .then(|| path.to_str().and_then(scenario::shipped::find))
        .flatten();
    let loaded = match shipped {
        Some(s) => scenario::parse_with(Path::new(s.file), s.text, set),
        None => Scenario::load_with(path, set),
    };
    match loaded {
        Ok(s) => Some(s),
        Err(e) => {
            eprintln!("error: {}", scenario::one_line(&e));
            if matches!(e, scenario::ScenarioError::Read { .. }) {
                eprintln!(
                    "hint: give a scenario file, or the name of a shipped one ({}; `bench scenarios` lists them)",
                    scenario::shipped::names()
                );
            }
            None
        }
    }
}

/// Runs the points on a runtime of `client_threads` workers, with Ctrl-C finishing the current
/// point; prints the summary and draws the plot; maps the end to an exit status.
fn execute(scenario: &Scenario, opts: &RunOptions, plot: bool, format: OutputFormat) -> ExitStatus {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder
        .worker_threads(scenario.client_threads)
        .thread_name(run::health::CLIENT_THREADS)
        .enable_all();
    if let Some(network) = &opts.network {
        // Every socket of the load generator (or of the browser runner: the browser's remote
        // protocol port is on the client namespace's loopback) lives in the emulated network's
        // client namespace: its runtime's threads, and this thread (which runs the run loop),
        // enter it.
        if let Err(e) = network.enter(netem::Side::Client) {
            eprintln!("error: cannot enter the client's network namespace: {e}");
            return ExitStatus::Failure;
        }
        let network = std::sync::Arc::clone(network);
        builder.on_thread_start(move || {
            if let Err(e) = network.enter(netem::Side::Client) {
                tracing::error!("cannot enter the client's network namespace: {e}");
            }
        });
    }
    let runtime = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitStatus::Failure;
        }
    };
    let result = runtime.block_on(async {
        let stop = CancellationToken::new();
        let on_signal = stop.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!(
                    "\ninterrupted: finishing the current point and writing what was measured"
                );
                on_signal.cancel();
            }
        });
        run::run(scenario, opts, stop).await
    });
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {}", vocab::error_chain(&e));
            return match e {
                RunError::Target(_) | RunError::NoPoints { .. } => ExitStatus::Usage,
                RunError::CreateReport { .. } => ExitStatus::Failure,
            };
        }
    };
    match format {
        OutputFormat::Text => super::show(&run::summary::render(&scenario.name, &result)),
        OutputFormat::Json => super::show(&run::summary::render_json(scenario, &result)),
    }
    if let Some(Stopped::Failed(reason)) = &result.stopped {
        if result.report_failed {
            eprintln!("error: run stopped: {reason}");
        } else {
            eprintln!(
                "error: run stopped: {reason}; the rows measured so far are in {}",
                result.csv.display()
            );
        }
    }
    if plot && !result.points.is_empty() && !result.report_failed {
        let svg = result.csv.with_extension("svg");
        match crate::commands::plot::plot_file(&result.csv, &svg) {
            Ok(()) if format == OutputFormat::Text => {
                super::show(&format!("plot: {}\n", svg.display()))
            }
            Ok(()) => eprintln!("plot: {}", svg.display()),
            Err(e) => eprintln!("warning: no plot drawn: {e}"),
        }
    }
    match result.stopped {
        None => ExitStatus::Success,
        Some(Stopped::Interrupted) => ExitStatus::Interrupted,
        Some(Stopped::Failed(_)) => ExitStatus::Failure,
    }
}
