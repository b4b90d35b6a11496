//! `bench compare BASE.csv NEW.csv`: did the new run regress against the baseline?
//!
//! Thin glue over [`report::compare_files`]: parse the flags into [`CompareOptions`], print the
//! table, and map the outcome to the exit status: 0 no regression, 1 regression, 2 unusable input
//! (unreadable or malformed report, reports that do not cover the same rows, bad thresholds).

use std::error::Error;

use std::iter;
use std::path::PathBuf;

use crate::exit::ExitStatus;
use report::{
    compare_files, CompareOptions, TableFormat, ThresholdError, ThresholdSpec, Thresholds, Verdict,
    DEFAULT_FLOOR_US, DEFAULT_MIN_TAIL_SAMPLES,
};

const THRESHOLD_HELP: &str = "\
Thresholds are KEY=RULE. KEY is a latency field (count, mean, p50, p90, p99, p999, max) for every
latency metric, METRIC.FIELD for one metric (fanout.p99), or a metric name, optionally ending in *
(posts_completed, errors_*). RULE is +25% (new at most 25% above base), +10 (at most 10 above;
microseconds for latencies), +0 (must not increase), -0 or -5% (must not decrease, by more than 5%),
=0 or =5% (must not change either way: a behaviour change, verdict CHANGED), or off (shown, never
fails). The most specific key wins; among equals the last: --threshold over --thresholds over the
defaults. Latency fields are compared only when some key names them.

Defaults (a doubling of p50 or p99 is caught, run-to-run noise on a shared 2-core machine is not):";

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

/// Compare a new report against a baseline and fail on regressions.
///
/// Rows are joined on scenario, client, protocol, clients, streams per client and metric. With
/// several runs per side, a counter is the median over the side's runs and a latency is read from
/// their merged histograms (every sample of every run). A line that is not judged says why. Exit
/// status: 0 no regression, 1 regression (REGRESSION or CHANGED lines), 2 unusable input.
#[derive(clap::Args, Debug)]
#[command(after_long_help = after_long_help())]
pub struct CompareArgs {
    /// The baseline report (CSV written by `bench run`).
    #[arg(value_name = "BASE.csv")]
    pub base: PathBuf,

    /// The report(s) to check against the baseline; several are several runs of the new side
    /// (e.g. a shell glob), taken together like --new.
    #[arg(value_name = "NEW.csv", required = true, num_args = 1..)]
    pub new: Vec<PathBuf>,

    /// Another baseline run of the same scenarios (repeatable); the baseline is then every
    /// baseline run together (medians of counters, merged latency histograms), so one noisy run
    /// cannot decide.
    #[arg(long = "base", value_name = "CSV")]
    pub more_base: Vec<PathBuf>,

    /// Another new run (repeatable); the new side is then every new run together.
    #[arg(long = "new", value_name = "CSV")]
    pub more_new: Vec<PathBuf>,

    /// Print a Markdown table (for a pull-request comment) instead of aligned text; the same as
    /// `--format markdown`.
    #[arg(long, conflicts_with = "format")]
    pub markdown: bool,

    /// How to print the comparison: aligned text, a Markdown table, or JSON (one object with
    /// every line and the verdict, for programs).
    #[arg(long, value_enum)]
    pub format: Option<Format>,

    /// A threshold, KEY=RULE, e.g. `p99=+100%`, `fanout.p99=+50%`, `errors_*=+0`, `p50=off`
    /// (repeatable; overrides --thresholds and the defaults). See --help for the syntax.
    #[arg(long = "threshold", value_name = "KEY=RULE", value_parser = ThresholdSpec::parse_flag)]
    pub thresholds: Vec<ThresholdSpec>,

    /// A file of thresholds: one KEY=RULE per line, `#` starts a comment. Applied over the
    /// defaults.
    #[arg(long = "thresholds", value_name = "FILE")]
    pub thresholds_file: Option<PathBuf>,

    /// Start from no thresholds instead of the defaults: only --threshold and --thresholds apply.
    #[arg(long)]
    pub no_default_thresholds: bool,

    /// A latency that moves by at most this many microseconds, or by at most half its base value
    /// when that is less (but never under 20 us), is never a regression (0: no floor).
    #[arg(long, value_name = "MICROSECONDS", default_value_t = DEFAULT_FLOOR_US)]
    pub floor_us: u64,

    /// Judge a percentile only when each side has at least this many samples at or beyond it (p50
    /// needs 2x as many samples in all, p99 100x): the samples of all its runs, read from their
    /// merged histograms, or of every run for reports without histograms; others show `not
    /// judged` with the count (0: judge whatever the count). A latency change within the spread
    /// between the baseline's runs never counts either.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_TAIL_SAMPLES)]
    pub min_tail_samples: u64,

    /// Rows present in one report only are listed (base-only, new-only) instead of making the
    /// input unusable (exit 2).
    #[arg(long)]
    pub allow_missing: bool,
    /// Join rows whatever their client column says (e.g. an emulated report against a
    /// `bench browser` Chromium report of the same scenario); implies --allow-missing, since the
    /// two clients do not record the same metrics
    #[arg(long)]
    pub across_clients: bool,
}

fn after_long_help() -> String {
    format!("{THRESHOLD_HELP}\n{}", report::default_thresholds())
}

/// Runs `bench compare`: prints the table on stdout; returns exit status 0, 1 or 2.
pub fn run(args: CompareArgs) -> ExitStatus {
    let options = match options(&args) {
        Ok(options) => options,
        Err(error) => return unusable(&error, None),
    };
    let base: Vec<PathBuf> = iter::once(args.base).chain(args.more_base).collect();
    let new: Vec<PathBuf> = args.new.into_iter().chain(args.more_new).collect();
    let comparison = match compare_files(&base, &new, &options) {
        Ok(comparison) => comparison,
        Err(error) => return unusable(&error, None),
    };
    for spec in &comparison.unmatched_thresholds {
        eprintln!(
            "warning: threshold `{spec}` (from {}) matches no metric in either report",
            spec.origin
        );
    }
    let format = match (args.format, args.markdown) {
        (Some(Format::Json), _) => TableFormat::Json,
        (Some(Format::Markdown), _) | (None, true) => TableFormat::Markdown,
        (Some(Format::Text), _) | (None, false) => TableFormat::Text,
    };
    // `bench compare ... | head`: the reader has seen enough; the verdict still counts.
    if let Err(error) = super::print_stdout(&comparison.render(format)) {
        eprintln!("error: cannot print the comparison: {error}");
        return ExitStatus::Failure;
    }
    match comparison.verdict() {
        Ok(Verdict::NoRegression) => ExitStatus::Success,
        Ok(Verdict::Regression) => ExitStatus::Failure,
        Err(error) => {
            let hint = "pass --allow-missing to compare the rows both reports have";
            unusable(&error, Some(hint))
        }
    }
}

/// The thresholds: defaults (unless disabled), then the file, then the flags.
fn options(args: &CompareArgs) -> Result<CompareOptions, ThresholdError> {
    let mut thresholds = if args.no_default_thresholds {
        Thresholds::empty()
    } else {
        Thresholds::default()
    };
    if let Some(path) = &args.thresholds_file {
        thresholds.extend_from_file(path)?;
    }
    for spec in &args.thresholds {
        thresholds.push(spec.clone());
    }
    Ok(CompareOptions {
        thresholds,
        floor_us: args.floor_us,
        min_tail_samples: args.min_tail_samples,
        allow_missing: args.allow_missing,
        across_clients: args.across_clients,
    })
}

/// Prints `error: ...` with the whole cause chain, and returns exit status 2.
fn unusable(error: &(dyn Error + 'static), hint: Option<&str>) -> ExitStatus {
    eprintln!("error: {}", vocab::error_chain(error));
    if let Some(hint) = hint {
        eprintln!("hint: {hint}");
    }
    ExitStatus::Usage
}
