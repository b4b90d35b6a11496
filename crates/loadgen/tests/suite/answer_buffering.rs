//! A buffered stream is named: behind a proxy that holds the server's bytes until 4 KiB gathered
//! or 300 ms went by (as a reverse proxy with response buffering does), the tokens of an answer
//! paced at 50 per second arrive a dozen at a time, and more than a quarter of them are counted in
//! `tokens_in_bursts`, so the point looks buffered; without the proxy none are. The rule:
//! `docs/measurement.md`, "Buffered streams". The proxy relays TCP bytes, so the buffered case
//! runs on the event-stream arms over TCP; the direct one on every event-stream arm, h3 included.

use std::time::Duration;

use loadgen::{AnswerFraming, Counter, PointConfig, PointOutcome, Protocol, StreamKind, Target};
use sse_server::{Pace, ServerConfig};
use test_support::emulation;
use test_support::proxy::{self, Buffering};

/// The embedded server pacing tokens 20 ms apart (50 per second), first token at once; the target
/// reaches it directly, or through a buffering proxy.
async fn answers(arm: Protocol, buffered: bool) -> (sse_server::RunningServer, Target) {
    let (server, direct) = emulation::embedded(arm, |c: &mut ServerConfig| {
        c.answers.time_to_first_token = Pace::Fixed(Duration::ZERO);
        c.answers.token_gap = Pace::Fixed(Duration::from_millis(20));
    })
    .await;
    if !buffered {
        return (server, direct);
    }
    let proxy = proxy::buffering(
        direct.addr,
        Buffering {
            flush_bytes: 4096,
            flush_after: Some(Duration::from_millis(300)),
        },
    )
    .await;
    let url = format!("{}://{proxy}", arm.scheme());
    let trust = loadgen::Trust::Certificates(vec![server.cert_der()]);
    (
        server,
        Target::new(arm, &url, &trust).expect("the proxy's target"),
    )
}

/// Two tabs asking one answer of 60 tokens each (1.2 s at 50 per second) in `framing`.
async fn point(arm: Protocol, buffered: bool, framing: AnswerFraming) -> PointOutcome {
    let (_server, target) = answers(arm, buffered).await;
    let mut config: PointConfig = emulation::point(target);
    let w = &mut config.workload;
    w.stream_kind = StreamKind::Answer;
    w.streams_per_client = 2;
    w.duration = Duration::from_secs(3);
    w.answers.think_time = Duration::from_secs(60);
    w.answers.request.framing = framing;
    w.answers.request.path = loadgen::defaults::answer_path(framing).to_owned();
    w.answers.request.max_tokens = 60;
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    assert_eq!(
        out.metrics.total_errors(),
        0,
        "{:?}",
        emulation::errors(&out)
    );
    assert_eq!(out.metrics.get(Counter::AnswersCompleted), 2);
    out
}

fn share(out: &PointOutcome) -> (u64, u64) {
    let m = &out.metrics;
    (
        m.get(Counter::TokensInBursts),
        m.get(Counter::TokensReceived),
    )
}

#[test_support::arms(sse_tcp, flavor = "multi_thread", worker_threads = 2)]
async fn a_buffering_proxy_is_named(arm: Protocol) {
    for framing in AnswerFraming::ALL {
        let (bursts, tokens) = share(&point(arm, true, framing).await);
        assert_eq!(tokens, 120, "{framing}");
        assert!(
            loadgen::looks_buffered(tokens, bursts) && bursts * 4 >= tokens * 3,
            "{framing}: {bursts} of {tokens} tokens in bursts behind the proxy"
        );
    }
}

#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_without_one_is_not(arm: Protocol) {
    for framing in AnswerFraming::ALL {
        let (bursts, tokens) = share(&point(arm, false, framing).await);
        assert_eq!(tokens, 120, "{framing}");
        assert!(
            !loadgen::looks_buffered(tokens, bursts),
            "{framing}: {bursts} of {tokens} tokens in bursts without a proxy"
        );
    }
}
