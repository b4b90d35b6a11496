//! Thresholds: how much a metric may move between two runs before `bench compare` calls it a
//! regression.
//!
//! A threshold is `KEY=RULE`. The key selects what it applies to:
//!
//! | key            | applies to                                                   |
//! |----------------|--------------------------------------------------------------|
//! | `p99`          | that field of every latency metric (`count`, `mean`, `p50`, `p90`, `p99`, `p999`, `max`) |
//! | `fanout.p99`   | that field of one latency metric                             |
//! | `errors`       | a counter, or every compared field of a latency metric       |
//! | `errors_*`     | a trailing `*` matches every metric starting with `errors_`  |
//!
//! The rule says which way the value may move:
//!
//! | rule   | meaning                                                             | beyond it    |
//! |--------|---------------------------------------------------------------------|--------------|
//! | `+25%` | new may be at most 25% above base                                   | `REGRESSION` |
//! | `+10`  | new may be at most 10 above base (microseconds for latencies)       | `REGRESSION` |
//! | `+0`   | new must not be above base                                          | `REGRESSION` |
//! | `-0`, `-5%` | new must not be (more than 5%) below base                      | `REGRESSION` |
//! | `=0`, `=5%` | new must not differ (by more than 5%) either way: a behaviour change (`streams_opened==0`) | `CHANGED` |
//! | `off`  | shown, never fails                                                  |              |
//!
//! A move beyond the same amount in the good direction is shown as `improved`. The most specific
//! key wins (`metric.field` over `metric` over `field`; an exact name over a `*` pattern, a longer
//! pattern over a shorter); among equals the one given last wins, so `--threshold` overrides
//! `--thresholds FILE`, which overrides [`default_thresholds`]. Latency fields are compared only if
//! some key names them (by default `p50` and `p99`). A latency change of at most the floor
//! (`--floor-us`, [`DEFAULT_FLOOR_US`], or [`FLOOR_SHARE_OF_BASE`] of the base value when that is
//! less, never under [`MIN_FLOOR_US`]) is never a regression nor an improvement.

mod rule;
mod selector;

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::schema::LatencyField;

pub use rule::{Direction, Judgement, Rule, Tolerance};
pub use selector::{MetricPattern, Selector};

/// The default latency floor in microseconds: a p99 that moves by at most 1 ms is noise on a
/// shared two-core machine (one scheduler tick of a busy neighbour), never a regression.
pub const DEFAULT_FLOOR_US: u64 = 1_000;

/// The floor never exceeds this share of the base value: a loopback median of 0.1 ms that doubles
/// moves by 0.1 ms, far under 1 ms, and is still caught (the floor is then 0.05 ms, and the rule,
/// +50%, decides).
pub const FLOOR_SHARE_OF_BASE: f64 = 0.5;

/// Nor does the floor fall under this many microseconds, so that a median of 1 us that reads 2 us
/// is not a doubling (the reading: `crates/report/FINDINGS.md`, "The latency floor").
pub const MIN_FLOOR_US: f64 = 20.0;

/// The latency rules used unless overridden: quiet on run-to-run noise, while a doubling of either
/// percentile is caught (the reading: `crates/report/FINDINGS.md`).
const LATENCY_DEFAULTS: &str = "\
# Latencies: median and tail, relative to base, above the noise (the floor, --floor-us, or the
# spread between base's runs, whichever is larger), for percentiles with enough samples.
p50=+50%
p99=+75%
";

/// The thresholds used unless overridden, in the `--thresholds FILE` syntax: the latency rules,
/// then each metric's own rule from the catalog ([`vocab::Metric`]): the connection ceiling is
/// behaviour, not noise (`=0`); work done must not shrink (`-0`); work stuck, failures and the loss
/// proof's losses must not grow (`+0`).
pub fn default_thresholds() -> String {
    let mut text = LATENCY_DEFAULTS.to_owned();
    text.push_str("# Counters, each by its rule in the metric catalog.\n");
    let mut classes_done = false;
    for metric in vocab::Metric::all() {
        let info = metric.info();
        // A latency that is only shown (the harness's own health) is kept out of the p50/p99 rules.
        let rule = match (info.kind, info.rule.as_threshold()) {
            (_, Some(rule)) => rule,
            (vocab::MetricKind::Latency, None) if info.rule == vocab::DefaultRule::Shown => "off",
            (_, None) => continue,
        };
        // The error classes share one rule: one pattern, which a user's `errors_*` overrides.
        let key = match metric {
            vocab::Metric::Error(_) if classes_done => continue,
            vocab::Metric::Error(_) => {
                classes_done = true;
                "errors_*"
            }
            _ => metric.name(),
        };
        text.push_str(&format!("{key}={rule}\n"));
    }
    text
}

/// Where a threshold came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// [`default_thresholds`].
    Default,
    /// A `--threshold` flag.
    Flag,
    /// A line of a `--thresholds` file.
    File {
        /// The file.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Default => f.write_str("the defaults"),
            Origin::Flag => f.write_str("--threshold"),
            Origin::File { path, line } => write!(f, "{}:{line}", path.display()),
        }
    }
}

/// One `KEY=RULE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ThresholdSpec {
    /// What it applies to.
    pub selector: Selector,
    /// How far the value may move.
    pub rule: Rule,
    /// Where it came from.
    pub origin: Origin,
}

impl ThresholdSpec {
    /// Parses `KEY=RULE` as given on the command line.
    pub fn parse_flag(text: &str) -> Result<Self, ThresholdError> {
        Self::parse(text, Origin::Flag)
    }

    fn parse(text: &str, origin: Origin) -> Result<Self, ThresholdError> {
        let invalid = |reason| ThresholdError::Invalid {
            spec: text.to_owned(),
            reason,
        };
        let (key, rule) = text.split_once('=').ok_or(invalid("expected KEY=RULE"))?;
        let (key, rule) = (key.trim(), rule.trim());
        let selector = if let Ok(field) = key.parse::<LatencyField>() {
            Selector::Field(field)
        } else if let Some((metric, field)) = key.rsplit_once('.') {
            let field = field.parse().map_err(|source| ThresholdError::NotAField {
                spec: text.to_owned(),
                source,
            })?;
            Selector::MetricField(metric.parse().map_err(invalid)?, field)
        } else {
            Selector::Metric(key.parse().map_err(invalid)?)
        };
        Ok(Self {
            selector,
            rule: rule.parse().map_err(invalid)?,
            origin,
        })
    }
}

impl fmt::Display for ThresholdSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.selector, self.rule)
    }
}

/// A threshold that could not be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ThresholdError {
    /// A `KEY=RULE` that does not parse.
    #[error("threshold {spec:?}: {reason}")]
    Invalid {
        /// The text as given.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A `METRIC.FIELD` key whose field is none of the latency fields (the cause names them).
    #[error("threshold {spec:?}: after `.` comes a latency field")]
    NotAField {
        /// The text as given.
        spec: String,
        /// The field refused.
        #[source]
        source: vocab::UnknownWord,
    },
    /// A line of a thresholds file that does not parse.
    #[error("{}:{line}: invalid threshold", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// What is wrong with it.
        #[source]
        source: Box<ThresholdError>,
    },
    /// The thresholds file could not be read.
    #[error("{}: cannot read thresholds", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// An ordered set of thresholds; later ones win over earlier ones of the same specificity.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    specs: Vec<ThresholdSpec>,
}

impl Default for Thresholds {
    /// [`default_thresholds`].
    fn default() -> Self {
        let mut thresholds = Self::empty();
        thresholds
            .extend_from_text(&default_thresholds(), None)
            .expect("the default thresholds parse");
        thresholds
    }
}

impl Thresholds {
    /// No thresholds at all: nothing is compared but counters, and nothing fails.
    pub fn empty() -> Self {
        Self { specs: Vec::new() }
    }

    /// Every threshold, in the order given.
    pub fn specs(&self) -> &[ThresholdSpec] {
        &self.specs
    }

    /// Adds one threshold, winning over those before it.
    pub fn push(&mut self, spec: ThresholdSpec) {
        self.specs.push(spec);
    }

    /// Adds the thresholds of a file: one `KEY=RULE` per line; blank lines and `#` comments
    /// (whole-line or trailing) are ignored.
    pub fn extend_from_file(&mut self, path: &Path) -> Result<(), ThresholdError> {
        let text = fs::read_to_string(path).map_err(|source| ThresholdError::Io {
            path: path.to_owned(),
            source,
        })?;
        self.extend_from_text(&text, Some(path))
    }

    /// Adds the specs of `text`; `file` is where it came from (`None`: the defaults).
    fn extend_from_text(&mut self, text: &str, file: Option<&Path>) -> Result<(), ThresholdError> {
        for (index, line) in text.lines().enumerate() {
            let spec = line.split('#').next().unwrap_or_default().trim();
            if spec.is_empty() {
                continue;
            }
            let parsed = match file {
                None => ThresholdSpec::parse(spec, Origin::Default)?,
                Some(path) => {
                    let origin = Origin::File {
                        path: path.to_owned(),
                        line: index + 1,
                    };
                    ThresholdSpec::parse(spec, origin).map_err(|source| ThresholdError::InFile {
                        path: path.to_owned(),
                        line: index + 1,
                        source: Box::new(source),
                    })?
                }
            };
            self.specs.push(parsed);
        }
        Ok(())
    }

    /// The threshold for a counter, if any.
    pub fn counter_rule(&self, metric: &str) -> Option<&ThresholdSpec> {
        self.best(|selector| match selector {
            Selector::Metric(pattern) if pattern.matches(metric) => {
                Some((0, pattern.specificity()))
            }
            _ => None,
        })
    }

    /// The fields of a latency metric to compare, each with its threshold, in column order.
    pub fn latency_rules(&self, metric: &str) -> Vec<(LatencyField, &ThresholdSpec)> {
        LatencyField::ALL
            .into_iter()
            .filter(|field| {
                self.specs.iter().any(|spec| match &spec.selector {
                    Selector::Field(f) => f == field,
                    Selector::MetricField(pattern, f) => f == field && pattern.matches(metric),
                    Selector::Metric(_) => false,
                })
            })
            .filter_map(|field| {
                let spec = self.best(|selector| match selector {
                    Selector::MetricField(pattern, f) if *f == field && pattern.matches(metric) => {
                        Some((2, pattern.specificity()))
                    }
                    Selector::Metric(pattern) if pattern.matches(metric) => {
                        Some((1, pattern.specificity()))
                    }
                    Selector::Field(f) if *f == field => Some((0, 0)),
                    _ => None,
                })?;
                Some((field, spec))
            })
            .collect()
    }

    /// The matching spec of highest rank; among equal ranks the last.
    fn best(&self, rank: impl Fn(&Selector) -> Option<(u8, usize)>) -> Option<&ThresholdSpec> {
        self.specs
            .iter()
            .enumerate()
            .filter_map(|(index, spec)| rank(&spec.selector).map(|r| (r, index, spec)))
            .max_by_key(|(r, index, _)| (*r, *index))
            .map(|(_, _, spec)| spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> ThresholdSpec {
        ThresholdSpec::parse_flag(text).unwrap()
    }

    #[test]
    fn keys_parse() {
        assert_eq!(spec("p99=+5%").selector, Selector::Field(LatencyField::P99));
        assert!(matches!(
            spec("fanout.p99=+50%").selector,
            Selector::MetricField(_, LatencyField::P99)
        ));
        assert!(matches!(spec("errors_*=+0").selector, Selector::Metric(_)));
        for bad in ["p99", "fanout.p98=+5%", "Fanout=+5%", "=+5%", "a b=+5%"] {
            assert!(ThresholdSpec::parse_flag(bad).is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn defaults_resolve() {
        let thresholds = Thresholds::default();
        let rules = thresholds.latency_rules("post_rtt");
        let fields: Vec<_> = rules.iter().map(|(field, _)| *field).collect();
        assert_eq!(fields, [LatencyField::P50, LatencyField::P99]);
        assert_eq!(rules[1].1.rule, "+75%".parse().unwrap());
        let rule_of = |metric| thresholds.counter_rule(metric).map(|s| s.rule.to_string());
        assert_eq!(rule_of("streams_opened").as_deref(), Some("=0"));
        assert_eq!(rule_of("errors_reset").as_deref(), Some("+0"));
        assert_eq!(rule_of("errors").as_deref(), Some("+0"));
        assert_eq!(rule_of("events_received"), None);
    }

    #[test]
    fn most_specific_and_last_win() {
        let mut thresholds = Thresholds::default();
        thresholds.push(spec("fanout.p99=+10%"));
        thresholds.push(spec("fanout=off"));
        thresholds.push(spec("p90=+30%"));
        thresholds.push(spec("errors_*=+5"));
        thresholds.push(spec("errors_reset=+1"));
        let fanout = thresholds.latency_rules("fanout");
        let shown: Vec<_> = fanout
            .iter()
            .map(|(f, s)| format!("{f}:{}", s.rule))
            .collect();
        assert_eq!(shown, ["p50:off", "p90:off", "p99:+10%"]);
        let rule_of = |metric| thresholds.counter_rule(metric).map(|s| s.rule.to_string());
        assert_eq!(rule_of("errors_reset").as_deref(), Some("+1"));
        assert_eq!(rule_of("errors_goaway").as_deref(), Some("+5"));
    }

    #[test]
    fn file_errors_name_the_line() {
        let mut thresholds = Thresholds::empty();
        let err = thresholds
            .extend_from_text(
                "# comment\n\np99=+5% # tail\nbogus\n",
                Some(Path::new("t.txt")),
            )
            .unwrap_err();
        assert_eq!(err.to_string(), "t.txt:4: invalid threshold");
        assert_eq!(thresholds.specs().len(), 1);
    }
}
