//! `bench SCENARIO.toml`: load and validate the scenario, run it, print the summary, write the plot.

use std::process::ExitCode;

use anyhow::Context as _;
use loadgen::Arm;
use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::runner::{self, RunOptions, Stopped};
use crate::scenario::{Scenario, TargetSpec, TrustSpec};

/// Exit code for unusable input.
const EXIT_USAGE: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

pub fn run(args: RunArgs) -> anyhow::Result<ExitCode> {
    let path = args.scenario.clone().context("no scenario file given")?;
    let scenario = match Scenario::load_with(&path, &args.set) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}", crate::scenario::one_line(&e));
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let target = match target_override(&args, &scenario) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    let embedded = target.is_none() && scenario.target.is_none();
    let limit = crate::limits::raise_nofile();
    if let Err(e) = crate::limits::check(&scenario, embedded, limit) {
        eprintln!("error: {e}");
        return Ok(ExitCode::from(EXIT_USAGE));
    }
    let opts = RunOptions {
        out_dir: args.out.clone(),
        target,
        progress_bar: !args.no_progress,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(scenario.client_threads)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
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
        runner::run(&scenario, &opts, stop).await
    });
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e:#}");
            return Ok(ExitCode::from(EXIT_USAGE));
        }
    };
    print!("{}", crate::summary::render(&scenario.name, &result));
    if let Some(Stopped::Fatal(_, reason)) = &result.stopped {
        eprintln!(
            "error: run stopped: {reason}; the rows measured so far are in {}",
            result.csv.display()
        );
    }
    if !args.no_plot && !result.points.is_empty() {
        let svg = result.csv.with_extension("svg");
        match crate::cmd_plot::plot_file(&result.csv, &svg) {
            Ok(()) => println!("plot: {}", svg.display()),
            Err(e) => eprintln!("warning: no plot drawn: {e:#}"),
        }
    }
    Ok(match result.stopped {
        None => ExitCode::SUCCESS,
        Some(Stopped::Interrupted) => ExitCode::from(EXIT_INTERRUPTED),
        Some(Stopped::Fatal(..)) => ExitCode::FAILURE,
    })
}

/// `--target` flags as a target spec, or `None` to keep the scenario's.
fn target_override(args: &RunArgs, scenario: &Scenario) -> anyhow::Result<Option<TargetSpec>> {
    if args.target.is_empty() {
        if args.cacert.is_some()
            || args.insecure
            || args.events_path.is_some()
            || args.messages_path.is_some()
        {
            anyhow::bail!(
                "--cacert, --insecure, --events-path and --messages-path go with --target"
            );
        }
        return Ok(None);
    }
    if !scenario.faults.is_none() {
        anyhow::bail!(
            "--target replaces the embedded server, which is what injects the scenario's [faults]: drop --target or the [faults] table"
        );
    }
    // (arm, URL, the flag as written)
    let mut per_arm: Vec<(Option<Arm>, String, &str)> = Vec::new();
    for t in &args.target {
        match t.split_once('=') {
            Some((arm, url)) if !arm.contains(':') => {
                let arm: Arm = arm
                    .parse()
                    .with_context(|| format!("--target {t}: bad protocol before '='"))?;
                per_arm.push((Some(arm), url.to_owned(), t));
            }
            _ => per_arm.push((None, t.clone(), t)),
        }
    }
    let mut urls = Vec::new();
    let mut url_from = Vec::new();
    for &arm in &scenario.protocols {
        let specific = per_arm.iter().find(|(a, _, _)| *a == Some(arm));
        let general = per_arm
            .iter()
            .find(|(a, u, _)| a.is_none() && u.starts_with(&format!("{}://", arm.scheme())));
        match specific.or(general) {
            Some((_, url, flag)) => {
                urls.push((arm, url.clone()));
                url_from.push((arm, format!("--target {flag}")));
            }
            None => anyhow::bail!(
                "the scenario runs {arm}, which needs an {}:// URL: add --target {arm}=URL or drop {arm} from `protocols`",
                arm.scheme()
            ),
        }
    }
    let trust = match (&args.cacert, args.insecure) {
        (Some(p), _) => TrustSpec::CaFile(p.clone()),
        (None, true) => TrustSpec::Insecure,
        (None, false) => TrustSpec::None,
    };
    let channel = &scenario.channel;
    Ok(Some(TargetSpec {
        urls,
        url_from,
        events_path: args
            .events_path
            .clone()
            .unwrap_or_else(|| format!("/events?channel={channel}")),
        messages_path: args
            .messages_path
            .clone()
            .unwrap_or_else(|| format!("/messages?channel={channel}")),
        trust,
    }))
}
