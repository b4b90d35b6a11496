//! A server that goes away mid-point: the point stops by itself `down_after` (5 s) after the
//! first failed connect, says why (`target down`), and returns what it measured until then.
//!
//! A binary of its own, outside `tests/suite/`, run alone (`scripts/run-tests.py`, HEAVY): it
//! dials a port it freed, which a test running beside it could bind meanwhile.

use std::time::{Duration, Instant};

use loadgen::{Counter, FatalKind, Latency, Protocol};
use test_support::emulation;

/// How long connects may fail before the target counts as down (`Ctx::down_after`).
const DOWN_AFTER: Duration = Duration::from_secs(5);
/// The server's reconnection delay for the streams (`retry:`), and the POSTs' period: after the
/// server is gone, a connect fails within this (plus timer lag).
const RETRY: Duration = Duration::from_millis(200);
/// The point's watchdog checks the target's health this often (`run_point`).
const WATCHDOG: Duration = Duration::from_millis(100);

#[test_support::arms(all, flavor = "multi_thread", worker_threads = 2)]
async fn gone(arm: Protocol) {
    let (server, target) =
        emulation::embedded(arm, |c| c.events.retry_ms = RETRY.as_millis() as u64).await;
    let mut config = emulation::point(target);
    config.workload.clients = 2;
    config.workload.streams_per_client = 2;
    config.workload.posts.rate_per_client = 1.0 / RETRY.as_secs_f64();
    config.workload.duration = Duration::from_secs(60);
    let point = tokio::spawn(async move { emulation::run(&config).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let going = Instant::now();
    server.shutdown().await;
    let gone = Instant::now();
    let out = point.await.expect("the point task");
    let stopped = Instant::now();
    let fatal = out.fatal.as_ref().expect("a dead server stops the point");
    assert_eq!(fatal.kind, FatalKind::TargetDown, "{fatal}");
    assert!(fatal.to_string().starts_with("target down: "), "{fatal}");
    // No connect can fail before the server starts going away, and the verdict waits
    // `DOWN_AFTER` after the first failure.
    assert!(
        stopped.duration_since(going) >= DOWN_AFTER,
        "stopped {:?} after the server began to go away",
        stopped.duration_since(going)
    );
    // Once it is gone, a connect fails within `RETRY`, the watchdog sees `DOWN_AFTER` pass within
    // `WATCHDOG`, and the point's tasks stop at once: each of those waits can run late by the
    // lag the harness measured on its own timers (`client_lag`), and 100 ms covers the rest
    // (the refused connects and the teardown, a few milliseconds on loopback).
    let lag = Duration::from_micros(out.metrics.latency(Latency::ClientLag).max);
    let bound = DOWN_AFTER + RETRY + WATCHDOG + Duration::from_millis(100) + 3 * lag;
    let after = stopped.duration_since(gone);
    assert!(
        after <= bound,
        "stopped {after:?} after the server went away, over {bound:?} (client lag max {lag:?})"
    );
    let m = &out.metrics;
    assert!(m.get(Counter::EventsReceived) > 0);
    assert!(m.get(Counter::PostsCompleted) > 0);
    assert!(out.delivery.is_some_and(|d| d.expected > 0));
}
