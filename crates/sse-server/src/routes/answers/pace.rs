//! Drawing an answer's delays: a seeded generator per answer (SplitMix64, so the same seed and
//! answer number draw the same delays on every machine), and each [`Pace`] turned into a delay:
//! fixed, or log-normal fitted to its median and p99.
//!
//! A log-normal `X = exp(mu + sigma Z)` with `Z` standard normal has its median at `exp(mu)` and
//! its p99 at `exp(mu + sigma z99)`, `z99` the standard normal's 99th percentile, so
//! `mu = ln(median)` and `sigma = ln(p99 / median) / z99`. `Z` comes from two uniform draws
//! (Box-Muller).

use std::time::Duration;

use crate::config::{Pace, MAX_PERIOD_MS};

/// The standard normal distribution's 99th percentile.
const Z99: f64 = 2.326_347_874_040_841;

/// The draws of one answer.
#[derive(Debug, Clone)]
pub(crate) struct Draws {
    state: u64,
}

impl Draws {
    /// The draws of answer `n` under `seed`.
    pub(crate) fn new(seed: u64, n: u64) -> Draws {
        let mut draws = Draws {
            state: seed ^ n.wrapping_mul(0xD1B5_4A32_D192_ED03),
        };
        // Mix once, so that neighbouring answers start far apart.
        draws.next_u64();
        draws
    }

    /// SplitMix64's next value.
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1]: 53 random bits, never 0 (its logarithm is taken).
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// A standard normal draw (Box-Muller).
    fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// One delay of `pace`, at most a day (the longest delay a query may ask for).
    pub(crate) fn draw(&mut self, pace: Pace) -> Duration {
        match pace {
            Pace::Fixed(d) => d,
            Pace::LogNormal { median, p99 } => {
                let m = median.as_secs_f64();
                let sigma = (p99.as_secs_f64() / m).ln() / Z99;
                let secs = (m.ln() + sigma * self.normal()).exp();
                let longest = Duration::from_millis(MAX_PERIOD_MS);
                Duration::try_from_secs_f64(secs).map_or(longest, |d| d.min(longest))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quantile(sorted: &[Duration], q: f64) -> Duration {
        sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)]
    }

    #[test]
    fn the_same_seed_draws_the_same_delays() {
        let pace = Pace::LogNormal {
            median: Duration::from_millis(20),
            p99: Duration::from_millis(200),
        };
        let draw = |seed, n| {
            let mut d = Draws::new(seed, n);
            (0..50).map(|_| d.draw(pace)).collect::<Vec<_>>()
        };
        assert_eq!(draw(42, 3), draw(42, 3));
        assert_ne!(draw(42, 3), draw(42, 4), "another answer");
        assert_ne!(draw(42, 3), draw(43, 3), "another seed");
        let fixed = Pace::Fixed(Duration::from_millis(7));
        assert_eq!(Draws::new(1, 1).draw(fixed), Duration::from_millis(7));
    }

    /// Over 100,000 draws the median and the p99 are those asked for: within 2 % and 5 % (the
    /// sampling error of a p99 over that many draws is about 1 %).
    #[test]
    fn median_and_p99_are_the_asked_ones() {
        for (median_ms, p99_ms) in [(20u64, 80u64), (200, 2_000), (5, 5)] {
            let pace = Pace::LogNormal {
                median: Duration::from_millis(median_ms),
                p99: Duration::from_millis(p99_ms),
            };
            let mut draws = Draws::new(7, 0);
            let mut all: Vec<Duration> = (0..100_000).map(|_| draws.draw(pace)).collect();
            all.sort_unstable();
            let (p50, p99) = (quantile(&all, 0.50), quantile(&all, 0.99));
            let near = |got: Duration, want: u64, tolerance: f64| {
                let ratio = got.as_secs_f64() * 1000.0 / want as f64;
                (1.0 - tolerance..=1.0 + tolerance).contains(&ratio)
            };
            assert!(
                near(p50, median_ms, 0.02),
                "median {p50:?}, asked {median_ms} ms"
            );
            assert!(near(p99, p99_ms, 0.05), "p99 {p99:?}, asked {p99_ms} ms");
        }
    }
}
