//! What to draw, decided from the rows alone: the sweep axis, the panels, their series and labels.
//! Kept apart from plotters so that the choices can be tested without parsing SVG.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::ReportError;
use vocab::{Counter, Latency, Metric};

use crate::schema::{ClientKind, LatencyField, Protocol, Row, RowKey, Value};

use super::axis::Axis;

/// Latency metrics in the catalog's order (the order a request lives through them); others (from
/// other versions of ssebench) follow alphabetically.
fn latency_rank(metric: &str) -> usize {
    Latency::ALL
        .iter()
        .position(|l| l.name() == metric)
        .unwrap_or(Latency::ALL.len())
}

/// The whole figure.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    pub(crate) title: String,
    pub(crate) subtitle: String,
    pub(crate) x_desc: &'static str,
    pub(crate) x: Axis,
    pub(crate) panels: Vec<Panel>,
}

/// One chart of the grid.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Panel {
    pub(crate) caption: String,
    pub(crate) y_desc: String,
    pub(crate) y: Axis,
    pub(crate) series: Vec<Series>,
    /// The panel's own x axis (time-series panels); `None` shares the figure's sweep axis.
    pub(crate) x: Option<XAxis>,
}

/// An x axis of a panel's own, with its description.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct XAxis {
    pub(crate) axis: Axis,
    pub(crate) desc: String,
}

/// One line with its legend entry; points are in plotted coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Series {
    pub(crate) label: String,
    pub(crate) color: (u8, u8, u8),
    pub(crate) stroke: Stroke,
    /// Line width, pixels.
    pub(crate) width: u32,
    pub(crate) marker: Marker,
    /// Marker radius, pixels.
    pub(crate) marker_size: u32,
    pub(crate) points: Vec<(f64, f64)>,
}

/// How a series' line is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stroke {
    /// Thick and solid: the main value (p50, streams opened).
    Solid,
    /// Thin and dashed: the tail (p99) or a reference (streams requested).
    Dashed,
}

/// The mark at each point of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marker {
    Circle,
    Triangle,
    Square,
    Cross,
}

/// Which sweep parameter goes on the x axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SweepOver {
    StreamsPerClient,
    Clients,
    /// Both vary: clients x streams per client.
    TotalStreams,
}

impl SweepOver {
    fn of(self, key: &RowKey) -> u64 {
        match self {
            Self::StreamsPerClient => key.streams_per_client.into(),
            Self::Clients => key.clients.into(),
            Self::TotalStreams => u64::from(key.clients) * u64::from(key.streams_per_client),
        }
    }

    fn desc(self) -> &'static str {
        match self {
            Self::StreamsPerClient => "SSE streams per client",
            Self::Clients => "clients",
            Self::TotalStreams => "SSE streams in total (clients x streams per client)",
        }
    }
}

/// A protocol arm and how it is drawn.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Arm {
    client: ClientKind,
    protocol: Protocol,
}

impl Arm {
    fn color(&self) -> (u8, u8, u8) {
        arm_color(self.client, self.protocol)
    }
}

/// Each arm's colour, the same in every panel and every plot.
pub(crate) fn arm_color(client: ClientKind, protocol: Protocol) -> (u8, u8, u8) {
    {
        // Okabe-Ito and Tol palettes: distinguishable with the common colour-vision deficiencies.
        match (client, protocol) {
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::H1) => (213, 94, 0),
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::H1Tls) => {
                (204, 121, 167)
            }
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::H2) => (0, 114, 178),
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::H2c) => (0, 158, 115),
            (ClientKind::Chromium, Protocol::H1) => (136, 34, 85),
            (ClientKind::Chromium, Protocol::H1Tls) => (230, 159, 0),
            (ClientKind::Chromium, Protocol::H2) => (86, 180, 233),
            (ClientKind::Chromium, Protocol::H2c) => (17, 119, 51),
            (ClientKind::Firefox, Protocol::H1) => (102, 37, 6),
            (ClientKind::Firefox, Protocol::H1Tls) => (153, 153, 51),
            (ClientKind::Firefox, Protocol::H2) => (51, 34, 136),
            (ClientKind::Firefox, Protocol::H2c) => (68, 170, 153),
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::Ws) => (0, 0, 0),
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::Wss) => (119, 119, 119),
            (ClientKind::Chromium, Protocol::Ws) => (240, 228, 66),
            (ClientKind::Chromium, Protocol::Wss) => (170, 68, 153),
            (ClientKind::Firefox, Protocol::Ws) => (221, 204, 119),
            (ClientKind::Firefox, Protocol::Wss) => (136, 204, 238),
            (ClientKind::Emulated | ClientKind::EmulatedFirefox, Protocol::H3) => (187, 85, 102),
            (ClientKind::Chromium, Protocol::H3) => (0, 68, 136),
            (ClientKind::Firefox, Protocol::H3) => (34, 136, 51),
        }
    }
}

/// The rows of one scenario, indexed for drawing.
struct Sweep<'a> {
    over: SweepOver,
    arms: BTreeSet<Arm>,
    several_clients: bool,
    /// (arm, metric) -> x -> value
    values: BTreeMap<(Arm, &'a str), BTreeMap<u64, Value>>,
}

impl Sweep<'_> {
    fn label(&self, arm: &Arm, what: &str) -> String {
        if self.several_clients {
            format!("{} {} {what}", arm.client, arm.protocol)
        } else {
            format!("{} {what}", arm.protocol)
        }
    }

    /// Counts of several arms often coincide (h1 and h1-tls both open six streams), hiding one
    /// line under another: the first arms are drawn wider, so each shows as a band around the next.
    fn width(&self, arm: &Arm) -> u32 {
        let later_arms = self.arms.iter().filter(|a| *a > arm).count() as u32;
        (2 + 3 * later_arms).min(11)
    }

    fn points(
        &self,
        arm: &Arm,
        metric: &str,
        get: impl Fn(&Value) -> Option<f64>,
    ) -> Vec<(u64, f64)> {
        self.values
            .get(&(arm.clone(), metric))
            .map(|by_x| {
                by_x.iter()
                    .filter_map(|(x, value)| get(value).map(|y| (*x, y)))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn counter(&self, arm: &Arm, metric: &str) -> Vec<(u64, f64)> {
        self.points(arm, metric, |value| match value {
            Value::Counter(count) => Some(*count as f64),
            Value::Latency(_) => None,
        })
    }

    fn latency(&self, arm: &Arm, metric: &str, field: LatencyField) -> Vec<(u64, f64)> {
        self.points(arm, metric, |value| match value {
            Value::Latency(summary) => summary.get(field),
            Value::Counter(_) => None,
        })
    }
}

/// Decides the figure for the rows of one scenario.
pub(crate) fn figure(rows: &[Row]) -> Result<Figure, ReportError> {
    let first = rows.first().ok_or(ReportError::NothingToPlot {
        reason: "the report has no rows",
    })?;
    let scenarios: BTreeSet<&str> = rows.iter().map(|r| r.key.scenario.as_str()).collect();
    if scenarios.len() > 1 {
        return Err(ReportError::SeveralScenarios {
            scenarios: scenarios.into_iter().map(str::to_owned).collect(),
        });
    }
    let sweep = index(rows)?;
    let xs: BTreeSet<u64> = rows.iter().map(|r| sweep.over.of(&r.key)).collect();
    let x = Axis::sweep(&xs.into_iter().collect::<Vec<_>>());

    let mut panels = ceiling_panels(&sweep, &x);
    let mut latency_metrics: Vec<&str> = rows
        .iter()
        .filter(|r| matches!(r.value, Value::Latency(_)))
        .map(|r| r.key.metric.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    latency_metrics.sort_by_key(|m| (latency_rank(m), *m));
    let mut without_samples = Vec::new();
    for metric in latency_metrics {
        match latency_panel(&sweep, &x, metric) {
            Some(panel) => panels.push(panel),
            None => without_samples.push(metric),
        }
    }
    if panels.is_empty() {
        return Err(ReportError::NothingToPlot {
            reason: "no ceiling counters and no latency samples",
        });
    }

    // `errors` is the total when present; otherwise the classes `errors_*` add up to it.
    let error_counts = |wanted: &dyn Fn(&str) -> bool| -> Option<u64> {
        let counts: Vec<u64> = rows
            .iter()
            .filter(|r| wanted(&r.key.metric))
            .filter_map(|r| match r.value {
                Value::Counter(count) => Some(count),
                Value::Latency(_) => None,
            })
            .collect();
        (!counts.is_empty()).then(|| counts.iter().sum())
    };
    let is_class = |m: &str| Metric::from_name(m).is_some_and(|m| matches!(m, Metric::Error(_)));
    let errors = error_counts(&|m| m == Metric::Errors.name())
        .or_else(|| error_counts(&is_class))
        .unwrap_or(0);
    let meta = &first.meta;
    let mut subtitle = format!(
        "run {} | started {} | host {} | git {} | bench {} | errors counted: {errors}",
        meta.run_id, meta.started_utc, meta.host, meta.git_rev, meta.bench_version
    );
    if !without_samples.is_empty() {
        subtitle.push_str(&format!(" | no samples: {}", without_samples.join(", ")));
    }
    Ok(Figure {
        title: format!("ssebench scenario \"{}\"", first.key.scenario),
        subtitle,
        x_desc: sweep.over.desc(),
        x,
        panels,
    })
}

fn index(rows: &[Row]) -> Result<Sweep<'_>, ReportError> {
    let streams: BTreeSet<u32> = rows.iter().map(|r| r.key.streams_per_client).collect();
    let clients: BTreeSet<u32> = rows.iter().map(|r| r.key.clients).collect();
    let over = match (streams.len() > 1, clients.len() > 1) {
        (true, true) => SweepOver::TotalStreams,
        (false, true) => SweepOver::Clients,
        _ => SweepOver::StreamsPerClient,
    };
    let arm_of = |key: &RowKey| Arm {
        client: key.client,
        protocol: key.protocol,
    };
    let mut values: BTreeMap<(Arm, &str), BTreeMap<u64, Value>> = BTreeMap::new();
    let mut points_by_x: BTreeMap<(Arm, u64), (u32, u32)> = BTreeMap::new();
    for row in rows {
        let (arm, x) = (arm_of(&row.key), over.of(&row.key));
        let point = (row.key.clients, row.key.streams_per_client);
        if let Some(other) = points_by_x.insert((arm.clone(), x), point) {
            if other != point {
                return Err(ReportError::AmbiguousSweep {
                    scenario: row.key.scenario.clone(),
                    arm: format!("{} {}", arm.client, arm.protocol),
                    total: x,
                });
            }
        }
        values
            .entry((arm, row.key.metric.as_str()))
            .or_default()
            .insert(x, row.value);
    }
    let arms: BTreeSet<Arm> = rows.iter().map(|r| arm_of(&r.key)).collect();
    let several_clients = arms.iter().map(|a| a.client).collect::<BTreeSet<_>>().len() > 1;
    Ok(Sweep {
        over,
        arms,
        several_clients,
        values,
    })
}

/// Series of counters, one per arm that has the metric.
fn counter_series(sweep: &Sweep<'_>, metric: &str, marker: Marker) -> Vec<RawSeries> {
    sweep
        .arms
        .iter()
        .map(|arm| {
            let width = sweep.width(arm);
            RawSeries {
                label: sweep.label(arm, metric),
                color: arm.color(),
                stroke: Stroke::Solid,
                width,
                marker,
                marker_size: 3 + width / 2,
                points: sweep.counter(arm, metric),
            }
        })
        .filter(|s| !s.points.is_empty())
        .collect()
}

/// A counter that is the same for every arm by design (`streams_requested`): one thin dashed grey
/// line; per arm if the arms disagree after all.
fn reference_series(sweep: &Sweep<'_>, metric: &str) -> Vec<RawSeries> {
    let mut series = counter_series(sweep, metric, Marker::Cross);
    for s in &mut series {
        s.stroke = Stroke::Dashed;
        s.width = 1;
        s.marker_size = 4;
    }
    if series.windows(2).all(|w| w[0].points == w[1].points) {
        series.truncate(1);
        if let Some(s) = series.first_mut() {
            s.label = metric.to_owned();
            s.color = (90, 90, 90);
        }
    }
    series
}

/// A series before its y values are scaled and placed.
struct RawSeries {
    label: String,
    color: (u8, u8, u8),
    stroke: Stroke,
    width: u32,
    marker: Marker,
    marker_size: u32,
    points: Vec<(u64, f64)>,
}

impl RawSeries {
    fn place(self, x: &Axis, y: &Axis, scale: f64) -> Series {
        Series {
            label: self.label,
            color: self.color,
            stroke: self.stroke,
            width: self.width,
            marker: self.marker,
            marker_size: self.marker_size,
            points: self
                .points
                .into_iter()
                .map(|(px, py)| (x.plot(px as f64), y.plot(py / scale)))
                .collect(),
        }
    }
}

/// The ceiling: streams opened (against requested) and connections used; then the POSTs
/// completed (against scheduled), in a panel of their own since their scale is another.
fn ceiling_panels(sweep: &Sweep<'_>, x: &Axis) -> Vec<Panel> {
    // References last: drawn on top, a thin dashed line stays visible over the bands.
    let name = Counter::name;
    let mut streams = counter_series(sweep, name(Counter::StreamsOpened), Marker::Circle);
    let connections = name(Counter::ConnectionsCarryingRequests);
    streams.extend(counter_series(sweep, connections, Marker::Square));
    streams.extend(reference_series(sweep, name(Counter::StreamsRequested)));
    let mut posts = counter_series(sweep, name(Counter::PostsCompleted), Marker::Triangle);
    posts.extend(reference_series(sweep, name(Counter::PostsScheduled)));
    let groups = [
        (
            "ceiling: SSE streams opened, connections used",
            "streams, connections (count)",
            streams,
        ),
        ("ceiling: POSTs completed", "POSTs (count)", posts),
    ];
    groups
        .into_iter()
        .filter(|(_, _, series)| !series.is_empty())
        .map(|(caption, y_desc, series)| {
            let y = Axis::counts(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
            Panel {
                caption: caption.to_owned(),
                y_desc: y_desc.to_owned(),
                series: series.into_iter().map(|s| s.place(x, &y, 1.0)).collect(),
                y,
                x: None,
            }
        })
        .collect()
}

/// p50 and p99 of one latency metric per arm; `None` if no arm has samples.
fn latency_panel(sweep: &Sweep<'_>, x: &Axis, metric: &str) -> Option<Panel> {
    let mut series = Vec::new();
    // Samples still waiting when a point ended are counted at that lower bound (the ceiling);
    // the series that carry any say so.
    let censored_rows = Latency::ALL
        .iter()
        .find(|l| l.name() == metric)
        .map(|l| l.censored_name());
    let mut any_censored = false;
    for arm in &sweep.arms {
        let censored = censored_rows
            .is_some_and(|name| sweep.counter(arm, name).iter().any(|&(_, n)| n > 0.0));
        any_censored |= censored;
        for (field, stroke, width, marker) in [
            (LatencyField::P50, Stroke::Solid, 2, Marker::Circle),
            (LatencyField::P99, Stroke::Dashed, 1, Marker::Triangle),
        ] {
            let points = sweep.latency(arm, metric, field);
            if !points.is_empty() {
                let what = if censored {
                    format!("{field} (>=, censored)")
                } else {
                    field.to_string()
                };
                series.push(RawSeries {
                    label: sweep.label(arm, &what),
                    color: arm.color(),
                    stroke,
                    width,
                    marker,
                    marker_size: 4,
                    points,
                });
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    let (y, scale, unit) =
        Axis::latencies_us(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)));
    let note = if any_censored {
        "; >= = some samples still waited at the end (lower bounds)"
    } else {
        ""
    };
    Some(Panel {
        caption: format!("{metric}: p50 solid, p99 dashed{note}"),
        y_desc: format!("{metric} ({unit})"),
        series: series.into_iter().map(|s| s.place(x, &y, scale)).collect(),
        y,
        x: None,
    })
}
