//! The open-loop schedule that POSTs and answers share: request `k` is due at `(k + phase) /
//! rate`, whatever happened to the requests before it.

use std::time::Duration;

/// How many requests an open-loop schedule of `rate` per second makes in `duration`:
/// `floor(rate x duration)`, 0 without a rate (POSTs and answers alike).
pub(crate) fn count(rate: f64, duration: Duration) -> usize {
    if rate > 0.0 {
        (rate * duration.as_secs_f64()).floor() as usize
    } else {
        0
    }
}

/// When request `k` of an open-loop schedule of `rate` per second at `phase` is due:
/// `(k + phase) / rate`.
pub(crate) fn due(rate: f64, k: usize, phase: f64) -> Duration {
    Duration::from_secs_f64((k as f64 + phase) / rate)
}
