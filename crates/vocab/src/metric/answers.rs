//! The metrics of streamed answers that are read at the end of a point (the live ones are in
//! [`Counter`](super::Counter) and [`Latency`](super::Latency)), and which metrics are about
//! answers: a point that asks none reports none of them.

use super::{DefaultRule, Metric};

/// Whether `metric` is about streamed answers.
pub(super) fn of_answers(metric: Metric) -> bool {
    match metric {
        Metric::Counter(c) => c.of_answers(),
        Metric::Latency(l) | Metric::Censored(l) => l.of_answers(),
        Metric::AnswersQueuedAtEnd | Metric::AnswersStreamingAtEnd | Metric::AnswersFailed(_) => {
            true
        }
        _ => false,
    }
}

/// Name, rule and meaning of the end-of-point metrics of answers.
pub(super) fn info(metric: Metric) -> (&'static str, DefaultRule, &'static str) {
    use DefaultRule::*;
    match metric {
        Metric::AnswersQueuedAtEnd => (
            "answers_queued_at_end",
            NoIncrease,
            "answers still waiting for a slot when the point ended",
        ),
        Metric::AnswersStreamingAtEnd => (
            "answers_streaming_at_end",
            Shown,
            "answers sent (granted their slot) that had neither completed nor failed when the \
             point ended",
        ),
        Metric::AnswersFailed(class) => (
            class.answers_failed_name(),
            NoIncrease,
            "answers that failed, by the class of their error (an answer never reconnects)",
        ),
        other => unreachable!("{other:?} is not an end-of-point metric of answers"),
    }
}
