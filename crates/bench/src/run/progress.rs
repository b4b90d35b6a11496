//! Progress on stderr: a live bar when stderr is a terminal, one line per point otherwise.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use loadgen::Metrics;
use vocab::{Counter, Metric};

use super::measurement::{Measurement, PointId};

#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    total: usize,
}

/// Stops the live refresh of a point when dropped.
#[derive(Debug)]
pub struct Ticker(Option<tokio::task::JoinHandle<()>>);

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            t.abort();
        }
    }
}

impl Progress {
    pub fn new(want_bar: bool, total: usize, point_time: Duration) -> Self {
        let bar = (want_bar && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} points (eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        if bar.is_none() {
            eprintln!(
                "running {total} points of about {:.1} s each",
                point_time.as_secs_f64()
            );
        }
        Progress { bar, total }
    }

    /// Shows the point running; with `metrics` (the emulation's live counters) refreshed every
    /// 250 ms until the returned ticker is dropped.
    pub fn start_point(&self, index: usize, id: PointId, metrics: Option<Arc<Metrics>>) -> Ticker {
        let Some(bar) = self.bar.clone() else {
            return Ticker(None);
        };
        let label = id.to_string();
        bar.set_position(index as u64);
        bar.set_message(format!("{label}: running"));
        let Some(metrics) = metrics else {
            return Ticker(None);
        };
        Ticker(Some(tokio::spawn(async move {
            loop {
                let mut message = format!(
                    "{label}: {} streams open of {}, {} events, {}/{} POSTs",
                    metrics.get(Counter::StreamsOpened),
                    metrics.get(Counter::StreamsRequested),
                    metrics.get(Counter::EventsReceived),
                    metrics.get(Counter::PostsCompleted),
                    metrics.get(Counter::PostsScheduled),
                );
                let asked = metrics.get(Counter::AnswersScheduled);
                if asked > 0 {
                    message.push_str(&format!(
                        ", {}/{asked} answers, {} tokens",
                        metrics.get(Counter::AnswersCompleted),
                        metrics.get(Counter::TokensReceived),
                    ));
                }
                bar.set_message(message);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })))
    }

    pub fn finish_point(&self, index: usize, m: &Measurement) {
        let n = |metric: Metric| m.counter(metric).unwrap_or(0);
        let answers = match m.counter(Counter::AnswersScheduled) {
            Some(asked) => format!(", answers {}/{asked}", n(Counter::AnswersCompleted.into())),
            None => String::new(),
        };
        let line = format!(
            "[{}/{}] {}: streams opened {}/{}, POSTs {}/{}{answers}, errors {}",
            index + 1,
            self.total,
            m.id,
            n(Counter::StreamsOpened.into()),
            n(Counter::StreamsRequested.into()),
            n(Counter::PostsCompleted.into()),
            n(Counter::PostsScheduled.into()),
            n(Metric::Errors),
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(index as u64 + 1);
                bar.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
