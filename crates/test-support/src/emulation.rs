//! The emulated clients (`loadgen`) in a test: a short point's settings, the embedded server on
//! port 0 for one arm, a point run under a bound, and its errors for assertion messages.

use std::sync::Arc;
use std::time::Duration;

use loadgen::{run_point, Metrics, PointConfig, PointOutcome, Protocol, Target, Trust};
use sse_server::{RunningServer, ServerConfig};
use tokio_util::sync::CancellationToken;
use vocab::Paths;

/// A point of one client with one stream on channel `t`, no POSTs (of 64 bytes once a rate is
/// set), short and with a short reconnection delay.
pub fn point(target: Target) -> PointConfig {
    let mut config = PointConfig::new(target);
    let workload = &mut config.workload;
    workload.paths = Paths::for_channel("t");
    workload.posts.body_bytes = 64;
    workload.warmup = Duration::from_millis(200);
    workload.duration = Duration::from_millis(1500);
    workload.reconnect_delay = Duration::from_millis(100);
    config
}

/// The embedded server listening for `arm` only (ticks every 50 ms: [`crate::test_config`]), with
/// `tweak` applied to its configuration, and the target that reaches it.
pub async fn embedded(
    arm: Protocol,
    tweak: impl FnOnce(&mut ServerConfig),
) -> (RunningServer, Target) {
    let mut config = ServerConfig {
        listeners: vec![(arm, "127.0.0.1:0".parse().expect("address"))],
        ..crate::test_config()
    };
    tweak(&mut config);
    let server = crate::spawn_server(config).await;
    let url = server.url(arm).expect("the arm's listener");
    let target =
        Target::new(arm, &url, &Trust::Certificates(vec![server.cert_der()])).expect("target");
    (server, target)
}

/// Runs a point, which must stop by itself within `warmup + duration + 10 s`.
pub async fn run(config: &PointConfig) -> PointOutcome {
    let limit = config.workload.warmup + config.workload.duration + Duration::from_secs(10);
    crate::within(
        limit,
        "a point stops by itself",
        run_point(config, Arc::new(Metrics::new()), &CancellationToken::new()),
    )
    .await
}

/// The non-zero error counters, for assertion messages.
pub fn errors(out: &PointOutcome) -> Vec<(&'static str, u64)> {
    loadgen::ErrorClass::ALL
        .iter()
        .map(|&c| (c.name(), out.metrics.errors(c)))
        .filter(|(_, n)| *n > 0)
        .collect()
}
