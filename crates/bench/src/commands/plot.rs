//! `bench plot REPORT.csv`: draw a sweep as SVG, one file per scenario.
//!
//! Thin glue over [`report::plot_report`]; `report::plot` documents what the figure shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use report::Row;

use crate::exit::ExitStatus;

/// Draw a report's sweep as SVG: the connection ceiling and p50/p99 of every latency metric
/// against streams per client (or clients), one line per protocol arm; under them, when the
/// run's `REPORT.series.csv` is beside it, the last point of each arm over time.
#[derive(clap::Args, Debug)]
pub struct PlotArgs {
    /// The report(s) to plot (CSV written by `bench run`); each gets its own SVG.
    #[arg(value_name = "REPORT.csv", required = true, num_args = 1..)]
    pub reports: Vec<PathBuf>,

    /// Where to write the SVG, with a single REPORT [default: REPORT with the extension .svg].
    /// A report holding several scenarios gives one file per scenario: OUT's stem +
    /// `.SCENARIO.svg`.
    #[arg(long, value_name = "FILE.svg")]
    pub out: Option<PathBuf>,
}

/// Runs `bench plot`: writes the SVG file(s) and prints their paths. An unreadable or empty
/// report is unusable input (2); a plot that cannot be drawn or written is a failure (1).
pub fn run(args: PlotArgs) -> ExitStatus {
    if args.out.is_some() && args.reports.len() > 1 {
        eprintln!(
            "error: --out goes with a single report; without it each REPORT.csv gives REPORT.svg"
        );
        return ExitStatus::Usage;
    }
    for report in &args.reports {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| report.with_extension("svg"));
        match plot_to(report, &out) {
            Ok(paths) => {
                for path in paths {
                    super::show(&format!("wrote {}\n", path.display()));
                }
            }
            Err(PlotError::Input(e)) => {
                eprintln!("error: {e:#}");
                return ExitStatus::Usage;
            }
            Err(PlotError::Output(e)) => {
                eprintln!("error: {e:#}");
                return ExitStatus::Failure;
            }
        }
    }
    ExitStatus::Success
}

/// Why a report could not be plotted.
#[derive(Debug)]
pub enum PlotError {
    /// The report cannot be read, or holds nothing to plot.
    Input(anyhow::Error),
    /// The plot cannot be drawn or written.
    Output(anyhow::Error),
}

/// Plots the report at `report` into `out` (one file per scenario if it holds several, see
/// [`PlotArgs::out`]). Used by `bench run` to draw the plot next to its report.
pub fn plot_file(report: &Path, out: &Path) -> Result<(), PlotError> {
    plot_to(report, out).map(drop)
}

/// Like [`plot_file`], returning the files written.
fn plot_to(report: &Path, out: &Path) -> Result<Vec<PathBuf>, PlotError> {
    let rows = report::read_report(report).map_err(|e| PlotError::Input(e.into()))?;
    let mut by_scenario: BTreeMap<&str, Vec<Row>> = BTreeMap::new();
    for row in &rows {
        by_scenario
            .entry(row.key.scenario.as_str())
            .or_default()
            .push(row.clone());
    }
    if by_scenario.is_empty() {
        return Err(PlotError::Input(anyhow::anyhow!(
            "{}: the report has no rows to plot",
            report.display()
        )));
    }
    // The run's time series, when its file is beside the report (a report from an older version,
    // a browser run or a merge has none: the figure then has no time panels).
    let series_file = report::series::series_path(report);
    let series = if series_file.exists() {
        report::series::read_series(&series_file).map_err(|e| PlotError::Input(e.into()))?
    } else {
        Vec::new()
    };
    let several = by_scenario.len() > 1;
    let mut written = Vec::new();
    for (scenario, rows) in &by_scenario {
        let path = if several {
            per_scenario_path(out, scenario)
        } else {
            out.to_owned()
        };
        let scenario_series: Vec<report::series::SeriesRow> = series
            .iter()
            .filter(|r| r.scenario == *scenario)
            .cloned()
            .collect();
        report::plot_report_with_series(rows, &scenario_series, &path)
            .with_context(|| format!("cannot plot scenario {scenario:?} of {}", report.display()))
            .map_err(PlotError::Output)?;
        written.push(path);
    }
    Ok(written)
}

impl std::fmt::Display for PlotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PlotError::Input(e) | PlotError::Output(e) => write!(f, "{e:#}"),
        }
    }
}

/// `dir/stem.svg` and scenario `a b` give `dir/stem.a_b.svg`.
fn per_scenario_path(out: &Path, scenario: &str) -> PathBuf {
    let safe: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stem = out
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!("{stem}.{safe}.svg"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_scenario_paths_are_safe_file_names() {
        let path = per_scenario_path(Path::new("results/run.svg"), "fan out/8");
        assert_eq!(path, Path::new("results").join("run.fan_out_8.svg"));
    }
}
