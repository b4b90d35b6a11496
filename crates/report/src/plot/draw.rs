//! Drawing a [`Figure`] with plotters' SVG backend: a title, then a grid of panels, each a chart
//! with its own legend to its right (outside the plot, so it never hides a line).
//!
//! Text is written as SVG `<text>` elements in the generic `sans-serif` family: plotters is built
//! without `ttf`/`ab_glyph`, so no font file is read at any point, and the viewer picks the font.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::axis::Axis;
use super::figure::{Figure, Marker, Panel, Series, Stroke};

/// Width of one panel (chart and legend), pixels.
const PANEL_WIDTH: u32 = 860;
/// Height of one panel, pixels.
const PANEL_HEIGHT: u32 = 430;
/// Width of a panel's legend column, pixels.
const LEGEND_WIDTH: u32 = 290;
/// Height of the title block, pixels.
const TITLE_HEIGHT: u32 = 76;
const FONT: &str = "sans-serif";

type DrawResult<T> = Result<T, DrawingAreaErrorKind<std::io::Error>>;

/// Renders the figure as an SVG document.
pub(crate) fn render(figure: &Figure) -> DrawResult<String> {
    let columns = if figure.panels.len() > 1 { 2 } else { 1 };
    let rows = figure.panels.len().div_ceil(columns);
    let size = (
        PANEL_WIDTH * columns as u32,
        TITLE_HEIGHT + PANEL_HEIGHT * rows as u32,
    );
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)?;
        let (header, body) = root.split_vertically(TITLE_HEIGHT);
        let title = (FONT, 26).into_font().style(FontStyle::Bold).color(&BLACK);
        header.draw_text(&figure.title, &title, (20, 14))?;
        let subtitle = (FONT, 15).into_font().color(&RGBColor(70, 70, 70));
        header.draw_text(&figure.subtitle, &subtitle, (20, 50))?;
        for (panel, area) in figure.panels.iter().zip(body.split_evenly((rows, columns))) {
            draw_panel(&area, figure, panel)?;
        }
        root.present()?;
    }
    Ok(svg)
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    figure: &Figure,
    panel: &Panel,
) -> DrawResult<()> {
    let (chart_area, legend_area) = area.split_horizontally(PANEL_WIDTH - LEGEND_WIDTH);
    let (x_axis, x_desc) = match &panel.x {
        Some(own) => (&own.axis, own.desc.as_str()),
        None => (&figure.x, figure.x_desc),
    };
    let mut chart = ChartBuilder::on(&chart_area)
        .caption(&panel.caption, (FONT, 19))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(x_axis.clone(), panel.y.clone())?;
    let x_label = |x: &f64| x_axis.label(*x);
    let y_label = |y: &f64| panel.y.label(*y);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(&panel.y_desc)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 15))
        .bold_line_style(RGBColor(225, 225, 225))
        .light_line_style(TRANSPARENT)
        .draw()?;
    for series in &panel.series {
        draw_series(&mut chart, series)?;
    }
    draw_legend(&legend_area, &panel.series)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<Axis, Axis>>;

/// An axis is a linear plotters coordinate over plotted values, with exactly our ticks and no
/// minor grid lines. (plotters' own `WithKeyPoints<RangedCoordf64>` cannot format its labels.)
impl Ranged for Axis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.hi - self.lo;
        if span <= 0.0 {
            return (limit.0 + limit.1) / 2;
        }
        let fraction = (value - self.lo) / span;
        limit.0 + (f64::from(limit.1 - limit.0) * fraction + 1e-3).floor() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> Range<f64> {
        self.lo..self.hi
    }
}

fn draw_series(chart: &mut Chart<'_, '_>, series: &Series) -> DrawResult<()> {
    let (r, g, b) = series.color;
    let color = RGBColor(r, g, b);
    let points = series.points.clone();
    let line = color.stroke_width(series.width);
    match series.stroke {
        Stroke::Solid => {
            chart.draw_series(LineSeries::new(points, line))?;
        }
        Stroke::Dashed => {
            chart.draw_series(DashedLineSeries::new(points, 7, 5, line))?;
        }
    }
    let size = series.marker_size as i32;
    let at = series.points.iter().copied();
    match series.marker {
        Marker::Circle => {
            chart.draw_series(at.map(|p| Circle::new(p, size, color.filled())))?;
        }
        Marker::Triangle => {
            chart.draw_series(at.map(|p| TriangleMarker::new(p, size + 1, color.filled())))?;
        }
        Marker::Square => {
            let square = |p| {
                EmptyElement::at(p) + Rectangle::new([(-size, -size), (size, size)], color.filled())
            };
            chart.draw_series(at.map(square))?;
        }
        Marker::Cross => {
            chart.draw_series(at.map(|p| Cross::new(p, size, color.stroke_width(2))))?;
        }
    }
    Ok(())
}

/// One entry per series: a sample of its line and marker, then its name.
fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, series: &[Series]) -> DrawResult<()> {
    let top = 48;
    let available = PANEL_HEIGHT as i32 - top - 20;
    let step = (available / series.len().max(1) as i32).clamp(12, 22);
    let text = (FONT, 13)
        .into_font()
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (index, series) in series.iter().enumerate() {
        let y = top + step * index as i32;
        let (r, g, b) = series.color;
        let color = RGBColor(r, g, b);
        let (left, right) = (6, 40);
        // Legend samples cap the widths so that a wide band stays readable at this size.
        let line = color.stroke_width(series.width.min(5));
        match series.stroke {
            Stroke::Solid => {
                area.draw(&PathElement::new(vec![(left, y), (right, y)], line))?;
            }
            Stroke::Dashed => {
                for start in [left, left + 13, left + 26] {
                    area.draw(&PathElement::new(vec![(start, y), (start + 8, y)], line))?;
                }
            }
        }
        let middle = ((left + right) / 2, y);
        let size = (series.marker_size as i32).min(5);
        match series.marker {
            Marker::Circle => area.draw(&Circle::new(middle, size, color.filled()))?,
            Marker::Triangle => {
                area.draw(&TriangleMarker::new(middle, size + 1, color.filled()))?
            }
            Marker::Square => area.draw(&Rectangle::new(
                [(middle.0 - size, y - size), (middle.0 + size, y + size)],
                color.filled(),
            ))?,
            Marker::Cross => area.draw(&Cross::new(middle, size, color.stroke_width(2)))?,
        }
        area.draw_text(&series.label, &text, (right + 8, y))?;
    }
    Ok(())
}
