//! `bench plot`: one SVG per scenario showing what the connection limit does across a sweep.
//!
//! The x axis is the sweep parameter: streams per client; or clients, when only the number of
//! clients varies; or their product, when both vary. The first two panels are the ceiling: per
//! protocol arm, the SSE streams opened (circles) and the connections that carried requests
//! (squares) against the streams requested (thin dashed grey reference); then the POSTs completed
//! (triangles) against those scheduled, in a panel of their own because their scale is another.
//! Arms whose counts coincide (h1 and h1-tls both stop at six) would hide each other, so earlier
//! arms are drawn as wider bands around later ones. Then one panel per latency metric present, in
//! the catalog's order ([`vocab::Latency::ALL`], then others): p50 solid with circles, p99 thin
//! and dashed with triangles. Latencies are in microseconds below 10 ms, milliseconds below
//! 100 s, seconds above; an axis whose values span more than a factor of 50 is logarithmic
//! (labelled so), with zeros drawn on its bottom edge. Each arm (client kind and protocol) keeps
//! its colour in every panel and every plot. Every panel has its legend beside it, with names
//! such as `h2 streams_opened` or `h1-tls p99`.
//!
//! Under them, when the run's time series is given ([`plot_report_with_series`]), the sweep's last
//! point per arm over time: events per second, streams open and queued, errors, and
//! `event_delivery` p50/p99 per interval, against seconds from the start of the point (see
//! `timeline.rs`).
//!
//! One figure holds one scenario: [`plot_report`] refuses rows of several scenarios (the CLI writes
//! one file per scenario instead). Metrics without any sample are listed in the subtitle rather
//! than drawn as empty panels; so is the sum of all `errors*` counters, so that a plot of a failing
//! run never looks like a clean one.

mod axis;
mod draw;
mod figure;
mod timeline;

use std::fs;
use std::path::Path;

use crate::error::ReportError;
use crate::schema::Row;
use crate::series::SeriesRow;

/// Draws the rows of one scenario as an SVG file at `out`.
pub fn plot_report(rows: &[Row], out: &Path) -> Result<(), ReportError> {
    plot_report_with_series(rows, &[], out)
}

/// Draws the rows of one scenario and, under them, its time series (the rows of the run's
/// `.series.csv` for that scenario; none draws no time panel).
pub fn plot_report_with_series(
    rows: &[Row],
    series: &[SeriesRow],
    out: &Path,
) -> Result<(), ReportError> {
    let svg = render_svg(rows, series, out)?;
    fs::write(out, svg).map_err(|source| ReportError::Io {
        path: out.to_owned(),
        action: "write",
        source,
    })
}

/// The SVG document for the rows of one scenario; `out` only names the file in errors.
fn render_svg(rows: &[Row], series: &[SeriesRow], out: &Path) -> Result<String, ReportError> {
    let mut figure = figure::figure(rows)?;
    figure
        .panels
        .extend(timeline::panels(series, figure::arm_color));
    draw::render(&figure).map_err(|source| ReportError::Draw {
        path: out.to_owned(),
        source: Box::new(source),
    })
}
