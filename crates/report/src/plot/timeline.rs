//! The time-series panels under the sweep's charts: one point over time (the sweep's last point
//! per arm: the most load), so that a fault and the recovery from it show. The x axis is seconds
//! from the start of the point (warm-up included, its end marked in the caption); per arm, events
//! received per second; streams open (solid) and queued (dashed); errors per interval; and
//! `event_delivery` p50 (solid) and p99 (dashed) per interval.

use std::collections::BTreeMap;

use crate::schema::{ClientKind, Protocol};
use crate::series::SeriesRow;

use super::axis::Axis;
use super::figure::{Marker, Panel, Series, Stroke, XAxis};

/// What one value of a row is called in a legend, how it is drawn, and how it is read.
type What = (&'static str, Stroke, Marker, fn(&SeriesRow) -> Option<f64>);
/// A panel: caption, y description, the values per line, and whether they are latencies.
type Group = (&'static str, &'static str, Vec<What>, bool);
/// A line before it is placed: label, colour, stroke, marker, (seconds, value) points.
type RawLine = (String, (u8, u8, u8), Stroke, Marker, Vec<(f64, f64)>);

/// One arm's intervals of its last point.
struct Line<'a> {
    client: ClientKind,
    protocol: Protocol,
    rows: Vec<&'a SeriesRow>,
}

/// The time-series panels for the series rows of one scenario; none without rows.
pub(crate) fn panels(
    rows: &[SeriesRow],
    color: impl Fn(ClientKind, Protocol) -> (u8, u8, u8),
) -> Vec<Panel> {
    // Per arm, the last point (the sweep's order is the run order).
    let mut last: BTreeMap<(ClientKind, Protocol), (u32, u32, &str)> = BTreeMap::new();
    for r in rows {
        last.insert(
            (r.client, r.protocol),
            (r.clients, r.streams_per_client, r.network.as_str()),
        );
    }
    let several_clients = last
        .keys()
        .map(|k| k.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let lines: Vec<Line<'_>> = last
        .iter()
        .map(|(&(client, protocol), &(clients, streams, network))| Line {
            client,
            protocol,
            rows: rows
                .iter()
                .filter(|r| {
                    (
                        r.client,
                        r.protocol,
                        r.clients,
                        r.streams_per_client,
                        r.network.as_str(),
                    ) == (client, protocol, clients, streams, network)
                })
                .collect(),
        })
        .filter(|l| !l.rows.is_empty())
        .collect();
    if lines.is_empty() {
        return Vec::new();
    }
    let label = |l: &Line<'_>, what: &str| {
        if several_clients {
            format!("{} {} {what}", l.client, l.protocol)
        } else {
            format!("{} {what}", l.protocol)
        }
    };
    let end_s = |r: &SeriesRow| r.interval.end().as_secs_f64();
    let x_max = rows.iter().map(end_s).fold(0.0, f64::max);
    let x = Axis::counts([x_max].into_iter());
    let warmup_end = rows
        .iter()
        .filter(|r| r.phase == crate::series::Phase::Warmup)
        .map(end_s)
        .fold(0.0, f64::max);
    let first = lines.first().map(|l| l.rows[0]);
    let point = first.map_or(String::new(), |r| {
        format!(
            "clients={} streams/client={}{}",
            r.clients,
            r.streams_per_client,
            if r.network == crate::LOOPBACK {
                String::new()
            } else {
                format!(" network {}", r.network)
            }
        )
    });
    let warm = if warmup_end > 0.0 {
        format!(", warm-up until {}s", super::axis::short(warmup_end))
    } else {
        String::new()
    };
    let x_axis = XAxis {
        axis: x.clone(),
        desc: format!("seconds from the start of the point ({point}{warm})"),
    };

    let groups: [Group; 4] = [
        (
            "over time: events received per second",
            "events/s",
            vec![("events/s", Stroke::Solid, Marker::Circle, |r| {
                Some(r.interval.events_per_s())
            })],
            false,
        ),
        (
            "over time: streams open (solid) and queued (dashed)",
            "streams (count)",
            vec![
                ("open", Stroke::Solid, Marker::Circle, |r| {
                    Some(r.interval.streams_open as f64)
                }),
                ("queued", Stroke::Dashed, Marker::Triangle, |r| {
                    Some(r.interval.streams_queued as f64)
                }),
            ],
            false,
        ),
        (
            "over time: errors per interval",
            "errors (count)",
            vec![("errors", Stroke::Solid, Marker::Cross, |r| {
                Some(r.interval.errors as f64)
            })],
            false,
        ),
        (
            "over time: event_delivery per interval, p50 solid, p99 dashed",
            "event_delivery",
            vec![
                ("p50", Stroke::Solid, Marker::Circle, |r| {
                    r.delivery_p50_us.map(|v| v as f64)
                }),
                ("p99", Stroke::Dashed, Marker::Triangle, |r| {
                    r.delivery_p99_us.map(|v| v as f64)
                }),
            ],
            true,
        ),
    ];
    let mut panels = Vec::new();
    for (caption, y_desc, whats, latency) in groups {
        let mut raw: Vec<RawLine> = Vec::new();
        for line in &lines {
            for (what, stroke, marker, get) in &whats {
                let points: Vec<(f64, f64)> = line
                    .rows
                    .iter()
                    .filter_map(|r| get(r).map(|v| (end_s(r), v)))
                    .collect();
                if !points.is_empty() {
                    raw.push((
                        label(line, what),
                        color(line.client, line.protocol),
                        *stroke,
                        *marker,
                        points,
                    ));
                }
            }
        }
        if raw.is_empty() {
            continue;
        }
        let values = raw.iter().flat_map(|s| s.4.iter().map(|p| p.1));
        let (y, scale, y_desc) = if latency {
            let (y, scale, unit) = Axis::latencies_us(values);
            (y, scale, format!("{y_desc} ({unit})"))
        } else {
            (Axis::counts(values), 1.0, y_desc.to_owned())
        };
        panels.push(Panel {
            caption: caption.to_owned(),
            y_desc,
            series: raw
                .into_iter()
                .map(|(label, color, stroke, marker, points)| Series {
                    label,
                    color,
                    stroke,
                    width: 2,
                    marker,
                    marker_size: 3,
                    points: points
                        .into_iter()
                        .map(|(t, v)| (x.plot(t), y.plot(v / scale)))
                        .collect(),
                })
                .collect(),
            y,
            x: Some(x_axis.clone()),
        });
    }
    panels
}
