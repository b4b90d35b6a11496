//! A server that goes away mid-point: the point stops by itself about `down_after` (5 s) after the
//! first failed connect, says why (`target down`), and returns what it measured until then.

use std::time::{Duration, Instant};

use loadgen::{Counter, FatalKind, Protocol};
use test_support::emulation;

#[test_support::arms(all, flavor = "multi_thread", worker_threads = 2)]
async fn gone(arm: Protocol) {
    let (server, target) = emulation::embedded(arm, |c| c.events.retry_ms = 200).await;
    let mut config = emulation::point(target);
    config.workload.clients = 2;
    config.workload.streams_per_client = 2;
    config.workload.posts.rate_per_client = 5.0;
    config.workload.duration = Duration::from_secs(60);
    let started = Instant::now();
    let point = tokio::spawn(async move { emulation::run(&config).await });
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.shutdown().await;
    let gone = Instant::now();
    let out = point.await.expect("the point task");
    let fatal = out.fatal.as_ref().expect("a dead server stops the point");
    assert_eq!(fatal.kind, FatalKind::TargetDown, "{fatal}");
    assert!(fatal.to_string().starts_with("target down: "), "{fatal}");
    let after = gone.elapsed();
    assert!(
        after < Duration::from_secs(8),
        "stopped {after:?} after the server went away"
    );
    assert!(started.elapsed() >= Duration::from_secs(6));
    let m = &out.metrics;
    assert!(m.get(Counter::EventsReceived) > 0);
    assert!(m.get(Counter::PostsCompleted) > 0);
    assert!(out.delivery.is_some_and(|d| d.expected > 0));
}
