//! The server-delay faults as the load generator measures them, on every arm: a server that
//! writes each event 60 ms after stamping it shows 60 ms more `event_delivery`; one that answers
//! POSTs 80 ms late shows it in `post_rtt` and `fanout`. This is what the CI gate's power rests on
//! (`scripts/gate-reliability.sh` slows the server by 2 ms and expects the gate to notice).

use std::time::Duration;

use loadgen::{Counter, Latency};
use sse_server::FaultConfig;
use test_support::emulation;

const EVENT_DELAY: Duration = Duration::from_millis(60);
const POST_DELAY: Duration = Duration::from_millis(80);

#[test_support::arms(all, flavor = "multi_thread", worker_threads = 2)]
async fn server_delays(arm: loadgen::Protocol) {
    let (server, target) = emulation::embedded(arm, |c| {
        c.events.interval = Duration::from_millis(20);
        c.faults = FaultConfig {
            delay_events: Some(EVENT_DELAY),
            delay_posts: Some(POST_DELAY),
            ..FaultConfig::default()
        };
    })
    .await;
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 2;
    config.workload.posts.rate_per_client = 5.0;
    config.workload.warmup = Duration::from_millis(300);
    config.workload.duration = Duration::from_millis(1500);
    let out = emulation::run(&config).await;
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    let us = |d: Duration| d.as_micros() as u64;
    let delivery = m.latency(Latency::EventDelivery);
    assert!(delivery.count >= 20, "{delivery:?}");
    assert!(
        delivery.p50 >= us(EVENT_DELAY),
        "event_delivery {delivery:?} under a {EVENT_DELAY:?} event delay"
    );
    let rtt = m.latency(Latency::PostRtt);
    assert!(m.get(Counter::PostsCompleted) >= 5, "{rtt:?}");
    assert!(
        rtt.p50 >= us(POST_DELAY),
        "post_rtt {rtt:?} under a {POST_DELAY:?} POST delay"
    );
    // A message is published after the POST delay and written after the event delay.
    let fanout = m.latency(Latency::Fanout);
    assert!(
        fanout.p50 >= us(POST_DELAY + EVENT_DELAY),
        "fanout {fanout:?} under both delays"
    );
    server.shutdown().await;
}
