//! A latency distribution as one row carries it, with the invariants that make its cells
//! consistent.

use super::FieldError;

use super::LatencyField;

/// A latency distribution in microseconds. With `count` = 0 every other field is `None` (empty
/// cells); otherwise every field is `Some` and `p50 <= p90 <= p99 <= p999 <= max`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Number of samples.
    pub count: u64,
    /// Mean, microseconds.
    pub mean: Option<f64>,
    /// Median, microseconds.
    pub p50: Option<u64>,
    /// 90th percentile, microseconds.
    pub p90: Option<u64>,
    /// 99th percentile, microseconds.
    pub p99: Option<u64>,
    /// 99.9th percentile, microseconds.
    pub p999: Option<u64>,
    /// Largest sample, microseconds.
    pub max: Option<u64>,
}

impl LatencySummary {
    /// The summary of no samples.
    pub const EMPTY: LatencySummary = LatencySummary {
        count: 0,
        mean: None,
        p50: None,
        p90: None,
        p99: None,
        p999: None,
        max: None,
    };

    /// One field as a number; `count` is always `Some`.
    pub fn get(&self, field: LatencyField) -> Option<f64> {
        let micros = match field {
            LatencyField::Count => Some(self.count),
            LatencyField::Mean => return self.mean,
            LatencyField::P50 => self.p50,
            LatencyField::P90 => self.p90,
            LatencyField::P99 => self.p99,
            LatencyField::P999 => self.p999,
            LatencyField::Max => self.max,
        };
        micros.map(|value| value as f64)
    }

    /// Checks the invariants; the error names the offending column.
    pub fn validate(&self) -> Result<(), (&'static str, FieldError)> {
        let percentiles = [
            ("p50", self.p50),
            ("p90", self.p90),
            ("p99", self.p99),
            ("p999", self.p999),
            ("max", self.max),
        ];
        if self.count == 0 {
            let context = "when count is 0";
            if self.mean.is_some() {
                return Err(("mean", FieldError::MustBeEmpty { context }));
            }
            if let Some((column, _)) = percentiles.iter().find(|(_, value)| value.is_some()) {
                return Err((column, FieldError::MustBeEmpty { context }));
            }
            return Ok(());
        }
        match self.mean {
            None => return Err(("mean", FieldError::Empty)),
            Some(mean) if !(mean.is_finite() && mean >= 0.0) => {
                return Err(("mean", FieldError::NotNonNegativeNumber))
            }
            Some(_) => {}
        }
        let mut lower: Option<(&'static str, u64)> = None;
        for (column, value) in percentiles {
            let value = value.ok_or((column, FieldError::Empty))?;
            if let Some((lower_column, lower_value)) = lower {
                if value < lower_value {
                    return Err((
                        column,
                        FieldError::NotMonotone {
                            lower: lower_column,
                        },
                    ));
                }
            }
            lower = Some((column, value));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_invariants() {
        assert_eq!(LatencySummary::EMPTY.validate(), Ok(()));
        let full = LatencySummary {
            count: 3,
            mean: Some(2.5),
            p50: Some(2),
            p90: Some(3),
            p99: Some(3),
            p999: Some(3),
            max: Some(3),
        };
        assert_eq!(full.validate(), Ok(()));
        let unordered = LatencySummary {
            p99: Some(1),
            ..full
        };
        assert_eq!(
            unordered.validate(),
            Err(("p99", FieldError::NotMonotone { lower: "p90" }))
        );
        let hollow = LatencySummary { p90: None, ..full };
        assert_eq!(hollow.validate(), Err(("p90", FieldError::Empty)));
        let stray = LatencySummary {
            max: Some(1),
            ..LatencySummary::EMPTY
        };
        assert!(matches!(stray.validate(), Err(("max", _))));
        let nan = LatencySummary {
            mean: Some(f64::NAN),
            ..full
        };
        assert_eq!(
            nan.validate(),
            Err(("mean", FieldError::NotNonNegativeNumber))
        );
    }
}
