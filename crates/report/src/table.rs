//! Rendering a [`Comparison`] for people: an aligned plain-text table for terminals and CI logs,
//! or a Markdown table for pull-request comments.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::compare::{Comparison, Criterion, Line, LineVerdict};
use crate::schema::MetricKind;

/// How to render a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Space-aligned columns.
    Text,
    /// A GitHub-flavoured Markdown table.
    Markdown,
    /// One JSON object: the runs, every line with its key, values, threshold and verdict, the
    /// tally and the verdict (for programs; the shape is a contract, tested).
    Json,
}

const COLUMNS: [(&str, Align); 12] = [
    ("scenario", Align::Left),
    ("arm", Align::Left),
    ("clients", Align::Right),
    ("streams/client", Align::Right),
    ("metric", Align::Left),
    ("stat", Align::Left),
    ("base", Align::Right),
    ("new", Align::Right),
    ("change", Align::Right),
    ("change %", Align::Right),
    ("threshold", Align::Left),
    ("verdict", Align::Left),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

impl Comparison {
    /// The summary, the table and the tally, then the failing lines again (so that they are
    /// found at the end of a long CI log), ending in a newline.
    pub fn render(&self, format: TableFormat) -> String {
        if format == TableFormat::Json {
            return self.render_json();
        }
        let runs = |side: &str, paths: &[PathBuf]| {
            let plural = if paths.len() == 1 { "run" } else { "runs" };
            let names: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
            format!("{side}: {} {plural} ({})", paths.len(), names.join(", "))
        };
        let notes = [
            runs("base", &self.base_runs),
            runs("new", &self.new_runs),
            format!(
                "counters are medians over each side's runs; latencies in microseconds, {}; \
                 a latency change of at most the floor ({} us, or half the base value when that \
                 is less, never under 20 us) or the spread between base's runs never counts; a \
                 percentile is judged only with at least {} samples beyond it {}; a line not \
                 judged says why",
                if self.merged {
                    "read from the merged histograms of each side's runs"
                } else {
                    "medians over each side's runs"
                },
                self.floor_us,
                self.min_tail_samples,
                if self.merged {
                    "on each side"
                } else {
                    "in every run"
                },
            ),
        ];
        let all: Vec<[String; 12]> = self.lines.iter().map(cells).collect();
        let failing: Vec<[String; 12]> = self
            .lines
            .iter()
            .filter(|line| line.verdict.is_regression())
            .map(cells)
            .collect();
        let mut out = String::new();
        let table = match format {
            TableFormat::Markdown => markdown_table,
            TableFormat::Text | TableFormat::Json => text_table,
        };
        for note in &notes {
            let _ = match format {
                TableFormat::Markdown => writeln!(out, "- {}", escape(note)),
                TableFormat::Text | TableFormat::Json => writeln!(out, "{note}"),
            };
        }
        out.push('\n');
        table(&mut out, &all);
        out.push('\n');
        let _ = writeln!(out, "{}", self.tally());
        if !failing.is_empty() {
            let _ = match format {
                TableFormat::Markdown => writeln!(out, "\n**Failing lines:**\n"),
                TableFormat::Text | TableFormat::Json => writeln!(out, "\nfailing lines:\n"),
            };
            table(&mut out, &failing);
        }
        out
    }

    fn render_json(&self) -> String {
        use serde_json::{json, Value};
        let lines: Vec<Value> = self
            .lines
            .iter()
            .map(|line| {
                let cells = cells(line);
                json!({
                    "scenario": line.key.scenario,
                    "client": line.key.client.as_str(),
                    "protocol": line.key.protocol.as_str(),
                    "network": line.key.network,
                    "clients": line.key.clients,
                    "streams_per_client": line.key.streams_per_client,
                    "metric": line.key.metric,
                    "stat": cells[5],
                    "base": line.base,
                    "new": line.new,
                    "threshold": cells[10],
                    "verdict": line.verdict.as_str(),
                    "not_judged": match line.verdict {
                        LineVerdict::NotJudged(why) => Value::String(why.to_string()),
                        _ => Value::Null,
                    },
                })
            })
            .collect();
        let verdict = match self.verdict() {
            Ok(crate::Verdict::NoRegression) => "no-regression".to_owned(),
            Ok(crate::Verdict::Regression) => "regression".to_owned(),
            Err(e) => format!("unusable: {e}"),
        };
        let runs = |paths: &[PathBuf]| -> Vec<String> {
            paths.iter().map(|p| p.display().to_string()).collect()
        };
        let out = json!({
            "base_runs": runs(&self.base_runs),
            "new_runs": runs(&self.new_runs),
            "floor_us": self.floor_us,
            "min_tail_samples": self.min_tail_samples,
            "merged_histograms": self.merged,
            "tally": self.tally(),
            "verdict": verdict,
            "lines": lines,
        });
        format!("{out:#}\n")
    }

    /// `12 lines: 9 ok, 1 improved, 1 REGRESSION, 1 not judged`.
    fn tally(&self) -> String {
        let words = [
            "ok",
            "improved",
            "REGRESSION",
            "CHANGED",
            "not-judged",
            "base-only",
            "new-only",
        ];
        let counts: Vec<String> = words
            .into_iter()
            .map(|word| {
                let count = self
                    .lines
                    .iter()
                    .filter(|line| line.verdict.as_str() == word)
                    .count();
                (word.replace('-', " "), count)
            })
            .filter(|(_, count)| *count > 0)
            .map(|(word, count)| format!("{count} {word}"))
            .collect();
        format!("{} lines: {}", self.lines.len(), counts.join(", "))
    }
}

fn cells(line: &Line) -> [String; 12] {
    let stat = match (line.kind, line.field) {
        (MetricKind::Latency, Some(field)) => field.to_string(),
        _ => "value".to_owned(),
    };
    let (change, percent) = match (line.base, line.new) {
        (Some(base), Some(new)) => {
            let change = new - base;
            let percent = if base != 0.0 {
                format!("{:+.1}%", change / base * 100.0)
            } else if change == 0.0 {
                "+0.0%".to_owned()
            } else {
                "-".to_owned()
            };
            let sign = if change > 0.0 { "+" } else { "" };
            (format!("{sign}{}", number(change)), percent)
        }
        _ => ("-".to_owned(), "-".to_owned()),
    };
    let threshold = match line.criterion {
        Criterion::None => String::new(),
        Criterion::Rule(rule) => rule.to_string(),
        Criterion::RuleAboveNoise {
            rule,
            floor,
            spread,
        } => format!("{rule} >{}", number(spread.max(floor).round())),
        Criterion::HasSamples => "samples".to_owned(),
    };
    let optional = |value: Option<f64>| value.map_or_else(|| "-".to_owned(), number);
    [
        line.key.scenario.clone(),
        format!("{}/{}", line.key.client, line.key.protocol),
        line.key.clients.to_string(),
        line.key.streams_per_client.to_string(),
        line.key.metric.clone(),
        stat,
        optional(line.base),
        optional(line.new),
        change,
        percent,
        threshold,
        line.verdict.describe(),
    ]
}

/// Whole numbers without a fraction, others (medians of an even number of runs) with one digit.
fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn text_table(out: &mut String, rows: &[[String; 12]]) {
    let mut widths = COLUMNS.map(|(name, _)| name.len());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: [&str; 12]| {
        let mut text = String::new();
        for ((cell, width), (_, align)) in cells.iter().zip(widths).zip(COLUMNS) {
            let _ = match align {
                Align::Left => write!(text, "{cell:<width$}  "),
                Align::Right => write!(text, "{cell:>width$}  "),
            };
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(COLUMNS.map(|(name, _)| name));
    let rules = widths.map(|width| "-".repeat(width));
    line(rules.each_ref().map(String::as_str));
    for row in rows {
        line(row.each_ref().map(String::as_str));
    }
}

fn markdown_table(out: &mut String, rows: &[[String; 12]]) {
    let header: Vec<&str> = COLUMNS.iter().map(|(name, _)| *name).collect();
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let rules: Vec<&str> = COLUMNS
        .iter()
        .map(|(_, align)| match align {
            Align::Left => ":---",
            Align::Right => "---:",
        })
        .collect();
    let _ = writeln!(out, "|{}|", rules.join("|"));
    for row in rows {
        let mut cells: Vec<String> = row.iter().map(|cell| escape(cell)).collect();
        if let Some(verdict) = cells.last_mut() {
            let alarming = [LineVerdict::Regression, LineVerdict::Changed]
                .iter()
                .any(|v| v.as_str() == verdict.as_str());
            if alarming {
                *verdict = format!("**{verdict}**");
            }
        }
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

fn escape(text: &str) -> String {
    text.replace('|', "\\|")
}
