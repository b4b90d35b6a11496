//! Axes: whether to draw linear or logarithmic, where the ticks go and how they read.
//!
//! plotters is given plain linear coordinates with explicit key points; a logarithmic axis is drawn
//! by plotting `log10(value)` and labelling the ticks with `10^tick`. One coordinate type for both
//! keeps the drawing code free of generics and lets us choose readable ticks (1, 2, 5 per decade;
//! the sweep points themselves on the x axis).

/// Linear or logarithmic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    Log,
}

/// One axis: its scale, its range and its ticks, all in plotted coordinates.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub(crate) scale: Scale,
    pub(crate) lo: f64,
    pub(crate) hi: f64,
    pub(crate) ticks: Vec<f64>,
}

/// Above this ratio of the largest to the smallest positive value, latencies go on a log axis.
const LOG_SPREAD: f64 = 50.0;
/// At most this many labelled sweep points on the x axis.
const MAX_X_TICKS: usize = 12;

impl Axis {
    /// A count axis: linear from zero.
    pub(crate) fn counts(values: impl Iterator<Item = f64>) -> Self {
        linear_from_zero(values.fold(0.0, f64::max), 1.0)
    }

    /// A latency axis for values in microseconds, in the unit they read best in (us below
    /// 10 ms, ms below 100 s, s above): the axis in that unit, the divisor from microseconds to
    /// it, and the unit for the axis's description ("ms", or "ms, log scale").
    pub(crate) fn latencies_us(values: impl Iterator<Item = f64> + Clone) -> (Self, f64, String) {
        let max_us = values.clone().fold(0.0, f64::max);
        let (unit, scale) = if max_us < 10_000.0 {
            ("us", 1.0)
        } else if max_us < 100_000_000.0 {
            ("ms", 1_000.0)
        } else {
            ("s", 1_000_000.0)
        };
        let axis = Self::latencies(values.map(|v| v / scale));
        let log = if axis.scale == Scale::Log {
            ", log scale"
        } else {
            ""
        };
        (axis, scale, format!("{unit}{log}"))
    }

    /// A latency axis: logarithmic when the values span more than [`LOG_SPREAD`], else linear
    /// from zero. On a log axis, zeros are drawn on the bottom edge.
    pub(crate) fn latencies(values: impl Iterator<Item = f64>) -> Self {
        let (min_positive, max) = values.fold((f64::INFINITY, 0.0_f64), |(lo, hi), v| {
            (if v > 0.0 { lo.min(v) } else { lo }, hi.max(v))
        });
        if max <= 0.0 || max / min_positive < LOG_SPREAD {
            return linear_from_zero(max, 0.0);
        }
        let lo = min_positive.log10().floor();
        let hi = max.log10().ceil().max(lo + 1.0);
        let decades = hi - lo;
        let steps: &[f64] = if decades <= 3.0 {
            &[1.0, 2.0, 5.0]
        } else {
            &[1.0]
        };
        let mut ticks = Vec::new();
        let mut decade = lo;
        while decade <= hi {
            for step in steps {
                let tick = decade + step.log10();
                if tick <= hi + 1e-9 {
                    ticks.push(tick);
                }
            }
            decade += 1.0;
        }
        Self {
            scale: Scale::Log,
            lo,
            hi,
            ticks,
        }
    }

    /// The sweep axis: the sweep points are the ticks; logarithmic when they span 1 to 20 or more.
    pub(crate) fn sweep(points: &[u64]) -> Self {
        let min = points.iter().copied().min().unwrap_or(0) as f64;
        let max = points.iter().copied().max().unwrap_or(0) as f64;
        let scale = if min >= 1.0 && max / min >= 20.0 {
            Scale::Log
        } else {
            Scale::Linear
        };
        let plotted = |v: f64| match scale {
            Scale::Linear => v,
            Scale::Log => v.log10(),
        };
        let (lo, hi) = (plotted(min), plotted(max));
        let pad = ((hi - lo) * 0.05).max(match scale {
            Scale::Linear => 0.5,
            Scale::Log => 0.05,
        });
        let every = points.len().div_ceil(MAX_X_TICKS).max(1);
        let ticks = points
            .iter()
            .step_by(every)
            .map(|p| plotted(*p as f64))
            .collect();
        Self {
            scale,
            lo: lo - pad,
            hi: hi + pad,
            ticks,
        }
    }

    /// Where `value` goes; on a log axis, values below the range sit on its bottom edge.
    pub(crate) fn plot(&self, value: f64) -> f64 {
        match self.scale {
            Scale::Linear => value,
            Scale::Log if value <= 0.0 => self.lo,
            Scale::Log => value.log10().max(self.lo),
        }
    }

    /// The label of a tick given in plotted coordinates.
    pub(crate) fn label(&self, plotted: f64) -> String {
        match self.scale {
            Scale::Linear => short(plotted),
            Scale::Log => short(10f64.powf(plotted)),
        }
    }
}

/// A linear axis from 0 to a little above `max`, ticks at least `min_step` apart.
fn linear_from_zero(max: f64, min_step: f64) -> Axis {
    let max = if max > 0.0 { max } else { 1.0 };
    let step = nice_step(max / 5.0).max(min_step);
    let hi = ((max * 1.05) / step).ceil() * step;
    let count = (hi / step).round() as usize;
    Axis {
        scale: Scale::Linear,
        lo: 0.0,
        hi,
        ticks: (0..=count).map(|i| i as f64 * step).collect(),
    }
}

/// The 1, 2 or 5 times a power of ten nearest above `rough`.
fn nice_step(rough: f64) -> f64 {
    let magnitude = 10f64.powf(rough.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= rough * 0.999)
        .unwrap_or(10.0 * magnitude)
}

/// A number in at most three significant digits, without trailing zeros: 0.05, 2.5, 120, 15000.
pub(crate) fn short(value: f64) -> String {
    if value == 0.0 {
        return "0".to_owned();
    }
    let digits = (2 - value.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{value:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(0.05), "0.05");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(short(120.0), "120");
        assert_eq!(short(15000.0), "15000");
        assert_eq!(short(1.0000000002), "1");
        assert_eq!(short(10f64.powf(2f64.log10() + 3.0)), "2000");
    }

    #[test]
    fn counts_start_at_zero_with_round_ticks() {
        let axis = Axis::counts([1.0, 6.0, 12.0].into_iter());
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(axis.lo, 0.0);
        assert!(axis.hi >= 12.0);
        let labels: Vec<String> = axis.ticks.iter().map(|t| axis.label(*t)).collect();
        assert_eq!(labels, ["0", "5", "10", "15"]);
    }

    #[test]
    fn latencies_spanning_decades_go_log() {
        let axis = Axis::latencies([0.0, 0.4, 3000.0].into_iter());
        assert_eq!(axis.scale, Scale::Log);
        assert_eq!((axis.lo, axis.hi), (-1.0, 4.0));
        let labels: Vec<String> = axis.ticks.iter().map(|t| axis.label(*t)).collect();
        assert_eq!(labels, ["0.1", "1", "10", "100", "1000", "10000"]);
        assert_eq!(axis.plot(0.0), -1.0);

        let narrow = Axis::latencies([2.0, 5.0].into_iter());
        assert_eq!(narrow.scale, Scale::Linear);
        let labels: Vec<String> = narrow.ticks.iter().map(|t| narrow.label(*t)).collect();
        assert_eq!(labels, ["0", "1", "2", "3", "4", "5", "6"]);
        let zeros = Axis::counts([0.0].into_iter());
        assert_eq!(zeros.ticks, [0.0, 1.0, 2.0]);
        let few_decades = Axis::latencies([1.0, 100.0].into_iter());
        let labels: Vec<String> = few_decades
            .ticks
            .iter()
            .map(|t| few_decades.label(*t))
            .collect();
        assert_eq!(labels, ["1", "2", "5", "10", "20", "50", "100"]);
    }

    #[test]
    fn sweep_ticks_are_the_points() {
        let axis = Axis::sweep(&[1, 4, 6, 8, 12]);
        assert_eq!(axis.scale, Scale::Linear);
        assert_eq!(axis.ticks, [1.0, 4.0, 6.0, 8.0, 12.0]);
        let wide = Axis::sweep(&[1, 2, 4, 8, 16, 32, 64, 128, 256]);
        assert_eq!(wide.scale, Scale::Log);
        assert_eq!(wide.label(wide.ticks[8]), "256");
    }
}
