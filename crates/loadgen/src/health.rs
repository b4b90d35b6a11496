//! The harness watching itself: how late timers and tasks run on a runtime. A probe asks to wake
//! every 10 ms and records, each time, how long after its deadline it actually ran. On an idle
//! runtime that is tens of microseconds; on a saturated one, milliseconds: then the latencies the
//! run reports include the harness's own delay, and the summary says so (`docs/measurement.md`,
//! "When the harness is the bottleneck").

use std::sync::Arc;
use std::time::Duration;

use tokio::time::{sleep_until, Instant};
use tokio_util::sync::CancellationToken;
use vocab::Latency;

use crate::metrics::Metrics;

/// How often the probe asks to run.
pub const LAG_PROBE_PERIOD: Duration = Duration::from_millis(10);

/// Records scheduler lag into `latency` until `stop` fires. Spawn it on the runtime to watch.
pub async fn lag_probe(metrics: Arc<Metrics>, latency: Latency, stop: CancellationToken) {
    let mut deadline = Instant::now() + LAG_PROBE_PERIOD;
    loop {
        tokio::select! {
            biased;
            () = stop.cancelled() => return,
            () = sleep_until(deadline) => {}
        }
        let now = Instant::now();
        metrics.record(latency, now.saturating_duration_since(deadline));
        // The next deadline from now: a late wake-up is one sample, not a burst of catch-ups.
        deadline = now + LAG_PROBE_PERIOD;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On tokio's paused clock, which advances only when every task waits, so the test does not
    /// depend on the machine (on the real clock a busy CI machine gave the probe 4 runs in 120 ms):
    /// one sample per period, each on time, and the probe stops when told.
    #[tokio::test(start_paused = true)]
    async fn an_idle_runtime_runs_its_timers_on_time() {
        let metrics = Arc::new(Metrics::new());
        let stop = CancellationToken::new();
        let probe = tokio::spawn(lag_probe(metrics.clone(), Latency::ClientLag, stop.clone()));
        tokio::time::sleep(Duration::from_millis(125)).await;
        stop.cancel();
        probe.await.expect("the probe stops");
        let lag = metrics.latency(Latency::ClientLag);
        assert_eq!(lag.count, 12, "{lag:?}");
        // Within tokio's timer resolution (1 ms slots): on time.
        assert!(lag.max < 1_000, "{lag:?}");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_blocked_runtime_shows_as_lag() {
        let metrics = Arc::new(Metrics::new());
        let stop = CancellationToken::new();
        let probe = tokio::spawn(lag_probe(metrics.clone(), Latency::ClientLag, stop.clone()));
        tokio::time::sleep(Duration::from_millis(15)).await;
        // Hog the only worker thread for 100 ms: the probe cannot run meanwhile.
        std::thread::sleep(Duration::from_millis(100));
        tokio::time::sleep(Duration::from_millis(30)).await;
        stop.cancel();
        probe.await.expect("the probe stops");
        let lag = metrics.latency(Latency::ClientLag);
        assert!(lag.max >= 80_000, "a 100 ms stall seen as lag: {lag:?}");
    }
}
